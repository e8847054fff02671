#include "service/model_routes.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

// The largest page of runs, log entries or predictions one request gets.
constexpr std::size_t kMaxPage = 1000;
// How many of a model's runs a summary reads for its run statistics.
constexpr std::size_t kSummaryRuns = 10000;

json parse_body(const HttpRequest& request) {
  if (request.body.empty()) {
    bad_request("the request body must be a JSON object");
  }
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) {
    bad_request("the request body is not a JSON object");
  }
  return body;
}

// Query parameter "limit" as a whole number in [1, kMaxPage], or `fallback`.
std::size_t limit_of(const HttpRequest& request, std::size_t fallback = 100) {
  const std::string* text = request.query_value("limit");
  if (text == nullptr) {
    return fallback;
  }
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value == 0 || value > kMaxPage) {
    bad_request(fmt::format("limit: '{}' is not a whole number from 1 to {}", *text, kMaxPage));
  }
  return value;
}

std::string query_or(const HttpRequest& request, std::string_view name) {
  const std::string* value = request.query_value(name);
  return value != nullptr ? *value : std::string();
}

void require_method(const HttpRequest& request, std::initializer_list<std::string_view> allowed) {
  const bool get_allowed = std::find(allowed.begin(), allowed.end(), "GET") != allowed.end();
  if (std::find(allowed.begin(), allowed.end(), request.method) != allowed.end() ||
      (request.method == "HEAD" && get_allowed)) {
    return;
  }
  std::string list;
  for (const auto method : allowed) {
    list += list.empty() ? "" : ", ";
    list += method;
  }
  throw HttpError(405, "MethodNotAllowed", fmt::format("{} is not allowed here (allowed: {})", request.method, list),
                  {{"Allow", list}});
}

std::string bearer(const HttpRequest& request) {
  const std::string* header = request.header("Authorization");
  if (header == nullptr || header->size() < 7 || !equals_ignoring_case(header->substr(0, 7), "bearer ")) {
    return {};
  }
  return header->substr(7);
}

HttpResponse no_content() {
  HttpResponse response;
  response.status = 204;
  return response;
}

}  // namespace

ModelRoutes::ModelRoutes(Catalog& catalog, const ServiceOptions& options, const Authenticator& auth)
    : catalog_(catalog),
      matcher_(catalog),
      auth_(auth),
      tokens_(options.models.callback_key.empty() ? RunTokens::random_key() : options.models.callback_key) {}

