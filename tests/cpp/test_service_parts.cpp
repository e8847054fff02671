// The part routes (bbox, feature, preview, statistics) below registered
// searches, collections and items, and POST /cog/statistics, through
// Service::handle over the tile routes' sample COGs.

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "service_requests.hpp"
#include "tessera/environment.hpp"
#include "tessera/service.hpp"
#include "test_support.hpp"
#include "tile_sample_data.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

using tessera::testing::get;
using tessera::testing::Query;

HttpRequest post(std::string path, const json& body, Query query = {}) {
  HttpRequest request = get(std::move(path), std::move(query));
  request.method = "POST";
  request.body = body.dump();
  return request;
}

json feature_of(double west, double south, double east, double north) {
  return {{"type", "Feature"},
          {"properties", {{"name", "area"}}},
          {"geometry",
           {{"type", "Polygon"},
            {"coordinates", {{{west, south}, {east, south}, {east, north}, {west, north}, {west, south}}}}}}};
}

class ServiceParts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new tessera::testing::TempDir();
    data_ = tessera::testing::write_sample_data(folder_->path() / "data");
    tessera::ReaderConfig config;
    config.allowed_roots = {data_.folder.string()};
    environment_ = new tessera::Environment(config);
    catalog_ = tessera::Catalog::open(data_.catalog_uri).release();
    service_ = new tessera::Service(*catalog_);
  }
  static void TearDownTestSuite() {
    delete service_;
    delete catalog_;
    delete environment_;
    delete folder_;
  }
  void SetUp() override { scope_ = std::make_unique<tessera::Environment::Scope>(*environment_); }
  void TearDown() override { scope_.reset(); }

  static HttpResponse handle(const HttpRequest& request) { return service_->handle(request); }
  static json body_of(const HttpResponse& response) { return json::parse(response.body); }
  static void expect_image(const HttpResponse& response, const std::string& type) {
    EXPECT_EQ(response.status, 200) << response.body;
    ASSERT_NE(response.header("Content-Type"), nullptr);
    EXPECT_EQ(*response.header("Content-Type"), type);
    EXPECT_NE(response.header("Content-Bbox"), nullptr);
    EXPECT_FALSE(response.body.empty());
  }
  static void expect_error(const HttpResponse& response, int status, const std::string& parameter = "") {
    EXPECT_EQ(response.status, status) << response.body;
    const json body = json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response.body;
    EXPECT_TRUE(body.contains("code") && body.contains("description")) << response.body;
    if (!parameter.empty()) {
      EXPECT_EQ(body.value("parameter", ""), parameter) << response.body;
    }
  }
  static std::string register_search(const json& search) {
    const HttpResponse response = handle(post("/searches/register", search));
    EXPECT_EQ(response.status, 200) << response.body;
    return body_of(response).at("id").get<std::string>();
  }

  static inline tessera::testing::TempDir* folder_ = nullptr;
  static inline tessera::testing::SampleData data_;
  static inline tessera::Environment* environment_ = nullptr;
  static inline tessera::Catalog* catalog_ = nullptr;
  static inline tessera::Service* service_ = nullptr;
  std::unique_ptr<tessera::Environment::Scope> scope_;
};

const Query kData = {{"assets", "data"}};

TEST_F(ServiceParts, BboxFeatureAndPreviewImagesOverEveryMosaic) {
  const std::string search = "/searches/" + register_search({{"collections", {"sample"}}});
  for (const std::string& prefix :
       {search, std::string("/collections/sample"), std::string("/collections/sample/items/scene-june")}) {
    SCOPED_TRACE(prefix);
    expect_image(handle(get(prefix + "/bbox/10.2,45.2,10.8,45.8.png", kData)), "image/png");
    const HttpResponse sized = handle(get(prefix + "/bbox/10.2,45.2,10.8,45.8/64x32.tif", kData));
    expect_image(sized, "image/tiff; application=geotiff");
    expect_image(handle(post(prefix + "/feature", feature_of(10.2, 45.2, 10.8, 45.8), kData)), "image/png");
    expect_image(handle(post(prefix + "/feature.webp", feature_of(10.2, 45.2, 10.8, 45.8), kData)), "image/webp");
    expect_image(handle(post(prefix + "/feature/32x32.npy", feature_of(10.2, 45.2, 10.8, 45.8), kData)),
                 "application/x-binary");
    expect_image(handle(get(prefix + "/preview.png", Query{{"assets", "data"}, {"max_size", "64"}})), "image/png");
    expect_image(handle(get(prefix + "/preview/40x20.jpeg", kData)), "image/jpeg");
    // A feature is posted, a bbox is read.
    expect_error(handle(get(prefix + "/feature", kData)), 405);
    HttpRequest wrong = get(prefix + "/bbox/10.2,45.2,10.8,45.8.png", kData);
    wrong.method = "POST";
    expect_error(handle(wrong), 405);
  }
  // The Content-Bbox is the part's bounds, in its CRS (the coord_crs by default).
  const HttpResponse part = handle(get(search + "/bbox/10.2,45.2,10.8,45.8.png", kData));
  EXPECT_EQ(*part.header("Content-Bbox"), "10.2,45.2,10.8,45.8");
}

