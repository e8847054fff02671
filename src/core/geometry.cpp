#include "tessera/geometry.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <ogr_api.h>
#include <ogr_geometry.h>

#include "core/gdal_env.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

// --- Bbox -------------------------------------------------------------------

namespace {

// The longitude intervals a box covers: one, or two when it crosses the antimeridian.
int longitude_spans(const Bbox& box, double spans[2][2]) {
  if (!box.crosses_antimeridian()) {
    spans[0][0] = box.minx;
    spans[0][1] = box.maxx;
    return 1;
  }
  spans[0][0] = box.minx;
  spans[0][1] = 180.0;
  spans[1][0] = -180.0;
  spans[1][1] = box.maxx;
  return 2;
}

}  // namespace

bool Bbox::contains(const Bbox& other, double tolerance) const noexcept {
  if (other.miny < miny - tolerance || other.maxy > maxy + tolerance) {
    return false;
  }
  double outer[2][2];
  double inner[2][2];
  const int outer_count = longitude_spans(*this, outer);
  const int inner_count = longitude_spans(other, inner);
  for (int i = 0; i < inner_count; ++i) {
    bool covered = false;
    for (int o = 0; o < outer_count && !covered; ++o) {
      covered = inner[i][0] >= outer[o][0] - tolerance && inner[i][1] <= outer[o][1] + tolerance;
    }
    if (!covered) {
      return false;
    }
  }
  return true;
}

bool Bbox::intersects(const Bbox& other) const noexcept {
  if (other.miny > maxy || other.maxy < miny) {
    return false;
  }
  double a[2][2];
  double b[2][2];
  const int a_count = longitude_spans(*this, a);
  const int b_count = longitude_spans(other, b);
  for (int i = 0; i < a_count; ++i) {
    for (int j = 0; j < b_count; ++j) {
      if (a[i][0] <= b[j][1] && b[j][0] <= a[i][1]) {
        return true;
      }
    }
  }
  return false;
}

nlohmann::json Bbox::to_json() const { return json::array({minx, miny, maxx, maxy}); }

Bbox Bbox::from_json(const nlohmann::json& value, std::string_view where) {
  if (!value.is_array() || (value.size() != 4 && value.size() != 6)) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected an array of 4 or 6 numbers", where));
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_number() || !std::isfinite(value[i].get<double>())) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}[{}]: expected a finite number", where, i));
    }
  }
  const std::size_t half = value.size() / 2;
  Bbox box{value[0].get<double>(), value[1].get<double>(), value[half].get<double>(), value[half + 1].get<double>()};
  if (box.miny > box.maxy) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: south ({}) is greater than north ({})", where, box.miny, box.maxy));
  }
  if (half == 3 && value[2].get<double>() > value[5].get<double>()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: minimum z is greater than maximum z", where));
  }
  return box;
}

// --- Geometry ---------------------------------------------------------------

void Geometry::Deleter::operator()(OGRGeometry* geometry) const noexcept {
  OGRGeometryFactory::destroyGeometry(geometry);
}

Geometry::Geometry() = default;
Geometry::Geometry(OGRGeometry* owned) : geom_(owned) {}
Geometry::~Geometry() = default;
Geometry::Geometry(Geometry&&) noexcept = default;
Geometry& Geometry::operator=(Geometry&&) noexcept = default;

namespace {

const OGRGeometry& require(const OGRGeometry* geometry) {
  if (geometry == nullptr) {
    throw Error(ErrorCode::kInvalidInput, "geometry is null");
  }
  return *geometry;
}

// GEOS-backed operations return null and emit a GDAL error on failure.
Geometry checked_result(OGRGeometry* result, std::string_view operation) {
  if (result == nullptr) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, fmt::format("geometry {} failed", operation));
  }
  return Geometry(result);
}

}  // namespace

Geometry Geometry::clone() const { return Geometry(geom_ ? geom_->clone() : nullptr); }

Geometry Geometry::from_wkt(std::string_view wkt) {
  gdal::ensure_initialized();
  const std::string text(wkt);
  OGRGeometry* geometry = nullptr;
  const OGRErr err = OGRGeometryFactory::createFromWkt(text.c_str(), nullptr, &geometry);
  if (err != OGRERR_NONE || geometry == nullptr) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("invalid WKT geometry '{}'", text.substr(0, std::min<std::size_t>(text.size(), 80))));
  }
  return Geometry(geometry);
}

