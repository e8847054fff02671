// The OGC descriptions of the tile sources through Service::handle: the tile
// matrix sets, the tilesets of a raster, a registered search, a collection and
// an item (bounds and tile ranges per zoom), and the WMTS capabilities
// documents, read back with libxml2 (well-formed, layers per tile matrix set
// and render, the templates a WMTS client fills in).

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <nlohmann/json.hpp>

#include "service_requests.hpp"
#include "tessera/environment.hpp"
#include "tessera/service.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "test_support.hpp"
#include "tile_sample_data.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

using tessera::testing::get;

// An XML document parsed by libxml2, freed with the object.
class XmlDocument {
 public:
  explicit XmlDocument(const std::string& text)
      : document_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "wmts.xml", nullptr, XML_PARSE_NONET),
                  xmlFreeDoc) {}
  [[nodiscard]] bool ok() const { return document_ != nullptr; }
  [[nodiscard]] xmlNodePtr root() const { return xmlDocGetRootElement(document_.get()); }

 private:
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> document_;
};

std::string name_of(xmlNodePtr node) { return reinterpret_cast<const char*>(node->name); }

std::vector<xmlNodePtr> children_named(xmlNodePtr parent, const std::string& name) {
  std::vector<xmlNodePtr> found;
  for (xmlNodePtr child = parent->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && name_of(child) == name) {
      found.push_back(child);
    }
  }
  return found;
}

xmlNodePtr child_named(xmlNodePtr parent, const std::string& name) {
  const auto found = children_named(parent, name);
  return found.empty() ? nullptr : found.front();
}

std::string text_of(xmlNodePtr node) {
  xmlChar* content = xmlNodeGetContent(node);
  std::string text = content != nullptr ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  return text;
}

std::string attribute_of(xmlNodePtr node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  std::string text = value != nullptr ? reinterpret_cast<const char*>(value) : "";
  xmlFree(value);
  return text;
}

class ServiceTileMetadata : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new tessera::testing::TempDir();
    data_ = tessera::testing::write_sample_data(folder_->path() / "data");
    tessera::ReaderConfig config;
    config.allowed_roots = {data_.folder.string()};
    environment_ = new tessera::Environment(config);
    catalog_ = tessera::Catalog::open(data_.catalog_uri).release();
    service_ = new tessera::Service(*catalog_, tessera::ServiceOptions{});
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
  static json ok_json(const HttpRequest& request) {
    const HttpResponse response = handle(request);
    EXPECT_EQ(response.status, 200) << request.path << ": " << response.body;
    return json::parse(response.body, nullptr, false);
  }
  static std::pair<std::string, std::string> cog() { return {"url", data_.scenes.at(0).cog.string()}; }
  static std::string register_search(const json& body) {
    HttpRequest request = get("/searches/register");
    request.method = "POST";
    request.body = body.dump();
    return ok_json(request).at("id").get<std::string>();
  }
  // The WMTS document of `path`, parsed; fails the test when it is not 200 XML.
  static std::unique_ptr<XmlDocument> wmts(const HttpRequest& request) {
    const HttpResponse response = handle(request);
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(*response.header("Content-Type"), "application/xml");
    auto document = std::make_unique<XmlDocument>(response.body);
    EXPECT_TRUE(document->ok()) << response.body;
    return document;
  }
  // Layer identifier -> ResourceURL template.
  static std::map<std::string, std::string> layers_of(const XmlDocument& document) {
    std::map<std::string, std::string> layers;
    for (xmlNodePtr layer : children_named(child_named(document.root(), "Contents"), "Layer")) {
      layers[text_of(child_named(layer, "Identifier"))] = attribute_of(child_named(layer, "ResourceURL"), "template");
    }
    return layers;
  }

  static inline tessera::testing::TempDir* folder_ = nullptr;
  static inline tessera::testing::SampleData data_;
  static inline tessera::Environment* environment_ = nullptr;
  static inline tessera::Catalog* catalog_ = nullptr;
  static inline tessera::Service* service_ = nullptr;
  std::unique_ptr<tessera::Environment::Scope> scope_;
};

