// Packaging: raster and vector clips, dataset definitions, sketches, package
// jobs (layout, hashes, status, locks, plugins), and the C ABI. The agreement with gdalwarp,
// frictionless validation and S3 are covered by tests/python/test_packaging.py.
#include <atomic>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gdal_priv.h>
#include <future>

#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <sqlite3.h>

#include <tessera/tessera.h>

#include "tessera/packaging.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::ErrorCode;
using tessera::Geometry;
using tessera::testing::expect_error;
using tessera::testing::TempDir;

namespace {

constexpr int kWidth = 120;
constexpr int kHeight = 100;

// A uint16 raster in EPSG:4326 from (10, 46) with 0.01° pixels; value = row * width + col + 1, nodata 0.
fs::path make_raster(const fs::path& path) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDatasetUniquePtr dataset(driver->Create(path.c_str(), kWidth, kHeight, 1, GDT_UInt16, nullptr));
  double transform[6] = {10.0, 0.01, 0, 46.0, 0, -0.01};
  dataset->SetGeoTransform(transform);
  OGRSpatialReference crs;
  crs.importFromEPSG(4326);
  dataset->SetSpatialRef(&crs);
  std::vector<std::uint16_t> values(static_cast<std::size_t>(kWidth) * kHeight);
  for (std::size_t n = 0; n < values.size(); ++n) {
    values[n] = static_cast<std::uint16_t>(n + 1);
  }
  dataset->GetRasterBand(1)->SetNoDataValue(0);
  EXPECT_EQ(dataset->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, kWidth, kHeight, values.data(), kWidth, kHeight,
                                                GDT_UInt16, 0, 0),
            CE_None);
  return path;
}

struct Raster {
  int width = 0;
  int height = 0;
  double transform[6] = {};
  std::vector<std::uint16_t> values;
};

Raster read_raster(const fs::path& path) {
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
  Raster raster;
  raster.width = dataset->GetRasterXSize();
  raster.height = dataset->GetRasterYSize();
  dataset->GetGeoTransform(raster.transform);
  raster.values.resize(static_cast<std::size_t>(raster.width) * raster.height);
  EXPECT_EQ(dataset->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, raster.width, raster.height, raster.values.data(),
                                                raster.width, raster.height, GDT_UInt16, 0, 0),
            CE_None);
  return raster;
}

Geometry polygon(const std::string& wkt) { return Geometry::from_wkt(wkt); }

// A triangle with a hole, corners off the pixel grid.
const char* const kTriangle =
    "POLYGON ((10.103 45.897, 10.657 45.803, 10.301 45.412, 10.103 45.897),"
    "(10.3 45.8, 10.4 45.8, 10.35 45.7, 10.3 45.8))";

}  // namespace

TEST(ClipRaster, KeepsExactlyThePixelsWhoseCentresAreInside) {
  TempDir dir;
  const auto source = make_raster(dir.path() / "src.tif");
  const Geometry boundary = polygon(kTriangle);
  const auto result = tessera::clip_raster(source.string(), boundary, (dir.path() / "clip.tif").string());
  const Raster clip = read_raster(dir.path() / "clip.tif");
  // The window of the boundary's extent in the source grid: columns 10..65, rows 10..58.
  EXPECT_EQ(clip.width, 56);
  EXPECT_EQ(clip.height, 49);
  EXPECT_EQ(result.width, clip.width);
  EXPECT_DOUBLE_EQ(clip.transform[0], 10.10);
  EXPECT_DOUBLE_EQ(clip.transform[3], 45.90);
  EXPECT_EQ(result.crs, "EPSG:4326");
  std::size_t inside = 0;
  for (int row = 0; row < clip.height; ++row) {
    for (int col = 0; col < clip.width; ++col) {
      const double x = clip.transform[0] + (col + 0.5) * 0.01;
      const double y = clip.transform[3] - (row + 0.5) * 0.01;
      const bool centre_inside = boundary.contains(Geometry::from_wkt(fmt::format("POINT ({} {})", x, y)));
      const auto value = clip.values[static_cast<std::size_t>(row) * clip.width + col];
      const auto source_value = static_cast<std::uint16_t>((row + 10) * kWidth + col + 10 + 1);
      ASSERT_EQ(value, centre_inside ? source_value : 0) << "row " << row << " col " << col;
      inside += centre_inside ? 1 : 0;
    }
  }
  EXPECT_GT(inside, 500u);
}

