// The catalog conformance suite, read part: the same queries with the same
// expected ids in the same order on every backend, including a remote STAC
// API serving a local catalog (each case loads its items into the local
// catalog, which is the one searched unless the backend is remote).
// Instantiated by test_catalog.cpp for the local backends and by
// test_catalog_stac_api.cpp for remote ones; the write part is in
// test_catalog.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog_conformance.hpp"
#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::ErrorCode;
using tessera::testing::CatalogReadConformance;
using tessera::testing::expect_error;
using tessera::testing::ids_of;
using tessera::testing::kPagingOrders;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::pages_of;
using tessera::testing::pgstac_search_ids;
using tessera::testing::sorted;

// --- Search --------------------------------------------------------------------

TEST_P(CatalogReadConformance, DefaultOrderIsDatetimeDescending) {
  load_standard_items();
  const auto result = search({{"collections", {"a"}}, {"limit", 3}});
  EXPECT_EQ(ids_of(result), (std::vector<std::string>{"a11", "a10", "a09"}));
  EXPECT_EQ(result["numberReturned"], 3);
  EXPECT_EQ(result["numberMatched"], 12);
  EXPECT_TRUE(result.contains("next"));
  EXPECT_FALSE(result.contains("prev"));
  EXPECT_EQ(search(json::object())["numberReturned"], 10);  // default limit
}

TEST_P(CatalogReadConformance, IdsCollectionsBboxIntersects) {
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

TEST_P(CatalogReadConformance, DatetimeInstantsIntervalsAndRanges) {
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

TEST_P(CatalogReadConformance, SortbyWithIdTieBreak) {
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

TEST_P(CatalogReadConformance, PagingVisitsEveryItemOnce) {
  load_standard_items();
  for (const json& sortby : kPagingOrders) {
    const auto all = ids_of(search({{"limit", 100}, {"sortby", sortby}}));
    ASSERT_EQ(all.size(), 15U);
    std::vector<std::string> seen;
    for (const auto& page : pages_of(*catalog_, {{"limit", 4}, {"sortby", sortby}})) {
      const auto ids = ids_of(page);
      seen.insert(seen.end(), ids.begin(), ids.end());
    }
    EXPECT_EQ(seen, all) << sortby.dump();
  }
}

TEST_P(CatalogReadConformance, PrevTokensWalkBackTheSamePages) {
  load_standard_items();
  for (const json& sortby : kPagingOrders) {
    const auto pages = pages_of(*catalog_, {{"limit", 4}, {"sortby", sortby}});
    ASSERT_GT(pages.size(), 2U);
    EXPECT_FALSE(pages[0].contains("prev"));
    for (std::size_t n = pages.size() - 1; n > 0; --n) {
      ASSERT_TRUE(pages[n].contains("prev"));
      const auto previous = search({{"token", pages[n]["prev"]}});
      EXPECT_EQ(ids_of(previous), ids_of(pages[n - 1])) << sortby.dump() << " page " << n;
    }
  }
}

TEST_P(CatalogReadConformance, ATokenAloneKeepsTheLimitAndFieldsOfItsPage) {
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

TEST_P(CatalogReadConformance, PagesNeitherSkipNorRepeatWhileItemsAreInserted) {
  load_standard_items();
  auto page = search({{"collections", {"a"}}, {"limit", 5}});
  std::vector<std::string> seen = ids_of(page);
  // New items sorting before and after the cursor arrive between pages.
  store().load({make_item("new-late", "a", "2030-01-01T00:00:00Z", 10, 40),
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

TEST_P(CatalogReadConformance, FieldsIncludeExclude) {
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

TEST_P(CatalogReadConformance, FieldsIncludeOfOneTopLevelMember) {
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

TEST_P(CatalogReadConformance, FieldsNullIsRefusedButNullMembersAreEmpty) {
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

TEST_P(CatalogReadConformance, FieldsExcludeStartsFromTheDefaultSetOnlyWhenIncludeIsGiven) {
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

TEST_P(CatalogReadConformance, FieldsExcludedParentKeepsIncludedChildren) {
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

TEST_P(CatalogReadConformance, FieldsRideAlongInPageTokens) {
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

TEST_P(CatalogReadConformance, ContextFalseSkipsNumberMatched) {
  load_standard_items();
  const auto result = search({{"context", false}, {"limit", 1}});
  EXPECT_FALSE(result.contains("numberMatched"));
  EXPECT_EQ(result["numberReturned"], 1);
}

TEST_P(CatalogReadConformance, Cql2FiltersInJsonAndText) {
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

TEST_P(CatalogReadConformance, SqlFiltersAgreeWithTheInMemoryEvaluator) {
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

TEST_P(CatalogReadConformance, BadSearchRequestsAreInvalidInput) {
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
    expect_error([&, &request = request] { search(request); }, ErrorCode::kInvalidInput, fragment);
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

TEST_P(CatalogReadConformance, InjectionAttemptsChangeNothing) {
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

TEST_P(CatalogReadConformance, QueryablesListPropertiesWithTypes) {
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

TEST_P(CatalogReadConformance, RegisteredSearchesHavePgstacIds) {
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
TEST_P(CatalogReadConformance, LocksExcludeRenewAndReportLoss) {
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

TEST_P(CatalogReadConformance, PgstacFilterForms) {
  load_standard_items();
  const bool on_pgstac = stored_in_pgstac();
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
    expect_error([&, &filter = filter] { search({{"filter", filter}}); }, ErrorCode::kInvalidInput, fragment);
  }
}

TEST_P(CatalogReadConformance, DatetimeAsPgstacReadsIt) {
  load_standard_items();
  // A date alone is its whole day, and so is a date ending an interval.
  EXPECT_EQ(ids_of(search({{"datetime", "2021-01-03"}})), std::vector<std::string>{"a02"});
  EXPECT_EQ(ids_of(search({{"datetime", "2021-01-02/2021-01-03"}})), (std::vector<std::string>{"a02", "a01"}));
  EXPECT_EQ(ids_of(search({{"datetime", {"2021-01-02T00:00:00Z", "2021-01-03T23:00:00Z"}}})),
            (std::vector<std::string>{"a02", "a01"}));
  EXPECT_EQ(ids_of(search({{"datetime", {nullptr, "2021-01-01"}}})), std::vector<std::string>{"a00"});
  expect_error([&] { search({{"datetime", json::array({"2021-01-01"})}}); }, ErrorCode::kInvalidInput, "2 ends");
}

TEST_P(CatalogReadConformance, QueryExtension) {
  load_standard_items();
  const bool on_pgstac = stored_in_pgstac();
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

// Issue 17: a property whose queryable type is number compares and sorts as
// a number on both backends, as pgstac reads it through to_float: string
// literals are read as numbers, and so is a string value among the numbers.
TEST_P(CatalogReadConformance, NumberPropertiesCompareAsNumbersWithStringLiterals) {
  const bool on_pgstac = stored_in_pgstac();
  store().upsert_collection(make_collection("t"));
  std::vector<json> numbers;
  for (const int cover : {0, 5, 10, 15}) {
    numbers.push_back(
        make_item(fmt::format("i{}", cover / 5), "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"eo:cloud_cover", cover}}));
  }
  ASSERT_EQ(store().load(numbers).loaded, 4U);  // the queryable is a number (pgstac registers the first type)
  ASSERT_EQ(store().load({make_item("s", "t", "2021-01-01T00:00:00Z", 0, 0, 1.0, {{"eo:cloud_cover", "10"}})}).loaded,
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
