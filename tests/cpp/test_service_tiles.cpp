// The tile routes through Service::handle, in-process: COG tiles, TileJSON
// behind a proxy, point values, info and statistics, registered-search
// mosaics, ETag/304 and Cache-Control, 400s naming the parameter, the service
// without a catalog, the viewer's routes, and hostile paths.

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "service_requests.hpp"
#include "tessera/environment.hpp"
#include "tessera/service.hpp"
#include "tessera/tms.hpp"
#include "test_support.hpp"
#include "tile_sample_data.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

namespace fs = std::filesystem;

using tessera::testing::get;

class ServiceTiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new tessera::testing::TempDir();
    data_ = tessera::testing::write_sample_data(folder_->path() / "data");
    tessera::ReaderConfig config;
    config.allowed_roots = {data_.folder.string()};
    config.allowed_prefixes = {"https://allowed.example.org/"};
    environment_ = new tessera::Environment(config);
    catalog_ = tessera::Catalog::open(data_.catalog_uri).release();
    tessera::ServiceOptions options;
    options.cache_max_age_seconds = 120;
    service_ = new tessera::Service(*catalog_, options);
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

  static std::pair<std::string, std::string> cog(std::size_t scene = 0) {
    return {"url", data_.scenes.at(scene).cog.string()};
  }
  // The WebMercatorQuad tile holding a scene's centre.
  static std::string tile_of(std::size_t scene, int z) {
    const auto& s = data_.scenes.at(scene);
    const tessera::Tile tile =
        tessera::TileMatrixSet::web_mercator_quad().tile((s.west + s.east) / 2, (s.south + s.north) / 2, z);
    return std::to_string(z) + "/" + std::to_string(tile.x) + "/" + std::to_string(tile.y);
  }
  static std::string register_search(const json& search) {
    HttpRequest request = get("/searches/register");
    request.method = "POST";
    request.body = search.dump();
    const HttpResponse response = handle(request);
    EXPECT_EQ(response.status, 200) << response.body;
    return body_of(response).at("id").get<std::string>();
  }
  // A JSON error with `status`, naming `parameter` when one is given.
  static void expect_error(const HttpResponse& response, int status, const std::string& parameter = "") {
    EXPECT_EQ(response.status, status) << response.body;
    ASSERT_NE(response.header("Content-Type"), nullptr);
    EXPECT_EQ(*response.header("Content-Type"), "application/json");
    const json body = json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response.body;
    EXPECT_TRUE(body.contains("code") && body.contains("description")) << response.body;
    if (!parameter.empty()) {
      EXPECT_EQ(body.value("parameter", ""), parameter) << response.body;
    }
  }
  static std::string description_of(const HttpResponse& response) {
    return json::parse(response.body).value("description", "");
  }

  static inline tessera::testing::TempDir* folder_ = nullptr;
  static inline tessera::testing::SampleData data_;
  static inline tessera::Environment* environment_ = nullptr;
  static inline tessera::Catalog* catalog_ = nullptr;
  static inline tessera::Service* service_ = nullptr;
  std::unique_ptr<tessera::Environment::Scope> scope_;
};

