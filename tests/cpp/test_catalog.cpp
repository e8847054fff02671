// The catalog conformance suite: the same collections, items, loads and
// queries with the same expected ids in the same order, for every backend.
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::LoadMode;
using tessera::testing::expect_error;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::TempDir;

namespace {

std::vector<std::string> ids_of(const json& result) {
  std::vector<std::string> ids;
  for (const auto& feature : result["features"]) {
    ids.push_back(feature["id"].get<std::string>());
  }
  return ids;
}

class CatalogConformance : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  void SetUp() override { catalog_ = GetParam().open(scratch_.path()); }

  // Twelve items: a 4x3 grid of 1-degree squares in collection "a" (days
  // 1..12 of January 2021, cloud cover 0..55), plus a few special ones in "b".
  void load_standard_items() {
    catalog_->upsert_collection(make_collection("a"));
    catalog_->upsert_collection(make_collection("b"));
    std::vector<json> items;
    for (int n = 0; n < 12; ++n) {
      json properties = {{"eo:cloud_cover", n * 5},
                         {"platform", n % 2 == 0 ? "sentinel-2a" : "sentinel-2b"},
                         {"keywords", n % 3 == 0 ? json::array({"x", "y"}) : json::array({"y"})}};
      if (n == 11) {
        properties.erase("eo:cloud_cover");
      }
      items.push_back(make_item(fmt::format("a{:02d}", n), "a", fmt::format("2021-01-{:02d}T10:00:00Z", n + 1),
                                10 + n % 4, 40 + n / 4, 1.0, properties));
    }
    // A range item overlapping February.
    json range = make_item("b-range", "b", "2021-01-01T00:00:00Z", 0, 0);
    range["properties"]["datetime"] = nullptr;
    range["properties"]["start_datetime"] = "2021-01-20T00:00:00Z";
    range["properties"]["end_datetime"] = "2021-02-10T00:00:00Z";
    items.push_back(range);
    // An item crossing the antimeridian, as a MultiPolygon split at 180.
    json across = make_item("b-antimeridian", "b", "2021-03-01T00:00:00Z", 0, 0);
    across["geometry"] = {{"type", "MultiPolygon"},
                          {"coordinates",
                           {{{{179, -1}, {180, -1}, {180, 1}, {179, 1}, {179, -1}}},
                            {{{-180, -1}, {-179, -1}, {-179, 1}, {-180, 1}, {-180, -1}}}}}};
    across["bbox"] = {179, -1, -179, 1};
    items.push_back(across);
    // A thin diagonal triangle whose bbox covers (20..30, 20..30) but whose
    // geometry stays near the diagonal.
    json diagonal = make_item("b-diagonal", "b", "2021-04-01T00:00:00Z", 20, 20, 10);
    diagonal["geometry"]["coordinates"] = {{{20, 20}, {30, 30}, {29.5, 30}, {20, 20}}};
    items.push_back(diagonal);
    const auto report = catalog_->load(items);
    ASSERT_EQ(report.loaded, items.size()) << report.to_json().dump(2);
  }

  json search(json request) { return catalog_->search(request); }

