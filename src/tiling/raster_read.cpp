#include "tiling/raster_read.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <cpl_string.h>
#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdalwarper.h>

#include "core/gdal_env.hpp"
#include "tessera/error.hpp"
#include "tiling/expression.hpp"
#include "tiling/href_policy.hpp"
#include "tiling/pixel_type.hpp"

namespace tessera::tiling {

namespace {

// Python's round(): halves go to the even neighbour (rio-tiler's sizes use it).
int round_half_even(double value) { return static_cast<int>(std::nearbyint(value)); }

GeoTransform transform_from_bounds(const Bbox& bounds, int width, int height) {
  return {bounds.minx, (bounds.maxx - bounds.minx) / width, 0, bounds.maxy, 0, (bounds.miny - bounds.maxy) / height};
}

// rio-tiler's _get_width_height: the longest side becomes max_size.
std::pair<int, int> size_for_max(int max_size, int height, int width) {
  const double ratio = static_cast<double>(height) / width;
  if (ratio > 1) {
    return {max_size, static_cast<int>(std::ceil(max_size / ratio))};
  }
  return {static_cast<int>(std::ceil(max_size * ratio)), max_size};
}

GDALRIOResampleAlg rasterio_resampling(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
      return GRIORA_NearestNeighbour;
    case Resampling::kBilinear:
      return GRIORA_Bilinear;
    case Resampling::kCubic:
      return GRIORA_Cubic;
    case Resampling::kCubicSpline:
      return GRIORA_CubicSpline;
    case Resampling::kLanczos:
      return GRIORA_Lanczos;
    case Resampling::kAverage:
      return GRIORA_Average;
    case Resampling::kMode:
      return GRIORA_Mode;
    case Resampling::kGauss:
      return GRIORA_Gauss;
    case Resampling::kRms:
#if GDAL_VERSION_NUM >= 3030000
      return GRIORA_RMS;
#endif
    default:
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("resampling '{}' is only available when warping (reproject), not for reads",
                              resampling_name(resampling)));
  }
}

GDALResampleAlg warp_resampling(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
      return GRA_NearestNeighbour;
    case Resampling::kBilinear:
      return GRA_Bilinear;
    case Resampling::kCubic:
      return GRA_Cubic;
    case Resampling::kCubicSpline:
      return GRA_CubicSpline;
    case Resampling::kLanczos:
      return GRA_Lanczos;
    case Resampling::kAverage:
      return GRA_Average;
    case Resampling::kMode:
      return GRA_Mode;
    case Resampling::kRms:
      return GRA_RMS;
    case Resampling::kMax:
      return GRA_Max;
    case Resampling::kMin:
      return GRA_Min;
    case Resampling::kMedian:
      return GRA_Med;
    case Resampling::kQ1:
      return GRA_Q1;
    case Resampling::kQ3:
      return GRA_Q3;
    case Resampling::kSum:
      return GRA_Sum;
    case Resampling::kGauss:
      break;
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("resampling '{}' is not available when warping (reproject)", resampling_name(resampling)));
}

DataType tessera_type(GDALDataType type, std::string_view href) {
  switch (type) {
    case GDT_Byte:
      return DataType::kUInt8;
#if GDAL_VERSION_NUM >= 3070000
    case GDT_Int8:
      return DataType::kInt8;
#endif
    case GDT_UInt16:
      return DataType::kUInt16;
    case GDT_Int16:
      return DataType::kInt16;
    case GDT_UInt32:
      return DataType::kUInt32;
    case GDT_Int32:
      return DataType::kInt32;
    case GDT_Float32:
      return DataType::kFloat32;
    case GDT_Float64:
      return DataType::kFloat64;
    default:
      throw Error(ErrorCode::kUnsupported, fmt::format("raster '{}' has data type {}, which tessera does not read",
                                                       href, GDALGetDataTypeName(type)));
  }
}

struct WarpOptionsDeleter {
  void operator()(GDALWarpOptions* options) const noexcept { GDALDestroyWarpOptions(options); }
};