Geometry Geometry::from_bbox(const Bbox& box) {
  auto make_polygon = [](double minx, double miny, double maxx, double maxy) {
    auto* ring = new OGRLinearRing();
    ring->addPoint(minx, miny);
    ring->addPoint(maxx, miny);
    ring->addPoint(maxx, maxy);
    ring->addPoint(minx, maxy);
    ring->addPoint(minx, miny);
    auto* polygon = new OGRPolygon();
    polygon->addRingDirectly(ring);
    return polygon;
  };
  if (!box.crosses_antimeridian()) {
    return Geometry(make_polygon(box.minx, box.miny, box.maxx, box.maxy));
  }
  auto* multi = new OGRMultiPolygon();
  multi->addGeometryDirectly(make_polygon(box.minx, box.miny, 180.0, box.maxy));
  multi->addGeometryDirectly(make_polygon(-180.0, box.miny, box.maxx, box.maxy));
  return Geometry(multi);
}

std::string Geometry::to_wkt() const {
  if (!geom_) {
    return {};
  }
  return geom_->exportToWkt();
}

std::string Geometry::type_name() const {
  if (!geom_) {
    return "null";
  }
  switch (wkbFlatten(geom_->getGeometryType())) {
    case wkbPoint:
      return "Point";
    case wkbLineString:
      return "LineString";
    case wkbPolygon:
      return "Polygon";
    case wkbMultiPoint:
      return "MultiPoint";
    case wkbMultiLineString:
      return "MultiLineString";
    case wkbMultiPolygon:
      return "MultiPolygon";
    case wkbGeometryCollection:
      return "GeometryCollection";
    default:
      return geom_->getGeometryName();
  }
}

bool Geometry::is_empty() const { return !geom_ || geom_->IsEmpty() != FALSE; }

Bbox Geometry::bbox() const {
  const auto& geometry = require(geom_.get());
  if (geometry.IsEmpty()) {
    throw Error(ErrorCode::kInvalidInput, "an empty geometry has no bbox");
  }
  OGREnvelope envelope;
  geometry.getEnvelope(&envelope);
  return Bbox{envelope.MinX, envelope.MinY, envelope.MaxX, envelope.MaxY};
}

Validity Geometry::validity() const {
  const auto& geometry = require(geom_.get());
  // GEOS hands its reason ("Self-intersection[x y]") to GDAL as a warning.
  gdal::ErrorCapture capture;
  if (geometry.IsValid() != FALSE) {
    return {};
  }
  return {false, capture.messages().empty() ? std::string("invalid geometry") : capture.messages()};
}

Geometry Geometry::make_valid() const { return checked_result(require(geom_.get()).MakeValid(), "make_valid"); }

bool Geometry::intersects(const Geometry& other) const {
  return require(geom_.get()).Intersects(&require(other.geom_.get())) != FALSE;
}
bool Geometry::contains(const Geometry& other) const {
  return require(geom_.get()).Contains(&require(other.geom_.get())) != FALSE;
}
bool Geometry::within(const Geometry& other) const {
  return require(geom_.get()).Within(&require(other.geom_.get())) != FALSE;
}
bool Geometry::disjoint(const Geometry& other) const {
  return require(geom_.get()).Disjoint(&require(other.geom_.get())) != FALSE;
}
bool Geometry::equals(const Geometry& other) const {
  // The same point set (OGR's own Equals compares vertices in order).
  return within(other) && other.within(*this);
}
Geometry Geometry::intersection(const Geometry& other) const {
  return checked_result(require(geom_.get()).Intersection(&require(other.geom_.get())), "intersection");
}
Geometry Geometry::difference(const Geometry& other) const {
  return checked_result(require(geom_.get()).Difference(&require(other.geom_.get())), "difference");
}

double Geometry::area() const {
  return OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(&require(geom_.get()))));
}

Geometry Geometry::transformed(const Crs& from, const Crs& to) const { return Transformer(from, to).transform(*this); }

Geometry Geometry::to_wgs84(const Crs& from) const {
  if (!geom_) {
    throw Error(ErrorCode::kInvalidInput, "geometry is null");
  }
  if (&from == &Crs::wgs84() || from.same_as(Crs::wgs84())) {
    OGREnvelope envelope;
    geom_->getEnvelope(&envelope);
    if (envelope.MinX >= -180.0 && envelope.MaxX <= 180.0) {
      return clone();  // nothing to reproject or split
    }
  }
  std::unique_ptr<OGRCoordinateTransformation> transformation(
      OGRCreateCoordinateTransformation(from.ogr(), Crs::wgs84().ogr()));
  if (!transformation) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "no transformation to WGS84");
  }
  // OGR's wrapping splits at the antimeridian and closes polygons around a pole.
  OGRGeometryFactory::TransformWithOptionsCache cache;
  const char* wrap[] = {"WRAPDATELINE=YES", nullptr};
  OGRGeometry* wrapped =
      OGRGeometryFactory::transformWithOptions(geom_.get(), transformation.get(), const_cast<char**>(wrap), cache);
  if (wrapped == nullptr || wrapped->IsEmpty()) {
    delete wrapped;
    gdal::throw_last_error(ErrorCode::kInvalidInput, "geometry could not be reprojected to WGS84");
  }
  return Geometry(wrapped);
}