  TempDir scratch_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace

// --- Collections ------------------------------------------------------------

TEST_P(CatalogConformance, CollectionLifecycle) {
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

TEST_P(CatalogConformance, CollectionValidationNamesTheField) {
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

TEST_P(CatalogConformance, ExtentIsRecomputedFromItems) {
  load_standard_items();
  const auto collection = catalog_->update_collection_extent("a");
  EXPECT_EQ(collection["extent"]["spatial"]["bbox"][0], json::array({10.0, 40.0, 14.0, 43.0}));
  EXPECT_EQ(collection["extent"]["temporal"]["interval"][0],
            json::array({"2021-01-01T10:00:00Z", "2021-01-12T10:00:00Z"}));
  EXPECT_EQ(catalog_->get_collection("a")["extent"], collection["extent"]);
}

// --- Loading -------------------------------------------------------------------

TEST_P(CatalogConformance, BadItemsAreReportedAndGoodOnesKept) {
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

TEST_P(CatalogConformance, LoadModes) {
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

TEST_P(CatalogConformance, ItemsRoundTripWhole) {
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

TEST_P(CatalogConformance, LoadsNdjsonAndFeatureCollections) {
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

// --- Search --------------------------------------------------------------------

TEST_P(CatalogConformance, DefaultOrderIsDatetimeDescending) {
  load_standard_items();
  const auto result = search({{"collections", {"a"}}, {"limit", 3}});
  EXPECT_EQ(ids_of(result), (std::vector<std::string>{"a11", "a10", "a09"}));
  EXPECT_EQ(result["numberReturned"], 3);
  EXPECT_EQ(result["numberMatched"], 12);
  EXPECT_TRUE(result.contains("next"));
  EXPECT_FALSE(result.contains("prev"));
  EXPECT_EQ(search(json::object())["numberReturned"], 10);  // default limit
}

TEST_P(CatalogConformance, IdsCollectionsBboxIntersects) {
  load_standard_items();
  EXPECT_EQ(ids_of(search({{"ids", {"a03", "a01", "nope"}}})), (std::vector<std::string>{"a03", "a01"}));
  EXPECT_EQ(ids_of(search({{"ids", {"a03"}}, {"collections", {"b"}}})), std::vector<std::string>{});
  EXPECT_EQ(search({{"collections", {"b"}}})["numberMatched"], 3);
  // Items whose squares touch (11.5, 40.5)-(12.5, 41.5): columns 1-2, rows 0-1.
  EXPECT_EQ(ids_of(search({{"bbox", {11.5, 40.5, 12.5, 41.5}}, {"sortby", "id"}})),
            (std::vector<std::string>{"a01", "a02", "a05", "a06"}));
  // 3D bbox.
  EXPECT_EQ(ids_of(search({{"bbox", {11.5, 40.5, -100, 11.6, 40.6, 100}}})), std::vector<std::string>{"a01"});
  // Antimeridian: a search box crossing it, and one on either side.
  EXPECT_EQ(ids_of(search({{"bbox", {170, -5, -170, 5}}})), std::vector<std::string>{"b-antimeridian"});
  EXPECT_EQ(ids_of(search({{"bbox", {-179.5, -0.5, -179.2, 0.5}}})), std::vector<std::string>{"b-antimeridian"});
  EXPECT_TRUE(ids_of(search({{"bbox", {-170, -0.5, 170, 0.5}}, {"collections", {"b"}}})).size() == 1);  // b-range only
  // The exact geometry counts, not the bbox: (21..22, 28..29) is inside the
  // diagonal item's bbox but away from its geometry.
  EXPECT_TRUE(ids_of(search({{"bbox", {21, 28, 22, 29}}})).empty());
  EXPECT_EQ(ids_of(search({{"bbox", {24, 24, 26, 26}}})), std::vector<std::string>{"b-diagonal"});
  const json off_diagonal = {{"type", "Polygon"}, {"coordinates", {{{21, 28}, {22, 28}, {22, 29}, {21, 28}}}}};
  EXPECT_TRUE(ids_of(search({{"intersects", off_diagonal}})).empty());
  const json on_diagonal = {{"type", "Point"}, {"coordinates", {25, 25}}};
  EXPECT_EQ(ids_of(search({{"intersects", on_diagonal}})), std::vector<std::string>{"b-diagonal"});
}

TEST_P(CatalogConformance, DatetimeInstantsIntervalsAndRanges) {
  load_standard_items();
  EXPECT_EQ(ids_of(search({{"datetime", "2021-01-03T10:00:00Z"}})), std::vector<std::string>{"a02"});
  EXPECT_EQ(ids_of(search({{"datetime", "2021-01-10T00:00:00Z/2021-01-12T00:00:00Z"}})),
            (std::vector<std::string>{"a10", "a09"}));
  // Open ends; the range item (Jan 20 - Feb 10) overlaps.
  EXPECT_EQ(ids_of(search({{"datetime", "2021-02-01T00:00:00Z/.."}})),
            (std::vector<std::string>{"b-diagonal", "b-antimeridian", "b-range"}));
  EXPECT_EQ(ids_of(search({{"datetime", "../2021-01-02T10:00:00Z"}})), (std::vector<std::string>{"a01", "a00"}));
  EXPECT_EQ(ids_of(search({{"datetime", "2021-02-05T00:00:00Z"}})), std::vector<std::string>{"b-range"});
}

TEST_P(CatalogConformance, SortbyWithIdTieBreak) {
  load_standard_items();
  // Ascending by platform: ties broken by id ascending; missing values last.
  auto result = search(
      {{"collections", {"a"}}, {"sortby", {{{"field", "properties.platform"}, {"direction", "asc"}}}}, {"limit", 12}});
  EXPECT_EQ(ids_of(result), (std::vector<std::string>{"a00", "a02", "a04", "a06", "a08", "a10", "a01", "a03", "a05",
                                                      "a07", "a09", "a11"}));
  result = search({{"collections", {"a"}}, {"sortby", "-eo:cloud_cover"}, {"limit", 3}});
  EXPECT_EQ(ids_of(result), (std::vector<std::string>{"a11", "a10", "a09"}));  // NULL sorts as largest
  result = search({{"collections", {"a"}}, {"sortby", "+eo:cloud_cover"}, {"limit", 2}});
  EXPECT_EQ(ids_of(result), (std::vector<std::string>{"a00", "a01"}));
  result = search({{"collections", {"a"}}, {"sortby", {{{"field", "platform"}, {"direction", "desc"}}}}, {"limit", 2}});
  EXPECT_EQ(ids_of(result), (std::vector<std::string>{"a11", "a09"}));
}

TEST_P(CatalogConformance, PagingVisitsEveryItemOnceBothWays) {
  load_standard_items();
  for (const json& sortby : {json(nullptr), json("+platform"), json("-eo:cloud_cover"), json("id")}) {
    json request = {{"limit", 4}};
    if (!sortby.is_null()) {
      request["sortby"] = sortby;
    }
    const auto all = ids_of(search({{"limit", 100}, {"sortby", sortby}}));
    ASSERT_EQ(all.size(), 15U);
    std::vector<std::string> seen;
    std::vector<json> pages;
    json page = search(request);
    for (;;) {
      pages.push_back(page);
      for (const auto& id : ids_of(page)) {
        seen.push_back(id);
      }
      if (!page.contains("next")) {
        break;
      }
      page = search({{"token", page["next"]}, {"limit", 4}});
    }
    EXPECT_EQ(seen, all) << sortby.dump();
    // Walking back with prev returns the same pages.
    for (std::size_t n = pages.size() - 1; n > 0; --n) {
      ASSERT_TRUE(pages[n].contains("prev"));
      const auto previous = search({{"token", pages[n]["prev"]}, {"limit", 4}});
      EXPECT_EQ(ids_of(previous), ids_of(pages[n - 1])) << sortby.dump() << " page " << n;
    }
  }
}

TEST_P(CatalogConformance, ATokenAloneKeepsTheLimitAndFieldsOfItsPage) {
  load_standard_items();
  json page = search({{"limit", 4}, {"fields", {{"exclude", {"assets"}}}}, {"sortby", "id"}});
  std::vector<std::string> seen = ids_of(page);
  while (page.contains("next")) {
    page = search({{"token", page["next"]}});
    EXPECT_LE(page["features"].size(), 4U);
    for (const auto& feature : page["features"]) {
      EXPECT_FALSE(feature.contains("assets")) << feature.dump();
    }
    const auto ids = ids_of(page);
    seen.insert(seen.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(seen.size(), 15U);
  // What the request says wins over what its token carries.
  const json first = search({{"limit", 2}, {"sortby", "id"}});
  EXPECT_EQ(search({{"token", first["next"]}, {"limit", 5}})["features"].size(), 5U);
  EXPECT_TRUE(
      search({{"token", first["next"]}, {"fields", {{"include", {"assets"}}}}})["features"][0].contains("assets"));
}

TEST_P(CatalogConformance, PropertyIndexesKeepAnswersTheSame) {
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

TEST_P(CatalogConformance, PagesNeitherSkipNorRepeatWhileItemsAreInserted) {
  load_standard_items();
  auto page = search({{"collections", {"a"}}, {"limit", 5}});
  std::vector<std::string> seen = ids_of(page);
  // New items sorting before and after the cursor arrive between pages.
  catalog_->load({make_item("new-late", "a", "2030-01-01T00:00:00Z", 10, 40),
                  make_item("new-early", "a", "2000-01-01T00:00:00Z", 10, 40)});
  while (page.contains("next")) {
    page = search({{"token", page["next"]}, {"limit", 5}});
    for (const auto& id : ids_of(page)) {
      seen.push_back(id);
    }
  }
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size());  // nothing repeated
  for (int n = 0; n < 12; ++n) {
    EXPECT_TRUE(unique.contains(fmt::format("a{:02d}", n))) << n;  // nothing skipped
  }
  EXPECT_FALSE(unique.contains("new-late"));  // sorts before the first page
  EXPECT_TRUE(unique.contains("new-early"));
}

TEST_P(CatalogConformance, FieldsIncludeExclude) {
  load_standard_items();
  // A non-empty include keeps the listed paths plus type, id and collection only.
  auto item = search({{"ids", {"a01"}}, {"fields", {{"include", {"properties.eo:cloud_cover"}}}}})["features"][0];
  EXPECT_EQ(item,
            json({{"type", "Feature"}, {"id", "a01"}, {"collection", "a"}, {"properties", {{"eo:cloud_cover", 5}}}}));
  item = search({{"ids", {"a01"}}, {"fields", {{"exclude", {"assets", "properties.platform"}}}}})["features"][0];
  EXPECT_FALSE(item.contains("assets"));
  EXPECT_FALSE(item["properties"].contains("platform"));
  EXPECT_TRUE(item["properties"].contains("eo:cloud_cover"));
  item = search({{"ids", {"a01"}}, {"fields", "properties.platform,-links"}})["features"][0];
  EXPECT_EQ(
      item,
      json({{"type", "Feature"}, {"id", "a01"}, {"collection", "a"}, {"properties", {{"platform", "sentinel-2b"}}}}));
}

static std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) {
    keys.insert(key);
  }
  return keys;
}

TEST_P(CatalogConformance, FieldsIncludeOfOneTopLevelMember) {
  load_standard_items();
  const json whole = search({{"ids", {"a01"}}})["features"][0];
  for (const std::string field : {"type", "stac_version", "id", "geometry", "bbox", "links", "assets"}) {
    const std::set<std::string> expected = {"type", "id", "collection", field};
    for (const json& fields : {json(field), json("+" + field), json({{"include", {field}}})}) {
      const json item = search({{"ids", {"a01"}}, {"fields", fields}})["features"][0];
      EXPECT_EQ(keys_of(item), expected) << fields.dump();
      EXPECT_EQ(item[field], whole[field]) << fields.dump();
    }
  }
}

TEST_P(CatalogConformance, FieldsNullIsRefusedButNullMembersAreEmpty) {
  load_standard_items();
  expect_error([&] { search({{"fields", nullptr}}); }, ErrorCode::kInvalidInput, "fields");
  const json whole = search({{"ids", {"a01"}}})["features"][0];
  for (const json& fields : {json::object(), json({{"include", nullptr}, {"exclude", nullptr}}),
                             json({{"include", json::array()}, {"exclude", json::array()}}),
                             json({{"include", nullptr}}), json({{"exclude", nullptr}}), json("")}) {
    EXPECT_EQ(search({{"ids", {"a01"}}, {"fields", fields}})["features"][0], whole) << fields.dump();
  }
  expect_error([&] { search({{"fields", {{"include", 3}}}}); }, ErrorCode::kInvalidInput, "fields.include");
}

TEST_P(CatalogConformance, FieldsExcludeStartsFromTheDefaultSetOnlyWhenIncludeIsGiven) {
  load_standard_items();
  // include [] or null with an exclude: the STAC default set minus the excluded.
  for (const json& include : {json::array(), json(nullptr)}) {
    const json item =
        search({{"ids", {"a01"}}, {"fields", {{"exclude", {"geometry"}}, {"include", include}}}})["features"][0];
    EXPECT_EQ(keys_of(item), std::set<std::string>(
                                 {"type", "stac_version", "id", "bbox", "collection", "links", "assets", "properties"}))
        << include.dump();
    EXPECT_EQ(item["properties"], json({{"datetime", "2021-01-02T10:00:00Z"}})) << include.dump();
  }
  // No include: the whole item minus the excluded.
  for (const json& fields : {json({{"exclude", {"geometry"}}}), json("-geometry")}) {
    const json item = search({{"ids", {"a01"}}, {"fields", fields}})["features"][0];
    EXPECT_FALSE(item.contains("geometry")) << fields.dump();
    EXPECT_EQ(item["properties"]["eo:cloud_cover"], 5) << fields.dump();
    EXPECT_EQ(item["properties"]["platform"], "sentinel-2b") << fields.dump();
    EXPECT_TRUE(item.contains("assets")) << fields.dump();
  }
}

TEST_P(CatalogConformance, FieldsExcludedParentKeepsIncludedChildren) {
  load_standard_items();
  const json expected = {
      {"type", "Feature"}, {"id", "a01"}, {"collection", "a"}, {"properties", {{"eo:cloud_cover", 5}}}};
  for (const json& fields : {json("-properties,+properties.eo:cloud_cover"),
                             json({{"exclude", {"properties"}}, {"include", {"properties.eo:cloud_cover"}}})}) {
    EXPECT_EQ(search({{"ids", {"a01"}}, {"fields", fields}})["features"][0], expected) << fields.dump();
  }
  // A field both included and excluded is included; an excluded child of an
  // included parent goes.
  for (const json& fields :
       {json("+geometry,-geometry"), json({{"exclude", {"geometry"}}, {"include", {"geometry"}}})}) {
    const json item = search({{"ids", {"a01"}}, {"fields", fields}})["features"][0];
    EXPECT_EQ(keys_of(item), std::set<std::string>({"type", "id", "collection", "geometry"})) << fields.dump();
  }
  const json item = search({{"ids", {"a01"}}, {"fields", "properties,-properties.platform"}})["features"][0];
  EXPECT_EQ(item["properties"],
            json({{"datetime", "2021-01-02T10:00:00Z"}, {"eo:cloud_cover", 5}, {"keywords", {"y"}}}));
}

TEST_P(CatalogConformance, FieldsRideAlongInPageTokens) {
  load_standard_items();
  json page = search({{"collections", {"a"}},
                      {"limit", 5},
                      {"sortby", "id"},
                      {"fields", {{"include", nullptr}, {"exclude", {"geometry"}}}}});
  int pages = 1;
  while (page.contains("next")) {
    page = search({{"token", page["next"]}});
    ++pages;
    for (const auto& feature : page["features"]) {
      EXPECT_FALSE(feature.contains("geometry")) << feature.dump();
      EXPECT_FALSE(feature["properties"].contains("platform")) << feature.dump();  // the default set
      EXPECT_TRUE(feature.contains("assets")) << feature.dump();
    }
  }
  EXPECT_EQ(pages, 3);
  page =
      search({{"collections", {"a"}}, {"limit", 5}, {"sortby", "id"}, {"fields", "-properties,+properties.platform"}});
  page = search({{"token", page["next"]}});
  EXPECT_EQ(
      page["features"][0],
      json({{"type", "Feature"}, {"id", "a05"}, {"collection", "a"}, {"properties", {{"platform", "sentinel-2b"}}}}));
}

TEST_P(CatalogConformance, ContextFalseSkipsNumberMatched) {
  load_standard_items();
  const auto result = search({{"context", false}, {"limit", 1}});
  EXPECT_FALSE(result.contains("numberMatched"));
  EXPECT_EQ(result["numberReturned"], 1);
}

TEST_P(CatalogConformance, Cql2FiltersInJsonAndText) {
  load_standard_items();
  const std::vector<std::pair<json, std::vector<std::string>>> cases = {
      {"eo:cloud_cover < 10", {"a00", "a01"}},
      {R"("eo:cloud_cover" BETWEEN 10 AND 20)", {"a02", "a03", "a04"}},
      {"platform = 'sentinel-2a' AND eo:cloud_cover >= 40", {"a08", "a10"}},
      {"id IN ('a01', 'a05') OR collection = 'b'", {"a01", "a05", "b-antimeridian", "b-diagonal", "b-range"}},
      {"platform LIKE 'sentinel-2_' AND NOT eo:cloud_cover > 5", {"a00", "a01"}},
      {"eo:cloud_cover IS NULL AND collection = 'a'", {"a11"}},
      {"CASEI(platform) = CASEI('SENTINEL-2B') AND eo:cloud_cover < 20", {"a01", "a03"}},
      {"S_INTERSECTS(geometry, POLYGON((11.5 40.5, 12.5 40.5, 12.5 41.5, 11.5 41.5, 11.5 40.5)))",
       {"a01", "a02", "a05", "a06"}},
      {"S_WITHIN(geometry, BBOX(9.5, 39.5, 11.5, 41.5))", {"a00"}},
      {"T_INTERSECTS(datetime, INTERVAL('2021-02-01T00:00:00Z', '2021-02-02T00:00:00Z'))", {"b-range"}},
      {"T_BEFORE(datetime, TIMESTAMP('2021-01-02T00:00:00Z'))", {"a00"}},
      {"datetime > TIMESTAMP('2021-01-11T00:00:00Z') AND collection = 'a'", {"a10", "a11"}},
      {"A_CONTAINS(keywords, ('x'))", {"a00", "a03", "a06", "a09"}},
      {"A_OVERLAPS(keywords, ('x', 'z')) AND eo:cloud_cover > 20", {"a06", "a09"}},
      {"no_such_property = 1", {}},
      {json::parse(R"({"op": "and", "args": [{"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]},
                                           {"op": "=", "args": [{"property": "collection"}, "a"]}]})"),
       {"a00", "a01"}},
  };
  for (const auto& [filter, expected] : cases) {
    auto ids = ids_of(search({{"filter", filter}, {"limit", 100}}));
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, expected) << filter.dump();
  }
  // An unknown property is null everywhere, so isNull matches every item.
  EXPECT_EQ(
      search({{"filter", json::parse(R"({"op": "isNull", "args": [{"property": "missing"}]})")}})["numberMatched"], 15);
}

TEST_P(CatalogConformance, SqlFiltersAgreeWithTheInMemoryEvaluator) {
  load_standard_items();
  const auto everything = search({{"limit", 1000}})["features"];
  const char* filters[] = {
      "eo:cloud_cover <> 15",
      "NOT (eo:cloud_cover < 30)",
      "platform NOT LIKE '%2a'",
      "eo:cloud_cover NOT BETWEEN 10 AND 30",
      "NOT eo:cloud_cover IN (0, 5, 10)",
      "eo:cloud_cover IS NOT NULL",
      "T_DURING(datetime, INTERVAL('2021-01-03T00:00:00Z', '2021-01-06T00:00:00Z'))",
      "T_AFTER(datetime, TIMESTAMP('2021-01-10T10:00:00Z'))",
      "T_DISJOINT(datetime, INTERVAL('2021-01-02T00:00:00Z', '2021-03-01T00:00:00Z'))",
      "A_EQUALS(keywords, ('y'))",
      "A_CONTAINEDBY(keywords, ('x', 'y', 'z'))",
      "S_DISJOINT(geometry, POINT(25 25))",
      "S_CONTAINS(geometry, POINT(10.5 40.5))",
      "ACCENTI(platform) = 'sentinel-2a'",
  };
  for (const char* text : filters) {
    const auto expr = tessera::cql2::parse_text(text);
    std::vector<std::string> expected;
    for (const auto& item : everything) {
      if (tessera::cql2::evaluate(expr, item)) {
        expected.push_back(item["id"].get<std::string>());
      }
    }
    std::sort(expected.begin(), expected.end());
    auto ids = ids_of(search({{"filter", text}, {"filter-lang", "cql2-text"}, {"limit", 1000}}));
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, expected) << text;
  }
}

TEST_P(CatalogConformance, BadSearchRequestsAreInvalidInput) {
  load_standard_items();
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"bbox", {1, 2, 3}}}, "bbox"},
      {{{"bbox", {0, 10, 1, 5}}}, "south"},
      {{{"datetime", "yesterday"}}, "datetime"},
      {{{"datetime", "2021-02-01T00:00:00Z/2021-01-01T00:00:00Z"}}, "ends before"},
      {{{"limit", 0}}, "limit"},
      {{{"limit", 1000000}}, "maximum"},
      {{{"bboxx", {0, 0, 1, 1}}}, "unknown search parameter"},
      {{{"filter", "eo:cloud_cover <"}}, "CQL2"},
      {{{"filter", {{"op", "nope"}, {"args", json::array()}}}}, "nope"},
      {{{"filter", "a = 1"}, {"filter-lang", "cql2-json"}}, "filter-lang"},
      {{{"sortby", {{{"field", "id"}, {"direction", "up"}}}}}, "direction"},
      {{{"token", "garbage!"}}, "token"},
      {{{"token", "eyJmb28iOjF9"}}, "token"},
      {{{"intersects", {{"type", "Point"}}}}, "intersects"},
      {{{"bbox", {0, 0, 1, 1}}, {"intersects", {{"type", "Point"}, {"coordinates", {0, 0}}}}}, "bbox"},
      {json::parse(R"({"query": {"eo:cloud_cover": {"lt": [10]}}})"), "query.eo:cloud_cover.lt"},
      {json::parse(R"({"query": {"eo:cloud_cover": {"below": 10}}})"), "unknown operator 'below'"},
      {json::parse(R"({"query": {"platform": {"startsWith": 1}}})"), "query.platform.startsWith: expected a string"},
      {json::parse(R"({"query": {"platform": {"in": []}}})"), "query.platform.in"},
      {json::parse(R"({"query": {"platform": {"in": ["a", 1]}}})"), "query.platform.in[1]"},
      {json::parse(R"({"query": "{not json"})"), "query: is not JSON"},
      {json::parse(R"({"query": []})"), "query: expected an object"},
  };
  for (const auto& [request, fragment] : cases) {
    expect_error([&] { search(request); }, ErrorCode::kInvalidInput, fragment);
  }
  // A polygon of one vertex more than CatalogOptions::max_geometry_vertices
  // (a circle), as intersects and inside a filter; one vertex fewer passes.
  auto circle = [](int vertices) {
    json ring = json::array();
    for (int n = 0; n < vertices - 1; ++n) {
      const double angle = 2 * M_PI * n / (vertices - 1);
      ring.push_back({10 + std::cos(angle), 40 + std::sin(angle)});
    }
    ring.push_back(ring[0]);
    return json{{"type", "Polygon"}, {"coordinates", {ring}}};
  };
  const auto limit = static_cast<int>(tessera::CatalogOptions{}.max_geometry_vertices);
  expect_error(
      [&] {
        search({{"intersects", circle(limit + 1)}});
      },
      ErrorCode::kInvalidInput,
      "intersects: its geometries have 100001 vertices, more than this catalog's maximum of 100000");
  const json filter = {{"op", "s_intersects"}, {"args", {{{"property", "geometry"}}, circle(limit + 1)}}};
  expect_error([&] { search({{"filter", filter}}); }, ErrorCode::kInvalidInput, "filter: its geometries have 100001");
  EXPECT_FALSE(ids_of(search({{"intersects", circle(limit)}})).empty());
}

