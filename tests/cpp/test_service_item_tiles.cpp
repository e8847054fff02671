// The per-item and per-collection tile routes (titiler-pgstac's
// /collections/{c}/items/{i}/... and /collections/{c}/...), render_id
// presets from the render extension, and the STAC API's links to them,
// through Service::handle over the tile routes' sample COGs.

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

using tessera::testing::get;
using tessera::testing::Query;

int hex_value(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

std::string percent_decoded(const std::string& text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      decoded += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      decoded += text[i] == '+' ? ' ' : text[i];
    }
  }
  return decoded;
}

// The request a link's href ("http://tiles.test/path?a=1&b=2") makes.
HttpRequest request_of(const std::string& href) {
  const std::string prefix = "http://tiles.test";
  EXPECT_EQ(href.rfind(prefix, 0), 0u) << href;
  const std::string rest = href.substr(prefix.size());
  const std::size_t mark = rest.find('?');
  Query query;
  if (mark != std::string::npos) {
    std::size_t start = mark + 1;
    while (start <= rest.size()) {
      const std::size_t end = std::min(rest.find('&', start), rest.size());
      const std::string pair = rest.substr(start, end - start);
      const std::size_t equals = pair.find('=');
      query.emplace_back(percent_decoded(pair.substr(0, equals)), percent_decoded(pair.substr(equals + 1)));
      start = end + 1;
    }
  }
  return get(rest.substr(0, mark), std::move(query));
}

class ServiceItemTiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new tessera::testing::TempDir();
    data_ = tessera::testing::write_sample_data(folder_->path() / "data");
    tessera::ReaderConfig config;
    config.allowed_roots = {data_.folder.string()};
    environment_ = new tessera::Environment(config);
    catalog_ = tessera::Catalog::open(data_.catalog_uri).release();
    add_collections();
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

  static json collection(const std::string& id, json extra) {
    json value = {{"type", "Collection"},
                  {"stac_version", "1.1.0"},
                  {"id", id},
                  {"description", "test"},
                  {"license", "CC0-1.0"},
                  {"links", json::array()},
                  {"extent",
                   {{"spatial", {{"bbox", {{10.0, 45.0, 11.0, 46.0}}}}},
                    {"temporal", {{"interval", json::array({json::array({"2024-06-01T00:00:00Z", nullptr})})}}}}}};
    value.update(extra);
    return value;
  }

  // "multi": items with two assets ("data", the June gradient, and "bands",
  // the July bands) and two renders; "visual-only": item_assets naming a
  // visual asset; "ambiguous": two data assets.
  static void add_collections() {
    const json cog_asset = {{"type", "image/tiff; application=geotiff; profile=cloud-optimized"}, {"roles", {"data"}}};
    catalog_->create_collection(collection(
        "multi",
        {{"renders",
          {{"gradient",
            {{"title", "Gradient"},
             {"assets", {"data"}},
             {"rescale", {{0, 255}}},
             {"colormap_name", "viridis"},
             {"minmax_zoom", {6, 12}}}},
           {"sum", {{"assets", {"data", "bands"}}, {"expression", "data_b1+bands_b1"}, {"rescale", {{0, 510}}}}}}}}));
    catalog_->create_collection(collection("visual-only", {{"item_assets", {{"visual", {{"title", "True colour"}}}}}}));
    catalog_->create_collection(collection(
        "ambiguous", {{"item_assets", {{"red", cog_asset}, {"nir", cog_asset}, {"meta", {{"type", "x"}}}}}}));
    const auto& june = data_.scenes.at(0);
    const json ring = {{june.west, june.south},
                       {june.east, june.south},
                       {june.east, june.north},
                       {june.west, june.north},
                       {june.west, june.south}};
    json item = {{"type", "Feature"},
                 {"stac_version", "1.1.0"},
                 {"id", "two-assets"},
                 {"collection", "multi"},
                 {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}},
                 {"bbox", {june.west, june.south, june.east, june.north}},
                 {"properties", {{"datetime", june.datetime}}},
                 {"links", json::array()},
                 {"assets",
                  {{"data", {{"href", june.cog.string()}, {"type", cog_asset["type"]}}},
                   {"bands", {{"href", data_.scenes.at(1).cog.string()}, {"type", cog_asset["type"]}}}}}};
    ASSERT_EQ(catalog_->load({item}).loaded, 1u);
    item["id"] = "visual-item";
    item["collection"] = "visual-only";
    item["assets"] = {{"visual", {{"href", june.cog.string()}}}};
    ASSERT_EQ(catalog_->load({item}).loaded, 1u);
  }

  static HttpResponse handle(const HttpRequest& request) { return service_->handle(request); }
  static json body_of(const HttpResponse& response) { return json::parse(response.body); }
  static void expect_error(const HttpResponse& response, int status, const std::string& parameter = "") {
    EXPECT_EQ(response.status, status) << response.body;
    const json body = json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response.body;
    EXPECT_TRUE(body.contains("code") && body.contains("description")) << response.body;
    if (!parameter.empty()) {
      EXPECT_EQ(body.value("parameter", ""), parameter) << response.body;
    }
  }
  // The z/x/y of the WebMercatorQuad tile inside both June and July (10.75, 45.75).
  static std::string overlap_tile(int z) {
    const tessera::Tile tile = tessera::TileMatrixSet::web_mercator_quad().tile(10.75, 45.75, z);
    return std::to_string(z) + "/" + std::to_string(tile.x) + "/" + std::to_string(tile.y);
  }
  static std::vector<json> links_with_rel(const json& document, const std::string& rel) {
    std::vector<json> found;
    for (const json& link : document.at("links")) {
      if (link.value("rel", "") == rel) {
        found.push_back(link);
      }
    }
    return found;
  }

  static inline tessera::testing::TempDir* folder_ = nullptr;
  static inline tessera::testing::SampleData data_;
  static inline tessera::Environment* environment_ = nullptr;
  static inline tessera::Catalog* catalog_ = nullptr;
  static inline tessera::Service* service_ = nullptr;
  std::unique_ptr<tessera::Environment::Scope> scope_;
};

