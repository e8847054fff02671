// Behaviour specific to the SQLite backend: crash consistency, locking,
// readers during writes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog/deadline.hpp"
#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::TempDir;

namespace {

std::vector<json> numbered_items(int count) {
  std::vector<json> items;
  items.reserve(static_cast<std::size_t>(count));
  for (int n = 0; n < count; ++n) {
    items.push_back(make_item(fmt::format("item-{:06d}", n), "a", "2021-01-01T00:00:00Z", (n % 300) * 0.5,
                              (n / 300) * 0.5 - 60, 0.5, {{"n", n}}));
  }
  return items;
}

std::int64_t scalar(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
  std::int64_t value = -1;
  if (sqlite3_step(statement) == SQLITE_ROW) {
    value = sqlite3_column_type(statement, 0) == SQLITE_TEXT
                ? (std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))) == "ok" ? 1 : 0)
                : sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

std::vector<std::string> stored_ids(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "SELECT id FROM items ORDER BY id", -1, &statement, nullptr);
  std::vector<std::string> ids;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)));
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return ids;
}

}  // namespace

// A process killed (SIGKILL) at random points of a load, 50 times, alternating
// insert-if-absent and upsert: the catalog always opens and passes
// integrity_check, only whole batches are ever stored, and a re-run of the
// same load completes it with exactly the items of the input.
TEST(SqliteCatalog, LoaderKilledAtRandomPointsLeavesWholeBatches) {
  TempDir dir;
  const std::string path = (dir.path() / "killed.db").string();
  Catalog::open(path)->upsert_collection(make_collection("a"));
  const auto items = numbered_items(2000);
  constexpr std::size_t kBatch = 50;
  const auto load = [&](tessera::LoadMode mode) {
    tessera::LoadOptions options;
    options.batch_size = kBatch;
    options.mode = mode;
    return Catalog::open(path)->load(items, options);
  };
  // The kill points are spread over a whole load's duration; the seed is
  // printed so a failing sequence can be replayed.
  const auto started = std::chrono::steady_clock::now();
  {
    TempDir timing;
    Catalog::open((timing.path() / "t.db").string())->upsert_collection(make_collection("a"));
    tessera::LoadOptions options;
    options.batch_size = kBatch;
    Catalog::open((timing.path() / "t.db").string())->load(items, options);
  }
  const auto full_load_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  const auto seed = static_cast<unsigned>(std::random_device{}());
  SCOPED_TRACE(fmt::format("seed {}, one full load {} us", seed, full_load_us));
  std::mt19937 generator(seed);
  std::uniform_int_distribution<std::int64_t> kill_after_us(0, full_load_us * 5 / 4 + 1000);
  std::int64_t previous_count = 0;
  int torn_down_mid_load = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    const auto mode = attempt % 2 == 0 ? tessera::LoadMode::kIgnore : tessera::LoadMode::kUpsert;
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Nothing may leave the child: it would go on to run the rest of the suite.
      try {
        load(mode);
      } catch (...) {
        _exit(1);
      }
      _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(kill_after_us(generator)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    torn_down_mid_load += WIFSIGNALED(status) ? 1 : 0;
    ASSERT_EQ(scalar(path, "PRAGMA integrity_check"), 1) << "attempt " << attempt;
    const auto count = scalar(path, "SELECT count(*) FROM items");
    ASSERT_EQ(count % static_cast<std::int64_t>(kBatch), 0) << "a batch was torn: " << count;
    ASSERT_GE(count, previous_count) << "committed items were lost";
    ASSERT_EQ(scalar(path, "SELECT count(*) FROM items_rtree"), count);
    previous_count = count;
    // The catalog opens and answers after every kill.
    ASSERT_EQ(Catalog::open(path)->search({{"limit", 1}})["numberMatched"].get<std::int64_t>(), count);
  }
  EXPECT_GT(torn_down_mid_load, 10) << "too few kills landed during a load to test anything";
  const auto report = load(tessera::LoadMode::kIgnore);
  EXPECT_TRUE(report.failed.empty()) << report.to_json().dump();
  EXPECT_EQ(report.loaded + report.skipped, items.size());
  std::vector<std::string> expected;
  for (const auto& item : items) {
    expected.push_back(item["id"].get<std::string>());
  }
  EXPECT_EQ(stored_ids(path), expected);
  EXPECT_EQ(scalar(path, "PRAGMA integrity_check"), 1);
}

// Found beside the fuzz_ingest_message finding (the same json::value() and
// parse_error-only pattern): a stream whose "type" is not a string, or with a
// number beyond a double's range, failed with a nlohmann::json exception.
TEST(SqliteCatalog, LoadStreamRejectsMistypedAndOverflowingJson) {
  TempDir dir;
  auto catalog = Catalog::open((dir.path() / "stream.db").string());
  // Not a FeatureCollection: read as one item, which then fails validation.
  const auto report = catalog->load_text(R"({"type": 5, "features": []})");
  EXPECT_EQ(report.loaded, 0U);
  EXPECT_EQ(report.failed.size(), 1U);
  expect_error([&] { (void)catalog->load_text("[\n{\"type\": \"Feature\", \"x\": 1e99999}]"); },
               ErrorCode::kInvalidInput, "text: invalid JSON");
}