TEST_P(CatalogConformance, InjectionAttemptsChangeNothing) {
  load_standard_items();
  const std::vector<std::string> payloads = {"'; DROP TABLE items; --",
                                             "\"; DROP TABLE items; --",
                                             "a') OR 1=1 --",
                                             "x\" OR \"1\"=\"1",
                                             "$.properties",
                                             "properties.\"eo:cloud_cover\"')) OR 1=1 --",
                                             "%' OR '1'='1",
                                             "\\\""};
  for (const auto& payload : payloads) {
    EXPECT_TRUE(ids_of(search({{"ids", {payload}}})).empty()) << payload;
    EXPECT_TRUE(ids_of(search({{"collections", {payload}}})).empty()) << payload;
    // As a property name: unknown, so null, so no match; as a value: no match.
    json by_name = {{"op", "="}, {"args", {{{"property", payload}}, 1}}};
    EXPECT_TRUE(ids_of(search({{"filter", by_name}})).empty()) << payload;
    json by_value = {{"op", "="}, {"args", {{{"property", "platform"}}, payload}}};
    EXPECT_TRUE(ids_of(search({{"filter", by_value}})).empty()) << payload;
    json like = {{"op", "like"}, {"args", {{{"property", "platform"}}, payload}}};
    EXPECT_TRUE(ids_of(search({{"filter", like}})).empty()) << payload;
    EXPECT_EQ(search({{"sortby", {{{"field", payload}}}}, {"limit", 1}})["numberMatched"], 15) << payload;
    expect_error([&] { catalog_->get_item(payload, payload); }, ErrorCode::kNotFound);
  }
  // NUL characters cannot be stored, so searching for them is refused.
  const std::string nul("a\0b", 3);
  expect_error([&] { search({{"ids", {nul}}}); }, ErrorCode::kInvalidInput, "NUL");
  expect_error(
      [&] {
        search({{"filter", {{"op", "="}, {"args", {{{"property", nul}}, 1}}}}});
      },
      ErrorCode::kInvalidInput, "NUL");
  EXPECT_EQ(search(json::object())["numberMatched"], 15);
  EXPECT_EQ(catalog_->collections().size(), 2U);
}

