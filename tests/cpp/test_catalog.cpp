// The catalog conformance suite, local part: collections created, updated
// and deleted, items loaded, upserted and deleted, properties indexed, and
// searches walked back by their prev tokens, on every local backend. The read
// part (searches, items, collections, queryables, registered searches,
// locks) is in test_catalog_read_conformance.cpp and is instantiated here for
// the same backends; stac_api_catalog_tests runs it on a remote STAC API too.
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog_conformance.hpp"
#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::LoadMode;
using tessera::testing::CatalogLocalConformance;
using tessera::testing::CatalogReadConformance;
using tessera::testing::expect_error;
using tessera::testing::ids_of;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::pgstac_exec;
using tessera::testing::pgstac_search_ids;
using tessera::testing::TempDir;

// --- Collections ------------------------------------------------------------

TEST_P(CatalogLocalConformance, CollectionLifecycle) {
  catalog_->create_collection(make_collection("c1"));
  expect_error([&] { catalog_->create_collection(make_collection("c1")); }, ErrorCode::kConflict, "c1");
  expect_error([&] { catalog_->update_collection(make_collection("zz")); }, ErrorCode::kNotFound, "zz");
  auto updated = make_collection("c1");
  updated["title"] = "Updated";
  catalog_->update_collection(updated);
  EXPECT_EQ(catalog_->get_collection("c1")["title"], "Updated");
  catalog_->upsert_collection(make_collection("c0"));
  const auto all = catalog_->collections();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0]["id"], "c0");
  EXPECT_EQ(all[1]["id"], "c1");

  ASSERT_EQ(catalog_->load({make_item("i1", "c1", "2020-01-01T00:00:00Z", 0, 0)}).loaded, 1U);
  expect_error([&] { catalog_->delete_collection("c1"); }, ErrorCode::kConflict, "cascade");
  catalog_->delete_collection("c1", true);
  expect_error([&] { catalog_->get_collection("c1"); }, ErrorCode::kNotFound, "c1");
  expect_error([&] { catalog_->get_item("c1", "i1"); }, ErrorCode::kNotFound, "i1");
  expect_error([&] { catalog_->delete_collection("c1"); }, ErrorCode::kNotFound, "c1");
}

TEST_P(CatalogLocalConformance, CollectionValidationNamesTheField) {
  auto bad = make_collection("bad");
  bad.erase("license");
  expect_error([&] { catalog_->create_collection(bad); }, ErrorCode::kInvalidInput, "collection 'bad': license");
  bad = make_collection("bad");
  bad["extent"]["spatial"]["bbox"] = json::array({json::array({0, 10, 1, 5})});
  expect_error([&] { catalog_->create_collection(bad); }, ErrorCode::kInvalidInput, "extent.spatial.bbox[0]");
  bad = make_collection("bad");
  bad["extent"]["temporal"]["interval"] = json::array({json::array({"yesterday", nullptr})});
  expect_error([&] { catalog_->create_collection(bad); }, ErrorCode::kInvalidInput, "interval[0]");
  bad = make_collection("bad");
  bad["type"] = "Feature";
  expect_error([&] { catalog_->create_collection(bad); }, ErrorCode::kInvalidInput, "type");
  expect_error([&] { catalog_->create_collection(json::array()); }, ErrorCode::kInvalidInput, "JSON object");
}

TEST_P(CatalogLocalConformance, ExtentIsRecomputedFromItems) {
  load_standard_items();
  const auto collection = catalog_->update_collection_extent("a");
  EXPECT_EQ(collection["extent"]["spatial"]["bbox"][0], json::array({10.0, 40.0, 14.0, 43.0}));
  EXPECT_EQ(collection["extent"]["temporal"]["interval"][0],
            json::array({"2021-01-01T10:00:00Z", "2021-01-12T10:00:00Z"}));
  EXPECT_EQ(catalog_->get_collection("a")["extent"], collection["extent"]);
}

// --- Loading -------------------------------------------------------------------

