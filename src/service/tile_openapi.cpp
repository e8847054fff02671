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

json xml_answer(std::string_view description) {
  return {{"description", description}, {"content", {{"application/xml", {{"schema", {{"type", "string"}}}}}}}};
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

// A POST taking a GeoJSON body (`body_what` says which).
json post(std::string_view id, std::string_view summary, json parameters, std::string_view body_what, json ok) {
  json responses = {{"200", std::move(ok)},
                    {"400", error("a parameter or the body is invalid (the description and \"parameter\" name it)")},
                    {"404", error("no such raster, search, collection or item, or no data there")}};
  return {{"operationId", id},
          {"summary", summary},
          {"parameters", parameters},
          {"requestBody",
           {{"required", true},
            {"description", body_what},
            {"content", {{"application/json", {{"schema", {{"type", "object"}, {"additionalProperties", true}}}}}}}}},
          {"responses", responses}};
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
  // The OGC descriptions: tilesets, WMTS capabilities, tile matrix sets.
  const json tileset_zooms = json::array({query_parameter("minzoom", "first zoom of the limits", integer),
                                          query_parameter("maxzoom", "last zoom of the limits", integer)});
  const json wmts = json::array({
      query_parameter("tile_format", "the layers' tile format (png by default)"),
      query_parameter("use_epsg", "EPSG:<code> rather than a URI as SupportedCRS", {{"type", "boolean"}}),
      list_parameter("zooms", "<tileMatrixSetId>::<minzoom>,<maxzoom> (\"*\" for every set)"),
  });
  const auto add_descriptions = [&](const std::string& prefix, const std::string& id, const std::string& what,
                                    const json& parameters) {
    paths[prefix + "/tiles"] =
        get("get" + id + "TileSets", "The tilesets of " + what, parameters, json_answer("OGC API Tiles tileset list"));
    paths[prefix + "/tiles/{tileMatrixSetId}"] =
        get("get" + id + "TileSet", "The tileset of " + what + " in a tile matrix set",
            joined({parameters, tms_path, tileset_zooms}), json_answer("OGC API Tiles tileset with its limits"));
    paths[prefix + "/WMTSCapabilities.xml"] =
        get("get" + id + "Wmts", "WMTS 1.0 capabilities of " + what + " (a layer per tile matrix set and render)",
            joined({parameters, wmts}), xml_answer("the RESTful WMTS capabilities document"));
  };
  add_descriptions("/cog", "Cog", "one raster", url);
  paths["/tileMatrixSets"] = get("getTileMatrixSets", "The tile matrix sets listed by name", json::array(),
                                 json_answer("ids and links to their definitions"), false);
  paths["/tileMatrixSets/{tileMatrixSetId}"] =
      get("getTileMatrixSet", "A tile matrix set's definition", tms_path, json_answer("OGC TMS 2.0 document"));

  paths["/cog/info"] = get("getCogInfo", "Raster info",
                           joined({url, json::array({query_parameter("tileMatrixSetId", "for min/max zoom")})}),
                           json_answer("bounds, CRS, type, bands, zooms"));
  const json statistics = json::array({
      query_parameter("categorical", "count each distinct value", {{"type", "boolean"}}),
      list_parameter("p", "percentiles (default 2, 98)"),
      query_parameter("histogram_bins", "histogram bins (default 10)", integer),
      query_parameter("histogram_range", "min,max of the histogram"),
  });
  const json part = json::array({
      query_parameter("coord_crs", "CRS of the bbox or feature coordinates (default EPSG:4326)"),
      query_parameter("dst_crs", "CRS of the output grid (default: coord_crs; a raster's own for /cog)"),
      query_parameter("max_size",
                      "longest side in pixels when width and height are not set (default 1024; POST /cog/statistics: "
                      "the raster's resolution)",
                      integer),
      query_parameter("width", "output width in pixels", integer),
      query_parameter("height", "output height in pixels", integer),
  });
  const json cover_scale = json::array({query_parameter(
      "cover_scale",
      "unset: each pixel weighs the exact share of its area inside the feature; 1 to 1000: rio-tiler's estimate "
      "(the pixels the feature touches, weighed by an all-touched rasterization this many times finer)",
      integer)});
  const json bbox_path = json::array({
      path_parameter("minx", "bbox min x", {{"type", "number"}}),
      path_parameter("miny", "bbox min y", {{"type", "number"}}),
      path_parameter("maxx", "bbox max x", {{"type", "number"}}),
      path_parameter("maxy", "bbox max y", {{"type", "number"}}),
  });
  const json format_path = json::array({path_parameter("format", "png, jpeg, webp, tif or npy")});
  const json size_path = json::array({path_parameter("width", "output width in pixels", integer),
                                      path_parameter("height", "output height in pixels", integer)});
  const json feature_statistics_answer =
      json_answer("the Feature or FeatureCollection posted, each with properties.statistics per band");

  paths["/cog/statistics"] =
      get("getCogStatistics", "Band statistics", joined({url, read, statistics}), json_answer("statistics per band"));
  paths["/cog/statistics"]["post"] =
      post("postCogStatistics", "Band statistics of the pixels each posted feature covers",
           joined({url, read, statistics, part, cover_scale}), "a GeoJSON Feature or FeatureCollection of polygons",
           feature_statistics_answer);

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
    add_descriptions(prefix.path, prefix.id, prefix.what, joined({prefix.parameters, mosaic}));
    paths[prefix.path + "/tiles/{tileMatrixSetId}/{z}/{x}/{y}"] =
        get("get" + prefix.id + "Tile", "A tile of " + prefix.what,
            joined({prefix.parameters, tile_path, mosaic, read, render}), image_answer());
    paths[prefix.path + "/{tileMatrixSetId}/tilejson.json"] =
        get("get" + prefix.id + "TileJson", "TileJSON of " + prefix.what,
            joined({prefix.parameters, tms_path, mosaic, read, render, tilejson}), json_answer("TileJSON 3.0.0"));
    paths[prefix.path + "/point/{lonlat}"] =
        get("get" + prefix.id + "Point", "Values at a point of " + prefix.what,
            joined({prefix.parameters, point_path, mosaic, read}), json_answer("the values"));
    const json image_parameters = joined({prefix.parameters, mosaic, read, render, part});
    paths[prefix.path + "/bbox/{minx},{miny},{maxx},{maxy}.{format}"] =
        get("get" + prefix.id + "Bbox", "The part of " + prefix.what + " in a bbox",
            joined({image_parameters, bbox_path, format_path}), image_answer());
    paths[prefix.path + "/bbox/{minx},{miny},{maxx},{maxy}/{width}x{height}.{format}"] =
        get("get" + prefix.id + "BboxWithSize", "The part of " + prefix.what + " in a bbox, width x height pixels",
            joined({prefix.parameters, mosaic, read, render, bbox_path, size_path, format_path}), image_answer());
    paths[prefix.path + "/preview"] =
        get("get" + prefix.id + "Preview", "A preview of " + prefix.what, image_parameters, image_answer());
    paths[prefix.path + "/preview.{format}"] =
        get("get" + prefix.id + "PreviewWithFormat", "A preview of " + prefix.what,
            joined({image_parameters, format_path}), image_answer());
    paths[prefix.path + "/preview/{width}x{height}.{format}"] =
        get("get" + prefix.id + "PreviewWithSize", "A preview of " + prefix.what + ", width x height pixels",
            joined({prefix.parameters, mosaic, read, render, size_path, format_path}), image_answer());
    const std::string feature_body = "a GeoJSON Feature";
    paths[prefix.path + "/feature"] = {
        {"post", post("post" + prefix.id + "Feature", "The part of " + prefix.what + " under a feature",
                      image_parameters, feature_body, image_answer())}};
    paths[prefix.path + "/feature.{format}"] = {
        {"post", post("post" + prefix.id + "FeatureWithFormat", "The part of " + prefix.what + " under a feature",
                      joined({image_parameters, format_path}), feature_body, image_answer())}};
    paths[prefix.path + "/feature/{width}x{height}.{format}"] = {
        {"post", post("post" + prefix.id + "FeatureWithSize",
                      "The part of " + prefix.what + " under a feature, width x height pixels",
                      joined({prefix.parameters, mosaic, read, render, size_path, format_path}), feature_body,
                      image_answer())}};
    paths[prefix.path + "/statistics"]["post"] =
        post("post" + prefix.id + "Statistics", "Statistics of " + prefix.what + " under each posted feature",
             joined({prefix.parameters, mosaic, read, statistics, part, cover_scale}),
             "a GeoJSON Feature or FeatureCollection of polygons (at most 100 features)", feature_statistics_answer);
    if (prefix.lists_items) {
      paths[prefix.path + "/tiles/{tileMatrixSetId}/{z}/{x}/{y}/assets"] =
          get("get" + prefix.id + "TileAssets", "The items a tile of " + prefix.what + " reads",
              joined({prefix.parameters, tile_path, mosaic}), json_answer("the items and their asset hrefs"));
      paths[prefix.path + "/point/{lonlat}/assets"] =
          get("get" + prefix.id + "PointAssets", "The items under a point of " + prefix.what,
              joined({prefix.parameters, point_path, mosaic}), json_answer("the items and their asset hrefs"));
    }
  }
  paths["/collections/{collectionId}/items/{itemId}/statistics"]["get"] =
      get("getItemStatistics", "Statistics of the item's assets stacked, over its preview",
          joined({item_ids, render_id, mosaic, read, statistics,
                  json::array({query_parameter("max_size", "the preview's longest side (default 1024)", integer)})}),
          json_answer("statistics per band (<asset>_b<n>)"))["get"];
  paths["/collections/{collectionId}/items/{itemId}/asset_statistics"] =
      get("getItemAssetStatistics", "Statistics per asset of the item",
          joined({item_ids, read, statistics,
                  json::array({list_parameter("assets", "the assets (default: all)"),
                               query_parameter("max_size", "each preview's longest side (default 1024)", integer)})}),
          json_answer("{asset: {band: statistics}}"));
  paths["/collections/{collectionId}/items/{itemId}/assets"] =
      get("getItemAssetNames", "The item's asset names", item_ids, json_answer("the asset names"));
  paths["/collections/{collectionId}/items/{itemId}/info"] =
      get("getItemInfo", "Raster info of the item's assets",
          joined({item_ids, json::array({list_parameter("assets", "the assets described (default: all)"),
                                         query_parameter("tileMatrixSetId", "for min/max zoom")})}),
          json_answer("{asset: info}"));
}

}  // namespace tessera::service
