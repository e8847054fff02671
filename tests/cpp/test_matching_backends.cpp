// Matching state on every catalog backend: models and AOIs persisted and
// reloaded, run requests written in the load's transaction, claim / ack /
// redelivery, the local runner, predictions and summaries.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "matching_fixtures.hpp"
#include "tessera/matching.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::Catalog;
using tessera::Error;
using tessera::ErrorCode;
using tessera::EventQuery;
using tessera::LoadMode;
using tessera::LoadOptions;
using tessera::Matcher;
using tessera::MatchEvent;
using tessera::Runner;
using tessera::RunnerOptions;
using tessera::RunQuery;
using tessera::RunState;
using tessera::testing::expect_error;
using tessera::testing::make_aoi;
using tessera::testing::make_collection;
using tessera::testing::make_imagery;
using tessera::testing::make_model;
using tessera::testing::read_text;
using tessera::testing::ScopedEnv;
using tessera::testing::square;
using tessera::testing::TempDir;

namespace {

class MatchingBackend : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  MatchingBackend() : catalog_(GetParam().open(scratch_.path())), matcher_(std::make_unique<Matcher>(*catalog_)) {
    // A shared database keeps other tests' AOIs and events: start from none.
    for (const auto& aoi : matcher_->aois()) {
      matcher_->remove_aoi(aoi["id"].get<std::string>());
    }
    EventQuery everything;
    everything.limit = 100000;
    for (const auto& event : matcher_->events(everything)) {
      matcher_->ack(event.id);
    }
    catalog_->create_collection(make_collection("imagery"));
  }

  std::vector<MatchEvent> pending(const std::string& model, bool claim = false, double lease = 60) {
    EventQuery query;
    query.model = model;
    query.claim = claim;
    query.lease_seconds = lease;
    return matcher_->events(query);
  }

  TempDir scratch_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Matcher> matcher_;
};

TEST_P(MatchingBackend, ModelsAndAoisPersistAndReload) {
  const std::string model = matcher_->add_model(make_model("persisted"));
  auto aoi = make_aoi(model, square(5, 5, 2));
  const std::string aoi_id = matcher_->add_aoi(aoi);
  EXPECT_EQ(matcher_->get_model(model)["name"], "persisted");
  EXPECT_EQ(matcher_->get_model(model)["runner"]["concurrency"], 1);
  expect_error([&] { matcher_->add_model(matcher_->get_model(model)); }, ErrorCode::kConflict, "already exists");
  // A second Matcher on the same database loads the AOI into its index.
  Matcher other(*catalog_);
  ASSERT_EQ(other.match(make_imagery("x", "imagery", 5.5, 5.5, 0.5)).size(), 1U);
  EXPECT_EQ(other.match(make_imagery("x", "imagery", 5.5, 5.5, 0.5))[0].aoi, aoi_id);
  EXPECT_EQ(other.aois(model).size(), 1U);
  // update_model emits model_updated.
  json changed = matcher_->get_model(model);
  changed["runner"] = {{"timeout", 5}, {"concurrency", 2}};
  matcher_->update_model(changed);
  EXPECT_EQ(matcher_->get_model(model)["runner"]["timeout"], 5.0);
  const auto events = pending(model);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, "model_updated");
}

TEST_P(MatchingBackend, LoadWritesRunRequestsWithTheItems) {
  const std::string model = matcher_->add_model(make_model("on-load"));
  const std::string aoi = matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.mode = LoadMode::kIgnore;
  options.outbox = matcher_->outbox_hook();
  json bad = make_imagery("broken", "imagery", 1, 1);
  bad["properties"]["datetime"] = "not a date";
  const auto report =
      catalog_->load({make_imagery("inside", "imagery", 1, 1), make_imagery("outside", "imagery", 40, 40), bad,
                      make_imagery("other-collection", "missing", 1, 1)},
                     options);
  EXPECT_EQ(report.loaded, 2U);
  EXPECT_EQ(report.failed.size(), 2U);
  auto events = pending(model);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, "run_requested");
  EXPECT_EQ(events[0].payload["item"], "inside");
  EXPECT_EQ(events[0].payload["aoi"], aoi);
  EXPECT_EQ(events[0].payload["collection"], "imagery");
  // Loading it again in ignore mode writes nothing: the item was skipped.
  const auto again = catalog_->load({make_imagery("inside", "imagery", 1, 1)}, options);
  EXPECT_EQ(again.skipped, 1U);
  EXPECT_EQ(pending(model).size(), 1U);
}

