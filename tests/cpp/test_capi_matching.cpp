// Matching through the C ABI: handles, JSON in and out, statuses and messages.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <tessera/tessera.h>
#include "matching_fixtures.hpp"

using nlohmann::json;
using tessera::testing::make_aoi;
using tessera::testing::make_collection;
using tessera::testing::make_imagery;
using tessera::testing::make_model;
using tessera::testing::square;

namespace {

// Takes a string handed out by the C ABI and frees it.
std::string take(char* text) {
  std::string copy = text != nullptr ? text : "";
  tsr_free(text);
  return copy;
}

class CApiMatching : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tsr_catalog_open(":memory:", nullptr, &catalog_), TSR_OK);
    ASSERT_EQ(tsr_catalog_upsert_collection(catalog_, make_collection("imagery").dump().c_str()), TSR_OK);
    ASSERT_EQ(tsr_matcher_open(catalog_, &matcher_), TSR_OK);
  }
  void TearDown() override {
    tsr_matcher_destroy(&matcher_);
    EXPECT_EQ(matcher_, nullptr);
    tsr_catalog_destroy(&catalog_);
  }
  tsr_catalog catalog_ = nullptr;
  tsr_matcher matcher_ = nullptr;
};

TEST_F(CApiMatching, ModelAoiMatchLoadEventsAck) {
  char* out = nullptr;
  ASSERT_EQ(tsr_matcher_add_model(matcher_, make_model("c").dump().c_str(), &out), TSR_OK);
  const std::string model = take(out);
  ASSERT_EQ(tsr_matcher_add_aoi(matcher_, make_aoi(model, square(0, 0, 10)).dump().c_str(), &out), TSR_OK);
  const std::string aoi = take(out);
  ASSERT_EQ(tsr_matcher_match(matcher_, make_imagery("a", "imagery", 1, 1).dump().c_str(), &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out)), json::parse(json::array({{{"model", model}, {"aoi", aoi}}}).dump()));
  const json batch = {make_imagery("a", "imagery", 1, 1), make_imagery("b", "imagery", 50, 50)};
  ASSERT_EQ(tsr_matcher_match_batch(matcher_, batch.dump().c_str(), &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))[1], json::array());

  ASSERT_EQ(tsr_matcher_load_json(matcher_, make_imagery("a", "imagery", 1, 1).dump().c_str(), nullptr, &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))["loaded"], 1);
  ASSERT_EQ(tsr_matcher_events(matcher_, R"({"claim": true, "lease": 30})", &out), TSR_OK);
  const json events = json::parse(take(out));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0]["kind"], "run_requested");
  EXPECT_EQ(tsr_matcher_ack(matcher_, events[0]["id"].get<int64_t>()), TSR_OK);
  ASSERT_EQ(tsr_matcher_events(matcher_, nullptr, &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out)), json::array());

  ASSERT_EQ(tsr_matcher_summary(matcher_, model.c_str(), nullptr, nullptr, &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))["predictions"], 0);
  ASSERT_EQ(tsr_runner_run_pending(matcher_, R"({"concurrency": 1})", &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out)), json::array());
  EXPECT_EQ(tsr_matcher_remove_aoi(matcher_, aoi.c_str()), TSR_OK);
}

TEST_F(CApiMatching, RunsLogsAndCancel) {
  char* out = nullptr;
  ASSERT_EQ(tsr_matcher_add_model(matcher_, make_model("echo", {"/bin/sh", "-c", "echo hello"}).dump().c_str(), &out),
            TSR_OK);
  const std::string model = take(out);
  ASSERT_EQ(tsr_matcher_add_aoi(matcher_, make_aoi(model, square(0, 0, 10)).dump().c_str(), &out), TSR_OK);
  take(out);
  ASSERT_EQ(tsr_matcher_load_json(matcher_, make_imagery("a", "imagery", 1, 1).dump().c_str(), nullptr, &out), TSR_OK);
  take(out);
  ASSERT_EQ(tsr_runner_run_pending(matcher_, R"({"poll": 0.01})", &out), TSR_OK);
  const json records = json::parse(take(out));
  ASSERT_EQ(records.size(), 1U);
  const std::string run = records[0]["id"];
  ASSERT_EQ(tsr_matcher_runs(matcher_, (json{{"model", model}, {"state", "succeeded"}}).dump().c_str(), &out), TSR_OK);
  const json page = json::parse(take(out));
  ASSERT_EQ(page["runs"].size(), 1U);
  EXPECT_EQ(page["runs"][0]["id"], run);
  ASSERT_EQ(tsr_matcher_get_run(matcher_, run.c_str(), &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))["state"], "succeeded");
  ASSERT_EQ(tsr_matcher_run_logs(matcher_, run.c_str(), R"({"limit": 10})", &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))["entries"][0]["text"], "hello\n");
  out = nullptr;
  EXPECT_EQ(tsr_matcher_cancel_run(matcher_, run.c_str(), &out), TSR_CONFLICT);
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(tsr_matcher_get_run(matcher_, "run-none", &out), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_matcher_runs(matcher_, R"({"limit": 0})", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_run_logs(matcher_, run.c_str(), R"({"token": 3})", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_cancel_run(matcher_, nullptr, &out), TSR_INVALID_INPUT);
}

TEST_F(CApiMatching, SubscriptionsReceiveAcknowledgeReplay) {
  char* out = nullptr;
  ASSERT_EQ(tsr_matcher_add_model(matcher_, make_model("s").dump().c_str(), &out), TSR_OK);
  const std::string model = take(out);
  ASSERT_EQ(tsr_matcher_add_subscription(matcher_, R"({"id": "sub", "from_start": true})", &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))["id"], "sub");
  ASSERT_EQ(tsr_matcher_add_aoi(matcher_, make_aoi(model, square(0, 0, 10)).dump().c_str(), &out), TSR_OK);
  take(out);
  ASSERT_EQ(tsr_matcher_load_json(matcher_, make_imagery("a", "imagery", 1, 1).dump().c_str(), nullptr, &out), TSR_OK);
  take(out);
  ASSERT_EQ(tsr_matcher_receive(matcher_, "sub", 10, &out), TSR_OK);
  const json events = json::parse(take(out));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0]["kind"], "run_requested");
  const auto id = events[0]["id"].get<int64_t>();
  EXPECT_EQ(tsr_matcher_acknowledge(matcher_, "sub", id), TSR_OK);
  EXPECT_EQ(tsr_matcher_acknowledge(matcher_, "sub", id + 1000), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_matcher_replay(matcher_, "sub", id), TSR_OK);
  ASSERT_EQ(tsr_matcher_receive(matcher_, "sub", 10, &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out)).size(), 1U);
  EXPECT_EQ(tsr_matcher_receive(matcher_, "sub", 0, &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_delete_subscription(matcher_, "sub"), TSR_OK);
  EXPECT_EQ(tsr_matcher_delete_subscription(matcher_, "sub"), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_matcher_add_subscription(matcher_, "[]", &out), TSR_INVALID_INPUT);
}