TEST(ClipRaster, AllTouchedKeepsMorePixelsAndEmptyIntersectionIsNoData) {
  TempDir dir;
  const auto source = make_raster(dir.path() / "src.tif");
  tessera::ClipOptions touched;
  touched.all_touched = true;
  tessera::clip_raster(source.string(), polygon(kTriangle), (dir.path() / "centres.tif").string());
  tessera::clip_raster(source.string(), polygon(kTriangle), (dir.path() / "touched.tif").string(), touched);
  auto count = [](const Raster& raster) {
    return std::count_if(raster.values.begin(), raster.values.end(), [](std::uint16_t v) { return v != 0; });
  };
  EXPECT_GT(count(read_raster(dir.path() / "touched.tif")), count(read_raster(dir.path() / "centres.tif")));

  expect_error(
      [&] {
        tessera::clip_raster(source.string(), polygon("POLYGON ((0 0, 1 0, 1 1, 0 0))"),
                             (dir.path() / "none.tif").string());
      },
      ErrorCode::kNotFound, "no data for this boundary");
  // A sliver between pixel centres touches the window but covers no centre.
  expect_error(
      [&] {
        tessera::clip_raster(source.string(),
                             polygon("POLYGON ((10.001 45.999, 10.004 45.999, "
                                     "10.004 45.996, 10.001 45.999))"),
                             (dir.path() / "none.tif").string());
      },
      ErrorCode::kNotFound, "no data for this boundary");
  EXPECT_FALSE(fs::exists(dir.path() / "none.tif"));
  expect_error(
      [&] {
        tessera::clip_raster((dir.path() / "missing.tif").string(), polygon(kTriangle),
                             (dir.path() / "x.tif").string());
      },
      ErrorCode::kInvalidInput, "not a raster");
}

TEST(ClipVector, CutsCrossingFeaturesAndKeepsAttributes) {
  TempDir dir;
  const json features = {{"type", "FeatureCollection"},
                         {"features",
                          {{{"type", "Feature"},
                            {"properties", {{"name", "in"}}},
                            {"geometry", Geometry::from_wkt("POLYGON ((1 1, 2 1, 2 2, 1 2, 1 1))").to_geojson()}},
                           {{"type", "Feature"},
                            {"properties", {{"name", "cut"}}},
                            {"geometry", Geometry::from_wkt("LINESTRING (3 3, 5 3)").to_geojson()}},
                           {{"type", "Feature"},
                            {"properties", {{"name", "out"}}},
                            {"geometry", Geometry::from_wkt("POINT (9 9)").to_geojson()}}}}};
  std::ofstream(dir.path() / "in.geojson") << features.dump();
  const auto result =
      tessera::clip_vector((dir.path() / "in.geojson").string(), polygon("POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))"),
                           (dir.path() / "out.geojson").string());
  EXPECT_EQ(result.features, 2u);
  std::ifstream input(dir.path() / "out.geojson");
  const json written = json::parse(input);
  ASSERT_EQ(written["features"].size(), 2u);
  EXPECT_EQ(written["features"][0]["properties"]["name"], "in");
  EXPECT_EQ(written["features"][1]["properties"]["name"], "cut");
  EXPECT_TRUE(Geometry::from_geojson(written["features"][1]["geometry"])
                  .equals(Geometry::from_wkt("MULTILINESTRING ((3 3, 4 3))")));
  EXPECT_EQ(result.bbox.maxx, 4.0);
}