TEST_P(CatalogLocalConformance, BadItemsAreReportedAndGoodOnesKept) {
  catalog_->upsert_collection(make_collection("a"));
  auto no_datetime = make_item("no-datetime", "a", "2020-01-01T00:00:00Z", 0, 0);
  no_datetime["properties"].erase("datetime");
  auto open_ring = make_item("open-ring", "a", "2020-01-01T00:00:00Z", 0, 0);
  open_ring["geometry"]["coordinates"][0].erase(4);
  auto bad_bbox = make_item("bad-bbox", "a", "2020-01-01T00:00:00Z", 0, 0);
  bad_bbox["bbox"] = {0, 0, 0.5, 0.5};
  auto bad_time = make_item("bad-time", "a", "2020-13-01T00:00:00Z", 0, 0);
  auto range_missing_end = make_item("range-missing-end", "a", "2020-01-01T00:00:00Z", 0, 0);
  range_missing_end["properties"]["datetime"] = nullptr;
  range_missing_end["properties"]["start_datetime"] = "2020-01-01T00:00:00Z";
  auto no_links = make_item("no-links", "a", "2020-01-01T00:00:00Z", 0, 0);
  no_links.erase("links");
  const std::vector<json> items = {
      make_item("good-1", "a", "2020-01-01T00:00:00Z", 0, 0),
      no_datetime,
      make_item("unknown-collection", "nope", "2020-01-01T00:00:00Z", 0, 0),
      open_ring,
      bad_bbox,
      json("not an object"),
      bad_time,
      range_missing_end,
      no_links,
      make_item("good-2", "a", "2020-01-02T00:00:00Z", 0, 0),
  };
  tessera::LoadOptions options;
  options.batch_size = 3;  // bad items share batches with good ones
  const auto report = catalog_->load(items, options);
  EXPECT_EQ(report.loaded, 2U);
  EXPECT_EQ(report.skipped, 0U);
  ASSERT_EQ(report.failed.size(), 8U) << report.to_json().dump(2);
  std::map<std::string, std::string> errors;
  for (const auto& failure : report.failed) {
    errors[failure.id] = failure.error;
  }
  EXPECT_NE(errors["no-datetime"].find("properties.datetime"), std::string::npos) << errors["no-datetime"];
  EXPECT_NE(errors["unknown-collection"].find("collection 'nope' does not exist"), std::string::npos);
  EXPECT_NE(errors["open-ring"].find("not closed"), std::string::npos) << errors["open-ring"];
  EXPECT_NE(errors["bad-bbox"].find("does not contain the geometry"), std::string::npos) << errors["bad-bbox"];
  EXPECT_NE(errors["bad-time"].find("RFC 3339"), std::string::npos) << errors["bad-time"];
  EXPECT_NE(errors["range-missing-end"].find("end_datetime"), std::string::npos);
  EXPECT_NE(errors["no-links"].find("links"), std::string::npos);
  EXPECT_NE(errors[""].find("JSON object"), std::string::npos);
  EXPECT_EQ(report.to_json()["failed"].size(), 8U);
  EXPECT_EQ(ids_of(search({{"limit", 100}})), (std::vector<std::string>{"good-2", "good-1"}));
}

TEST_P(CatalogLocalConformance, LoadModes) {
  catalog_->upsert_collection(make_collection("a"));
  const auto first = make_item("x", "a", "2020-01-01T00:00:00Z", 0, 0, 1.0, {{"v", 1}});
  auto second = make_item("x", "a", "2020-01-01T00:00:00Z", 5, 5, 1.0, {{"v", 2}});
  ASSERT_EQ(catalog_->load({first}).loaded, 1U);

  auto report = catalog_->load({second});
  ASSERT_EQ(report.failed.size(), 1U);
  EXPECT_NE(report.failed[0].error.find("already exists"), std::string::npos);

  tessera::LoadOptions ignore;
  ignore.mode = LoadMode::kIgnore;
  report = catalog_->load({second}, ignore);
  EXPECT_EQ(report.skipped, 1U);
  EXPECT_EQ(catalog_->get_item("a", "x")["properties"]["v"], 1);

  tessera::LoadOptions upsert;
  upsert.mode = LoadMode::kUpsert;
  report = catalog_->load({second}, upsert);
  EXPECT_EQ(report.loaded, 1U);
  EXPECT_EQ(catalog_->get_item("a", "x")["properties"]["v"], 2);
  // The spatial index follows the replacement.
  EXPECT_EQ(ids_of(search({{"bbox", {5.2, 5.2, 5.8, 5.8}}})), std::vector<std::string>{"x"});
  EXPECT_TRUE(ids_of(search({{"bbox", {0.2, 0.2, 0.8, 0.8}}})).empty());

  // Reloading is idempotent in ignore and upsert modes.
  for (const auto& options : {ignore, upsert}) {
    catalog_->load({second}, options);
    EXPECT_EQ(search({{"limit", 10}})["numberMatched"], 1);
  }
  // A duplicate inside one insert batch fails the second copy only.
  const auto y = make_item("y", "a", "2020-01-01T00:00:00Z", 0, 0);
  report = catalog_->load({y, y});
  EXPECT_EQ(report.loaded, 1U);
  EXPECT_EQ(report.failed.size(), 1U);
  EXPECT_THROW((void)tessera::load_mode_from_name("replace"), tessera::Error);
}