TEST_P(CatalogConformance, QueryablesListPropertiesWithTypes) {
  load_standard_items();
  const auto all = catalog_->queryables();
  EXPECT_EQ(all["type"], "object");
  EXPECT_EQ(all["properties"]["eo:cloud_cover"]["type"], "number");
  EXPECT_EQ(all["properties"]["platform"]["type"], "string");
  EXPECT_EQ(all["properties"]["keywords"]["type"], "array");
  EXPECT_EQ(all["properties"]["start_datetime"]["format"], "date-time");
  const auto b = catalog_->queryables("b");
  EXPECT_FALSE(b["properties"].contains("platform"));
  EXPECT_TRUE(b["properties"].contains("start_datetime"));
  expect_error([&] { catalog_->queryables("nope"); }, ErrorCode::kNotFound, "nope");
}

// --- Registered searches ------------------------------------------------------

TEST_P(CatalogConformance, RegisteredSearchesHavePgstacIds) {
  load_standard_items();
  // Ids pgstac 0.10's search_hash gives for these (computed by the server):
  // the same request has the same id on every backend.
  const json request = json::parse(R"({"collections": ["a"], "bbox": [1e-7, -0.0, 10, 40.5],
      "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]}, "filter-lang": "cql2-json",
      "sortby": [{"field": "datetime", "direction": "asc"}], "limit": 5})");
  const json metadata = {{"name", "\u00e9\n\"q\""}};
  const std::string id = catalog_->register_search(request, metadata);
  EXPECT_EQ(id, "f7ad0731b017f1946ba5264e2eb6e6ac");
  // (A PgSTAC database keeps searches from earlier runs: count from here.)
  const auto uses = catalog_->registered_search(id)["usecount"].get<std::int64_t>();
  EXPECT_EQ(catalog_->register_search({{"collections", {"a"}}}), "afcf32661ddbd6f1a4e953558c80a502");
  // Token, limit and context do not change the id; registering again counts a use.
  json again = request;
  again["limit"] = 50;
  again["context"] = false;
  EXPECT_EQ(catalog_->register_search(again, metadata), id);
  const json described = catalog_->registered_search(id);
  EXPECT_EQ(described["id"], id);
  EXPECT_EQ(described["metadata"], metadata);
  EXPECT_EQ(described["usecount"], uses + 1);
  EXPECT_FALSE(described["search"].contains("limit"));
  EXPECT_EQ(described["search"]["collections"], json::array({"a"}));
  EXPECT_TRUE(tessera::parse_rfc3339_micros(described["lastused"].get<std::string>()).has_value());
  // A stored search runs as the original did.
  json stored = described["search"];
  stored["limit"] = 100;
  EXPECT_EQ(ids_of(search(stored)), ids_of(search(json{{"collections", {"a"}},
                                                       {"bbox", {1e-7, -0.0, 10, 40.5}},
                                                       {"filter", request["filter"]},
                                                       {"sortby", request["sortby"]},
                                                       {"limit", 100}})));

  // CQL2 text is stored as CQL2-JSON (pgstac reads only JSON).
  const std::string text_id =
      catalog_->register_search({{"collections", {"a"}}, {"filter", "\"eo:cloud_cover\" < 20"}});
  const json text_search = catalog_->registered_search(text_id)["search"];
  EXPECT_EQ(text_search["filter-lang"], "cql2-json");
  EXPECT_EQ(text_search["filter"]["op"], "<");

  std::vector<std::string> listed;
  for (const auto& entry : catalog_->registered_searches()) {
    listed.push_back(entry["id"].get<std::string>());
  }
  for (const auto& expected : {id, text_id, std::string("afcf32661ddbd6f1a4e953558c80a502")}) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), expected), listed.end()) << expected;
  }

  expect_error([&] { catalog_->registered_search("0123456789abcdef0123456789abcdef"); }, ErrorCode::kNotFound,
               "0123456789abcdef0123456789abcdef");
  expect_error([&] { catalog_->register_search({{"bbox", {1, 2, 3}}}); }, ErrorCode::kInvalidInput, "bbox");
  expect_error(
      [&] {
        catalog_->register_search({{"collections", {"a"}}}, json::array());
      },
      ErrorCode::kInvalidInput, "metadata");
}