TEST_F(ServiceTiles, CogTileIsAPngWithStrongEtagAnd304) {
  const std::string path = "/cog/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png";
  const HttpResponse response = handle(get(path, {cog()}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(*response.header("Content-Type"), "image/png");
  EXPECT_EQ(response.body.substr(1, 3), "PNG");
  EXPECT_EQ(*response.header("Cache-Control"), "public, max-age=120");
  const std::string etag = *response.header("ETag");
  ASSERT_EQ(etag.front(), '"');

  const HttpResponse cached = handle(get(path, {cog()}, {{"If-None-Match", "\"other\", W/" + etag}}));
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(*cached.header("ETag"), etag);
  EXPECT_EQ(*cached.header("Cache-Control"), "public, max-age=120");

  const HttpResponse coloured =
      handle(get(path, {{"colormap_name", "viridis"}, {"rescale", "0,255"}, cog()}, {{"If-None-Match", etag}}));
  EXPECT_EQ(coloured.status, 200);
  EXPECT_NE(*coloured.header("ETag"), etag);

  HttpRequest head = get(path, {cog()});
  head.method = "HEAD";
  const HttpResponse headed = handle(head);
  EXPECT_EQ(headed.status, 200);
  EXPECT_TRUE(headed.body.empty());
  EXPECT_EQ(*headed.header("ETag"), etag);
}

TEST_F(ServiceTiles, FormatsScaleAndTileSize) {
  const std::string tile = "/cog/tiles/WebMercatorQuad/" + tile_of(0, 9);
  for (const auto& [suffix, type] : {std::pair{".jpeg", "image/jpeg"}, std::pair{".webp", "image/webp"},
                                     std::pair{".npy", "application/x-binary"}, std::pair{"", "image/png"}}) {
    const HttpResponse response = handle(get(tile + suffix, {cog()}));
    EXPECT_EQ(response.status, 200) << suffix << ": " << response.body;
    EXPECT_EQ(*response.header("Content-Type"), type) << suffix;
  }
  const HttpResponse scaled = handle(get(tile + "@2x.npy", {cog()}));
  ASSERT_EQ(scaled.status, 200);
  EXPECT_NE(scaled.body.find("'shape': (2, 512, 512)"), std::string::npos) << scaled.body.substr(0, 120);
  const HttpResponse sized = handle(get(tile + ".npy", {{"tilesize", "64"}, cog()}));
  EXPECT_NE(sized.body.find("'shape': (2, 64, 64)"), std::string::npos) << sized.body.substr(0, 120);
}

TEST_F(ServiceTiles, BadParametersAre400NamingTheParameter) {
  const std::string tile = "/cog/tiles/WebMercatorQuad/" + tile_of(0, 9);
  expect_error(handle(get(tile + ".png", {{"rescale", "0,abc"}, cog()})), 400, "rescale");
  expect_error(handle(get(tile + ".png", {{"rescale", "7"}, cog()})), 400, "rescale");
  expect_error(handle(get(tile + ".png", {{"colormap_name", "nope"}, cog()})), 400, "colormap_name");
  expect_error(handle(get(tile + ".png", {{"colormap", "{bad"}, cog()})), 400, "colormap");
  expect_error(handle(get(tile + ".png", {{"colormap", "{}"}, {"colormap_name", "viridis"}, cog()})), 400, "colormap");
  expect_error(handle(get(tile + ".png", {{"tilesize", "0"}, cog()})), 400, "tilesize");
  expect_error(handle(get(tile + ".png", {{"tilesize", "99999999999"}, cog()})), 400, "tilesize");
  expect_error(handle(get(tile + ".png", {{"bidx", "0"}, cog()})), 400, "bidx");
  expect_error(handle(get(tile + ".png", {{"resampling", "sharpest"}, cog()})), 400, "resampling");
  expect_error(handle(get(tile + ".png", {{"nodata", "none"}, cog()})), 400, "nodata");
  expect_error(handle(get(tile + ".png", {{"unscale", "maybe"}, cog()})), 400, "unscale");
  expect_error(handle(get(tile + ".png", {{"return_mask", "2"}, cog()})), 400, "return_mask");
  expect_error(handle(get(tile + ".gif", {cog()})), 400, "format");
  expect_error(handle(get(tile + "@9x.png", {cog()})), 400, "scale");
  expect_error(handle(get(tile + ".png")), 400, "url");
  expect_error(handle(get(tile + ".png", {{"url", ""}})), 400, "url");
  expect_error(handle(get("/cog/tiles/NoSuchTms/" + tile_of(0, 9) + ".png", {cog()})), 400, "tileMatrixSetId");
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/99999999999999999999/0/0.png", {cog()})), 400, "z");
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/9/99999999999999999999/0.png", {cog()})), 400, "x");
  expect_error(handle(get("/cog/point/ten,45", {cog()})), 400, "lon");
  expect_error(handle(get("/cog/point/10,north", {cog()})), 400, "lat");
  expect_error(handle(get("/cog/WebMercatorQuad/tilejson.json", {{"tile_format", "gif"}, cog()})), 400, "tile_format");
  expect_error(handle(get("/cog/statistics", {{"histogram_range", "1"}, cog()})), 400, "histogram_range");
  expect_error(handle(get("/cog/statistics", {{"p", "x"}, cog()})), 400, "p");
  // Errors the library raises name no parameter but say what is wrong.
  const HttpResponse expression = handle(get(tile + ".png", {{"expression", "1"}, cog()}));
  expect_error(expression, 400);
  EXPECT_NE(description_of(expression).find("names no band"), std::string::npos) << expression.body;
  const HttpResponse buffer = handle(get(tile + ".png", {{"buffer", "20000"}, cog()}));
  expect_error(buffer, 400);
  EXPECT_NE(description_of(buffer).find("buffer"), std::string::npos) << buffer.body;
  // A tile beyond the zoom levels of the set.
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/30/0/0.png", {cog()})), 400);
  EXPECT_EQ(handle(get(tile + ".png", {cog()})).status, 200);
}

TEST_F(ServiceTiles, MissingThingsAre404AndOtherMethods405) {
  // The tile exists in the set but the raster does not reach it.
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/9/0/0.png", {cog()})), 404);
  expect_error(handle(get("/searches/0123456789abcdef/info")), 404);
  expect_error(handle(get("/cog/nothing")), 404);
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/9/0/0.png/more", {cog()})), 404);
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/a/0/0.png", {cog()})), 404);
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/9/0/0@x.png", {cog()})), 404);
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/9/0/0.p-g", {cog()})), 404);
  expect_error(handle(get("/cog/point/10,45,3", {cog()})), 404);
  expect_error(handle(get("/cog/info", {{"url", (data_.folder / "missing.tif").string()}})), 404);
  HttpRequest post = get("/cog/info", {cog()});
  post.method = "POST";
  expect_error(handle(post), 405);
  EXPECT_EQ(*handle(post).header("Allow"), "GET, HEAD");
  expect_error(handle(get("/searches/register")), 405);
}

TEST_F(ServiceTiles, HrefsOutsideTheAllowListAreRefused) {
  const HttpResponse outside = handle(get("/cog/info", {{"url", "/etc/passwd"}}));
  expect_error(outside, 400);
  EXPECT_NE(description_of(outside).find("outside the allowed"), std::string::npos) << outside.body;
  const HttpResponse url = handle(get("/cog/info", {{"url", "https://evil.example.com/a.tif"}}));
  expect_error(url, 400);
  EXPECT_NE(description_of(url).find("evil.example.com"), std::string::npos) << url.body;
  expect_error(handle(get("/cog/info", {{"url", "/vsicurl/http://x/a.tif"}})), 400);
  expect_error(handle(get("/cog/tiles/WebMercatorQuad/0/0/0.png", {{"url", data_.folder.string() + "/../x.tif"}})),
               400);
}

TEST_F(ServiceTiles, CogTilejsonBehindAProxyInfoPointAndStatistics) {
  const HttpResponse direct = handle(get("/cog/WebMercatorQuad/tilejson.json", {{"rescale", "0,255"}, cog()}));
  ASSERT_EQ(direct.status, 200) << direct.body;
  EXPECT_EQ(*direct.header("Content-Type"), "application/json");
  const json document = body_of(direct);
  EXPECT_EQ(document.at("tilejson"), "3.0.0");
  const std::string url = document.at("tiles").at(0).get<std::string>();
  EXPECT_EQ(url.rfind("http://tiles.test/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.png?", 0), 0u) << url;
  EXPECT_NE(url.find("rescale=0%2C255"), std::string::npos) << url;
  EXPECT_NEAR(document.at("bounds").at(0).get<double>(), 10.0, 1e-6);
  EXPECT_NEAR(document.at("bounds").at(3).get<double>(), 46.0, 1e-6);

  const json proxied = body_of(handle(get(
      "/cog/WebMercatorQuad/tilejson.json", {cog(), {"tile_format", "webp"}},
      {{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "maps.example.com"}, {"X-Forwarded-Prefix", "/raster/"}})));
  const std::string proxied_url = proxied.at("tiles").at(0).get<std::string>();
  EXPECT_EQ(proxied_url.rfind("https://maps.example.com/raster/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.webp?url=", 0), 0u)
      << proxied_url;
  EXPECT_EQ(proxied_url.find("tile_format"), std::string::npos) << proxied_url;
  // A header that is not a plain prefix is ignored.
  const json hostile =
      body_of(handle(get("/cog/WebMercatorQuad/tilejson.json", {cog()}, {{"X-Forwarded-Prefix", "/\"><script>"}})));
  EXPECT_EQ(hostile.at("tiles").at(0).get<std::string>().rfind("http://tiles.test/cog/tiles/", 0), 0u) << hostile;

  const json info = body_of(handle(get("/cog/info", {cog()})));
  EXPECT_EQ(info.at("width"), 256);
  EXPECT_EQ(info.at("dtype"), "uint8");
  expect_error(handle(get("/cog/info", {cog(), {"tileMatrixSetId", "Nope"}})), 400, "tileMatrixSetId");

  // Scene 0 is a diagonal gradient: the top-left corner is 1.
  const HttpResponse point = handle(get("/cog/point/10.001,45.999", {cog()}));
  ASSERT_EQ(point.status, 200) << point.body;
  EXPECT_EQ(body_of(point).at("values"), json::array({1.0}));
  EXPECT_EQ(*point.header("Cache-Control"), "public, max-age=120");

  const json statistics = body_of(handle(get("/cog/statistics", {cog()})));
  EXPECT_EQ(statistics.at("b1").at("min"), 1.0);
  EXPECT_EQ(statistics.at("b1").at("max"), 255.0);
}

TEST_F(ServiceTiles, SearchesRegisterListTileAssetsAndPoint) {
  const std::string all = register_search({{"collections", {"sample"}}, {"metadata", {{"name", "all"}}}});
  const std::string june =
      register_search({{"collections", {"sample"}}, {"datetime", "2024-06-01T00:00:00Z/2024-06-30T23:59:59Z"}});
  EXPECT_NE(all, june);

  HttpRequest registration = get("/searches/register", {}, {{"X-Forwarded-Prefix", "/t"}});
  registration.method = "POST";
  registration.body = R"({"collections": ["sample"]})";
  const HttpResponse registered = handle(registration);
  ASSERT_EQ(registered.status, 200) << registered.body;
  EXPECT_EQ(*registered.header("Cache-Control"), "no-store");
  EXPECT_EQ(body_of(registered).at("links").at(1).at("href"), "http://tiles.test/t/searches/" +
                                                                  body_of(registered).at("id").get<std::string>() +
                                                                  "/WebMercatorQuad/tilejson.json");

  const HttpResponse list = handle(get("/searches/list"));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(*list.header("Cache-Control"), "no-store");
  std::set<std::string> ids;
  const json listed = body_of(list);
  for (const json& entry : listed.at("searches")) {
    ids.insert(entry.at("search").at("id").get<std::string>());
  }
  EXPECT_TRUE(ids.contains(all) && ids.contains(june)) << list.body;
  EXPECT_EQ(body_of(handle(get("/searches/" + all + "/info"))).at("metadata").at("name"), "all");

  // The centre of the June scene is covered by June and July; newest first.
  const std::string tile = tile_of(0, 9);
  const json assets =
      body_of(handle(get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile + "/assets", {{"assets", "data"}})));
  ASSERT_EQ(assets.size(), 2u) << assets;
  EXPECT_EQ(assets.at(0).at("id"), "scene-july");
  EXPECT_EQ(assets.at(1).at("id"), "scene-june");
  const json june_assets =
      body_of(handle(get("/searches/" + june + "/tiles/WebMercatorQuad/" + tile + "/assets", {{"assets", "data"}})));
  ASSERT_EQ(june_assets.size(), 1u);
  EXPECT_EQ(june_assets.at(0).at("id"), "scene-june");

  const std::vector<std::pair<std::string, std::string>> render = {
      {"assets", "data"}, {"colormap_name", "viridis"}, {"rescale", "0,255"}};
  const HttpResponse png = handle(get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile + ".png", render));
  ASSERT_EQ(png.status, 200) << png.body;
  EXPECT_EQ(*png.header("Content-Type"), "image/png");
  const HttpResponse june_png = handle(get("/searches/" + june + "/tiles/WebMercatorQuad/" + tile + ".png", render));
  ASSERT_EQ(june_png.status, 200);
  EXPECT_NE(*png.header("ETag"), *june_png.header("ETag"));
  const HttpResponse again = handle(get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile + ".png", render,
                                        {{"If-None-Match", *png.header("ETag")}}));
  EXPECT_EQ(again.status, 304);

  const json point_assets =
      body_of(handle(get("/searches/" + all + "/point/10.75,45.75/assets", {{"assets", "data"}})));
  ASSERT_EQ(point_assets.size(), 2u);
  const json values = body_of(handle(get("/searches/" + all + "/point/10.75,45.75", {{"assets", "data"}})));
  ASSERT_EQ(values.at("values").size(), 2u) << values;
  EXPECT_EQ(values.at("values").at(0).at("id"), "scene-july");
  EXPECT_EQ(values.at("values").at(0).at("band_names"), json::array({"data_b1"}));
  // July is horizontal bands of 40 + 25 per 32 rows: 10.75,45.75 is row 192.
  EXPECT_EQ(values.at("values").at(0).at("values"), json::array({190.0}));

  const json tilejson =
      body_of(handle(get("/searches/" + all + "/WebMercatorQuad/tilejson.json", {{"assets", "data"}})));
  EXPECT_EQ(tilejson.at("tiles").at(0).get<std::string>(),
            "http://tiles.test/searches/" + all + "/tiles/WebMercatorQuad/{z}/{x}/{y}.png?assets=data")
      << tilejson;
  EXPECT_EQ(tilejson.at("minzoom"), 0);
}