// The raster's resolution and grid in `crs`, as rasterio's
// calculate_default_transform gives it (GDALSuggestedWarpOutput2).
GeoTransform native_transform(const SourceInfo& source, const OGRSpatialReference& crs) {
  Bbox bounds = source.bounds;
  int width = source.width;
  int height = source.height;
  GeoTransform transform = source.transform;
  // rio-tiler crops geographic rasters to WebMercator's latitudes first,
  // otherwise the suggested resolution is wildly off.
  OGRSpatialReference web_mercator;
  web_mercator.importFromEPSG(3857);
  const OGRSpatialReference geographic = wgs84_srs();
  if (source.srs.IsSame(&geographic) && crs.IsSame(&web_mercator) && (bounds.miny < -85.06 || bounds.maxy > 85.06)) {
    bounds.miny = std::max(bounds.miny, -85.06);
    bounds.maxy = std::min(bounds.maxy, 85.06);
    width = round_half_even((bounds.maxx - bounds.minx) / transform[1]);
    height = round_half_even((bounds.miny - bounds.maxy) / transform[5]);
    transform = transform_from_bounds(bounds, width, height);
  }
  // A pixel-less stand-in with the raster's grid (a VRT allocates nothing):
  // GDALSuggestedWarpOutput2 only needs its size and georeferencing.
  GDALDriver* vrt = GetGDALDriverManager()->GetDriverByName("VRT");
  GDALDatasetUniquePtr outline(vrt->Create("", width, height, 1, GDT_Byte, nullptr));
  outline->SetGeoTransform(transform.data());
  outline->SetSpatialRef(&source.srs);
  const std::string wkt = srs_to_wkt(crs);
  CPLStringList options;
  options.SetNameValue("DST_SRS", wkt.c_str());
  void* transformer = GDALCreateGenImgProjTransformer2(outline.get(), nullptr, options.List());
  if (transformer == nullptr) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "cannot reproject the raster to the requested CRS");
  }
  GeoTransform suggested{};
  int suggested_width = 0;
  int suggested_height = 0;
  std::array<double, 4> extent{};  // written unconditionally by GDAL
  const CPLErr result = GDALSuggestedWarpOutput2(outline.get(), GDALGenImgProjTransform, transformer, suggested.data(),
                                                 &suggested_width, &suggested_height, extent.data(), 0);
  GDALDestroyGenImgProjTransformer(transformer);
  if (result != CE_None) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "cannot reproject the raster's extent to the requested CRS");
  }
  return suggested;
}

// GDAL's approximate transformer under another name. GDALWarpOperation
// builds a coordinate operation on every set-up to find the poles in the
// output when the transformer is GDAL's own (a search for them needs a grid
// of samples); tiles that cannot contain a pole skip that through this.
int approximate_transform(void* transformer, int dst_to_src, int count, double* x, double* y, double* z, int* ok) {
  return GDALApproxTransform(transformer, dst_to_src, count, x, y, z, ok);
}

// Whether a pole lies inside `grid` (in the CRS `projection` is for).
bool pole_in_grid(CrsProjection& projection, const ReadGrid& grid) {
  if (!projection.poles) {
    projection.poles.emplace();
    const OGRSpatialReference geographic = wgs84_srs();
    const std::unique_ptr<OGRCoordinateTransformation> to_crs(
        OGRCreateCoordinateTransformation(&geographic, &grid.crs));
    // GDAL's own probe points: not exactly +/-90, which fails to round-trip in some projections.
    for (const double latitude : {-89.9999, 89.9999}) {
      double x = 0;
      double y = latitude;
      if (to_crs && to_crs->Transform(1, &x, &y) && std::isfinite(x) && std::isfinite(y)) {
        projection.poles->emplace_back(x, y);
      }
    }
  }
  return std::any_of(projection.poles->begin(), projection.poles->end(), [&](const auto& pole) {
    return pole.first >= grid.bounds.minx && pole.first <= grid.bounds.maxx && pole.second >= grid.bounds.miny &&
           pole.second <= grid.bounds.maxy;
  });
}

// Whether `crs` (the CRS `projection` is for) is the raster's own; IsSame is
// slow enough to be worth remembering.
bool is_raster_crs(CrsProjection& projection, const OGRSpatialReference& crs, const SourceInfo& source) {
  if (!projection.same_crs) {
    projection.same_crs = crs.IsSame(&source.srs);
  }
  return *projection.same_crs;
}

