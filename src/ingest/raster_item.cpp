#include "tessera/raster_item.hpp"

#include <chrono>
#include <cmath>
#include <optional>

#include <cpl_conv.h>
#include <fmt/format.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include "core/gdal_env.hpp"
#include "ingest/band_presets.hpp"
#include "storage/gdal_source.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

namespace tessera {

using nlohmann::json;

namespace {

// to_cog's input is the host's own conversion source, opened with any raster
// driver (a VRT included); hrefs that come with data go through
// storage::open_href_dataset instead.
GDALDatasetUniquePtr open_raster(const std::string& href, const std::string& path) {
  gdal::ensure_initialized();
  gdal::ErrorCapture errors;
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!dataset) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' is not a raster GDAL can read{}{}", href,
                                                      errors.messages().empty() ? "" : ": ", errors.messages()));
  }
  return dataset;
}

std::string media_type(GDALDataset& dataset) {
  const std::string driver = dataset.GetDriverName();
  if (driver == "GTiff") {
    const char* layout = dataset.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE");
    return layout != nullptr && std::string_view(layout) == "COG"
               ? "image/tiff; application=geotiff; profile=cloud-optimized"
               : "image/tiff; application=geotiff";
  }
  if (driver == "COG") {
    return "image/tiff; application=geotiff; profile=cloud-optimized";
  }
  if (driver == "JP2OpenJPEG") {
    return "image/jp2";
  }
  if (driver == "PNG") {
    return "image/png";
  }
  if (driver == "netCDF") {
    return "application/netcdf";
  }
  return "application/octet-stream";
}

std::string data_type_name(GDALDataType type) {
  switch (type) {
    case GDT_Byte:
      return "uint8";
    case GDT_UInt16:
      return "uint16";
    case GDT_Int16:
      return "int16";
    case GDT_UInt32:
      return "uint32";
    case GDT_Int32:
      return "int32";
    case GDT_UInt64:
      return "uint64";
    case GDT_Int64:
      return "int64";
    case GDT_Float32:
      return "float32";
    case GDT_Float64:
      return "float64";
    case GDT_CInt16:
      return "cint16";
    case GDT_CInt32:
      return "cint32";
    case GDT_CFloat32:
      return "cfloat32";
    case GDT_CFloat64:
      return "cfloat64";
    default:
      return "other";
  }
}

// The raster's outline in its own CRS, each edge densified so the WGS84
// outline follows the real (curved) edge.
std::unique_ptr<OGRPolygon> outline(const double transform[6], int width, int height) {
  constexpr int kPointsPerEdge = 32;
  auto ring = std::make_unique<OGRLinearRing>();
  auto add = [&](double column, double row) {
    ring->addPoint(transform[0] + column * transform[1] + row * transform[2],
                   transform[3] + column * transform[4] + row * transform[5]);
  };
  for (int i = 0; i < kPointsPerEdge; ++i) {
    add(width * static_cast<double>(i) / kPointsPerEdge, 0);
  }
  for (int i = 0; i < kPointsPerEdge; ++i) {
    add(width, height * static_cast<double>(i) / kPointsPerEdge);
  }
  for (int i = 0; i < kPointsPerEdge; ++i) {
    add(width * (1.0 - static_cast<double>(i) / kPointsPerEdge), height);
  }
  for (int i = 0; i < kPointsPerEdge; ++i) {
    add(0, height * (1.0 - static_cast<double>(i) / kPointsPerEdge));
  }
  ring->closeRings();
  auto polygon = std::make_unique<OGRPolygon>();
  polygon->addRingDirectly(ring.release());
  return polygon;
}

// STAC bbox of a WGS84 geometry; parts split at the antimeridian give a
// bbox with minx > maxx.
json stac_bbox(const OGRGeometry& geometry) {
  OGREnvelope envelope;
  geometry.getEnvelope(&envelope);
  const auto type = wkbFlatten(geometry.getGeometryType());
  if (type == wkbMultiPolygon && envelope.MinX <= -180.0 + 1e-9 && envelope.MaxX >= 180.0 - 1e-9) {
    double east_min = 180.0;
    double west_max = -180.0;
    for (const auto* part : *geometry.toMultiPolygon()) {
      OGREnvelope part_envelope;
      part->getEnvelope(&part_envelope);
      if (part_envelope.MinX >= 0) {
        east_min = std::min(east_min, part_envelope.MinX);
      } else {
        west_max = std::max(west_max, part_envelope.MaxX);
      }
    }
    return json::array({east_min, envelope.MinY, west_max, envelope.MaxY});
  }
  return json::array({envelope.MinX, envelope.MinY, envelope.MaxX, envelope.MaxY});
}