constexpr const char* kItem = "/collections/multi/items/two-assets";

TEST_F(ServiceItemTiles, ItemTilesStackTheAssetsAskedFor) {
  const std::string tile = std::string(kItem) + "/tiles/WebMercatorQuad/" + overlap_tile(9);
  const HttpResponse one = handle(get(tile + ".npy", {{"assets", "data"}}));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_NE(one.body.find("'shape': (2, 256, 256)"), std::string::npos);  // one band and the mask
  const HttpResponse both = handle(get(tile + ".npy", {{"assets", "data"}, {"assets", "bands"}}));
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_NE(both.body.find("'shape': (3, 256, 256)"), std::string::npos);
  const HttpResponse png = handle(get(tile + "@2x.png", {{"expression", "data_b1-bands_b1"}, {"rescale", "-255,255"}}));
  ASSERT_EQ(png.status, 200) << png.body;
  EXPECT_EQ(*png.header("Content-Type"), "image/png");
  EXPECT_EQ(handle(get(tile + ".npy", {{"assets", "data"}, {"tilesize", "64"}})).body.find("(2, 64, 64)") !=
                std::string::npos,
            true);

  // Point values of the item alone, band names <asset>_b<n>.
  const json point = body_of(handle(get(std::string(kItem) + "/point/10.75,45.75", {{"assets", "data,bands"}})));
  EXPECT_EQ(point.at("band_names"), json::array({"data_b1", "bands_b1"})) << point;
  EXPECT_EQ(point.at("values").at(1), 190.0) << point;  // July's bands at row 192 (test_service_tiles)
  EXPECT_EQ(point.at("coordinates"), json::array({10.75, 45.75}));
  expect_error(handle(get(std::string(kItem) + "/point/12.5,45.5", {{"assets", "data"}})), 404);
}

