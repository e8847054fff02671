// The map viewer (the bundled page at / and its files under /viewer/), its
// base layer, the colormap names for its menu, and a health check.

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "server.hpp"
#include "tessera/colormap.hpp"
#include "tessera/error.hpp"

namespace tile_server {

namespace {

using nlohmann::json;

std::string file_text(const std::string& path) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    throw tessera::Error(tessera::ErrorCode::kNotFound, "cannot read " + path);
  }
  return {std::istreambuf_iterator<char>(input), {}};
}

// Lines of longitude and latitude every 10 degrees, the base layer when no
// GeoJSON file is given.
json graticule() {
  json features = json::array();
  const auto line = [&](json coordinates) {
    features.push_back({{"type", "Feature"},
                        {"properties", json::object()},
                        {"geometry", {{"type", "LineString"}, {"coordinates", std::move(coordinates)}}}});
  };
  for (int lon = -180; lon <= 180; lon += 10) {
    line({{lon, -80}, {lon, 80}});
  }
  for (int lat = -80; lat <= 80; lat += 10) {
    json coordinates = json::array();
    for (int lon = -180; lon <= 180; lon += 10) {
      coordinates.push_back({lon, lat});
    }
    line(std::move(coordinates));
  }
  return {{"type", "FeatureCollection"}, {"features", features}};
}

}  // namespace

void add_viewer_routes(httplib::Server& http, const ServerContext& context) {
  const std::string& viewer_dir = context.options.viewer_dir;
  if (!viewer_dir.empty() && !http.set_mount_point("/viewer", viewer_dir)) {
    throw tessera::Error(tessera::ErrorCode::kNotFound, "viewer folder " + viewer_dir + " does not exist");
  }
  http.Get("/", [&context](const httplib::Request& request, httplib::Response& response) {
    if (context.options.viewer_dir.empty()) {
      throw tessera::Error(tessera::ErrorCode::kNotFound, "this server has no viewer (start it with --viewer-dir)");
    }
    send_cacheable(request, response, file_text(context.options.viewer_dir + "/index.html"), "text/html",
                   context.options.cache);
  });
  const std::string base_layer = context.options.basemap_path.empty()
                                     ? graticule().dump()
                                     : json::parse(file_text(context.options.basemap_path)).dump();
  http.Get("/basemap.geojson", [&context, base_layer](const httplib::Request& request, httplib::Response& response) {
    send_cacheable(request, response, base_layer, "application/geo+json", context.options.cache);
  });
  http.Get("/colormaps", [&context](const httplib::Request& request, httplib::Response& response) {
    send_cacheable_json(request, response, {{"colorMaps", tessera::Colormap::names()}}, context.options.cache);
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    send_json(response, {{"status", "ok"}});
  });
}

}  // namespace tile_server