// RFC 7946: exterior rings counter-clockwise, holes clockwise.
void orient_rings(OGRGeometry& geometry) {
  const auto orient = [](OGRPolygon& polygon) {
    for (int ring = 0; ring < polygon.getNumInteriorRings() + 1; ++ring) {
      OGRLinearRing* linear_ring = ring == 0 ? polygon.getExteriorRing() : polygon.getInteriorRing(ring - 1);
      if (linear_ring != nullptr && (linear_ring->isClockwise() != FALSE) == (ring == 0)) {
        linear_ring->reverseWindingOrder();
      }
    }
  };
  const auto type = wkbFlatten(geometry.getGeometryType());
  if (type == wkbPolygon) {
    orient(*geometry.toPolygon());
  } else if (type == wkbMultiPolygon) {
    for (OGRPolygon* part : *geometry.toMultiPolygon()) {
      orient(*part);
    }
  }
}

// The ground distance between pixel centres in metres: the square root of a
// pixel's area, in the CRS's linear unit for projected CRSs, and for
// geographic ones in metres on the ellipsoid at the raster's centre.
std::optional<double> ground_sample_distance(const OGRSpatialReference& crs, const double transform[6], int width,
                                             int height) {
  const double pixel_area = std::abs(transform[1] * transform[5] - transform[2] * transform[4]);
  if (!(pixel_area > 0) || !std::isfinite(pixel_area)) {
    return std::nullopt;
  }
  if (crs.IsProjected() != FALSE) {
    return std::sqrt(pixel_area) * crs.GetLinearUnits(nullptr);
  }
  if (crs.IsGeographic() == FALSE) {
    return std::nullopt;
  }
  const double radians_per_unit = crs.GetAngularUnits(nullptr);
  const double latitude = (transform[3] + transform[4] * width / 2.0 + transform[5] * height / 2.0) * radians_per_unit;
  // Metres per unit east at that latitude times metres per unit north, on
  // the sphere of the semi-major axis (well within a pixel's accuracy).
  const double metres_per_unit = crs.GetSemiMajor(nullptr) * radians_per_unit;
  return std::sqrt(pixel_area * metres_per_unit * metres_per_unit * std::abs(std::cos(latitude)));
}

// The name a preset looks a band up by: its description, else for a one-band
// file the file name's "_" parts from the last ("..._B04.tif").
std::optional<ingest::BandSpectrum> preset_spectrum(const std::string& preset, GDALRasterBand& band, int band_count,
                                                    const std::string& href) {
  if (const char* description = band.GetDescription(); description[0] != '\0') {
    if (auto found = ingest::preset_band(preset, description)) {
      return found;
    }
  }
  if (band_count != 1) {
    return std::nullopt;
  }
  std::string stem = href.substr(href.find_last_of('/') + 1);
  stem = stem.substr(0, stem.find('.'));
  for (std::size_t end = stem.size(); end > 0;) {
    const std::size_t start = stem.rfind('_', end - 1);
    const std::size_t from = start == std::string::npos ? 0 : start + 1;
    if (auto found = ingest::preset_band(preset, std::string_view(stem).substr(from, end - from))) {
      return found;
    }
    if (start == std::string::npos) {
      break;
    }
    end = start;
  }
  return std::nullopt;
}

std::string default_datetime(GDALDataset& dataset) {
  // TIFFTAG_DATETIME is "YYYY:MM:DD HH:MM:SS".
  const char* tag = dataset.GetMetadataItem("TIFFTAG_DATETIME");
  if (tag != nullptr && std::string_view(tag).size() == 19) {
    std::string text(tag);
    text[4] = '-';
    text[7] = '-';
    text[10] = 'T';
    text += 'Z';
    if (parse_rfc3339_micros(text)) {
      return text;
    }
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return format_rfc3339_micros(now.count() * 1000000);
}

}  // namespace

