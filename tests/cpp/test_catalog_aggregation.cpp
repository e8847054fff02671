// Catalog::aggregate (the STAC API aggregation extension): the same items and
// requests with the same answers on every backend, and hostile requests
// refused with InvalidInput naming what is wrong.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/aggregation.hpp"
#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/datetime.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::testing::make_collection;
using tessera::testing::make_item;

namespace {

class CatalogAggregation : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  void SetUp() override {
    catalog_ = GetParam().open(scratch_.path());
    catalog_->upsert_collection(make_collection("a"));
    catalog_->upsert_collection(make_collection("b"));
    // Collection a: six items over 2021-2022 with cloud cover, platform,
    // grid code and keywords; one centred on geohash u4pruydqqvj.
    const std::vector<std::string> datetimes = {"2021-01-05T10:00:00Z", "2021-01-20T23:59:59+02:00",
                                                "2021-02-03T00:00:00Z", "2021-02-28T12:00:00Z",
                                                "2021-04-01T00:00:00Z", "2022-01-01T00:00:00Z"};
    const std::vector<json> clouds = {0, 9.5, 10, 55, 100, nullptr};
    std::vector<json> items;
    for (std::size_t n = 0; n < datetimes.size(); ++n) {
      json properties = {{"platform", n % 2 == 0 ? "sentinel-2a" : "sentinel-2b"},
                         {"grid:code", n < 4 ? "MGRS-31UDQ" : "MGRS-32TLT"},
                         {"keywords", n % 3 == 0 ? json::array({"x", "y", "x"}) : json::array({"y"})},
                         {"sat:relative_orbit", n < 3 ? 8 : 108}};
      if (!clouds[n].is_null()) {
        properties["eo:cloud_cover"] = clouds[n];
      }
      const double x = n == 5 ? 10.40744 - 0.5 : 10.0 + static_cast<double>(n);
      const double y = n == 5 ? 57.64911 - 0.5 : 40.0;
      items.push_back(make_item(fmt::format("a{}", n), "a", datetimes[n], x, y, 1.0, properties));
    }
    // Collection b: a range item (datetime null) and one across the antimeridian.
    json range = make_item("b-range", "b", "2021-03-10T00:00:00Z", -20, -10, 2.0);
    range["properties"]["datetime"] = nullptr;
    range["properties"]["start_datetime"] = "2021-03-10T00:00:00Z";
    range["properties"]["end_datetime"] = "2023-06-30T00:00:00Z";
    items.push_back(range);
    json across = make_item("b-across", "b", "2020-12-31T00:00:00Z", 0, 0);
    across["geometry"] = {
        {"type", "MultiPolygon"},
        {"coordinates",
         json::array({json::array({json::array({{179, -1}, {180, -1}, {180, 1}, {179, 1}, {179, -1}})}),
                      json::array({json::array({{-180, -1}, {-179, -1}, {-179, 1}, {-180, 1}, {-180, -1}})})})}};
    across["bbox"] = {179, -1, -179, 1};
    items.push_back(across);
    const auto report = catalog_->load(items);
    ASSERT_EQ(report.loaded, items.size()) << report.to_json().dump();
  }

  json aggregate(json request) { return catalog_->aggregate(request); }

  // The one aggregation of `name` in an answer.
  static json one(const json& answer, const std::string& name) {
    for (const auto& aggregation : answer["aggregations"]) {
      if (aggregation["name"] == name) {
        return aggregation;
      }
    }
    ADD_FAILURE() << name << " is not in " << answer.dump();
    return nullptr;
  }

  // {key: frequency} of a distribution, in its order.
  static std::vector<std::pair<std::string, std::int64_t>> buckets(const json& aggregation) {
    std::vector<std::pair<std::string, std::int64_t>> result;
    for (const auto& bucket : aggregation["buckets"]) {
      result.emplace_back(bucket["key"].get<std::string>(), bucket["frequency"].get<std::int64_t>());
    }
    return result;
  }