TEST_F(ServiceTiles, SearchErrors) {
  HttpRequest request = get("/searches/register");
  request.method = "POST";
  request.body = "{not json";
  expect_error(handle(request), 400);
  request.body = "[1]";
  expect_error(handle(request), 400, "body");
  request.body = R"({"bbox": [1, 2]})";
  expect_error(handle(request), 400);
  const std::string all = register_search({{"collections", {"sample"}}});
  const std::string tile = "/searches/" + all + "/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png";
  expect_error(handle(get(tile)), 400, "assets");
  expect_error(handle(get(tile, {{"assets", "data"}, {"pixel_selection", "loudest"}})), 400, "pixel_selection");
  expect_error(handle(get(tile, {{"assets", "data"}, {"max_items", "0"}})), 400, "max_items");
  const HttpResponse buffer = handle(get(tile, {{"assets", "data"}, {"buffer", "20000"}}));
  expect_error(buffer, 400);
  EXPECT_NE(description_of(buffer).find("buffer"), std::string::npos);
  expect_error(handle(get(tile, {{"expression", "1"}})), 400);
  expect_error(handle(get("/searches/" + all + "/point/10.75,45.75", {{"expression", "data_b1"}})), 400, "assets");
  // No item over the Pacific.
  expect_error(handle(get("/searches/" + all + "/tiles/WebMercatorQuad/9/0/255.png", {{"assets", "data"}})), 404);
}