TEST_P(MatchingBackend, ClaimAckAndRedelivery) {
  const std::string model = matcher_->add_model(make_model("outbox"));
  for (int n = 0; n < 3; ++n) {
    matcher_->emit("run_requested", model, {{"n", n}});
  }
  // A claim leases the events: a second consumer gets none of them.
  const auto first = pending(model, true, 0.3);
  ASSERT_EQ(first.size(), 3U);
  EXPECT_EQ(first[0].payload["n"], 0);
  EXPECT_EQ(first[0].deliveries, 1);
  EXPECT_TRUE(pending(model, true, 0.3).empty());
  matcher_->ack(first[0].id);
  matcher_->ack(first[0].id);  // twice is harmless
  expect_error([&] { matcher_->ack(999999999); }, ErrorCode::kNotFound, "event 999999999");
  // Once the lease expires the unacknowledged two come back.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto again = pending(model, true, 60);
  ASSERT_EQ(again.size(), 2U);
  EXPECT_EQ(again[0].id, first[1].id);
  EXPECT_EQ(again[0].deliveries, 2);
  for (const auto& event : again) {
    matcher_->ack(event.id);
  }
  EXPECT_TRUE(pending(model).empty());
}

TEST_P(MatchingBackend, RunnerExecutesRecordsAndAcknowledges) {
  // The command gets the item's JSON path as its last argument ($0 of sh -c).
  const std::string ok = matcher_->add_model(make_model("ok", {"/bin/sh", "-c", "echo ran on $(basename $0)"}));
  const std::string fails = matcher_->add_model(make_model("fails", {"/bin/sh", "-c", "echo oops >&2; exit 3"}));
  json slow = make_model("slow", {"/bin/sh", "-c", "sleep 30"});
  slow["runner"] = {{"timeout", 0.3}};
  const std::string sleeps = matcher_->add_model(slow);
  for (const auto& model : {ok, fails, sleeps}) {
    matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  }
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  RunnerOptions runner_options;
  runner_options.work_dir = (scratch_.path() / "work").string();
  const auto started = std::chrono::steady_clock::now();
  const json records = Runner(*matcher_, runner_options).run_pending();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  ASSERT_EQ(records.size(), 3U);
  std::map<std::string, json> by_model;
  for (const auto& record : records) {
    by_model[record["model"]] = record;
  }
  EXPECT_EQ(by_model[ok]["kind"], "run_succeeded");
  EXPECT_EQ(by_model[ok]["exit_code"], 0);
  EXPECT_EQ(by_model[ok]["log"], "ran on item.json\n");
  EXPECT_EQ(by_model[fails]["kind"], "run_failed");
  EXPECT_EQ(by_model[fails]["exit_code"], 3);
  EXPECT_EQ(by_model[fails]["log"], "oops\n");
  EXPECT_EQ(by_model[sleeps]["kind"], "run_timed_out");
  EXPECT_EQ(by_model[sleeps]["state"], "timed_out");
  EXPECT_TRUE(by_model[sleeps]["timed_out"].get<bool>());
  // The requests are acknowledged; each transition is an event of its own,
  // the last one the run's end, with the run as payload.
  const std::map<std::string, std::string> ends = {
      {ok, "run_succeeded"}, {fails, "run_failed"}, {sleeps, "run_timed_out"}};
  for (const auto& [model, end] : ends) {
    const auto events = pending(model);
    ASSERT_GE(events.size(), 2U) << model;
    EXPECT_EQ(events.front().kind, "run_submitted") << model;
    EXPECT_EQ(events.back().kind, end) << model;
    EXPECT_EQ(events.back().payload["id"], by_model[model]["id"]);
    for (const auto& event : events) {
      EXPECT_NE(event.kind, "run_requested");
    }
  }
  // The outputs are the runs' logs.
  const json logs = matcher_->run_logs(by_model[fails]["id"].get<std::string>());
  ASSERT_EQ(logs["entries"].size(), 1U) << logs.dump();
  EXPECT_EQ(logs["entries"][0]["text"], "oops\n");
  EXPECT_EQ(Runner(*matcher_).run_pending().size(), 0U);
}

// Runs every pending request of the catalog's single loaded item and returns the record of `model`.
json run_one(Matcher& matcher, const std::filesystem::path& work_dir) {
  RunnerOptions options;
  options.work_dir = work_dir.string();
  const json records = Runner(matcher, options).run_pending();
  EXPECT_EQ(records.size(), 1U);
  return records.empty() ? json() : records[0];
}