json create_item(const std::string& href, const CreateItemOptions& options) {
  const storage::GdalSource source = storage::resolve_gdal_source(href, options.storage_options);
  // An href that came with data: only the allowed formats (no VRT).
  GDALDatasetUniquePtr dataset = storage::open_href_dataset(source, href, GDAL_OF_RASTER);
  double transform[6];
  const OGRSpatialReference* crs = dataset->GetSpatialRef();
  if (dataset->GetGeoTransform(transform) != CE_None || crs == nullptr || crs->IsEmpty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("raster '{}' has no georeferencing (CRS and geotransform)", href));
  }
  const int width = dataset->GetRasterXSize();
  const int height = dataset->GetRasterYSize();

  // Outline in WGS84, split at the antimeridian where it crosses.
  char* native_wkt = nullptr;
  const char* wkt_format[] = {"FORMAT=WKT2_2019", nullptr};
  crs->exportToWkt(&native_wkt, wkt_format);
  const std::string native_text = native_wkt != nullptr ? native_wkt : "";
  CPLFree(native_wkt);
  Geometry wgs84_geometry;
  try {
    wgs84_geometry = Geometry(outline(transform, width, height).release()).to_wgs84(Crs::from_user_input(native_text));
  } catch (const Error& error) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("raster '{}': footprint: {}", href, error.what()));
  }
  orient_rings(*wgs84_geometry.ogr());

  json properties = options.properties.is_object() ? options.properties : json::object();
  properties["datetime"] = options.datetime.empty() ? default_datetime(*dataset) : options.datetime;
  const char* authority = crs->GetAuthorityName(nullptr);
  const char* code = crs->GetAuthorityCode(nullptr);
  if (authority != nullptr && code != nullptr) {
    properties["proj:code"] = fmt::format("{}:{}", authority, code);
  } else {
    char* wkt = nullptr;
    const char* wkt_options[] = {"FORMAT=WKT2_2019", nullptr};
    crs->exportToWkt(&wkt, wkt_options);
    properties["proj:code"] = nullptr;
    properties["proj:wkt2"] = wkt != nullptr ? wkt : "";
    CPLFree(wkt);
  }
  properties["proj:shape"] = {height, width};
  properties["proj:transform"] = {transform[1], transform[2], transform[0], transform[4], transform[5],
                                  transform[3], 0.0,          0.0,          1.0};
  const double xs[] = {transform[0], transform[0] + width * transform[1] + height * transform[2]};
  const double ys[] = {transform[3], transform[3] + width * transform[4] + height * transform[5]};
  properties["proj:bbox"] = {std::min(xs[0], xs[1]), std::min(ys[0], ys[1]), std::max(xs[0], xs[1]),
                             std::max(ys[0], ys[1])};

  if (!properties.contains("gsd")) {
    if (const auto gsd = ground_sample_distance(*crs, transform, width, height)) {
      properties["gsd"] = *gsd;
    }
  }
  if (!options.sensor.empty()) {
    ingest::preset_band(options.sensor, "");  // an unknown preset fails here, before any band
  }

  json bands = json::array();
  bool spectral = false;
  for (int index = 1; index <= dataset->GetRasterCount(); ++index) {
    GDALRasterBand* band = dataset->GetRasterBand(index);
    json entry = {
        {"name", band->GetDescription()[0] != '\0' ? std::string(band->GetDescription()) : fmt::format("b{}", index)},
        {"data_type", data_type_name(band->GetRasterDataType())}};
    int has_nodata = FALSE;
    const double nodata = band->GetNoDataValue(&has_nodata);
    if (has_nodata != FALSE) {
      entry["nodata"] = std::isnan(nodata) ? json("nan") : json(nodata);
    }
    // The raster's own metadata first, then the sensor's table for what it leaves out.
    ingest::BandSpectrum spectrum =
        ingest::raster_band_spectrum(*band, fmt::format("raster '{}' band {}", href, index));
    if (!options.sensor.empty() && (!spectrum.center || spectrum.common_name.empty())) {
      if (const auto preset = preset_spectrum(options.sensor, *band, dataset->GetRasterCount(), href)) {
        if (!spectrum.center) {
          spectrum.center = preset->center;
          spectrum.full_width = preset->full_width;
        }
        if (spectrum.common_name.empty()) {
          spectrum.common_name = preset->common_name;
        }
      }
    }
    if (!spectrum.common_name.empty()) {
      entry["eo:common_name"] = spectrum.common_name;
    }
    if (spectrum.center) {
      entry["eo:center_wavelength"] = *spectrum.center;
    }
    if (spectrum.full_width) {
      entry["eo:full_width_half_max"] = *spectrum.full_width;
    }
    spectral = spectral || !spectrum.common_name.empty() || spectrum.center.has_value();
    if (options.statistics) {
      double minimum = 0;
      double maximum = 0;
      double mean = 0;
      double stddev = 0;
      if (band->ComputeStatistics(TRUE, &minimum, &maximum, &mean, &stddev, nullptr, nullptr) == CE_None) {
        entry["statistics"] = {{"minimum", minimum}, {"maximum", maximum}, {"mean", mean}, {"stddev", stddev}};
        if (const char* valid = band->GetMetadataItem("STATISTICS_VALID_PERCENT")) {
          entry["statistics"]["valid_percent"] = std::atof(valid);
        }
      }
    }
    bands.push_back(std::move(entry));
  }

  std::string id = options.id;
  if (id.empty()) {
    const std::string name = href.substr(href.find_last_of('/') + 1);
    id = name.substr(0, name.find('.'));
  }
  json item = {
      {"type", "Feature"},
      {"stac_version", "1.1.0"},
      {"stac_extensions", {"https://stac-extensions.github.io/projection/v2.0.0/schema.json"}},
      {"id", id},
      {"geometry", wgs84_geometry.to_geojson()},
      {"bbox", stac_bbox(*wgs84_geometry.ogr())},
      {"properties", properties},
      {"links", json::array()},
      {"assets", {{"data", {{"href", href}, {"type", media_type(*dataset)}, {"roles", {"data"}}, {"bands", bands}}}}},
  };
  item["properties"]["bands"] = bands;
  if (spectral) {
    item["stac_extensions"].push_back("https://stac-extensions.github.io/eo/v2.0.0/schema.json");
  }
  if (!options.collection.empty()) {
    item["collection"] = options.collection;
    item["links"].push_back({{"rel", "collection"},
                             {"href", options.collection_href.empty() ? "../collection.json" : options.collection_href},
                             {"type", "application/json"}});
  }
  return item;
}

