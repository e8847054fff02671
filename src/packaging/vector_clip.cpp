// Vector clip: features read with the boundary's envelope as spatial filter,
// tested against the prepared boundary (inside: kept whole; crossing: cut),
// written with their attributes in the source CRS.

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogrsf_frmts.h>

#include "core/gdal_env.hpp"
#include "packaging/boundary_projection.hpp"
#include "storage/gdal_source.hpp"
#include "tessera/packaging.hpp"

namespace tessera {

namespace {

// Boundary edges are followed to about 10 m when reprojected to the layer's CRS.
constexpr double kDensifyDegrees = 1e-4;

struct VectorFormat {
  const char* driver;
  const char* format;      // Data Package "format"
  const char* media_type;  // Data Package "mediatype"
  const char* extension;
};

constexpr VectorFormat kVectorFormats[] = {
    {"GPKG", "gpkg", "application/geopackage+sqlite3", ".gpkg"},
    {"FlatGeobuf", "fgb", "application/flatgeobuf", ".fgb"},
    {"GeoJSON", "geojson", "application/geo+json", ".geojson"},
};

const VectorFormat& vector_format(const std::string& requested, const std::string& destination) {
  std::string extension = std::filesystem::path(destination).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string driver = requested == "GeoPackage" ? "GPKG" : requested;  // GDAL's name for it
  for (const auto& format : kVectorFormats) {
    if (requested.empty() ? extension == format.extension : driver == format.driver) {
      return format;
    }
  }
  if (requested.empty() && extension == ".json") {
    return kVectorFormats[2];
  }
  if (!requested.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("format '{}' is not a vector output format (GPKG, FlatGeobuf, GeoJSON)", requested));
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("destination '{}': cannot tell the format from the extension (.gpkg, .fgb, .geojson); "
                          "set the format",
                          destination));
}

// The dimension-preserving type of a clipped geometry: a cut polygon may
// become several, so single types are promoted to multi types.
OGRwkbGeometryType output_type(OGRwkbGeometryType source) {
  const OGRwkbGeometryType flat = wkbFlatten(source);
  if (flat == wkbPolygon || flat == wkbMultiPolygon) {
    return wkbMultiPolygon;
  }
  if (flat == wkbLineString || flat == wkbMultiLineString) {
    return wkbMultiLineString;
  }
  if (flat == wkbPoint || flat == wkbMultiPoint) {
    return wkbMultiPoint;
  }
  return wkbUnknown;
}

// The parts of an overlay result of the dimension of the layer's type, as that type.
OGRGeometry* conform(OGRGeometry* geometry, OGRwkbGeometryType type) {
  if (type == wkbUnknown) {
    return geometry;
  }
  if (wkbFlatten(geometry->getGeometryType()) == wkbGeometryCollection) {
    const int dimension = OGR_GT_IsSubClassOf(type, wkbMultiSurface) ? 2
                          : OGR_GT_IsSubClassOf(type, wkbMultiCurve) ? 1
                                                                     : 0;
    auto* kept = new OGRGeometryCollection();
    for (const auto* part : *geometry->toGeometryCollection()) {
      if (part->getDimension() == dimension) {
        kept->addGeometry(part);
      }
    }
    OGRGeometryFactory::destroyGeometry(geometry);
    geometry = kept;
  }
  return OGRGeometryFactory::forceTo(geometry, type);
}

struct PreparedDeleter {
  void operator()(OGRPreparedGeometry* prepared) const noexcept { OGRDestroyPreparedGeometry(prepared); }
};

// Grows `box` (empty when unset) to cover `other`.
void extend(std::optional<Bbox>& box, const Bbox& other) {
  box = box ? Bbox{std::min(box->minx, other.minx), std::min(box->miny, other.miny), std::max(box->maxx, other.maxx),
                   std::max(box->maxy, other.maxy)}
            : other;
}

// Clips one layer into `out`; returns the features written and extends
// `written_wgs84` by their extent.
std::size_t clip_layer(OGRLayer& layer, const Geometry& boundary, GDALDataset& out,
                       std::optional<Bbox>& written_wgs84) {
  const OGRSpatialReference* layer_srs = layer.GetSpatialRef();
  const Crs crs = packaging::crs_of(layer_srs);
  OGREnvelope layer_extent;
  std::optional<Bbox> extent;
  if (layer.GetExtent(&layer_extent, FALSE) == OGRERR_NONE) {
    extent = Bbox{layer_extent.MinX, layer_extent.MinY, layer_extent.MaxX, layer_extent.MaxY};
  }
  const Geometry local = packaging::boundary_in_crs(boundary, crs, extent, kDensifyDegrees);
  if (local.is_empty()) {
    return 0;
  }
  const Bbox envelope = local.bbox();
  std::unique_ptr<OGRPreparedGeometry, PreparedDeleter> prepared(OGRCreatePreparedGeometry(local.ogr()));
  layer.SetSpatialFilterRect(envelope.minx, envelope.miny, envelope.maxx, envelope.maxy);
  layer.ResetReading();

  const OGRwkbGeometryType type = output_type(layer.GetGeomType());
  OGRSpatialReference* srs = layer_srs != nullptr ? layer_srs->Clone() : nullptr;
  OGRLayer* target = out.CreateLayer(layer.GetName(), srs, type, nullptr);
  if (srs != nullptr) {
    srs->Release();
  }
  if (target == nullptr) {
    gdal::throw_last_error(ErrorCode::kIo, fmt::format("creating layer '{}' of the clip", layer.GetName()));
  }
  OGRFeatureDefn* definition = layer.GetLayerDefn();
  for (int i = 0; i < definition->GetFieldCount(); ++i) {
    if (target->CreateField(definition->GetFieldDefn(i)) != OGRERR_NONE) {
      gdal::throw_last_error(ErrorCode::kIo,
                             fmt::format("creating field '{}' of the clip", definition->GetFieldDefn(i)->GetNameRef()));
    }
  }
  const bool transaction = out.TestCapability(ODsCTransactions) != FALSE && out.StartTransaction() == OGRERR_NONE;
  std::size_t count = 0;
  std::optional<Bbox> written;
  for (auto& feature : layer) {
    const OGRGeometry* geometry = feature->GetGeometryRef();
    if (geometry == nullptr || geometry->IsEmpty() ||
        !OGRPreparedGeometryIntersects(prepared.get(), OGRGeometry::ToHandle(const_cast<OGRGeometry*>(geometry)))) {
      continue;
    }
    OGRGeometry* clipped =
        OGRPreparedGeometryContains(prepared.get(), OGRGeometry::ToHandle(const_cast<OGRGeometry*>(geometry)))
            ? geometry->clone()
            : local.ogr()->Intersection(geometry);
    if (clipped == nullptr) {
      gdal::throw_last_error(ErrorCode::kInvalidInput,
                             fmt::format("clipping feature {} of layer '{}'", feature->GetFID(), layer.GetName()));
    }
    clipped = conform(clipped, type);
    if (clipped->IsEmpty()) {
      OGRGeometryFactory::destroyGeometry(clipped);
      continue;
    }
    OGREnvelope box;
    clipped->getEnvelope(&box);
    extend(written, Bbox{box.MinX, box.MinY, box.MaxX, box.MaxY});
    OGRFeature output(target->GetLayerDefn());
    output.SetFrom(feature.get(), TRUE);
    output.SetFID(OGRNullFID);
    output.SetGeometryDirectly(clipped);
    if (target->CreateFeature(&output) != OGRERR_NONE) {
      gdal::throw_last_error(ErrorCode::kIo, fmt::format("writing feature {} of layer '{}' to the clip",
                                                         feature->GetFID(), layer.GetName()));
    }
    ++count;
  }
  if (transaction && out.CommitTransaction() != OGRERR_NONE) {
    gdal::throw_last_error(ErrorCode::kIo, "committing the clip");
  }
  if (written) {
    extend(written_wgs84,
           crs.same_as(Crs::wgs84()) ? *written : Transformer(crs, Crs::wgs84()).transform_bbox(*written));
  }
  return count;
}

}  // namespace