// Named locks: one owner at a time, renewable by their owner, and a renewal
// says Conflict once the hold is lost (released, or on PostgreSQL the
// session holding it terminated).
TEST_P(CatalogConformance, LocksExcludeRenewAndReportLoss) {
  const auto lease = std::chrono::seconds(60);
  ASSERT_TRUE(catalog_->try_lock("job/a", "owner-1", lease));
  EXPECT_FALSE(catalog_->try_lock("job/a", "owner-2", lease));
  EXPECT_NO_THROW(catalog_->renew_lock("job/a", "owner-1", lease));
  if (GetParam().name == "pgstac") {
    // The server ends the session holding the advisory lock (as a dropped
    // connection would): the hold is gone, and renewing says so.
    const std::string command = fmt::format(
        "psql -q -X '{}' -c \"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
        "AND pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = "
        "current_database())\" >/dev/null",
        tessera::testing::pgstac_test_url());
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    expect_error([&] { catalog_->renew_lock("job/a", "owner-1", lease); }, ErrorCode::kConflict, "was lost");
  } else {
    catalog_->unlock("job/a", "owner-1");
    expect_error([&] { catalog_->renew_lock("job/a", "owner-1", lease); }, ErrorCode::kConflict, "job/a");
  }
  EXPECT_TRUE(catalog_->try_lock("job/a", "owner-2", lease));
  catalog_->unlock("job/a", "owner-2");
}

// --- pgstac's filter forms, the query extension, typed queryables -------------

