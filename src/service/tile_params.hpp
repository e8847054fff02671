#pragma once

// The query parameters of the tile routes read into tessera's read, render,
// mosaic and statistics options, with TiTiler's parameter names. A value that
// does not parse is a BadParameter naming the parameter (answered 400 with
// {"code", "description", "parameter"}). Internal header.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/http_support.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/service.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tessera::service {

// A 400 that names the parameter at fault.
class BadParameter : public HttpError {
 public:
  BadParameter(std::string parameter, std::string description)
      : HttpError(400, "BadRequest", std::move(description)), parameter_(std::move(parameter)) {}
  [[nodiscard]] const std::string& parameter() const noexcept { return parameter_; }

 private:
  std::string parameter_;
};

// The first value of `name`, or nullptr.
const std::string* param(const HttpRequest& request, std::string_view name);
// A required parameter (BadParameter when missing or empty).
std::string required_param(const HttpRequest& request, std::string_view name);
// Every value of a parameter given as `name=a&name=b` or `name=a,b` (empty
// parts dropped).
std::vector<std::string> list_param(const HttpRequest& request, std::string_view name);

// bidx, expression, resampling, reproject, nodata, unscale, buffer.
ReadOptions read_options_of(const HttpRequest& request);
// rescale (one "min,max" per band or one for all), colormap_name, colormap
// (rio-tiler JSON), return_mask; the format comes from the path.
RenderOptions render_options_of(const HttpRequest& request, const std::string& format);
// The assets to read with their bands: TiTiler 2's `assets=B04|bidx=1,2`
// (repeated, or comma-separated) and TiTiler 1's `asset_bidx=B04|1,2`.
std::vector<AssetSelection> asset_selections_of(const HttpRequest& request);
// assets (and asset_bidx), expression, asset_as_band, pixel_selection, max_items.
MosaicOptions mosaic_options_of(const HttpRequest& request);
// tilesize (TiTiler 2), else 256 times the @{scale}x of the path (TiTiler
// 1); both only when they agree. 1..ReaderConfig::max_image_size.
int tile_size_of(const HttpRequest& request, int scale);
// max_size, categorical, p (percentiles), histogram_bins, histogram_range.
StatisticsOptions statistics_options_of(const HttpRequest& request);

// The tile of a tiles path: {tileMatrixSetId}/{z}/{x}/{y}[@{scale}x][.{format}].
struct TilePath {
  TileMatrixSet tms;
  Tile tile;
  int scale = 1;
  std::string format = "png";
};
// The four segments after "tiles": nullopt when they do not have that shape
// (z, x and y digits; the scale digits; the format letters, digits or '_'),
// so the path is no route, as a regular expression would not match it;
// BadParameter for an unknown tile matrix set or an out-of-range number.
std::optional<TilePath> tile_path_of(std::string_view tms, std::string_view z, std::string_view x, std::string_view y);

// A tile matrix set by the name in the path (WebMercatorQuad, WorldCRS84Quad,
// EPSG:<code>); BadParameter("tileMatrixSetId") for an unknown one.
TileMatrixSet tms_of(std::string_view name);

// A number in text, BadParameter naming `parameter` when it is not one.
double number_of(std::string_view text, std::string_view parameter);
int integer_of(std::string_view text, std::string_view parameter);

}  // namespace tessera::service
