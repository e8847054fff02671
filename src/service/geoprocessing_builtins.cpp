// The built-in geoprocessing services: exact zonal statistics read window by
// window (tiling's coverage fractions, exactextract's definitions), geodesic
// overlap of vector layers (PROJ's geodesic.h), and sketch preprocessing on
// packaging's sketch checks and reference areas.

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <gdal_priv.h>
#include <geodesic.h>
#include <ogr_geometry.h>
#include <ogrsf_frmts.h>

#include "core/gdal_env.hpp"
#include "storage/gdal_source.hpp"
#include "tessera/error.hpp"
#include "tessera/geoprocessing.hpp"
#include "tessera/packaging.hpp"
#include "tiling/coverage.hpp"
#include "tiling/raster_read.hpp"

namespace tessera {

namespace {

using nlohmann::json;

// Pixels read per window (rows and columns): bounds the memory of a run
// whatever the raster's and the sketch's sizes.
constexpr int kWindowPixels = 1024;

// The geometries of a sketch: a Feature, a bare geometry, or a (SeaSketch)
// FeatureCollection's features.
std::vector<Geometry> sketch_geometries(const json& sketch) {
  if (!sketch.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "sketch: expected a GeoJSON object");
  }
  std::vector<Geometry> geometries;
  const auto add = [&](const json& value, const std::string& where) {
    if (value.value("type", "") == "Feature") {
      const auto geometry = value.find("geometry");
      if (geometry == value.end() || geometry->is_null()) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("{}: the Feature has no geometry", where));
      }
      geometries.push_back(Geometry::from_geojson(*geometry, where + ".geometry"));
    } else {
      geometries.push_back(Geometry::from_geojson(value, where));
    }
  };
  if (sketch.value("type", "") == "FeatureCollection") {
    const auto features = sketch.find("features");
    if (features == sketch.end() || !features->is_array()) {
      throw Error(ErrorCode::kInvalidInput, "sketch.features: expected an array");
    }
    for (std::size_t i = 0; i < features->size(); ++i) {
      add((*features)[i], fmt::format("sketch.features[{}]", i));
    }
  } else {
    add(sketch, "sketch");
  }
  return geometries;
}

// The union of the sketch's polygons (WGS84); InvalidInput when it has none.
Geometry sketch_area(const json& sketch) {
  OGRMultiPolygon polygons;
  for (const Geometry& geometry : sketch_geometries(sketch)) {
    const OGRwkbGeometryType type = wkbFlatten(geometry.ogr()->getGeometryType());
    if (type == wkbPolygon) {
      polygons.addGeometry(geometry.ogr());
    } else if (type == wkbMultiPolygon) {
      for (const OGRPolygon* polygon : *geometry.ogr()->toMultiPolygon()) {
        polygons.addGeometry(polygon);
      }
    }
  }
  if (polygons.IsEmpty()) {
    throw Error(ErrorCode::kInvalidInput, "sketch: no Polygon or MultiPolygon to measure");
  }
  Geometry area(polygons.getNumGeometries() == 1 ? polygons.getGeometryRef(0)->clone() : polygons.UnionCascaded());
  if (area.ogr() == nullptr) {
    throw Error(ErrorCode::kInvalidInput, "sketch: its polygons cannot be merged (invalid geometry)");
  }
  return area;
}

// --- zonal statistics ---------------------------------------------------------

struct BandTotals {
  double covered = 0;  // coverage of every pixel, valid or not
  double count = 0;    // coverage of the valid pixels
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::map<double, double> classes;  // value -> coverage
};

// Metres per unit of a projected CRS's linear unit; nullopt for a geographic one.
std::optional<double> metres_per_unit(const OGRSpatialReference& srs) {
  if (srs.IsGeographic()) {
    return std::nullopt;
  }
  return srs.GetLinearUnits();
}