// An item id can no longer steer where its JSON file is written: relative
// escapes and absolute ids land in the run's private folder as item.json.
TEST_P(MatchingBackend, RunnerItemFilesStayInsideThePrivateRunFolder) {
  const std::filesystem::path work = scratch_.path() / "a" / "b" / "work";
  const std::filesystem::path escape = scratch_.path() / "a" / "b" / "escape";
  std::filesystem::create_directories(escape);
  { std::ofstream(escape / "PWNED.json") << "original"; }
  const std::string absolute = (scratch_.path() / "absolute" / "PWNED").string();
  std::filesystem::create_directories(scratch_.path() / "absolute");
  // The model reports the folder it ran in, its mode and the file it got.
  const std::string model = matcher_->add_model(
      make_model("reporter", {"/bin/sh", "-c", "pwd; stat -c %a .; basename \"$0\"; head -c 1 \"$0\"; echo"}));
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  for (const std::string& id :
       {std::string("../../escape/PWNED"), absolute, std::string(300, 'x'), std::string("caf\u00e9/\u00fcber")}) {
    ASSERT_EQ(catalog_->load({make_imagery(id, "imagery", 1, 1)}, options).loaded, 1U) << id;
    const json record = run_one(*matcher_, work);
    ASSERT_EQ(record["kind"], "run_succeeded") << record.dump();
    const std::string log = record["log"];
    EXPECT_NE(log.find(work.string() + "/run-"), std::string::npos) << log;
    EXPECT_NE(log.find("\n700\nitem.json\n{\n"), std::string::npos) << log;
  }
  EXPECT_EQ(read_text(escape / "PWNED.json"), "original");
  EXPECT_FALSE(std::filesystem::exists(absolute + ".json"));
  // Each run's folder is removed after it.
  EXPECT_TRUE(std::filesystem::is_empty(work));
}

// Model processes get the allow-list, their own env and the host variables
// they name, nothing else; secrets they print are scrubbed from the record.
TEST_P(MatchingBackend, RunnerChildEnvironmentIsAnAllowList) {
  ScopedEnv password("PGPASSWORD", "pg-secret-3c9d1");
  ScopedEnv aws("AWS_SECRET_ACCESS_KEY", "aws-secret-77f2e0");
  ScopedEnv database("DATABASE_URL", "postgresql://user:db-secret-41a@localhost/db");
  ScopedEnv token("SERVICE_TOKEN", "named-token-9be1c");
  json definition = make_model("env", {"/bin/sh", "-c", "env | sort"});
  definition["env"] = {{"MODEL_SETTING", "yes"}};
  definition["inherit_env"] = {"SERVICE_TOKEN"};
  const std::string model = matcher_->add_model(definition);
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  const json record = run_one(*matcher_, scratch_.path() / "work");
  ASSERT_EQ(record["kind"], "run_succeeded") << record.dump();
  const std::string log = record["log"];
  EXPECT_NE(log.find("MODEL_SETTING=yes"), std::string::npos) << log;
  EXPECT_NE(log.find("PATH="), std::string::npos) << log;
  // Named, so passed on, but its value never reaches the stored record.
  EXPECT_NE(log.find("SERVICE_TOKEN=***"), std::string::npos) << log;
  for (const char* absent : {"PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "pg-secret-3c9d1",
                             "aws-secret-77f2e0", "db-secret-41a", "named-token-9be1c"}) {
    EXPECT_EQ(log.find(absent), std::string::npos) << absent << " in\n" << log;
  }
  // The run's id is the one variable the runner adds (no callback is configured here).
  EXPECT_NE(log.find("TESSERA_RUN_ID=" + record["id"].get<std::string>()), std::string::npos) << log;
  EXPECT_EQ(log.find("TESSERA_CALLBACK"), std::string::npos) << log;
  // The stored log is the same scrubbed text.
  std::string stored;
  const json logs = matcher_->run_logs(record["id"].get<std::string>(), 1000);
  for (const json& entry : logs["entries"]) {
    stored += entry["text"].get<std::string>();
  }
  EXPECT_EQ(stored, log);
}

// An executor of a batch system in miniature: jobs it is given report
// `submitted`, then `running` with output, then succeed, one step per status
// call; it knows the jobs in `known` from the start (a previous runner's).
class SteppingExecutor final : public tessera::RunExecutor {
 public:
  std::string submit(const tessera::RunRequest& request) override {
    std::lock_guard lock(mutex_);
    submitted.push_back(request);
    const std::string job = "job-" + std::to_string(submitted.size());
    steps_[job] = 0;
    return job;
  }
  tessera::RunStatus status(const std::string& job) override {
    std::lock_guard lock(mutex_);
    tessera::RunStatus status;
    const int step = steps_.count(job) > 0 ? steps_[job]++ : 3;
    status.state = step == 0 ? RunState::kSubmitted : step < 3 ? RunState::kRunning : RunState::kSucceeded;
    status.log = step == 1 || step == 2 ? "step " + std::to_string(step) + "\n" : "";
    status.exit_code = step >= 3 ? 0 : -1;
    return status;
  }
  void cancel(const std::string& job) override {
    std::lock_guard lock(mutex_);
    cancelled.push_back(job);
  }
  std::vector<tessera::RunRequest> submitted;
  std::vector<std::string> cancelled;

 private:
  std::mutex mutex_;
  std::map<std::string, int> steps_;
};

std::vector<std::string> kinds(const std::vector<tessera::MatchEvent>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    out.push_back(event.kind);
  }
  return out;
}