// rio-tiler's get_vrt_transform: the grid over `bounds` at the raster's own
// resolution, or at the output's when that is finer (over-zoom).
std::pair<int, int> vrt_size(const GeoTransform& native, const Bbox& bounds, int width, int height) {
  double x_resolution = native[1];
  double y_resolution = native[5];
  if (width > 0 && height > 0) {
    const GeoTransform output = transform_from_bounds(bounds, width, height);
    if (std::abs(native[1]) > std::abs(output[1])) {
      x_resolution = output[1];
    }
    if (std::abs(native[5]) > std::abs(output[5])) {
      y_resolution = output[5];
    }
  }
  return {std::max(1, round_half_even((bounds.maxx - bounds.minx) / x_resolution)),
          std::max(1, round_half_even((bounds.miny - bounds.maxy) / y_resolution))};
}

Bbox apply_buffer(const Bbox& bounds, int& width, int& height, double buffer) {
  const double x_resolution = (bounds.maxx - bounds.minx) / width;
  const double y_resolution = (bounds.maxy - bounds.miny) / height;
  width = buffered_size(width, buffer);
  height = buffered_size(height, buffer);
  return {bounds.minx - x_resolution * buffer, bounds.miny - y_resolution * buffer, bounds.maxx + x_resolution * buffer,
          bounds.maxy + y_resolution * buffer};
}

// Pixels whose every band is nodata (or NaN) are invalid; so are pixels the
// dataset's mask or alpha band marks as empty.
template <typename T>
void mask_values(const ImageData& image, std::optional<double> nodata, std::uint8_t* mask) {
  const std::size_t pixels = image.pixel_count();
  const bool floating = std::is_floating_point_v<T>;
  if (!nodata && !floating) {
    return;
  }
  const bool nodata_is_nan = nodata && std::isnan(*nodata);
  for (std::size_t p = 0; p < pixels; ++p) {
    if (mask[p] == 0) {
      continue;
    }
    bool any_valid = false;
    for (int b = 0; b < image.band_count() && !any_valid; ++b) {
      const T value = image.band<T>(b)[p];
      bool valid = true;
      if constexpr (std::is_floating_point_v<T>) {
        valid = !std::isnan(value) && !(nodata && !nodata_is_nan && value == static_cast<T>(*nodata));
      } else {
        valid = static_cast<double>(value) != *nodata;
      }
      any_valid = valid;
    }
    mask[p] = any_valid ? 255 : 0;
  }
}

void apply_value_mask(ImageData& image, std::optional<double> nodata) {
  with_pixel_type(image.data_type(),
                  [&](auto tag) { mask_values<typename decltype(tag)::type>(image, nodata, image.mask()); });
}

void band_as_double(const ImageData& image, int band, double* out) {
  with_pixel_type(image.data_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* values = image.band<T>(band);
    std::transform(values, values + image.pixel_count(), out, [](T value) { return static_cast<double>(value); });
  });
}

void check_io(CPLErr result, std::string_view what) {
  if (result != CE_None) {
    gdal::throw_last_error(ErrorCode::kIo, what);
  }
}

// The overview GDAL reads for a request `factor` times coarser than the
// raster (-1: full resolution), by GDAL's rule: the coarsest level not
// coarser than the request, with 20% slack for nearest resampling.
int best_overview_level(GDALRasterBand& band, double factor, Resampling resampling) {
  const double threshold = resampling == Resampling::kNearest ? 1.2 : 1.01;
  int best = -1;
  double best_resolution = 0;
  for (int level = 0; level < band.GetOverviewCount(); ++level) {
    GDALRasterBand* overview = band.GetOverview(level);
    if (overview == nullptr) {
      continue;
    }
    const double resolution = std::min(static_cast<double>(band.GetXSize()) / overview->GetXSize(),
                                       static_cast<double>(band.GetYSize()) / overview->GetYSize());
    if (resolution >= factor * threshold || resolution <= best_resolution) {
      continue;
    }
    best = level;
    best_resolution = resolution;
    if (std::abs(factor - resolution) < 0.1) {
      break;
    }
  }
  return best;
}

