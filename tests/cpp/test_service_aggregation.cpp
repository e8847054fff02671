// The aggregation extension's routes: /aggregate and /aggregations at the
// root and per collection, GET and POST, their links and conformance
// classes, and bad parameters answered 400 naming them.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"
#include "tessera/service.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

class AggregationService : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = tessera::Catalog::open(":memory:");
    catalog_->upsert_collection(tessera::testing::make_collection("s2"));
    catalog_->upsert_collection(tessera::testing::make_collection("l8"));
    std::vector<json> items;
    for (int n = 0; n < 7; ++n) {
      items.push_back(tessera::testing::make_item(fmt::format("item-{}", n), "s2",
                                                  fmt::format("2024-0{}-01T00:00:00Z", n % 3 + 1), n, 45, 1.0,
                                                  {{"eo:cloud_cover", n * 10}, {"platform", "sentinel-2a"}}));
    }
    items.push_back(tessera::testing::make_item("landsat", "l8", "2023-05-05T00:00:00Z", -100, 30));
    ASSERT_EQ(catalog_->load(items).loaded, 8U);
    service_ = std::make_unique<tessera::Service>(*catalog_);
  }

  HttpResponse get(const std::string& path, Query query = {}) const {
    HttpRequest request;
    request.path = path;
    request.query = std::move(query);
    request.headers = {{"Host", "stac.test"}};
    return service_->handle(request);
  }

  HttpResponse send(const std::string& method, const std::string& path, const std::string& body) const {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.headers = {{"Host", "stac.test"}, {"Content-Type", "application/json"}};
    request.body = body;
    return service_->handle(request);
  }

  static json body_of(const HttpResponse& response) { return json::parse(response.body); }

  static json aggregation(const json& answer, const std::string& name) {
    for (const auto& entry : answer["aggregations"]) {
      if (entry["name"] == name) {
        return entry;
      }
    }
    return nullptr;
  }

  static std::vector<json> links_of(const json& document, const std::string& rel) {
    std::vector<json> found;
    for (const auto& entry : document["links"]) {
      if (entry["rel"] == rel) {
        found.push_back(entry);
      }
    }
    return found;
  }

  // A 400 whose description holds `fragment`.
  static void expect_bad_request(const HttpResponse& response, const std::string& fragment) {
    EXPECT_EQ(response.status, 400) << response.body;
    const json body = body_of(response);
    EXPECT_EQ(body["code"], "BadRequest");
    EXPECT_NE(body["description"].get<std::string>().find(fragment), std::string::npos) << response.body;
  }

  std::unique_ptr<tessera::Catalog> catalog_;
  std::unique_ptr<tessera::Service> service_;
};

TEST_F(AggregationService, GetAggregateTakesACommaListAndSearchParameters) {
  const HttpResponse response = get("/aggregate", {{"aggregations", "total_count,collection_frequency, datetime_max"},
                                                   {"collections", "s2,l8"},
                                                   {"filter", "\"eo:cloud_cover\" < 35"}});
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_EQ(body["type"], "AggregationCollection");
  EXPECT_EQ(aggregation(body, "total_count")["value"], 4);
  EXPECT_EQ(aggregation(body, "collection_frequency")["buckets"],
            json::parse(R"([{"key": "s2", "data_type": "string", "frequency": 4}])"));
  EXPECT_EQ(aggregation(body, "datetime_max")["value"], "2024-03-01T00:00:00Z");
  EXPECT_EQ(links_of(body, "self").at(0)["href"], "http://stac.test/aggregate");
  EXPECT_EQ(links_of(body, "root").at(0)["href"], "http://stac.test/");

  const json monthly = body_of(get("/aggregate", {{"aggregations", "datetime_frequency"},
                                                  {"datetime_frequency_interval", "year"},
                                                  {"datetime", "2023-01-01T00:00:00Z/.."}}));
  EXPECT_EQ(aggregation(monthly, "datetime_frequency")["buckets"].size(), 2U);
  const json geohash = body_of(get("/aggregate", {{"aggregations", "centroid_geohash_grid_frequency"},
                                                  {"centroid_geohash_grid_frequency_precision", "2"},
                                                  {"bbox", "-101,29,-98,32"}}));
  EXPECT_EQ(aggregation(geohash, "centroid_geohash_grid_frequency")["buckets"][0]["key"], "9v");
  const json queried =
      body_of(get("/aggregate", {{"aggregations", "total_count"}, {"query", R"({"eo:cloud_cover": {"gte": 50}})"}}));
  EXPECT_EQ(aggregation(queried, "total_count")["value"], 2);
}

