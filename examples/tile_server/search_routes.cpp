// /searches/...: mosaics of registered catalog searches (titiler-pgstac's
// /searches endpoints): registration, listing, tiles, TileJSON, the items a
// tile or point would read, and point values.

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "query_params.hpp"
#include "server.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"

namespace tile_server {

namespace {

using nlohmann::json;

json links_of(const httplib::Request& request, const std::string& search_id) {
  const std::string base = base_url_of(request) + "/searches/" + search_id;
  return json::array({
      {{"rel", "metadata"}, {"type", "application/json"}, {"href", base + "/info"}},
      {{"rel", "tilejson"}, {"type", "application/json"}, {"href", base + "/WebMercatorQuad/tilejson.json"}},
  });
}

// POST body: a STAC search request, plus an optional "metadata" object
// stored with it (titiler-pgstac's register body).
void register_search(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  json search = json::parse(request.body);
  if (!search.is_object()) {
    throw BadParameter("body", "body: a search must be a JSON object");
  }
  json metadata = json::object();
  if (search.contains("metadata")) {
    metadata = search["metadata"];
    search.erase("metadata");
  }
  const std::string id = context.require_catalog().register_search(search, metadata);
  send_json(response, {{"id", id}, {"links", links_of(request, id)}});
}

void list_searches(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  json searches = json::array();
  for (const json& registered : context.require_catalog().registered_searches()) {
    const std::string id = registered.at("id").get<std::string>();
    searches.push_back({{"search", registered}, {"links", links_of(request, id)}});
  }
  send_json(response, {{"searches", searches}, {"context", {{"returned", searches.size()}}}});
}

tessera::Mosaic mosaic_of(const ServerContext& context, const httplib::Request& request) {
  return tessera::Mosaic::from_registered(context.require_catalog(), request.matches[1].str(),
                                          mosaic_options_of(request));
}

void tile(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  const TilePath path = tile_path_of(request, 2);
  const int tile_size = tile_size_of(request, path.scale);
  const tessera::RenderOptions render = render_options_of(request, path.format);
  const tessera::ImageData image =
      mosaic_of(context, request).tile(path.tms, path.tile, tile_size, read_options_of(request));
  send_cacheable(request, response, tessera::render(image, render), tessera::render_media_type(path.format),
                 context.options.cache);
}

// Bounds and zooms from the search's metadata when it has them (as
// titiler-pgstac), else the whole tile matrix set.
void tilejson(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string search_id = request.matches[1].str();
  const std::string tms_name = request.matches[2].str();
  const tessera::TileMatrixSet tms = tms_of(tms_name);
  const json metadata = context.require_catalog().registered_search(search_id).value("metadata", json::object());
  const std::string format = request.has_param("tile_format") ? request.get_param_value("tile_format") : "png";
  const std::string tile_url = fmt::format("{}/searches/{}/tiles/{}/{{z}}/{{x}}/{{y}}.{}{}", base_url_of(request),
                                           search_id, tms_name, format, query_string_of(request, {"tile_format"}));
  send_cacheable_json(request, response,
                      {{"tilejson", "3.0.0"},
                       {"name", search_id},
                       {"scheme", "xyz"},
                       {"tiles", {tile_url}},
                       {"bounds", metadata.value("bounds", json{-180.0, -85.0511287798066, 180.0, 85.0511287798066})},
                       {"minzoom", metadata.value("minzoom", tms.min_zoom())},
                       {"maxzoom", metadata.value("maxzoom", tms.max_zoom())}},
                      context.options.cache);
}

// Values of every item under the point, for each asset, in search order,
// within the mosaic's caps (Mosaic::point).
void point(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  const double lon = number_of(request.matches[2].str(), "lon");
  const double lat = number_of(request.matches[3].str(), "lat");
  const tessera::Mosaic mosaic = mosaic_of(context, request);
  if (mosaic.options().assets.empty()) {
    throw BadParameter("assets", "assets: point values need the assets to read");
  }
  send_cacheable_json(request, response, mosaic.point(lon, lat, read_options_of(request)), context.options.cache);
}

}  // namespace

void add_search_routes(httplib::Server& http, const ServerContext& context) {
  http.Post("/searches/register", [&context](const httplib::Request& request, httplib::Response& response) {
    register_search(context, request, response);
  });
  http.Get("/searches/list", [&context](const httplib::Request& request, httplib::Response& response) {
    list_searches(context, request, response);
  });
  http.Get(R"(/searches/([^/]+)/info)", [&context](const httplib::Request& request, httplib::Response& response) {
    send_json(response, context.require_catalog().registered_search(request.matches[1].str()));
  });
  http.Get(std::string(R"(/searches/([^/]+)/)") + kTilePathPattern + "/assets",
           [&context](const httplib::Request& request, httplib::Response& response) {
             const TilePath path = tile_path_of(request, 2);
             send_cacheable_json(request, response, mosaic_of(context, request).assets_for_tile(path.tms, path.tile),
                                 context.options.cache);
           });
  http.Get(
      std::string(R"(/searches/([^/]+)/)") + kTilePathPattern,
      [&context](const httplib::Request& request, httplib::Response& response) { tile(context, request, response); });
  http.Get(R"(/searches/([^/]+)/([^/]+)/tilejson\.json)",
           [&context](const httplib::Request& request, httplib::Response& response) {
             tilejson(context, request, response);
           });
  http.Get(R"(/searches/([^/]+)/point/([^/,]+),([^/,]+)/assets)",
           [&context](const httplib::Request& request, httplib::Response& response) {
             const double lon = number_of(request.matches[2].str(), "lon");
             const double lat = number_of(request.matches[3].str(), "lat");
             send_cacheable_json(request, response, mosaic_of(context, request).assets_for_point(lon, lat),
                                 context.options.cache);
           });
  http.Get(
      R"(/searches/([^/]+)/point/([^/,]+),([^/,]+))",
      [&context](const httplib::Request& request, httplib::Response& response) { point(context, request, response); });
}

}  // namespace tile_server