TEST(DatasetDefinition, ErrorsNameTheField) {
  const json good = {{"name", "roads"}, {"version", "2024"}, {"sources", {"/data/roads.gpkg"}}, {"type", "vector"}};
  const auto parsed = tessera::DatasetDefinition::from_json(good);
  EXPECT_EQ(parsed.format, "GPKG");
  EXPECT_EQ(parsed.processor, "vector");
  auto with = [&](const char* field, json value) {
    json changed = good;
    changed[field] = std::move(value);
    return changed;
  };
  expect_error([&] { tessera::DatasetDefinition::from_json(with("name", "Roads!"), "datasets[3]"); },
               ErrorCode::kInvalidInput, "datasets[3].name: 'Roads!'");
  expect_error([&] { tessera::DatasetDefinition::from_json(with("format", "COG"), "d"); }, ErrorCode::kInvalidInput,
               "d.format: 'COG' is not an output format for vector datasets");
  expect_error([&] { tessera::DatasetDefinition::from_json(with("sources", json::array()), "d"); },
               ErrorCode::kInvalidInput, "d.sources: required");
  expect_error([&] { tessera::DatasetDefinition::from_json(with("licence", "x"), "d"); }, ErrorCode::kInvalidInput,
               "d.licence: unknown field");
  expect_error(
      [&] {
        tessera::DatasetDefinition::from_json(with("license", {{"title", "no name"}}), "d");
      },
      ErrorCode::kInvalidInput, "d.license: expected an object with a name or path");
}

// Fuzz finding (fuzz_dataset_definition): a definition without a license
// wrote "license": {} in to_json(), which from_json() rejects, so the document
// a processor is handed did not read back.
TEST(DatasetDefinition, ToJsonReadsBackWithoutALicense) {
  const json input = json::parse(R"({"name":"roads","version":"2024","sources":["/data/roads.gpkg"],"type":"vector"})");
  const json written = tessera::DatasetDefinition::from_json(input).to_json();
  EXPECT_FALSE(written.contains("license"));
  const auto reread = tessera::DatasetDefinition::from_json(written);
  EXPECT_EQ(reread.to_json(), written);

  json licensed = input;
  licensed["license"] = {{"name", "CC0-1.0"}};
  EXPECT_EQ(tessera::DatasetDefinition::from_json(licensed).to_json()["license"], licensed["license"]);
}

TEST(Sketch, ValidatesClipsAndCaches) {
  TempDir dir;
  const json bowtie = json::parse(R"({"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]})");
  expect_error([&] { tessera::preprocess_sketch(bowtie); }, ErrorCode::kInvalidInput, "Self-intersection at (1, 1)");
  expect_error([&] { tessera::preprocess_sketch(json::parse(R"({"type":"Point","coordinates":[0,0]})")); },
               ErrorCode::kInvalidInput, "got Point");
  auto storage = tessera::Storage::open(dir.path().string());
  tessera::SketchOptions options;
  options.clip_to = Geometry::from_wkt("POLYGON ((0.5 0, 2 0, 2 1, 0.5 1, 0.5 0))").to_geojson();
  options.cache = storage.get();
  const json sketch = Geometry::from_wkt("POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))").to_geojson();
  const json first = tessera::preprocess_sketch(sketch, options);
  EXPECT_FALSE(first["cached"].get<bool>());
  EXPECT_NEAR(Geometry::from_geojson(first["geometry"]).area(), 0.5, 1e-12);
  const json second = tessera::preprocess_sketch(sketch, options);
  EXPECT_TRUE(second["cached"].get<bool>());
  EXPECT_EQ(second["key"], first["key"]);
  options.clip_to = Geometry::from_wkt("POLYGON ((5 5, 6 5, 6 6, 5 5))").to_geojson();
  expect_error([&] { tessera::preprocess_sketch(sketch, options); }, ErrorCode::kInvalidInput, "outside of boundary");
}

