#pragma once

// Values met while evaluating CQL2, and the comparisons, relations and
// arithmetic CQL2 defines on them, with SQL's unknown for NULL operands and
// for kinds that cannot be compared. Internal header.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/cql2.hpp"
#include "tessera/geometry.hpp"

namespace tessera::cql2::detail {

enum class Truth { kFalse, kTrue, kUnknown };

inline Truth truth(bool value) { return value ? Truth::kTrue : Truth::kFalse; }

inline Truth negate(Truth value) {
  switch (value) {
    case Truth::kTrue:
      return Truth::kFalse;
    case Truth::kFalse:
      return Truth::kTrue;
    case Truth::kUnknown:
      break;
  }
  return Truth::kUnknown;
}

// Open interval ends: before and after every instant.
constexpr std::int64_t kOpenStart = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kOpenEnd = std::numeric_limits<std::int64_t>::max();

// A value met during evaluation. Geometries and objects are borrowed from the
// filter or the item, which outlive the evaluation.
struct Value {
  enum class Kind { kNull, kBoolean, kNumber, kString, kInstant, kInterval, kGeometry, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  // Strings; an instant read from a string keeps it, so LIKE and CASEI still see the text.
  std::string text;
  std::int64_t begin = 0;  // instants (begin == end) and intervals, in microseconds
  std::int64_t end = 0;
  const Geometry* geometry = nullptr;
  const nlohmann::json* object = nullptr;
  std::vector<Value> items;

  static Value of_boolean(bool value) {
    Value result;
    result.kind = Kind::kBoolean;
    result.boolean = value;
    return result;
  }
  static Value of_number(double value) {
    Value result;
    result.kind = Kind::kNumber;
    result.number = value;
    return result;
  }
  static Value of_string(std::string value) {
    Value result;
    result.kind = Kind::kString;
    result.text = std::move(value);
    return result;
  }
  static Value of_span(Kind kind, std::int64_t begin, std::int64_t end, std::string text = {}) {
    Value result;
    result.kind = kind;
    result.begin = begin;
    result.end = end;
    result.text = std::move(text);
    return result;
  }
  static Value of_truth(Truth value) { return value == Truth::kUnknown ? Value{} : of_boolean(value == Truth::kTrue); }
};

struct Span {
  std::int64_t begin;
  std::int64_t end;
};

// The text of a string, or of an instant that was read from one; null otherwise.
const std::string* text_of(const Value& value);
// An instant, an interval, or a string holding a timestamp or date.
std::optional<Span> span_of(const Value& value);

// =, <>, <, <=, >, >=. Numbers, strings (by bytes), booleans and instants
// compare within their kind; a string meeting an instant is read as one.
Truth compare(Op op, const Value& a, const Value& b);
// a_equals, a_contains, a_containedBy, a_overlaps on arrays taken as sets.
Truth array_relation(Op op, const Value& a, const Value& b);
// The temporal functions on closed spans; an instant is a span of one instant.
bool temporal_relation(Op op, Span a, Span b);
// The spatial functions.
bool spatial_relation(Op op, const Geometry& a, const Geometry& b);
// +, -, *, /, %, div and ^; NULL for non-numbers, division by zero and overflow.
Value arithmetic(Op op, const Value& a, const Value& b);
// An item's JSON value; `temporal` reads strings as instants where they are ones.
Value value_from_json(const nlohmann::json& value, bool temporal);

}  // namespace tessera::cql2::detail
