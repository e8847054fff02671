#pragma once

// Reading the query parameters of a request into tessera's read, render and
// mosaic options, with TiTiler's parameter names. A value that does not parse
// is a BadParameter naming the parameter, which the server answers with 400.

#include <stdexcept>
#include <string>
#include <vector>

#include <httplib.h>

#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tile_server {

class BadParameter : public std::invalid_argument {
 public:
  BadParameter(std::string parameter, const std::string& message)
      : std::invalid_argument(message), parameter_(std::move(parameter)) {}
  [[nodiscard]] const std::string& parameter() const noexcept { return parameter_; }

 private:
  std::string parameter_;
};

// A required parameter (BadParameter when missing or empty).
std::string required_param(const httplib::Request& request, const std::string& name);
// Every value of a parameter given as `name=a&name=b` or `name=a,b`.
std::vector<std::string> list_param(const httplib::Request& request, const std::string& name);

// bidx, expression, resampling, reproject, nodata, unscale, buffer.
tessera::ReadOptions read_options_of(const httplib::Request& request);
// rescale (one "min,max" per band or one for all), colormap_name, colormap
// (rio-tiler JSON), return_mask; the format comes from the path.
tessera::RenderOptions render_options_of(const httplib::Request& request, const std::string& format);
// assets, expression, pixel_selection, max_items.
tessera::MosaicOptions mosaic_options_of(const httplib::Request& request);
// tilesize (default 256 times the @{scale}x of the path, 1..ReaderConfig::max_image_size).
int tile_size_of(const httplib::Request& request, int scale);
// max_size, categorical, p (percentiles), histogram_bins, histogram_range.
tessera::StatisticsOptions statistics_options_of(const httplib::Request& request);

// The tile of a tiles path: /{tileMatrixSetId}/{z}/{x}/{y}[@{scale}x][.{format}].
struct TilePath {
  tessera::TileMatrixSet tms;
  tessera::Tile tile;
  int scale = 1;
  std::string format = "png";
};
// The regular expression of that path, six groups from `tiles/`.
inline constexpr const char* kTilePathPattern = R"(tiles/([^/]+)/(\d+)/(\d+)/(\d+)(?:@(\d+)x)?(?:\.(\w+))?)";
// Reads the path's groups starting at request.matches[first_group].
TilePath tile_path_of(const httplib::Request& request, std::size_t first_group);

// "http://host:port" of the request (its Host header), for links.
std::string base_url_of(const httplib::Request& request);
// The request's query string without the `excluded` parameters, re-encoded
// ("" or "?a=1&b=2"), for the tile URLs of a TileJSON document.
std::string query_string_of(const httplib::Request& request, const std::vector<std::string>& excluded);

// A tile matrix set by the name in the path (WebMercatorQuad, WorldCRS84Quad,
// EPSG:<code>); BadParameter("tileMatrixSetId") for an unknown one.
tessera::TileMatrixSet tms_of(const std::string& name);

// A number in text, BadParameter naming `parameter` when it is not one.
double number_of(const std::string& text, const std::string& parameter);
int integer_of(const std::string& text, const std::string& parameter);

}  // namespace tile_server
