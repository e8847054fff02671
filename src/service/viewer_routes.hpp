#pragma once

// What the map viewer needs beside the tile routes: its files at /viewer/
// (the bundled page of examples/tile_server/viewer, ServiceOptions::viewer_dir),
// its base layer (/basemap.geojson: a GeoJSON file, or a 10-degree graticule)
// and the colormap names for its menu (/colormaps). Internal header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/static_files.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

class ViewerRoutes {
 public:
  // Error kNotFound when options.viewer_dir has no index.html or
  // options.basemap_path cannot be read; kInvalidInput when the base layer is
  // not JSON.
  explicit ViewerRoutes(const ServiceOptions& options);

  // The answer to /viewer, /viewer/..., /basemap.geojson and /colormaps,
  // nullopt for other paths. Throws HttpError (404, 405).
  [[nodiscard]] std::optional<HttpResponse> handle(const HttpRequest& request,
                                                   const std::vector<std::string_view>& segments) const;

  [[nodiscard]] bool has_viewer() const noexcept { return files_.has_value(); }

 private:
  std::optional<StaticFiles> files_;  // options.viewer_dir set
  std::string basemap_;
  std::string colormaps_;
  int max_age_seconds_;
};

}  // namespace tessera::service