namespace {

// Writes a text file after a pause, counting its calls, to observe locking.
class SlowTextProcessor final : public tessera::Processor {
 public:
  std::vector<tessera::ProcessedFile> process(const tessera::ProcessorContext& context) override {
    ++calls;
    std::this_thread::sleep_for(pause);
    std::ofstream(context.output_dir / "note.txt") << context.boundary.name << "\n";
    return {{"note.txt", "txt", "text/plain", "", std::nullopt}};
  }
  std::atomic<int> calls{0};
  std::chrono::milliseconds pause{500};
};

fs::path write_boundaries(const fs::path& dir) {
  const json collection = {{"type", "FeatureCollection"},
                           {"features",
                            {{{"type", "Feature"},
                              {"properties", {{"admin", "Lake District"}}},
                              {"geometry", Geometry::from_wkt(kTriangle).to_geojson()}}}}};
  std::ofstream(dir / "boundaries.geojson") << collection.dump();
  return dir / "boundaries.geojson";
}

// The boundaries of write_boundaries() loaded with their "admin" names.
json add_lake_district(tessera::Packager& packager, const fs::path& dir) {
  tessera::BoundaryLoadOptions load;
  load.name_field = "admin";
  return packager.add_boundaries(write_boundaries(dir).string(), load);
}

// One licensed raster dataset, "heights" version 1.0, read from `raster`.
json heights_dataset(const fs::path& raster) {
  return {{{"name", "heights"},
           {"version", "1.0"},
           {"license", {{"name", "CC0-1.0"}}},
           {"sources", {raster.string()}},
           {"type", "raster"}}};
}

}  // namespace

TEST(Packager, BuildsThePackageLayoutWithHashesAndStatus) {
  TempDir dir;
  const auto raster = make_raster(dir.path() / "src.tif");
  auto storage = tessera::Storage::open((dir.path() / "out").string());
  tessera::Packager packager(*storage);
  const json added = add_lake_district(packager, dir.path());
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0]["id"], "lake-district");
  const json datasets = heights_dataset(raster);
  tessera::BuildOptions options;
  options.job_id = "job-a";
  std::vector<double> percents;
  options.progress = [&](double percent, const std::string&) { percents.push_back(percent); };
  const json package = packager.build("Lake District", datasets, options);
  EXPECT_EQ(package["name"], "lake-district");
  ASSERT_EQ(package["resources"].size(), 1u);
  const json& resource = package["resources"][0];
  EXPECT_EQ(resource["path"], "datasets/heights/1.0/heights.tif");
  EXPECT_EQ(resource["bytes"].get<std::uint64_t>(),
            storage->stat("lake-district/datasets/heights/1.0/heights.tif").size);
  EXPECT_EQ(resource["hash"].get<std::string>().size(), 7u + 64u);
  EXPECT_TRUE(storage->exists("lake-district/datapackage.json"));
  EXPECT_TRUE(storage->exists("lake-district/provenance.json"));
  EXPECT_EQ(json::parse(storage->get("lake-district/datapackage.json")), package);
  EXPECT_FALSE(percents.empty());
  EXPECT_EQ(percents.back(), 100.0);
  const json status = packager.job_status("job-a");
  EXPECT_EQ(status["status"], "completed");
  EXPECT_EQ(status["datasets"][0]["status"], "completed");

  // A re-run finds everything published and rewrites nothing.
  const auto modified = [&](const std::string& key) { return storage->stat(key).modified_unix_ms; };
  const auto package_written = modified("lake-district/datapackage.json");
  const auto provenance_written = modified("lake-district/provenance.json");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  tessera::BuildOptions again;
  again.job_id = "job-again";
  EXPECT_EQ(packager.build("Lake District", datasets, again), package);
  EXPECT_EQ(packager.job_status("job-again")["datasets"][0]["status"], "skipped");
  EXPECT_EQ(modified("lake-district/datapackage.json"), package_written);
  EXPECT_EQ(modified("lake-district/provenance.json"), provenance_written);
  expect_error([&] { packager.job_status("missing"); }, ErrorCode::kNotFound, "job 'missing'");
  expect_error([&] { packager.build("Nowhere", datasets); }, ErrorCode::kNotFound, "boundary 'Nowhere'");
}

