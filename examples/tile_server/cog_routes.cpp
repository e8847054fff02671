// /cog/...: one raster named by the `url` parameter (TiTiler's /cog endpoints).

#include <string>

#include <fmt/format.h>

#include "query_params.hpp"
#include "server.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"

namespace tile_server {

namespace {

std::string href_of(const httplib::Request& request) { return required_param(request, "url"); }

void tile(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  const TilePath path = tile_path_of(request, 1);
  const int tile_size = tile_size_of(request, path.scale);
  const tessera::RenderOptions render = render_options_of(request, path.format);
  const tessera::ImageData image =
      tessera::read_tile(href_of(request), path.tms, path.tile, tile_size, read_options_of(request));
  send_cacheable(request, response, tessera::render(image, render), tessera::render_media_type(path.format),
                 context.options.cache);
}

void tilejson(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  const std::string tms_name = request.matches[1].str();
  const tessera::TileMatrixSet tms = tms_of(tms_name);
  const std::string format = request.has_param("tile_format") ? request.get_param_value("tile_format") : "png";
  const std::string tile_url = fmt::format("{}/cog/tiles/{}/{{z}}/{{x}}/{{y}}.{}{}", base_url_of(request), tms_name,
                                           format, query_string_of(request, {"tile_format"}));
  send_cacheable_json(request, response, tessera::tilejson(href_of(request), tile_url, tms), context.options.cache);
}

void point(const ServerContext& context, const httplib::Request& request, httplib::Response& response) {
  const double lon = number_of(request.matches[1].str(), "lon");
  const double lat = number_of(request.matches[2].str(), "lat");
  const tessera::PointData point = tessera::read_point(href_of(request), lon, lat, read_options_of(request));
  send_cacheable_json(request, response,
                      {{"coordinates", {point.lon, point.lat}},
                       {"values", point.values},
                       {"band_names", point.band_names},
                       {"masked", point.masked}},
                      context.options.cache);
}

}  // namespace

void add_cog_routes(httplib::Server& http, const ServerContext& context) {
  http.Get(
      std::string("/cog/") + kTilePathPattern,
      [&context](const httplib::Request& request, httplib::Response& response) { tile(context, request, response); });
  http.Get(R"(/cog/([^/]+)/tilejson\.json)", [&context](const httplib::Request& request, httplib::Response& response) {
    tilejson(context, request, response);
  });
  http.Get(R"(/cog/point/([^/,]+),([^/,]+))", [&context](const httplib::Request& request, httplib::Response& response) {
    point(context, request, response);
  });
  http.Get("/cog/info", [&context](const httplib::Request& request, httplib::Response& response) {
    const std::string tms =
        request.has_param("tileMatrixSetId") ? request.get_param_value("tileMatrixSetId") : "WebMercatorQuad";
    send_cacheable_json(request, response, tessera::raster_info(href_of(request), tms_of(tms)).to_json(),
                        context.options.cache);
  });
  http.Get("/cog/statistics", [&context](const httplib::Request& request, httplib::Response& response) {
    send_cacheable_json(request, response,
                        tessera::to_json(tessera::raster_statistics(href_of(request), statistics_options_of(request),
                                                                    read_options_of(request))),
                        context.options.cache);
  });
}

}  // namespace tile_server