TEST_F(ServiceTileMetadata, TileMatrixSetsListAndDefinitions) {
  const json list = ok_json(get("/tileMatrixSets"));
  std::set<std::string> ids;
  for (const json& entry : list.at("tileMatrixSets")) {
    ids.insert(entry.at("id").get<std::string>());
    const json& link = entry.at("links").at(0);
    EXPECT_EQ(link.at("rel"), "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme");
    EXPECT_EQ(link.at("href"), "http://tiles.test/tileMatrixSets/" + entry.at("id").get<std::string>());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"WebMercatorQuad", "WorldCRS84Quad"}));

  EXPECT_EQ(ok_json(get("/tileMatrixSets/WebMercatorQuad")), tessera::TileMatrixSet::web_mercator_quad().to_json());
  // A definition read back is the same set (what a client does with it).
  const json epsg = ok_json(get("/tileMatrixSets/EPSG:3035"));
  EXPECT_EQ(tessera::TileMatrixSet::from_json(epsg).to_json(), epsg);

  EXPECT_EQ(handle(get("/tileMatrixSets/NoSuchSet")).status, 404);
  EXPECT_EQ(handle(get("/tileMatrixSets/" + std::string(10000, 'x'))).status, 404);
  HttpRequest post = get("/tileMatrixSets");
  post.method = "POST";
  EXPECT_EQ(handle(post).status, 405);
}

TEST_F(ServiceTileMetadata, CogTilesetsCoverTheRasterAtItsZooms) {
  const json list = ok_json(get("/cog/tiles", {cog()}));
  ASSERT_EQ(list.at("tilesets").size(), 2U);
  for (const json& tileset : list["tilesets"]) {
    bool templated = false;
    for (const json& link : tileset.at("links")) {
      if (link.value("templated", false)) {
        templated = true;
        EXPECT_NE(link.at("href").get<std::string>().find("/{z}/{x}/{y}?url="), std::string::npos) << link;
      }
    }
    EXPECT_TRUE(templated) << tileset;
  }

  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  const tessera::RasterInfo info = tessera::raster_info(data_.scenes[0].cog.string(), tms);
  const json tileset = ok_json(get("/cog/tiles/WebMercatorQuad", {cog()}));
  const json& limits = tileset.at("tileMatrixSetLimits");
  ASSERT_EQ(limits.size(), static_cast<std::size_t>(info.maxzoom - info.minzoom + 1)) << tileset;
  EXPECT_EQ(limits.front().at("tileMatrix"), std::to_string(info.minzoom));
  // Each zoom's range holds the tile of the raster's centre.
  const auto& scene = data_.scenes[0];
  for (const json& limit : limits) {
    const int z = std::stoi(limit.at("tileMatrix").get<std::string>());
    const tessera::Tile centre = tms.tile((scene.west + scene.east) / 2, (scene.south + scene.north) / 2, z);
    EXPECT_LE(limit.at("minTileCol").get<std::int64_t>(), centre.x);
    EXPECT_GE(limit.at("maxTileCol").get<std::int64_t>(), centre.x);
    EXPECT_LE(limit.at("minTileRow").get<std::int64_t>(), centre.y);
    EXPECT_GE(limit.at("maxTileRow").get<std::int64_t>(), centre.y);
  }
  EXPECT_EQ(tileset.at("boundingBox").at("crs"), "http://www.opengis.net/def/crs/OGC/1.3/CRS84");

  // minzoom/maxzoom narrow the ranges; a range outside the set is a 400.
  const json narrow = ok_json(get("/cog/tiles/WebMercatorQuad", {cog(), {"minzoom", "2"}, {"maxzoom", "4"}}));
  EXPECT_EQ(narrow.at("tileMatrixSetLimits").size(), 3U);
  EXPECT_EQ(handle(get("/cog/tiles/WebMercatorQuad", {cog(), {"minzoom", "5"}, {"maxzoom", "2"}})).status, 400);
  EXPECT_EQ(handle(get("/cog/tiles/WebMercatorQuad", {cog(), {"maxzoom", "99"}})).status, 400);
  EXPECT_EQ(handle(get("/cog/tiles/WebMercatorQuad", {cog(), {"minzoom", "x"}})).status, 400);
  EXPECT_EQ(handle(get("/cog/tiles/NoSuchSet", {cog()})).status, 400);
  EXPECT_EQ(handle(get("/cog/tiles")).status, 400);  // no url
}