json band_json(const BandTotals& totals, const std::string& name, double pixel_area, bool categorical) {
  json band = {{"band", name},
               {"count", totals.count},
               {"sum", totals.sum},
               {"mean", totals.count > 0 ? json(totals.sum / totals.count) : json()},
               {"min", totals.count > 0 ? json(totals.min) : json()},
               {"max", totals.count > 0 ? json(totals.max) : json()},
               {"coverage_fraction", totals.covered > 0 ? totals.count / totals.covered : 0.0},
               {"area", totals.count * pixel_area}};
  if (categorical) {
    json classes = json::object();
    for (const auto& [value, coverage] : totals.classes) {
      classes[fmt::format("{}", value)] = {
          {"count", coverage}, {"frac", coverage / totals.count}, {"area", coverage * pixel_area}};
    }
    band["classes"] = std::move(classes);
  }
  return band;
}

json raster_zonal_statistics(const std::string& href, const Geometry& area, bool categorical) {
  tiling::OpenRaster raster = tiling::open_raster(href);
  const tiling::SourceInfo& info = raster.info;
  const auto& gt = info.transform;
  if (gt[2] != 0 || gt[4] != 0) {
    throw Error(ErrorCode::kUnsupported, fmt::format("zonal statistics: {} is rotated (not north-up)", href));
  }
  const auto shape = tiling::reprojected(*area.ogr(), tiling::wgs84_srs(), info.srs, "sketch");
  OGREnvelope envelope;
  shape->getEnvelope(&envelope);
  // The raster's pixels under the shape's extent.
  const auto clamp = [](double value, int limit) {
    return static_cast<int>(std::clamp(value, 0.0, static_cast<double>(limit)));
  };
  const int first_column = clamp(std::floor((envelope.MinX - gt[0]) / gt[1]), info.width);
  const int end_column = clamp(std::ceil((envelope.MaxX - gt[0]) / gt[1]), info.width);
  const int first_row = clamp(std::floor((envelope.MaxY - gt[3]) / gt[5]), info.height);
  const int end_row = clamp(std::ceil((envelope.MinY - gt[3]) / gt[5]), info.height);

  std::vector<BandTotals> totals(static_cast<std::size_t>(info.band_count));
  for (int row = first_row; row < end_row; row += kWindowPixels) {
    for (int column = first_column; column < end_column; column += kWindowPixels) {
      const int width = std::min(kWindowPixels, end_column - column);
      const int height = std::min(kWindowPixels, end_row - row);
      const Bbox bounds{gt[0] + column * gt[1], gt[3] + (row + height) * gt[5], gt[0] + (column + width) * gt[1],
                        gt[3] + row * gt[5]};
      OGRPolygon window;
      {
        OGRLinearRing ring;
        ring.addPoint(bounds.minx, bounds.miny);
        ring.addPoint(bounds.maxx, bounds.miny);
        ring.addPoint(bounds.maxx, bounds.maxy);
        ring.addPoint(bounds.minx, bounds.maxy);
        ring.closeRings();
        window.addRing(&ring);
      }
      if (!shape->Intersects(&window)) {
        continue;
      }
      const tiling::ReadGrid grid = tiling::plan_part(raster, info.srs, bounds, width, height, 0, 0);
      const ImageData image = tiling::read_grid(raster, grid, ReadOptions{});
      const std::vector<double> fractions = tiling::coverage_fractions(*shape, bounds, width, height);
      for (int band = 0; band < info.band_count; ++band) {
        BandTotals& band_totals = totals[static_cast<std::size_t>(band)];
        for (std::size_t pixel = 0; pixel < fractions.size(); ++pixel) {
          const double coverage = fractions[pixel];
          if (coverage <= 0) {
            continue;
          }
          band_totals.covered += coverage;
          const double value = tiling::value_at(image, band, pixel);
          if (image.mask()[pixel] == 0 || !std::isfinite(value) || (info.nodata && value == *info.nodata)) {
            continue;
          }
          band_totals.count += coverage;
          band_totals.sum += coverage * value;
          band_totals.min = std::min(band_totals.min, value);
          band_totals.max = std::max(band_totals.max, value);
          if (categorical) {
            band_totals.classes[value] += coverage;
          }
        }
      }
    }
  }
  const double pixel_area = std::abs(gt[1] * gt[5]) * std::pow(metres_per_unit(info.srs).value_or(1.0), 2);
  json bands = json::array();
  for (int band = 0; band < info.band_count; ++band) {
    bands.push_back(
        band_json(totals[static_cast<std::size_t>(band)], fmt::format("b{}", band + 1), pixel_area, categorical));
  }
  return {{"href", href}, {"bands", std::move(bands)}};
}