  tessera::testing::TempDir scratch_;
  std::unique_ptr<tessera::Catalog> catalog_;
};

using Buckets = std::vector<std::pair<std::string, std::int64_t>>;

TEST_P(CatalogAggregation, TotalCountAloneAndWithAScanAgree) {
  const json alone = aggregate({{"aggregations", {"total_count"}}});
  EXPECT_EQ(alone["type"], "AggregationCollection");
  EXPECT_EQ(alone["aggregations"], json::parse(R"([{"name": "total_count", "data_type": "integer", "value": 8}])"));
  const json scanned = aggregate({{"aggregations", {"collection_frequency", "total_count"}}});
  EXPECT_EQ(one(scanned, "total_count")["value"], 8);
  // Names come back in the order asked for.
  EXPECT_EQ(scanned["aggregations"][0]["name"], "collection_frequency");
  EXPECT_EQ(buckets(one(scanned, "collection_frequency")), (Buckets{{"a", 6}, {"b", 2}}));
  EXPECT_EQ(one(scanned, "collection_frequency")["overflow"], 0);
  EXPECT_EQ(one(scanned, "collection_frequency")["frequency_distribution_data_type"], "string");
}

TEST_P(CatalogAggregation, SearchMembersRestrictTheItems) {
  EXPECT_EQ(one(aggregate({{"aggregations", {"total_count"}}, {"collections", {"b"}}}), "total_count")["value"], 2);
  EXPECT_EQ(one(aggregate({{"aggregations", {"total_count", "platform_frequency"}},
                           {"filter", "\"eo:cloud_cover\" >= 10"},
                           {"filter-lang", "cql2-text"}}),
                "total_count")["value"],
            3);
  EXPECT_EQ(one(aggregate({{"aggregations", {"total_count"}}, {"query", {{"eo:cloud_cover", {{"lt", 10}}}}}}),
                "total_count")["value"],
            2);
  EXPECT_EQ(one(aggregate({{"aggregations", {"collection_frequency"}}, {"bbox", {9, 39, 12.5, 41}}}),
                "collection_frequency")["buckets"],
            json::parse(R"([{"key": "a", "data_type": "string", "frequency": 3}])"));
  EXPECT_EQ(one(aggregate({{"aggregations", {"total_count", "datetime_min"}}, {"ids", {"a1", "a2"}}}),
                "datetime_min")["value"],
            "2021-01-20T21:59:59Z");
  const json none =
      aggregate({{"aggregations", {"total_count", "datetime_min", "spatial_extent", "collection_frequency"}},
                 {"collections", {"nothing-here"}}});
  EXPECT_EQ(one(none, "total_count")["value"], 0);
  EXPECT_TRUE(one(none, "datetime_min")["value"].is_null());
  EXPECT_TRUE(one(none, "spatial_extent")["value"].is_null());
  EXPECT_EQ(one(none, "collection_frequency")["buckets"], json::array());
}

