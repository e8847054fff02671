// The public reads (tile, part, feature, preview, point) over one read path.

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <gdal_alg.h>
#include <ogr_geometry.h>

#include "core/enum_names.hpp"
#include "core/gdal_env.hpp"
#include "tessera/error.hpp"
#include "tessera/tiling.hpp"
#include "tiling/coverage.hpp"
#include "tiling/raster_read.hpp"
#include "tiling/zonal_statistics.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr core::EnumName<Resampling> kResamplingNames[] = {
    {Resampling::kNearest, "nearest"}, {Resampling::kBilinear, "bilinear"},
    {Resampling::kCubic, "cubic"},     {Resampling::kCubicSpline, "cubic_spline"},
    {Resampling::kLanczos, "lanczos"}, {Resampling::kAverage, "average"},
    {Resampling::kMode, "mode"},       {Resampling::kGauss, "gauss"},
    {Resampling::kRms, "rms"},         {Resampling::kMax, "max"},
    {Resampling::kMin, "min"},         {Resampling::kMedian, "med"},
    {Resampling::kQ1, "q1"},           {Resampling::kQ3, "q3"},
    {Resampling::kSum, "sum"},
};
constexpr core::NameTable<Resampling> kResampling{"resampling", kResamplingNames};
static_assert(kResampling.covers(Resampling::kNearest, Resampling::kSum));

// `box` (in `from`) as bounds in `to`, edges densified like rasterio's
// transform_bounds(densify_pts=21).
Bbox transform_bounds(const OGRSpatialReference& from, const OGRSpatialReference& to, const Bbox& box) {
  if (from.IsSame(&to)) {
    return box;
  }
  std::unique_ptr<OGRCoordinateTransformation> transformation(OGRCreateCoordinateTransformation(&from, &to));
  if (!transformation) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "no transformation between the two CRSs");
  }
  double minx = 0;
  double miny = 0;
  double maxx = 0;
  double maxy = 0;
  if (!transformation->TransformBounds(box.minx, box.miny, box.maxx, box.maxy, &minx, &miny, &maxx, &maxy, 21)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("bounds [{}, {}, {}, {}] cannot be reprojected", box.minx, box.miny, box.maxx, box.maxy));
  }
  return {minx, miny, maxx, maxy};
}

OGRSpatialReference tms_srs(const TileMatrixSet& tms) {
  OGRSpatialReference srs(*tms.crs().ogr());
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

}  // namespace

Resampling resampling_from_name(std::string_view name) { return kResampling.from_name(name); }

std::string_view resampling_name(Resampling resampling) noexcept { return kResampling.name(resampling); }

std::vector<std::string> resampling_names() { return kResampling.names(); }

namespace tiling {

std::optional<ImageData> read_tile_if_covered(std::string_view href, const TileMatrixSet& tms, const Tile& tile,
                                              int tile_size, const ReadOptions& options) {
  tms.check_tile(tile);
  check_image_size(tile_size, tile_size);
  auto raster = open_raster(href);
  const OGRSpatialReference crs = tms_srs(tms);
  const Bbox tile_bounds = tms.xy_bounds(tile);
  const ReadGrid grid = plan_part(raster, crs, tile_bounds, tile_size, tile_size, 0, options.buffer);
  // rio-tiler's tile_exists: the tile, reprojected to the raster's CRS, must
  // overlap the raster.
  const std::optional<Bbox> in_raster_crs = bounds_in_raster_crs(raster, grid, tile_bounds);
  const Bbox& bounds = raster.info.bounds;
  if (!in_raster_crs || !(in_raster_crs->minx < bounds.maxx && in_raster_crs->maxx > bounds.minx &&
                          in_raster_crs->maxy > bounds.miny && in_raster_crs->miny < bounds.maxy)) {
    return std::nullopt;
  }
  return read_grid(raster, grid, options);
}

}  // namespace tiling

