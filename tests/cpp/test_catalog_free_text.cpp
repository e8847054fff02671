// Free-text `q` and collection search: the parser of `q` and what it writes
// for each backend, then the same searches with the same expected answers on
// every backend (so SQLite's FTS5 and pgstac's tsvector agree on them).
#include <libpq-fe.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog/free_text.hpp"
#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::catalog::parse_free_text;
using tessera::catalog::to_fts5_match;
using tessera::catalog::to_pgstac_q;
using tessera::testing::expect_error;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::TempDir;

namespace {

// --- The parser ---------------------------------------------------------------

struct Written {
  std::string fts5;
  bool negated = false;
  std::string pgstac;
};

Written written(const json& q) {
  const auto parsed = parse_free_text(q);
  if (!parsed.root) {
    return {"<nothing>", false, "<nothing>"};
  }
  const auto match = to_fts5_match(*parsed.root);
  return {match.expression, match.negated, to_pgstac_q(*parsed.root)};
}

TEST(FreeTextQuery, WordsPhrasesAndOperators) {
  auto w = written("Sentinel");
  EXPECT_EQ(w.fts5, R"("sentinel")");
  EXPECT_EQ(w.pgstac, "('sentinel')");

  // The basic extension's example: comma-separated alternatives, a phrase each.
  w = written("EO,Earth Observation");
  EXPECT_EQ(w.fts5, R"(("eo" OR "earth observation"))");
  EXPECT_EQ(w.pgstac, "(('eo') | ('earth' <-> 'observation'))");

  w = written(json::array({"EO", "Earth Observation"}));
  EXPECT_EQ(w.fts5, R"(("eo" OR "earth observation"))");

  w = written(R"(("land cover" OR crops) AND +sentinel -landsat)");
  EXPECT_EQ(w.fts5, R"(((("land cover" OR "crops") AND "sentinel") NOT ("landsat")))");
  EXPECT_FALSE(w.negated);
  EXPECT_EQ(w.pgstac, "((('land' <-> 'cover') | ('crops')) & ('sentinel') & ! ('landsat'))");

  // A hyphen inside a word separates (a phrase); before a word it excludes.
  EXPECT_EQ(written("sentinel-2").fts5, R"("sentinel 2")");
  EXPECT_EQ(written("a1 -b2").fts5, R"((("a1") NOT ("b2")))");
}

TEST(FreeTextQuery, NegationsBecomeBinaryNotOrANegatedQuery) {
  auto w = written("-snow");
  EXPECT_EQ(w.fts5, R"("snow")");
  EXPECT_TRUE(w.negated);
  EXPECT_EQ(w.pgstac, "! ('snow')");

  w = written("cloud OR -snow");  // = NOT (snow AND NOT cloud)
  EXPECT_EQ(w.fts5, R"((("snow") NOT ("cloud")))");
  EXPECT_TRUE(w.negated);

  w = written("-cloud -snow");  // = NOT (cloud OR snow)
  EXPECT_EQ(w.fts5, R"(("cloud" OR "snow"))");
  EXPECT_TRUE(w.negated);
}

TEST(FreeTextQuery, StopWordsGoAsPostgresDropsThem) {
  EXPECT_EQ(written("the").fts5, "<nothing>");
  EXPECT_EQ(written("the OR a").fts5, "<nothing>");
  EXPECT_EQ(written("the cat").fts5, R"("cat")");
  EXPECT_EQ(written("cat AND the").fts5, R"("cat")");
  EXPECT_EQ(written("-the").fts5, "<nothing>");
  // Inner stop words keep their place in a phrase.
  EXPECT_EQ(written(R"("salt and pepper")").fts5, R"("salt and pepper")");
  // AND and OR are operators only as bare words, not quoted nor after a prefix.
  EXPECT_EQ(written("cat -and").fts5, R"("cat")");
  EXPECT_EQ(written("+OR").fts5, "<nothing>");
  // ... nor at either end or after an operator, where pgstac leaves them words too.
  EXPECT_EQ(written("snow OR and").fts5, R"("snow")");
  EXPECT_EQ(written("AND snow").fts5, R"("snow")");
  EXPECT_EQ(written("snow AND or rain").fts5, R"(("snow" AND "rain"))");
  EXPECT_EQ(written(R"("rock or roll")").pgstac, "('rock' <-> 'or' <-> 'roll')");
}

TEST(FreeTextQuery, HostileInputIsInvalidInputNamingQ) {
  for (const json& q : {json(""), json("   "), json("(a"), json("a)"), json("\"a"), json("()"), json("\"!!\""), json(5),
                        json::array(), json::array({"a", 3}), json(nullptr), json::object()}) {
    expect_error([&] { parse_free_text(q); }, ErrorCode::kInvalidInput, "q");
  }
  expect_error([] { parse_free_text(std::string(40, '(') + "a" + std::string(40, ')')); }, ErrorCode::kInvalidInput,
               "nest deeper than 32");
  expect_error([] { parse_free_text(std::string(5000, 'a')); }, ErrorCode::kInvalidInput, "more than the maximum");
  expect_error([] { parse_free_text(json::array({"a", "("})); }, ErrorCode::kInvalidInput, "q[1]");
}

// --- Both backends --------------------------------------------------------------

std::vector<std::string> item_ids(const json& result) {
  std::vector<std::string> ids;
  for (const auto& feature : result["features"]) {
    ids.push_back(feature["id"].get<std::string>());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> collection_ids(const json& result) {
  std::vector<std::string> ids;
  for (const auto& collection : result["collections"]) {
    ids.push_back(collection["id"].get<std::string>());
  }
  return ids;
}

json text_collection(const std::string& id, const std::string& title, const std::string& description,
                     const json& keywords, const json& bbox, const json& interval) {
  json collection = make_collection(id);
  collection["title"] = title;
  collection["description"] = description;
  collection["keywords"] = keywords;
  collection["extent"]["spatial"]["bbox"] = json::array({bbox});
  collection["extent"]["temporal"]["interval"] = json::array({interval});
  return collection;
}

class FreeTextSearch : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  void SetUp() override {
    catalog_ = GetParam().open(scratch_.path());
    catalog_->upsert_collection(text_collection("landsat", "Landsat Collection 2", "Surface reflectance from Landsat 8",
                                                json::array({"USGS", "optical"}), json::array({-180, -60, 180, 80}),
                                                json::array({"2013-03-18T00:00:00Z", nullptr})));
    catalog_->upsert_collection(
        text_collection("sentinel-2", "Sentinel-2 Level-2A", "Bottom of atmosphere reflectance, cloud masked",
                        json::array({"ESA", "Copernicus", "optical"}), json::array({-10, 35, 30, 70}),
                        json::array({"2017-01-01T00:00:00Z", "2024-12-31T23:59:59Z"})));
    catalog_->upsert_collection(text_collection("dem", "Copernicus DEM", "Digital elevation model of the land surface",
                                                json::array({"elevation"}), json::array({100, -40, 150, -10}),
                                                json::array({"2011-01-01T00:00:00Z", "2015-01-01T00:00:00Z"})));
    std::vector<json> items = {
        make_item("i1", "sentinel-2", "2021-06-01T10:00:00Z", 10, 40, 1,
                  {{"title", "Cloudy scene over the Alps"},
                   {"description", "Snow and clouds covering mountains"},
                   {"keywords", {"snow", "alps"}}}),
        make_item("i2", "sentinel-2", "2021-06-02T10:00:00Z", 11, 40, 1,
                  {{"title", "Clear scene"}, {"description", "Land cover: crops and forests"}}),
        make_item("i3", "sentinel-2", "2021-06-03T10:00:00Z", 12, 40, 1,
                  {{"title", "Running rivers"}, {"description", "River flooding after heavy rain"}}),
        // No description: never matched, as pgstac's NULL tsvector is not.
        make_item("i4", "sentinel-2", "2021-06-04T10:00:00Z", 13, 40, 1, {{"title", "Snow without description"}}),
        make_item("i5", "landsat", "2021-06-05T10:00:00Z", 14, 40, 1,
                  {{"description", "Urban heat island"}, {"keywords", {"land cover", "urban"}}}),
    };
    ASSERT_TRUE(catalog_->load(items).failed.empty());
  }

  std::vector<std::string> items_matching(const json& q) { return item_ids(catalog_->search({{"q", q}})); }

  TempDir scratch_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_P(FreeTextSearch, ItemsMatchTheSameOnEveryBackend) {
  using Ids = std::vector<std::string>;
  EXPECT_EQ(items_matching("snow"), (Ids{"i1"}));              // keywords and text; i4 has no description
  EXPECT_EQ(items_matching("SNOW"), (Ids{"i1"}));              // case
  EXPECT_EQ(items_matching("river"), (Ids{"i3"}));             // stems: rivers, river
  EXPECT_EQ(items_matching("run"), (Ids{"i3"}));               // running
  EXPECT_EQ(items_matching("cloud"), (Ids{"i1"}));             // clouds, cloudy
  EXPECT_EQ(items_matching("land cover"), (Ids{"i2", "i5"}));  // a phrase, also across keyword strings
  EXPECT_EQ(items_matching("\"cover land\""), Ids{});
  // A phrase runs from the description into the title and keywords, as in pgstac's tsvector.
  EXPECT_EQ(items_matching("island land"), (Ids{"i5"}));
  EXPECT_EQ(items_matching("forests clear"), (Ids{"i2"}));
  EXPECT_EQ(items_matching("snow,urban"), (Ids{"i1", "i5"}));
  EXPECT_EQ(items_matching(json::array({"snow", "urban"})), (Ids{"i1", "i5"}));
  EXPECT_EQ(items_matching("scene AND clear"), (Ids{"i2"}));
  EXPECT_EQ(items_matching("scene -snow"), (Ids{"i2"}));
  EXPECT_EQ(items_matching("-snow"), (Ids{"i2", "i3", "i5"}));
  EXPECT_EQ(items_matching("(crops OR rain) AND +forest"), (Ids{"i2"}));
  EXPECT_EQ(items_matching("urban OR -land"), (Ids{"i1", "i3", "i5"}));
  EXPECT_EQ(items_matching("the"), Ids{});
  EXPECT_EQ(items_matching("nothinglikethis"), Ids{});

  // q with the other members, the count and paging.
  const json page = catalog_->search({{"q", "scene OR river"}, {"bbox", {12.5, 39, 20, 42}}, {"limit", 1}});
  EXPECT_EQ(item_ids(page), (Ids{"i3"}));
  EXPECT_EQ(page["numberMatched"], 1);
  const json first = catalog_->search({{"q", "scene OR river OR urban"}, {"limit", 2}});  // i1 i2 i3 i5
  EXPECT_EQ(first["numberMatched"], 4);
  const json second = catalog_->search({{"token", first["next"]}});
  EXPECT_EQ(second["features"].size(), 2U);
  EXPECT_EQ(catalog_->search({{"q", "the"}})["numberMatched"], 0);
}

TEST_P(FreeTextSearch, WritesKeepTheTextIndexed) {
  using Ids = std::vector<std::string>;
  json changed = make_item("i2", "sentinel-2", "2021-06-02T10:00:00Z", 11, 40, 1,
                           {{"title", "Clear scene"}, {"description", "Glaciers"}});
  tessera::LoadOptions upsert;
  upsert.mode = tessera::LoadMode::kUpsert;
  ASSERT_TRUE(catalog_->load({changed}, upsert).failed.empty());
  EXPECT_EQ(items_matching("glacier"), (Ids{"i2"}));
  EXPECT_EQ(items_matching("crops"), Ids{});
  catalog_->delete_item("sentinel-2", "i2");
  EXPECT_EQ(items_matching("glacier"), Ids{});

  json dem = catalog_->get_collection("dem");
  dem["description"] = "Terrain heights";
  catalog_->update_collection(dem);
  EXPECT_EQ(collection_ids(catalog_->search_collections({{"q", "terrain"}})), (Ids{"dem"}));
  EXPECT_EQ(collection_ids(catalog_->search_collections({{"q", "elevation model"}})), Ids{});
  catalog_->delete_collection("landsat", true);
  EXPECT_EQ(collection_ids(catalog_->search_collections({{"q", "reflectance"}})), (Ids{"sentinel-2"}));
  EXPECT_EQ(items_matching("urban"), Ids{});
}

TEST_P(FreeTextSearch, CollectionSearch) {
  using Ids = std::vector<std::string>;
  const auto search = [&](const json& request) { return collection_ids(catalog_->search_collections(request)); };
  EXPECT_EQ(search(json::object()), (Ids{"dem", "landsat", "sentinel-2"}));
  EXPECT_EQ(search({{"q", "reflectance"}}), (Ids{"landsat", "sentinel-2"}));
  EXPECT_EQ(search({{"q", "copernicus"}}), (Ids{"dem", "sentinel-2"}));  // title or keywords
  EXPECT_EQ(search({{"q", "optical -atmosphere"}}), (Ids{"landsat"}));
  EXPECT_EQ(search({{"bbox", {120, -30, 130, -20}}}), (Ids{"dem", "landsat"}));
  EXPECT_EQ(search({{"bbox", "0,40,5,45"}}), (Ids{"landsat", "sentinel-2"}));
  EXPECT_EQ(search({{"datetime", "2012-01-01T00:00:00Z/2012-12-31T00:00:00Z"}}), (Ids{"dem"}));
  EXPECT_EQ(search({{"datetime", "2030-01-01T00:00:00Z/.."}}), (Ids{"landsat"}));  // an open end
  EXPECT_EQ(search({{"datetime", "2014-06-01T00:00:00Z"}, {"q", "surface"}}), (Ids{"dem", "landsat"}));
  EXPECT_EQ(search({{"ids", {"dem", "nope"}}}), (Ids{"dem"}));

  const json first = catalog_->search_collections({{"limit", 2}});
  EXPECT_EQ(collection_ids(first), (Ids{"dem", "landsat"}));
  EXPECT_EQ(first["numberMatched"], 3);
  EXPECT_EQ(first["numberReturned"], 2);
  EXPECT_FALSE(first.contains("prev"));
  const json second = catalog_->search_collections({{"token", first["next"]}});
  EXPECT_EQ(collection_ids(second), (Ids{"sentinel-2"}));
  EXPECT_FALSE(second.contains("next"));
  EXPECT_EQ(collection_ids(catalog_->search_collections({{"token", second["prev"]}})), (Ids{"dem", "landsat"}));

  expect_error(
      [&] {
        catalog_->search_collections({{"filter", "x = 1"}});
      },
      ErrorCode::kInvalidInput, "collection search: filter: unknown parameter");
  expect_error([&] { catalog_->search_collections({{"q", ""}}); }, ErrorCode::kInvalidInput, "q");
  expect_error([&] { catalog_->search_collections({{"limit", 0}}); }, ErrorCode::kInvalidInput, "limit");
  expect_error([&] { catalog_->search_collections({{"bbox", {1, 2}}}); }, ErrorCode::kInvalidInput, "bbox");
  const json item_page = catalog_->search({{"limit", 1}});
  expect_error(
      [&] {
        catalog_->search_collections({{"token", item_page["next"]}});
      },
      ErrorCode::kInvalidInput, "token");
  expect_error([&] { catalog_->search_collections({{"token", "bm9wZQ"}}); }, ErrorCode::kInvalidInput, "token");
}

INSTANTIATE_TEST_SUITE_P(Backends, FreeTextSearch, ::testing::ValuesIn(tessera::testing::catalog_backends(true)),
                         [](const auto& backend) { return backend.param.name; });

// --- SQLite: catalogs made before the free-text index ---------------------------

TEST(SqliteFreeText, AnOlderCatalogIsIndexedWhenOpened) {
  const TempDir scratch;
  const std::string path = (scratch.path() / "old.db").string();
  {
    auto catalog = Catalog::open("sqlite://" + path);
    catalog->upsert_collection(make_collection("c"));
    ASSERT_TRUE(catalog->load({make_item("x", "c", "2021-01-01T00:00:00Z", 0, 0, 1, {{"description", "volcano"}})})
                    .failed.empty());
  }
  // What a version-2 catalog looked like: no free-text tables.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE items_fts; DROP TABLE collections_fts; PRAGMA user_version = 2", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto catalog = Catalog::open("sqlite://" + path);
  EXPECT_EQ(item_ids(catalog->search({{"q", "volcanoes"}})), std::vector<std::string>{"x"});
  EXPECT_EQ(collection_ids(catalog->search_collections({{"q", "collection"}})), std::vector<std::string>{"c"});
}

// --- PgSTAC: the index on pgstac's free-text expression -----------------------

TEST(PgstacFreeText, ThePlannerAnswersQFromTheIndex) {
  if (std::getenv("TESSERA_TEST_PGSTAC_URL") == nullptr) {
    GTEST_SKIP() << "TESSERA_TEST_PGSTAC_URL is not set";
  }
  auto catalog = tessera::testing::open_empty_pgstac();
  // Reopening finds the index and leaves it alone.
  catalog = Catalog::open(tessera::testing::pgstac_test_url());
  catalog->upsert_collection(make_collection("c"));
  ASSERT_TRUE(catalog->load({make_item("x", "c", "2021-01-01T00:00:00Z", 0, 0, 1, {{"description", "volcano"}})})
                  .failed.empty());

  PGconn* connection = PQconnectdb(tessera::testing::pgstac_test_url().c_str());
  ASSERT_EQ(PQstatus(connection), CONNECTION_OK) << PQerrorMessage(connection);
  auto query = [&](const std::string& sql) {
    PGresult* result = PQexec(connection, sql.c_str());
    std::string text;
    for (int row = 0; row < PQntuples(result); ++row) {
      text += std::string(PQgetvalue(result, row, 0)) + "\n";
    }
    const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK || PQresultStatus(result) == PGRES_COMMAND_OK;
    EXPECT_TRUE(ok) << sql << ": " << PQresultErrorMessage(result);
    PQclear(result);
    return text;
  };
  EXPECT_EQ(query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'pgstac' AND "
                  "indexname = 'items_tessera_free_text_idx'"),
            "1\n");
  // The WHERE clause pgstac's search() builds for q, as stac_search_to_where writes it.
  const std::string where = query("SELECT pgstac.stac_search_to_where('{\"q\": \"volcano\"}'::jsonb)");
  query("SET search_path = pgstac, public");
  query("SET enable_seqscan = off");
  const std::string plan = query("EXPLAIN SELECT id FROM items WHERE " + where);
  // The index scanned is a partition's share of tessera's index (PostgreSQL names them).
  EXPECT_NE(plan.find("Bitmap Index Scan on"), std::string::npos) << plan;
  const std::string partition_indexes = query(
      "SELECT c.relname FROM pg_partition_tree('pgstac.items_tessera_free_text_idx') t "
      "JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf");
  bool scanned = false;
  for (std::size_t start = 0, end; (end = partition_indexes.find('\n', start)) != std::string::npos; start = end + 1) {
    scanned = scanned || plan.find("Bitmap Index Scan on " + partition_indexes.substr(start, end - start) + " ") !=
                             std::string::npos;
  }
  EXPECT_TRUE(scanned) << plan << "\nindexes of items_tessera_free_text_idx:\n" << partition_indexes;
  PQfinish(connection);
}

}  // namespace