TEST(SqliteCatalog, BusyWriterIsARetryableErrorAndReadersProceed) {
  TempDir dir;
  const std::string path = (dir.path() / "busy.db").string();
  tessera::CatalogOptions options;
  options.busy_timeout_ms = 150;
  auto catalog = Catalog::open(path, options);
  catalog->upsert_collection(make_collection("a"));
  ASSERT_EQ(catalog->load({make_item("one", "a", "2021-01-01T00:00:00Z", 0, 0)}).loaded, 1U);

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; DELETE FROM queryables;", nullptr, nullptr, nullptr), SQLITE_OK);

  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { catalog->upsert_collection(make_collection("b")); }, ErrorCode::kUnavailable, "write lock");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  const auto report = catalog->load({make_item("two", "a", "2021-01-01T00:00:00Z", 0, 0)});
  ASSERT_EQ(report.failed.size(), 1U);
  EXPECT_NE(report.failed[0].error.find("retry"), std::string::npos) << report.failed[0].error;
  EXPECT_TRUE(report.failed[0].retryable);
  // Readers are not blocked by the writer (WAL).
  EXPECT_EQ(catalog->search({{"limit", 5}})["numberMatched"], 1);

  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(catalog->load({make_item("two", "a", "2021-01-01T00:00:00Z", 0, 0)}).loaded, 1U);
}

TEST(SqliteCatalog, ConcurrentSearchesFromThreads) {
  TempDir dir;
  auto catalog = Catalog::open((dir.path() / "threads.db").string());
  catalog->upsert_collection(make_collection("a"));
  ASSERT_EQ(catalog->load(numbered_items(500)).loaded, 500U);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 20; ++n) {
        const auto result = catalog->search({{"bbox", {0, -60, 10.0 + t, -59}}, {"limit", 5}});
        if (result["features"].size() != 5) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures, 0);
}

// Arithmetic in CQL2 runs on SQLite; pgstac 0.10 cannot compare its results
// (it types the literal as text), so PgSTAC refuses it instead.
TEST(SqliteCatalog, Cql2Arithmetic) {
  auto catalog = Catalog::open("sqlite://:memory:");
  catalog->upsert_collection(make_collection("a"));
  std::vector<json> items;
  for (int n = 0; n < 5; ++n) {
    items.push_back(make_item(fmt::format("i{}", n), "a", "2021-01-01T00:00:00Z", n, 0, 1.0, {{"v", n * 5}}));
  }
  ASSERT_EQ(catalog->load(items).loaded, 5U);
  auto ids = [&](const char* filter) {
    std::vector<std::string> out;
    const json result = catalog->search({{"filter", filter}, {"sortby", "id"}});
    for (const auto& feature : result["features"]) {
      out.push_back(feature["id"].get<std::string>());
    }
    return out;
  };
  EXPECT_EQ(ids("v * 2 = 20"), std::vector<std::string>{"i2"});
  EXPECT_EQ(ids("v / 5 >= 3"), (std::vector<std::string>{"i3", "i4"}));
  EXPECT_EQ(ids("v + 1 < 2 OR v - 1 > 18"), (std::vector<std::string>{"i0", "i4"}));
}

// A spatial predicate on the item's geometry inside the filter narrows the
// search through the R*Tree (the literal's box), alone or in an AND, and
// answers exactly as the filter says; s_disjoint and OR do not narrow.
TEST(SqliteCatalog, FilterGeometriesNarrowThroughTheRtree) {
  auto catalog = Catalog::open("sqlite://:memory:");
  catalog->upsert_collection(make_collection("a"));
  std::vector<json> items;
  for (int n = 0; n < 20; ++n) {
    items.push_back(make_item(fmt::format("i{:02d}", n), "a", "2021-01-01T00:00:00Z", n * 2, n, 1.0, {{"v", n}}));
  }
  ASSERT_EQ(catalog->load(items).loaded, 20U);
  auto ids = [&](const char* filter) {
    std::vector<std::string> out;
    const json result = catalog->search({{"filter", filter}, {"sortby", "id"}, {"limit", 100}});
    for (const auto& feature : result["features"]) {
      out.push_back(feature["id"].get<std::string>());
    }
    EXPECT_EQ(result["numberMatched"], out.size()) << filter;
    return out;
  };
  EXPECT_EQ(ids("S_INTERSECTS(geometry, BBOX(3.5, 1.5, 6.5, 3.5))"), (std::vector<std::string>{"i02", "i03"}));
  EXPECT_EQ(ids("S_INTERSECTS(geometry, POLYGON((3.5 1.5, 6.5 1.5, 6.5 3.5, 3.5 3.5, 3.5 1.5))) AND v > 2"),
            std::vector<std::string>{"i03"});
  EXPECT_EQ(ids("v < 2 AND S_WITHIN(geometry, BBOX(-10, -10, 3, 3))"), (std::vector<std::string>{"i00", "i01"}));
  EXPECT_EQ(ids("S_DISJOINT(geometry, BBOX(-10, -10, 30, 30))"),
            (std::vector<std::string>{"i16", "i17", "i18", "i19"}));
  EXPECT_EQ(ids("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) OR v = 19"), (std::vector<std::string>{"i00", "i19"}));
}