ImageData read_tile(std::string_view href, const TileMatrixSet& tms, const Tile& tile, int tile_size,
                    const ReadOptions& options) {
  std::optional<ImageData> image = tiling::read_tile_if_covered(href, tms, tile, tile_size, options);
  if (!image) {
    throw Error(ErrorCode::kNotFound,
                fmt::format("tile {}/{}/{} is outside the bounds of raster '{}'", tile.z, tile.x, tile.y, href));
  }
  return std::move(*image);
}

ImageData read_part(std::string_view href, const Bbox& bbox, const PartOptions& part, const ReadOptions& options) {
  if (part.width < 0 || part.height < 0 || part.max_size < 0) {
    throw Error(ErrorCode::kInvalidInput, "part: width, height and max_size must not be negative");
  }
  auto raster = tiling::open_raster(href);
  const OGRSpatialReference bbox_crs = tiling::srs_from_user_input(part.bbox_crs, "bbox CRS");
  const OGRSpatialReference dst_crs =
      part.dst_crs.empty() ? raster.info.srs : tiling::srs_from_user_input(part.dst_crs, "destination CRS");
  const Bbox bounds = transform_bounds(bbox_crs, dst_crs, bbox);
  const tiling::ReadGrid grid =
      tiling::plan_part(raster, dst_crs, bounds, part.width, part.height, part.max_size, options.buffer);
  return tiling::read_grid(raster, grid, options);
}

ImageData read_feature(std::string_view href, const json& geojson, const PartOptions& part,
                       const ReadOptions& options) {
  const Geometry shape = tiling::feature_geometry(geojson, "feature");
  ImageData image = read_part(href, shape.bbox(), part, options);
  // Pixels whose centres fall outside the shape are masked (rasterio's
  // rasterize without all_touched), with the shape in the image's CRS.
  const std::unique_ptr<OGRGeometry> projected =
      tiling::reprojected(*shape.ogr(), tiling::srs_from_user_input(part.bbox_crs, "bbox CRS"),
                          tiling::srs_from_user_input(image.crs_wkt, "image CRS"), "feature");
  const std::vector<std::uint8_t> covered =
      tiling::rasterize(*projected, image.bounds, image.width(), image.height(), false);
  std::uint8_t* mask = image.mask();
  for (std::size_t p = 0; p < covered.size(); ++p) {
    if (covered[p] == 0) {
      mask[p] = 0;
    }
  }
  return image;
}

std::vector<BandStatistics> feature_statistics(std::string_view href, const json& geojson,
                                               const StatisticsOptions& statistics, const PartOptions& part,
                                               const ReadOptions& options) {
  tiling::check_statistics_options(statistics);
  if (part.width < 0 || part.height < 0 || part.max_size < 0) {
    throw Error(ErrorCode::kInvalidInput, "feature statistics: width, height and max_size must not be negative");
  }
  const Geometry shape = tiling::feature_geometry(geojson, "feature");
  tiling::check_area_shape(*shape.ogr(), "feature");
  auto raster = tiling::open_raster(href);
  const OGRSpatialReference shape_crs = tiling::srs_from_user_input(part.bbox_crs, "bbox CRS");
  const OGRSpatialReference read_crs =
      part.dst_crs.empty() ? raster.info.srs : tiling::srs_from_user_input(part.dst_crs, "destination CRS");
  const std::unique_ptr<OGRGeometry> projected = tiling::reprojected(*shape.ogr(), shape_crs, read_crs, "feature");
  OGREnvelope envelope;
  projected->getEnvelope(&envelope);
  Bbox box{envelope.MinX, envelope.MinY, envelope.MaxX, envelope.MaxY};
  const auto& gt = raster.info.transform;
  if (read_crs.IsSame(&raster.info.srs) && gt[2] == 0 && gt[4] == 0) {
    // rio-tiler's align_bounds_with_dataset: the box widened to whole raster
    // pixels, so each pixel read is a raster pixel and its coverage is the
    // shape's share of that pixel.
    const double left = std::floor((box.minx - gt[0]) / gt[1]);
    const double right = std::ceil((box.maxx - gt[0]) / gt[1]);
    const double top = std::floor((box.maxy - gt[3]) / gt[5]);
    const double bottom = std::ceil((box.miny - gt[3]) / gt[5]);
    box = {gt[0] + left * gt[1], gt[3] + bottom * gt[5], gt[0] + right * gt[1], gt[3] + top * gt[5]};
  }
  const tiling::ReadGrid grid =
      tiling::plan_part(raster, read_crs, box, part.width, part.height, part.max_size, options.buffer);
  const ImageData image = tiling::read_grid(raster, grid, options);
  return tiling::shape_statistics(image, *projected, tiling::statistics_nodata(options, raster.info.nodata),
                                  statistics);
}