// --- Crs --------------------------------------------------------------------

namespace {

std::shared_ptr<OGRSpatialReference> make_srs() {
  gdal::ensure_initialized();
  auto srs =
      std::shared_ptr<OGRSpatialReference>(new OGRSpatialReference(), [](OGRSpatialReference* s) { s->Release(); });
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

}  // namespace

Crs::Crs(std::shared_ptr<OGRSpatialReference> srs) : srs_(std::move(srs)) {}

Crs Crs::from_user_input(std::string_view definition) {
  auto srs = make_srs();
  const std::string text(definition);
  if (text.empty() || srs->SetFromUserInput(text.c_str()) != OGRERR_NONE) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("unknown or invalid CRS '{}'", text.substr(0, std::min<std::size_t>(text.size(), 120))));
  }
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return Crs(std::move(srs));
}

Crs Crs::from_epsg(int code) {
  auto srs = make_srs();
  if (srs->importFromEPSG(code) != OGRERR_NONE) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("unknown EPSG code {}", code));
  }
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return Crs(std::move(srs));
}

const Crs& Crs::wgs84() {
  static const Crs instance = from_epsg(4326);
  return instance;
}

std::string Crs::to_wkt() const {
  char* wkt = nullptr;
  const char* options[] = {"FORMAT=WKT2_2019", nullptr};
  srs_->exportToWkt(&wkt, options);
  std::string result = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  return result;
}

std::string Crs::to_projjson() const {
  char* text = nullptr;
  srs_->exportToPROJJSON(&text, nullptr);
  std::string result = text != nullptr ? text : "";
  CPLFree(text);
  return result;
}

std::string Crs::authority_code() const {
  const char* name = srs_->GetAuthorityName(nullptr);
  const char* code = srs_->GetAuthorityCode(nullptr);
  if (name == nullptr || code == nullptr) {
    return {};
  }
  return fmt::format("{}:{}", name, code);
}

bool Crs::is_geographic() const { return srs_->IsGeographic() != FALSE; }

bool Crs::same_as(const Crs& other) const {
  const char* options[] = {"IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", "CRITERION=EQUIVALENT", nullptr};
  return srs_->IsSame(other.srs_.get(), options) != FALSE;
}

// --- Transformer ------------------------------------------------------------

void Transformer::Deleter::operator()(OGRCoordinateTransformation* transformation) const noexcept {
  OGRCoordinateTransformation::DestroyCT(transformation);
}

Transformer::Transformer(const Crs& from, const Crs& to) {
  gdal::ensure_initialized();
  transformation_.reset(OGRCreateCoordinateTransformation(from.ogr(), to.ogr()));
  if (!transformation_) {
    gdal::throw_last_error(ErrorCode::kInvalidInput,
                           fmt::format("no transformation from {} to {}", from.authority_code(), to.authority_code()));
  }
}

Transformer::~Transformer() = default;
Transformer::Transformer(Transformer&&) noexcept = default;
Transformer& Transformer::operator=(Transformer&&) noexcept = default;

void Transformer::transform(double* x, double* y, std::size_t count) const {
  if (count == 0) {
    return;
  }
  if (!transformation_->Transform(static_cast<int>(count), x, y)) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "coordinates could not be transformed");
  }
}

Bbox Transformer::transform_bbox(const Bbox& box, int densify_points) const {
  Bbox out;
  if (!transformation_->TransformBounds(box.minx, box.miny, box.maxx, box.maxy, &out.minx, &out.miny, &out.maxx,
                                        &out.maxy, densify_points)) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "bbox could not be transformed");
  }
  return out;
}

Geometry Transformer::transform(const Geometry& geometry) const {
  Geometry copy = geometry.clone();
  if (copy.ogr() == nullptr) {
    throw Error(ErrorCode::kInvalidInput, "geometry is null");
  }
  if (copy.ogr()->transform(transformation_.get()) != OGRERR_NONE) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "geometry could not be transformed");
  }
  return copy;
}

}  // namespace tessera
