#include "packaging/boundary_projection.hpp"

#include <fmt/format.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include "core/gdal_env.hpp"

namespace tessera::packaging {

namespace {

Geometry shifted(const Geometry& geometry, double dx) {
  Geometry copy = geometry.clone();
  struct Shift : OGRDefaultGeometryVisitor {
    double dx = 0;
    using OGRDefaultGeometryVisitor::visit;
    void visit(OGRPoint* point) override { point->setX(point->getX() + dx); }
    void visit(OGRLineString* line) override {
      for (int i = 0; i < line->getNumPoints(); ++i) {
        line->setPoint(i, line->getX(i) + dx, line->getY(i));
      }
    }
    void visit(OGRLinearRing* ring) override { visit(static_cast<OGRLineString*>(ring)); }
  } shift;
  shift.dx = dx;
  copy.ogr()->accept(&shift);
  return copy;
}

}  // namespace

void append_polygons(const OGRGeometry& geometry, OGRMultiPolygon& into) {
  switch (wkbFlatten(geometry.getGeometryType())) {
    case wkbPolygon:
      into.addGeometry(&geometry);
      break;
    case wkbMultiPolygon:
    case wkbGeometryCollection:
      for (const auto* part : *geometry.toGeometryCollection()) {
        append_polygons(*part, into);
      }
      break;
    default:  // points and lines left by an overlay have no area
      break;
  }
}

Geometry union_of(const OGRMultiPolygon& polygons) {
  if (polygons.IsEmpty()) {
    return Geometry(new OGRMultiPolygon());
  }
  OGRGeometry* merged = polygons.UnionCascaded();
  if (merged == nullptr) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "merging polygons failed");
  }
  return Geometry(merged);
}

Crs crs_of(const OGRSpatialReference* srs) {
  if (srs == nullptr) {
    return Crs::wgs84();
  }
  char* wkt = nullptr;
  const char* options[] = {"FORMAT=WKT2_2019", nullptr};
  srs->exportToWkt(&wkt, options);
  std::string text = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  return Crs::from_user_input(text);
}

Error no_data_error(std::string_view source) {
  return Error(ErrorCode::kNotFound, fmt::format("no data for this boundary: it covers no data of '{}'", source));
}

std::string crs_label(const Crs& crs) {
  const std::string code = crs.authority_code();
  return code.empty() ? crs.to_wkt() : code;
}

double degrees_of(const Crs& crs, double length) {
  if (crs.is_geographic()) {
    return length;
  }
  constexpr double kMetresPerDegree = 111320.0;
  return length * crs.ogr()->GetLinearUnits() / kMetresPerDegree;
}

Geometry boundary_in_crs(const Geometry& boundary, const Crs& target, const std::optional<Bbox>& extent,
                         double max_segment_degrees) {
  Geometry local;
  if (target.same_as(Crs::wgs84())) {
    local = boundary.clone();
  } else if (max_segment_degrees > 0 && !target.is_geographic()) {
    Geometry dense = boundary.clone();
    dense.ogr()->segmentize(max_segment_degrees);
    local = dense.transformed(Crs::wgs84(), target);
  } else {
    local = boundary.transformed(Crs::wgs84(), target);
  }
  if (!target.is_geographic() || !extent) {
    return local;
  }
  const Bbox own = local.bbox();
  const bool beyond_west = own.minx < extent->minx;
  const bool beyond_east = own.maxx > extent->maxx;
  const bool reach_west = own.minx - 360.0 <= extent->maxx && own.maxx - 360.0 >= extent->minx;
  const bool reach_east = own.minx + 360.0 <= extent->maxx && own.maxx + 360.0 >= extent->minx;
  if (!(beyond_east && reach_west) && !(beyond_west && reach_east)) {
    return local;
  }
  // Each copy a turn apart keeps only what lies over the data, so the pieces
  // do not overlap and their union is a valid (multi)polygon.
  const Geometry window = Geometry::from_bbox(*extent);
  OGRMultiPolygon pieces;
  for (const double dx : {-360.0, 0.0, 360.0}) {
    append_polygons(*(dx == 0.0 ? local.clone() : shifted(local, dx)).intersection(window).ogr(), pieces);
  }
  return union_of(pieces);
}

}  // namespace tessera::packaging