// --- overlap ------------------------------------------------------------------

double ring_area(const geod_geodesic& geodesic, const OGRLinearRing& ring) {
  geod_polygon polygon;
  geod_polygon_init(&polygon, 0);
  // The closing point repeats the first: PROJ closes the ring itself.
  for (int i = 0; i + 1 < ring.getNumPoints(); ++i) {
    geod_polygon_addpoint(&geodesic, &polygon, ring.getY(i), ring.getX(i));
  }
  double area = 0;
  geod_polygon_compute(&geodesic, &polygon, 0, 1, &area, nullptr);
  return std::abs(area);
}

// Geodesic area (m², WGS84) of the polygons of `geometry` (longitude/latitude).
double geodesic_area(const OGRGeometry& geometry) {
  geod_geodesic geodesic;
  geod_init(&geodesic, 6378137, 1 / 298.257223563);
  double area = 0;
  const auto polygon_area = [&](const OGRPolygon& polygon) {
    if (polygon.IsEmpty()) {
      return;
    }
    area += ring_area(geodesic, *polygon.getExteriorRing());
    for (int i = 0; i < polygon.getNumInteriorRings(); ++i) {
      area -= ring_area(geodesic, *polygon.getInteriorRing(i));
    }
  };
  const OGRwkbGeometryType type = wkbFlatten(geometry.getGeometryType());
  if (type == wkbPolygon) {
    polygon_area(*geometry.toPolygon());
  } else if (type == wkbMultiPolygon || type == wkbGeometryCollection) {
    for (const OGRGeometry* part : *geometry.toGeometryCollection()) {
      area += geodesic_area(*part);
    }
  }
  return area;
}

json layer_overlap(const std::string& source, const Geometry& area, const std::string& attribute) {
  gdal::ensure_initialized();
  const storage::GdalSource input = storage::resolve_gdal_source(source, {});
  GDALDatasetUniquePtr dataset = storage::open_href_dataset(input, source, GDAL_OF_VECTOR);
  const Bbox box = area.bbox();
  double total = 0;
  std::map<std::string, double> by_attribute;
  for (OGRLayer* layer : dataset->GetLayers()) {
    const OGRSpatialReference* srs = layer->GetSpatialRef();
    std::optional<Crs> crs;
    if (srs != nullptr) {
      char* wkt = nullptr;
      srs->exportToWkt(&wkt);
      crs = Crs::from_user_input(wkt);
      CPLFree(wkt);
    }
    const bool wgs84 = !crs || crs->same_as(Crs::wgs84());
    const Bbox filter = wgs84 ? box : Transformer(Crs::wgs84(), *crs).transform_bbox(box);
    layer->SetSpatialFilterRect(filter.minx, filter.miny, filter.maxx, filter.maxy);
    const int field = attribute.empty() ? -1 : layer->GetLayerDefn()->GetFieldIndex(attribute.c_str());
    if (!attribute.empty() && field < 0) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("overlap: layer '{}' of {} has no attribute '{}'", layer->GetName(), source, attribute));
    }
    for (auto& feature : *layer) {
      const OGRGeometry* geometry = feature->GetGeometryRef();
      if (geometry == nullptr) {
        continue;
      }
      const Geometry owned(geometry->clone());
      const Geometry lonlat = wgs84 ? owned.clone() : owned.transformed(*crs, Crs::wgs84());
      const double inside = geodesic_area(*lonlat.intersection(area).ogr());
      if (inside <= 0) {
        continue;
      }
      total += inside;
      if (field >= 0) {
        by_attribute[feature->IsFieldSetAndNotNull(field) ? feature->GetFieldAsString(field) : ""] += inside;
      }
    }
  }
  json result = {{"source", source}, {"area", total}, {"sketchArea", geodesic_area(*area.ogr())}};
  if (!attribute.empty()) {
    result["byAttribute"] = by_attribute;
  }
  return result;
}

// --- preprocessing --------------------------------------------------------------

bool is_set(const json& reference) {
  return !reference.is_null() && !(reference.is_string() && reference.get_ref<const std::string&>().empty());
}

}  // namespace

