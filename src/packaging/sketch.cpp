// Sketch preprocessing: validation with clear messages, clip/erase against
// reference areas read only within the sketch's bbox, keep-largest, and a
// storage cache keyed by the canonical geometry and the parameters.

#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogrsf_frmts.h>

#include "core/gdal_env.hpp"
#include "core/sha256.hpp"
#include "packaging/boundary_projection.hpp"
#include "storage/gdal_source.hpp"
#include "tessera/log.hpp"
#include "tessera/packaging.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr std::string_view kCachePrefix = "sketch-cache/";

std::size_t vertex_count(const OGRGeometry& geometry) {
  struct Counter : OGRDefaultConstGeometryVisitor {
    std::size_t count = 0;
    using OGRDefaultConstGeometryVisitor::visit;
    void visit(const OGRPoint*) override { ++count; }
    void visit(const OGRLineString* line) override { count += static_cast<std::size_t>(line->getNumPoints()); }
    void visit(const OGRLinearRing* ring) override { visit(static_cast<const OGRLineString*>(ring)); }
  } counter;
  geometry.accept(&counter);
  return counter.count;
}

// Area in km² on a Lambert azimuthal equal-area projection centred on the geometry.
double area_km2(const Geometry& geometry) {
  const Bbox box = geometry.bbox();
  const Crs laea = Crs::from_user_input(fmt::format("+proj=laea +lat_0={} +lon_0={} +datum=WGS84 +units=m +no_defs",
                                                    (box.miny + box.maxy) / 2, (box.minx + box.maxx) / 2));
  return geometry.transformed(Crs::wgs84(), laea).area() / 1.0e6;
}

// GEOS says "Self-intersection at or near point 12.5 41.9" (or, in other
// versions, "Self-intersection[12.5 41.9]"); users read "Self-intersection at (12.5, 41.9)".
std::string located_reason(const std::string& reason) {
  std::string what;
  std::string location;
  if (const std::size_t near = reason.find(" at or near point "); near != std::string::npos) {
    what = reason.substr(0, near);
    location = reason.substr(near + std::string_view(" at or near point ").size());
  } else if (const std::size_t open = reason.find('['); open != std::string::npos && reason.back() == ']') {
    what = reason.substr(0, open);
    location = reason.substr(open + 1, reason.size() - open - 2);
  } else {
    return reason;
  }
  const std::size_t space = location.find(' ');
  if (space == std::string::npos) {
    return reason;
  }
  return fmt::format("{} at ({}, {})", what, location.substr(0, space), location.substr(space + 1));
}

const json& geometry_of(const json& value, std::string_view where) {
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected a GeoJSON object", where));
  }
  if (value.value("type", "") == "Feature") {
    if (!value.contains("geometry") || value["geometry"].is_null()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: the Feature has no geometry", where));
    }
    return value["geometry"];
  }
  return value;
}

// The union of the polygons of a GeoJSON geometry, Feature or
// FeatureCollection, taking only features whose bbox meets `within`.
Geometry reference_from_geojson(const json& value, const Bbox& within, std::string_view where) {
  OGRMultiPolygon parts;
  auto add = [&](const json& geometry_json, const std::string& path) {
    const Geometry geometry = Geometry::from_geojson(geometry_of(geometry_json, path), path);
    if (!geometry.is_empty() && geometry.bbox().intersects(within)) {
      packaging::append_polygons(*geometry.ogr(), parts);
    }
  };
  if (value.is_object() && value.value("type", "") == "FeatureCollection") {
    const json& features = value.value("features", json::array());
    for (std::size_t i = 0; i < features.size(); ++i) {
      add(features[i], fmt::format("{}.features[{}]", where, i));
    }
  } else {
    add(value, std::string(where));
  }
  return packaging::union_of(parts);
}

// The union of the polygons of an OGR source's features within `within`
// (the spatial filter keeps the read to that box), in WGS84.
Geometry reference_from_source(const std::string& source, const Bbox& within, std::string_view where) {
  gdal::ensure_initialized();
  const storage::GdalSource input = storage::resolve_gdal_source(source, {});
  GDALDatasetUniquePtr dataset;
  try {
    dataset = storage::open_href_dataset(input, source, GDAL_OF_VECTOR);
  } catch (const Error& error) {
    throw Error(error.code(), fmt::format("{}: {}", where, error.what()));
  }
  OGRMultiPolygon parts;
  for (auto* layer : dataset->GetLayers()) {
    const Crs crs = packaging::crs_of(layer->GetSpatialRef());
    const bool wgs84 = crs.same_as(Crs::wgs84());
    const Bbox filter = wgs84 ? within : Transformer(Crs::wgs84(), crs).transform_bbox(within);
    layer->SetSpatialFilterRect(filter.minx, filter.miny, filter.maxx, filter.maxy);
    for (auto& feature : *layer) {
      if (const OGRGeometry* geometry = feature->GetGeometryRef(); geometry != nullptr) {
        const Geometry owned(geometry->clone());
        packaging::append_polygons(*(wgs84 ? owned.clone() : owned.transformed(crs, Crs::wgs84())).ogr(), parts);
      }
    }
  }
  return packaging::union_of(parts);
}

