// GeoJSON geometry <-> OGR geometry, with strict structural validation so a
// bad geometry is reported with the JSON path of the offending member.
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

namespace tessera {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", path, problem));
}

const json& require_array(const json& value, const std::string& path) {
  if (!value.is_array()) {
    fail(path, fmt::format("expected an array, got {}", value.type_name()));
  }
  return value;
}

// Reads one position; returns whether it has a z value.
bool read_position(const json& value, const std::string& path, double& x, double& y, double& z) {
  require_array(value, path);
  if (value.size() < 2 || value.size() > 4) {
    fail(path, fmt::format("a position needs 2 or 3 numbers, got {}", value.size()));
  }
  double coordinates[3] = {0, 0, 0};
  const std::size_t count = value.size() >= 3 ? 3 : 2;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_number()) {
      fail(fmt::format("{}[{}]", path, i), fmt::format("expected a number, got {}", value[i].type_name()));
    }
    const double number = value[i].get<double>();
    if (!std::isfinite(number)) {
      fail(fmt::format("{}[{}]", path, i), "coordinate is not finite");
    }
    if (i < 3) {
      coordinates[i] = number;
    }
  }
  x = coordinates[0];
  y = coordinates[1];
  z = coordinates[2];
  return count == 3;
}

template <typename Curve>
void read_points(const json& value, const std::string& path, Curve& curve, std::size_t min_points) {
  require_array(value, path);
  if (value.size() < min_points) {
    fail(path, fmt::format("needs at least {} positions, got {}", min_points, value.size()));
  }
  curve.setNumPoints(static_cast<int>(value.size()), FALSE);
  for (std::size_t i = 0; i < value.size(); ++i) {
    double x = 0;
    double y = 0;
    double z = 0;
    if (read_position(value[i], fmt::format("{}[{}]", path, i), x, y, z)) {
      curve.setPoint(static_cast<int>(i), x, y, z);
    } else {
      curve.setPoint(static_cast<int>(i), x, y);
    }
  }
}

std::unique_ptr<OGRPolygon> read_polygon(const json& rings, const std::string& path) {
  require_array(rings, path);
  auto polygon = std::make_unique<OGRPolygon>();
  for (std::size_t i = 0; i < rings.size(); ++i) {
    const std::string ring_path = fmt::format("{}[{}]", path, i);
    auto ring = std::make_unique<OGRLinearRing>();
    read_points(rings[i], ring_path, *ring, 4);
    OGRPoint first;
    OGRPoint last;
    ring->StartPoint(&first);
    ring->EndPoint(&last);
    if (first.getX() != last.getX() || first.getY() != last.getY()) {
      fail(ring_path, "linear ring is not closed (first and last positions differ)");
    }
    polygon->addRingDirectly(ring.release());
  }
  return polygon;
}

std::unique_ptr<OGRGeometry> read_geometry(const json& value, const std::string& path, int depth) {
  if (!value.is_object()) {
    fail(path, fmt::format("expected a GeoJSON geometry object, got {}", value.type_name()));
  }
  const auto type_it = value.find("type");
  if (type_it == value.end() || !type_it->is_string()) {
    fail(path + ".type", "missing or not a string");
  }
  const auto& type = type_it->get_ref<const std::string&>();
  if (type == "GeometryCollection") {
    if (depth > 8) {
      fail(path, "GeometryCollection nested too deeply");
    }
    const auto members = value.find("geometries");
    if (members == value.end()) {
      fail(path + ".geometries", "missing");
    }
    require_array(*members, path + ".geometries");
    auto collection = std::make_unique<OGRGeometryCollection>();
    for (std::size_t i = 0; i < members->size(); ++i) {
      collection->addGeometryDirectly(
          read_geometry((*members)[i], fmt::format("{}.geometries[{}]", path, i), depth + 1).release());
    }
    return collection;
  }
  const auto coordinates_it = value.find("coordinates");
  if (coordinates_it == value.end()) {
    fail(path + ".coordinates", "missing");
  }
  const json& coordinates = *coordinates_it;
  const std::string coordinates_path = path + ".coordinates";
  if (type == "Point") {
    double x = 0;
    double y = 0;
    double z = 0;
    if (read_position(coordinates, coordinates_path, x, y, z)) {
      return std::make_unique<OGRPoint>(x, y, z);
    }
    return std::make_unique<OGRPoint>(x, y);
  }
  if (type == "LineString") {
    auto line = std::make_unique<OGRLineString>();
    read_points(coordinates, coordinates_path, *line, 2);
    return line;
  }
  if (type == "Polygon") {
    return read_polygon(coordinates, coordinates_path);
  }
  require_array(coordinates, coordinates_path);
  if (type == "MultiPoint") {
    auto multi = std::make_unique<OGRMultiPoint>();
    for (std::size_t i = 0; i < coordinates.size(); ++i) {
      double x = 0;
      double y = 0;
      double z = 0;
      const bool has_z = read_position(coordinates[i], fmt::format("{}[{}]", coordinates_path, i), x, y, z);
      multi->addGeometryDirectly(has_z ? new OGRPoint(x, y, z) : new OGRPoint(x, y));
    }
    return multi;
  }
  if (type == "MultiLineString") {
    auto multi = std::make_unique<OGRMultiLineString>();
    for (std::size_t i = 0; i < coordinates.size(); ++i) {
      auto line = std::make_unique<OGRLineString>();
      read_points(coordinates[i], fmt::format("{}[{}]", coordinates_path, i), *line, 2);
      multi->addGeometryDirectly(line.release());
    }
    return multi;
  }
  if (type == "MultiPolygon") {
    auto multi = std::make_unique<OGRMultiPolygon>();
    for (std::size_t i = 0; i < coordinates.size(); ++i) {
      multi->addGeometryDirectly(read_polygon(coordinates[i], fmt::format("{}[{}]", coordinates_path, i)).release());
    }
    return multi;
  }
  fail(path + ".type", fmt::format("unknown geometry type '{}'", type));
}

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
  return Geometry(read_geometry(geojson, std::string(where), 0).release());
}

nlohmann::json Geometry::to_geojson() const {
  if (!geom_) {
    return nullptr;
  }
  return geometry_json(*geom_);
}

}  // namespace tessera