// Warps the raster (or the overview level a downsampled read would use)
// straight onto the output grid, as GDAL 3.8+ does when rasterio reads a
// WarpedVRT at a lower resolution: nodata in and out, or an alpha band added
// for the validity.
void read_warped(OpenRaster& raster, const ReadGrid& grid, const std::vector<int>& bands, std::optional<double> nodata,
                 const ReadOptions& options, ImageData& image) {
  const SourceInfo& source = raster.info;
  const double factor =
      std::min(static_cast<double>(grid.vrt_width) / grid.width, static_cast<double>(grid.vrt_height) / grid.height);
  const int level =
      factor > 1 ? best_overview_level(*raster.dataset->GetRasterBand(bands.front()), factor, options.resampling) : -1;
  std::optional<DatasetLease> overview;
  if (level >= 0) {
    overview.emplace(acquire_dataset(raster.dataset.path(), raster.href, level));
  }
  DatasetLease& lease = overview ? *overview : raster.dataset;
  GDALDataset* input = &*lease;
  CrsProjection& projection = lease.projection(grid.crs_wkt);
  if (projection.pixel_transformer == nullptr) {
    CPLStringList transformer_options;
    transformer_options.SetNameValue("DST_SRS", grid.crs_wkt.c_str());
    projection.pixel_transformer = GDALCreateGenImgProjTransformer2(input, nullptr, transformer_options.List());
    if (projection.pixel_transformer == nullptr) {
      gdal::throw_last_error(ErrorCode::kInvalidInput, "cannot reproject the raster to the requested CRS");
    }
  }
  // The lease is this thread's alone, so the cached transformer can be aimed
  // at this read's grid.
  const GeoTransform output_transform = transform_from_bounds(grid.bounds, grid.width, grid.height);
  GDALSetGenImgProjTransformerDstGeoTransform(projection.pixel_transformer, output_transform.data());
  // GDAL's default error threshold for warped VRTs (an eighth of a pixel).
  // The VRT destroys this wrapper; the cached transformer stays.
  void* approximate = GDALCreateApproxTransformer(GDALGenImgProjTransform, projection.pixel_transformer, 0.125);

  std::unique_ptr<GDALWarpOptions, WarpOptionsDeleter> warp(GDALCreateWarpOptions());
  warp->hSrcDS = input;
  warp->eResampleAlg = warp_resampling(options.reproject);
  warp->nBandCount = static_cast<int>(bands.size());
  warp->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * bands.size()));
  warp->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * bands.size()));
  for (std::size_t n = 0; n < bands.size(); ++n) {
    warp->panSrcBands[n] = bands[n];
    warp->panDstBands[n] = static_cast<int>(n) + 1;
  }
  const int alpha_band = nodata ? 0 : static_cast<int>(bands.size()) + 1;
  if (nodata) {
    warp->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * bands.size()));
    warp->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * bands.size()));
    std::fill_n(warp->padfSrcNoDataReal, bands.size(), *nodata);
    std::fill_n(warp->padfDstNoDataReal, bands.size(), *nodata);
    warp->papszWarpOptions = CSLSetNameValue(warp->papszWarpOptions, "INIT_DEST", "NO_DATA");
  } else {
    warp->nSrcAlphaBand = source.alpha_band;
    warp->nDstAlphaBand = alpha_band;
    warp->papszWarpOptions = CSLSetNameValue(warp->papszWarpOptions, "INIT_DEST", "0");
  }
  warp->pfnTransformer = pole_in_grid(projection, grid) ? GDALApproxTransform : approximate_transform;
  warp->pTransformerArg = approximate;  // the VRT owns it from here on
  GeoTransform vrt_geotransform = output_transform;
  GDALDatasetUniquePtr vrt(GDALDataset::FromHandle(
      GDALCreateWarpedVRT(input, grid.width, grid.height, vrt_geotransform.data(), warp.get())));
  if (!vrt) {
    GDALDestroyTransformer(approximate);
    gdal::throw_last_error(ErrorCode::kIo, "cannot set up the reprojection");
  }
  std::vector<int> vrt_bands(bands.size());
  for (std::size_t n = 0; n < bands.size(); ++n) {
    vrt_bands[n] = static_cast<int>(n) + 1;
  }
  const auto value_size = static_cast<GSpacing>(data_type_size(image.data_type()));
  check_io(vrt->RasterIO(GF_Read, 0, 0, grid.width, grid.height, image.band_data(0), grid.width, grid.height,
                         gdal_type(image.data_type()), static_cast<int>(bands.size()), vrt_bands.data(), value_size,
                         value_size * grid.width, value_size * static_cast<GSpacing>(image.pixel_count()), nullptr),
           "reading the raster failed");
  if (alpha_band > 0) {
    check_io(vrt->GetRasterBand(alpha_band)
                 ->RasterIO(GF_Read, 0, 0, grid.width, grid.height, image.mask(), grid.width, grid.height, GDT_Byte, 0,
                            0, nullptr),
             "reading the raster's mask failed");
  } else {
    std::fill_n(image.mask(), image.pixel_count(), 255);
  }
}