// TiTiler 2's assets=<asset>|bidx=..., TiTiler 1's asset_bidx=<asset>|...,
// both expression spellings and asset_as_band read the same pixels.
TEST_F(ServiceItemTiles, PerAssetBandsInBothTiTilerForms) {
  const std::string tile = std::string(kItem) + "/tiles/WebMercatorQuad/" + overlap_tile(9);
  const HttpResponse plain = handle(get(tile + ".npy", {{"assets", "data"}, {"assets", "bands"}}));
  ASSERT_EQ(plain.status, 200) << plain.body;
  for (const Query& query : std::vector<Query>{
           {{"assets", "data|bidx=1"}, {"assets", "bands|bidx=1"}},
           {{"assets", "data|bidx=1,bands|bidx=1"}},
           {{"assets", "data,bands"}, {"asset_bidx", "bands|1"}},
           {{"assets", "data"}, {"assets", "bands"}, {"asset_bidx", "data|1"}, {"asset_bidx", "bands|1"}},
       }) {
    const HttpResponse selected = handle(get(tile + ".npy", query));
    ASSERT_EQ(selected.status, 200) << selected.body;
    EXPECT_EQ(selected.body, plain.body) << query.front().second;
  }
  const HttpResponse twice = handle(get(tile + ".npy", {{"assets", "bands|bidx=1,1"}}));
  ASSERT_EQ(twice.status, 200) << twice.body;
  EXPECT_NE(twice.body.find("'shape': (3, 256, 256)"), std::string::npos);

  // rio-tiler 9's b<n> over the stack equals rio-tiler 7's <asset>_b<n>.
  const Query v2 = {{"assets", "data"}, {"assets", "bands|bidx=1"}, {"expression", "b1-b2"}, {"rescale", "-255,255"}};
  const HttpResponse by_position = handle(get(tile + ".png", v2));
  ASSERT_EQ(by_position.status, 200) << by_position.body;
  EXPECT_EQ(by_position.body,
            handle(get(tile + ".png", {{"expression", "data_b1-bands_b1"}, {"rescale", "-255,255"}})).body);
  EXPECT_EQ(by_position.body, handle(get(tile + ".png", {{"assets", "data"},
                                                         {"assets", "bands"},
                                                         {"asset_as_band", "true"},
                                                         {"expression", "data-bands"},
                                                         {"rescale", "-255,255"}}))
                                  .body);

  const json point = body_of(handle(
      get(std::string(kItem) + "/point/10.75,45.75", {{"assets", "data,bands|bidx=1"}, {"asset_as_band", "1"}})));
  EXPECT_EQ(point.at("band_names"), json::array({"data", "bands"})) << point;
  EXPECT_EQ(point.at("values").at(1), 190.0) << point;
  const json info = body_of(handle(get(std::string(kItem) + "/info", {{"assets", "bands|bidx=1"}})));
  EXPECT_EQ(info.size(), 1u);
  EXPECT_TRUE(info.contains("bands")) << info;
}