// A webhook nobody answers (the discard port on loopback): one attempt, a
// dead letter; replay hands it to the pusher again.
TEST_F(CApiMatching, PushPendingDeadLettersAndReplay) {
  char* out = nullptr;
  ASSERT_EQ(tsr_matcher_add_model(matcher_, make_model("p").dump().c_str(), &out), TSR_OK);
  const std::string model = take(out);
  const json subscription = {{"id", "hook"},
                             {"from_start", true},
                             {"max_attempts", 1},
                             {"webhook", {{"url", "http://127.0.0.1:9/hook"}, {"secret", "sixteen-bytes-secret"}}}};
  ASSERT_EQ(tsr_matcher_add_subscription(matcher_, subscription.dump().c_str(), &out), TSR_OK);
  EXPECT_EQ(take(out).find("sixteen-bytes-secret"), std::string::npos);
  ASSERT_EQ(tsr_matcher_add_aoi(matcher_, make_aoi(model, square(0, 0, 10)).dump().c_str(), &out), TSR_OK);
  take(out);
  ASSERT_EQ(tsr_matcher_load_json(matcher_, make_imagery("a", "imagery", 1, 1).dump().c_str(), nullptr, &out), TSR_OK);
  take(out);
  ASSERT_EQ(tsr_matcher_push_pending(matcher_, R"({"allow_loopback": true, "timeout": 2})", &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out)), (json{{"delivered", 0}, {"retried", 0}, {"dead_lettered", 1}}));
  ASSERT_EQ(tsr_matcher_dead_letters(matcher_, "hook", nullptr, &out), TSR_OK);
  const json letters = json::parse(take(out))["dead_letters"];
  ASSERT_EQ(letters.size(), 1U);
  EXPECT_EQ(letters[0]["event"]["kind"], "run_requested");
  EXPECT_EQ(letters[0]["attempts"], 1);
  EXPECT_EQ(tsr_matcher_receive(matcher_, "hook", 10, &out), TSR_CONFLICT);
  ASSERT_EQ(tsr_matcher_replay(matcher_, "hook", letters[0]["event"]["id"].get<int64_t>()), TSR_OK);
  ASSERT_EQ(tsr_matcher_dead_letters(matcher_, "hook", R"({"limit": 10})", &out), TSR_OK);
  EXPECT_TRUE(json::parse(take(out))["dead_letters"].empty());
  // Without allow_loopback the http:// webhook is not even tried.
  ASSERT_EQ(tsr_matcher_push_pending(matcher_, nullptr, &out), TSR_OK);
  EXPECT_EQ(json::parse(take(out))["dead_lettered"], 1);
  ASSERT_EQ(tsr_matcher_dead_letters(matcher_, "hook", nullptr, &out), TSR_OK);
  EXPECT_NE(take(out).find("allows loopback"), std::string::npos);
  EXPECT_EQ(tsr_matcher_push_pending(matcher_, R"({"batch": 0})", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_push_pending(matcher_, nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_dead_letters(matcher_, "nobody", nullptr, &out), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_matcher_dead_letters(matcher_, nullptr, nullptr, &out), TSR_INVALID_INPUT);
}

TEST_F(CApiMatching, ErrorsAreStatusesWithMessages) {
  char* out = nullptr;
  EXPECT_EQ(tsr_matcher_add_model(matcher_, "{not json", &out), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("model_json"), std::string::npos);
  EXPECT_EQ(tsr_matcher_add_aoi(matcher_, make_aoi("nobody", square(0, 0, 1)).dump().c_str(), &out), TSR_NOT_FOUND);
  EXPECT_NE(std::string(tsr_last_error_message()).find("model 'nobody' not found"), std::string::npos);
  EXPECT_EQ(tsr_matcher_remove_aoi(matcher_, "missing"), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_matcher_ack(matcher_, 424242), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_matcher_match(nullptr, "{}", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_match_batch(matcher_, "{}", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_events(matcher_, "[1]", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_matcher_events(matcher_, R"({"limit": -3})", &out), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("'limit' has the wrong type"), std::string::npos);
  EXPECT_EQ(tsr_runner_run_pending(matcher_, R"({"work_dir": 5})", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(out, nullptr);  // untouched on failure
  tsr_matcher_destroy(nullptr);
}

}  // namespace
