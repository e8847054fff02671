// Exact raster clip: a window of the source grid read once, a mask of the
// boundary rasterized onto it (as gdalwarp's cutline is), pixels outside set
// to nodata, the result written as a COG. No warp, no resampling.

#include <cmath>
#include <cstring>
#include <vector>

#include <cpl_conv.h>
#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>

#include "core/gdal_env.hpp"
#include "packaging/boundary_mask.hpp"
#include "packaging/boundary_projection.hpp"
#include "packaging/mem_raster.hpp"
#include "storage/gdal_source.hpp"
#include "tessera/packaging.hpp"

namespace tessera {

namespace {

constexpr const char* kCogMediaType = "image/tiff; application=geotiff; profile=cloud-optimized";

struct PixelWindow {
  int col = 0;
  int row = 0;
  int width = 0;
  int height = 0;
};

// The source pixels the boundary's envelope covers (partly or wholly), within the raster.
PixelWindow window_of(const Bbox& envelope, const double* transform, int raster_width, int raster_height) {
  // A hair of tolerance so an envelope edge on a pixel edge does not add a column.
  constexpr double kTolerance = 1e-6;
  const double col_a = (envelope.minx - transform[0]) / transform[1];
  const double col_b = (envelope.maxx - transform[0]) / transform[1];
  const double row_a = (envelope.maxy - transform[3]) / transform[5];
  const double row_b = (envelope.miny - transform[3]) / transform[5];
  const double col_min = std::max(0.0, std::floor(std::min(col_a, col_b) + kTolerance));
  const double col_max = std::min<double>(raster_width, std::ceil(std::max(col_a, col_b) - kTolerance));
  const double row_min = std::max(0.0, std::floor(std::min(row_a, row_b) + kTolerance));
  const double row_max = std::min<double>(raster_height, std::ceil(std::max(row_a, row_b) - kTolerance));
  if (col_max <= col_min || row_max <= row_min) {
    return {};
  }
  return {static_cast<int>(col_min), static_cast<int>(row_min), static_cast<int>(col_max - col_min),
          static_cast<int>(row_max - row_min)};
}

// Sets every pixel whose mask byte is 0 to `fill` (one value of `size` bytes).
template <std::size_t kSize>
void fill_outside(unsigned char* pixels, const std::vector<unsigned char>& mask, const unsigned char* fill) {
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 0) {
      std::memcpy(pixels + i * kSize, fill, kSize);
    }
  }
}

void fill_outside(unsigned char* pixels, std::size_t size, const std::vector<unsigned char>& mask,
                  const unsigned char* fill) {
  switch (size) {
    case 1:
      return fill_outside<1>(pixels, mask, fill);
    case 2:
      return fill_outside<2>(pixels, mask, fill);
    case 4:
      return fill_outside<4>(pixels, mask, fill);
    case 8:
      return fill_outside<8>(pixels, mask, fill);
    case 16:
      return fill_outside<16>(pixels, mask, fill);
    default:
      throw Error(ErrorCode::kUnsupported, fmt::format("pixels of {} bytes are not supported", size));
  }
}

void copy_band_description(GDALRasterBand& from, GDALRasterBand& to) {
  to.SetDescription(from.GetDescription());
  to.SetColorInterpretation(from.GetColorInterpretation());
  if (from.GetColorTable() != nullptr) {
    to.SetColorTable(from.GetColorTable());
  }
  int has = FALSE;
  const double scale = from.GetScale(&has);
  if (has != FALSE) {
    to.SetScale(scale);
  }
  const double offset = from.GetOffset(&has);
  if (has != FALSE) {
    to.SetOffset(offset);
  }
  if (from.GetUnitType() != nullptr && *from.GetUnitType() != '\0') {
    to.SetUnitType(from.GetUnitType());
  }
  to.SetMetadata(from.GetMetadata());
}

