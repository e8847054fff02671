#include "service/tile_routes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "service/tile_params.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"

namespace tessera::service {

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

// A registered search's metadata "bounds" when it is four numbers, else the world.
json bounds_of(const json& metadata) {
  const auto found = metadata.find("bounds");
  if (found != metadata.end() && found->is_array() && found->size() == 4 &&
      std::all_of(found->begin(), found->end(), [](const json& value) { return value.is_number(); })) {
    return *found;
  }
  return json{-180.0, -85.0511287798066, 180.0, 85.0511287798066};
}

// Its "minzoom"/"maxzoom" when an integer, else `fallback`.
json zoom_of(const json& metadata, const char* name, int fallback) {
  const auto found = metadata.find(name);
  return found != metadata.end() && found->is_number_integer() ? *found : json(fallback);
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
    throw HttpError(404, "NotFound",
                    "this service has no catalog: the /searches routes need one (tessera serve --catalog URI)");
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
  return std::nullopt;
}

// /cog/tiles/{tms}/{z}/{x}/{y}[@{s}x][.{fmt}], /cog/{tms}/tilejson.json,
// /cog/point/{lon},{lat}, /cog/info, /cog/statistics.
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
    const std::string* tms = param(request, "tileMatrixSetId");
    const TileMatrixSet set = tms_of(tms != nullptr ? std::string_view(*tms) : "WebMercatorQuad");
    return cacheable_json(request, raster_info(required_param(request, "url"), set).to_json());
  }
  if (n == 2 && segments[1] == "statistics") {
    require_get(request);
    const StatisticsOptions options = statistics_options_of(request);
    const ReadOptions read = read_options_of(request);
    return cacheable_json(request, to_json(raster_statistics(required_param(request, "url"), options, read)));
  }
  return std::nullopt;
}

// POST /searches/register, /searches/list, /searches/{id}/info,
// /searches/{id}/tiles/{tms}/{z}/{x}/{y}[@{s}x][.{fmt}][/assets],
// /searches/{id}/{tms}/tilejson.json, /searches/{id}/point/{lon},{lat}[/assets].
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
  const auto mosaic = [&] { return Mosaic::from_registered(require_catalog(), search_id, mosaic_options_of(request)); };
  if (n == 3 && segments[2] == "info") {
    require_get(request);
    return no_store_json(require_catalog().registered_search(search_id));
  }
  if ((n == 7 || (n == 8 && segments[7] == "assets")) && segments[2] == "tiles") {
    const auto path = tile_path_of(segments[3], segments[4], segments[5], segments[6]);
    if (!path) {
      return std::nullopt;
    }
    require_get(request);
    if (n == 8) {
      return cacheable_json(request, mosaic().assets_for_tile(path->tms, path->tile));
    }
    const int tile_size = tile_size_of(request, path->scale);
    const RenderOptions render_options = render_options_of(request, path->format);
    const ReadOptions read = read_options_of(request);
    const ImageData image = mosaic().tile(path->tms, path->tile, tile_size, read);
    return cacheable(request, render(image, render_options), render_media_type(path->format));
  }
  if (n == 4 && segments[3] == "tilejson.json") {
    require_get(request);
    // Bounds and zooms from the search's metadata when it has them (as
    // titiler-pgstac), else the whole tile matrix set.
    const TileMatrixSet tms = tms_of(segments[2]);
    const json registered = require_catalog().registered_search(search_id);
    const json metadata =
        registered.contains("metadata") && registered["metadata"].is_object() ? registered["metadata"] : json::object();
    const std::string format = tile_format_of(request);
    const std::string tile_url =
        fmt::format("{}/searches/{}/tiles/{}/{{z}}/{{x}}/{{y}}.{}{}", base_url(request), query_escape(search_id),
                    query_escape(segments[2]), format, query_string_of(request, {"tile_format"}));
    return cacheable_json(request, {{"tilejson", "3.0.0"},
                                    {"name", search_id},
                                    {"scheme", "xyz"},
                                    {"tiles", {tile_url}},
                                    {"bounds", bounds_of(metadata)},
                                    {"minzoom", zoom_of(metadata, "minzoom", tms.min_zoom())},
                                    {"maxzoom", zoom_of(metadata, "maxzoom", tms.max_zoom())}});
  }
  if ((n == 4 || (n == 5 && segments[4] == "assets")) && segments[2] == "point") {
    const auto where = point_of(segments[3]);
    if (!where) {
      return std::nullopt;
    }
    require_get(request);
    const Mosaic mosaic_of_search = mosaic();
    if (n == 5) {
      return cacheable_json(request, mosaic_of_search.assets_for_point(where->first, where->second));
    }
    // Values of every item under the point, for each asset, in search order,
    // within the mosaic's caps (Mosaic::point).
    if (mosaic_of_search.options().assets.empty()) {
      throw BadParameter("assets", "assets: point values need the assets to read");
    }
    return cacheable_json(request, mosaic_of_search.point(where->first, where->second, read_options_of(request)));
  }
  return std::nullopt;
}

}  // namespace tessera::service
