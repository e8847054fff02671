#pragma once

// Reading COGs (and any GDAL raster) as map tiles, parts, points, previews and
// statistics, pixel-for-pixel like rio-tiler.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
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
// An unknown name is InvalidInput naming the accepted ones.
TESSERA_API Resampling resampling_from_name(std::string_view name);
TESSERA_API std::string_view resampling_name(Resampling resampling) noexcept;
TESSERA_API std::vector<std::string> resampling_names();

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

// One band of a raster, as RasterInfo describes it.
struct TESSERA_API BandInfo {
  std::string name;                             // "b1", "b2", ...
  std::string description;                      // GDAL's band description ("" when none)
  std::map<std::string, std::string> metadata;  // the band's GDAL metadata (default domain)
  std::string colorinterp;                      // "gray", "red", "alpha", ... (GDAL's, lower case)
  double scale = 1;
  double offset = 0;
};

// What rio-tiler's info() tells of a raster.
struct TESSERA_API RasterInfo {
  Bbox bounds;             // in the raster's CRS
  Bbox geographic_bounds;  // WGS84
  std::string crs;         // "EPSG:32633", or the WKT when the CRS has no authority code
  std::string crs_wkt;
  int minzoom = 0;  // zoom range of the raster in `tms`
  int maxzoom = 0;
  std::string tms;     // the tile matrix set's id
  std::string driver;  // GDAL's driver name ("GTiff")
  int width = 0;
  int height = 0;
  DataType dtype = DataType::kUInt8;
  std::optional<double> nodata_value;
  std::string nodata_type;  // "Nodata", "Alpha", "Mask" or "None" (rio-tiler's)
  std::vector<BandInfo> bands;
  std::vector<int> overviews;  // decimation factors (2, 4, ...)
  // The first band's colour table, entry index -> RGBA, when it has one.
  std::optional<std::map<int, std::array<int, 4>>> colormap;

  [[nodiscard]] int count() const noexcept { return static_cast<int>(bands.size()); }
  // rio-tiler's Info as JSON: bounds, geographic_bounds, crs, crs_wkt, minzoom,
  // maxzoom, tms, driver, width, height, count, dtype, nodata_value,
  // nodata_type, band_descriptions, band_metadata, colorinterp, scales,
  // offsets, overviews and colormap (what the C ABI and Python hand out).
  [[nodiscard]] nlohmann::json to_json() const;
};

// Bounds (raster CRS and WGS84), CRS, size, data type, nodata, overviews,
// min/max zoom in `tms`, band descriptions, colour interpretation, scales
// and offsets, like rio-tiler's info().
TESSERA_API RasterInfo raster_info(std::string_view href,
                                   const TileMatrixSet& tms = TileMatrixSet::web_mercator_quad());

struct TESSERA_API StatisticsOptions {
  int max_size = 1024;  // statistics of a preview this large (0: full resolution)
  std::vector<double> percentiles = {2, 98};
  int histogram_bins = 10;
  std::optional<std::pair<double, double>> histogram_range;
  bool categorical = false;  // count each distinct value instead
  // Feature statistics only: unset, each pixel weighs the exact fraction of
  // its area the shape covers (exactextract's definitions); set (1 to 1000),
  // rio-tiler's/TiTiler's way: the pixels the shape touches, weighed by
  // an all-touched rasterization cover_scale times finer.
  std::optional<int> cover_scale;
};
// Statistics of one band's valid pixels, with rio-tiler's definitions
// (population std, "nearest rank" percentiles, numpy's histogram). The
// value statistics are empty when the band has no valid pixel.
struct TESSERA_API BandStatistics {
  std::string band;  // "b1", ... or the expression of the output band
  std::optional<double> min;
  std::optional<double> max;
  std::optional<double> mean;
  double count = 0;  // valid pixels, or the sum of their coverage fractions (feature statistics)
  double sum = 0;    // of the values, each times its coverage fraction (feature statistics)
  std::optional<double> std;
  std::optional<double> median;
  std::optional<double> majority;  // the most frequent value (the smallest among ties)
  std::optional<double> minority;  // the least frequent value (the smallest among ties)
  std::size_t unique = 0;          // distinct values
  struct Percentile {
    double percentile = 0;  // as asked (0 to 100)
    std::optional<double> value;
  };
  std::vector<Percentile> percentiles;
  // numpy's histogram: counts per bin and the bins' edges (one more than the
  // counts); categorical: the count of each distinct value and the values.
  // Exact feature statistics count coverage fractions (not whole pixels).
  std::vector<double> histogram_counts;
  std::vector<double> histogram_edges;
  std::size_t valid_pixels = 0;
  std::size_t masked_pixels = 0;
  double valid_percent = 0;  // rounded to 2 decimals

  // rio-tiler's BandStatistics as JSON: min, max, mean, count, sum, std,
  // median, majority, minority, unique, histogram ([counts, edges]),
  // valid_percent, masked_pixels, valid_pixels and percentile_<p> (numbers
  // without a value, or not finite, are null).
  [[nodiscard]] nlohmann::json to_json() const;
};

// Per band, in band order, like rio-tiler's statistics().
TESSERA_API std::vector<BandStatistics> raster_statistics(std::string_view href,
                                                          const StatisticsOptions& statistics = {},
                                                          const ReadOptions& options = {});
// The fraction (0 to 1) of each pixel of a `width` x `height` grid over
// `bounds` that a GeoJSON Polygon or MultiPolygon (or a Feature of one), in
// the grid's CRS, covers, row by row from the top: exact (exactextract's
// coverage fractions, holes subtracted), or with `cover_scale` rio-tiler's
// estimate (all-touched on a grid cover_scale times finer). InvalidInput for
// another geometry, more than 100000 vertices, or an empty or too large grid.
TESSERA_API std::vector<double> coverage_fractions(const nlohmann::json& geojson, const Bbox& bounds, int width,
                                                   int height, std::optional<int> cover_scale = std::nullopt);
// Statistics of an image's valid pixels per band (rio-tiler's
// ImageData.statistics()); `statistics.max_size` is not used.
TESSERA_API std::vector<BandStatistics> image_statistics(const ImageData& image,
                                                         const StatisticsOptions& statistics = {});
// Statistics of the pixels a GeoJSON Feature or Polygon/MultiPolygon geometry
// (in part.bbox_crs, WGS84 by default) covers, per band, in band order
// (TiTiler's POST /cog/statistics). The shape's bounding box is read (in
// part.dst_crs, else the raster's CRS, where the box is widened to whole
// raster pixels), at native resolution when part.max_size, width and height
// are 0. Exact by default; see StatisticsOptions::cover_scale. InvalidInput
// for another geometry type or more than 100000 vertices.
TESSERA_API std::vector<BandStatistics> feature_statistics(std::string_view href, const nlohmann::json& geojson,
                                                           const StatisticsOptions& statistics = {},
                                                           const PartOptions& part = {},
                                                           const ReadOptions& options = {});
// The statistics as rio-tiler's JSON: an object of BandStatistics::to_json()
// by band name (what the C ABI and Python hand out).
TESSERA_API nlohmann::json to_json(const std::vector<BandStatistics>& statistics);

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