TEST_F(AggregationService, PostAggregateTakesABody) {
  const HttpResponse response =
      send("POST", "/aggregate",
           R"({"aggregations": ["total_count", "platform_frequency"], "bbox": [0, 40, 3.5, 50],
               "filter": {"op": ">", "args": [{"property": "eo:cloud_cover"}, 0]}, "filter-lang": "cql2-json"})");
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_EQ(aggregation(body, "total_count")["value"], 3);
  EXPECT_EQ(aggregation(body, "platform_frequency")["buckets"][0]["frequency"], 3);
  expect_bad_request(send("POST", "/aggregate", R"({"aggregations": ["total_count"], "bbox": "0,0,1,1"})"), "bbox");
  expect_bad_request(send("POST", "/aggregate", "[1]"), "expected a JSON object");
  expect_bad_request(send("POST", "/aggregate", "{nope"), "request body: invalid JSON");
  EXPECT_EQ(send("PUT", "/aggregate", "{}").status, 405);
}

TEST_F(AggregationService, CollectionAggregateIsRestrictedToIt) {
  const json body = body_of(get("/collections/l8/aggregate", {{"aggregations", "total_count,spatial_extent"}}));
  EXPECT_EQ(aggregation(body, "total_count")["value"], 1);
  EXPECT_EQ(aggregation(body, "spatial_extent")["value"], json::parse("[-100, 30, -99, 31]"));
  EXPECT_EQ(links_of(body, "self").at(0)["href"], "http://stac.test/collections/l8/aggregate");
  EXPECT_EQ(links_of(body, "collection").at(0)["href"], "http://stac.test/collections/l8");
  const json posted = body_of(send("POST", "/collections/s2/aggregate", R"({"aggregations": ["total_count"]})"));
  EXPECT_EQ(aggregation(posted, "total_count")["value"], 7);
  expect_bad_request(get("/collections/s2/aggregate", {{"aggregations", "total_count"}, {"collections", "l8"}}),
                     "'collections' is not a parameter of /collections/{id}/aggregate");
  EXPECT_EQ(get("/collections/nope/aggregate", {{"aggregations", "total_count"}}).status, 404);
  EXPECT_EQ(get("/collections/nope/aggregations").status, 404);
}

TEST_F(AggregationService, AggregationsListWhatMayBeAsked) {
  const HttpResponse response = get("/aggregations");
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_EQ(body["type"], "AggregationCollection");
  EXPECT_EQ(body["aggregations"][0], json::parse(R"({"name": "total_count", "data_type": "integer"})"));
  EXPECT_EQ(links_of(body, "self").at(0)["href"], "http://stac.test/aggregations");
  const json of_collection = body_of(get("/collections/s2/aggregations"));
  EXPECT_EQ(of_collection["aggregations"], body["aggregations"]);
  EXPECT_EQ(links_of(of_collection, "self").at(0)["href"], "http://stac.test/collections/s2/aggregations");
  EXPECT_EQ(send("POST", "/aggregations", "{}").status, 405);
}