// Searches read a property as a number by the queryable types of the
// collections they reach; each connection caches those types until the
// database changes, by its own writes or another connection's.
TEST(SqliteCatalog, QueryableTypesFollowWritesOfEveryConnection) {
  TempDir dir;
  const std::string uri = (dir.path() / "types.db").string();
  auto catalog = Catalog::open(uri);
  catalog->upsert_collection(make_collection("t"));
  auto ids = [&](const std::string& filter) {
    std::vector<std::string> out;
    const json result = catalog->search({{"filter", filter}, {"sortby", "id"}});
    for (const auto& feature : result["features"]) {
      out.push_back(feature["id"].get<std::string>());
    }
    return out;
  };
  std::vector<json> items;
  for (const int cover : {0, 5, 10, 15}) {
    items.push_back(
        make_item(fmt::format("i{}", cover / 5), "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"eo:cloud_cover", cover}}));
  }
  ASSERT_EQ(catalog->load(items).loaded, 4U);
  EXPECT_EQ(ids("\"eo:cloud_cover\" = '10'"), std::vector<std::string>{"i2"});
  // A string value joins the numbers: it is read as a number too.
  ASSERT_EQ(catalog->load({make_item("s", "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"eo:cloud_cover", "10"}})}).loaded,
            1U);
  EXPECT_EQ(ids("\"eo:cloud_cover\" = '10'"), (std::vector<std::string>{"i2", "s"}));
  // A property no item had yet, written through another catalog on the file.
  EXPECT_EQ(ids("\"view:sun_elevation\" = '30'"), std::vector<std::string>{});
  auto other = Catalog::open(uri);
  ASSERT_EQ(other->load({make_item("w", "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"view:sun_elevation", 30}})}).loaded,
            1U);
  EXPECT_EQ(ids("\"view:sun_elevation\" = '30'"), std::vector<std::string>{"w"});
  EXPECT_EQ(ids("\"view:sun_elevation\" > '4'"), std::vector<std::string>{"w"});  // not as text
  // A collection where the property holds no numbers: a search reaching it
  // reads the property as stored (pgstac as text); one reaching "t" alone as a number.
  other->upsert_collection(make_collection("u"));
  ASSERT_EQ(
      other->load({make_item("x", "u", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"view:sun_elevation", "high"}})}).loaded,
      1U);
  EXPECT_EQ(ids("\"view:sun_elevation\" = 'high'"), std::vector<std::string>{"x"});
  EXPECT_EQ(catalog->search({{"collections", {"t"}}, {"filter", "\"view:sun_elevation\" = '30.0'"}})["features"].size(),
            1U);
}

// Searches have a deadline: the statement timeout, or an earlier one the
// caller sets for its thread (a mosaic's time budget). Past it, the search is
// interrupted with a retryable Unavailable naming the limit.
TEST(SqliteCatalog, SearchesStopAtTheirDeadline) {
  TempDir dir;
  auto catalog = Catalog::open((dir.path() / "deadline.db").string());
  catalog->upsert_collection(make_collection("a"));
  std::vector<json> items;
  // Enough rows that a scan runs well past the progress handler's interval.
  for (int n = 0; n < 30000; ++n) {
    items.push_back(make_item(fmt::format("item-{:05d}", n), "a", "2021-01-01T00:00:00Z", (n % 30) * 0.5, 0));
  }
  ASSERT_EQ(catalog->load(items).loaded, items.size());
  // Matches nothing, so it visits every row.
  const json scan = {{"filter", {{"op", "like"}, {"args", {{{"property", "id"}}, "%zzz%"}}}}, {"limit", 1000}};
  const auto matched = catalog->search(scan)["features"].size();
  EXPECT_EQ(matched, 0U);
  {
    const tessera::catalog::ScopedDeadline past(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    expect_error([&] { catalog->search(scan); }, ErrorCode::kUnavailable, "time limit");
  }
  // The deadline ends with its scope; the connection serves the next search.
  EXPECT_EQ(catalog->search(scan)["features"].size(), matched);
  tessera::CatalogOptions options;
  options.statement_timeout_ms = 0;
  auto hurried = Catalog::open((dir.path() / "deadline.db").string(), options);
  expect_error([&] { hurried->search(scan); }, ErrorCode::kUnavailable, "statement_timeout_ms");
}
