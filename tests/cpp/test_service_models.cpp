// The model routes of the service (in process): models, AOIs, runs, logs,
// predictions, summaries, and the run callback with its run tokens.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"
#include "matching_fixtures.hpp"
#include "service_requests.hpp"
#include "tessera/matching.hpp"
#include "tessera/service.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;
using tessera::testing::get;
using tessera::testing::make_aoi;
using tessera::testing::make_collection;
using tessera::testing::make_imagery;
using tessera::testing::make_model;
using tessera::testing::square;

const std::string kKey(40, 'k');

HttpRequest send(std::string method, std::string path, const json& body = nullptr, std::string token = {},
                 tessera::testing::Query query = {}) {
  HttpRequest request = get(std::move(path), std::move(query));
  request.method = std::move(method);
  if (!body.is_null()) {
    request.body = body.dump();
  }
  if (!token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + token);
  }
  return request;
}

json body_of(const HttpResponse& response) { return json::parse(response.body); }

json label(const std::string& id, double x, double y) {
  json item = make_imagery(id, "ignored", x, y);
  item["properties"] = {{"datetime", "2024-05-02T00:00:00Z"},
                        {"label:properties", {"class"}},
                        {"label:description", "water mask"},
                        {"label:type", "vector"},
                        {"label:tasks", {"segmentation"}},
                        {"label:classes", {{{"name", "class"}, {"classes", {"water", "land"}}}}},
                        {"label:overviews",
                         {{{"property_key", "class"},
                           {"counts", {{{"name", "water"}, {"count", 3}}, {{"name", "land"}, {"count", 7}}}}}}}};
  item["links"] = {{{"rel", "source"}, {"href", "https://example.com/imagery/scene.json"}}};
  item["assets"] = {{"labels", {{"href", "s3://results/" + id + ".geojson"}}}};
  return item;
}

class ServiceModels : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = tessera::Catalog::open("sqlite://:memory:");
    catalog_->upsert_collection(make_collection("imagery"));
    tessera::ServiceOptions options;
    options.tiles = false;
    options.auth.allow_anonymous_writes = true;  // the scope checks are tested against keys in Python
    options.models.enabled = true;
    options.models.callback_key = kKey;
    service_ = std::make_unique<tessera::Service>(*catalog_, options);
    matcher_ = std::make_unique<tessera::Matcher>(*catalog_);
  }

  HttpResponse call(const HttpRequest& request) const { return service_->handle(request); }

  // A model with an AOI over (0,0)-(10,10) and one item loaded there: its run, submitted.
  json submitted_run(const std::string& name) {
    const HttpResponse created = call(send("POST", "/models", make_model(name)));
    EXPECT_EQ(created.status, 201) << created.body;
    const std::string model = body_of(created)["id"];
    EXPECT_EQ(call(send("POST", "/models/" + model + "/aois", make_aoi(model, square(0, 0, 10)))).status, 201);
    matcher_->reload();
    tessera::LoadOptions options;
    options.outbox = matcher_->outbox_hook();
    EXPECT_EQ(catalog_->load({make_imagery("scene-" + name, "imagery", 1, 1)}, options).loaded, 1U);
    tessera::EventQuery claim;
    claim.kind = "run_requested";
    claim.model = model;
    claim.claim = true;
    const auto events = matcher_->events(claim);
    EXPECT_EQ(events.size(), 1U);
    const json run = matcher_->open_run(events.at(0));
    return *matcher_->transition_run(run["id"].get<std::string>(), tessera::RunState::kSubmitted, {{"job", "j"}});
  }

  std::unique_ptr<tessera::Catalog> catalog_;
  std::unique_ptr<tessera::Service> service_;
  std::unique_ptr<tessera::Matcher> matcher_;
};

TEST_F(ServiceModels, ModelsAndAoisCrud) {
  const HttpResponse created = call(send("POST", "/models", make_model("water")));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string model = body_of(created)["id"];
  EXPECT_EQ(body_of(call(get("/models")))["models"].size(), 1U);
  json changed = make_model("water v2");
  const HttpResponse updated = call(send("PUT", "/models/" + model, changed));
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(body_of(updated)["name"], "water v2");
  changed["id"] = "other";
  EXPECT_EQ(call(send("PUT", "/models/" + model, changed)).status, 400);
  const HttpResponse aoi = call(send("POST", "/models/" + model + "/aois", make_aoi(model, square(0, 0, 10))));
  ASSERT_EQ(aoi.status, 201) << aoi.body;
  const std::string aoi_id = body_of(aoi)["id"];
  EXPECT_EQ(body_of(call(get("/models/" + model + "/aois")))["aois"].size(), 1U);
  EXPECT_EQ(call(get("/models/" + model + "/aois/" + aoi_id)).status, 200);
  EXPECT_EQ(call(send("DELETE", "/models/" + model + "/aois/" + aoi_id)).status, 204);
  EXPECT_EQ(call(get("/models/" + model + "/aois/" + aoi_id)).status, 404);
  EXPECT_EQ(call(send("POST", "/models", json::array())).status, 400);
  EXPECT_EQ(call(send("POST", "/models", make_model(""))).status, 400);
  EXPECT_EQ(call(send("PATCH", "/models/" + model)).status, 405);
  EXPECT_EQ(call(send("DELETE", "/models/" + model)).status, 204);
  EXPECT_EQ(call(get("/models/" + model)).status, 404);
}