// Registered searches and collection mosaics take the per-asset forms of
// TiTiler 2 (assets=data|bidx=1) and 1 (asset_bidx=data|1) like items do.
TEST_F(ServiceTiles, SearchAndCollectionMosaicsTakePerAssetBands) {
  const std::string all = register_search({{"collections", {"sample"}}});
  for (const std::string& prefix : {"/searches/" + all, std::string("/collections/sample")}) {
    const std::string tile = prefix + "/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".npy";
    const HttpResponse plain = handle(get(tile, {{"assets", "data"}}));
    ASSERT_EQ(plain.status, 200) << plain.body;
    EXPECT_EQ(handle(get(tile, {{"assets", "data|bidx=1"}})).body, plain.body) << prefix;
    EXPECT_EQ(handle(get(tile, {{"assets", "data"}, {"asset_bidx", "data|1"}})).body, plain.body) << prefix;
    const HttpResponse doubled = handle(get(tile, {{"assets", "data"}, {"expression", "b1*2"}}));
    ASSERT_EQ(doubled.status, 200) << doubled.body;
    EXPECT_EQ(doubled.body, handle(get(tile, {{"expression", "data_b1*2"}})).body) << prefix;
    expect_error(handle(get(tile, {{"assets", "data|bidx=one"}})), 400, "assets");
    expect_error(handle(get(tile, {{"assets", "data"}, {"asset_bidx", "other|1"}})), 400, "asset_bidx");
    const HttpResponse beyond = handle(get(tile, {{"assets", "data|bidx=2"}}));
    expect_error(beyond, 400);
    EXPECT_NE(description_of(beyond).find("asset 'data' has 1 band(s): band 2 does not exist"), std::string::npos)
        << beyond.body;
    const json values = body_of(handle(get(prefix + "/point/10.75,45.75", {{"assets", "data|bidx=1,1"}})));
    EXPECT_EQ(values.at("values").at(0).at("band_names"), json::array({"data_b1", "data_b1"})) << values;
  }
}