// Reads a window of the raster in its own CRS (no warp), as rasterio's
// windowed read does: GDAL picks the overview and decimates.
void read_window(GDALDataset& dataset, const SourceInfo& source, const ReadGrid& grid, const std::vector<int>& bands,
                 std::optional<double> nodata, const ReadOptions& options, ImageData& image) {
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = rasterio_resampling(options.resampling);
  extra.bFloatingPointWindowValidity = TRUE;
  extra.dfXOff = grid.window[0];
  extra.dfYOff = grid.window[1];
  extra.dfXSize = grid.window[2];
  extra.dfYSize = grid.window[3];
  const int x_offset = static_cast<int>(std::floor(grid.window[0]));
  const int y_offset = static_cast<int>(std::floor(grid.window[1]));
  const int x_size =
      std::clamp(static_cast<int>(std::ceil(grid.window[0] + grid.window[2])) - x_offset, 1, source.width - x_offset);
  const int y_size =
      std::clamp(static_cast<int>(std::ceil(grid.window[1] + grid.window[3])) - y_offset, 1, source.height - y_offset);
  const auto value_size = static_cast<GSpacing>(data_type_size(image.data_type()));
  std::vector<int> band_map(bands);
  check_io(
      dataset.RasterIO(GF_Read, x_offset, y_offset, x_size, y_size, image.band_data(0), grid.width, grid.height,
                       gdal_type(image.data_type()), static_cast<int>(band_map.size()), band_map.data(), value_size,
                       value_size * grid.width, value_size * static_cast<GSpacing>(image.pixel_count()), &extra),
      "reading the raster failed");
  GDALRasterBand* validity = nullptr;
  if (nodata) {
    // validity comes from the values alone
  } else if (source.alpha_band > 0) {
    validity = dataset.GetRasterBand(source.alpha_band);
  } else if (dataset.GetRasterBand(bands.front())->GetMaskFlags() != GMF_ALL_VALID) {
    validity = dataset.GetRasterBand(bands.front())->GetMaskBand();
  }
  if (validity != nullptr) {
    check_io(validity->RasterIO(GF_Read, x_offset, y_offset, x_size, y_size, image.mask(), grid.width, grid.height,
                                GDT_Byte, 0, 0, &extra),
             "reading the raster's mask failed");
  } else {
    std::fill_n(image.mask(), image.pixel_count(), 255);
  }
}

}  // namespace

std::vector<std::uint8_t> rasterize(const OGRGeometry& shape, const Bbox& bounds, int width, int height,
                                    bool all_touched) {
  GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr grid(memory->Create("", width, height, 1, GDT_Byte, nullptr));
  GeoTransform transform = transform_from_bounds(bounds, width, height);
  grid->SetGeoTransform(transform.data());
  int band = 1;
  double burn = 1;
  OGRGeometryH handle = OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&shape));
  CPLStringList options;
  if (all_touched) {
    options.SetNameValue("ALL_TOUCHED", "TRUE");
  }
  if (GDALRasterizeGeometries(grid.get(), 1, &band, 1, &handle, nullptr, nullptr, &burn, options.List(), nullptr,
                              nullptr) != CE_None) {
    gdal::throw_last_error(ErrorCode::kInternal, "rasterizing a geometry failed");
  }
  std::vector<std::uint8_t> covered(static_cast<std::size_t>(width) * static_cast<std::size_t>(height));
  check_io(grid->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, width, height, covered.data(), width, height, GDT_Byte, 0, 0,
                                            nullptr),
           "reading a rasterized geometry failed");
  return covered;
}