// Executors return at submit and report later; every transition is an event
// whose payload is the run, and the output lands in the run's log in order.
TEST_P(MatchingBackend, RunLifecycleFollowsTheExecutorsReports) {
  json definition = make_model("batch", {"segment"});
  definition["executor"] = {{"queue", "gpu"}, {"image", "models/segment:1"}};
  const std::string model = matcher_->add_model(definition);
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  auto executor = std::make_shared<SteppingExecutor>();
  RunnerOptions runner_options;
  runner_options.work_dir = (scratch_.path() / "work").string();
  runner_options.poll_seconds = 0.01;
  const json records = Runner(*matcher_, runner_options, executor).run_pending();
  ASSERT_EQ(records.size(), 1U);
  const json& run = records[0];
  EXPECT_EQ(run["state"], "succeeded");
  EXPECT_EQ(run["job"], "job-1");
  EXPECT_EQ(run["log"], "step 1\nstep 2\n");
  ASSERT_EQ(executor->submitted.size(), 1U);
  EXPECT_EQ(executor->submitted[0].executor["queue"], "gpu");
  EXPECT_EQ(executor->submitted[0].run_id, run["id"]);
  EXPECT_EQ(kinds(pending(model)), (std::vector<std::string>{"run_submitted", "run_started", "run_succeeded"}));
  for (const auto& event : pending(model)) {
    EXPECT_EQ(event.payload["id"], run["id"]);
  }
  const json stored = matcher_->get_run(run["id"].get<std::string>());
  for (const char* time : {"created", "submitted", "started", "finished"}) {
    EXPECT_TRUE(stored[time].is_string()) << time << ": " << stored.dump();
  }
  // Logs page with limit/nextToken.
  const std::string id = run["id"];
  const json first = matcher_->run_logs(id, 1);
  ASSERT_EQ(first["entries"].size(), 1U);
  EXPECT_EQ(first["entries"][0]["text"], "step 1\n");
  const json second = matcher_->run_logs(id, 1, first["nextToken"].get<std::string>());
  EXPECT_EQ(second["entries"][0]["text"], "step 2\n");
  EXPECT_TRUE(second["nextToken"].is_null());
  expect_error([&] { matcher_->run_logs(id, 1, "x"); }, ErrorCode::kInvalidInput, "nextToken 'x'");
  // A final run goes nowhere.
  EXPECT_FALSE(matcher_->transition_run(id, RunState::kCancelled).has_value());
  expect_error([&] { matcher_->cancel_run(id); }, ErrorCode::kConflict, "has already ended (succeeded)");
  expect_error([&] { matcher_->get_run("run-nope"); }, ErrorCode::kNotFound, "run 'run-nope' not found");
}