ClipResult clip_vector(const std::string& source, const Geometry& boundary, const std::string& destination,
                       const ClipOptions& options) {
  gdal::ensure_initialized();
  if (boundary.ogr() == nullptr || boundary.is_empty()) {
    throw Error(ErrorCode::kInvalidInput, "clip_vector: the boundary geometry is empty");
  }
  const VectorFormat& format = vector_format(options.format, destination);
  const storage::GdalSource input = storage::resolve_gdal_source(source, options.storage_options);
  GDALDatasetUniquePtr dataset = storage::open_href_dataset(input, source, GDAL_OF_VECTOR);
  if (dataset->GetLayerCount() == 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' has no layers", source));
  }
  storage::StagedOutput output(destination, options.storage_options, format.extension);
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(format.driver);
  ClipResult result;
  std::optional<Crs> output_crs;
  std::optional<Bbox> bbox;
  {
    GDALDatasetUniquePtr out(driver->Create(output.temp_path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    if (!out) {
      gdal::throw_last_error(ErrorCode::kIo, fmt::format("creating the {} clip of '{}'", format.driver, source));
    }
    for (auto* layer : dataset->GetLayers()) {
      if (!output_crs) {
        output_crs = packaging::crs_of(layer->GetSpatialRef());
      }
      result.features += clip_layer(*layer, boundary, *out, bbox);
    }
    CPLErrorReset();
    out.reset();  // flushes the file
    if (CPLGetLastErrorType() == CE_Failure) {
      gdal::throw_last_error(ErrorCode::kIo, fmt::format("writing the clip of '{}'", source));
    }
  }
  if (result.features == 0) {
    throw packaging::no_data_error(source);
  }
  result.destination = destination;
  result.bytes = output.commit();
  result.crs = packaging::crs_label(*output_crs);
  result.bbox = *bbox;
  result.media_type = format.media_type;
  result.format = format.format;
  return result;
}

}  // namespace tessera