namespace {

// pgstac's own search(body) on the test process's pgstac database: the ids it returns.
std::vector<std::string> pgstac_search_ids(const json& body) {
  PGconn* connection = PQconnectdb(tessera::testing::pgstac_test_url().c_str());
  std::vector<std::string> ids;
  const std::string text = body.dump();
  const char* values[] = {text.c_str()};
  PGresult* result = PQexecParams(connection, "SELECT search($1::jsonb)", 1, nullptr, values, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
  const std::string error = ok ? "" : PQresultErrorMessage(result);
  json page = ok ? json::parse(PQgetvalue(result, 0, 0)) : json();
  PQclear(result);
  PQfinish(connection);
  if (!ok) {
    throw std::runtime_error("pgstac search(" + text + "): " + error);
  }
  for (const auto& feature : page["features"]) {
    ids.push_back(feature["id"].get<std::string>());
  }
  return ids;
}

void pgstac_exec(const std::string& sql) {
  PGconn* connection = PQconnectdb(tessera::testing::pgstac_test_url().c_str());
  PGresult* result = PQexec(connection, sql.c_str());
  const auto status = PQresultStatus(result);
  const std::string error = PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(connection);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + error);
  }
}

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The filter forms pgstac reads beside strict CQL2 (its cql2_query,
// cql1_to_cql2, temporal_operand, spatial_op_query and cql2_ops in
// pgstac 0.10, and the searches of its test suite), with the ids of
// collection "a" each selects. `pgstac` marks the ones pgstac 0.10 itself
// answers, compared with its own search() when the backend is PgSTAC.
struct FilterForm {
  const char* name;
  json filter;
  std::vector<std::string> expected;
  bool pgstac = true;
};

std::vector<FilterForm> filter_forms() {
  const json cc = {{"property", "eo:cloud_cover"}};
  const json dt = {{"property", "datetime"}};
  const json platform = {{"property", "platform"}};
  const json keywords = {{"property", "keywords"}};
  const std::vector<std::string> even = {"a00", "a02", "a04", "a06", "a08", "a10"};
  const std::vector<std::string> odd = {"a01", "a03", "a05", "a07", "a09", "a11"};
  return {
      {"cql1 eq", {{"eq", {cc, 10}}}, {"a02"}},
      {"cql1 lt", {{"lt", {cc, 10}}}, {"a00", "a01"}},
      {"cql1 members are ANDed", {{"eq", {platform, "sentinel-2a"}}, {"lt", {cc, 20}}}, {"a00", "a02"}},
      {"cql1 nested", {{"and", {{{"eq", {platform, "sentinel-2a"}}}, {{"lt", {cc, 20}}}}}}, {"a00", "a02"}},
      {"cql1 anyinteracts with an array interval",
       {{"anyinteracts", {dt, {"2021-01-02T00:00:00Z", "2021-01-03T23:00:00Z"}}}},
       {"a01", "a02"}},
      {"op eq", {{"op", "eq"}, {"args", {cc, 10}}}, {"a02"}},
      {"op neq",
       {{"op", "neq"}, {"args", {cc, 0}}},
       {"a01", "a02", "a03", "a04", "a05", "a06", "a07", "a08", "a09", "a10"}},
      {"op ne",
       {{"op", "ne"}, {"args", {cc, 50}}},
       {"a00", "a01", "a02", "a03", "a04", "a05", "a06", "a07", "a08", "a09"}},
      {"op !=",
       {{"op", "!="}, {"args", {cc, 50}}},
       {"a00", "a01", "a02", "a03", "a04", "a05", "a06", "a07", "a08", "a09"}},
      {"op lte", {{"op", "lte"}, {"args", {cc, 5}}}, {"a00", "a01"}},
      {"op le", {{"op", "le"}, {"args", {cc, 5}}}, {"a00", "a01"}},
      {"op gt", {{"op", "gt"}, {"args", {cc, 45}}}, {"a10"}},
      {"op gte", {{"op", "gte"}, {"args", {cc, 45}}}, {"a09", "a10"}},
      {"op ge", {{"op", "ge"}, {"args", {cc, 45}}}, {"a09", "a10"}},
      {"op upper-case T_INTERSECTS",
       {{"op", "T_INTERSECTS"}, {"args", {dt, {{"interval", {"2021-01-02T00:00:00Z", "2021-01-03T23:00:00Z"}}}}}},
       {"a01", "a02"}},
      {"t_intersects string interval",
       {{"op", "t_intersects"}, {"args", {dt, "2021-01-02T00:00:00Z/2021-01-03T23:00:00Z"}}},
       {"a01", "a02"}},
      {"t_intersects a date is its day", {{"op", "t_intersects"}, {"args", {dt, "2021-01-05"}}}, {"a04"}},
      {"t_intersects date interval ends with its day",
       {{"op", "t_intersects"}, {"args", {dt, "2021-01-05/2021-01-06"}}},
       {"a04", "a05"}},
      {"t_intersects open start", {{"op", "t_intersects"}, {"args", {dt, "../2021-01-02"}}}, {"a00", "a01"}},
      {"t_intersects open end", {{"op", "t_intersects"}, {"args", {dt, "2021-01-11/.."}}}, {"a10", "a11"}},
      {"t_intersects empty end", {{"op", "t_intersects"}, {"args", {dt, "2021-01-11/"}}}, {"a10", "a11"}},
      {"t_intersects duration after",
       {{"op", "t_intersects"}, {"args", {dt, "2021-01-02T00:00:00Z/P2D"}}},
       {"a01", "a02"}},
      {"t_intersects duration before", {{"op", "t_intersects"}, {"args", {dt, "P1D/2021-01-03"}}}, {"a02"}},
      {"t_intersects duration in hours",
       {{"op", "t_intersects"}, {"args", {dt, "2021-01-02T09:00:00Z/PT2H"}}},
       {"a01"}},
      {"t_intersects array interval",
       {{"op", "t_intersects"}, {"args", {dt, {"2021-01-02", "2021-01-03"}}}},
       {"a01", "a02"}},
      {"t_intersects timestamp string", {{"op", "t_intersects"}, {"args", {dt, "2021-01-03T10:00:00Z"}}}, {"a02"}},
      {"t_before a date string", {{"op", "t_before"}, {"args", {dt, "2021-01-02"}}}, {"a00"}},
      {"t_after a date string", {{"op", "t_after"}, {"args", {dt, "2021-01-11"}}}, {"a11"}},
      {"comparison with a timestamp string",
       {{"op", "gte"}, {"args", {{{"property", "start_datetime"}}, "2021-01-11T00:00:00Z"}}},
       {"a10", "a11"}},
      {"a_contains a scalar", {{"op", "a_contains"}, {"args", {keywords, "x"}}}, {"a00", "a03", "a06", "a09"}},
      {"a_contained_by",
       {{"op", "a_contained_by"}, {"args", {keywords, json::array({"y"})}}},
       {"a01", "a02", "a04", "a05", "a07", "a08", "a10", "a11"}},
      // CQL2's own name, which pgstac 0.10 refuses ("Operator a_containedby Not Supported").
      {"a_containedBy",
       {{"op", "a_containedBy"}, {"args", {keywords, json::array({"y"})}}},
       {"a01", "a02", "a04", "a05", "a07", "a08", "a10", "a11"},
       false},
      {"intersects",
       {{"op", "intersects"},
        {"args",
         {{{"property", "geometry"}},
          {{"type", "Polygon"},
           {"coordinates", {{{11.5, 40.5}, {12.5, 40.5}, {12.5, 41.5}, {11.5, 41.5}, {11.5, 40.5}}}}}}}},
       {"a01", "a02", "a05", "a06"}},
      {"s_intersects a bbox array",
       {{"op", "s_intersects"}, {"args", {{{"property", "geometry"}}, {11.5, 40.5, 12.5, 41.5}}}},
       {"a01", "a02", "a05", "a06"}},
      {"ilike", {{"op", "ilike"}, {"args", {platform, "SENTINEL-2A"}}}, even},
      {"ilike pattern", {{"op", "ilike"}, {"args", {platform, "%2B"}}}, odd},
      {"upper objects", {{"op", "eq"}, {"args", {{{"upper", platform}}, {{"upper", "sentinel-2b"}}}}}, odd},
      {"lower objects", {{"op", "eq"}, {"args", {{{"lower", platform}}, "sentinel-2b"}}}, odd},
      {"upper operation",
       {{"op", "eq"}, {"args", {{{"op", "upper"}, {"args", json::array({platform})}}, "SENTINEL-2A"}}},
       even},
      {"casei",
       {{"op", "eq"},
        {"args",
         {{{"op", "casei"}, {"args", json::array({platform})}},
          {{"op", "casei"}, {"args", json::array({"SENTINEL-2A"})}}}}},
       even},
      {"filter wrapper", {{"filter", {{"op", "="}, {"args", {cc, 10}}}}}, {"a02"}},
      {"between strings", {{"op", "between"}, {"args", {platform, "sentinel-2a", "sentinel-2a~"}}}, even},
      {"between timestamps",
       {{"op", "between"}, {"args", {dt, "2021-01-02T00:00:00Z", "2021-01-03T23:00:00Z"}}},
       {"a01", "a02"}},
      {"in", {{"op", "in"}, {"args", {cc, {10, 20}}}}, {"a02", "a04"}},
      // Read by pgstac's test suite (its Example 9); pgstac 0.10 itself now refuses it.
      {"args not an array", {{"op", "isNull"}, {"args", cc}}, {"a11"}, false},
  };
}

}  // namespace