// Every malformed per-asset value is a 400 naming its parameter; a band the
// asset lacks names the asset and its band count.
TEST_F(ServiceItemTiles, PerAssetBandFaultsAre400) {
  const std::string tile = std::string(kItem) + "/tiles/WebMercatorQuad/" + overlap_tile(9) + ".png";
  for (const char* bad : {"bands|bidx=0", "bands|bidx=x", "bands|bidx=", "bands|bidx=1,", "bands|foo=1", "bands|bidx",
                          "|bidx=1", "bands|bidx=1|bidx=1", "bands|expression=b1", "bands|bands=red"}) {
    expect_error(handle(get(tile, {{"assets", bad}})), 400, "assets");
  }
  for (const Query& query : std::vector<Query>{{{"assets", "bands"}, {"asset_bidx", "bands"}},
                                               {{"assets", "bands"}, {"asset_bidx", "|1"}},
                                               {{"assets", "bands"}, {"asset_bidx", "bands|0"}},
                                               {{"assets", "bands"}, {"asset_bidx", "bands|"}},
                                               {{"assets", "bands"}, {"asset_bidx", "data|1"}},
                                               {{"assets", "bands|bidx=1"}, {"asset_bidx", "bands|1"}}}) {
    expect_error(handle(get(tile, query)), 400, "asset_bidx");
  }
  const HttpResponse beyond = handle(get(tile, {{"assets", "data"}, {"assets", "bands|bidx=2"}}));
  expect_error(beyond, 400);
  EXPECT_NE(json::parse(beyond.body).at("description").get<std::string>().find("asset 'bands' has 1 band(s)"),
            std::string::npos)
      << beyond.body;
  const HttpResponse stack = handle(get(tile, {{"assets", "data"}, {"expression", "b2*2"}}));
  expect_error(stack, 400);
  EXPECT_NE(json::parse(stack.body).at("description").get<std::string>().find("beyond the 1 band(s)"),
            std::string::npos)
      << stack.body;
  expect_error(handle(get(tile, {{"assets", "data"}, {"expression", "b1+data_b1"}})), 400, "expression");
  expect_error(handle(get(tile, {{"expression", "b1*2"}})), 400, "expression");
  expect_error(handle(get(tile, {{"assets", "data"}, {"asset_as_band", "perhaps"}})), 400, "asset_as_band");
  expect_error(handle(get(std::string(kItem) + "/info", {{"assets", "bands|bidx=0"}})), 400, "assets");
  expect_error(handle(get(std::string(kItem) + "/point/10.75,45.75", {{"assets", "bands|bidx=3"}})), 400);
}

// TiTiler 2's tilesize stands for the path's @{scale}x; both only when they agree.
TEST_F(ServiceItemTiles, TileSizeAndScale) {
  const std::string tile = std::string(kItem) + "/tiles/WebMercatorQuad/" + overlap_tile(9);
  const auto shape_of = [&](const std::string& path, const Query& query) {
    const HttpResponse response = handle(get(path, query));
    EXPECT_EQ(response.status, 200) << response.body;
    return response.body.substr(0, 120);
  };
  EXPECT_NE(shape_of(tile + ".npy", {{"assets", "data"}, {"tilesize", "512"}}).find("(2, 512, 512)"),
            std::string::npos);
  EXPECT_NE(shape_of(tile + "@2x.npy", {{"assets", "data"}}).find("(2, 512, 512)"), std::string::npos);
  EXPECT_NE(shape_of(tile + "@2x.npy", {{"assets", "data"}, {"tilesize", "512"}}).find("(2, 512, 512)"),
            std::string::npos);
  expect_error(handle(get(tile + "@2x.npy", {{"assets", "data"}, {"tilesize", "256"}})), 400, "tilesize");
  const json tilejson = body_of(handle(
      get(std::string(kItem) + "/WebMercatorQuad/tilejson.json", {{"assets", "bands|bidx=1"}, {"tilesize", "512"}})));
  EXPECT_EQ(tilejson.at("tiles").at(0),
            "http://tiles.test/collections/multi/items/two-assets/tiles/WebMercatorQuad/"
            "{z}/{x}/{y}.png?assets=bands%7Cbidx%3D1&tilesize=512");
  expect_error(handle(get(std::string(kItem) + "/WebMercatorQuad/tilejson.json", {{"tilesize", "0"}})), 400,
               "tilesize");
  expect_error(
      handle(get(std::string(kItem) + "/WebMercatorQuad/tilejson.json", {{"tilesize", "256"}, {"tile_scale", "2"}})),
      400, "tilesize");
}

