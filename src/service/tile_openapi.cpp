#include "service/tile_openapi.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace tessera::service {

using nlohmann::json;

namespace {

json path_parameter(std::string_view name, std::string_view description, json schema = {{"type", "string"}}) {
  return {{"name", name}, {"in", "path"}, {"required", true}, {"description", description}, {"schema", schema}};
}

json query_parameter(std::string_view name, std::string_view description, json schema = {{"type", "string"}}) {
  return {{"name", name}, {"in", "query"}, {"required", false}, {"description", description}, {"schema", schema}};
}

// A parameter that may repeat (name=a&name=b) or hold a comma list.
json list_parameter(std::string_view name, std::string_view description) {
  json parameter = query_parameter(name, description, {{"type", "array"}, {"items", {{"type", "string"}}}});
  parameter["style"] = "form";
  parameter["explode"] = true;
  return parameter;
}

json error(std::string_view description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json json_answer(std::string_view description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", {{"type", "object"}, {"additionalProperties", true}}}}}}}};
}

json image_answer() {
  json content = json::object();
  for (const char* type : {"image/png", "image/jpeg", "image/webp", "image/tiff", "application/x-binary"}) {
    content[type] = {{"schema", {{"type", "string"}, {"format", "binary"}}}};
  }
  return {{"description", "the image (format from the path's extension, png by default)"}, {"content", content}};
}

json get(std::string_view id, std::string_view summary, json parameters, json ok, bool not_found = true) {
  json responses = {{"200", std::move(ok)},
                    {"304", {{"description", "not modified (If-None-Match named the ETag)"}}},
                    {"400", error("a parameter is invalid (the description and \"parameter\" name it)")}};
  if (not_found) {
    responses["404"] = error("no such raster, search, collection or item, or no data there");
  }
  return {{"get", {{"operationId", id}, {"summary", summary}, {"parameters", parameters}, {"responses", responses}}}};
}

json joined(std::initializer_list<json> lists) {
  json all = json::array();
  for (const json& list : lists) {
    all.insert(all.end(), list.begin(), list.end());
  }
  return all;
}

}  // namespace

void add_tile_openapi(json& paths) {
  const json integer = {{"type", "integer"}};
  const json tile_path = json::array({
      path_parameter("tileMatrixSetId", "WebMercatorQuad, WorldCRS84Quad or EPSG:<code>"),
      path_parameter("z", "zoom level", integer),
      path_parameter("x", "column", integer),
      path_parameter("y", "row, with an optional @{scale}x and .{format} (png, jpeg, webp, tif, npy)"),
  });
  const json tms_path =
      json::array({path_parameter("tileMatrixSetId", "WebMercatorQuad, WorldCRS84Quad or EPSG:<code>")});
  const json point_path = json::array({path_parameter("lonlat", "lon,lat in WGS84")});
  const json read = json::array({
      list_parameter("bidx", "band indexes (1-based)"),
      query_parameter("expression",
                      "band math (b1, b2... of a raster; in mosaics and items b<n> of the assets' stacked bands, "
                      "or <asset>_b<n>)"),
      query_parameter("resampling", "resampling for reads at another resolution"),
      query_parameter("reproject", "resampling for warps"),
      query_parameter("nodata", "nodata value override", {{"type", "number"}}),
      query_parameter("unscale", "apply the raster's scale and offset", {{"type", "boolean"}}),
      query_parameter("buffer", "pixels added on each side of a tile (a multiple of 0.5)", {{"type", "number"}}),
  });
  const json render = json::array({
      list_parameter("rescale", "min,max, one for all bands or one per band"),
      query_parameter("colormap_name", "a named colormap (GET /colormaps)"),
      query_parameter("colormap", "a colormap as JSON ({value: [r,g,b,a]} or intervals)"),
      query_parameter("return_mask", "add the mask as alpha", {{"type", "boolean"}}),
      query_parameter("tilesize", "tile size in pixels (TiTiler 2; default 256 x the path's @{scale}x)", integer),
  });
  const json mosaic = json::array({
      list_parameter("assets",
                     "the assets read from every item, their bands stacked as <asset>_b<n>; "
                     "<asset>|bidx=1,2 selects an asset's bands"),
      list_parameter("asset_bidx", "TiTiler 1's per-asset bands: <asset>|1,2"),
      query_parameter("asset_as_band", "each asset gives one band, named after it", {{"type", "boolean"}}),
      query_parameter("pixel_selection",
                      "first, highest, lowest, mean, median, stdev, count, last-band-high, "
                      "last-band-low"),
      query_parameter("max_items", "items read per tile at most", integer),
  });
  const json tilejson = json::array({
      query_parameter("tile_format", "the format of the tile URLs (png by default)"),
      query_parameter("tile_scale", "the @{scale}x of the tile URLs (1 to 4)", integer),
      query_parameter("minzoom", "TileJSON minzoom", integer),
      query_parameter("maxzoom", "TileJSON maxzoom", integer),
  });
  const json render_id =
      json::array({query_parameter("render_id", "a render of the collection (render extension) as preset parameters")});
  const json url = json::array({[] {
    json parameter = query_parameter("url", "the raster's href (within the service's allow-lists)");
    parameter["required"] = true;
    return parameter;
  }()});
  const json search_id = json::array({path_parameter("searchId", "a registered search's id")});
  const json collection_id = json::array({path_parameter("collectionId", "the collection id")});
  const json item_ids = joined({collection_id, json::array({path_parameter("itemId", "the item id")})});

  paths["/cog/tiles/{tileMatrixSetId}/{z}/{x}/{y}"] =
      get("getCogTile", "A tile of one raster", joined({tile_path, url, read, render}), image_answer());
  paths["/cog/{tileMatrixSetId}/tilejson.json"] =
      get("getCogTileJson", "TileJSON of one raster", joined({tms_path, url, read, render, tilejson}),
          json_answer("TileJSON 3.0.0"));
  paths["/cog/point/{lonlat}"] =
      get("getCogPoint", "Values of one raster at a point", joined({point_path, url, read}), json_answer("values"));
  paths["/cog/info"] = get("getCogInfo", "Raster info",
                           joined({url, json::array({query_parameter("tileMatrixSetId", "for min/max zoom")})}),
                           json_answer("bounds, CRS, type, bands, zooms"));
  paths["/cog/statistics"] =
      get("getCogStatistics", "Band statistics", joined({url, read}), json_answer("statistics per band"));

  paths["/searches/register"] = {
      {"post",
       {{"operationId", "registerSearch"},
        {"summary", "Register a search (a STAC search body, with optional metadata)"},
        {"requestBody",
         {{"required", true},
          {"content", {{"application/json", {{"schema", {{"type", "object"}, {"additionalProperties", true}}}}}}}}},
        {"responses", {{"200", json_answer("the search id and its links")}, {"400", error("not a valid search")}}}}}};
  paths["/searches/list"] = get("listSearches", "Registered searches", json::array(),
                                json_answer("the searches, most recently used first"), false);
  paths["/searches/{searchId}/info"] =
      get("getSearchInfo", "A registered search", search_id, json_answer("the search and its metadata"));

  // The mosaic routes, alike under a search, a collection and (without the
  // /assets forms) an item.
  struct Prefix {
    std::string path;
    std::string id;  // operationId part
    std::string what;
    json parameters;
    bool lists_items;
  };
  const std::vector<Prefix> prefixes = {
      {"/searches/{searchId}", "Search", "a registered search's mosaic", search_id, true},
      {"/collections/{collectionId}", "Collection", "a collection's mosaic", joined({collection_id, render_id}), true},
      {"/collections/{collectionId}/items/{itemId}", "Item", "one item's assets", joined({item_ids, render_id}), false},
  };
  for (const Prefix& prefix : prefixes) {
    paths[prefix.path + "/tiles/{tileMatrixSetId}/{z}/{x}/{y}"] =
        get("get" + prefix.id + "Tile", "A tile of " + prefix.what,
            joined({prefix.parameters, tile_path, mosaic, read, render}), image_answer());
    paths[prefix.path + "/{tileMatrixSetId}/tilejson.json"] =
        get("get" + prefix.id + "TileJson", "TileJSON of " + prefix.what,
            joined({prefix.parameters, tms_path, mosaic, read, render, tilejson}), json_answer("TileJSON 3.0.0"));
    paths[prefix.path + "/point/{lonlat}"] =
        get("get" + prefix.id + "Point", "Values at a point of " + prefix.what,
            joined({prefix.parameters, point_path, mosaic, read}), json_answer("the values"));
    if (prefix.lists_items) {
      paths[prefix.path + "/tiles/{tileMatrixSetId}/{z}/{x}/{y}/assets"] =
          get("get" + prefix.id + "TileAssets", "The items a tile of " + prefix.what + " reads",
              joined({prefix.parameters, tile_path, mosaic}), json_answer("the items and their asset hrefs"));
      paths[prefix.path + "/point/{lonlat}/assets"] =
          get("get" + prefix.id + "PointAssets", "The items under a point of " + prefix.what,
              joined({prefix.parameters, point_path, mosaic}), json_answer("the items and their asset hrefs"));
    }
  }
  paths["/collections/{collectionId}/items/{itemId}/assets"] =
      get("getItemAssetNames", "The item's asset names", item_ids, json_answer("the asset names"));
  paths["/collections/{collectionId}/items/{itemId}/info"] =
      get("getItemInfo", "Raster info of the item's assets",
          joined({item_ids, json::array({list_parameter("assets", "the assets described (default: all)"),
                                         query_parameter("tileMatrixSetId", "for min/max zoom")})}),
          json_answer("{asset: info}"));
}

}  // namespace tessera::service