TEST_F(ServiceTiles, WithoutACatalogOnlyTheCogRoutes) {
  tessera::ServiceOptions options;
  const tessera::Service service(options);
  const HttpResponse search = service.handle(get("/searches/list"));
  expect_error(search, 404);
  EXPECT_NE(description_of(search).find("this service has no catalog"), std::string::npos) << search.body;
  HttpRequest registration = get("/searches/register");
  registration.method = "POST";
  registration.body = "{}";
  expect_error(service.handle(registration), 404);
  expect_error(service.handle(get("/")), 404);             // no STAC API
  expect_error(service.handle(get("/collections")), 404);  // no STAC API
  EXPECT_EQ(service.handle(get("/cog/info", {cog()})).status, 200);
  EXPECT_EQ(service.handle(get("/healthz")).status, 200);
}

TEST_F(ServiceTiles, OptionsChooseTheRoutes) {
  tessera::ServiceOptions no_tiles;
  no_tiles.tiles = false;
  const tessera::Service stac_only(*catalog_, no_tiles);
  expect_error(stac_only.handle(get("/cog/info", {cog()})), 404);
  expect_error(stac_only.handle(get("/colormaps")), 404);
  EXPECT_EQ(stac_only.handle(get("/collections")).status, 200);

  tessera::ServiceOptions no_stac;
  no_stac.stac = false;
  no_stac.cache_max_age_seconds = 0;
  const tessera::Service tiles_only(*catalog_, no_stac);
  expect_error(tiles_only.handle(get("/collections")), 404);
  const HttpResponse listed = tiles_only.handle(get("/searches/list"));
  EXPECT_EQ(listed.status, 200);
  const HttpResponse info = tiles_only.handle(get("/cog/info", {cog()}));
  EXPECT_EQ(*info.header("Cache-Control"), "no-cache");

  // Contradictions and missing files are refused when the service is built.
  no_tiles.viewer_dir = folder_->path().string();
  EXPECT_THROW((tessera::Service(*catalog_, no_tiles)), tessera::Error);
  tessera::ServiceOptions browser_without_stac;
  browser_without_stac.browser_dir = folder_->path().string();
  EXPECT_THROW((tessera::Service(browser_without_stac)), tessera::Error);
  tessera::ServiceOptions no_viewer;
  no_viewer.viewer_dir = (folder_->path() / "no-such-viewer").string();
  EXPECT_THROW((tessera::Service(no_viewer)), tessera::Error);
  tessera::ServiceOptions no_basemap;
  no_basemap.basemap_path = (folder_->path() / "no-such.geojson").string();
  EXPECT_THROW((tessera::Service(no_basemap)), tessera::Error);
}