TEST_F(ServiceItemTiles, ItemAssetsInfoAndTileJson) {
  const json names = body_of(handle(get(std::string(kItem) + "/assets")));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), (std::set<std::string>{"bands", "data"}));

  const json info = body_of(handle(get(std::string(kItem) + "/info")));
  ASSERT_TRUE(info.contains("data") && info.contains("bands")) << info;
  EXPECT_EQ(info.at("data").at("dtype"), "uint8");
  const json one = body_of(handle(get(std::string(kItem) + "/info", {{"assets", "bands"}})));
  EXPECT_EQ(one.size(), 1u);
  EXPECT_TRUE(one.contains("bands"));

  // A titiler-pgstac client's item TileJSON URL answers unchanged.
  const json tilejson = body_of(handle(get(std::string(kItem) + "/WebMercatorQuad/tilejson.json",
                                           {{"assets", "data"}, {"rescale", "0,255"}, {"colormap_name", "viridis"}})));
  EXPECT_EQ(tilejson.at("tiles").at(0),
            "http://tiles.test/collections/multi/items/two-assets/tiles/WebMercatorQuad/"
            "{z}/{x}/{y}.png?assets=data&rescale=0%2C255&colormap_name=viridis");
  EXPECT_EQ(tilejson.at("bounds"), json::array({10.0, 45.0, 11.0, 46.0}));
  const json scaled = body_of(handle(
      get(std::string(kItem) + "/WebMercatorQuad/tilejson.json",
          {{"assets", "data"}, {"tile_scale", "2"}, {"tile_format", "webp"}, {"minzoom", "3"}, {"maxzoom", "9"}})));
  EXPECT_EQ(scaled.at("tiles").at(0),
            "http://tiles.test/collections/multi/items/two-assets/tiles/WebMercatorQuad/"
            "{z}/{x}/{y}@2x.webp?assets=data");
  EXPECT_EQ(scaled.at("minzoom"), 3);
  EXPECT_EQ(scaled.at("maxzoom"), 9);
}

TEST_F(ServiceItemTiles, ItemErrors) {
  const std::string tile = std::string(kItem) + "/tiles/WebMercatorQuad/" + overlap_tile(9) + ".png";
  expect_error(handle(get("/collections/multi/items/missing/tiles/WebMercatorQuad/9/0/0.png", {{"assets", "data"}})),
               404);
  expect_error(handle(get("/collections/multi/items/missing/assets")), 404);
  expect_error(handle(get("/collections/nope/items/two-assets/info")), 404);
  const HttpResponse lacking = handle(get(tile, {{"assets", "data"}, {"assets", "nir"}}));
  expect_error(lacking, 400, "assets");
  EXPECT_NE(json::parse(lacking.body).at("description").get<std::string>().find("'nir'"), std::string::npos);
  expect_error(handle(get(tile, {{"expression", "nir_b1*2"}})), 400, "assets");
  expect_error(handle(get(std::string(kItem) + "/info", {{"assets", "nir"}})), 400, "assets");
  expect_error(handle(get(tile)), 400, "assets");
  EXPECT_EQ(handle(get(tile, {{"assets", "data"}, {"tile_scale", "9"}})).status, 200);  // TileJSON's, not a tile's
  expect_error(handle(get(std::string(kItem) + "/WebMercatorQuad/tilejson.json", {{"tile_scale", "9"}})), 400,
               "tile_scale");
  // The listing forms of mosaics are no item routes.
  expect_error(handle(get(tile.substr(0, tile.size() - 4) + "/assets", {{"assets", "data"}})), 404);
  HttpRequest post = get(tile, {{"assets", "data"}});
  post.method = "POST";
  expect_error(handle(post), 405);
}