std::string canonical_wkb(const Geometry& geometry) {
  const Geometry canonical(geometry.ogr()->Normalize());
  std::vector<unsigned char> wkb(canonical.ogr()->WkbSize());
  canonical.ogr()->exportToWkb(wkbNDR, wkb.data(), wkbVariantIso);
  return std::string(reinterpret_cast<const char*>(wkb.data()), wkb.size());
}

// What the result depends on besides the sketch, canonically.
json parameters_of(const SketchOptions& options) {
  auto reference = [](const std::optional<json>& value) -> json {
    if (!value) {
      return nullptr;
    }
    return core::sha256_hex(value->dump());  // nlohmann dumps object keys sorted
  };
  return {{"clip_to", reference(options.clip_to)},
          {"clip_to_source", options.clip_to_source},
          {"erase", reference(options.erase)},
          {"erase_source", options.erase_source},
          {"keep_largest", options.keep_largest},
          {"cache_key", options.cache_key},
          {"version", 1}};
}

Geometry largest_polygon(const Geometry& geometry) {
  OGRMultiPolygon polygons;
  packaging::append_polygons(*geometry.ogr(), polygons);
  const OGRPolygon* largest = nullptr;
  for (const auto* polygon : polygons) {
    if (largest == nullptr || polygon->get_Area() > largest->get_Area()) {
      largest = polygon;
    }
  }
  return Geometry(largest != nullptr ? largest->clone() : new OGRPolygon());
}

}  // namespace

Geometry read_reference_area(const json& reference, const Bbox& within, std::string_view where) {
  gdal::ensure_initialized();
  if (reference.is_string()) {
    return reference_from_source(reference.get<std::string>(), within, where);
  }
  return reference_from_geojson(reference, within, where);
}

json preprocess_sketch(const json& sketch, const SketchOptions& options) {
  gdal::ensure_initialized();
  const json& geometry_json = geometry_of(sketch, "sketch");
  const std::string type = geometry_json.value("type", "");
  if (type != "Polygon" && type != "MultiPolygon") {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("sketch: expected a Polygon or MultiPolygon, got {}", type.empty() ? "no type" : type));
  }
  const Geometry geometry = Geometry::from_geojson(geometry_json, "sketch");
  if (geometry.is_empty()) {
    throw Error(ErrorCode::kInvalidInput, "sketch: the geometry is empty");
  }
  const std::size_t vertices = vertex_count(*geometry.ogr());
  if (vertices > options.max_vertices) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("sketch: {} vertices, more than the limit of {}", vertices, options.max_vertices));
  }
  const Bbox box = geometry.bbox();
  if (box.minx < -180 || box.maxx > 180 || box.miny < -90 || box.maxy > 90) {
    throw Error(ErrorCode::kInvalidInput,
                "sketch: coordinates outside longitude -180..180 / latitude -90..90 (expected WGS84)");
  }
  if (const Validity validity = geometry.validity(); !validity.valid) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("sketch: not a valid polygon: {}", located_reason(validity.reason)));
  }
  const double area = area_km2(geometry);
  if (area > options.max_area_km2) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("sketch: covers {:.0f} km², more than the limit of {:.0f} km²",
                                                      area, options.max_area_km2));
  }

  const std::string key = core::sha256_hex(canonical_wkb(geometry) + '\n' + parameters_of(options).dump());
  const std::string cache_key = fmt::format("{}{}.json", kCachePrefix, key);
  if (options.cache != nullptr && options.cache->exists(cache_key)) {
    json cached = json::parse(options.cache->get(cache_key));
    cached["cached"] = true;
    return cached;
  }

  Geometry result = geometry.clone();
  if (options.clip_to) {
    result = result.intersection(reference_from_geojson(*options.clip_to, box, "clip_to"));
  }
  if (!options.clip_to_source.empty()) {
    result = result.intersection(reference_from_source(options.clip_to_source, box, "clip_to"));
  }
  if (options.erase) {
    result = result.difference(reference_from_geojson(*options.erase, box, "erase"));
  }
  if (!options.erase_source.empty()) {
    result = result.difference(reference_from_source(options.erase_source, box, "erase"));
  }
  OGRMultiPolygon polygons;
  packaging::append_polygons(*result.ogr(), polygons);
  if (polygons.IsEmpty()) {
    throw Error(ErrorCode::kInvalidInput,
                "outside of boundary: nothing of the sketch remains after clipping and erasing");
  }
  result =
      polygons.getNumGeometries() == 1 ? Geometry(polygons.getGeometryRef(0)->clone()) : Geometry(polygons.clone());
  if (options.keep_largest) {
    result = largest_polygon(result);
  }
  json output = {{"geometry", result.to_geojson()},
                 {"bbox", result.bbox().to_json()},
                 {"area_km2", area_km2(result)},
                 {"key", key},
                 {"cached", false}};
  if (options.cache != nullptr) {
    options.cache->put(cache_key, output.dump());
  }
  return output;
}

}  // namespace tessera