// A runner that stopped after submitting leaves the request unacknowledged;
// the next runner gets it again after the lease and polls the same job
// instead of submitting a second one.
TEST_P(MatchingBackend, ARedeliveredRequestPicksUpItsSubmittedJob) {
  const std::string model = matcher_->add_model(make_model("batch", {"segment"}));
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  // What the stopped runner did: claimed (a short lease), opened the run, submitted it.
  EventQuery claim;
  claim.kind = "run_requested";
  claim.claim = true;
  claim.lease_seconds = 0.05;
  const auto claimed = matcher_->events(claim);
  ASSERT_EQ(claimed.size(), 1U);
  const json run = matcher_->open_run(claimed[0]);
  EXPECT_EQ(matcher_->open_run(claimed[0])["id"], run["id"]);  // the same run every time
  ASSERT_TRUE(matcher_->transition_run(run["id"].get<std::string>(), RunState::kSubmitted, {{"job", "job-7"}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto executor = std::make_shared<SteppingExecutor>();
  RunnerOptions runner_options;
  runner_options.poll_seconds = 0.01;
  const json records = Runner(*matcher_, runner_options, executor).run_pending();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0]["id"], run["id"]);
  EXPECT_EQ(records[0]["state"], "succeeded");
  EXPECT_TRUE(executor->submitted.empty());
  EventQuery requests;
  requests.kind = "run_requested";
  EXPECT_TRUE(matcher_->events(requests).empty());
}

// Cancelling a running run stops its job at the runner's next poll; runs
// list newest first with filters and pages.
TEST_P(MatchingBackend, RunsAreCancelledListedAndPaged) {
  json slow_model = make_model("slow", {"/bin/sh", "-c", "echo begun; sleep 30"});
  slow_model["runner"] = {{"concurrency", 2}};  // both of its runs at once
  const std::string slow = matcher_->add_model(slow_model);
  const std::string quick = matcher_->add_model(make_model("quick", {"/bin/true"}));
  matcher_->add_aoi(make_aoi(slow, square(0, 0, 10)));
  matcher_->add_aoi(make_aoi(quick, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("a", "imagery", 1, 1), make_imagery("b", "imagery", 1, 1)}, options).loaded,
            2U);
  RunnerOptions runner_options;
  runner_options.work_dir = (scratch_.path() / "work").string();
  runner_options.concurrency = 4;
  auto running = std::async(std::launch::async, [&] { return Runner(*matcher_, runner_options).run_pending(); });
  // Wait for a slow run to be running, then cancel both slow runs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  RunQuery query;
  query.model = slow;
  while (std::chrono::steady_clock::now() < deadline) {
    const json page = matcher_->runs(query);
    if (page["runs"].size() == 2 && page["runs"][0]["state"] == "running" && page["runs"][1]["state"] == "running") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const json slow_runs = matcher_->runs(query);
  for (const json& run : slow_runs["runs"]) {
    EXPECT_EQ(matcher_->cancel_run(run["id"].get<std::string>())["state"], "cancelled");
  }
  const auto started = std::chrono::steady_clock::now();
  const json records = running.get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  ASSERT_EQ(records.size(), 4U);
  int cancelled = 0;
  for (const json& record : records) {
    cancelled += record["kind"] == "run_cancelled" ? 1 : 0;
  }
  EXPECT_EQ(cancelled, 2);
  // Filters and pages.
  query.state = "cancelled";
  query.limit = 1;
  const json first = matcher_->runs(query);
  ASSERT_EQ(first["runs"].size(), 1U);
  ASSERT_TRUE(first["next"].is_string());
  query.token = first["next"];
  const json second = matcher_->runs(query);
  ASSERT_EQ(second["runs"].size(), 1U);
  EXPECT_NE(second["runs"][0]["id"], first["runs"][0]["id"]);
  EXPECT_TRUE(second["next"].is_null());
  RunQuery quick_runs;
  quick_runs.model = quick;
  quick_runs.state = "succeeded";
  EXPECT_EQ(matcher_->runs(quick_runs)["runs"].size(), 2U);
  quick_runs.state = "finished";
  expect_error([&] { matcher_->runs(quick_runs); }, ErrorCode::kInvalidInput, "unknown run state 'finished'");
  quick_runs.state.clear();
  quick_runs.token = "run-missing";
  expect_error([&] { matcher_->runs(quick_runs); }, ErrorCode::kInvalidInput, "token 'run-missing'");
}

// The command template executor drives a batch scheduler through its
// submit/status/cancel commands (tests/scheduler/fake_scheduler.py, which runs
// jobs detached and reports them queued first).
TEST_P(MatchingBackend, CommandExecutorDrivesABatchScheduler) {
  const std::string scheduler = std::string(TESSERA_SOURCE_DIR) + "/tests/scheduler/fake_scheduler.py";
  const std::string state = (scratch_.path() / "scheduler").string();
  tessera::CommandExecutorOptions commands = tessera::CommandExecutorOptions::from_json(
      {{"submit", {"python3", scheduler, state, "submit", "/usr/bin/env", "QUEUE={executor.queue}", "{command}"}},
       {"status", {"python3", scheduler, state, "status", "{job}"}},
       {"cancel", {"python3", scheduler, state, "cancel", "{job}"}}});
  json batch = make_model("batch", {"/bin/sh", "-c", "echo queue $QUEUE item $(basename $0)"});
  batch["executor"] = {{"queue", "gpu"}};
  json slow = make_model("slow", {"/bin/sh", "-c", "echo begun; sleep 30"});
  slow["executor"] = {{"queue", "cpu"}};
  const std::string quick = matcher_->add_model(batch);
  const std::string sleeper = matcher_->add_model(slow);
  matcher_->add_aoi(make_aoi(quick, square(0, 0, 10)));
  matcher_->add_aoi(make_aoi(sleeper, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  RunnerOptions runner_options;
  runner_options.poll_seconds = 0.02;
  runner_options.work_dir = (scratch_.path() / "work").string();
  auto executor = std::make_shared<tessera::CommandExecutor>(commands);
  auto running =
      std::async(std::launch::async, [&] { return Runner(*matcher_, runner_options, executor).run_pending(); });
  RunQuery slow_runs;
  slow_runs.model = sleeper;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const json page = matcher_->runs(slow_runs);
    if (!page["runs"].empty() && page["runs"][0]["state"] == "running") {
      matcher_->cancel_run(page["runs"][0]["id"].get<std::string>());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const json records = running.get();
  ASSERT_EQ(records.size(), 2U);
  std::map<std::string, json> by_model;
  for (const json& record : records) {
    by_model[record["model"]] = record;
  }
  EXPECT_EQ(by_model[quick]["kind"], "run_succeeded") << by_model[quick].dump();
  EXPECT_EQ(by_model[quick]["log"], "queue gpu item item.json\n");
  EXPECT_EQ(by_model[quick]["job"].get<std::string>().rfind("job-", 0), 0U);
  const auto quick_events = kinds(pending(quick));
  EXPECT_EQ(quick_events.front(), "run_submitted");
  EXPECT_EQ(quick_events.back(), "run_succeeded");
  EXPECT_EQ(by_model[sleeper]["kind"], "run_cancelled") << by_model[sleeper].dump();
  // The scheduler was told: the job is marked cancelled.
  const std::string job = by_model[sleeper]["job"];
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(state) / job / "cancelled"));
  // Bad templates and settings are named.
  expect_error(
      [] {
        tessera::CommandExecutorOptions::from_json({{"submit", {"x"}}, {"status", {"y"}}});
      },
      ErrorCode::kInvalidInput, "cancel: required");
  expect_error(
      [] {
        tessera::CommandExecutorOptions::from_json({{"submit", json::array()}});
      },
      ErrorCode::kInvalidInput, "submit: must be a non-empty array of strings");
}

// Retention deletes what is done with and older than the age: acknowledged
// events, ended runs and their logs; never a pending event or a live run.
TEST_P(MatchingBackend, RetentionPrunesOnlyWhatIsDone) {
  const std::string done = matcher_->add_model(make_model("done", {"/bin/sh", "-c", "echo finished"}));
  const std::string waiting = matcher_->add_model(make_model("waiting"));
  matcher_->add_aoi(make_aoi(done, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("a", "imagery", 1, 1)}, options).loaded, 1U);
  RunnerOptions runner_options;
  runner_options.poll_seconds = 0.01;
  const json records = Runner(*matcher_, runner_options).run_pending();
  ASSERT_EQ(records.size(), 1U);
  const std::string ended = records[0]["id"];
  // Then a request nobody ran yet, and a run still going (submitted).
  matcher_->add_aoi(make_aoi(waiting, square(0, 0, 10)));
  ASSERT_EQ(catalog_->load({make_imagery("b", "imagery", 1, 1)}, options).loaded, 1U);
  EventQuery claim;
  claim.kind = "run_requested";
  claim.model = done;
  claim.claim = true;
  const auto claimed = matcher_->events(claim);
  ASSERT_EQ(claimed.size(), 1U);
  const std::string live = matcher_->open_run(claimed[0])["id"];
  ASSERT_TRUE(matcher_->transition_run(live, RunState::kSubmitted, {{"job", "j"}}));
  // Nothing of this test is 30 days old (the PgSTAC database holds other tests' rows too).
  EXPECT_EQ(matcher_->prune(Matcher::kDefaultRetention)["runs"], 0);
  EXPECT_EQ(matcher_->get_run(ended)["state"], "succeeded");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const json pruned = matcher_->prune(std::chrono::seconds(0));
  EXPECT_GE(pruned["events"], 1) << pruned.dump();  // the acknowledged request of the ended run, at least
  EXPECT_GE(pruned["runs"], 1);
  EXPECT_GE(pruned["run_logs"], 1);
  expect_error([&] { matcher_->get_run(ended); }, ErrorCode::kNotFound, "not found");
  EXPECT_EQ(matcher_->get_run(live)["state"], "submitted");
  // The waiting model's request and the live run's, unacknowledged, stay.
  EventQuery requests;
  requests.kind = "run_requested";
  requests.model = waiting;
  EXPECT_EQ(matcher_->events(requests).size(), 1U);
  requests.model = done;
  EXPECT_EQ(matcher_->events(requests).size(), 1U);
  expect_error([&] { matcher_->prune(std::chrono::seconds(-1)); }, ErrorCode::kInvalidInput, "must not be negative");
}

// Subscribers have cursors and acknowledgements of their own: two
// subscribers both receive every event; what one does not acknowledge in
// time comes back to it alone; replay delivers again; retention keeps what a
// subscriber has not acknowledged.
TEST_P(MatchingBackend, SubscribersEachReceiveEveryEvent) {
  const std::string model = matcher_->add_model(make_model("watched"));
  const std::string other = matcher_->add_model(make_model("other"));
  const json everything = matcher_->add_subscription({{"id", "all"}, {"visibility_timeout", 0.05}});
  const json watcher = matcher_->add_subscription({{"model", model}});
  EXPECT_EQ(watcher["visibility_timeout"], 300);
  const auto first = matcher_->emit("run_requested", model, {{"n", 1}});
  matcher_->emit("run_requested", other, {{"n", 2}});
  matcher_->emit("something_else", model, {{"n", 3}});  // not a matching event
  const auto ids = [](const std::vector<MatchEvent>& events) {
    std::vector<std::int64_t> out;
    for (const auto& event : events) {
      out.push_back(event.id);
    }
    return out;
  };
  const auto all = matcher_->receive("all");
  ASSERT_EQ(all.size(), 2U);
  const auto watched = matcher_->receive(watcher["id"].get<std::string>());
  EXPECT_EQ(ids(watched), std::vector<std::int64_t>{first});
  // Leased: nothing more now for either.
  EXPECT_TRUE(matcher_->receive(watcher["id"].get<std::string>()).empty());
  EXPECT_TRUE(matcher_->receive("all").empty());
  matcher_->acknowledge("all", all[0].id);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  // The unacknowledged one comes back after the visibility timeout, counted.
  const auto again = matcher_->receive("all");
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].id, all[1].id);
  EXPECT_EQ(again[0].deliveries, 2);
  matcher_->acknowledge("all", again[0].id);
  matcher_->acknowledge("all", again[0].id);  // twice is harmless
  expect_error([&] { matcher_->acknowledge("all", 999999); }, ErrorCode::kNotFound, "never delivered");
  // Replay: from the first event on, again.
  matcher_->replay("all", first);
  EXPECT_EQ(ids(matcher_->receive("all")), ids(all));
  // A subscriber that joined later starts after what was there; from_start takes it all.
  EXPECT_TRUE(matcher_->receive(matcher_->add_subscription({{"id", "late"}})["id"].get<std::string>()).empty());
  EXPECT_GE(
      matcher_->receive(matcher_->add_subscription({{"id", "early"}, {"from_start", true}})["id"].get<std::string>())
          .size(),
      2U);  // the PgSTAC database holds other tests' events too
  // Retention keeps events a subscriber still holds unacknowledged, even when acknowledged globally.
  matcher_->ack(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(matcher_->prune(std::chrono::seconds(0))["events"], 0);
  expect_error([&] { matcher_->add_subscription({{"id", "all"}}); }, ErrorCode::kConflict, "already exists");
  expect_error([&] { matcher_->add_subscription({{"model", "nobody"}}); }, ErrorCode::kNotFound, "nobody");
  expect_error(
      [&] {
        matcher_->add_subscription({{"visibility_timeout", -1}});
      },
      ErrorCode::kInvalidInput, "visibility_timeout");
  EXPECT_EQ(matcher_->subscriptions().size(), 4U);
  matcher_->delete_subscription("late");
  expect_error([&] { matcher_->receive("late"); }, ErrorCode::kNotFound, "subscription 'late' not found");
}