TEST_P(CatalogLocalConformance, ItemsRoundTripWhole) {
  catalog_->upsert_collection(make_collection("a"));
  auto item = make_item("whole", "a", "2020-01-01T00:00:00.123456Z", 0, 0, 1.0,
                        {{"nested", {{"deep", json::array({1, 2.5, "x", nullptr, true})}}}, {"big", 12345678901234}});
  item["stac_extensions"] = {"https://stac-extensions.github.io/eo/v1.1.0/schema.json"};
  item["custom_top_level"] = {{"kept", true}};
  item["bbox"] = {0, 0, 0, 1, 1, 10};  // 3D bbox
  ASSERT_EQ(catalog_->load({item}).loaded, 1U);
  EXPECT_EQ(catalog_->get_item("a", "whole"), item);

  // Older versions that carry the required fields load with their version kept.
  auto beta = make_item("beta", "a", "2020-01-01T00:00:00Z", 0, 0);
  beta["stac_version"] = "1.0.0-beta.2";
  ASSERT_EQ(catalog_->load({beta}).loaded, 1U);
  EXPECT_EQ(catalog_->get_item("a", "beta")["stac_version"], "1.0.0-beta.2");

  catalog_->delete_item("a", "beta");
  expect_error([&] { catalog_->get_item("a", "beta"); }, ErrorCode::kNotFound, "beta");
  expect_error([&] { catalog_->delete_item("a", "beta"); }, ErrorCode::kNotFound, "beta");
}

TEST_P(CatalogLocalConformance, LoadsNdjsonAndFeatureCollections) {
  catalog_->upsert_collection(make_collection("a"));
  const fs::path ndjson = scratch_.path() / "items.ndjson";
  {
    std::ofstream out(ndjson);
    for (int n = 0; n < 5; ++n) {
      out << make_item(fmt::format("n{}", n), "a", "2020-01-01T00:00:00Z", n, 0).dump() << "\n";
    }
    out << "{not json\n\n";
  }
  std::size_t progress = 0;
  tessera::LoadOptions options;
  options.batch_size = 2;
  options.progress = [&](std::size_t done) { progress = done; };
  auto report = catalog_->load_file(ndjson, options);
  EXPECT_EQ(report.loaded, 5U);
  ASSERT_EQ(report.failed.size(), 1U);
  EXPECT_NE(report.failed[0].error.find("line 6"), std::string::npos) << report.failed[0].error;
  EXPECT_EQ(progress, 6U);  // every line processed, the bad one included

  json collection = {
      {"type", "FeatureCollection"},
      {"features",
       {make_item("fc1", "a", "2020-01-01T00:00:00Z", 0, 0), make_item("fc2", "a", "2020-01-01T00:00:00Z", 0, 0)}}};
  report = catalog_->load_text(collection.dump(2));
  EXPECT_EQ(report.loaded, 2U);
  report = catalog_->load_text(make_item("single", "a", "2020-01-01T00:00:00Z", 0, 0).dump(2));
  EXPECT_EQ(report.loaded, 1U);
  expect_error([&] { catalog_->load_text("{\"type\": \"FeatureCollection\", "); }, ErrorCode::kInvalidInput,
               "invalid JSON");
  expect_error([&] { catalog_->load_file(scratch_.path() / "missing.ndjson"); }, ErrorCode::kNotFound, "missing");
}