TEST_P(CatalogAggregation, DatetimeMinMaxAndFrequency) {
  const json answer = aggregate({{"aggregations", {"datetime_min", "datetime_max", "datetime_frequency"}}});
  // A range item counts by its start for the minimum and the distribution,
  // by its end for the maximum.
  EXPECT_EQ(one(answer, "datetime_min")["value"], "2020-12-31T00:00:00Z");
  EXPECT_EQ(one(answer, "datetime_min")["data_type"], "datetime");
  EXPECT_EQ(one(answer, "datetime_max")["value"], "2023-06-30T00:00:00Z");
  const json monthly = one(answer, "datetime_frequency");
  EXPECT_EQ(monthly["frequency_distribution_data_type"], "datetime");
  EXPECT_EQ(buckets(monthly), (Buckets{{"2020-12-01T00:00:00Z", 1},
                                       {"2021-01-01T00:00:00Z", 2},
                                       {"2021-02-01T00:00:00Z", 2},
                                       {"2021-03-01T00:00:00Z", 1},
                                       {"2021-04-01T00:00:00Z", 1},
                                       {"2022-01-01T00:00:00Z", 1}}));
  EXPECT_EQ(monthly["buckets"][0]["data_type"], "datetime");
  EXPECT_EQ(buckets(one(aggregate({{"aggregations", {"datetime_frequency"}}, {"datetime_frequency_interval", "year"}}),
                        "datetime_frequency")),
            (Buckets{{"2020-01-01T00:00:00Z", 1}, {"2021-01-01T00:00:00Z", 6}, {"2022-01-01T00:00:00Z", 1}}));
  EXPECT_EQ(buckets(one(aggregate({{"aggregations", {"datetime_frequency"}},
                                   {"datetime_frequency_interval", "quarter"},
                                   {"collections", {"a"}}}),
                        "datetime_frequency")),
            (Buckets{{"2021-01-01T00:00:00Z", 4}, {"2021-04-01T00:00:00Z", 1}, {"2022-01-01T00:00:00Z", 1}}));
  // 2021-02-28 is a Sunday: its week began on Monday the 22nd.
  EXPECT_EQ(buckets(one(aggregate({{"aggregations", {"datetime_frequency"}},
                                   {"datetime_frequency_interval", "week"},
                                   {"ids", {"a3"}}}),
                        "datetime_frequency")),
            (Buckets{{"2021-02-22T00:00:00Z", 1}}));
  EXPECT_EQ(buckets(one(aggregate({{"aggregations", {"datetime_frequency"}},
                                   {"datetime_frequency_interval", "hour"},
                                   {"ids", {"a1"}}}),
                        "datetime_frequency")),
            (Buckets{{"2021-01-20T21:00:00Z", 1}}));
}

TEST_P(CatalogAggregation, CloudCoverInTenBuckets) {
  const json cloud = one(aggregate({{"aggregations", {"cloud_cover_frequency"}}}), "cloud_cover_frequency");
  ASSERT_EQ(cloud["buckets"].size(), 10U);
  EXPECT_EQ(cloud["buckets"][0], json::parse(R"({"key": "0.0-10.0", "data_type": "numeric", "frequency": 2,
                                                   "from": 0, "to": 10})"));
  EXPECT_EQ(cloud["buckets"][1]["frequency"], 1);  // 10
  EXPECT_EQ(cloud["buckets"][5]["frequency"], 1);  // 55
  EXPECT_EQ(cloud["buckets"][9]["frequency"], 1);  // 100 closes the last bucket
  EXPECT_EQ(cloud["buckets"][9]["to"], 100);
  EXPECT_EQ(cloud["overflow"], 0);
}

TEST_P(CatalogAggregation, CountsByProperty) {
  const json answer = aggregate({{"aggregations",
                                  {"platform_frequency", "grid_code_frequency", "keywords_frequency",
                                   "sat:relative_orbit_frequency", "properties.platform_frequency"}},
                                 {"collections", {"a"}}});
  EXPECT_EQ(buckets(one(answer, "platform_frequency")), (Buckets{{"sentinel-2a", 3}, {"sentinel-2b", 3}}));
  EXPECT_EQ(buckets(one(answer, "grid_code_frequency")), (Buckets{{"MGRS-31UDQ", 4}, {"MGRS-32TLT", 2}}));
  // An array counts its item once under each of its values.
  EXPECT_EQ(buckets(one(answer, "keywords_frequency")), (Buckets{{"y", 6}, {"x", 2}}));
  EXPECT_EQ(buckets(one(answer, "sat:relative_orbit_frequency")), (Buckets{{"108", 3}, {"8", 3}}));
  EXPECT_EQ(buckets(one(answer, "properties.platform_frequency")), (Buckets{{"sentinel-2a", 3}, {"sentinel-2b", 3}}));
  EXPECT_EQ(one(aggregate({{"aggregations", {"no_such_property_frequency"}}}), "no_such_property_frequency")["buckets"],
            json::array());
}