TEST_F(AggregationService, LandingPageCollectionsAndConformanceAdvertiseIt) {
  const json landing = body_of(get("/"));
  const auto aggregate = links_of(landing, "aggregate");
  ASSERT_EQ(aggregate.size(), 2U);
  EXPECT_EQ(aggregate[0]["href"], "http://stac.test/aggregate");
  EXPECT_EQ(aggregate[0]["method"], "GET");
  EXPECT_EQ(aggregate[1]["method"], "POST");
  EXPECT_EQ(links_of(landing, "aggregations").at(0)["href"], "http://stac.test/aggregations");
  const json collection = body_of(get("/collections/s2"));
  EXPECT_EQ(links_of(collection, "aggregate").size(), 2U);
  EXPECT_EQ(links_of(collection, "aggregations").at(0)["href"], "http://stac.test/collections/s2/aggregations");
  const json conformance = body_of(get("/conformance"));
  for (const char* conformance_class :
       {"https://api.stacspec.org/v0.3.0/aggregation", "https://api.stacspec.org/v0.3.0/aggregation#filter",
        "https://api.stacspec.org/v0.3.0/aggregation#query"}) {
    EXPECT_NE(std::find(conformance["conformsTo"].begin(), conformance["conformsTo"].end(), conformance_class),
              conformance["conformsTo"].end())
        << conformance_class;
  }
  const json api = body_of(get("/api"));
  for (const char* path : {"/aggregate", "/aggregations", "/collections/{collectionId}/aggregate",
                           "/collections/{collectionId}/aggregations"}) {
    EXPECT_TRUE(api["paths"].contains(path)) << path;
  }
  EXPECT_TRUE(api["paths"]["/aggregate"].contains("post"));
}

TEST_F(AggregationService, HostileParametersAre400NamingWhat) {
  expect_bad_request(get("/aggregate"), "aggregations: missing");
  expect_bad_request(get("/aggregate", {{"aggregations", ""}}), "aggregations: expected a non-empty array");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count,nonsense"}}), "unknown aggregation 'nonsense'");
  expect_bad_request(get("/aggregate", {{"aggregations", "centroid_geohash_grid_frequency"},
                                        {"centroid_geohash_grid_frequency_precision", "0"}}),
                     "centroid_geohash_grid_frequency_precision: 0 is outside 1-12");
  expect_bad_request(get("/aggregate", {{"aggregations", "centroid_geohash_grid_frequency"},
                                        {"centroid_geohash_grid_frequency_precision", "99"}}),
                     "centroid_geohash_grid_frequency_precision: 99 is outside 1-12");
  expect_bad_request(
      get("/aggregate", {{"aggregations", "total_count"}, {"centroid_geohash_grid_frequency_precision", "3.5"}}),
      "centroid_geohash_grid_frequency_precision: '3.5' is not an integer");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count"},
                                        {"centroid_geohash_grid_frequency_precision", std::string(400, '9')}}),
                     "centroid_geohash_grid_frequency_precision");
  expect_bad_request(
      get("/aggregate", {{"aggregations", "datetime_frequency"}, {"datetime_frequency_interval", "fortnight"}}),
      "datetime_frequency_interval");
  std::string many = "total_count";
  for (int n = 0; n < 5000; ++n) {
    many += ",platform_frequency";
  }
  expect_bad_request(get("/aggregate", {{"aggregations", many}}), "at most 32");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count"}, {"limit", "5"}}),
                     "unknown query parameter 'limit'");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count"}, {"intersects", "{"}}), "intersects");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count"},
                                        {"bbox", "0,0,1,1"},
                                        {"intersects", R"({"type": "Point", "coordinates": [0, 0]})"}}),
                     "bbox");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count"}, {"filter", "((("}}), "CQL2 text");
  expect_bad_request(get("/aggregate", {{"aggregations", "total_count"}, {"filter-lang", "sql"}, {"filter", "x=1"}}),
                     "filter-lang");
  expect_bad_request(send("POST", "/aggregate", R"({"aggregations": ["total_count"], "sortby": "id"})"),
                     "sortby: not a member");
}

}  // namespace
