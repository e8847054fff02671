// GeoJSON geometry <-> OGR geometry, with strict structural validation so a
// bad geometry is reported with the JSON path of the offending member.
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "core/geojson_reader.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

namespace tessera {
namespace {

using nlohmann::json;

// nlohmann_json as seen by the shared GeoJSON reader.
struct NlohmannAccess {
  using Node = const json*;
  static bool is_object(Node n) { return n->is_object(); }
  static bool is_array(Node n) { return n->is_array(); }
  static bool is_number(Node n) { return n->is_number(); }
  static bool is_string(Node n) { return n->is_string(); }
  static std::optional<Node> member(Node n, std::string_view name) {
    const auto it = n->find(name);
    return it == n->end() ? std::nullopt : std::optional<Node>(&*it);
  }
  static std::size_t size(Node n) { return n->size(); }
  static Node at(Node n, std::size_t i) { return &(*n)[i]; }
  static double number(Node n) { return n->get<double>(); }
  static std::string_view string(Node n) { return n->get_ref<const std::string&>(); }
  static std::string type_name(Node n) { return n->type_name(); }
};

json position_json(double x, double y, double z, bool has_z) {
  return has_z ? json::array({x, y, z}) : json::array({x, y});
}

json curve_json(const OGRSimpleCurve& curve) {
  json points = json::array();
  const bool has_z = curve.Is3D() != FALSE;
  for (int i = 0; i < curve.getNumPoints(); ++i) {
    points.push_back(position_json(curve.getX(i), curve.getY(i), curve.getZ(i), has_z));
  }
  return points;
}

json polygon_json(const OGRPolygon& polygon) {
  json rings = json::array();
  for (const auto* ring : polygon) {
    rings.push_back(curve_json(*ring));
  }
  return rings;
}

json geometry_json(const OGRGeometry& geometry) {
  switch (wkbFlatten(geometry.getGeometryType())) {
    case wkbPoint: {
      const auto& point = *geometry.toPoint();
      if (point.IsEmpty()) {
        return {{"type", "Point"}, {"coordinates", json::array()}};
      }
      return {{"type", "Point"},
              {"coordinates", position_json(point.getX(), point.getY(), point.getZ(), point.Is3D() != FALSE)}};
    }
    case wkbLineString:
      return {{"type", "LineString"}, {"coordinates", curve_json(*geometry.toLineString())}};
    case wkbPolygon:
      return {{"type", "Polygon"}, {"coordinates", polygon_json(*geometry.toPolygon())}};
    case wkbMultiPoint: {
      json points = json::array();
      for (const auto* point : *geometry.toMultiPoint()) {
        points.push_back(position_json(point->getX(), point->getY(), point->getZ(), point->Is3D() != FALSE));
      }
      return {{"type", "MultiPoint"}, {"coordinates", points}};
    }
    case wkbMultiLineString: {
      json lines = json::array();
      for (const auto* line : *geometry.toMultiLineString()) {
        lines.push_back(curve_json(*line));
      }
      return {{"type", "MultiLineString"}, {"coordinates", lines}};
    }
    case wkbMultiPolygon: {
      json polygons = json::array();
      for (const auto* polygon : *geometry.toMultiPolygon()) {
        polygons.push_back(polygon_json(*polygon));
      }
      return {{"type", "MultiPolygon"}, {"coordinates", polygons}};
    }
    case wkbGeometryCollection: {
      json members = json::array();
      for (const auto* member : *geometry.toGeometryCollection()) {
        members.push_back(geometry_json(*member));
      }
      return {{"type", "GeometryCollection"}, {"geometries", members}};
    }
    default:
      throw Error(ErrorCode::kUnsupported,
                  fmt::format("geometry type '{}' has no GeoJSON form", geometry.getGeometryName()));
  }
}

}  // namespace

Geometry Geometry::from_geojson(const nlohmann::json& geojson, std::string_view where) {
  return Geometry(geojson::Reader<NlohmannAccess>().geometry(&geojson, std::string(where)).release());
}

nlohmann::json Geometry::to_geojson() const {
  if (!geom_) {
    return nullptr;
  }
  return geometry_json(*geom_);
}

}  // namespace tessera