TEST_F(ServiceParts, FeatureStatisticsAreExactPerFeature) {
  const std::string search = "/searches/" + register_search({{"collections", {"sample"}}});
  const json collection = {{"type", "FeatureCollection"},
                           {"features", {feature_of(10.1, 45.1, 10.4, 45.3), feature_of(10.2, 45.6, 10.3, 45.9)}}};
  const HttpResponse answer = handle(post(search + "/statistics", collection, kData));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(*answer.header("Content-Type"), "application/geo+json");
  const json body = body_of(answer);
  ASSERT_EQ(body["features"].size(), 2U);
  for (const json& feature : body["features"]) {
    EXPECT_EQ(feature["properties"]["name"], "area");
    const json& band = feature["properties"]["statistics"]["data_b1"];
    for (const char* key :
         {"min", "max", "mean", "count", "sum", "std", "median", "majority", "minority", "unique", "histogram",
          "valid_percent", "masked_pixels", "valid_pixels", "percentile_2", "percentile_98"}) {
      EXPECT_TRUE(band.contains(key)) << key << " " << band;
    }
    EXPECT_NEAR(band["mean"].get<double>(), band["sum"].get<double>() / band["count"].get<double>(), 1e-9);
    EXPECT_FALSE(feature["properties"]["used_assets"].empty());
  }
  // One Feature is answered as a Feature; the item's answer has no used_assets.
  const json one = body_of(
      handle(post("/collections/sample/items/scene-june/statistics", feature_of(10.1, 45.1, 10.4, 45.3), kData)));
  EXPECT_EQ(one["type"], "Feature");
  EXPECT_TRUE(one["properties"]["statistics"].contains("data_b1"));
  EXPECT_FALSE(one["properties"].contains("used_assets"));
  // cover_scale asks for rio-tiler's estimate: whole pixels, so another count.
  const json exact = body_of(handle(post(search + "/statistics", feature_of(10.1, 45.1, 10.4, 45.3), kData)));
  Query estimate = kData;
  estimate.emplace_back("cover_scale", "10");
  const json estimated = body_of(handle(post(search + "/statistics", feature_of(10.1, 45.1, 10.4, 45.3), estimate)));
  EXPECT_NE(exact["properties"]["statistics"]["data_b1"]["count"],
            estimated["properties"]["statistics"]["data_b1"]["count"]);
}

TEST_F(ServiceParts, ItemStatisticsMergedAndPerAsset) {
  const std::string item = "/collections/sample/items/scene-june";
  const HttpResponse merged = handle(get(item + "/statistics", kData));
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_TRUE(body_of(merged).contains("data_b1"));
  const HttpResponse per_asset = handle(get(item + "/asset_statistics"));
  ASSERT_EQ(per_asset.status, 200) << per_asset.body;
  EXPECT_TRUE(body_of(per_asset)["data"].contains("b1"));
  expect_error(handle(get(item + "/asset_statistics", {{"assets", "nope"}})), 400, "assets");
  // A mosaic's statistics are POSTed only.
  expect_error(handle(get("/collections/sample/statistics", kData)), 405);
}

