// The processor registry and package jobs (PackageJobs): submission by
// boundary and processor names, duplicates joining the running job, status
// with per-dataset steps and provenance, the list of recent jobs,
// cancellation (queued and mid-job) and the executor hand-over.
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <tessera/tessera.h>

#include "tessera/packaging.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::testing::TempDir;

namespace {

// A processor that writes two text files and, while its gate is closed,
// waits in process() (so a test can act while a job runs).
class GatedProcessor : public tessera::Processor {
 public:
  std::vector<tessera::ProcessedFile> process(const tessera::ProcessorContext& context) override {
    {
      std::unique_lock lock(mutex_);
      ++entered_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return open_; });
    }
    std::ofstream(context.output_dir / "a.txt") << context.dataset.name << " a\n";
    std::ofstream(context.output_dir / "b.txt") << context.dataset.name << " b\n";
    return {{"a.txt", "txt", "text/plain", "", std::nullopt}, {"b.txt", "txt", "text/plain", "", std::nullopt}};
  }
  void set_open(bool open) {
    const std::lock_guard lock(mutex_);
    open_ = open;
    changed_.notify_all();
  }
  // Waits until process() has been entered `count` times in all.
  void wait_entered(int count) {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_ >= count; }));
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int entered_ = 0;
};

json processors_json() {
  const auto entry = [](const std::string& name, const std::string& version) {
    return json{{"name", name},
                {"version", version},
                {"title", "Notes " + name},
                {"description", "Text notes"},
                {"license", {{"name", "CC0-1.0"}, {"path", "https://creativecommons.org/publicdomain/zero/1.0/"}}},
                {"citation", "Tessera tests (2026)"},
                {"sources", {"-"}},
                {"type", "vector"},
                {"processor", "gated"},
                {"author", "tessera"},
                {"long_title", "Notes for " + name},
                {"summary", "Two text files"},
                {"origin_url", "https://example.org/notes"},
                {"formats", {"txt"}}};
  };
  return json::array({entry("notes", "1"), entry("memos", "2")});
}

struct JobsFixture {
  TempDir dir;
  std::unique_ptr<tessera::Storage> storage = tessera::Storage::open((dir.path() / "out").string());
  std::shared_ptr<GatedProcessor> gated = std::make_shared<GatedProcessor>();
  tessera::Packager packager{*storage};

  JobsFixture() {
    const json collection = {
        {"type", "FeatureCollection"},
        {"features",
         {{{"type", "Feature"},
           {"properties", {{"name", "Lake District"}}},
           {"geometry", {{"type", "Polygon"}, {"coordinates", {{{10, 45}, {11, 45}, {11, 46}, {10, 45}}}}}}}}}};
    std::ofstream(dir.path() / "boundaries.geojson") << collection.dump();
    packager.add_boundaries((dir.path() / "boundaries.geojson").string());
    packager.register_processor("gated", gated);
    packager.add_processors(processors_json());
  }

  json wait_for(tessera::PackageJobs& jobs, const std::string& id, const std::string& status) {
    json record;
    for (int i = 0; i < 600; ++i) {
      record = jobs.status(id);
      if (record["status"] == status) {
        return record;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " never became " << status << ": " << record.dump();
    return record;
  }
};

}  // namespace

TEST(ProcessorRegistry, RegistersFromJsonAndCppWithMetadata) {
  JobsFixture fixture;
  tessera::Packager& packager = fixture.packager;
  const json list = packager.processors();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "memos/2");
  const json& notes = list[1];
  EXPECT_EQ(
      notes,
      (json{{"name", "notes/1"},
            {"dataset", "notes"},
            {"version", "1"},
            {"description", "Text notes"},
            {"author", "tessera"},
            {"title", "Notes notes"},
            {"long_title", "Notes for notes"},
            {"summary", "Two text files"},
            {"citation", "Tessera tests (2026)"},
            {"license",
             {{"name", "CC0-1.0"}, {"title", nullptr}, {"path", "https://creativecommons.org/publicdomain/zero/1.0/"}}},
            {"origin_url", "https://example.org/notes"},
            {"formats", {"txt"}}}));
  EXPECT_EQ(packager.processor("notes", "1").dataset.processor, "gated");

  tessera::RegisteredProcessor cpp;
  cpp.dataset = tessera::DatasetDefinition::from_json(
      {{"name", "heights"}, {"version", "2024"}, {"sources", {"/data/dem.tif"}}, {"type", "raster"}});
  cpp.metadata.author = "someone";
  packager.add_processor(cpp);
  EXPECT_EQ(packager.processor("heights", "2024").metadata_json()["formats"], json::array({"COG"}));
  EXPECT_EQ(packager.processors().size(), 3u);

