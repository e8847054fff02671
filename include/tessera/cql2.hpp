#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"

namespace tessera {
class Geometry;
}

// OGC Common Query Language (CQL2 1.0, OGC 21-065r2) filters over STAC items.
//
// CQL2-Text and CQL2-JSON both parse into one validated, immutable AST (Expr),
// which evaluate() runs against an item in memory. Conformance classes covered:
// Basic CQL2, Advanced Comparison Operators (LIKE, BETWEEN, IN), Case- and
// Accent-insensitive Comparison, Basic Spatial and Spatial Functions, Temporal
// Functions, Array Functions, Property-Property comparisons and Arithmetic
// (+ - * / % div ^).
// Custom functions are not supported: an unknown operator is InvalidInput.
//
// Every malformed filter is tessera::Error(ErrorCode::kInvalidInput) whose
// message names the place: "CQL2 text, character 17: ..." for text (0-based
// character offset and the offending token) and the JSON path, such as
// "filter.args[1].op: ...", for JSON.
namespace tessera::cql2 {

// Nesting deeper than this (operators, arrays, intervals, parentheses) is
// InvalidInput, so no filter can exhaust the stack while parsed, evaluated or freed.
inline constexpr std::size_t kMaxDepth = 256;
// Longer CQL2-Text is InvalidInput; the room is for detailed polygons.
inline constexpr std::size_t kMaxTextBytes = std::size_t{16} << 20;

enum class Op : std::uint8_t {
  kAnd,
  kOr,
  kNot,
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kLike,
  kBetween,
  kIn,
  kIsNull,
  kCasei,
  kAccenti,
  kSIntersects,
  kSEquals,
  kSDisjoint,
  kSTouches,
  kSWithin,
  kSOverlaps,
  kSCrosses,
  kSContains,
  kTAfter,
  kTBefore,
  kTContains,
  kTDisjoint,
  kTDuring,
  kTEquals,
  kTFinishedBy,
  kTFinishes,
  kTIntersects,
  kTMeets,
  kTMetBy,
  kTOverlappedBy,
  kTOverlaps,
  kTStartedBy,
  kTStarts,
  kAEquals,
  kAContains,
  kAContainedBy,
  kAOverlaps,
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kModulo,
  kIntegerDivide,
  kPower,
  // UPPER(x) and LOWER(x): not CQL2 functions, but pgstac reads them (as
  // {"upper": x} and {"op": "upper", ...}) and so does tessera.
  kUpper,
  kLower,
};

// The CQL2-JSON name of `op`: "and", "=", "isNull", "t_metBy", "a_containedBy", "div", ...
TESSERA_API std::string_view op_name(Op op) noexcept;
// The operator with CQL2-JSON name `name`, compared case-insensitively so the
// lower-case spellings some servers send ("isnull", "a_containedby") are accepted.
// The names pgstac also reads are aliases: the CQL1-JSON comparisons "eq",
// "neq"/"ne"/"!=", "lt", "lte"/"le", "gt", "gte"/"ge", "anyinteracts"
// (t_intersects), "intersects" (s_intersects) and "a_contained_by".
TESSERA_API std::optional<Op> op_from_name(std::string_view name) noexcept;

struct Node;
namespace detail {
struct NodeFactory;
}

// A node of a validated filter. Copies share the immutable node, so passing
// and storing expressions is cheap and they may be used from several threads.
class TESSERA_API Expr {
 public:
  [[nodiscard]] const Node& node() const noexcept { return *node_; }
  // The node as alternative T of Node::value, or null when it is another kind.
  template <class T>
  [[nodiscard]] const T* get_if() const noexcept;

 private:
  friend struct detail::NodeFactory;
  explicit Expr(std::shared_ptr<const Node> node) : node_(std::move(node)) {}