TEST_P(MatchingBackend, RunnerModelEnvironmentIsValidated) {
  json definition = make_model("bad-env");
  definition["env"] = {{"1BAD", "x"}};
  EXPECT_THROW(matcher_->add_model(definition), Error);
  definition["env"] = {{"GOOD", 5}};
  EXPECT_THROW(matcher_->add_model(definition), Error);
  definition["env"] = json::object();
  definition["inherit_env"] = {"A=B"};
  EXPECT_THROW(matcher_->add_model(definition), Error);
}

// What a run starts dies with it: a background child does not outlive the
// run, and does not hold the runner until the timeout.
TEST_P(MatchingBackend, RunnerKillsTheRunsProcessGroup) {
  const std::filesystem::path late = scratch_.path() / "late";
  const std::string model = matcher_->add_model(
      make_model("spawner", {"/bin/sh", "-c", "(sleep 1; echo late > '" + late.string() + "') & echo started"}));
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, options).loaded, 1U);
  const auto started = std::chrono::steady_clock::now();
  const json record = run_one(*matcher_, scratch_.path() / "work");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
  EXPECT_EQ(record["kind"], "run_succeeded") << record.dump();
  EXPECT_EQ(record["log"], "started\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(std::filesystem::exists(late));
}

// An href that could be read as an option, or that the href policy refuses,
// never becomes an argument: the model gets the item's JSON file instead.
TEST_P(MatchingBackend, RunnerPassesOnlyAllowedHrefs) {
  const std::string model = matcher_->add_model(make_model("args", {"/bin/sh", "-c", "basename -- \"$0\""}));
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  for (const std::string& href : {std::string("--output=/tmp/x"), std::string("https://not-allowed.example/item.json"),
                                  std::string("/vsicurl/https://x/y")}) {
    json item = make_imagery("scene-" + std::to_string(href.size()), "imagery", 1, 1);
    item["links"] = {{{"rel", "self"}, {"href", href}}};
    ASSERT_EQ(catalog_->load({item}, options).loaded, 1U) << href;
    const json record = run_one(*matcher_, scratch_.path() / "work");
    EXPECT_EQ(record["log"], "item.json\n") << href << ": " << record.dump();
  }
}