  expect_error([&] { packager.processor("heights", "1"); }, ErrorCode::kNotFound,
               "processor 'heights/1' is not registered (registered: heights/2024, memos/2, notes/1)");
  json bad = processors_json();
  bad[1]["origin_url"] = "javascript:alert(1)";
  expect_error([&] { packager.add_processors(bad); }, ErrorCode::kInvalidInput,
               "processors[1].origin_url: 'javascript:alert(1)' is not an http(s) URL");
  bad = processors_json();
  bad[0]["colour"] = "red";
  expect_error([&] { packager.add_processors(bad); }, ErrorCode::kInvalidInput, "processors[0].colour: unknown field");
  bad = processors_json();
  bad[1]["formats"] = "txt";
  expect_error([&] { packager.add_processors(bad); }, ErrorCode::kInvalidInput, "processors[1].formats");
  expect_error(
      [&] {
        packager.add_processors(json::array({processors_json()[0], processors_json()[0]}));
      },
      ErrorCode::kInvalidInput, "processors[1]: 'notes/1' is also processors[0]");
  expect_error([&] { packager.processor_definitions({"notes"}); }, ErrorCode::kInvalidInput,
               "processors[0]: 'notes' is not a processor name");
  expect_error(
      [&] {
        packager.processor_definitions({"notes/1", "notes/1"});
      },
      ErrorCode::kInvalidInput, "processors[1]: 'notes/1' is named twice");
}

TEST(PackageJobs, RunsJoinsDuplicatesListsAndRecordsProvenance) {
  JobsFixture fixture;
  tessera::PackageJobs jobs(fixture.packager);
  fixture.gated->set_open(false);
  const json first = jobs.submit("Lake District", {"notes/1", "memos/2"});
  EXPECT_EQ(first["duplicate"], false);
  const std::string id = first["id"];
  fixture.gated->wait_entered(2);  // both datasets, on the job's two threads
  // The same boundary (by id) and processors (in another order) join it.
  const json again = jobs.submit("lake-district", {"memos/2", "notes/1"});
  EXPECT_EQ(again["id"], id);
  EXPECT_EQ(again["duplicate"], true);
  EXPECT_EQ(again["status"], "running");
  const json running = jobs.status(id);
  EXPECT_EQ(running["processors"], json::array({"notes/1", "memos/2"}));
  EXPECT_EQ(running["datasets"][0]["step"], "processing");
  EXPECT_EQ(running["datasets"][1]["step"], "processing");
  fixture.gated->set_open(true);
  const json done = fixture.wait_for(jobs, id, "completed");
  EXPECT_EQ(done["percent"], 100.0);
  for (const auto& dataset : done["datasets"]) {
    EXPECT_EQ(dataset["status"], "completed");
    EXPECT_EQ(dataset["percent"], 100.0);
  }
  ASSERT_EQ(done["provenance"].size(), 2u);
  EXPECT_EQ(done["provenance"][0]["files"].size(), 2u);
  EXPECT_TRUE(fixture.storage->exists("lake-district/datapackage.json"));
  EXPECT_EQ(fixture.storage->get("lake-district/datasets/notes/1/a.txt"), "notes a\n");

  // Finished: the same submission is a new job (which finds the outputs published).
  const json later = jobs.submit("Lake District", {"notes/1", "memos/2"});
  EXPECT_NE(later["id"], id);
  EXPECT_EQ(later["duplicate"], false);
  fixture.wait_for(jobs, later["id"], "completed");
  EXPECT_EQ(jobs.status(later["id"].get<std::string>())["datasets"][0]["status"], "skipped");

  const json listed = jobs.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["id"], later["id"]);  // newest first
  tessera::PackageJobFilter filter;
  filter.status = "running";
  EXPECT_TRUE(jobs.list(filter).empty());
  filter.status = "completed";
  filter.limit = 1;
  EXPECT_EQ(jobs.list(filter).size(), 1u);
  filter = {};
  filter.boundary = "Elsewhere";
  EXPECT_TRUE(jobs.list(filter).empty());
  filter.boundary = "Lake District";
  EXPECT_EQ(jobs.list(filter).size(), 2u);
  filter.status = "done";
  expect_error([&] { jobs.list(filter); }, ErrorCode::kInvalidInput, "status: 'done' is not a job status");

  expect_error([&] { jobs.submit("Nowhere", {"notes/1"}); }, ErrorCode::kNotFound, "boundary 'Nowhere'");
  expect_error([&] { jobs.submit("Lake District", {"notes/9"}); }, ErrorCode::kNotFound, "processor 'notes/9'");
  expect_error([&] { jobs.submit("Lake District", {}); }, ErrorCode::kInvalidInput, "processors: name at least one");
  expect_error([&] { jobs.status("../x"); }, ErrorCode::kNotFound, "job '../x' is not known");
  expect_error([&] { jobs.cancel("nope"); }, ErrorCode::kNotFound, "job 'nope' is not known");
}

