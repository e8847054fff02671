// In-memory evaluation of a validated CQL2 expression against a STAC item,
// with SQL's three-valued logic (see evaluate() in the header).
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <ogr_geometry.h>

#include "catalog/cql2_internal.hpp"
#include "tessera/geometry.hpp"

namespace tessera::cql2 {
namespace {

using nlohmann::json;

enum class Truth { kFalse, kTrue, kUnknown };

Truth truth(bool value) { return value ? Truth::kTrue : Truth::kFalse; }

Truth negate(Truth value) {
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
  const json* object = nullptr;
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

// The text of a string, or of an instant that was read from one.
const std::string* text_of(const Value& value) {
  const bool has_text =
      value.kind == Value::Kind::kString || (value.kind == Value::Kind::kInstant && !value.text.empty());
  return has_text ? &value.text : nullptr;
}

// An instant, an interval, or a string holding a timestamp or date.
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

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// The order of two values, or nullopt when either is null or their kinds
// cannot be compared. A string meeting an instant is read as a timestamp.
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

// The temporal relations of CQL2 on closed spans; an instant is a span of one instant.
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

std::string_view strip_properties_prefix(std::string_view name) {
  constexpr std::string_view kPrefix = "properties.";
  return name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : name;
}

// The STAC fields that hold RFC 3339 timestamps.
bool is_temporal_property(std::string_view name) {
  return name == "datetime" || name == "start_datetime" || name == "end_datetime" || name == "created" ||
         name == "updated";
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

class Evaluator {
 public:
  explicit Evaluator(const json& item) : item_(item) {}

  Truth test(const Expr& expr) {
    if (const auto* operation = expr.get_if<Operation>()) {
      return test_operation(*operation);
    }
    const Value result = value(expr);
    return result.kind == Value::Kind::kBoolean ? truth(result.boolean) : Truth::kUnknown;
  }

  Value value(const Expr& expr) {
    struct Visitor {
      Evaluator& evaluator;
      Value operator()(const PropertyRef& property) const { return evaluator.property(property.name); }
      Value operator()(const Literal& literal) const { return from_json(literal.value, false, 0); }
      Value operator()(const TimestampLiteral& timestamp) const {
        return Value::of_span(Value::Kind::kInstant, timestamp.micros, timestamp.micros);
      }
      Value operator()(const DateLiteral& date) const {
        return Value::of_span(Value::Kind::kInstant, date.micros, date.micros);
      }
      Value operator()(const IntervalLiteral& interval) const { return evaluator.interval(interval); }
      Value operator()(const GeometryLiteral& geometry) const { return geometry_value(geometry.geometry.get()); }
      Value operator()(const BboxLiteral& bbox) const { return geometry_value(bbox.geometry.get()); }
      Value operator()(const ArrayLiteral& array) const {
        Value result;
        result.kind = Value::Kind::kArray;
        for (const Expr& item : array.items) {
          result.items.push_back(evaluator.value(item));
        }
        return result;
      }
      Value operator()(const Operation& operation) const { return evaluator.operation_value(operation); }
      static Value geometry_value(const Geometry* geometry) {
        Value result;
        result.kind = Value::Kind::kGeometry;
        result.geometry = geometry;
        return result;
      }
    };
    return std::visit(Visitor{*this}, expr.node().value);
  }

 private:
  Value operation_value(const Operation& operation) {
    const std::vector<Expr>& args = operation.args;
    switch (operation.op) {
      case Op::kCasei:
      case Op::kAccenti: {
        const Value operand = value(args[0]);
        const std::string* text = text_of(operand);
        if (text == nullptr) {
          return {};
        }
        return Value::of_string(operation.op == Op::kCasei ? detail::fold_case(*text) : detail::strip_accents(*text));
      }
      case Op::kAdd:
      case Op::kSubtract:
      case Op::kMultiply:
      case Op::kDivide:
      case Op::kModulo:
      case Op::kIntegerDivide:
      case Op::kPower:
        return arithmetic(operation.op, value(args[0]), value(args[1]));
      default:
        return Value::of_truth(test_operation(operation));
    }
  }

  Truth test_operation(const Operation& operation) {
    const std::vector<Expr>& args = operation.args;
    const Op op = operation.op;
    switch (op) {
      case Op::kAnd:
      case Op::kOr: {
        // AND: any false decides; OR: any true decides; else unknown wins over the rest.
        const Truth decisive = op == Op::kAnd ? Truth::kFalse : Truth::kTrue;
        Truth result = negate(decisive);
        for (const Expr& arg : args) {
          const Truth next = test(arg);
          if (next == decisive) {
            return decisive;
          }
          if (next == Truth::kUnknown) {
            result = Truth::kUnknown;
          }
        }
        return result;
      }
      case Op::kNot:
        return negate(test(args[0]));
      case Op::kEqual:
      case Op::kNotEqual:
      case Op::kLess:
      case Op::kLessEqual:
      case Op::kGreater:
      case Op::kGreaterEqual:
        return compare(op, value(args[0]), value(args[1]));
      case Op::kLike: {
        const Value text = value(args[0]);
        const Value pattern = value(args[1]);
        if (text_of(text) == nullptr || text_of(pattern) == nullptr) {
          return Truth::kUnknown;
        }
        return truth(detail::like_matches(*text_of(text), *text_of(pattern)));
      }
      case Op::kBetween: {
        const Value subject = value(args[0]);
        const Truth above = compare(Op::kGreaterEqual, subject, value(args[1]));
        const Truth below = compare(Op::kLessEqual, subject, value(args[2]));
        if (above == Truth::kFalse || below == Truth::kFalse) {
          return Truth::kFalse;
        }
        return above == Truth::kTrue && below == Truth::kTrue ? Truth::kTrue : Truth::kUnknown;
      }
      case Op::kIn: {
        const Value needle = value(args[0]);
        Truth result = Truth::kFalse;
        for (const Value& candidate : value(args[1]).items) {
          const Truth equal = compare(Op::kEqual, needle, candidate);
          if (equal == Truth::kTrue) {
            return Truth::kTrue;
          }
          if (equal == Truth::kUnknown) {
            result = Truth::kUnknown;
          }
        }
        return result;
      }
      case Op::kIsNull:
        return truth(value(args[0]).kind == Value::Kind::kNull);
      case Op::kAEquals:
      case Op::kAContains:
      case Op::kAContainedBy:
      case Op::kAOverlaps:
        return array_relation(op, value(args[0]), value(args[1]));
      default:
        break;
    }
    const detail::OpInfo& info = detail::op_info(op);
    if (info.operand_types == detail::kGeometry) {
      return spatial(op, args[0], args[1]);
    }
    if (info.operand_types == (detail::kInstant | detail::kInterval)) {
      const std::optional<Span> a = temporal_operand(args[0]);
      const std::optional<Span> b = temporal_operand(args[1]);
      return a && b ? truth(temporal_relation(op, *a, *b)) : Truth::kUnknown;
    }
    return Truth::kUnknown;
  }

  static Truth array_relation(Op op, const Value& a, const Value& b) {
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

  Truth spatial(Op op, const Expr& left, const Expr& right) {
    const Geometry* a = geometry_operand(left);
    const Geometry* b = geometry_operand(right);
    if (a == nullptr || b == nullptr) {
      return Truth::kUnknown;
    }
    return truth(spatial_relation(op, *a, *b));
  }

  // A geometry literal, or a property holding a GeoJSON geometry (read once
  // per evaluation); null for anything else.
  const Geometry* geometry_operand(const Expr& expr) {
    const Value operand = value(expr);
    if (operand.kind == Value::Kind::kGeometry) {
      return operand.geometry;
    }
    if (operand.kind != Value::Kind::kObject || !detail::is_geometry_object(*operand.object)) {
      return nullptr;
    }
    for (const auto& [source, geometry] : geometries_) {
      if (source == operand.object) {
        return geometry.get();
      }
    }
    const auto* property = expr.get_if<PropertyRef>();
    const std::string where = property != nullptr ? "item " + property->name : "item value";
    geometries_.emplace_back(operand.object,
                             std::make_unique<Geometry>(Geometry::from_geojson(*operand.object, where)));
    return geometries_.back().second.get();
  }

  // In temporal functions "datetime" is the item's extent: its datetime, or
  // [start_datetime, end_datetime] when datetime is null.
  std::optional<Span> temporal_operand(const Expr& expr) {
    const auto* property = expr.get_if<PropertyRef>();
    if (property == nullptr || strip_properties_prefix(property->name) != "datetime") {
      return span_of(value(expr));
    }
    const Value datetime = this->property("datetime");
    if (datetime.kind != Value::Kind::kNull) {
      return span_of(datetime);
    }
    const std::optional<Span> start = span_of(this->property("start_datetime"));
    const std::optional<Span> end = span_of(this->property("end_datetime"));
    if (!start || !end || start->begin > end->begin) {
      return std::nullopt;
    }
    return Span{start->begin, end->begin};
  }

  Value interval(const IntervalLiteral& interval) {
    auto bound = [this](const std::optional<Expr>& end, std::int64_t open) {
      return end ? span_of(value(*end)) : std::optional<Span>(Span{open, open});
    };
    const std::optional<Span> start = bound(interval.start, kOpenStart);
    const std::optional<Span> end = bound(interval.end, kOpenEnd);
    if (!start || !end || start->begin > end->end) {
      return {};
    }
    return Value::of_span(Value::Kind::kInterval, start->begin, end->end);
  }

  // "id", "collection" and "geometry" are the item's members; any other name
  // (with or without "properties.") is in its properties.
  Value property(std::string_view name) {
    const json* found = nullptr;
    if (name == "id" || name == "collection" || name == "geometry") {
      found = member(item_, name);
    } else {
      name = strip_properties_prefix(name);
      if (const json* properties = member(item_, "properties")) {
        found = member(*properties, name);
      }
    }
    return found == nullptr ? Value{} : from_json(*found, is_temporal_property(name), 0);
  }

  static const json* member(const json& object, std::string_view name) {
    if (!object.is_object()) {
      return nullptr;
    }
    const auto it = object.find(name);
    return it == object.end() ? nullptr : &*it;
  }

  const json& item_;
  std::vector<std::pair<const json*, std::unique_ptr<Geometry>>> geometries_;
};

}  // namespace

bool evaluate(const Expr& expr, const nlohmann::json& item) { return Evaluator(item).test(expr) == Truth::kTrue; }

}  // namespace tessera::cql2