TEST_F(ServiceModels, TheCallbackTakesOnlyItsRunsToken) {
  const json run = submitted_run("segmenter");
  const std::string model = run["model"];
  const std::string id = run["id"];
  const std::string path = "/models/" + model + "/runs/" + id + "/predictions";
  const tessera::RunTokens tokens(kKey);
  const std::string token = tokens.issue(id, std::chrono::seconds(60));
  // No token, another run's token, a token of another key, an expired one: 401.
  EXPECT_EQ(call(send("POST", path, label("p1", 1, 1))).status, 401);
  EXPECT_EQ(call(send("POST", path, label("p1", 1, 1), tokens.issue("run-other", std::chrono::seconds(60)))).status,
            401);
  EXPECT_EQ(call(send("POST", path, label("p1", 1, 1),
                      tessera::RunTokens(std::string(40, 'x')).issue(id, std::chrono::seconds(60))))
                .status,
            401);
  EXPECT_EQ(call(send("POST", path, label("p1", 1, 1), tokens.issue(id, std::chrono::seconds(-120)))).status, 401);
  // Hostile or wrong bodies: 400 naming the field.
  const HttpResponse outside = call(send("POST", path, label("p1", 5, 5), token));
  EXPECT_EQ(outside.status, 400);
  EXPECT_NE(outside.body.find("inside the footprint"), std::string::npos) << outside.body;
  json no_assets = label("p1", 1, 1);
  no_assets.erase("assets");
  EXPECT_NE(call(send("POST", path, no_assets, token)).body.find("assets: required"), std::string::npos);
  json no_type = label("p1", 1, 1);
  no_type["properties"].erase("label:type");
  EXPECT_NE(call(send("POST", path, no_type, token)).body.find("label:type"), std::string::npos);
  EXPECT_EQ(call(send("POST", path, label("p1", 1, 1), token, {{"final", "maybe"}})).status, 400);
  // Another model's path: not found.
  EXPECT_EQ(call(send("POST", "/models/nobody/runs/" + id + "/predictions", label("p1", 1, 1), token)).status, 404);
  // Recorded; the run goes on until the model says it is done.
  const HttpResponse first = call(send("POST", path, label("p1", 1, 1), token));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(body_of(first)["run"]["state"], "submitted");
  const HttpResponse last = call(send("POST", path, label("p2", 1, 1), token, {{"final", "true"}}));
  ASSERT_EQ(last.status, 201) << last.body;
  EXPECT_EQ(body_of(last)["run"]["state"], "succeeded");
  EXPECT_EQ(call(send("POST", path, label("p3", 1, 1), token)).status, 409);
  // The run token opens nothing else: the service verifies its own tokens by its key set.
  EXPECT_EQ(call(send("POST", "/models", make_model("x"), token)).status, 201);  // anonymous writes: the token is moot
  // Predictions: a STAC ItemCollection, paged, each linked to its run.
  const HttpResponse page = call(get("/models/" + model + "/predictions", {{"limit", "1"}}));
  ASSERT_EQ(page.status, 200) << page.body;
  const json collection = body_of(page);
  EXPECT_EQ(collection["type"], "FeatureCollection");
  ASSERT_EQ(collection["features"].size(), 1U);
  bool has_next = false;
  for (const json& link : collection["links"]) {
    has_next = has_next || link["rel"] == "next";
  }
  EXPECT_TRUE(has_next) << collection["links"].dump();
  EXPECT_EQ(body_of(call(get("/models/" + model + "/predictions/p2")))["id"], "p2");
  EXPECT_EQ(call(get("/models/" + model + "/predictions/p9")).status, 404);
  tessera::EventQuery received;
  received.kind = "prediction_received";
  received.model = model;
  const auto events = matcher_->events(received);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].payload["run"], id);
  // The summary counts predictions, classes and runs.
  const json summary = body_of(call(get("/models/" + model + "/summary")));
  EXPECT_EQ(summary["predictions"], 2);
  EXPECT_EQ(summary["classes"]["water"], 6.0);
  EXPECT_EQ(summary["runs"]["by_state"]["succeeded"], 1);
}

