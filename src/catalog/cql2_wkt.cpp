// WKT geometry literals of CQL2-Text, translated to GeoJSON with the checks
// GeoJSON makes (enough positions, closed rings) reported at their offsets.
#include <array>

#include <fmt/format.h>

#include "catalog/cql2_lexer.hpp"

namespace tessera::cql2::detail {
namespace {

using nlohmann::json;

struct WktType {
  std::string_view keyword;
  std::string_view geojson_type;
};

constexpr std::array kWktTypes = {
    WktType{"POINT", "Point"},
    WktType{"LINESTRING", "LineString"},
    WktType{"POLYGON", "Polygon"},
    WktType{"MULTIPOINT", "MultiPoint"},
    WktType{"MULTILINESTRING", "MultiLineString"},
    WktType{"MULTIPOLYGON", "MultiPolygon"},
    WktType{"GEOMETRYCOLLECTION", "GeometryCollection"},
};

const WktType* find_type(std::string_view word) {
  for (const WktType& type : kWktTypes) {
    if (equals_keyword(word, type.keyword)) {
      return &type;
    }
  }
  return nullptr;
}

class WktParser {
 public:
  WktParser(Lexer& lexer, std::size_t& nesting) : lexer_(lexer), nesting_(nesting) {}

  json geometry() {
    const Token keyword = lexer_.take();
    const WktType& type = *find_type(keyword.text);
    const NestingGuard guard(nesting_, lexer_, keyword.offset);
    if (lexer_.next_is_keyword("Z")) {
      const Token z = lexer_.take();
      if (dimension_ == 2) {
        lexer_.fail(z, "a Z geometry inside a 2D geometry collection");
      }
      dimension_ = 3;
    } else if (lexer_.next_is_keyword("M") || lexer_.next_is_keyword("ZM")) {
      lexer_.fail(lexer_.peek(), "measured (M) coordinates are not supported");
    }
    if (lexer_.next_is_keyword("EMPTY")) {
      lexer_.fail(lexer_.peek(), "empty geometries are not supported");
    }
    const std::string_view name = type.keyword;
    json geojson = {{"type", type.geojson_type}};
    if (type.geojson_type == "GeometryCollection") {
      geojson["geometries"] = list(name, [this] { return member(); });
      return geojson;
    }
    json coordinates;
    if (type.geojson_type == "Point") {
      lexer_.expect_symbol("(", "after POINT");
      coordinates = position();
      lexer_.expect_symbol(")", "to close the POINT coordinates");
    } else if (type.geojson_type == "LineString") {
      coordinates = positions(name, 2);
    } else if (type.geojson_type == "Polygon") {
      coordinates = rings(name);
    } else if (type.geojson_type == "MultiPoint") {
      coordinates = list(name, [this] { return multipoint_member(); });
    } else if (type.geojson_type == "MultiLineString") {
      coordinates = list(name, [this, name] { return positions(name, 2); });
    } else {
      coordinates = list(name, [this, name] { return rings(name); });
    }
    geojson["coordinates"] = std::move(coordinates);
    return geojson;
  }

 private:
  // "(" item {"," item} ")"
  template <class ReadItem>
  json list(std::string_view name, ReadItem read_item) {
    lexer_.expect_symbol("(", fmt::format("after {}", name));
    json items = json::array();
    do {
      items.push_back(read_item());
    } while (lexer_.take_symbol(","));
    lexer_.expect_symbol(")", fmt::format("or ',' in {}", name));
    return items;
  }

  json member() {
    const Token& next = lexer_.peek();
    if (next.kind != TokenKind::kWord || find_type(next.text) == nullptr) {
      lexer_.fail(next, "expected a geometry (POINT, POLYGON, ...) in GEOMETRYCOLLECTION");
    }
    return geometry();
  }

  // MULTIPOINT allows both (1 2, 3 4) and ((1 2), (3 4)).
  json multipoint_member() {
    if (!lexer_.take_symbol("(")) {
      return position();
    }
    json point = position();
    lexer_.expect_symbol(")", "to close the MULTIPOINT point");
    return point;
  }

  json positions(std::string_view name, std::size_t minimum) {
    const std::size_t offset = lexer_.peek().offset;
    json points = list(name, [this] { return position(); });
    if (points.size() < minimum) {
      lexer_.fail_at(offset, fmt::format("{} needs at least {} positions, found {}", name, minimum, points.size()));
    }
    return points;
  }

  json rings(std::string_view name) {
    return list(name, [this, name] {
      const std::size_t offset = lexer_.peek().offset;
      json ring = positions(name, 4);
      if (ring.front() != ring.back()) {
        lexer_.fail_at(offset, fmt::format("{} ring is not closed: its first and last positions differ", name));
      }
      return ring;
    });
  }

  // "x y" or "x y z"; every position of one literal has the same dimension.
  json position() {
    const std::size_t offset = lexer_.peek().offset;
    json coordinates = {number(), number()};
    const Token& next = lexer_.peek();
    if (next.kind == TokenKind::kNumber || lexer_.next_is_symbol("-") || lexer_.next_is_symbol("+")) {
      coordinates.push_back(number());
    }
    if (dimension_ == 0) {
      dimension_ = coordinates.size();
    } else if (coordinates.size() != dimension_) {
      lexer_.fail_at(offset,
                     fmt::format("expected a position of {} coordinates, found {}", dimension_, coordinates.size()));
    }
    return coordinates;
  }

  double number() {
    const bool negative = lexer_.take_symbol("-");
    if (!negative) {
      lexer_.take_symbol("+");
    }
    const Token token = lexer_.take();
    if (token.kind != TokenKind::kNumber) {
      lexer_.fail(token, "expected a coordinate");
    }
    const double value = number_value(lexer_, token).get<double>();
    return negative ? -value : value;
  }

  Lexer& lexer_;
  std::size_t& nesting_;
  std::size_t dimension_ = 0;  // coordinates per position once known
};

}  // namespace

bool is_wkt_keyword(std::string_view word) noexcept { return find_type(word) != nullptr; }

json parse_wkt(Lexer& lexer, std::size_t& nesting) { return WktParser(lexer, nesting).geometry(); }

}  // namespace tessera::cql2::detail
