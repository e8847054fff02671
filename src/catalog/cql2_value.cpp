// Values of CQL2 evaluation and the comparisons, relations and arithmetic on them.
#include "catalog/cql2_value.hpp"

#include <charconv>
#include <cmath>

#include <ogr_geometry.h>

#include "catalog/cql2_internal.hpp"

namespace tessera::cql2::detail {

using nlohmann::json;

namespace {

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// The order of two values, or nullopt when either is null or their kinds
// cannot be compared. A string meeting an instant is read as a timestamp, and
// one meeting a number as a number (number_from_text), as pgstac reads both
// sides of a comparison on a numeric queryable.
std::optional<int> order(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  if (a.kind == Kind::kInstant || b.kind == Kind::kInstant) {
    const std::optional<Span> left = a.kind == Kind::kInterval ? std::nullopt : span_of(a);
    const std::optional<Span> right = b.kind == Kind::kInterval ? std::nullopt : span_of(b);
    if (!left || !right) {
      return std::nullopt;
    }
    return three_way(left->begin, right->begin);
  }
  if ((a.kind == Kind::kNumber && b.kind == Kind::kString) || (a.kind == Kind::kString && b.kind == Kind::kNumber)) {
    const std::optional<double> left = a.kind == Kind::kNumber ? a.number : number_from_text(a.text);
    const std::optional<double> right = b.kind == Kind::kNumber ? b.number : number_from_text(b.text);
    if (!left || !right) {
      return std::nullopt;
    }
    return three_way(*left, *right);
  }
  if (a.kind != b.kind) {
    return std::nullopt;
  }
  switch (a.kind) {
    case Kind::kBoolean:
      return three_way(a.boolean, b.boolean);
    case Kind::kNumber:
      return three_way(a.number, b.number);
    case Kind::kString:
      return three_way(a.text, b.text);
    default:
      return std::nullopt;
  }
}

// Equality of array elements; nested arrays are equal element by element.
bool elements_equal(const Value& a, const Value& b) {
  if (a.kind == Value::Kind::kArray && b.kind == Value::Kind::kArray) {
    if (a.items.size() != b.items.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.items.size(); ++i) {
      if (!elements_equal(a.items[i], b.items[i])) {
        return false;
      }
    }
    return true;
  }
  return order(a, b) == 0;
}

bool contains_all(const Value& superset, const Value& subset) {
  for (const Value& wanted : subset.items) {
    bool found = false;
    for (const Value& candidate : superset.items) {
      if (elements_equal(candidate, wanted)) {
        found = true;
        break;
      }
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

bool shares_element(const Value& a, const Value& b) {
  for (const Value& x : a.items) {
    for (const Value& y : b.items) {
      if (elements_equal(x, y)) {
        return true;
      }
    }
  }
  return false;
}

Value from_json(const json& value, bool temporal, std::size_t depth) {
  switch (value.type()) {
    case json::value_t::boolean:
      return Value::of_boolean(value.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return Value::of_number(value.get<double>());
    case json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      if (temporal) {
        if (const auto instant = detail::parse_instant(text)) {
          return Value::of_span(Value::Kind::kInstant, *instant, *instant, text);
        }
      }
      return Value::of_string(text);
    }
    case json::value_t::array:
      // Beyond the filter's own depth limit an item's array stays opaque.
      if (depth < kMaxDepth) {
        Value array;
        array.kind = Value::Kind::kArray;
        for (const json& element : value) {
          array.items.push_back(from_json(element, false, depth + 1));
        }
        return array;
      }
      [[fallthrough]];
    case json::value_t::object: {
      Value object;
      object.kind = Value::Kind::kObject;
      object.object = &value;
      return object;
    }
    default:
      return {};
  }
}

}  // namespace

std::optional<double> number_from_text(std::string_view text) noexcept {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  // from_chars takes no sign of its own here, nor hexadecimal (chars_format::general).
  if (text.empty() || text.front() == '+' || text.front() == '-') {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || std::isnan(value)) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

const std::string* text_of(const Value& value) {
  const bool has_text =
      value.kind == Value::Kind::kString || (value.kind == Value::Kind::kInstant && !value.text.empty());
  return has_text ? &value.text : nullptr;
}

std::optional<Span> span_of(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kInstant:
    case Value::Kind::kInterval:
      return Span{value.begin, value.end};
    case Value::Kind::kString:
      if (const auto instant = detail::parse_instant(value.text)) {
        return Span{*instant, *instant};
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

Truth compare(Op op, const Value& a, const Value& b) {
  const std::optional<int> result = order(a, b);
  if (!result) {
    return Truth::kUnknown;
  }
  switch (op) {
    case Op::kEqual:
      return truth(*result == 0);
    case Op::kNotEqual:
      return truth(*result != 0);
    case Op::kLess:
      return truth(*result < 0);
    case Op::kLessEqual:
      return truth(*result <= 0);
    case Op::kGreater:
      return truth(*result > 0);
    case Op::kGreaterEqual:
      return truth(*result >= 0);
    default:
      return Truth::kUnknown;
  }
}

bool temporal_relation(Op op, Span a, Span b) {
  switch (op) {
    case Op::kTAfter:
      return a.begin > b.end;
    case Op::kTBefore:
      return a.end < b.begin;
    case Op::kTContains:
      return a.begin < b.begin && a.end > b.end;
    case Op::kTDisjoint:
      return a.begin > b.end || a.end < b.begin;
    case Op::kTDuring:
      return a.begin > b.begin && a.end < b.end;
    case Op::kTEquals:
      return a.begin == b.begin && a.end == b.end;
    case Op::kTFinishedBy:
      return a.begin < b.begin && a.end == b.end;
    case Op::kTFinishes:
      return a.begin > b.begin && a.end == b.end;
    case Op::kTIntersects:
      return a.begin <= b.end && a.end >= b.begin;
    case Op::kTMeets:
      return a.end == b.begin;
    case Op::kTMetBy:
      return a.begin == b.end;
    case Op::kTOverlappedBy:
      return a.begin > b.begin && a.begin < b.end && a.end > b.end;
    case Op::kTOverlaps:
      return a.begin < b.begin && a.end > b.begin && a.end < b.end;
    case Op::kTStartedBy:
      return a.begin == b.begin && a.end > b.end;
    case Op::kTStarts:
      return a.begin == b.begin && a.end < b.end;
    default:
      return false;
  }
}

bool spatial_relation(Op op, const Geometry& a, const Geometry& b) {
  switch (op) {
    case Op::kSIntersects:
      return a.intersects(b);
    case Op::kSEquals:
      // Topological equality (the same point set): OGR's Equals compares vertices.
      return a.within(b) && b.within(a);
    case Op::kSDisjoint:
      return a.disjoint(b);
    case Op::kSWithin:
      return a.within(b);
    case Op::kSContains:
      return a.contains(b);
    case Op::kSTouches:
      return a.ogr()->Touches(b.ogr()) != FALSE;
    case Op::kSOverlaps:
      return a.ogr()->Overlaps(b.ogr()) != FALSE;
    case Op::kSCrosses:
      return a.ogr()->Crosses(b.ogr()) != FALSE;
    default:
      return false;
  }
}

Value arithmetic(Op op, const Value& a, const Value& b) {
  if (a.kind != Value::Kind::kNumber || b.kind != Value::Kind::kNumber) {
    return {};
  }
  const double x = a.number;
  const double y = b.number;
  // SQL raises an error on division by zero; here it makes the value unknown.
  const bool divides = op == Op::kDivide || op == Op::kModulo || op == Op::kIntegerDivide;
  if (divides && y == 0) {
    return {};
  }
  double result = 0;
  switch (op) {
    case Op::kAdd:
      result = x + y;
      break;
    case Op::kSubtract:
      result = x - y;
      break;
    case Op::kMultiply:
      result = x * y;
      break;
    case Op::kDivide:
      result = x / y;
      break;
    case Op::kModulo:
      result = std::fmod(x, y);
      break;
    case Op::kIntegerDivide:
      result = std::trunc(x / y);
      break;
    case Op::kPower:
      result = std::pow(x, y);
      break;
    default:
      return {};
  }
  return std::isfinite(result) ? Value::of_number(result) : Value{};
}

Truth array_relation(Op op, const Value& a, const Value& b) {
  if (a.kind != Value::Kind::kArray || b.kind != Value::Kind::kArray) {
    return Truth::kUnknown;
  }
  switch (op) {
    case Op::kAEquals:
      return truth(contains_all(a, b) && contains_all(b, a));
    case Op::kAContains:
      return truth(contains_all(a, b));
    case Op::kAContainedBy:
      return truth(contains_all(b, a));
    default:
      return truth(shares_element(a, b));
  }
}

Value value_from_json(const json& value, bool temporal) { return from_json(value, temporal, 0); }

}  // namespace tessera::cql2::detail