OGRSpatialReference wgs84_srs() {
  OGRSpatialReference srs;
  srs.importFromEPSG(4326);
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

OGRSpatialReference srs_from_user_input(std::string_view definition, std::string_view what) {
  OGRSpatialReference srs;
  if (srs.SetFromUserInput(std::string(definition).c_str(),
                           OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS_get()) != OGRERR_NONE) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{} '{}' is not a CRS tessera knows", what, definition));
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::string srs_to_wkt(const OGRSpatialReference& srs) {
  char* text = nullptr;
  const char* options[] = {"FORMAT=WKT2_2019", nullptr};
  srs.exportToWkt(&text, options);
  std::string wkt = text != nullptr ? text : "";
  CPLFree(text);
  return wkt;
}

SourceInfo describe(GDALDataset& dataset, std::string_view href) {
  SourceInfo info;
  info.width = dataset.GetRasterXSize();
  info.height = dataset.GetRasterYSize();
  info.band_count = dataset.GetRasterCount();
  if (info.band_count == 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("raster '{}' has no bands", href));
  }
  const OGRSpatialReference* srs = dataset.GetSpatialRef();
  if (dataset.GetGeoTransform(info.transform.data()) != CE_None || srs == nullptr) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("raster '{}' has no georeferencing (geotransform and CRS)", href));
  }
  if (info.transform[2] != 0 || info.transform[4] != 0) {
    throw Error(ErrorCode::kUnsupported, fmt::format("raster '{}' is rotated; tessera reads north-up rasters", href));
  }
  info.srs = *srs;
  info.srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  GDALRasterBand* first = dataset.GetRasterBand(1);
  info.type = first->GetRasterDataType();
  tessera_type(info.type, href);
  int has_nodata = 0;
  const double nodata = first->GetNoDataValue(&has_nodata);
  if (has_nodata != 0) {
    info.nodata = nodata;
  }
  for (int band = 1; band <= info.band_count; ++band) {
    if (dataset.GetRasterBand(band)->GetColorInterpretation() == GCI_AlphaBand) {
      info.alpha_band = band;
      break;
    }
  }
  const double x0 = info.transform[0];
  const double x1 = x0 + info.width * info.transform[1];
  const double y0 = info.transform[3];
  const double y1 = y0 + info.height * info.transform[5];
  info.bounds = {std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)};
  return info;
}

OpenRaster open_raster(std::string_view href) {
  const std::string path = resolve_href(href);
  DatasetLease dataset = acquire_dataset(path, href);
  SourceInfo info = describe(*dataset, href);
  return {std::string(href), std::move(dataset), std::move(info)};
}

double value_at(const ImageData& image, int band, std::size_t pixel) {
  return with_pixel_type(image.data_type(), [&](auto tag) {
    return static_cast<double>(image.band<typename decltype(tag)::type>(band)[pixel]);
  });
}

void check_image_size(int width, int height) {
  const int largest = current_config()->max_image_size;
  if (width < 1 || height < 1 || width > largest || height > largest) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("image size {}x{} is out of range (1 to {} pixels a side; ReaderConfig::max_image_size)",
                            width, height, largest));
  }
}

void check_buffer(double buffer) {
  if (!std::isfinite(buffer) || buffer < 0 || std::fmod(buffer, 0.5) != 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("buffer {} must be a non-negative multiple of 0.5", buffer));
  }
}

int buffered_size(int size, double buffer) {
  check_buffer(buffer);
  // Compared as doubles first: a huge buffer must never reach an int conversion.
  const double buffered = static_cast<double>(size) + 2 * buffer;
  const int largest = current_config()->max_image_size;
  if (buffered > largest) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("image size {} plus a buffer of {} on each side exceeds {} pixels a side "
                            "(ReaderConfig::max_image_size)",
                            size, buffer, largest));
  }
  return static_cast<int>(buffered);
}

void check_request_values(double values, std::string_view what) {
  const std::size_t budget = current_config()->max_request_values;
  if (values > static_cast<double>(budget)) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{} needs {:.0f} values, more than the request budget of {} "
                                                      "(ReaderConfig::max_request_values)",
                                                      what, values, budget));
  }
}

std::vector<int> bands_to_read(const SourceInfo& source, const ReadOptions& options,
                               const std::optional<Expression>& expression) {
  std::vector<int> bands;
  if (expression) {
    if (!options.indexes.empty()) {
      throw Error(ErrorCode::kInvalidInput, "give either band indexes or an expression, not both");
    }
    bands = band_indexes(*expression);
    if (bands.empty()) {
      throw Error(
          ErrorCode::kInvalidInput,
          fmt::format("expression '{}' names no band (use b1, b2, ... for the raster's bands)", options.expression));
    }
  } else if (!options.indexes.empty()) {
    bands = options.indexes;
  } else {
    for (int band = 1; band <= source.band_count; ++band) {
      if (band != source.alpha_band) {
        bands.push_back(band);
      }
    }
  }
  for (const int band : bands) {
    if (band < 1 || band > source.band_count) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("band {} does not exist (the raster has bands 1 to {})", band, source.band_count));
    }
  }
  return bands;
}

