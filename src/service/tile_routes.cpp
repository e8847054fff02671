#include "service/tile_routes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>

#include <fmt/format.h>

#include "catalog/item_scan.hpp"
#include "service/http_support.hpp"
#include "service/part_routes.hpp"
#include "service/tile_links.hpp"
#include "service/tile_metadata.hpp"
#include "service/tile_params.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"

namespace tessera::service {

// What a path below a mosaic's prefix asks for.
struct MosaicPath {
  enum class Kind { kTile, kTileAssets, kTileJson, kPoint, kPointAssets, kTileSetList, kTileSet, kWmts, kPart };
  Kind kind = Kind::kTile;
  std::optional<TilePath> tile;       // kTile, kTileAssets
  std::string_view tms;               // kTileJson, kTileSet
  std::pair<double, double> point{};  // kPoint, kPointAssets: lon, lat
  std::optional<PartPath> part;       // kPart (part_routes.hpp)
};

// A mosaic the routes serve under a prefix: a registered search, a
// collection, or one item.
struct MosaicSource {
  std::string url;                     // the prefix's public URL, for TileJSON's tile URLs
  std::string name;                    // TileJSON's name
  nlohmann::json search;               // the catalog search the mosaic is built over
  nlohmann::json bounds;               // TileJSON's bounds
  std::optional<Bbox> preview_bounds;  // nullopt: the union of the matching items' bboxes
  std::optional<int> minzoom;
  std::optional<int> maxzoom;
  // One item: its asset names (a request reading another is a 400), and its
  // point values answered as the item's own (titiler-pgstac's item point).
  std::optional<std::vector<std::string>> item_assets;
  // The renders its WMTS document offers as layers (name -> STAC render).
  nlohmann::json renders = nlohmann::json::object();
};

namespace {

using nlohmann::json;

void require_get(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    throw HttpError(405, "MethodNotAllowed", fmt::format("{} is not allowed here (allowed: GET)", request.method),
                    {{"Allow", "GET, HEAD"}});
  }
}

void require_post(const HttpRequest& request) {
  if (request.method != "POST") {
    throw HttpError(405, "MethodNotAllowed", fmt::format("{} is not allowed here (allowed: POST)", request.method),
                    {{"Allow", "POST"}});
  }
}

// The method a mosaic path answers: POST for a feature or feature
// statistics, else GET.
void require_method(const HttpRequest& request, const MosaicPath& path) {
  if (path.part && path.part->posted()) {
    require_post(request);
  } else {
    require_get(request);
  }
}

// A JSON body that must not be cached (registration, listings, info).
HttpResponse no_store_json(const json& body) {
  HttpResponse response = json_response(200, body);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// "lon,lat" of a point path: exactly one comma, both sides non-empty;
// nullopt otherwise (no route).
std::optional<std::pair<double, double>> point_of(std::string_view segment) {
  const std::size_t comma = segment.find(',');
  if (comma == std::string_view::npos || comma == 0 || comma + 1 == segment.size() ||
      segment.find(',', comma + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const double lon = number_of(segment.substr(0, comma), "lon");
  const double lat = number_of(segment.substr(comma + 1), "lat");
  if (!std::isfinite(lon) || !std::isfinite(lat)) {
    throw BadParameter(std::isfinite(lon) ? "lat" : "lon", "lon,lat: not finite numbers");
  }
  return std::pair{lon, lat};
}

json search_links(const HttpRequest& request, std::string_view search_id) {
  const std::string base = fmt::format("{}/searches/{}", base_url(request), query_escape(search_id));
  return json::array({
      {{"rel", "metadata"}, {"type", "application/json"}, {"href", base + "/info"}},
      {{"rel", "tilejson"}, {"type", "application/json"}, {"href", base + "/WebMercatorQuad/tilejson.json"}},
  });
}

std::string tile_format_of(const HttpRequest& request) {
  const std::string* format = param(request, "tile_format");
  if (format == nullptr) {
    return "png";
  }
  // Checked here: it becomes part of a URL the document hands out.
  try {
    render_media_type(*format);
  } catch (const Error& error) {
    throw BadParameter("tile_format", fmt::format("tile_format: {}", error.what()));
  }
  return *format;
}

// TileJSON bounds from a bbox (4 numbers, or 6 with heights), else the world.
json bounds_of(const json& bbox) {
  if (bbox.is_array() && (bbox.size() == 4 || bbox.size() == 6) &&
      std::all_of(bbox.begin(), bbox.end(), [](const json& value) { return value.is_number(); })) {
    const std::size_t top = bbox.size() / 2;  // 2 or 3: where the upper corner starts
    return json{bbox[0], bbox[1], bbox[top], bbox[top + 1]};
  }
  return json{-180.0, -85.0511287798066, 180.0, 85.0511287798066};
}

// A preview's bounds from a bbox (as bounds_of reads it); nullopt when it is not one.
std::optional<Bbox> preview_box_of(const json& bbox) {
  const json bounds = bounds_of(bbox);
  if (!bbox.is_array() || !(bounds[2].get<double>() > bounds[0].get<double>()) ||
      !(bounds[3].get<double>() > bounds[1].get<double>())) {
    return std::nullopt;
  }
  return Bbox{bounds[0].get<double>(), bounds[1].get<double>(), bounds[2].get<double>(), bounds[3].get<double>()};
}

using Kind = MosaicPath::Kind;

// tiles/{tms}/{z}/{x}/{y}[@{s}x][.{fmt}][/assets], {tms}/tilejson.json,
// point/{lon},{lat}[/assets] (the /assets forms when `lists_items`, i.e. not
// one item), tiles, tiles/{tms}, WMTSCapabilities.xml, the part paths
// (part_routes.hpp); nullopt for another shape.
std::optional<MosaicPath> mosaic_path_of(std::span<const std::string_view> rest, bool lists_items,
                                         std::string_view method) {
  const std::size_t n = rest.size();
  if (n == 1 && rest[0] == "tiles") {
    return MosaicPath{Kind::kTileSetList, std::nullopt, {}, {}, std::nullopt};
  }
  if (n == 2 && rest[0] == "tiles") {
    return MosaicPath{Kind::kTileSet, std::nullopt, rest[1], {}, std::nullopt};
  }
  if (n == 1 && rest[0] == "WMTSCapabilities.xml") {
    return MosaicPath{Kind::kWmts, std::nullopt, {}, {}, std::nullopt};
  }
  const bool assets = lists_items && n > 0 && rest.back() == "assets";
  if ((n == 5 || (n == 6 && assets)) && rest[0] == "tiles") {
    auto tile = tile_path_of(rest[1], rest[2], rest[3], rest[4]);
    if (!tile) {
      return std::nullopt;
    }
    return MosaicPath{n == 6 ? Kind::kTileAssets : Kind::kTile, std::move(tile), {}, {}, std::nullopt};
  }
  if (n == 2 && rest[1] == "tilejson.json") {
    return MosaicPath{Kind::kTileJson, std::nullopt, rest[0], {}, std::nullopt};
  }
  if ((n == 2 || (n == 3 && assets)) && rest[0] == "point") {
    const auto where = point_of(rest[1]);
    if (!where) {
      return std::nullopt;
    }
    return MosaicPath{n == 3 ? Kind::kPointAssets : Kind::kPoint, std::nullopt, {}, *where, std::nullopt};
  }
  if (auto part = part_path_of(rest, method, !lists_items)) {
    return MosaicPath{Kind::kPart, std::nullopt, {}, {}, std::move(part)};
  }
  return std::nullopt;
}

// The integer `name` of a registered search's metadata, if it has one.
std::optional<int> metadata_zoom(const json& metadata, const char* name) {
  const auto found = metadata.find(name);
  return found != metadata.end() && found->is_number_integer() ? std::optional<int>(found->get<int>()) : std::nullopt;
}

// A TileJSON zoom: the request's `name` (titiler's minzoom/maxzoom), else `fallback`.
int zoom_param(const HttpRequest& request, std::string_view name, int fallback) {
  const std::string* value = param(request, name);
  return value != nullptr ? integer_of(*value, name) : fallback;
}

// tile_scale (1 to 4): the @{scale}x of TileJSON's tile URLs.
int tile_scale_of(const HttpRequest& request) {
  const std::string* value = param(request, "tile_scale");
  const int scale = value != nullptr ? integer_of(*value, "tile_scale") : 1;
  if (scale < 1 || scale > 4) {
    throw BadParameter("tile_scale", fmt::format("tile_scale: {} is not 1 to 4", scale));
  }
  return scale;
}

// 400 naming the first of `wanted` the item lacks.
void require_item_assets(const std::vector<std::string>& wanted, const std::vector<std::string>& present,
                         std::string_view item_id) {
  for (const std::string& name : wanted) {
    if (std::find(present.begin(), present.end(), name) == present.end()) {
      std::string names;
      for (const std::string& asset : present) {
        names += (names.empty() ? "" : ", ") + asset;
      }
      throw BadParameter("assets", fmt::format("assets: item '{}' has no asset '{}' (it has: {})", item_id, name,
                                               names.empty() ? "none" : names));
    }
  }
}

// The renders a registered search offers: its metadata's "defaults"
// (titiler-pgstac's register metadata) or "renders".
json search_renders(const json& metadata) {
  for (const char* member : {"defaults", "renders"}) {
    if (const auto found = metadata.find(member); found != metadata.end() && found->is_object()) {
      return *found;
    }
  }
  return json::object();
}

// The tile matrix set info reports zooms for: tileMatrixSetId, else WebMercatorQuad.
TileMatrixSet info_tms_of(const HttpRequest& request) {
  const std::string* tms = param(request, "tileMatrixSetId");
  return tms_of(tms != nullptr ? std::string_view(*tms) : "WebMercatorQuad");
}

}  // namespace

std::string etag_of(std::string_view body) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char byte : body) {
    hash = (hash ^ static_cast<unsigned char>(byte)) * 1099511628211ULL;
  }
  return fmt::format("\"{:016x}-{:x}\"", hash, body.size());
}

HttpResponse cacheable_response(const HttpRequest& request, std::string body, std::string_view content_type,
                                int max_age_seconds) {
  HttpResponse response;
  const std::string etag = etag_of(body);
  response.headers = {{"ETag", etag},
                      {"Cache-Control", max_age_seconds > 0 ? fmt::format("public, max-age={}", max_age_seconds)
                                                            : std::string("no-cache")}};
  if (const std::string* wanted = request.header("if-none-match"); wanted != nullptr && etag_matches(*wanted, etag)) {
    response.status = 304;
    return response;
  }
  response.headers.emplace_back("Content-Type", std::string(content_type));
  response.body = std::move(body);
  return response;
}

TileRoutes::TileRoutes(Catalog* catalog, const ServiceOptions& options)
    : catalog_(catalog), max_age_seconds_(options.cache_max_age_seconds) {}

Catalog& TileRoutes::require_catalog() const {
  if (catalog_ == nullptr) {
    throw HttpError(
        404, "NotFound",
        "this service has no catalog: the /searches and /collections routes need one (tessera serve --catalog URI)");
  }
  return *catalog_;
}

HttpResponse TileRoutes::cacheable(const HttpRequest& request, std::string body, std::string_view content_type) const {
  return cacheable_response(request, std::move(body), content_type, max_age_seconds_);
}

HttpResponse TileRoutes::cacheable_json(const HttpRequest& request, const json& body) const {
  return cacheable(request, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

std::optional<HttpResponse> TileRoutes::handle(const HttpRequest& request,
                                               const std::vector<std::string_view>& segments) const {
  try {
    return route(request, segments);
  } catch (const BadParameter& bad) {
    return json_response(400, {{"code", bad.code()}, {"description", bad.what()}, {"parameter", bad.parameter()}});
  }
}

std::optional<HttpResponse> TileRoutes::route(const HttpRequest& request,
                                              const std::vector<std::string_view>& segments) const {
  if (segments.empty()) {
    return std::nullopt;
  }
  if (segments[0] == "cog") {
    return cog(request, segments);
  }
  if (segments[0] == "searches") {
    return searches(request, segments);
  }
  if (segments[0] == "collections") {
    return collections(request, segments);
  }
  if (segments[0] == "tileMatrixSets" && segments.size() <= 2) {
    require_get(request);
    return cacheable_json(request,
                          segments.size() == 1 ? tile_matrix_set_list(request) : tile_matrix_set_document(segments[1]));
  }
  return std::nullopt;
}

// /cog/tiles/{tms}/{z}/{x}/{y}[@{s}x][.{fmt}], /cog/{tms}/tilejson.json,
// /cog/point/{lon},{lat}, /cog/info, /cog/statistics (POST: per feature).
std::optional<HttpResponse> TileRoutes::cog(const HttpRequest& request,
                                            const std::vector<std::string_view>& segments) const {
  const std::size_t n = segments.size();
  if (n == 6 && segments[1] == "tiles") {
    const auto path = tile_path_of(segments[2], segments[3], segments[4], segments[5]);
    if (!path) {
      return std::nullopt;
    }
    require_get(request);
    const int tile_size = tile_size_of(request, path->scale);
    const RenderOptions render_options = render_options_of(request, path->format);
    const ReadOptions read = read_options_of(request);
    const ImageData image = read_tile(required_param(request, "url"), path->tms, path->tile, tile_size, read);
    return cacheable(request, render(image, render_options), render_media_type(path->format));
  }
  if (n == 3 && segments[2] == "tilejson.json") {
    require_get(request);
    const TileMatrixSet tms = tms_of(segments[1]);
    const std::string format = tile_format_of(request);
    const std::string tile_url =
        fmt::format("{}/cog/tiles/{}/{{z}}/{{x}}/{{y}}.{}{}", base_url(request), query_escape(segments[1]), format,
                    query_string_of(request, {"tile_format"}));
    return cacheable_json(request, tilejson(required_param(request, "url"), tile_url, tms));
  }
  if (n == 3 && segments[1] == "point") {
    const auto where = point_of(segments[2]);
    if (!where) {
      return std::nullopt;
    }
    require_get(request);
    const PointData point =
        read_point(required_param(request, "url"), where->first, where->second, read_options_of(request));
    return cacheable_json(request, {{"coordinates", {point.lon, point.lat}},
                                    {"values", point.values},
                                    {"band_names", point.band_names},
                                    {"masked", point.masked}});
  }
  if (n == 2 && segments[1] == "info") {
    require_get(request);
    return cacheable_json(request, raster_info(required_param(request, "url"), info_tms_of(request)).to_json());
  }
  if (((n == 2 || n == 3) && segments[1] == "tiles") || (n == 2 && segments[1] == "WMTSCapabilities.xml")) {
    require_get(request);
    const std::string href = required_param(request, "url");
    const TileSourceMetadata source{fmt::format("{}/cog", base_url(request)), "cog",
                                    raster_info(href).geographic_bounds, [&href](const TileMatrixSet& tms) {
                                      const RasterInfo info = raster_info(href, tms);
                                      return std::pair{info.minzoom, info.maxzoom};
                                    }};
    if (segments[1] == "WMTSCapabilities.xml") {
      return cacheable(request, wmts_capabilities(request, source), "application/xml");
    }
    return cacheable_json(request,
                          n == 2 ? tileset_list(request, source) : tileset(request, source, tms_of(segments[2])));
  }
  if (n == 2 && segments[1] == "statistics" && request.method == "POST") {
    return cog_feature_statistics(request);
  }
  if (n == 2 && segments[1] == "statistics") {
    require_get(request);
    const StatisticsOptions options = statistics_options_of(request);
    const ReadOptions read = read_options_of(request);
    return cacheable_json(request, to_json(raster_statistics(required_param(request, "url"), options, read)));
  }
  return std::nullopt;
}

HttpResponse TileRoutes::metadata_answer(const HttpRequest& request, const HttpRequest& effective,
                                         const MosaicPath& path, const MosaicSource& source) const {
  const json& bounds = source.bounds;
  const std::string* expression = param(effective, "expression");
  const TileSourceMetadata metadata{
      source.url,
      source.name,
      Bbox{bounds[0].get<double>(), bounds[1].get<double>(), bounds[2].get<double>(), bounds[3].get<double>()},
      [&source](const TileMatrixSet& tms) {
        return std::pair{source.minzoom.value_or(tms.min_zoom()), source.maxzoom.value_or(tms.max_zoom())};
      },
      source.renders,
      !list_param(effective, "assets").empty() || (expression != nullptr && !expression->empty())};
  switch (path.kind) {
    case Kind::kTileSetList:
      return cacheable_json(request, tileset_list(request, metadata));
    case Kind::kTileSet:
      return cacheable_json(request, tileset(request, metadata, tms_of(path.tms)));
    default:
      return cacheable(request, wmts_capabilities(request, metadata), "application/xml");
  }
}

HttpResponse TileRoutes::mosaic_answer(const HttpRequest& request, const HttpRequest& effective, const MosaicPath& path,
                                       const MosaicSource& source) const {
  if (path.kind == Kind::kTileJson) {
    // TileJSON's own parameters stay here; the others (render_id too) go on
    // to the tile URLs.
    const TileMatrixSet tms = tms_of(path.tms);
    const int scale = tile_scale_of(effective);
    static_cast<void>(tile_size_of(effective, scale));  // a tilesize the tile URLs carry is checked now
    const std::string tile_url =
        fmt::format("{}/tiles/{}/{{z}}/{{x}}/{{y}}{}.{}{}", source.url, query_escape(path.tms),
                    scale > 1 ? fmt::format("@{}x", scale) : "", tile_format_of(effective),
                    query_string_of(request, {"tile_format", "tile_scale", "minzoom", "maxzoom"}));
    return cacheable_json(request,
                          {{"tilejson", "3.0.0"},
                           {"name", source.name},
                           {"scheme", "xyz"},
                           {"tiles", {tile_url}},
                           {"bounds", source.bounds},
                           {"minzoom", zoom_param(effective, "minzoom", source.minzoom.value_or(tms.min_zoom()))},
                           {"maxzoom", zoom_param(effective, "maxzoom", source.maxzoom.value_or(tms.max_zoom()))}});
  }
  if (path.kind == Kind::kTileSetList || path.kind == Kind::kTileSet || path.kind == Kind::kWmts) {
    return metadata_answer(request, effective, path, source);
  }
  const Mosaic mosaic(require_catalog(), source.search, mosaic_options_of(effective));
  const ReadOptions read = read_options_of(effective);
  if (source.item_assets) {
    require_item_assets(mosaic.assets_read(read), *source.item_assets, source.name);
  }
  switch (path.kind) {
    case Kind::kTileAssets:
      return cacheable_json(request, mosaic.assets_for_tile(path.tile->tms, path.tile->tile));
    case Kind::kPointAssets:
      return cacheable_json(request, mosaic.assets_for_point(path.point.first, path.point.second));
    case Kind::kPoint: {
      // Values of every item under the point, for each asset, in search
      // order, within the mosaic's caps (Mosaic::point).
      if (mosaic.options().assets.empty()) {
        throw BadParameter("assets", "assets: point values need the assets to read");
      }
      json values = mosaic.point(path.point.first, path.point.second, read);
      if (!source.item_assets) {
        return cacheable_json(request, values);
      }
      if (values["values"].empty()) {
        throw HttpError(
            404, "NotFound",
            fmt::format("the point {},{} is outside item '{}'", path.point.first, path.point.second, source.name));
      }
      json& own = values["values"][0];
      return cacheable_json(
          request,
          {{"coordinates", values["coordinates"]}, {"values", own["values"]}, {"band_names", own["band_names"]}});
    }
    case Kind::kPart:
      return part_answer(request, effective, *path.part,
                         PartSource{mosaic, source.preview_bounds, source.item_assets.has_value()}, max_age_seconds_);
    case Kind::kTile:
    case Kind::kTileJson:
    case Kind::kTileSetList:
    case Kind::kTileSet:
    case Kind::kWmts:
      break;
  }
  const int tile_size = tile_size_of(effective, path.tile->scale);
  const RenderOptions render_options = render_options_of(effective, path.tile->format);
  const ImageData image = mosaic.tile(path.tile->tms, path.tile->tile, tile_size, read);
  return cacheable(request, render(image, render_options), render_media_type(path.tile->format));
}

// POST /searches/register, /searches/list, /searches/{id}/info, and the
// mosaic paths below /searches/{id}/.
std::optional<HttpResponse> TileRoutes::searches(const HttpRequest& request,
                                                 const std::vector<std::string_view>& segments) const {
  const std::size_t n = segments.size();
  if (n == 2 && segments[1] == "register") {
    require_post(request);
    // A STAC search request, plus an optional "metadata" object stored with
    // it (titiler-pgstac's register body).
    json search = json::parse(request.body, nullptr, false);
    if (search.is_discarded()) {
      bad_request("request body: not valid JSON");
    }
    if (!search.is_object()) {
      throw BadParameter("body", "body: a search must be a JSON object");
    }
    json metadata = json::object();
    if (const auto found = search.find("metadata"); found != search.end()) {
      metadata = std::move(*found);
      search.erase("metadata");
    }
    const std::string id = require_catalog().register_search(search, metadata);
    return no_store_json({{"id", id}, {"links", search_links(request, id)}});
  }
  if (n == 2 && segments[1] == "list") {
    require_get(request);
    json searches = json::array();
    for (const json& registered : require_catalog().registered_searches()) {
      const std::string id = registered.at("id").get<std::string>();
      searches.push_back({{"search", registered}, {"links", search_links(request, id)}});
    }
    const std::size_t returned = searches.size();
    return no_store_json({{"searches", std::move(searches)}, {"context", {{"returned", returned}}}});
  }
  if (n < 3) {
    return std::nullopt;
  }
  const std::string search_id(segments[1]);
  if (n == 3 && segments[2] == "info") {
    require_get(request);
    return no_store_json(require_catalog().registered_search(search_id));
  }
  const auto path = mosaic_path_of(std::span(segments).subspan(2), true, request.method);
  if (!path) {
    return std::nullopt;
  }
  require_method(request, *path);
  json registered = require_catalog().registered_search(search_id);
  // Bounds and zooms from the search's metadata when it has them (as
  // titiler-pgstac), else the whole tile matrix set.
  const json metadata =
      registered.contains("metadata") && registered["metadata"].is_object() ? registered["metadata"] : json::object();
  const MosaicSource source{fmt::format("{}/searches/{}", base_url(request), query_escape(search_id)),
                            search_id,
                            std::move(registered["search"]),
                            bounds_of(metadata.value("bounds", json())),
                            preview_box_of(metadata.value("bounds", json())),
                            metadata_zoom(metadata, "minzoom"),
                            metadata_zoom(metadata, "maxzoom"),
                            std::nullopt,
                            search_renders(metadata)};
  return mosaic_answer(request, request, *path, source);
}

// The mosaic of a collection's items below /collections/{c}/ (titiler-pgstac's
// collection routes), and one item's routes below /collections/{c}/items/{i}/.
// The collection's renders are the presets `render_id` names.
std::optional<HttpResponse> TileRoutes::collections(const HttpRequest& request,
                                                    const std::vector<std::string_view>& segments) const {
  if (segments.size() >= 5 && segments[2] == "items") {
    return item(request, segments);
  }
  const auto path =
      segments.size() > 2 ? mosaic_path_of(std::span(segments).subspan(2), true, request.method) : std::nullopt;
  if (!path) {
    return std::nullopt;
  }
  require_method(request, *path);
  const std::string collection_id(segments[1]);
  const json collection = require_catalog().get_collection(collection_id);
  const json* extent = &collection;
  for (const char* member : {"extent", "spatial", "bbox"}) {
    extent = extent->is_object() && extent->contains(member) ? &(*extent)[member] : nullptr;
    if (extent == nullptr) {
      break;
    }
  }
  const json& extent_bbox = extent != nullptr && extent->is_array() && !extent->empty() ? (*extent)[0] : json();
  json renders = renders_of(collection);
  const HttpRequest effective = with_render(request, renders);
  const MosaicSource source{fmt::format("{}/collections/{}", base_url(request), query_escape(collection_id)),
                            collection_id,
                            {{"collections", {collection_id}}},
                            bounds_of(extent_bbox),
                            preview_box_of(extent_bbox),
                            std::nullopt,
                            std::nullopt,
                            std::nullopt,
                            std::move(renders)};
  return mosaic_answer(request, effective, *path, source);
}

// /collections/{c}/items/{i}/: assets (the item's asset names), info (raster
// info per asset), and the mosaic paths over the item alone (its assets
// stacked, as a registered search's items are read).
std::optional<HttpResponse> TileRoutes::item(const HttpRequest& request,
                                             const std::vector<std::string_view>& segments) const {
  const auto rest = std::span(segments).subspan(4);
  const bool listing = rest.size() == 1 && rest[0] == "assets";
  const bool info = rest.size() == 1 && rest[0] == "info";
  const bool asset_statistics = rest.size() == 1 && rest[0] == "asset_statistics";
  std::optional<MosaicPath> path;
  if (!listing && !info && !asset_statistics) {
    path = mosaic_path_of(rest, false, request.method);
    if (!path) {
      return std::nullopt;
    }
    require_method(request, *path);
  } else {
    require_get(request);
  }
  const std::string collection_id(segments[1]);
  const std::string item_id(segments[3]);
  const json search = {{"collections", {collection_id}}, {"ids", {item_id}}};
  json scan = search;
  scan["limit"] = 1;
  catalog::ScannedPage page = catalog::scan_page(require_catalog(), scan);
  if (page.items.empty()) {
    throw HttpError(404, "NotFound", fmt::format("no item '{}' in collection '{}'", item_id, collection_id));
  }
  const catalog::ScannedItem& found = page.items.front();
  std::vector<std::string> names;
  for (const auto& [name, href] : found.assets) {
    names.push_back(name);
  }
  if (listing) {
    return cacheable_json(request, names);
  }
  // The collection is read only when its renders are needed: a render is
  // asked for, or the WMTS document lists them as layers.
  const json renders = request.query_value("render_id") != nullptr || (path && path->kind == Kind::kWmts)
                           ? renders_of(require_catalog().get_collection(collection_id))
                           : json::object();
  const HttpRequest effective = request.query_value("render_id") != nullptr ? with_render(request, renders) : request;
  if (asset_statistics) {
    std::vector<std::pair<std::string, std::string>> hrefs;
    for (const auto& [name, href] : found.assets) {
      hrefs.emplace_back(name, catalog::resolved_href(found, href));
    }
    return asset_statistics_answer(effective, hrefs, item_id, max_age_seconds_);
  }
  if (info) {
    std::vector<std::string> wanted;
    for (auto& selection : asset_selections_of(effective)) {
      wanted.push_back(std::move(selection.name));
    }
    require_item_assets(wanted, names, item_id);
    const TileMatrixSet tms = info_tms_of(effective);
    json answer = json::object();
    for (const auto& [name, href] : found.assets) {
      if (wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end()) {
        answer[name] = raster_info(catalog::resolved_href(found, href), tms).to_json();
      }
    }
    return cacheable_json(request, answer);
  }
  const MosaicSource source{
      fmt::format("{}/collections/{}/items/{}", base_url(request), query_escape(collection_id), query_escape(item_id)),
      item_id,
      search,
      bounds_of(json(found.bbox)),
      preview_box_of(json(found.bbox)),
      std::nullopt,
      std::nullopt,
      std::move(names),
      renders};
  return mosaic_answer(request, effective, *path, source);
}

}  // namespace tessera::service
