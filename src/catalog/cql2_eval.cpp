// In-memory evaluation of a validated CQL2 expression against a STAC item
// (see evaluate() in the header for the semantics).
#include <memory>
#include <vector>

#include "catalog/cql2_internal.hpp"
#include "catalog/cql2_value.hpp"
#include "tessera/geometry.hpp"

namespace tessera::cql2 {
namespace detail {
namespace {

using nlohmann::json;

std::string_view strip_properties_prefix(std::string_view name) {
  constexpr std::string_view kPrefix = "properties.";
  return name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : name;
}

// The STAC fields that hold RFC 3339 timestamps.
bool is_temporal_property(std::string_view name) {
  return name == "datetime" || name == "start_datetime" || name == "end_datetime" || name == "created" ||
         name == "updated";
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
      Value operator()(const Literal& literal) const { return value_from_json(literal.value, false); }
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
      case Op::kAccenti:
      case Op::kUpper:
      case Op::kLower: {
        const Value operand = value(args[0]);
        const std::string* text = text_of(operand);
        if (text == nullptr) {
          return {};
        }
        switch (operation.op) {
          case Op::kAccenti:
            return Value::of_string(strip_accents(*text));
          case Op::kUpper:
            return Value::of_string(upper_case(*text));
          default:  // CASEI and LOWER
            return Value::of_string(fold_case(*text));
        }
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
        return truth(like_matches(*text_of(text), *text_of(pattern)));
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
    const OpInfo& info = op_info(op);
    if (info.operand_types == kGeometry) {
      return spatial(op, args[0], args[1]);
    }
    if (info.operand_types == (kInstant | kInterval)) {
      const std::optional<Span> a = temporal_operand(args[0]);
      const std::optional<Span> b = temporal_operand(args[1]);
      return a && b ? truth(temporal_relation(op, *a, *b)) : Truth::kUnknown;
    }
    return Truth::kUnknown;
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
    if (operand.kind != Value::Kind::kObject || !is_geometry_object(*operand.object)) {
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

  // In temporal functions "datetime" is the item's extent, from its start to its end.
  std::optional<Span> temporal_operand(const Expr& expr) {
    const auto* property = expr.get_if<PropertyRef>();
    if (property == nullptr || strip_properties_prefix(property->name) != "datetime") {
      return span_of(value(expr));
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
  // (with or without "properties.") is in its properties. The temporal fields
  // are pgstac's columns, which the SQL catalogs share: an item starts at
  // start_datetime, else datetime, and ends at end_datetime, else datetime;
  // "datetime" as a value is the start.
  Value property(std::string_view name) {
    if (name == "id" || name == "collection" || name == "geometry") {
      return field(member(item_, name), name);
    }
    name = strip_properties_prefix(name);
    if (name == "datetime" || name == "start_datetime") {
      return first_non_null("start_datetime", "datetime");
    }
    if (name == "end_datetime") {
      return first_non_null("end_datetime", "datetime");
    }
    return field(item_property(name), name);
  }

  Value first_non_null(std::string_view preferred, std::string_view fallback) {
    const json* found = item_property(preferred);
    return found != nullptr && !found->is_null() ? field(found, preferred) : field(item_property(fallback), fallback);
  }

  const json* item_property(std::string_view name) const {
    const json* properties = member(item_, "properties");
    return properties == nullptr ? nullptr : member(*properties, name);
  }

  static Value field(const json* found, std::string_view name) {
    return found == nullptr ? Value{} : value_from_json(*found, is_temporal_property(name));
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
}  // namespace detail

bool evaluate(const Expr& expr, const nlohmann::json& item) {
  return detail::Evaluator(item).test(expr) == detail::Truth::kTrue;
}

}  // namespace tessera::cql2