ReadGrid plan_part(OpenRaster& raster, const OGRSpatialReference& crs, const Bbox& bounds, int width, int height,
                   int max_size, double buffer) {
  const SourceInfo& source = raster.info;
  check_buffer(buffer);
  if (!(bounds.maxx > bounds.minx) || !(bounds.maxy > bounds.miny)) {
    throw Error(ErrorCode::kInvalidInput, "the requested bounds are empty (maxx <= minx or maxy <= miny)");
  }
  ReadGrid grid;
  grid.crs = crs;
  grid.crs_wkt = srs_to_wkt(crs);
  CrsProjection& projection = raster.dataset.projection(grid.crs_wkt);
  if (!is_raster_crs(projection, crs, source)) {
    if (!projection.native_transform) {
      projection.native_transform = native_transform(source, crs);
    }
    const GeoTransform& native = *projection.native_transform;
    grid.bounds = bounds;
    std::tie(grid.vrt_width, grid.vrt_height) = vrt_size(native, bounds, width, height);
    if (width == 0 && height == 0 && max_size > 0) {
      std::tie(height, width) = size_for_max(max_size, grid.vrt_height, grid.vrt_width);
    } else if (width == 0 || height == 0) {
      const double ratio = static_cast<double>(grid.vrt_height) / grid.vrt_width;
      if (width > 0) {
        height = static_cast<int>(std::ceil(width * ratio));
      } else if (height > 0) {
        width = static_cast<int>(std::ceil(height / ratio));
      } else {
        width = grid.vrt_width;
        height = grid.vrt_height;
      }
    }
    if (buffer > 0) {
      grid.bounds = apply_buffer(grid.bounds, width, height, buffer);
      std::tie(grid.vrt_width, grid.vrt_height) = vrt_size(native, grid.bounds, width, height);
    }
    grid.warp = true;
    grid.width = width;
    grid.height = height;
    check_image_size(width, height);
    return grid;
  }
  const GeoTransform& gt = source.transform;
  auto window_of = [&](const Bbox& box) -> std::array<double, 4> {
    const double col = (box.minx - gt[0]) / gt[1];
    const double row = (box.maxy - gt[3]) / gt[5];
    return {col, row, (box.maxx - gt[0]) / gt[1] - col, (box.miny - gt[3]) / gt[5] - row};
  };
  grid.bounds = bounds;
  grid.window = window_of(bounds);
  if (width == 0 && height == 0 && max_size > 0) {
    std::tie(height, width) = size_for_max(max_size, round_half_even(grid.window[3]), round_half_even(grid.window[2]));
  } else if (width == 0 || height == 0) {
    const double ratio = grid.window[3] / grid.window[2];
    if (width > 0) {
      height = static_cast<int>(std::ceil(width * ratio));
    } else if (height > 0) {
      width = static_cast<int>(std::ceil(height / ratio));
    } else {
      width = std::max(1, round_half_even(grid.window[2]));
      height = std::max(1, round_half_even(grid.window[3]));
    }
  }
  if (buffer > 0) {
    grid.bounds = apply_buffer(grid.bounds, width, height, buffer);
    grid.window = window_of(grid.bounds);
  }
  grid.width = width;
  grid.height = height;
  check_image_size(width, height);
  // Windows are warped onto the output grid too (same CRS): that samples the
  // pixel under each output pixel's centre exactly, where GDAL's decimating
  // RasterIO rounds differently across versions and needs a boundless VRT
  // beyond the edges.
  grid.warp = true;
  grid.vrt_width = std::max(1, round_half_even(grid.window[2]));
  grid.vrt_height = std::max(1, round_half_even(grid.window[3]));
  return grid;
}

std::optional<Bbox> bounds_in_raster_crs(OpenRaster& raster, const ReadGrid& grid, const Bbox& box) {
  CrsProjection& projection = raster.dataset.projection(grid.crs_wkt);
  if (is_raster_crs(projection, grid.crs, raster.info)) {
    return box;
  }
  if (!projection.to_dataset_crs) {
    projection.to_dataset_crs.reset(OGRCreateCoordinateTransformation(&grid.crs, &raster.info.srs));
    if (!projection.to_dataset_crs) {
      return std::nullopt;
    }
  }
  Bbox out;
  if (!projection.to_dataset_crs->TransformBounds(box.minx, box.miny, box.maxx, box.maxy, &out.minx, &out.miny,
                                                  &out.maxx, &out.maxy, 21)) {
    return std::nullopt;
  }
  return out;
}