TEST_F(ServiceItemTiles, CollectionMosaicsAnswerAsTheSearchOfTheCollection) {
  HttpRequest registration = get("/searches/register");
  registration.method = "POST";
  registration.body = R"({"collections": ["sample"]})";
  const std::string search = body_of(handle(registration)).at("id").get<std::string>();
  const std::string tile = "/tiles/WebMercatorQuad/" + overlap_tile(9);
  const Query render = {{"assets", "data"}, {"rescale", "0,255"}, {"colormap_name", "viridis"}};
  const HttpResponse collection = handle(get("/collections/sample" + tile + ".png", render));
  ASSERT_EQ(collection.status, 200) << collection.body;
  EXPECT_EQ(collection.body, handle(get("/searches/" + search + tile + ".png", render)).body);
  EXPECT_EQ(body_of(handle(get("/collections/sample" + tile + "/assets", {{"assets", "data"}}))),
            body_of(handle(get("/searches/" + search + tile + "/assets", {{"assets", "data"}}))));
  const json values = body_of(handle(get("/collections/sample/point/10.75,45.75", {{"assets", "data"}})));
  EXPECT_EQ(values.at("values").size(), 2u) << values;
  EXPECT_EQ(body_of(handle(get("/collections/sample/point/10.75,45.75/assets", {{"assets", "data"}}))).size(), 2u);
  const json tilejson = body_of(handle(get("/collections/sample/WebMercatorQuad/tilejson.json", render)));
  EXPECT_EQ(tilejson.at("bounds"), json::array({10.0, 45.0, 12.0, 46.5}));  // the collection's extent
  EXPECT_EQ(tilejson.at("tiles").at(0),
            "http://tiles.test/collections/sample/tiles/WebMercatorQuad/{z}/{x}/{y}.png?"
            "assets=data&rescale=0%2C255&colormap_name=viridis");
  expect_error(handle(get("/collections/nope" + tile + ".png", render)), 404);
  // Every item lacks the asset: the request's fault, not the server's.
  expect_error(handle(get("/collections/sample" + tile + ".png", {{"assets", "nir"}})), 400);
  // Without a catalog the collection routes say so.
  const tessera::Service no_catalog{tessera::ServiceOptions{}};
  expect_error(no_catalog.handle(get("/collections/sample" + tile + ".png", render)), 404);
}

TEST_F(ServiceItemTiles, RenderIdPresetsAndExplicitParametersWin) {
  const std::string tile = std::string(kItem) + "/tiles/WebMercatorQuad/" + overlap_tile(9) + ".png";
  const HttpResponse preset = handle(get(tile, {{"render_id", "gradient"}}));
  ASSERT_EQ(preset.status, 200) << preset.body;
  EXPECT_EQ(preset.body,
            handle(get(tile, {{"assets", "data"}, {"rescale", "0,255"}, {"colormap_name", "viridis"}})).body);
  // An explicit colormap replaces the render's colormap_name (one group).
  const HttpResponse mine = handle(get(tile, {{"render_id", "gradient"}, {"colormap", R"({"1": [255, 0, 0, 255]})"}}));
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(
      mine.body,
      handle(get(tile, {{"assets", "data"}, {"rescale", "0,255"}, {"colormap", R"({"1": [255, 0, 0, 255]})"}})).body);
  EXPECT_EQ(handle(get(tile, {{"render_id", "sum"}})).status, 200);
  expect_error(handle(get(tile, {{"render_id", "nope"}})), 400, "render_id");

  const json tilejson =
      body_of(handle(get(std::string(kItem) + "/WebMercatorQuad/tilejson.json", {{"render_id", "gradient"}})));
  EXPECT_EQ(tilejson.at("minzoom"), 6);
  EXPECT_EQ(tilejson.at("maxzoom"), 12);
  EXPECT_EQ(tilejson.at("tiles").at(0),
            "http://tiles.test/collections/multi/items/two-assets/tiles/WebMercatorQuad/"
            "{z}/{x}/{y}.png?render_id=gradient");
  const HttpResponse collection =
      handle(get("/collections/multi/tiles/WebMercatorQuad/" + overlap_tile(9) + ".png", {{"render_id", "gradient"}}));
  EXPECT_EQ(collection.status, 200) << collection.body;
  expect_error(handle(get("/collections/sample/WebMercatorQuad/tilejson.json", {{"render_id", "any"}})), 400,
               "render_id");
}

