#include "service/viewer_routes.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "service/http_support.hpp"
#include "service/tile_routes.hpp"
#include "tessera/colormap.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;

constexpr std::string_view kMount = "/viewer";

std::string file_text(const std::string& path) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    throw Error(ErrorCode::kNotFound, fmt::format("cannot read the base layer '{}'", path));
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

void require_get(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    throw HttpError(405, "MethodNotAllowed", fmt::format("{} is not allowed here (allowed: GET)", request.method),
                    {{"Allow", "GET, HEAD"}});
  }
}

}  // namespace

ViewerRoutes::ViewerRoutes(const ServiceOptions& options) : max_age_seconds_(options.cache_max_age_seconds) {
  if (!options.viewer_dir.empty()) {
    files_.emplace(options.viewer_dir);
    std::error_code error;
    if (!std::filesystem::is_regular_file(files_->root() / "index.html", error)) {
      throw Error(ErrorCode::kNotFound, fmt::format("the viewer folder '{}' has no index.html (build the target "
                                                    "tile_server_viewer)",
                                                    options.viewer_dir));
    }
  }
  if (options.basemap_path.empty()) {
    basemap_ = graticule().dump();
  } else {
    const json layer = json::parse(file_text(options.basemap_path), nullptr, false);
    if (layer.is_discarded() || !layer.is_object()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("the base layer '{}' is not a GeoJSON object", options.basemap_path));
    }
    basemap_ = layer.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  colormaps_ = json{{"colorMaps", Colormap::names()}}.dump();
}

std::optional<HttpResponse> ViewerRoutes::handle(const HttpRequest& request,
                                                 const std::vector<std::string_view>& segments) const {
  if (segments.size() == 1 && segments[0] == "basemap.geojson") {
    require_get(request);
    return cacheable_response(request, basemap_, "application/geo+json", max_age_seconds_);
  }
  if (segments.size() == 1 && segments[0] == "colormaps") {
    require_get(request);
    return cacheable_response(request, colormaps_, "application/json", max_age_seconds_);
  }
  const auto mounted = files_ ? below_mount(request.path, kMount) : std::nullopt;
  if (!mounted) {
    return std::nullopt;
  }
  require_get(request);
  if (mounted->bare) {
    return to_mount_folder(request, kMount);
  }
  const std::string_view relative = mounted->relative;
  if (auto file = files_->serve(request, relative.empty() ? "index.html" : relative)) {
    return file;
  }
  throw HttpError(404, "NotFound", fmt::format("no file {}", request.path));
}

}  // namespace tessera::service