// A source href carrying a secret (a token in its path, as signed URLs do)
// is published redacted: neither provenance.json, datapackage.json nor the
// job record shows it.
TEST(Packager, PublishedRecordsCarryNoSecrets) {
  TempDir dir;
  const std::string secret = "fake-secret-token-4f8e2a";
  tessera::testing::ScopedEnv token("TESSERA_FAKE_TOKEN", secret);
  fs::create_directories(dir.path() / secret);
  const auto raster = make_raster(dir.path() / secret / "src.tif");
  auto storage = tessera::Storage::open((dir.path() / "out").string());
  tessera::Packager packager(*storage);
  add_lake_district(packager, dir.path());
  const json datasets = heights_dataset(raster);
  tessera::BuildOptions options;
  options.job_id = "job-secret";
  packager.build("Lake District", datasets, options);
  for (const std::string key : {"lake-district/provenance.json", "lake-district/datapackage.json"}) {
    const std::string text = storage->get(key);
    EXPECT_EQ(text.find(secret), std::string::npos) << key << ": " << text;
    EXPECT_NE(text.find("***"), std::string::npos) << key;
  }
  EXPECT_EQ(packager.job_status("job-secret").dump().find(secret), std::string::npos);
  // A failing source's error in the job record is redacted too.
  const json missing = {{{"name", "gone"},
                         {"version", "1.0"},
                         {"license", {{"name", "CC0-1.0"}}},
                         {"sources", {(dir.path() / secret / "missing.tif").string()}},
                         {"type", "raster"}}};
  options.job_id = "job-missing";
  EXPECT_THROW(packager.build("Lake District", missing, options), tessera::Error);
  const std::string record = packager.job_status("job-missing").dump();
  EXPECT_EQ(record.find(secret), std::string::npos) << record;
}