void write_cog(GDALDataset& clipped, const std::string& path, const std::string& source) {
  GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
  const char* options[] = {"COMPRESS=DEFLATE", "BLOCKSIZE=512", "OVERVIEWS=AUTO", "NUM_THREADS=ALL_CPUS", nullptr};
  gdal::ErrorCapture errors;
  GDALDatasetUniquePtr written(
      cog->CreateCopy(path.c_str(), &clipped, FALSE, const_cast<char**>(options), nullptr, nullptr));
  bool failed = !written;
  if (written) {
    CPLErrorReset();
    written.reset();  // flushes the file: write errors surface here
    failed = CPLGetLastErrorType() == CE_Failure;
  }
  if (failed) {
    throw Error(ErrorCode::kIo, fmt::format("writing the clip of '{}' as a COG failed: {}", source, errors.messages()));
  }
}

}  // namespace

ClipResult clip_raster(const std::string& source, const Geometry& boundary, const std::string& destination,
                       const ClipOptions& options) {
  gdal::ensure_initialized();
  if (boundary.ogr() == nullptr || boundary.is_empty()) {
    throw Error(ErrorCode::kInvalidInput, "clip_raster: the boundary geometry is empty");
  }
  const storage::GdalSource input = storage::resolve_gdal_source(source, options.storage_options);
  // GeoTIFF sources decode the window's blocks on every core (GDAL reads the
  // setting when the dataset opens; thread-local, so other threads keep theirs).
  const std::string previous_threads = CPLGetThreadLocalConfigOption("GDAL_NUM_THREADS", "");
  CPLSetThreadLocalConfigOption("GDAL_NUM_THREADS", "ALL_CPUS");
  GDALDatasetUniquePtr dataset;
  try {
    dataset = storage::open_href_dataset(input, source, GDAL_OF_RASTER);
  } catch (...) {
    CPLSetThreadLocalConfigOption("GDAL_NUM_THREADS", previous_threads.empty() ? nullptr : previous_threads.c_str());
    throw;
  }
  CPLSetThreadLocalConfigOption("GDAL_NUM_THREADS", previous_threads.empty() ? nullptr : previous_threads.c_str());
  double transform[6];
  if (dataset->GetGeoTransform(transform) != CE_None || dataset->GetSpatialRef() == nullptr) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' has no georeferencing (geotransform and CRS)", source));
  }
  if (transform[2] != 0.0 || transform[4] != 0.0) {
    throw Error(ErrorCode::kUnsupported, fmt::format("'{}' has a rotated geotransform, which is not clipped", source));
  }
  const int bands = dataset->GetRasterCount();
  if (bands == 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' has no bands", source));
  }
  const Crs crs = packaging::crs_of(dataset->GetSpatialRef());
  const double x_end = transform[0] + transform[1] * dataset->GetRasterXSize();
  const double y_end = transform[3] + transform[5] * dataset->GetRasterYSize();
  const Bbox extent{std::min(transform[0], x_end), std::min(transform[3], y_end), std::max(transform[0], x_end),
                    std::max(transform[3], y_end)};
  // Densified to a pixel, as gdalwarp densifies its cutline.
  const double pixel = std::min(std::abs(transform[1]), std::abs(transform[5]));
  const Geometry local = packaging::boundary_in_crs(boundary, crs, extent, packaging::degrees_of(crs, pixel));
  if (local.is_empty() || !local.bbox().intersects(extent)) {
    throw packaging::no_data_error(source);
  }
  const PixelWindow window = window_of(local.bbox(), transform, dataset->GetRasterXSize(), dataset->GetRasterYSize());
  if (window.width == 0) {
    throw packaging::no_data_error(source);
  }
  const double window_transform[6] = {transform[0] + window.col * transform[1], transform[1], 0.0,
                                      transform[3] + window.row * transform[5], 0.0,          transform[5]};
  const std::size_t pixel_count = static_cast<std::size_t>(window.width) * static_cast<std::size_t>(window.height);

  std::vector<unsigned char> mask =
      packaging::boundary_mask(local, window_transform, window.width, window.height, options.all_touched);
  if (std::find(mask.begin(), mask.end(), 255) == mask.end()) {
    throw packaging::no_data_error(source);
  }

  // The window of every band, read at once, then masked in place.
  const GDALDataType type = dataset->GetRasterBand(1)->GetRasterDataType();
  const auto type_size = static_cast<std::size_t>(GDALGetDataTypeSizeBytes(type));
  std::vector<unsigned char> pixels(pixel_count * type_size * static_cast<std::size_t>(bands));
  {
    gdal::ErrorCapture errors;
    if (dataset->RasterIO(GF_Read, window.col, window.row, window.width, window.height, pixels.data(), window.width,
                          window.height, type, bands, nullptr, 0, 0, 0, nullptr) != CE_None) {
      // Blocks decoded on GDAL's worker threads report their errors to the log, not to this capture.
      throw Error(ErrorCode::kIo,
                  fmt::format("reading '{}' failed: {}", source,
                              errors.messages().empty() ? "see the log for GDAL's reason" : errors.messages()));
    }
  }
  GDALDatasetUniquePtr clipped = packaging::create_mem(window.width, window.height);
  clipped->SetGeoTransform(const_cast<double*>(window_transform));
  clipped->SetSpatialRef(dataset->GetSpatialRef());
  clipped->SetMetadata(dataset->GetMetadata());
  bool needs_mask = false;
  for (int b = 1; b <= bands; ++b) {
    GDALRasterBand& from = *dataset->GetRasterBand(b);
    if (from.GetRasterDataType() != type) {
      throw Error(ErrorCode::kUnsupported, fmt::format("'{}' mixes band data types", source));
    }
    unsigned char* band_pixels = pixels.data() + static_cast<std::size_t>(b - 1) * pixel_count * type_size;
    packaging::add_band_over(*clipped, type, band_pixels);
    GDALRasterBand& to = *clipped->GetRasterBand(b);
    copy_band_description(from, to);
    int has_nodata = FALSE;
    const double nodata = from.GetNoDataValue(&has_nodata);
    // Without nodata the outside is 0 (as gdalwarp writes it) under a dataset mask.
    std::vector<unsigned char> fill(type_size, 0);
    if (has_nodata != FALSE) {
      to.SetNoDataValue(nodata);
      GDALCopyWords(&nodata, GDT_Float64, 0, fill.data(), type, 0, 1);
    } else {
      needs_mask = true;
    }
    fill_outside(band_pixels, type_size, mask, fill.data());
  }
  if (needs_mask) {
    if (clipped->CreateMaskBand(GMF_PER_DATASET) != CE_None ||
        clipped->GetRasterBand(1)->GetMaskBand()->RasterIO(GF_Write, 0, 0, window.width, window.height, mask.data(),
                                                           window.width, window.height, GDT_Byte, 0, 0,
                                                           nullptr) != CE_None) {
      gdal::throw_last_error(ErrorCode::kInternal, "writing the clip's mask");
    }
  }

  storage::StagedOutput output(destination, options.storage_options, ".tif");
  write_cog(*clipped, output.temp_path().string(), source);
  ClipResult result;
  result.destination = destination;
  result.bytes = output.commit();
  result.crs = packaging::crs_label(crs);
  const Bbox window_box{window_transform[0], window_transform[3] + window.height * window_transform[5],
                        window_transform[0] + window.width * window_transform[1], window_transform[3]};
  result.bbox = crs.same_as(Crs::wgs84()) ? window_box : Transformer(crs, Crs::wgs84()).transform_bbox(window_box);
  result.width = window.width;
  result.height = window.height;
  result.media_type = kCogMediaType;
  result.format = "tif";
  return result;
}

}  // namespace tessera