TEST_P(CatalogLocalConformance, PropertyIndexesKeepAnswersTheSame) {
  load_standard_items();
  const std::vector<json> requests = {
      {{"sortby", "+eo:cloud_cover"}, {"limit", 20}},
      {{"sortby", "-eo:cloud_cover"}, {"limit", 20}},
      {{"filter", "eo:cloud_cover < 20"}, {"limit", 20}},
      {{"filter", "eo:cloud_cover >= 20 AND platform = 'sentinel-2a'"}, {"sortby", "platform"}, {"limit", 20}},
  };
  std::vector<std::vector<std::string>> before;
  for (const auto& request : requests) {
    before.push_back(ids_of(search(request)));
  }
  catalog_->index_property("eo:cloud_cover");
  catalog_->index_property("properties.platform");
  catalog_->index_property("eo:cloud_cover");  // idempotent
  catalog_->index_property("datetime");        // already indexed: nothing to do
  for (std::size_t n = 0; n < requests.size(); ++n) {
    EXPECT_EQ(ids_of(search(requests[n])), before[n]) << requests[n].dump();
  }
  expect_error([&] { catalog_->index_property("bad name'); DROP TABLE items; --"); }, ErrorCode::kInvalidInput,
               "characters");
}

// --- Typed queryables -------------------------------------------------------

TEST_P(CatalogLocalConformance, IndexedPropertiesSortByTheirTypeWhoeverLoadedThem) {
  // Items written by pgstac's own functions (as pypgstac loads them), with no
  // queryables: before index_property pgstac sorts eo:cloud_cover as text.
  const bool on_pgstac = GetParam().name == "pgstac";
  catalog_->upsert_collection(make_collection("external"));
  std::vector<json> items;
  for (const int cover : {10, 2, 100}) {
    items.push_back(make_item(fmt::format("c{}", cover), "external", "2021-01-01T00:00:00Z", 0, 0, 1.0,
                              {{"eo:cloud_cover", cover}}));
  }
  if (on_pgstac) {
    pgstac_exec(fmt::format("SELECT create_items('{}'::jsonb)", json(items).dump()));
    pgstac_exec("DELETE FROM queryables WHERE name = 'eo:cloud_cover'");
  } else {
    ASSERT_EQ(catalog_->load(items).loaded, 3U);
  }
  const json ascending = {{"sortby", "+eo:cloud_cover"}};
  const json descending = {{"sortby", "-eo:cloud_cover"}};
  if (on_pgstac) {
    EXPECT_EQ(ids_of(search(ascending)), (std::vector<std::string>{"c10", "c100", "c2"}));  // as text
  }
  catalog_->index_property("eo:cloud_cover");
  EXPECT_EQ(ids_of(search(ascending)), (std::vector<std::string>{"c2", "c10", "c100"}));
  EXPECT_EQ(ids_of(search(descending)), (std::vector<std::string>{"c100", "c10", "c2"}));
  EXPECT_EQ(ids_of(search({{"filter", "eo:cloud_cover > 5"}, {"sortby", "eo:cloud_cover"}})),
            (std::vector<std::string>{"c10", "c100"}));
  EXPECT_EQ(ids_of(search({{"query", {{"eo:cloud_cover", {{"lt", 50}}}}}, {"sortby", "-eo:cloud_cover"}})),
            (std::vector<std::string>{"c10", "c2"}));
  EXPECT_EQ(catalog_->queryables("external")["properties"]["eo:cloud_cover"]["type"], "number");
  if (on_pgstac) {
    EXPECT_EQ(pgstac_search_ids({{"sortby", {{{"field", "eo:cloud_cover"}, {"direction", "asc"}}}}}),
              (std::vector<std::string>{"c2", "c10", "c100"}));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogLocalConformance,
                         ::testing::ValuesIn(tessera::testing::catalog_backends(true)),
                         [](const auto& backend) { return backend.param.name; });
INSTANTIATE_TEST_SUITE_P(Backends, CatalogReadConformance,
                         ::testing::ValuesIn(tessera::testing::local_read_backends(true)),
                         [](const auto& backend) { return backend.param.name; });

// --- URIs ------------------------------------------------------------------------

TEST(CatalogOpen, RejectsBadUris) {
  expect_error([] { Catalog::open("sqlite://relative.db"); }, ErrorCode::kInvalidInput, "absolute");
  expect_error([] { Catalog::open("mysql://x"); }, ErrorCode::kInvalidInput, "mysql");
  expect_error([] { Catalog::open("/tmp/not-a-db-extension"); }, ErrorCode::kInvalidInput, "catalog URI");
  TempDir dir;
  const auto path = dir.path() / "other.db";
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE foreign_table (x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  expect_error([&] { Catalog::open(path.string()); }, ErrorCode::kInvalidInput, "not a tessera catalog");
}