// Locks are renewed while a job runs: a job longer than its lock lease is
// never taken for dead; a job whose lock is lost stops with a retryable
// error and publishes nothing.
namespace {

// Waits (up to 20 s) until the catalog's lock table has a row whose name is
// LIKE `pattern`: a job has taken its dataset's lock.
bool wait_for_lock_row(const std::string& catalog_path, const char* pattern) {
  sqlite3* db = nullptr;
  if (sqlite3_open(catalog_path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  sqlite3_busy_timeout(db, 5000);
  bool found = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!found && std::chrono::steady_clock::now() < deadline) {
    // Prepared each time: the lock table exists once a first lock is taken.
    sqlite3_stmt* query = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM tessera_locks WHERE name LIKE ?", -1, &query, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(query, 1, pattern, -1, SQLITE_STATIC);
      found = sqlite3_step(query) == SQLITE_ROW;
    }
    sqlite3_finalize(query);
    if (!found) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  sqlite3_close(db);
  return found;
}

}  // namespace

TEST(Packager, LocksAreRenewedWhileAJobRunsAndALostLockStopsIt) {
  TempDir dir;
  const std::string catalog_path = (dir.path() / "locks.db").string();
  auto catalog = tessera::Catalog::open(catalog_path);
  auto other_catalog = tessera::Catalog::open(catalog_path);
  auto storage = tessera::Storage::open((dir.path() / "out").string());
  auto processor = std::make_shared<SlowTextProcessor>();
  processor->pause = std::chrono::milliseconds(6000);
  tessera::Packager packager(*storage, catalog.get());
  tessera::Packager other(*storage, other_catalog.get());
  for (auto* p : {&packager, &other}) {
    p->register_processor("slow", processor);
    add_lake_district(*p, dir.path());
  }
  const json datasets = {{{"name", "notes"},
                          {"version", "1"},
                          {"license", {{"name", "CC0-1.0"}}},
                          {"sources", {"unused"}},
                          {"type", "raster"},
                          {"processor", "slow"}}};
  tessera::BuildOptions options;
  // A lease of 2 s renewed while the job runs: short enough for the test,
  // long enough that a loaded machine (CI runs tests in parallel) does not
  // starve the renewal past it.
  options.lock_lease = std::chrono::seconds(2);
  auto job = std::async(std::launch::async, [&] { return packager.build("Lake District", datasets, options); });
  tessera::BuildOptions probe = options;
  probe.wait_for_locks = false;
  // Probes start once the job holds its lock (a probe before would take it).
  ASSERT_TRUE(wait_for_lock_row(catalog_path, "%notes/1"));
  // Probes for 1.5 leases (timed, not counted: on a loaded machine each
  // probe is slow), well inside the job's 6 s, so the job still runs.
  const auto probes_end = std::chrono::steady_clock::now() + options.lock_lease * 3 / 2;
  int attempt = 0;
  for (; std::chrono::steady_clock::now() < probes_end; ++attempt) {
    probe.job_id = "probe-" + std::to_string(attempt);
    try {
      other.build("Lake District", datasets, probe);
    } catch (const tessera::Error&) {
    }
    EXPECT_EQ(other.job_status(probe.job_id)["datasets"][0]["status"], "in_progress") << attempt;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_GE(attempt, 2);
  EXPECT_NO_THROW(job.get());
  EXPECT_EQ(processor->calls.load(), 1);

  // The hold is lost mid-job (its row deleted, as a takeover would): the job
  // stops before uploading anything, retryably.
  const json again = {{{"name", "notes"},
                       {"version", "2"},
                       {"license", {{"name", "CC0-1.0"}}},
                       {"sources", {"unused"}},
                       {"type", "raster"},
                       {"processor", "slow"}}};
  options.job_id = "loses-its-lock";
  auto losing = std::async(std::launch::async, [&] { return packager.build("Lake District", again, options); });
  ASSERT_TRUE(wait_for_lock_row(catalog_path, "%notes/2"));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(catalog_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM tessera_locks WHERE name LIKE '%notes/2'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  try {
    losing.get();
    ADD_FAILURE() << "the job went on without its lock";
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kUnavailable) << error.what();
  }
  EXPECT_NE(packager.job_status("loses-its-lock").dump().find("was lost"), std::string::npos)
      << packager.job_status("loses-its-lock").dump();
  EXPECT_FALSE(storage->exists("lake-district/datasets/notes/2/note.txt"));
}

TEST(Packager, ConcurrentJobsForTheSameOutputRunItOnce) {
  TempDir dir;
  auto storage = tessera::Storage::open((dir.path() / "out").string());
  auto processor = std::make_shared<SlowTextProcessor>();
  tessera::Packager first(*storage);
  tessera::Packager second(*storage);
  first.register_processor("note", processor);
  second.register_processor("note", processor);
  add_lake_district(first, dir.path());
  const json datasets = {
      {{"name", "note"}, {"version", "1"}, {"sources", {"-"}}, {"type", "vector"}, {"processor", "note"}}};
  tessera::BuildOptions options_a;
  options_a.job_id = "a";
  tessera::BuildOptions options_b;
  options_b.job_id = "b";
  std::thread other([&] { second.build("lake-district", datasets, options_b); });
  first.build("lake-district", datasets, options_a);
  other.join();
  EXPECT_EQ(processor->calls.load(), 1);
  std::vector<std::string> statuses = {first.job_status("a")["datasets"][0]["status"],
                                       first.job_status("b")["datasets"][0]["status"]};
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<std::string>{"completed", "skipped"}));
  EXPECT_EQ(storage->get("lake-district/datasets/note/1/note.txt"), "Lake District\n");
  expect_error(
      [&] {
        first.build(
            "lake-district",
            json::array(
                {{{"name", "x"}, {"version", "1"}, {"sources", {"-"}}, {"type", "vector"}, {"processor", "nope"}}}));
      },
      ErrorCode::kInvalidInput, "processor 'nope' is not registered");
}

namespace {

std::string take(char* text) {
  std::string copy = text != nullptr ? text : "";
  tsr_free(text);
  return copy;
}

}  // namespace