TEST_F(ServiceTileMetadata, MosaicTilesetsOfSearchesCollectionsAndItems) {
  const std::string id =
      register_search({{"collections", {data_.collection}}, {"metadata", {{"minzoom", 6}, {"maxzoom", 9}}}});
  const json search = ok_json(get("/searches/" + id + "/tiles/WebMercatorQuad", {{"assets", "data"}}));
  const json& limits = search.at("tileMatrixSetLimits");
  ASSERT_EQ(limits.size(), 4U) << search;  // the search's own zooms
  EXPECT_EQ(limits.front().at("tileMatrix"), "6");
  bool linked = false;
  for (const json& link : search.at("links")) {
    if (link.value("templated", false)) {
      EXPECT_EQ(link.at("href"), "http://tiles.test/searches/" + id + "/tiles/WebMercatorQuad/{z}/{x}/{y}?assets=data");
      linked = true;
    }
  }
  EXPECT_TRUE(linked);
  EXPECT_EQ(ok_json(get("/searches/" + id + "/tiles")).at("tilesets").size(), 2U);

  const json collection = ok_json(get("/collections/" + data_.collection + "/tiles/WorldCRS84Quad"));
  EXPECT_FALSE(collection.at("tileMatrixSetLimits").empty());
  const std::string item = "/collections/" + data_.collection + "/items/" + data_.scenes[1].id;
  const json item_tileset = ok_json(get(item + "/tiles/WebMercatorQuad", {{"maxzoom", "3"}}));
  EXPECT_EQ(item_tileset.at("tileMatrixSetLimits").size(), 4U);  // 0..3
  const json& bbox = item_tileset.at("boundingBox");
  EXPECT_NEAR(bbox.at("lowerLeft")[0].get<double>(), data_.scenes[1].west, 1e-6);
  EXPECT_NEAR(bbox.at("upperRight")[1].get<double>(), data_.scenes[1].north, 1e-6);

  EXPECT_EQ(handle(get("/searches/nosuchsearch/tiles/WebMercatorQuad")).status, 404);
  EXPECT_EQ(handle(get("/collections/nosuchcollection/tiles")).status, 404);
}

TEST_F(ServiceTileMetadata, WmtsOfARasterHasALayerPerTileMatrixSet) {
  const auto document = wmts(get("/cog/WMTSCapabilities.xml", {cog(), {"rescale", "0,200"}}));
  ASSERT_TRUE(document->ok());
  EXPECT_EQ(name_of(document->root()), "Capabilities");
  EXPECT_EQ(attribute_of(document->root(), "version"), "1.0.0");
  const auto layers = layers_of(*document);
  ASSERT_EQ(layers.size(), 2U);
  const std::string& wmq = layers.at("cog_WebMercatorQuad_default");
  EXPECT_EQ(wmq.rfind("http://tiles.test/cog/tiles/WebMercatorQuad/{TileMatrix}/{TileCol}/{TileRow}.png?url=", 0), 0U)
      << wmq;
  EXPECT_NE(wmq.find("&rescale=0%2C200"), std::string::npos) << wmq;

  // The tile matrix sets in full, with the zoom levels a client picks from.
  const auto sets = children_named(child_named(document->root(), "Contents"), "TileMatrixSet");
  ASSERT_EQ(sets.size(), 2U);
  EXPECT_EQ(text_of(child_named(sets[0], "SupportedCRS")), "http://www.opengis.net/def/crs/EPSG/0/3857");
  EXPECT_EQ(children_named(sets[0], "TileMatrix").size(), 25U);
  const auto epsg = wmts(get("/cog/WMTSCapabilities.xml", {cog(), {"use_epsg", "true"}, {"tile_format", "webp"}}));
  const auto epsg_sets = children_named(child_named(epsg->root(), "Contents"), "TileMatrixSet");
  EXPECT_EQ(text_of(child_named(epsg_sets[0], "SupportedCRS")), "EPSG:3857");
  const xmlNodePtr layer = child_named(child_named(epsg->root(), "Contents"), "Layer");
  EXPECT_EQ(text_of(child_named(layer, "Format")), "image/webp");

  EXPECT_EQ(handle(get("/cog/WMTSCapabilities.xml", {cog(), {"tile_format", "gif"}})).status, 400);
  EXPECT_EQ(handle(get("/cog/WMTSCapabilities.xml", {cog(), {"use_epsg", "maybe"}})).status, 400);
  EXPECT_EQ(handle(get("/cog/WMTSCapabilities.xml", {cog(), {"zooms", "WebMercatorQuad:3"}})).status, 400);
  EXPECT_EQ(handle(get("/cog/WMTSCapabilities.xml", {cog(), {"zooms", "WebMercatorQuad::5,3"}})).status, 400);
}