TEST_P(CatalogAggregation, CentroidGeohashesAndSpatialExtent) {
  const json fine = one(aggregate({{"aggregations", {"centroid_geohash_grid_frequency"}},
                                   {"centroid_geohash_grid_frequency_precision", 5},
                                   {"ids", {"a5"}}}),
                        "centroid_geohash_grid_frequency");
  EXPECT_EQ(buckets(fine), (Buckets{{"u4pru", 1}}));
  // Precision 1 (the default): five items share cell s; the antimeridian
  // item's centre (180, 0) is (-180, 0), in cell 8; the range item's in 7.
  const json coarse =
      one(aggregate({{"aggregations", {"centroid_geohash_grid_frequency"}}}), "centroid_geohash_grid_frequency");
  EXPECT_EQ(buckets(coarse), (Buckets{{"s", 5}, {"7", 1}, {"8", 1}, {"u", 1}}));
  const json extent = one(aggregate({{"aggregations", {"spatial_extent"}}, {"collections", {"a"}}}), "spatial_extent");
  EXPECT_EQ(extent["data_type"], "bbox");
  ASSERT_EQ(extent["value"].size(), 4U);
  EXPECT_DOUBLE_EQ(extent["value"][0].get<double>(), 9.90744);
  EXPECT_DOUBLE_EQ(extent["value"][1].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(extent["value"][2].get<double>(), 15.0);
  EXPECT_DOUBLE_EQ(extent["value"][3].get<double>(), 58.14911);
  // A bbox across the antimeridian widens the extent to every longitude.
  EXPECT_EQ(one(aggregate({{"aggregations", {"spatial_extent"}}, {"collections", {"b"}}}), "spatial_extent")["value"],
            json::parse("[-180, -10, 180, 1]"));
}

TEST_P(CatalogAggregation, TheListNamesEveryAggregation) {
  const json list = catalog_->aggregations();
  EXPECT_EQ(list["type"], "AggregationCollection");
  std::vector<std::string> names;
  for (const auto& entry : list["aggregations"]) {
    names.push_back(entry["name"].get<std::string>());
    // Each one listed can be computed.
    EXPECT_NO_THROW(catalog_->aggregate({{"aggregations", {entry["name"]}}})) << entry.dump();
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"total_count", "datetime_min", "datetime_max", "datetime_frequency",
                                      "collection_frequency", "cloud_cover_frequency", "platform_frequency",
                                      "grid_code_frequency", "centroid_geohash_grid_frequency", "spatial_extent"}));
  EXPECT_EQ(catalog_->aggregations("a"), list);
  expect_error([&] { catalog_->aggregations("nope"); }, ErrorCode::kNotFound);
}