TEST_P(CatalogConformance, PgstacFilterForms) {
  load_standard_items();
  const bool on_pgstac = GetParam().name == "pgstac";
  for (const auto& form : filter_forms()) {
    SCOPED_TRACE(form.name);
    const json request = {{"collections", {"a"}}, {"filter", form.filter}, {"limit", 100}};
    EXPECT_EQ(sorted(ids_of(search(request))), form.expected) << form.filter.dump();
    // filter-lang cql-json reads the same.
    EXPECT_EQ(sorted(ids_of(search(
                  {{"collections", {"a"}}, {"filter", form.filter}, {"filter-lang", "cql-json"}, {"limit", 100}}))),
              form.expected);
    if (on_pgstac && form.pgstac) {
      EXPECT_EQ(sorted(pgstac_search_ids(request)), form.expected) << "pgstac's own search(): " << request.dump();
    }
  }
  // Forms pgstac refuses are InvalidInput naming where.
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"op", "t_intersects"}, {"args", {{{"property", "datetime"}}, "2021-01-02/2021-01-01"}}}, "starts after"},
      {{{"op", "t_intersects"}, {"args", {{{"property", "datetime"}}, "P1D/P2D"}}}, "duration must be paired"},
      {{{"op", "t_intersects"}, {"args", {{{"property", "datetime"}}, "2021-01-02/P1X"}}}, "ISO 8601 duration"},
      {{{"op", "t_intersects"}, {"args", {{{"property", "datetime"}}, "yesterday"}}}, "filter.args[1]"},
      {{{"op", "t_intersects"}, {"args", {{{"property", "datetime"}}, json::array({"2021-01-02"})}}}, "2 ends"},
      {{{"op", "ilike"}, {"args", {{{"property", "platform"}}, 5}}}, "filter.args[1]"},
      {{{"eq", {{{"property", "x"}}, 1}}, {"frobnicate", 1}}, "is not an expression"},
      {{{"upper", {{"property", "platform"}}}}, "predicate"},
  };
  for (const auto& [filter, fragment] : bad) {
    expect_error([&] { search({{"filter", filter}}); }, ErrorCode::kInvalidInput, fragment);
  }
}

TEST_P(CatalogConformance, DatetimeAsPgstacReadsIt) {
  load_standard_items();
  // A date alone is its whole day, and so is a date ending an interval.
  EXPECT_EQ(ids_of(search({{"datetime", "2021-01-03"}})), std::vector<std::string>{"a02"});
  EXPECT_EQ(ids_of(search({{"datetime", "2021-01-02/2021-01-03"}})), (std::vector<std::string>{"a02", "a01"}));
  EXPECT_EQ(ids_of(search({{"datetime", {"2021-01-02T00:00:00Z", "2021-01-03T23:00:00Z"}}})),
            (std::vector<std::string>{"a02", "a01"}));
  EXPECT_EQ(ids_of(search({{"datetime", {nullptr, "2021-01-01"}}})), std::vector<std::string>{"a00"});
  expect_error([&] { search({{"datetime", json::array({"2021-01-01"})}}); }, ErrorCode::kInvalidInput, "2 ends");
}