// A model's concurrency holds across runners that share only the catalog
// (two handles, as two processes would have): runs of a concurrency-1 model
// never overlap, and every request runs exactly once.
TEST_P(MatchingBackend, ModelConcurrencyHoldsAcrossRunners) {
  const std::filesystem::path log = scratch_.path() / "intervals.log";
  const std::string model =
      matcher_->add_model(make_model("serial", {"/bin/sh", "-c",
                                                "echo start $(date +%s%N) >> '" + log.string() +
                                                    "'; sleep 0.2; echo end $(date +%s%N) >> '" + log.string() + "'"}));
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  LoadOptions options;
  options.outbox = matcher_->outbox_hook();
  std::vector<json> items;
  for (int n = 0; n < 4; ++n) {
    items.push_back(make_imagery("scene-" + std::to_string(n), "imagery", 1, 1));
  }
  ASSERT_EQ(catalog_->load(items, options).loaded, 4U);
  auto other_catalog = GetParam().name == "pgstac"
                           ? Catalog::open(tessera::testing::pgstac_test_url())
                           : Catalog::open("sqlite://" + (scratch_.path() / "catalog.db").string());
  Matcher other(*other_catalog);
  RunnerOptions runner_options;
  runner_options.work_dir = (scratch_.path() / "work").string();
  auto first = std::async(std::launch::async, [&] { return Runner(*matcher_, runner_options).run_pending(); });
  auto second = std::async(std::launch::async, [&] { return Runner(other, runner_options).run_pending(); });
  const json a = first.get();
  const json b = second.get();
  std::set<std::int64_t> requests;
  for (const json& records : {a, b}) {
    for (const json& record : records) {
      EXPECT_EQ(record["kind"], "run_succeeded") << record.dump();
      EXPECT_TRUE(requests.insert(record["request"].get<std::int64_t>()).second) << "ran twice: " << record.dump();
    }
  }
  EXPECT_EQ(requests.size(), 4U);
  // Starts and ends alternate: never two runs at once.
  std::istringstream lines(read_text(log));
  std::vector<std::pair<long long, std::string>> marks;
  std::string kind;
  long long at = 0;
  while (lines >> kind >> at) {
    marks.emplace_back(at, kind);
  }
  std::sort(marks.begin(), marks.end());
  ASSERT_EQ(marks.size(), 8U);
  for (std::size_t n = 0; n < marks.size(); ++n) {
    EXPECT_EQ(marks[n].second, n % 2 == 0 ? "start" : "end") << n;
  }
}