TEST(PackageJobs, CancelStopsAtTheNextStepPublishesNothingAndReleasesLocks) {
  JobsFixture fixture;
  tessera::PackageJobOptions options;
  options.workers = 1;
  options.parallelism = 1;
  tessera::PackageJobs jobs(fixture.packager, options);
  fixture.gated->set_open(false);
  const std::string running = jobs.submit("Lake District", {"notes/1", "memos/2"})["id"];
  fixture.gated->wait_entered(1);
  // One worker: this one waits in the queue and is cancelled at once.
  const std::string queued = jobs.submit("Lake District", {"memos/2"})["id"];
  EXPECT_EQ(jobs.status(queued)["status"], "pending");
  const json cancelled_queued = jobs.cancel(queued);
  EXPECT_EQ(cancelled_queued["status"], "cancelled");
  EXPECT_EQ(cancelled_queued["datasets"][0]["status"], "cancelled");

  const json asked = jobs.cancel(running);
  EXPECT_EQ(asked["cancel_requested"], true);
  EXPECT_EQ(asked["status"], "running");
  fixture.gated->set_open(true);  // the processor returns; the job stops before uploading
  const json stopped = fixture.wait_for(jobs, running, "cancelled");
  EXPECT_EQ(stopped["datasets"][0]["status"], "cancelled");
  EXPECT_EQ(stopped["datasets"][1]["status"], "cancelled");
  EXPECT_TRUE(stopped["provenance"].empty());
  // No file, manifest, package, lock or cancel request is left.
  EXPECT_TRUE(fixture.storage->list("lake-district/").empty());
  EXPECT_TRUE(fixture.storage->list(".tessera/locks/").empty());
  EXPECT_TRUE(fixture.storage->list(".tessera/outputs/").empty());
  EXPECT_FALSE(fixture.storage->exists(".tessera/jobs/" + running + ".cancel"));
  // Cancelling a finished job changes nothing.
  EXPECT_EQ(jobs.cancel(running)["status"], "cancelled");
  EXPECT_FALSE(jobs.cancel(running).contains("cancel_requested"));

  // The locks are free: the next job runs at once.
  const std::string next = jobs.submit("Lake District", {"notes/1", "memos/2"})["id"];
  EXPECT_NE(next, running);
  fixture.wait_for(jobs, next, "completed");
  EXPECT_TRUE(fixture.storage->exists("lake-district/datapackage.json"));
}

TEST(PackageJobs, AnExecutorTakesTheJobsInsteadOfThePool) {
  JobsFixture fixture;
  std::vector<json> handed;
  std::vector<std::thread> runs;
  tessera::PackageJobOptions options;
  options.lock_timeout = std::chrono::seconds(5);
  // What a Dask executor does on a worker: build the given datasets under the job's id.
  options.executor = [&](const json& job) {
    handed.push_back(job);
    runs.emplace_back([&fixture, job] {
      tessera::BuildOptions build;
      build.job_id = job["id"];
      try {
        fixture.packager.build(job["boundary"].get<std::string>(), job["datasets"], build);
      } catch (const tessera::Error&) {
      }
    });
  };
  {
    tessera::PackageJobs jobs(fixture.packager, options);
    fixture.gated->set_open(false);
    const json submitted = jobs.submit("Lake District", {"notes/1"});
    fixture.gated->wait_entered(1);
    EXPECT_EQ(jobs.submit("Lake District", {"notes/1"})["id"], submitted["id"]);  // read from the storage
    ASSERT_EQ(handed.size(), 1u);
    EXPECT_EQ(handed[0]["processors"], json::array({"notes/1"}));
    EXPECT_EQ(handed[0]["lock_timeout_ms"], 5000);
    EXPECT_EQ(handed[0]["datasets"][0]["processor"], "gated");
    fixture.gated->set_open(true);
    fixture.wait_for(jobs, submitted["id"], "completed");
  }
  for (auto& run : runs) {
    run.join();
  }
}

namespace {

std::string taken(char* text) {
  std::string copy = text != nullptr ? text : "";
  tsr_free(text);
  return copy;
}

}  // namespace