TEST_F(ServiceTiles, TheViewerItsBaseLayerAndColormaps) {
  const fs::path viewer = folder_->path() / "viewer";
  fs::create_directories(viewer);
  std::ofstream(viewer / "index.html") << "<!doctype html><title>viewer</title>";
  std::ofstream(viewer / "viewer.js") << "console.log('viewer');";
  std::ofstream(viewer / "maplibre-gl-worker.mjs") << "export {};";
  std::ofstream(folder_->path() / "secret.txt") << "secret";
  const fs::path basemap = folder_->path() / "countries.geojson";
  std::ofstream(basemap) << R"({"type": "FeatureCollection", "features": []})";

  tessera::ServiceOptions options;
  options.viewer_dir = viewer.string();
  options.basemap_path = basemap.string();
  const tessera::Service service(options);

  const HttpResponse root = service.handle(get("/"));
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(*root.header("Location"), "http://tiles.test/viewer/");
  const HttpResponse folder = service.handle(get("/viewer", {{"collection", "s2"}}));
  EXPECT_EQ(folder.status, 301);
  EXPECT_EQ(*folder.header("Location"), "http://tiles.test/viewer/?collection=s2");
  const HttpResponse page = service.handle(get("/viewer/"));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(*page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>viewer</title>"), std::string::npos);
  EXPECT_EQ(*service.handle(get("/viewer/viewer.js")).header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(*service.handle(get("/viewer/maplibre-gl-worker.mjs")).header("Content-Type"),
            "text/javascript; charset=utf-8");
  expect_error(service.handle(get("/viewer/missing.js")), 404);
  expect_error(service.handle(get("/viewer/../secret.txt")), 404);
  expect_error(service.handle(get("/viewer/%2e%2e/secret.txt")), 404);
  HttpRequest post = get("/viewer/");
  post.method = "POST";
  expect_error(service.handle(post), 405);

  const HttpResponse layer = service.handle(get("/basemap.geojson"));
  ASSERT_EQ(layer.status, 200);
  EXPECT_EQ(*layer.header("Content-Type"), "application/geo+json");
  EXPECT_EQ(json::parse(layer.body).at("features"), json::array());
  EXPECT_EQ(service.handle(get("/basemap.geojson", {}, {{"If-None-Match", *layer.header("ETag")}})).status, 304);

  // Without a file: a graticule.
  const tessera::Service plain{tessera::ServiceOptions{}};
  const json graticule = json::parse(plain.handle(get("/basemap.geojson")).body);
  EXPECT_GT(graticule.at("features").size(), 30u);
  expect_error(plain.handle(get("/viewer/")), 404);  // no viewer folder
  const json colormaps = json::parse(plain.handle(get("/colormaps")).body);
  const auto& names = colormaps.at("colorMaps");
  EXPECT_NE(std::find(names.begin(), names.end(), "viridis"), names.end());
  const HttpResponse health = plain.handle(get("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body).at("status"), "ok");
}

TEST_F(ServiceTiles, HostilePathsAreAnsweredNeverCrash) {
  const std::string long_segment(100000, 'a');
  for (const std::string& path :
       {std::string("/cog/tiles/../../etc/passwd"), std::string("/cog/tiles/WebMercatorQuad/1/2/3.png\0x", 30),
        std::string("/searches/../info"), std::string("/searches/%00/info"), std::string("/searches/\"'<>/info"),
        "/searches/" + long_segment + "/info", "/cog/tiles/" + long_segment + "/1/1/1.png",
        std::string("/cog/tiles/WebMercatorQuad/1/1/1@99999999999999999999x.png"),
        std::string("/cog/tiles/WebMercatorQuad/1/1/1.") + long_segment, std::string("/cog/point/,"),
        std::string("/cog/point/1e999,1e999"), std::string("/cog/point/nan,nan"),
        std::string("/searches/x/point/1,2/assets/more"), std::string("//cog//info"), std::string("/cog/"),
        std::string("/searches/"), std::string("/viewer/\x01"), std::string("/basemap.geojson/x")}) {
    const HttpResponse response = handle(get(path, {cog(), {"assets", "data"}}));
    EXPECT_GE(response.status, 200) << path.substr(0, 80);
    EXPECT_LT(response.status, 500) << path.substr(0, 80) << ": " << response.body;
    if (response.status >= 400) {
      EXPECT_FALSE(json::parse(response.body, nullptr, false).is_discarded()) << path.substr(0, 80);
      EXPECT_EQ(response.body.find("root:"), std::string::npos);
    }
  }
}

}  // namespace