json label_item(const std::string& id, double water, double land) {
  json item = make_imagery(id, "ignored", 1, 1);
  item["properties"] = {{"datetime", "2024-05-02T00:00:00Z"},
                        {"label:properties", {"class"}},
                        {"label:description", "water mask"},
                        {"label:type", "vector"},
                        {"label:tasks", {"segmentation"}},
                        {"label:classes", {{{"name", "class"}, {"classes", {"water", "land"}}}}},
                        {"label:overviews",
                         {{{"property_key", "class"},
                           {"counts", {{{"name", "water"}, {"count", water}}, {{"name", "land"}, {"count", land}}}}}}}};
  item["links"] = {{{"rel", "source"}, {"href", "https://example.com/imagery/scene.json"}}};
  item["assets"] = {{"labels", {{"href", "s3://results/" + id + ".geojson"}}}};
  return item;
}

TEST_P(MatchingBackend, PredictionsAreStoredAndSummarised) {
  const std::string model = matcher_->add_model(make_model("segmenter"));
  const std::string aoi = matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));
  const std::string second_aoi = matcher_->add_aoi(make_aoi(model, square(20, 0, 10)));
  matcher_->add_prediction(model, aoi, label_item("p1", 10, 90));
  matcher_->add_prediction(model, aoi, label_item("p2", 5, 5));
  matcher_->add_prediction(model, second_aoi, label_item("p3", 1, 0));
  const json stored = catalog_->get_item(model + "-predictions", "p2");
  EXPECT_EQ(stored["properties"]["label:type"], "vector");
  const json summary = matcher_->summary(model);
  EXPECT_EQ(summary["predictions"], 3);
  EXPECT_EQ(summary["latest"]["item"], "p3");
  EXPECT_EQ(summary["by_aoi"][aoi]["predictions"], 2);
  EXPECT_EQ(summary["by_aoi"][aoi]["classes"]["water"], 15.0);
  EXPECT_EQ(summary["classes"]["land"], 95.0);
  EXPECT_EQ(summary["by_aoi"][second_aoi]["latest"]["uri"], "s3://results/p3.geojson");
  EXPECT_EQ(matcher_->summary(model, "2999-01-01T00:00:00Z")["predictions"], 0);
  const auto events = pending(model);
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].kind, "prediction_received");
  // Label items missing required fields name the field.
  json missing = label_item("bad", 1, 1);
  missing["properties"].erase("label:description");
  expect_error([&] { matcher_->add_prediction(model, aoi, missing); }, ErrorCode::kInvalidInput,
               "label item 'bad': properties.label:description: required");
  missing = label_item("bad", 1, 1);
  missing["properties"].erase("label:classes");
  expect_error([&] { matcher_->add_prediction(model, aoi, missing); }, ErrorCode::kInvalidInput,
               "properties.label:classes: required");
  missing = label_item("bad", 1, 1);
  missing["properties"]["label:type"] = "tile";
  expect_error([&] { matcher_->add_prediction(model, aoi, missing); }, ErrorCode::kInvalidInput, "label:type");
  missing = label_item("bad", 1, 1);
  missing["links"] = json::array();
  expect_error([&] { matcher_->add_prediction(model, aoi, missing); }, ErrorCode::kInvalidInput,
               "links: a link with rel \"source\"");
  expect_error([&] { matcher_->add_prediction(model, "nope", label_item("x", 1, 1)); }, ErrorCode::kNotFound,
               "aoi 'nope'");
}

INSTANTIATE_TEST_SUITE_P(Backends, MatchingBackend, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& test) { return test.param.name; });

}  // namespace