  std::shared_ptr<const Node> node_;
};

// An item field: "id", "collection" and "geometry" are the item's own members,
// any other name (optionally written "properties.<name>") is in "properties".
struct PropertyRef {
  std::string name;
};

// A string, number, boolean or null.
struct Literal {
  nlohmann::json value;
};

// TIMESTAMP('2020-01-01T00:00:00Z'): `text` as written, `micros` since the epoch.
struct TimestampLiteral {
  std::string text;
  std::int64_t micros = 0;
};

// DATE('2020-01-01'): the instant of its midnight UTC, as pgstac casts dates.
struct DateLiteral {
  std::string text;
  std::int64_t micros = 0;
};

// INTERVAL(start, end), both ends included. Each end is a TimestampLiteral,
// DateLiteral, PropertyRef or Operation; an empty end is open ('..').
struct IntervalLiteral {
  std::optional<Expr> start;
  std::optional<Expr> end;
};

// A geometry literal (WKT in text, GeoJSON in JSON), read once when parsed.
struct GeometryLiteral {
  nlohmann::json geojson;
  std::shared_ptr<const Geometry> geometry;
};

// BBOX(minx, miny, maxx, maxy) or its 6-number 3D form; minx > maxx crosses
// the antimeridian. `geometry` is the box's polygon (z is ignored).
struct BboxLiteral {
  std::vector<double> coordinates;
  std::shared_ptr<const Geometry> geometry;
};

// An array literal: ('a', 'b') in text, ["a", "b"] in JSON.
struct ArrayLiteral {
  std::vector<Expr> items;
};

// An operator or function applied to its arguments (arity and types checked).
struct Operation {
  Op op = Op::kAnd;
  std::vector<Expr> args;
};

struct Node {
  std::variant<PropertyRef, Literal, TimestampLiteral, DateLiteral, IntervalLiteral, GeometryLiteral, BboxLiteral,
               ArrayLiteral, Operation>
      value;
};

template <class T>
const T* Expr::get_if() const noexcept {
  return std::get_if<T>(&node_->value);
}

// Translates CQL2-Text into the equivalent standard CQL2-JSON, e.g.
// "eo:cloud_cover < 10" -> {"op":"<","args":[{"property":"eo:cloud_cover"},10]}.
// Keywords are case-insensitive; NOT LIKE, NOT BETWEEN, NOT IN and IS NOT NULL
// become "not" around the positive predicate; unary minus on a non-literal
// becomes a multiplication by -1; chains of one operator (a AND b AND c) become
// one operation. Operators and literals are checked as parse_json() checks
// them, except that only parse_json() builds geometries (GEOS-level checks).
TESSERA_API nlohmann::json text_to_json(std::string_view text);

// Validates CQL2-JSON: operator names, arity, operand kinds and literal values
// (timestamps, dates, intervals, bboxes, GeoJSON). `where` names the root in
// error messages. Legacy lower-case operator names are normalized.
TESSERA_API Expr parse_json(const nlohmann::json& filter, std::string_view where = "filter");

// parse_json(text_to_json(text)).
TESSERA_API Expr parse_text(std::string_view text);

// The canonical CQL2-JSON of an expression (operators by their standard names).
TESSERA_API nlohmann::json to_json(const Expr& expr);

// The names of the properties `expr` refers to, each once, in order of first use.
TESSERA_API std::vector<std::string> properties(const Expr& expr);

// Whether `item` (a STAC Item, GeoJSON Feature) matches the filter.
//
// Evaluation follows SQL's three-valued logic, as pgstac does: a missing or
// null property is NULL, any comparison or function with a NULL operand is
// unknown, as is one whose operands have kinds that cannot be compared (a
// string against a number, a malformed timestamp, division by zero). NOT of
// unknown is unknown; AND is false if any operand is false, OR true if any is
// true. The item matches only when the whole filter is true; "IS NULL" is true
// for a NULL or unknown operand.
//
// Values: strings compare by their UTF-8 bytes, and a string meeting a number
// is read as a number where it reads as one ('10', ' 1e1 ': PostgreSQL's float
// input), else the comparison is unknown. This is how pgstac and the catalogs
// compare a property whose queryable type is number, without the queryables:
// two strings still compare as strings here. LIKE is case-sensitive with
// '%', '_' (one character) and '\' escaping the next character; CASEI folds
// case (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic), ACCENTI removes
// Latin diacritics. The properties datetime, start_datetime, end_datetime,
// created and updated are instants; a string compared with an instant is read
// as an RFC 3339 timestamp or a date. The temporal fields follow pgstac's
// columns, as the SQL catalogs do: an item starts at start_datetime (else
// datetime) and ends at end_datetime (else datetime); "datetime" compared as a
// value is the start, and in temporal functions it is the whole extent
// [start, end] (an instant when the item has only datetime). Array functions treat
// arrays as sets: a_equals same elements, a_contains A ⊇ B, a_containedBy
// A ⊆ B, a_overlaps a common element. Spatial functions compare geometries in
// their own coordinates; S_EQUALS is topological (the same point set). A
// malformed item geometry is InvalidInput.
TESSERA_API bool evaluate(const Expr& expr, const nlohmann::json& item);

}  // namespace tessera::cql2