TEST_P(CatalogConformance, QueryExtension) {
  load_standard_items();
  const bool on_pgstac = GetParam().name == "pgstac";
  struct Case {
    json query;
    std::vector<std::string> expected;
    bool pgstac = true;  // pgstac 0.10 answers it (its query_to_cql2 has no LIKE forms)
  };
  const std::vector<Case> cases = {
      {{{"eo:cloud_cover", {{"lt", 10}}}}, {"a00", "a01"}},
      {{{"properties.eo:cloud_cover", {{"lte", 5}}}}, {"a00", "a01"}},
      {{{"platform", {{"eq", "sentinel-2a"}}}, {"eo:cloud_cover", {{"gte", 40}}}}, {"a08", "a10"}},
      {{{"platform", "sentinel-2b"}, {"eo:cloud_cover", {{"lte", 10}}}}, {"a01"}},
      {{{"eo:cloud_cover", {{"neq", 5}, {"lt", 15}}}}, {"a00", "a02"}},
      {{{"eo:cloud_cover", {{"gt", 45}}}}, {"a10"}},
      {{{"eo:cloud_cover", {{"in", {0, 5, 50}}}}}, {"a00", "a01", "a10"}},
      {{{"platform", {{"in", json::array({"sentinel-2b"})}}}, {"eo:cloud_cover", {{"lt", 20}}}}, {"a01", "a03"}},
      {{{"platform", {{"startsWith", "sentinel-2"}}}, {"eo:cloud_cover", {{"lt", 10}}}}, {"a00", "a01"}, false},
      {{{"platform", {{"endsWith", "2b"}}}, {"eo:cloud_cover", {{"lt", 20}}}}, {"a01", "a03"}, false},
      {{{"platform", {{"contains", "l-2"}}}, {"eo:cloud_cover", {{"lt", 10}}}}, {"a00", "a01"}, false},
      {{{"platform", {{"contains", "%"}}}}, {}, false},  // LIKE's wildcards are literal
      {{{"datetime", {{"gte", "2021-01-11T00:00:00Z"}}}}, {"a10", "a11"}},
  };
  for (const auto& [query, expected, pgstac] : cases) {
    const json request = {{"collections", {"a"}}, {"query", query}, {"limit", 100}};
    EXPECT_EQ(sorted(ids_of(search(request))), expected) << query.dump();
    // As a GET parameter gives it: the JSON text.
    EXPECT_EQ(sorted(ids_of(search({{"collections", {"a"}}, {"query", query.dump()}, {"limit", 100}}))), expected)
        << query.dump();
    if (on_pgstac && pgstac) {
      EXPECT_EQ(sorted(pgstac_search_ids(request)), expected) << "pgstac's own search(): " << request.dump();
    }
  }
  // ANDed with a filter.
  EXPECT_EQ(sorted(ids_of(search({{"collections", {"a"}},
                                  {"filter", "platform = 'sentinel-2a'"},
                                  {"query", {{"eo:cloud_cover", {{"lt", 20}}}}},
                                  {"limit", 100}}))),
            (std::vector<std::string>{"a00", "a02"}));
  // Page tokens keep it.
  json page = search({{"query", {{"eo:cloud_cover", {{"lt", 30}}}}}, {"limit", 2}, {"sortby", "id"}});
  std::vector<std::string> seen = ids_of(page);
  while (page.contains("next")) {
    page = search({{"token", page["next"]}});
    const auto ids = ids_of(page);
    seen.insert(seen.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a00", "a01", "a02", "a03", "a04", "a05"}));
}

TEST_P(CatalogConformance, IndexedPropertiesSortByTheirTypeWhoeverLoadedThem) {
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

// Issue 17: a property whose queryable type is number compares and sorts as
// a number on both backends, as pgstac reads it through to_float: string
// literals are read as numbers, and so is a string value among the numbers.
TEST_P(CatalogConformance, NumberPropertiesCompareAsNumbersWithStringLiterals) {
  const bool on_pgstac = GetParam().name == "pgstac";
  catalog_->upsert_collection(make_collection("t"));
  std::vector<json> numbers;
  for (const int cover : {0, 5, 10, 15}) {
    numbers.push_back(
        make_item(fmt::format("i{}", cover / 5), "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"eo:cloud_cover", cover}}));
  }
  ASSERT_EQ(catalog_->load(numbers).loaded, 4U);  // the queryable is a number (pgstac registers the first type)
  ASSERT_EQ(catalog_->load({make_item("s", "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"eo:cloud_cover", "10"}})}).loaded,
            1U);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"("eo:cloud_cover" = '10')", {"i2", "s"}},
      {R"(NOT ("eo:cloud_cover" = '10'))", {"i0", "i1", "i3"}},
      {R"("eo:cloud_cover" <> '10')", {"i0", "i1", "i3"}},
      {R"("eo:cloud_cover" < '10')", {"i0", "i1"}},
      {R"("eo:cloud_cover" <= '10')", {"i0", "i1", "i2", "s"}},
      {R"("eo:cloud_cover" > '5')", {"i2", "i3", "s"}},
      {R"("eo:cloud_cover" >= '10.0')", {"i2", "i3", "s"}},
      {R"("eo:cloud_cover" = 10)", {"i2", "s"}},
      {R"("eo:cloud_cover" < 10)", {"i0", "i1"}},
      {R"("eo:cloud_cover" = ' 1e1 ')", {"i2", "s"}},  // PostgreSQL's float input
      {R"("eo:cloud_cover" BETWEEN '5' AND '10')", {"i1", "i2", "s"}},
      {R"("eo:cloud_cover" NOT BETWEEN '5' AND '10')", {"i0", "i3"}},
      {R"("eo:cloud_cover" IN ('10', '15'))", {"i2", "i3", "s"}},
      {R"("eo:cloud_cover" IN (0, 10))", {"i0", "i2", "s"}},
      {R"("eo:cloud_cover" IS NULL)", {}},
  };
  for (const auto& [text, expected] : cases) {
    for (const json& collections : {json::array({"t"}), json::array()}) {
      json request = {{"filter", text}, {"filter-lang", "cql2-text"}, {"limit", 100}};
      if (!collections.empty()) {
        request["collections"] = collections;
      }
      EXPECT_EQ(sorted(ids_of(search(request))), expected) << request.dump();
      if (on_pgstac) {
        json body = request;
        body.erase("filter-lang");
        body["filter"] = tessera::cql2::text_to_json(text);
        EXPECT_EQ(sorted(pgstac_search_ids(body)), expected) << "pgstac's own search(): " << body.dump();
      }
    }
  }
  // The query extension with string values, as stac-api-validator sends them.
  const std::vector<std::pair<json, std::vector<std::string>>> queries = {
      {{{"eo:cloud_cover", {{"eq", "10"}}}}, {"i2", "s"}},
      {{{"eo:cloud_cover", "10"}}, {"i2", "s"}},
      {{{"eo:cloud_cover", {{"neq", "10"}}}}, {"i0", "i1", "i3"}},
      {{{"eo:cloud_cover", {{"lt", "10"}}}}, {"i0", "i1"}},
      {{{"eo:cloud_cover", {{"gte", "5"}, {"lte", "10"}}}}, {"i1", "i2", "s"}},
      {{{"eo:cloud_cover", {{"gt", "10"}}}}, {"i3"}},
      {{{"eo:cloud_cover", {{"in", {"10", "15"}}}}}, {"i2", "i3", "s"}},
  };
  for (const auto& [query, expected] : queries) {
    const json request = {{"collections", {"t"}}, {"query", query}, {"limit", 100}};
    EXPECT_EQ(sorted(ids_of(search(request))), expected) << query.dump();
    if (on_pgstac) {
      EXPECT_EQ(sorted(pgstac_search_ids(request)), expected) << "pgstac's own search(): " << request.dump();
    }
  }
  // Sorting reads "10" as 10 too (ties go by collection and id in the first key's direction).
  const std::vector<std::string> ascending = {"i0", "i1", "i2", "s", "i3"};
  const std::vector<std::string> descending = {"i3", "s", "i2", "i1", "i0"};
  EXPECT_EQ(ids_of(search({{"sortby", "+eo:cloud_cover"}})), ascending);
  EXPECT_EQ(ids_of(search({{"sortby", "-eo:cloud_cover"}})), descending);
  if (on_pgstac) {
    EXPECT_EQ(pgstac_search_ids({{"sortby", {{{"field", "eo:cloud_cover"}, {"direction", "asc"}}}}}), ascending);
    EXPECT_EQ(pgstac_search_ids({{"sortby", {{{"field", "eo:cloud_cover"}, {"direction", "desc"}}}}}), descending);
  }
  for (const char* sortby : {"+eo:cloud_cover", "-eo:cloud_cover"}) {
    json page = search({{"sortby", sortby}, {"limit", 2}, {"filter", "\"eo:cloud_cover\" >= '5'"}});
    std::vector<std::string> seen = ids_of(page);
    while (page.contains("next")) {
      page = search({{"token", page["next"]}});
      const auto ids = ids_of(page);
      seen.insert(seen.end(), ids.begin(), ids.end());
    }
    std::vector<std::string> expected = sortby[0] == '+' ? ascending : descending;
    std::erase(expected, "i0");
    EXPECT_EQ(seen, expected) << sortby;
  }
  // A literal that is not a number: InvalidInput naming it (pgstac: "invalid
  // input syntax for type double precision").
  for (const json& request :
       {json({{"filter", "\"eo:cloud_cover\" = 'abc'"}}), json({{"filter", "\"eo:cloud_cover\" IN ('1', 'abc')"}}),
        json({{"query", {{"eo:cloud_cover", {{"lt", "abc"}}}}}})}) {
    expect_error([&] { search(request); }, ErrorCode::kInvalidInput, "abc");
  }
  if (!on_pgstac) {
    expect_error(
        [&] {
          search({{"filter", "\"eo:cloud_cover\" = 'abc'"}});
        },
        ErrorCode::kInvalidInput,
        "'eo:cloud_cover' compares as a number (its queryable type), and string 'abc' is not a number");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogConformance, ::testing::ValuesIn(tessera::testing::catalog_backends(true)),
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