TEST_F(ServiceModels, RunsListGetCancelAndLogs) {
  const json run = submitted_run("lister");
  const std::string model = run["model"];
  const std::string id = run["id"];
  matcher_->append_run_log(id, "first\n");
  matcher_->append_run_log(id, "second\n");
  const json runs = body_of(call(get("/models/" + model + "/runs", {{"state", "submitted"}})));
  ASSERT_EQ(runs["runs"].size(), 1U);
  EXPECT_EQ(runs["runs"][0]["id"], id);
  EXPECT_EQ(body_of(call(get("/models/" + model + "/runs", {{"state", "running"}})))["runs"].size(), 0U);
  EXPECT_EQ(call(get("/models/" + model + "/runs", {{"state", "sleeping"}})).status, 400);
  EXPECT_EQ(call(get("/models/" + model + "/runs", {{"limit", "0"}})).status, 400);
  EXPECT_EQ(call(get("/models/" + model + "/runs", {{"limit", "12abc"}})).status, 400);
  EXPECT_EQ(body_of(call(get("/models/" + model + "/runs/" + id)))["state"], "submitted");
  EXPECT_EQ(call(get("/models/other/runs/" + id)).status, 404);
  const json page = body_of(call(get("/models/" + model + "/runs/" + id + "/logs", {{"limit", "1"}})));
  ASSERT_EQ(page["entries"].size(), 1U);
  EXPECT_EQ(page["entries"][0]["text"], "first\n");
  const json rest = body_of(
      call(get("/models/" + model + "/runs/" + id + "/logs", {{"nextToken", page["nextToken"].get<std::string>()}})));
  EXPECT_EQ(rest["entries"][0]["text"], "second\n");
  EXPECT_EQ(call(get("/models/" + model + "/runs/" + id + "/cancel")).status, 405);
  const HttpResponse cancelled = call(send("POST", "/models/" + model + "/runs/" + id + "/cancel"));
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(body_of(cancelled)["state"], "cancelled");
  EXPECT_EQ(call(send("POST", "/models/" + model + "/runs/" + id + "/cancel")).status, 409);
  // The OpenAPI document lists the routes.
  const json api = body_of(call(get("/api", {}, {{"Accept", "application/json"}})));
  EXPECT_TRUE(api["paths"].contains("/models/{model}/runs/{run}/predictions")) << api["paths"].dump().substr(0, 300);
}

// Subscribers over HTTP: create, receive (leased), acknowledge, replay, delete.
TEST_F(ServiceModels, SubscriptionRoutes) {
  const HttpResponse created = call(send("POST", "/subscriptions", {{"id", "alerts"}, {"from_start", true}}));
  ASSERT_EQ(created.status, 201) << created.body;
  const json run = submitted_run("subscribed");  // a request and a submission: two events
  const HttpResponse received = call(send("POST", "/subscriptions/alerts/receive", nullptr, {}, {{"limit", "10"}}));
  ASSERT_EQ(received.status, 200) << received.body;
  const json events = body_of(received)["events"];
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0]["kind"], "run_requested");
  EXPECT_EQ(events[1]["kind"], "run_submitted");
  EXPECT_EQ(body_of(call(send("POST", "/subscriptions/alerts/receive")))["events"].size(), 0U);
  EXPECT_EQ(call(send("POST", "/subscriptions/alerts/ack", {{"events", {events[0]["id"], events[1]["id"]}}})).status,
            204);
  EXPECT_EQ(call(send("POST", "/subscriptions/alerts/ack", {{"events", {"x"}}})).status, 400);
  EXPECT_EQ(call(send("POST", "/subscriptions/alerts/ack", {{"events", {987654}}})).status, 404);
  EXPECT_EQ(call(send("POST", "/subscriptions/alerts/replay", {{"from", events[1]["id"]}})).status, 200);
  EXPECT_EQ(body_of(call(send("POST", "/subscriptions/alerts/receive")))["events"].size(), 1U);
  EXPECT_EQ(call(send("POST", "/subscriptions/alerts/replay", {{"from", 0}})).status, 400);
  EXPECT_EQ(body_of(call(get("/subscriptions")))["subscriptions"].size(), 1U);
  EXPECT_EQ(call(send("DELETE", "/subscriptions/alerts")).status, 204);
  EXPECT_EQ(call(get("/subscriptions/alerts")).status, 404);
}

// The runner hands each model its run's callback URL and a token for that run only.
TEST_F(ServiceModels, RunnerGivesModelsTheirCallback) {
  const HttpResponse created = call(send(
      "POST", "/models", make_model("env", {"/bin/sh", "-c", "echo $TESSERA_CALLBACK_URL $TESSERA_CALLBACK_TOKEN"})));
  const std::string model = body_of(created)["id"];
  ASSERT_EQ(call(send("POST", "/models/" + model + "/aois", make_aoi(model, square(0, 0, 10)))).status, 201);
  matcher_->reload();
  tessera::LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  tessera::RunnerOptions runner_options;
  runner_options.poll_seconds = 0.01;
  runner_options.callback = service_->run_tokens().runner_callback("http://models.test");
  const json records = tessera::Runner(*matcher_, runner_options).run_pending();
  ASSERT_EQ(records.size(), 1U);
  const std::string id = records[0]["id"];
  const std::string log = records[0]["log"];
  const std::string url = "http://models.test/models/" + model + "/runs/" + id + "/predictions";
  ASSERT_EQ(log.rfind(url + " ", 0), 0U) << log;
  // The token is scrubbed from the stored log (it is a secret), so it is checked through the run's environment.
  EXPECT_EQ(log.find("eyJ"), std::string::npos) << log;
}

}  // namespace