std::vector<std::string> sensor_presets() { return ingest::sensor_preset_names(); }

void to_cog(const std::string& source, const std::string& destination, const StorageOptions& storage_options) {
  const storage::GdalSource input = storage::resolve_gdal_source(source, storage_options);
  GDALDatasetUniquePtr dataset = open_raster(source, input.gdal_path);
  storage::StagedOutput output(destination, storage_options, ".tif");
  const char* arguments[] = {"-of",  "COG", "-co", "COMPRESS=DEFLATE", "-co", "BLOCKSIZE=512", "-co", "OVERVIEWS=AUTO",
                             nullptr};
  std::unique_ptr<GDALTranslateOptions, decltype(&GDALTranslateOptionsFree)> translate_options(
      GDALTranslateOptionsNew(const_cast<char**>(arguments), nullptr), &GDALTranslateOptionsFree);
  gdal::ErrorCapture errors;
  int usage_error = FALSE;
  GDALDatasetH written = GDALTranslate(output.temp_path().c_str(), GDALDataset::ToHandle(dataset.get()),
                                       translate_options.get(), &usage_error);
  bool failed = written == nullptr;
  if (written != nullptr) {
    CPLErrorReset();
    GDALClose(written);  // flushes the file: write errors surface here
    failed = CPLGetLastErrorType() == CE_Failure;
  }
  if (failed) {
    throw Error(ErrorCode::kIo, fmt::format("writing a COG of '{}' failed: {}", source, errors.messages()));
  }
  output.commit();
}

}  // namespace tessera