TEST_F(ServiceParts, CogFeatureStatistics) {
  const std::string url = data_.scenes.at(0).cog.string();
  const HttpResponse answer = handle(post("/cog/statistics", feature_of(10.1, 45.1, 10.4, 45.3), {{"url", url}}));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json band = body_of(answer)["properties"]["statistics"]["b1"];
  EXPECT_GT(band["count"].get<double>(), 0);
  EXPECT_EQ(handle(get("/cog/statistics", {{"url", url}})).status, 200);  // GET stays the raster's statistics
  expect_error(handle(post("/cog/statistics", feature_of(10.1, 45.1, 10.4, 45.3))), 400, "url");
}

TEST_F(ServiceParts, HostileRequestsAreRefusedNamingTheParameter) {
  const std::string prefix = "/collections/sample";
  // Not a bbox path at all: no route.
  EXPECT_EQ(handle(get(prefix + "/bbox/1,2,3.png", kData)).status, 404);
  expect_error(handle(get(prefix + "/bbox/11,45,10,46.png", kData)), 400, "bbox");
  expect_error(handle(get(prefix + "/bbox/abc,45,11,46.png", kData)), 400, "minx");
  expect_error(handle(get(prefix + "/bbox/10,45,11,nan.png", kData)), 400, "bbox");
  expect_error(handle(get(prefix + "/bbox/10,45,11,46.gif", kData)), 400, "format");
  expect_error(handle(get(prefix + "/bbox/10,45,11,46/100000x100000.png", kData)), 400, "width");
  expect_error(handle(get(prefix + "/bbox/10,45,11,46/64x0.png", kData)), 400, "height");
  expect_error(handle(get(prefix + "/bbox/10,45,11,46.png", Query{{"assets", "data"}, {"max_size", "-3"}})), 400,
               "max_size");
  expect_error(handle(get(prefix + "/bbox/10,45,11,46.png", Query{{"assets", "data"}, {"coord_crs", "EPSG:99999"}})),
               400, "coord_crs");
  // A CRS is never read from a file or a URL.
  for (const char* crs : {"/etc/passwd", "http://127.0.0.1:9/crs.wkt", "file:///etc/hosts"}) {
    expect_error(handle(get(prefix + "/bbox/10,45,11,46.png", Query{{"assets", "data"}, {"coord_crs", crs}})), 400,
                 "coord_crs");
  }
  expect_error(handle(get(prefix + "/bbox/10,45,11,46.png", Query{{"assets", "data"}, {"dst_crs", "nonsense"}})), 400,
               "dst_crs");
  const json area = feature_of(10.1, 45.1, 10.4, 45.3);
  HttpRequest garbage = post(prefix + "/feature.png", area, kData);
  garbage.body = "{not json";
  expect_error(handle(garbage), 400, "body");
  expect_error(handle(post(prefix + "/feature.png", area["geometry"], kData)), 400, "body");  // a Feature is needed
  expect_error(handle(post(prefix + "/feature.png", {{"type", "Feature"}, {"geometry", {{"type", "Polygon"}}}}, kData)),
               400, "body");
  expect_error(
      handle(post(prefix + "/statistics",
                  {{"type", "Feature"}, {"geometry", {{"type", "Point"}, {"coordinates", {10.2, 45.2}}}}}, kData)),
      400, "body");
  json many = {{"type", "FeatureCollection"}, {"features", json::array()}};
  for (int n = 0; n < 101; ++n) {
    many["features"].push_back(area);
  }
  expect_error(handle(post(prefix + "/statistics", many, kData)), 400, "body");
  expect_error(
      handle(post(prefix + "/statistics", {{"type", "FeatureCollection"}, {"features", json::array()}}, kData)), 400,
      "body");
  json ring = json::array();
  for (int n = 0; n < 100001; ++n) {
    const double angle = 6.283185307179586 * n / 100001;
    ring.push_back({10.5 + 0.2 * std::cos(angle), 45.5 + 0.2 * std::sin(angle)});
  }
  ring.push_back(ring.front());
  const json huge = {{"type", "Feature"}, {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}}};
  expect_error(handle(post(prefix + "/statistics", huge, kData)), 400, "body");
  Query bad_scale = kData;
  bad_scale.emplace_back("cover_scale", "0");
  expect_error(handle(post(prefix + "/statistics", area, bad_scale)), 400, "cover_scale");
}

}  // namespace
