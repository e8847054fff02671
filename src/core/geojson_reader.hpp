#pragma once

// The strict GeoJSON geometry reader, written once over a small JSON
// accessor so each JSON library tessera reads with (nlohmann_json for API
// values, simdjson for bulk loads) builds OGR geometries the same way with
// the same error messages. Internal header.
//
// A JSON accessor `J` provides, for its node type `J::Node`:
//   bool is_object/is_array/is_number/is_string(Node)
//   std::optional<Node> member(Node, std::string_view)   (objects)
//   std::size_t size(Node); Node at(Node, std::size_t)    (arrays)
//   double number(Node); std::string_view string(Node); std::string type_name(Node)

#include <cmath>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "tessera/error.hpp"

namespace tessera::geojson {

[[noreturn]] inline void fail(const std::string& path, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", path, problem));
}

template <typename J>
class Reader {
 public:
  using Node = typename J::Node;

  std::unique_ptr<OGRGeometry> geometry(const Node& value, const std::string& path, int depth = 0) {
    if (!J::is_object(value)) {
      fail(path, fmt::format("expected a GeoJSON geometry object, got {}", J::type_name(value)));
    }
    const auto type_node = J::member(value, "type");
    if (!type_node || !J::is_string(*type_node)) {
      fail(path + ".type", "missing or not a string");
    }
    const std::string_view type = J::string(*type_node);
    if (type == "GeometryCollection") {
      if (depth > 8) {
        fail(path, "GeometryCollection nested too deeply");
      }
      const auto members = J::member(value, "geometries");
      if (!members) {
        fail(path + ".geometries", "missing");
      }
      require_array(*members, path + ".geometries");
      auto collection = std::make_unique<OGRGeometryCollection>();
      for (std::size_t i = 0; i < J::size(*members); ++i) {
        collection->addGeometryDirectly(
            geometry(J::at(*members, i), fmt::format("{}.geometries[{}]", path, i), depth + 1).release());
      }
      return collection;
    }
    const auto coordinates_node = J::member(value, "coordinates");
    if (!coordinates_node) {
      fail(path + ".coordinates", "missing");
    }
    const Node& coordinates = *coordinates_node;
    const std::string at = path + ".coordinates";
    if (type == "Point") {
      double x = 0;
      double y = 0;
      double z = 0;
      return position(coordinates, at, x, y, z) ? std::make_unique<OGRPoint>(x, y, z)
                                                : std::make_unique<OGRPoint>(x, y);
    }
    if (type == "LineString") {
      auto line = std::make_unique<OGRLineString>();
      points(coordinates, at, *line, 2);
      return line;
    }
    if (type == "Polygon") {
      return polygon(coordinates, at);
    }
    require_array(coordinates, at);
    if (type == "MultiPoint") {
      auto multi = std::make_unique<OGRMultiPoint>();
      for (std::size_t i = 0; i < J::size(coordinates); ++i) {
        double x = 0;
        double y = 0;
        double z = 0;
        const bool has_z = position(J::at(coordinates, i), fmt::format("{}[{}]", at, i), x, y, z);
        multi->addGeometryDirectly(has_z ? new OGRPoint(x, y, z) : new OGRPoint(x, y));
      }
      return multi;
    }
    if (type == "MultiLineString") {
      auto multi = std::make_unique<OGRMultiLineString>();
      for (std::size_t i = 0; i < J::size(coordinates); ++i) {
        auto line = std::make_unique<OGRLineString>();
        points(J::at(coordinates, i), fmt::format("{}[{}]", at, i), *line, 2);
        multi->addGeometryDirectly(line.release());
      }
      return multi;
    }
    if (type == "MultiPolygon") {
      auto multi = std::make_unique<OGRMultiPolygon>();
      for (std::size_t i = 0; i < J::size(coordinates); ++i) {
        multi->addGeometryDirectly(polygon(J::at(coordinates, i), fmt::format("{}[{}]", at, i)).release());
      }
      return multi;
    }
    fail(path + ".type", fmt::format("unknown geometry type '{}'", type));
  }

 private:
  static void require_array(const Node& value, const std::string& path) {
    if (!J::is_array(value)) {
      fail(path, fmt::format("expected an array, got {}", J::type_name(value)));
    }
  }

  // Reads one position; returns whether it has a z value.
  static bool position(const Node& value, const std::string& path, double& x, double& y, double& z) {
    require_array(value, path);
    const std::size_t count = J::size(value);
    if (count < 2 || count > 4) {
      fail(path, fmt::format("a position needs 2 or 3 numbers, got {}", count));
    }
    double coordinates[3] = {0, 0, 0};
    for (std::size_t i = 0; i < count; ++i) {
      const Node element = J::at(value, i);
      if (!J::is_number(element)) {
        fail(fmt::format("{}[{}]", path, i), fmt::format("expected a number, got {}", J::type_name(element)));
      }
      const double number = J::number(element);
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
    return count >= 3;
  }

  static void points(const Node& value, const std::string& path, OGRSimpleCurve& curve, std::size_t min_points) {
    require_array(value, path);
    const std::size_t count = J::size(value);
    if (count < min_points) {
      fail(path, fmt::format("needs at least {} positions, got {}", min_points, count));
    }
    curve.setNumPoints(static_cast<int>(count), FALSE);
    for (std::size_t i = 0; i < count; ++i) {
      double x = 0;
      double y = 0;
      double z = 0;
      if (position(J::at(value, i), fmt::format("{}[{}]", path, i), x, y, z)) {
        curve.setPoint(static_cast<int>(i), x, y, z);
      } else {
        curve.setPoint(static_cast<int>(i), x, y);
      }
    }
  }

  static std::unique_ptr<OGRPolygon> polygon(const Node& rings, const std::string& path) {
    require_array(rings, path);
    auto result = std::make_unique<OGRPolygon>();
    for (std::size_t i = 0; i < J::size(rings); ++i) {
      const std::string ring_path = fmt::format("{}[{}]", path, i);
      auto ring = std::make_unique<OGRLinearRing>();
      points(J::at(rings, i), ring_path, *ring, 4);
      const int last = ring->getNumPoints() - 1;
      if (ring->getX(0) != ring->getX(last) || ring->getY(0) != ring->getY(last)) {
        fail(ring_path, "linear ring is not closed (first and last positions differ)");
      }
      result->addRingDirectly(ring.release());
    }
    return result;
  }
};

}  // namespace tessera::geojson