TEST_P(CatalogAggregation, HostileRequestsAreInvalidInputNamingWhat) {
  const auto refused = [&](const json& request, const std::string& fragment) {
    expect_error([&] { catalog_->aggregate(request); }, ErrorCode::kInvalidInput, fragment);
  };
  refused(json::array(), "must be a JSON object");
  refused(json::object(), "aggregations: missing");
  refused({{"aggregations", json::array()}}, "non-empty array");
  refused({{"aggregations", "total_count"}}, "non-empty array");
  refused({{"aggregations", {1}}}, "expected names");
  refused({{"aggregations", {"total_count", "nonsense"}}}, "unknown aggregation 'nonsense'");
  refused({{"aggregations", {"_frequency"}}}, "unknown aggregation '_frequency'");
  refused({{"aggregations", {"bad name;drop_frequency"}}}, "unknown aggregation");
  refused({{"aggregations", {std::string(300, 'p') + "_frequency"}}}, "unknown aggregation");
  refused({{"aggregations", json(std::vector<std::string>(33, "total_count"))}}, "at most 32");
  refused({{"aggregations", {"centroid_geohash_grid_frequency"}}, {"centroid_geohash_grid_frequency_precision", 0}},
          "centroid_geohash_grid_frequency_precision: 0 is outside 1-12");
  refused({{"aggregations", {"centroid_geohash_grid_frequency"}}, {"centroid_geohash_grid_frequency_precision", 99}},
          "centroid_geohash_grid_frequency_precision: 99 is outside 1-12");
  refused({{"aggregations", {"total_count"}}, {"centroid_geohash_grid_frequency_precision", 1e300}},
          "centroid_geohash_grid_frequency_precision");
  refused({{"aggregations", {"total_count"}}, {"centroid_geohash_grid_frequency_precision", "3"}},
          "expected an integer");
  refused({{"aggregations", {"total_count"}}, {"centroid_geohash_grid_frequency_precision", 18446744073709551615ULL}},
          "is outside 1-12");
  refused({{"aggregations", {"datetime_frequency"}}, {"datetime_frequency_interval", "fortnight"}},
          "datetime_frequency_interval: \"fortnight\" is not one of");
  refused({{"aggregations", {"total_count"}}, {"sortby", "id"}}, "aggregate: sortby: not a member");
  refused({{"aggregations", {"total_count"}}, {"token", "x"}}, "aggregate: token");
  refused({{"aggregations", {"total_count"}},
           {"bbox", {0, 0, 1, 1}},
           {"intersects", {{"type", "Point"}, {"coordinates", {0, 0}}}}},
          "bbox");
  refused({{"aggregations", {"total_count"}}, {"filter", "nonsense ((("}}, "CQL2 text");
  // Repeats are computed once; limit is ignored.
  const json answer = catalog_->aggregate({{"aggregations", {"total_count", "total_count"}}, {"limit", 1}});
  EXPECT_EQ(answer["aggregations"].size(), 1U);
  EXPECT_EQ(answer["aggregations"][0]["value"], 8);
}

TEST(Geohash, KnownCellsAndEdges) {
  EXPECT_EQ(tessera::catalog::geohash(10.40744, 57.64911, 11), "u4pruydqqvj");
  EXPECT_EQ(tessera::catalog::geohash(-5.6, 42.6, 5), "ezs42");
  EXPECT_EQ(tessera::catalog::geohash(0, 0, 1), "s");
  EXPECT_EQ(tessera::catalog::geohash(-180, -90, 3), "000");
  EXPECT_EQ(tessera::catalog::geohash(180, 90, 3), "zzz");
  EXPECT_EQ(tessera::catalog::geohash(500, -500, 2), "pb");  // clamped to (180, -90)
  EXPECT_EQ(tessera::catalog::geohash(1, 1, 12).size(), 12U);
  expect_error([] { tessera::catalog::geohash(0, 0, 13); }, ErrorCode::kInvalidInput, "precision 13");
}

TEST(DatetimeInterval, StartsOfIntervals) {
  using tessera::catalog::DatetimeInterval;
  using tessera::catalog::interval_start;
  const auto start = [](const char* instant, DatetimeInterval interval) {
    return tessera::format_rfc3339_micros(interval_start(*tessera::parse_rfc3339_micros(instant), interval));
  };
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kYear), "2021-01-01T00:00:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kQuarter), "2021-07-01T00:00:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kMonth), "2021-08-01T00:00:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kWeek), "2021-08-16T00:00:00Z");
  EXPECT_EQ(start("2021-08-16T00:00:00Z", DatetimeInterval::kWeek), "2021-08-16T00:00:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kDay), "2021-08-17T00:00:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kHour), "2021-08-17T13:00:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kMinute), "2021-08-17T13:14:00Z");
  EXPECT_EQ(start("2021-08-17T13:14:15.5Z", DatetimeInterval::kSecond), "2021-08-17T13:14:15Z");
  // Before 1970 the arithmetic still floors.
  EXPECT_EQ(start("1969-12-31T23:59:59.5Z", DatetimeInterval::kSecond), "1969-12-31T23:59:59Z");
  EXPECT_EQ(start("1969-12-31T23:59:59.5Z", DatetimeInterval::kMonth), "1969-12-01T00:00:00Z");
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogAggregation, ::testing::ValuesIn(tessera::testing::catalog_backends(true)),
                         [](const auto& backend) { return backend.param.name; });

}  // namespace