TEST_F(ServiceItemTiles, StacItemsAndCollectionsLinkToWorkingTileRoutes) {
  const json item = body_of(handle(get(kItem)));
  const auto tilejson_links = links_with_rel(item, "tilejson");
  ASSERT_EQ(tilejson_links.size(), 2u) << item.at("links");  // one per render
  for (const json& link : tilejson_links) {
    EXPECT_EQ(link.at("type"), "application/json");
    const HttpResponse followed = handle(request_of(link.at("href").get<std::string>()));
    ASSERT_EQ(followed.status, 200) << link << followed.body;
    const std::string tile_url = body_of(followed).at("tiles").at(0).get<std::string>();
    std::string tile = tile_url;
    tile.replace(tile.find("{z}/{x}/{y}"), 11, overlap_tile(9));
    EXPECT_EQ(handle(request_of(tile)).status, 200) << tile;
  }
  EXPECT_EQ(tilejson_links.at(0).at("href"),
            "http://tiles.test/collections/multi/items/two-assets/WebMercatorQuad/tilejson.json?assets=data&"
            "rescale=0%2C255&colormap_name=viridis&minzoom=6&maxzoom=12");
  EXPECT_EQ(tilejson_links.at(0).at("title"), "Gradient");

  // Search pages and item pages carry them too.
  const json page = body_of(handle(get("/search", {{"collections", "multi,visual-only"}})));
  ASSERT_EQ(page.at("features").size(), 2u);
  for (const json& feature : page.at("features")) {
    EXPECT_FALSE(links_with_rel(feature, "tilejson").empty()) << feature.at("id");
  }
  const json visual = body_of(handle(get("/collections/visual-only/items")));
  const auto visual_links = links_with_rel(visual.at("features").at(0), "tilejson");
  ASSERT_EQ(visual_links.size(), 1u);
  EXPECT_EQ(visual_links.at(0).at("href"),
            "http://tiles.test/collections/visual-only/items/visual-item/WebMercatorQuad/tilejson.json?assets=visual");
  EXPECT_EQ(handle(request_of(visual_links.at(0).at("href"))).status, 200);
  // The sample collection has no renders, no item_assets and no visual asset: no link.
  EXPECT_TRUE(links_with_rel(body_of(handle(get("/collections/sample/items/scene-june"))), "tilejson").empty());

  // Collections: their own renders kept, derived ones added when unambiguous, a tiles link per render.
  const json multi = body_of(handle(get("/collections/multi")));
  const auto tiles_links = links_with_rel(multi, "tiles");
  ASSERT_EQ(tiles_links.size(), 2u);
  EXPECT_EQ(handle(request_of(tiles_links.at(0).at("href"))).status, 200) << tiles_links.at(0);
  const json derived = body_of(handle(get("/collections/visual-only")));
  EXPECT_EQ(derived.at("renders"), json::parse(R"({"visual": {"title": "True colour", "assets": ["visual"]}})"));
  const json ambiguous = body_of(handle(get("/collections/ambiguous")));
  EXPECT_FALSE(ambiguous.contains("renders"));
  EXPECT_TRUE(links_with_rel(ambiguous, "tiles").empty());
  const json all = body_of(handle(get("/collections")));
  const auto listed = std::find_if(all.at("collections").begin(), all.at("collections").end(),
                                   [](const json& c) { return c.at("id") == "visual-only"; });
  ASSERT_NE(listed, all.at("collections").end());
  EXPECT_TRUE(listed->contains("renders"));

  // Without the tile routes, no links to them.
  tessera::ServiceOptions no_tiles;
  no_tiles.tiles = false;
  const tessera::Service stac_only(*catalog_, no_tiles);
  EXPECT_TRUE(links_with_rel(json::parse(stac_only.handle(get(kItem)).body), "tilejson").empty());
  EXPECT_FALSE(json::parse(stac_only.handle(get("/collections/visual-only")).body).contains("renders"));
}

TEST_F(ServiceItemTiles, TheOpenApiDocumentListsTheTileRoutes) {
  const json api = body_of(handle(get("/api")));
  for (const char* path : {"/cog/tiles/{tileMatrixSetId}/{z}/{x}/{y}", "/searches/{searchId}/point/{lonlat}/assets",
                           "/collections/{collectionId}/{tileMatrixSetId}/tilejson.json",
                           "/collections/{collectionId}/items/{itemId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}",
                           "/collections/{collectionId}/items/{itemId}/info"}) {
    EXPECT_TRUE(api.at("paths").contains(path)) << path;
  }
  tessera::ServiceOptions no_tiles;
  no_tiles.tiles = false;
  const tessera::Service stac_only(*catalog_, no_tiles);
  EXPECT_FALSE(json::parse(stac_only.handle(get("/api")).body).at("paths").contains("/cog/info"));
}

}  // namespace
