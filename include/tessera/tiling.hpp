#pragma once

// Reading COGs (and any GDAL raster) as map tiles, parts, points, previews and
// statistics, pixel-for-pixel like rio-tiler.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/environment.hpp"
#include "tessera/export.hpp"
#include "tessera/geometry.hpp"
#include "tessera/image.hpp"
#include "tessera/storage.hpp"
#include "tessera/tms.hpp"

namespace tessera {

enum class Resampling : int {
  kNearest,
  kBilinear,
  kCubic,
  kCubicSpline,
  kLanczos,
  kAverage,
  kMode,
  kGauss,
  kRms,
  kMax,
  kMin,
  kMedian,
  kQ1,
  kQ3,
  kSum,
};
// rasterio's names: "nearest", "bilinear", "cubic", "cubic_spline", "lanczos",
// "average", "mode", "gauss", "rms", "max", "min", "med", "q1", "q3", "sum".
TESSERA_API Resampling resampling_from_name(std::string_view name);
TESSERA_API std::string_view resampling_name(Resampling resampling) noexcept;

struct TESSERA_API ReadOptions {
  std::vector<int> indexes;                      // 1-based band indexes; empty: every band but alpha
  std::string expression;                        // band math on b1..bN, ';' between output bands
  Resampling resampling = Resampling::kNearest;  // when reading at another resolution
  Resampling reproject = Resampling::kNearest;   // when warping to another CRS
  std::optional<double> nodata;                  // overrides the dataset's nodata value
  bool unscale = false;                          // apply the bands' scale and offset (float32 out)
  double buffer = 0;                             // tiles: extra pixels on each side, a multiple of 0.5
};

// The tile z/x/y of `tms`, `tile_size` pixels square (plus the buffer).
// NotFound when the tile does not touch the raster.
TESSERA_API ImageData read_tile(std::string_view href, const TileMatrixSet& tms, const Tile& tile, int tile_size = 256,
                                const ReadOptions& options = {});

struct TESSERA_API PartOptions {
  std::string bbox_crs = "EPSG:4326";  // CRS of the requested bbox
  std::string dst_crs;                 // CRS of the output (default: the raster's)
  int max_size = 1024;                 // longest side when width/height are not set (0: native resolution)
  int width = 0;
  int height = 0;
};

// The area `bbox` (in options.bbox_crs) of the raster.
TESSERA_API ImageData read_part(std::string_view href, const Bbox& bbox, const PartOptions& part = {},
                                const ReadOptions& options = {});
// The bounding box of a GeoJSON Feature or geometry (WGS84 unless
// part.bbox_crs says otherwise), with pixels outside the shape masked.
TESSERA_API ImageData read_feature(std::string_view href, const nlohmann::json& geojson, const PartOptions& part = {},
                                   const ReadOptions& options = {});
// The whole raster, its longest side at most `max_size` pixels.
TESSERA_API ImageData read_preview(std::string_view href, int max_size = 1024, const ReadOptions& options = {});

struct TESSERA_API PointData {
  double lon = 0;
  double lat = 0;
  std::vector<double> values;  // one per band (or expression output)
  std::vector<std::string> band_names;
  bool masked = false;  // true when the pixel is no data
};
// Values at a WGS84 point. NotFound when the point is outside the raster.
TESSERA_API PointData read_point(std::string_view href, double lon, double lat, const ReadOptions& options = {});

// Bounds (raster CRS and WGS84), CRS, size, data type, nodata, overviews,
// min/max zoom in `tms`, band descriptions, colour interpretation, scales
// and offsets, like rio-tiler's info().
TESSERA_API nlohmann::json raster_info(std::string_view href,
                                       const TileMatrixSet& tms = TileMatrixSet::web_mercator_quad());

struct TESSERA_API StatisticsOptions {
  int max_size = 1024;  // statistics of a preview this large (0: full resolution)
  std::vector<double> percentiles = {2, 98};
  int histogram_bins = 10;
  std::optional<std::pair<double, double>> histogram_range;
  bool categorical = false;  // count each distinct value instead
};
// Per band ("b1", ...): min, max, mean, count, sum, std, median, majority,
// minority, unique, histogram, valid_percent, masked_pixels, valid_pixels and
// percentile_<p>, like rio-tiler's statistics().
TESSERA_API nlohmann::json raster_statistics(std::string_view href, const StatisticsOptions& statistics = {},
                                             const ReadOptions& options = {});

// A TileJSON 3.0.0 document for the raster in `tms`, with `tile_url` (with
// {z}/{x}/{y} placeholders) as its only tile source.
TESSERA_API nlohmann::json tilejson(std::string_view href, std::string_view tile_url,
                                    const TileMatrixSet& tms = TileMatrixSet::web_mercator_quad());

// The cache of decoded per-item tile data mosaics share (keyed by asset
// href, tile matrix set, z/x/y, size and read options), least recently used
// dropped first beyond its byte budget (ReaderConfig::tile_cache_bytes); one
// per Environment: these functions read and clear the current one.
struct TESSERA_API TileCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::size_t entries = 0;
  std::size_t bytes = 0;
  std::size_t capacity_bytes = 0;
};
TESSERA_API TileCacheStats tile_cache_stats();
// Drops every cached tile and resets the counters.
TESSERA_API void clear_tile_cache();

}  // namespace tessera