TEST(PackageJobsCApi, RegistryJobsAndCancel) {
  TempDir dir;
  const json points = {{"type", "FeatureCollection"},
                       {"features",
                        {{{"type", "Feature"},
                          {"properties", {{"id", 1}}},
                          {"geometry", {{"type", "Point"}, {"coordinates", {10.6, 45.2}}}}}}}};
  std::ofstream(dir.path() / "points.geojson") << points.dump();
  const json boundaries = {
      {"type", "FeatureCollection"},
      {"features",
       {{{"type", "Feature"},
         {"properties", {{"name", "Lake District"}}},
         {"geometry", {{"type", "Polygon"}, {"coordinates", {{{10, 45}, {11, 45}, {11, 46}, {10, 45}}}}}}}}}};
  std::ofstream(dir.path() / "boundaries.geojson") << boundaries.dump();
  tsr_storage storage = nullptr;
  ASSERT_EQ(tsr_storage_open((dir.path() / "out").c_str(), nullptr, &storage), TSR_OK);
  tsr_packager packager = nullptr;
  ASSERT_EQ(tsr_packager_create(storage, nullptr, &packager), TSR_OK);
  char* result = nullptr;
  ASSERT_EQ(tsr_packager_add_boundaries(packager, (dir.path() / "boundaries.geojson").c_str(), nullptr, &result),
            TSR_OK)
      << tsr_last_error_message();
  tsr_free(result);
  const std::string entries = json::array({{{"name", "points"},
                                            {"version", "1"},
                                            {"sources", {(dir.path() / "points.geojson").string()}},
                                            {"type", "vector"},
                                            {"format", "GeoJSON"},
                                            {"summary", "One point"}}})
                                  .dump();
  ASSERT_EQ(tsr_packager_add_processors(packager, entries.c_str(), &result), TSR_OK) << tsr_last_error_message();
  EXPECT_EQ(json::parse(taken(result)), json::array({"points/1"}));
  ASSERT_EQ(tsr_packager_processors(packager, &result), TSR_OK);
  EXPECT_EQ(json::parse(taken(result))[0]["summary"], "One point");
  ASSERT_EQ(tsr_packager_processor(packager, "points", "1", &result), TSR_OK);
  EXPECT_EQ(json::parse(taken(result))["formats"], json::array({"GeoJSON"}));
  EXPECT_EQ(tsr_packager_processor(packager, "points", "2", &result), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_packager_add_processors(packager, "[{\"name\": 1}]", &result), TSR_INVALID_INPUT);

  tsr_package_jobs jobs = nullptr;
  EXPECT_EQ(tsr_package_jobs_create(packager, R"({"workers": 0})", &jobs), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_package_jobs_create(packager, R"({"lock_timeout": 5})", &jobs), TSR_INVALID_INPUT);
  ASSERT_EQ(tsr_package_jobs_create(packager, R"({"workers": 1, "lock_timeout_ms": 60000})", &jobs), TSR_OK)
      << tsr_last_error_message();
  ASSERT_EQ(tsr_package_jobs_submit(jobs, "Lake District", R"(["points/1"])", &result), TSR_OK)
      << tsr_last_error_message();
  const std::string id = json::parse(taken(result))["id"];
  json record = json::object();
  for (int i = 0; i < 600 && record.value("status", "") != "completed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(tsr_package_jobs_status(jobs, id.c_str(), &result), TSR_OK);
    record = json::parse(taken(result));
  }
  EXPECT_EQ(record["status"], "completed") << record.dump();
  ASSERT_EQ(tsr_package_jobs_list(jobs, R"({"status": "completed", "limit": 5})", &result), TSR_OK);
  EXPECT_EQ(json::parse(taken(result))[0]["id"], id);
  EXPECT_EQ(tsr_package_jobs_list(jobs, R"({"status": "done"})", &result), TSR_INVALID_INPUT);
  ASSERT_EQ(tsr_package_jobs_cancel(jobs, id.c_str(), &result), TSR_OK);
  EXPECT_EQ(json::parse(taken(result))["status"], "completed");
  ASSERT_EQ(tsr_packager_cancel_job(packager, id.c_str(), &result), TSR_OK);
  EXPECT_FALSE(json::parse(taken(result)).contains("cancel_requested"));
  EXPECT_EQ(tsr_package_jobs_submit(jobs, "Lake District", R"(["points"])", &result), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_package_jobs_submit(jobs, "Lake District", R"([1])", &result), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_package_jobs_submit(jobs, "Nowhere", R"(["points/1"])", &result), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_package_jobs_status(jobs, "nope", &result), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_package_jobs_submit(nullptr, "Lake District", R"(["points/1"])", &result), TSR_INVALID_INPUT);
  tsr_package_jobs_destroy(&jobs);
  EXPECT_EQ(jobs, nullptr);
  tsr_package_jobs_destroy(&jobs);
  tsr_package_jobs_destroy(nullptr);
  tsr_packager_destroy(&packager);
  tsr_storage_destroy(&storage);
}