json zonal_statistics(const json& sketch, const std::vector<std::string>& rasters, bool categorical) {
  const Geometry area = sketch_area(sketch);
  json results = json::array();
  for (const std::string& href : rasters) {
    results.push_back(raster_zonal_statistics(href, area, categorical));
  }
  return {{"rasters", std::move(results)}};
}

json overlap(const json& sketch, const std::vector<std::string>& layers, const std::string& attribute) {
  const Geometry area = sketch_area(sketch);
  json results = json::array();
  for (const std::string& source : layers) {
    results.push_back(layer_overlap(source, area, attribute));
  }
  return {{"layers", std::move(results)}};
}

json preprocess_feature(const json& sketch, const PreprocessOptions& options) {
  if (!sketch.is_object() || sketch.value("type", "") != "Feature") {
    throw Error(ErrorCode::kInvalidInput, "sketch: expected a GeoJSON Feature");
  }
  const auto geometry_json = sketch.find("geometry");
  if (geometry_json == sketch.end() || !geometry_json->is_object()) {
    throw Error(ErrorCode::kInvalidInput, "sketch: the Feature has no geometry");
  }
  const std::string type = geometry_json->value("type", "");
  static constexpr std::string_view kAccepted[] = {"Point",           "MultiPoint", "LineString",
                                                   "MultiLineString", "Polygon",    "MultiPolygon"};
  if (std::find(std::begin(kAccepted), std::end(kAccepted), type) == std::end(kAccepted)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("sketch: expected a Point, LineString or Polygon (or Multi*), got {}",
                            type.empty() ? "no type" : type));
  }
  const bool polygonal = type == "Polygon" || type == "MultiPolygon";
  const bool punctual = type == "Point" || type == "MultiPoint";
  if (polygonal) {
    // packaging's checks: vertices, WGS84 range, validity (with where), area.
    (void)preprocess_sketch(*geometry_json);
  }
  Geometry geometry = Geometry::from_geojson(*geometry_json, "sketch.geometry");
  if (geometry.is_empty()) {
    throw Error(ErrorCode::kInvalidInput, "sketch: the geometry is empty");
  }
  const Bbox box = geometry.bbox();
  if (box.minx < -180 || box.maxx > 180 || box.miny < -90 || box.maxy > 90) {
    throw Error(ErrorCode::kInvalidInput,
                "sketch: coordinates outside longitude -180..180 / latitude -90..90 (expected WGS84)");
  }
  if (is_set(options.study_area)) {
    const Geometry study = read_reference_area(options.study_area, box, "studyArea");
    if (punctual ? !geometry.within(study) : !geometry.intersects(study)) {
      throw Error(ErrorCode::kInvalidInput, "outside of the study area");
    }
    if (!punctual) {
      geometry = geometry.intersection(study);
    }
  }
  if (is_set(options.forbidden)) {
    const Geometry forbidden = read_reference_area(options.forbidden, box, "forbidden");
    if (!forbidden.is_empty() && geometry.intersects(forbidden)) {
      throw Error(ErrorCode::kInvalidInput, "inside a forbidden area");
    }
  }
  if (is_set(options.shoreline)) {
    const Geometry land = read_reference_area(options.shoreline, box, "shoreline");
    if (!land.is_empty() && geometry.intersects(land)) {
      if (punctual) {
        throw Error(ErrorCode::kInvalidInput, "on land: the point lies on the land side of the shoreline");
      }
      geometry = geometry.difference(land);
      if (geometry.is_empty()) {
        throw Error(ErrorCode::kInvalidInput, "on land: nothing of the sketch remains after clipping to the shoreline");
      }
    }
  }
  json properties = json::object();
  if (const auto given = sketch.find("properties"); given != sketch.end() && given->is_object()) {
    for (const std::string& name : options.uses_attributes) {
      if (const auto value = given->find(name); value != given->end()) {
        properties[name] = *value;
      }
    }
  }
  json feature = {{"type", "Feature"}, {"geometry", geometry.to_geojson()}, {"properties", std::move(properties)}};
  if (const auto id = sketch.find("id"); id != sketch.end()) {
    feature["id"] = *id;
  }
  feature["bbox"] = geometry.bbox().to_json();
  return feature;
}

}  // namespace tessera