ImageData read_preview(std::string_view href, int max_size, const ReadOptions& options) {
  if (max_size < 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("preview: max_size {} must not be negative", max_size));
  }
  auto raster = tiling::open_raster(href);
  // rio-tiler's preview reads the whole raster without a window (so never
  // through a boundless VRT), the longest side scaled to max_size.
  tiling::ReadGrid grid;
  grid.crs = raster.info.srs;
  grid.crs_wkt = tiling::srs_to_wkt(grid.crs);
  grid.bounds = raster.info.bounds;
  grid.window = {0, 0, static_cast<double>(raster.info.width), static_cast<double>(raster.info.height)};
  if (max_size == 0) {
    grid.width = raster.info.width;
    grid.height = raster.info.height;
  } else {
    const double ratio = static_cast<double>(raster.info.height) / raster.info.width;
    if (ratio > 1) {
      grid.height = max_size;
      grid.width = static_cast<int>(std::ceil(max_size / ratio));
    } else {
      grid.width = max_size;
      grid.height = static_cast<int>(std::ceil(max_size * ratio));
    }
  }
  tiling::check_image_size(grid.width, grid.height);
  return tiling::read_grid(raster, grid, options);
}

PointData read_point(std::string_view href, double lon, double lat, const ReadOptions& options) {
  if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90 || lat > 90) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("point ({}, {}) is not a longitude/latitude", lon, lat));
  }
  auto raster = tiling::open_raster(href);
  const OGRSpatialReference wgs84 = tiling::wgs84_srs();
  double x = lon;
  double y = lat;
  if (!wgs84.IsSame(&raster.info.srs)) {
    std::unique_ptr<OGRCoordinateTransformation> transformation(
        OGRCreateCoordinateTransformation(&wgs84, &raster.info.srs));
    if (!transformation || !transformation->Transform(1, &x, &y)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("point ({}, {}) cannot be reprojected to the raster's CRS", lon, lat));
    }
  }
  const Bbox& bounds = raster.info.bounds;
  if (!(bounds.minx < x && x < bounds.maxx && bounds.miny < y && y < bounds.maxy)) {
    throw Error(ErrorCode::kNotFound,
                fmt::format("point ({}, {}) is outside the bounds of raster '{}'", lon, lat, href));
  }
  const auto& gt = raster.info.transform;
  const double column = std::floor((x - gt[0]) / gt[1]);
  const double row = std::floor((y - gt[3]) / gt[5]);
  tiling::ReadGrid grid;
  grid.crs = raster.info.srs;
  grid.crs_wkt = tiling::srs_to_wkt(grid.crs);
  grid.window = {column, row, 1, 1};
  grid.bounds = {gt[0] + column * gt[1], gt[3] + (row + 1) * gt[5], gt[0] + (column + 1) * gt[1], gt[3] + row * gt[5]};
  grid.width = 1;
  grid.height = 1;
  const ImageData pixel = tiling::read_grid(raster, grid, options);
  PointData point;
  point.lon = lon;
  point.lat = lat;
  point.band_names = pixel.band_names;
  point.masked = pixel.mask()[0] == 0;
  for (int b = 0; b < pixel.band_count(); ++b) {
    point.values.push_back(tiling::value_at(pixel, b, 0));
  }
  return point;
}

}  // namespace tessera