ImageData read_grid(OpenRaster& raster, const ReadGrid& grid, const ReadOptions& options) {
  GDALDataset& dataset = *raster.dataset;
  const SourceInfo& source = raster.info;
  // Parsed once: it names the bands to read, sizes the budget and is evaluated.
  std::optional<Expression> expression;
  if (!options.expression.empty()) {
    expression = Expression::parse(options.expression, expression_limits());
  }
  const std::vector<int> bands = bands_to_read(source, options, expression);
  {
    // Everything the read holds at once: the bands, their unscaled copies,
    // the expression's inputs (one per band read) and outputs.
    double planes = static_cast<double>(bands.size()) * (options.unscale ? 2 : 1);
    if (expression) {
      planes += static_cast<double>(bands.size() + expression->output_count());
    }
    check_request_values(planes * grid.width * grid.height,
                         fmt::format("a {}x{} read of {} bands", grid.width, grid.height, bands.size()));
  }
  const std::optional<double> nodata = options.nodata ? options.nodata : source.nodata;
  const DataType type = tessera_type(source.type, "raster");
  ImageData image(type, static_cast<int>(bands.size()), grid.height, grid.width);
  if (grid.warp) {
    read_warped(raster, grid, bands, nodata, options, image);
  } else {
    read_window(dataset, source, grid, bands, nodata, options, image);
  }
  // An alpha band (the raster's own, or the one the warp adds for its mask)
  // can be partly transparent; only fully opaque pixels are valid, as in
  // rio-tiler 8+ (its reader masks `alpha != opaque`; 7.x kept any non-zero).
  std::uint8_t* mask = image.mask();
  std::transform(mask, mask + image.pixel_count(), mask, [](std::uint8_t v) { return v == 255 ? 255 : 0; });
  apply_value_mask(image, nodata);

  std::vector<std::string> names;
  for (const int band : bands) {
    names.push_back(fmt::format("b{}", band));
  }
  ImageData result = std::move(image);
  if (options.unscale) {
    ImageData scaled(DataType::kFloat32, result.band_count(), result.height(), result.width());
    std::vector<double> values(result.pixel_count());
    for (int b = 0; b < result.band_count(); ++b) {
      GDALRasterBand* band = dataset.GetRasterBand(bands[b]);
      const double scale = band->GetScale();
      const double offset = band->GetOffset();
      band_as_double(result, b, values.data());
      float* out = scaled.band<float>(b);
      for (std::size_t p = 0; p < values.size(); ++p) {
        out[p] =
            static_cast<float>(static_cast<float>(values[p]) * static_cast<float>(scale) + static_cast<float>(offset));
      }
    }
    std::copy_n(result.mask(), result.pixel_count(), scaled.mask());
    result = std::move(scaled);
  }
  if (expression) {
    // The bands read are the expression's variables, in its order.
    std::vector<std::vector<double>> inputs;
    std::vector<const double*> input_pointers;
    for (int band = 0; band < result.band_count(); ++band) {
      inputs.emplace_back(result.pixel_count());
      band_as_double(result, band, inputs.back().data());
      input_pointers.push_back(inputs.back().data());
    }
    ImageData evaluated(DataType::kFloat64, static_cast<int>(expression->output_count()), result.height(),
                        result.width());
    std::vector<double*> outputs;
    for (int o = 0; o < evaluated.band_count(); ++o) {
      outputs.push_back(evaluated.band<double>(o));
    }
    expression->evaluate(input_pointers, result.pixel_count(), outputs);
    std::copy_n(result.mask(), result.pixel_count(), evaluated.mask());
    names = expression->output_texts();
    result = std::move(evaluated);
  }
  result.bounds = grid.bounds;
  result.crs_wkt = grid.crs_wkt;
  result.band_names = std::move(names);
  if (GDALColorTable* table = dataset.GetRasterBand(bands.front())->GetColorTable();
      table != nullptr && options.expression.empty()) {
    for (int n = 0; n < table->GetColorEntryCount(); ++n) {
      const GDALColorEntry* entry = table->GetColorEntry(n);
      result.palette.push_back({static_cast<std::uint8_t>(entry->c1), static_cast<std::uint8_t>(entry->c2),
                                static_cast<std::uint8_t>(entry->c3), static_cast<std::uint8_t>(entry->c4)});
    }
  }
  return result;
}

}  // namespace tessera::tiling