TEST_F(ServiceTileMetadata, WmtsOfASearchHasALayerPerRenderAndKeepsHostileTextInside) {
  const json defaults = {{"gray", {{"assets", {"data"}}, {"rescale", {{0, 255}}}, {"minmax_zoom", {7, 9}}}}};
  const std::string id = register_search({{"collections", {data_.collection}}, {"metadata", {{"defaults", defaults}}}});
  // Without parameters the renders are the layers.
  const auto renders_only = wmts(get("/searches/" + id + "/WMTSCapabilities.xml"));
  auto layers = layers_of(*renders_only);
  ASSERT_EQ(layers.size(), 2U);
  EXPECT_EQ(layers.at(id + "_WebMercatorQuad_gray"),
            "http://tiles.test/searches/" + id +
                "/tiles/WebMercatorQuad/{TileMatrix}/{TileCol}/{TileRow}.png?assets=data&rescale=0%2C255");
  // The render's zoom range bounds its WebMercatorQuad limits.
  for (xmlNodePtr layer : children_named(child_named(renders_only->root(), "Contents"), "Layer")) {
    if (text_of(child_named(layer, "Identifier")) == id + "_WebMercatorQuad_gray") {
      const auto limits = children_named(child_named(child_named(layer, "TileMatrixSetLink"), "TileMatrixSetLimits"),
                                         "TileMatrixLimits");
      ASSERT_EQ(limits.size(), 3U);
      EXPECT_EQ(text_of(child_named(limits[0], "TileMatrix")), "7");
    }
  }

  // The request's own parameters add a layer; markup in them stays text.
  const std::string hostile = "<b>\"&'</b>";
  const auto both = wmts(get("/searches/" + id + "/WMTSCapabilities.xml",
                             {{"assets", "data"}, {"colormap_name", hostile}, {"zooms", "*::2,3"}}));
  layers = layers_of(*both);
  ASSERT_EQ(layers.size(), 4U);
  EXPECT_NE(layers.at(id + "_WorldCRS84Quad_default").find("colormap_name=%3Cb%3E%22%26%27%3C%2Fb%3E"),
            std::string::npos);

  // A mosaic with neither renders nor assets has nothing to draw.
  const std::string bare = register_search({{"collections", {data_.collection}}});
  EXPECT_EQ(handle(get("/searches/" + bare + "/WMTSCapabilities.xml")).status, 400);
  // Items and collections answer theirs too.
  const std::string item = "/collections/" + data_.collection + "/items/" + data_.scenes[0].id;
  EXPECT_EQ(layers_of(*wmts(get(item + "/WMTSCapabilities.xml", {{"assets", "data"}}))).size(), 2U);
  EXPECT_EQ(
      layers_of(*wmts(get("/collections/" + data_.collection + "/WMTSCapabilities.xml", {{"assets", "data"}}))).size(),
      2U);
}

TEST_F(ServiceTileMetadata, TheOpenApiDocumentDescribesThem) {
  const json paths = ok_json(get("/api")).at("paths");
  for (const char* path :
       {"/tileMatrixSets", "/tileMatrixSets/{tileMatrixSetId}", "/cog/tiles", "/cog/WMTSCapabilities.xml",
        "/searches/{searchId}/tiles/{tileMatrixSetId}", "/searches/{searchId}/WMTSCapabilities.xml",
        "/collections/{collectionId}/tiles", "/collections/{collectionId}/items/{itemId}/WMTSCapabilities.xml"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
}

}  // namespace
