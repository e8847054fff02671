#pragma once

// The one read path behind tiles, parts, previews, features and statistics:
// the grid rio-tiler would read (its get_vrt_transform / part / read logic),
// filled by GDAL (a warped VRT when the CRS changes, a windowed RasterIO when
// it does not). Internal header.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "tessera/image.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "tiling/dataset_cache.hpp"
#include "tiling/expression.hpp"

namespace tessera::tiling {

// GDAL geotransform: x = gt[0] + col*gt[1] + row*gt[2]; y = gt[3] + col*gt[4] + row*gt[5].
using GeoTransform = std::array<double, 6>;

// What a read needs to know about a dataset.
struct SourceInfo {
  int width = 0;
  int height = 0;
  int band_count = 0;
  GeoTransform transform{};
  OGRSpatialReference srs;
  GDALDataType type = GDT_Byte;
  std::optional<double> nodata;
  int alpha_band = 0;  // 1-based, 0 when none
  Bbox bounds;         // in the dataset CRS
};
SourceInfo describe(GDALDataset& dataset, std::string_view href);

// An href resolved under the reader configuration, its dataset leased from
// the cache and described.
struct OpenRaster {
  std::string href;
  DatasetLease dataset;
  SourceInfo info;
};
OpenRaster open_raster(std::string_view href);

// Band `band`'s value at `pixel` as a double, whatever the image's type.
double value_at(const ImageData& image, int band, std::size_t pixel);

// The output grid of a read: `width` x `height` pixels over `bounds` in `crs`.
struct ReadGrid {
  OGRSpatialReference crs;
  std::string crs_wkt;
  Bbox bounds;
  int width = 0;
  int height = 0;
  // A warped VRT at the raster's resolution (vrt_width x vrt_height over
  // `bounds`) read down to the output size; else a window of the raster
  // (column, row, width, height in its pixels).
  bool warp = false;
  int vrt_width = 0;
  int vrt_height = 0;
  std::array<double, 4> window{};
};

// Size limits and the band list, checked before any pixel is read.
void check_image_size(int width, int height);
// InvalidInput unless `buffer` is a finite, non-negative multiple of 0.5.
void check_buffer(double buffer);
// `size` + 2 x `buffer`, refused beyond ReaderConfig::max_image_size before
// anything is allocated.
int buffered_size(int size, double buffer);
// InvalidInput naming `what` when `values` exceeds ReaderConfig::max_request_values.
void check_request_values(double values, std::string_view what);
// The bands `options` reads; `expression` is options.expression parsed.
std::vector<int> bands_to_read(const SourceInfo& source, const ReadOptions& options,
                               const std::optional<Expression>& expression);

// rio-tiler's part(): the grid for `bounds` (in `crs`) at the requested size
// (width/height, or max_size, or native resolution when all are 0).
ReadGrid plan_part(OpenRaster& raster, const OGRSpatialReference& crs, const Bbox& bounds, int width, int height,
                   int max_size, double buffer);

// `box` (in the grid's CRS) in the raster's CRS, edges densified like
// rasterio's transform_bounds(densify_pts=21); nullopt when it cannot be
// reprojected.
std::optional<Bbox> bounds_in_raster_crs(OpenRaster& raster, const ReadGrid& grid, const Bbox& box);

// Reads `grid`, applies the mask rules, unscaling and the expression.
struct OpenRaster;
ImageData read_grid(OpenRaster& raster, const ReadGrid& grid, const ReadOptions& options);

// read_tile, with nullopt where it throws NotFound because the tile does
// not touch the raster (a missing raster is still NotFound).
std::optional<ImageData> read_tile_if_covered(std::string_view href, const TileMatrixSet& tms, const Tile& tile,
                                              int tile_size, const ReadOptions& options);

// Which pixels of a `width` x `height` grid over `bounds` `shape` (in the
// grid's CRS) covers: 1 inside, 0 outside; pixel centres inside, or every
// pixel touched with `all_touched` (GDAL's rasterizer, as rasterio's).
std::vector<std::uint8_t> rasterize(const OGRGeometry& shape, const Bbox& bounds, int width, int height,
                                    bool all_touched);

// The geographic CRS with x = longitude, y = latitude.
OGRSpatialReference wgs84_srs();
OGRSpatialReference srs_from_user_input(std::string_view definition, std::string_view what);
std::string srs_to_wkt(const OGRSpatialReference& srs);

}  // namespace tessera::tiling