std::optional<HttpResponse> ModelRoutes::handle_callback(const HttpRequest& request,
                                                         const std::vector<std::string_view>& segments) const {
  if (segments.size() != 5 || segments[0] != "models" || segments[2] != "runs" || segments[4] != "predictions") {
    return std::nullopt;
  }
  require_method(request, {"POST"});
  const std::string run(segments[3]);
  // Only this run's token: the service's own tokens do not open it.
  if (!tokens_.verifies(bearer(request), run)) {
    throw HttpError(401, "Unauthorized", fmt::format("this route needs the token of run '{}'", run),
                    {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
  }
  run_of(segments[1], run);
  const std::string* final_text = request.query_value("final");
  if (final_text != nullptr && *final_text != "true" && *final_text != "false") {
    bad_request(fmt::format("final: '{}' is not true or false", *final_text));
  }
  const bool final = final_text != nullptr && *final_text == "true";
  return json_response(201, matcher_.add_run_prediction(run, parse_body(request), final));
}

std::optional<HttpResponse> ModelRoutes::handle(const HttpRequest& request,
                                                const std::vector<std::string_view>& segments) const {
  if (!segments.empty() && segments[0] == "subscriptions") {
    return subscription_route(request, segments);
  }
  if (segments.empty() || segments[0] != "models") {
    return std::nullopt;
  }
  if (segments.size() >= 3 && segments[2] == "runs") {
    return run_route(request, segments);
  }
  return model_route(request, segments);
}

json ModelRoutes::run_of(std::string_view model, std::string_view run) const {
  json found = matcher_.get_run(run);
  if (found["model"] != model) {
    throw HttpError(404, "NotFound", fmt::format("model '{}' has no run '{}'", model, run));
  }
  return found;
}

HttpResponse ModelRoutes::model_route(const HttpRequest& request, const std::vector<std::string_view>& segments) const {
  const auto write = [&] { auth_.authorize(request, kModelsWriteScope); };
  if (segments.size() == 1) {  // /models
    require_method(request, {"GET", "POST"});
    if (request.method == "POST") {
      write();
      const std::string id = matcher_.add_model(parse_body(request));
      return json_response(201, matcher_.get_model(id));
    }
    return json_response(200, {{"models", matcher_.models()}});
  }
  const std::string model(segments[1]);
  if (segments.size() == 2) {  // /models/{model}
    require_method(request, {"GET", "PUT", "DELETE"});
    if (request.method == "PUT") {
      write();
      json body = parse_body(request);
      if (body.contains("id") && body["id"] != model) {
        bad_request(fmt::format("id: {} is not the model of the path ('{}')", body["id"].dump(), model));
      }
      body["id"] = model;
      matcher_.update_model(body);
      return json_response(200, matcher_.get_model(model));
    }
    if (request.method == "DELETE") {
      write();
      matcher_.delete_model(model);
      return no_content();
    }
    return json_response(200, matcher_.get_model(model));
  }
  const std::string_view part = segments[2];
  if (part == "aois" && segments.size() == 3) {
    require_method(request, {"GET", "POST"});
    matcher_.get_model(model);  // 404 for an unknown model
    if (request.method == "POST") {
      write();
      json body = parse_body(request);
      if (body.contains("model") && body["model"] != model) {
        bad_request(fmt::format("model: {} is not the model of the path ('{}')", body["model"].dump(), model));
      }
      body["model"] = model;
      const std::string id = matcher_.add_aoi(body);
      return json_response(201, matcher_.get_aoi(id));
    }
    return json_response(200, {{"aois", matcher_.aois(model)}});
  }
  if (part == "aois" && segments.size() == 4) {
    require_method(request, {"GET", "DELETE"});
    const std::string aoi(segments[3]);
    const json found = matcher_.get_aoi(aoi);
    if (found["model"] != model) {
      throw HttpError(404, "NotFound", fmt::format("model '{}' has no AOI '{}'", model, aoi));
    }
    if (request.method == "DELETE") {
      write();
      matcher_.remove_aoi(aoi);
      return no_content();
    }
    return json_response(200, found);
  }
  if (part == "predictions" && segments.size() <= 4) {
    require_method(request, {"GET"});
    matcher_.get_model(model);
    if (segments.size() == 4) {
      return json_response(200, catalog_.get_item(fmt::format("{}-predictions", model), std::string(segments[3])),
                           "application/geo+json");
    }
    return predictions(request, model);
  }
  if (part == "summary" && segments.size() == 3) {
    require_method(request, {"GET"});
    return summary(request, model);
  }
  throw HttpError(404, "NotFound", fmt::format("no route for {}", request.path));
}

HttpResponse ModelRoutes::run_route(const HttpRequest& request, const std::vector<std::string_view>& segments) const {
  const std::string model(segments[1]);
  if (segments.size() == 3) {  // /models/{model}/runs
    require_method(request, {"GET"});
    matcher_.get_model(model);
    RunQuery query;
    query.model = model;
    query.aoi = query_or(request, "aoi");
    query.state = query_or(request, "state");
    query.limit = limit_of(request);
    query.token = query_or(request, "token");
    json page = matcher_.runs(query);
    json links = json::array({{{"rel", "self"}, {"href", base_url(request) + request.path}}});
    if (page["next"].is_string()) {
      std::string next = fmt::format("{}{}?limit={}&token={}", base_url(request), request.path, query.limit,
                                     query_escape(page["next"].get<std::string>()));
      for (const char* filter : {"aoi", "state"}) {
        if (const std::string* value = request.query_value(filter)) {
          next += fmt::format("&{}={}", filter, query_escape(*value));
        }
      }
      links.push_back({{"rel", "next"}, {"href", next}});
    }
    page["links"] = links;
    return json_response(200, page);
  }
  const std::string run(segments[3]);
  if (segments.size() == 4) {
    require_method(request, {"GET"});
    return json_response(200, run_of(model, run));
  }
  if (segments.size() == 5 && segments[4] == "cancel") {
    require_method(request, {"POST"});
    auth_.authorize(request, kModelsWriteScope);
    run_of(model, run);
    return json_response(200, matcher_.cancel_run(run));
  }
  if (segments.size() == 5 && segments[4] == "logs") {
    require_method(request, {"GET"});
    run_of(model, run);
    return json_response(200, matcher_.run_logs(run, limit_of(request), query_or(request, "nextToken")));
  }
  throw HttpError(404, "NotFound", fmt::format("no route for {}", request.path));
}

HttpResponse ModelRoutes::subscription_route(const HttpRequest& request,
                                             const std::vector<std::string_view>& segments) const {
  const auto write = [&] { auth_.authorize(request, kModelsWriteScope); };
  if (segments.size() == 1) {  // /subscriptions
    require_method(request, {"GET", "POST"});
    if (request.method == "POST") {
      write();
      return json_response(201, matcher_.add_subscription(parse_body(request)));
    }
    return json_response(200, {{"subscriptions", matcher_.subscriptions()}});
  }
  const std::string id(segments[1]);
  if (segments.size() == 2) {
    require_method(request, {"GET", "DELETE"});
    if (request.method == "DELETE") {
      write();
      matcher_.delete_subscription(id);
      return no_content();
    }
    return json_response(200, matcher_.get_subscription(id));
  }
  if (segments.size() == 3 && segments[2] == "dead-letters") {
    require_method(request, {"GET"});
    json page = matcher_.dead_letters(id, limit_of(request), query_or(request, "token"));
    json links = json::array({{{"rel", "self"}, {"href", base_url(request) + request.path}}});
    if (page["next"].is_string()) {
      links.push_back({{"rel", "next"},
                       {"href", fmt::format("{}{}?limit={}&token={}", base_url(request), request.path,
                                            limit_of(request), query_escape(page["next"].get<std::string>()))}});
    }
    page["links"] = links;
    return json_response(200, page);
  }
  if (segments.size() == 3 && segments[2] == "receive") {
    require_method(request, {"POST"});
    write();
    json events = json::array();
    for (const MatchEvent& event : matcher_.receive(id, limit_of(request))) {
      events.push_back(event.to_json());
    }
    return json_response(200, {{"events", events}});
  }
  if (segments.size() == 3 && (segments[2] == "ack" || segments[2] == "replay")) {
    require_method(request, {"POST"});
    write();
    const json body = parse_body(request);
    if (segments[2] == "replay") {
      const auto from = body.find("from");
      if (from == body.end() || !from->is_number_integer() || from->get<std::int64_t>() < 1) {
        bad_request("from: required, the id of the first event to deliver again");
      }
      matcher_.replay(id, from->get<std::int64_t>());
      return json_response(200, matcher_.get_subscription(id));
    }
    const auto events = body.find("events");
    if (events == body.end() || !events->is_array() || events->empty() || events->size() > kMaxPage) {
      bad_request(fmt::format("events: required, an array of 1 to {} event ids", kMaxPage));
    }
    for (std::size_t n = 0; n < events->size(); ++n) {
      if (!(*events)[n].is_number_integer()) {
        bad_request(fmt::format("events[{}]: must be an event id", n));
      }
    }
    for (const json& event : *events) {
      matcher_.acknowledge(id, event.get<std::int64_t>());
    }
    return no_content();
  }
  throw HttpError(404, "NotFound", fmt::format("no route for {}", request.path));
}

HttpResponse ModelRoutes::predictions(const HttpRequest& request, std::string_view model) const {
  const std::string collection = fmt::format("{}-predictions", model);
  const std::size_t limit = limit_of(request, 10);
  json page;
  try {
    catalog_.get_collection(collection);
    json search = {{"collections", {collection}}, {"limit", limit}};
    if (const std::string* token = request.query_value("token")) {
      search["token"] = *token;
    }
    page = catalog_.search(search);
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kNotFound) {
      throw;
    }
    // No prediction yet: the collection is made with the first.
    page = {{"type", "FeatureCollection"}, {"features", json::array()}, {"numberReturned", 0}};
  }
  json links = json::array({{{"rel", "self"}, {"href", base_url(request) + request.path}}});
  if (page.contains("next") && page["next"].is_string()) {
    links.push_back({{"rel", "next"},
                     {"type", "application/geo+json"},
                     {"href", fmt::format("{}{}?limit={}&token={}", base_url(request), request.path, limit,
                                          query_escape(page["next"].get<std::string>()))}});
  }
  page["links"] = links;
  page.erase("next");
  page.erase("prev");
  return json_response(200, page, "application/geo+json");
}

HttpResponse ModelRoutes::summary(const HttpRequest& request, std::string_view model) const {
  json result = matcher_.summary(model, query_or(request, "start"), query_or(request, "end"));
  // Run counts by state and the median run time of the succeeded ones.
  std::map<std::string, std::size_t> states;
  std::vector<double> seconds;
  RunQuery query;
  query.model = std::string(model);
  query.limit = kMaxPage;
  std::size_t read = 0;
  while (read < kSummaryRuns) {
    const json page = matcher_.runs(query);
    for (const json& run : page["runs"]) {
      ++states[run["state"].get<std::string>()];
      if (run["state"] == "succeeded" && run.contains("seconds") && run["seconds"].is_number()) {
        seconds.push_back(run["seconds"].get<double>());
      }
    }
    read += page["runs"].size();
    if (!page["next"].is_string()) {
      break;
    }
    query.token = page["next"].get<std::string>();
  }
  json median = nullptr;
  if (!seconds.empty()) {
    std::sort(seconds.begin(), seconds.end());
    const std::size_t middle = seconds.size() / 2;
    median = seconds.size() % 2 == 1 ? seconds[middle] : (seconds[middle - 1] + seconds[middle]) / 2;
  }
  result["runs"] = {{"by_state", states}, {"median_seconds", median}};
  return json_response(200, result);
}

void add_model_openapi(json& paths) {
  const auto op = [](std::string summary, bool write = false) {
    json operation = {{"summary", std::move(summary)},
                      {"tags", {"Models"}},
                      {"responses", {{"200", {{"description", "OK"}}}, {"404", {{"description", "Not found"}}}}}};
    if (write) {
      operation["security"] = json::array({{{"bearerAuth", json::array({kModelsWriteScope})}}});
      operation["responses"]["401"] = {{"description", "No token, or not a valid one"}};
      operation["responses"]["403"] = {{"description", "The token lacks scope models:write"}};
    }
    return operation;
  };
  const auto path_parameter = [](const char* name) {
    return json{{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
  };
  const auto query_parameter = [](const char* name, const char* type) {
    return json{{"name", name}, {"in", "query"}, {"required", false}, {"schema", {{"type", type}}}};
  };
  paths["/models"] = {{"get", op("List the models")}, {"post", op("Register a model", true)}};
  paths["/models/{model}"] = {{"parameters", {path_parameter("model")}},
                              {"get", op("A model")},
                              {"put", op("Replace a model (emits model_updated)", true)},
                              {"delete", op("Delete a model and its AOIs", true)}};
  paths["/models/{model}/aois"] = {{"parameters", {path_parameter("model")}},
                                   {"get", op("The model's AOIs")},
                                   {"post", op("Register an AOI of the model", true)}};
  paths["/models/{model}/aois/{aoi}"] = {{"parameters", {path_parameter("model"), path_parameter("aoi")}},
                                         {"get", op("An AOI")},
                                         {"delete", op("Remove an AOI", true)}};
  json runs = op("The model's runs, newest first");
  runs["parameters"] = {query_parameter("state", "string"), query_parameter("aoi", "string"),
                        query_parameter("limit", "integer"), query_parameter("token", "string")};
  paths["/models/{model}/runs"] = {{"parameters", {path_parameter("model")}}, {"get", runs}};
  paths["/models/{model}/runs/{run}"] = {{"parameters", {path_parameter("model"), path_parameter("run")}},
                                         {"get", op("A run")}};
  paths["/models/{model}/runs/{run}/cancel"] = {{"parameters", {path_parameter("model"), path_parameter("run")}},
                                                {"post", op("Cancel a run that has not ended", true)}};
  json logs = op("A page of the run's log");
  logs["parameters"] = {query_parameter("limit", "integer"), query_parameter("nextToken", "string")};
  paths["/models/{model}/runs/{run}/logs"] = {{"parameters", {path_parameter("model"), path_parameter("run")}},
                                              {"get", logs}};
  json callback = op("Report a prediction of the run (a STAC label item); final=true ends the run as succeeded");
  callback["security"] = json::array({{{"bearerAuth", json::array()}}});
  callback["description"] = "Takes only the run's own token (TESSERA_CALLBACK_TOKEN in the model's environment).";
  callback["parameters"] = {query_parameter("final", "boolean")};
  callback["responses"] = {{"201", {{"description", "Recorded"}}},
                           {"400", {{"description", "Not a valid label item for this run"}}},
                           {"401", {{"description", "Not this run's token"}}},
                           {"409", {{"description", "The run has ended"}}}};
  paths["/models/{model}/runs/{run}/predictions"] = {{"parameters", {path_parameter("model"), path_parameter("run")}},
                                                     {"post", callback}};
  json listing = op("The model's predictions: a STAC ItemCollection of label items, paged");
  listing["parameters"] = {query_parameter("limit", "integer"), query_parameter("token", "string")};
  paths["/models/{model}/predictions"] = {{"parameters", {path_parameter("model")}}, {"get", listing}};
  paths["/models/{model}/predictions/{prediction}"] = {
      {"parameters", {path_parameter("model"), path_parameter("prediction")}},
      {"get", op("A prediction's label item")}};
  json summary = op("Counts, classes, the latest prediction and run counts with the median run time");
  summary["parameters"] = {query_parameter("start", "string"), query_parameter("end", "string")};
  paths["/models/{model}/summary"] = {{"parameters", {path_parameter("model")}}, {"get", summary}};
  json subscribe = op("Subscribe to a model's events (or every model's): pulled, or pushed to a webhook or SNS", true);
  subscribe["description"] =
      "{\"id\"?, \"model\"?, \"visibility_timeout\"?, \"from_start\"?} and, for a push subscription, "
      "\"webhook\": {\"url\": https URL, \"secret\": HMAC key} or \"sns\": {\"topic_arn\"?}, with "
      "\"max_attempts\"?, \"backoff_seconds\"?, \"max_backoff_seconds\"?. The secret is never returned.";
  paths["/subscriptions"] = {{"get", op("The subscriptions (webhook secrets left out)")}, {"post", subscribe}};
  paths["/subscriptions/{subscription}"] = {{"parameters", {path_parameter("subscription")}},
                                            {"get", op("A subscription")},
                                            {"delete", op("Delete a subscription", true)}};
  json receive =
      op("Lease the subscriber's next events (redelivered after its visibility timeout unless acknowledged)", true);
  receive["parameters"] = {query_parameter("limit", "integer")};
  paths["/subscriptions/{subscription}/receive"] = {{"parameters", {path_parameter("subscription")}},
                                                    {"post", receive}};
  paths["/subscriptions/{subscription}/ack"] = {{"parameters", {path_parameter("subscription")}},
                                                {"post", op("Acknowledge received events: {\"events\": [ids]}", true)}};
  paths["/subscriptions/{subscription}/replay"] = {
      {"parameters", {path_parameter("subscription")}},
      {"post", op("Deliver every event from {\"from\": id} on again (dead letters from it included)", true)}};
  json dead_letters = op("The events a push subscription gave up on after max_attempts, oldest first");
  dead_letters["parameters"] = {query_parameter("limit", "integer"), query_parameter("token", "string")};
  paths["/subscriptions/{subscription}/dead-letters"] = {{"parameters", {path_parameter("subscription")}},
                                                         {"get", dead_letters}};
}

}  // namespace tessera::service