TEST(PackagingCApi, ClipsSketchesAndPackagerHandle) {
  TempDir dir;
  const auto raster = make_raster(dir.path() / "src.tif");
  const std::string triangle = Geometry::from_wkt(kTriangle).to_geojson().dump();
  const std::string clip = (dir.path() / "clip.tif").string();
  char* result = nullptr;
  ASSERT_EQ(tsr_clip_raster(raster.c_str(), triangle.c_str(), clip.c_str(), "{\"all_touched\": false}", &result),
            TSR_OK)
      << tsr_last_error_message();
  EXPECT_EQ(json::parse(take(result))["width"], 56);
  const std::string far = Geometry::from_wkt("POLYGON ((0 0, 1 0, 1 1, 0 0))").to_geojson().dump();
  EXPECT_EQ(tsr_clip_raster(raster.c_str(), far.c_str(), clip.c_str(), nullptr, &result), TSR_NOT_FOUND);
  EXPECT_NE(std::string(tsr_last_error_message()).find("no data for this boundary"), std::string::npos);
  EXPECT_EQ(tsr_clip_raster(raster.c_str(), triangle.c_str(), clip.c_str(), "{\"all_touch\": true}", &result),
            TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("unknown option 'all_touch'"), std::string::npos);
  EXPECT_EQ(tsr_clip_vector(raster.c_str(), nullptr, clip.c_str(), nullptr, &result), TSR_INVALID_INPUT);

  const char* bowtie = R"({"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]})";
  EXPECT_EQ(tsr_preprocess_sketch(bowtie, nullptr, nullptr, &result), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("Self-intersection at (1, 1)"), std::string::npos);
  const char* square = R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})";
  ASSERT_EQ(tsr_preprocess_sketch(square, R"({"keep_largest": true, "erase": {"type":"Polygon","coordinates":
             [[[0.4,-1],[0.5,-1],[0.5,2],[0.4,2],[0.4,-1]]]}})",
                                  nullptr, &result),
            TSR_OK)
      << tsr_last_error_message();
  EXPECT_NEAR(Geometry::from_geojson(json::parse(take(result))["geometry"]).area(), 0.5, 1e-12);

  tsr_storage storage = nullptr;
  ASSERT_EQ(tsr_storage_open((dir.path() / "out").c_str(), nullptr, &storage), TSR_OK);
  tsr_packager packager = nullptr;
  ASSERT_EQ(tsr_packager_create(storage, nullptr, &packager), TSR_OK);
  ASSERT_EQ(tsr_packager_add_boundaries(packager, write_boundaries(dir.path()).c_str(), R"({"name_field": "admin"})",
                                        &result),
            TSR_OK)
      << tsr_last_error_message();
  EXPECT_EQ(json::parse(take(result))[0]["id"], "lake-district");
  ASSERT_EQ(tsr_packager_boundaries(packager, &result), TSR_OK);
  EXPECT_EQ(json::parse(take(result)).size(), 1u);
  const std::string datasets =
      json::array({{{"name", "heights"}, {"version", "1"}, {"sources", {raster.string()}}, {"type", "raster"}}}).dump();
  int calls = 0;
  auto progress = [](double, const char* step, void* user_data) {
    EXPECT_NE(step, nullptr);
    ++*static_cast<int*>(user_data);
  };
  ASSERT_EQ(tsr_packager_build(packager, "Lake District", datasets.c_str(), R"({"job_id": "c-job"})", progress, &calls,
                               &result),
            TSR_OK)
      << tsr_last_error_message();
  EXPECT_EQ(json::parse(take(result))["resources"][0]["path"], "datasets/heights/1/heights.tif");
  EXPECT_GT(calls, 0);
  ASSERT_EQ(tsr_packager_job_status(packager, "c-job", &result), TSR_OK);
  EXPECT_EQ(json::parse(take(result))["status"], "completed");
  EXPECT_EQ(tsr_packager_job_status(packager, "other", &result), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_packager_build(packager, "Lake District", "[{}]", nullptr, nullptr, nullptr, &result),
            TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("datasets[0].name"), std::string::npos);
  tsr_packager_destroy(&packager);
  EXPECT_EQ(packager, nullptr);
  tsr_packager_destroy(&packager);
  tsr_packager_destroy(nullptr);
  tsr_storage_destroy(&storage);
}
