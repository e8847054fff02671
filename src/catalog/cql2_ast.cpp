// CQL2-JSON to the validated AST, and back; errors name the JSON path.
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "catalog/cql2_internal.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

namespace tessera::cql2 {
namespace {

using detail::NodeFactory;
using detail::Operand;
using nlohmann::json;

// An expression with the type and description the checks need.
struct Typed {
  Expr expr;
  Operand operand;
};

[[noreturn]] void fail(const std::string& path, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", path, problem));
}

std::string member_path(const std::string& path, std::string_view key) { return fmt::format("{}.{}", path, key); }

std::string index_path(const std::string& path, std::size_t index) { return fmt::format("{}[{}]", path, index); }

Typed parse(const json& value, const std::string& path, std::size_t depth);

Typed make_literal(const json& value, unsigned type, std::string description) {
  return {NodeFactory::make(Node{Literal{value}}), {type, std::move(description)}};
}

// An interval end: a date or timestamp string, ".." (open), or an expression
// that may evaluate to an instant (a property or function).
std::optional<Expr> parse_interval_end(const json& end, const std::string& path, std::size_t depth) {
  if (end.is_string()) {
    const auto& text = end.get_ref<const std::string&>();
    if (text == "..") {
      return std::nullopt;
    }
    if (const auto date = parse_date_micros(text)) {
      return NodeFactory::make(Node{DateLiteral{text, *date}});
    }
    if (const auto timestamp = parse_rfc3339_micros(text)) {
      return NodeFactory::make(Node{TimestampLiteral{text, *timestamp}});
    }
    fail(path, fmt::format("expected a date, an RFC 3339 timestamp or '..', found {}", detail::describe_literal(end)));
  }
  if (!end.is_object()) {
    fail(path, fmt::format("expected a date, timestamp, '..', property or function, found {}",
                           detail::describe_literal(end)));
  }
  Typed parsed = parse(end, path, depth);
  if ((parsed.operand.type & detail::kInstant) == 0) {
    fail(path, fmt::format("an interval end must be an instant, found {}", parsed.operand.description));
  }
  return std::move(parsed.expr);
}

Typed parse_interval(const json& ends, const std::string& path, std::size_t depth) {
  if (!ends.is_array() || ends.size() != 2) {
    fail(path, "expected an array of 2 ends");
  }
  IntervalLiteral interval{parse_interval_end(ends[0], index_path(path, 0), depth + 1),
                           parse_interval_end(ends[1], index_path(path, 1), depth + 1)};
  auto literal_micros = [](const std::optional<Expr>& end) -> std::optional<std::int64_t> {
    if (!end) {
      return std::nullopt;
    }
    if (const auto* timestamp = end->get_if<TimestampLiteral>()) {
      return timestamp->micros;
    }
    if (const auto* date = end->get_if<DateLiteral>()) {
      return date->micros;
    }
    return std::nullopt;
  };
  const auto start = literal_micros(interval.start);
  const auto end = literal_micros(interval.end);
  if (start && end && *start > *end) {
    fail(path, "the interval starts after it ends");
  }
  return {NodeFactory::make(Node{std::move(interval)}), {detail::kInterval, "an interval"}};
}

Typed parse_bbox(const json& coordinates, const std::string& path) {
  const Bbox box = Bbox::from_json(coordinates, path);
  BboxLiteral bbox{coordinates.get<std::vector<double>>(), std::make_shared<const Geometry>(Geometry::from_bbox(box))};
  return {NodeFactory::make(Node{std::move(bbox)}), {detail::kGeometry, "a bbox"}};
}

// {"property": ...}, {"timestamp": ...}, {"date": ...}, {"interval": ...} and
// {"bbox": ...} have one member each.
std::optional<Typed> parse_single_member(const json& object, const std::string& path, std::size_t depth) {
  constexpr std::string_view kKeys[] = {"property", "timestamp", "date", "interval", "bbox"};
  const auto key =
      std::find_if(std::begin(kKeys), std::end(kKeys), [&object](std::string_view k) { return object.contains(k); });
  if (key == std::end(kKeys)) {
    return std::nullopt;
  }
  if (object.size() != 1) {
    for (const auto& [other, unused] : object.items()) {
      if (other != *key) {
        fail(member_path(path, other), fmt::format("unexpected member beside '{}'", *key));
      }
    }
  }
  const json& member = object.begin().value();
  const std::string inner_path = member_path(path, *key);
  if (*key == "interval") {
    return parse_interval(member, inner_path, depth);
  }
  if (*key == "bbox") {
    return parse_bbox(member, inner_path);
  }
  if (!member.is_string()) {
    fail(inner_path, fmt::format("expected a string, found {}", detail::describe_literal(member)));
  }
  const auto& text = member.get_ref<const std::string&>();
  if (*key == "property") {
    if (text.empty()) {
      fail(inner_path, "a property name cannot be empty");
    }
    return Typed{NodeFactory::make(Node{PropertyRef{text}}),
                 {detail::kAnyType, fmt::format("property '{}'", detail::shortened(text))}};
  }
  if (*key == "timestamp") {
    const auto micros = parse_rfc3339_micros(text);
    if (!micros) {
      fail(inner_path, fmt::format("'{}' is not an RFC 3339 timestamp", text));
    }
    return Typed{NodeFactory::make(Node{TimestampLiteral{text, *micros}}),
                 {detail::kInstant, fmt::format("timestamp '{}'", text)}};
  }
  const auto micros = parse_date_micros(text);
  if (!micros) {
    fail(inner_path, fmt::format("'{}' is not a date (YYYY-MM-DD)", text));
  }
  return Typed{NodeFactory::make(Node{DateLiteral{text, *micros}}), {detail::kInstant, fmt::format("date '{}'", text)}};
}

Typed parse_operation(const json& object, const std::string& path, std::size_t depth) {
  const json& name = object["op"];
  if (!name.is_string()) {
    fail(member_path(path, "op"), fmt::format("expected an operator name, found {}", detail::describe_literal(name)));
  }
  const std::optional<Op> op = op_from_name(name.get_ref<const std::string&>());
  if (!op) {
    fail(member_path(path, "op"),
         fmt::format("unknown operator '{}'", detail::shortened(name.get_ref<const std::string&>())));
  }
  const detail::OpInfo& info = detail::op_info(*op);
  const std::string display = fmt::format("'{}'", info.name);
  for (const auto& [key, unused] : object.items()) {
    if (key != "op" && key != "args") {
      fail(member_path(path, key), fmt::format("unexpected member in a {} operation", display));
    }
  }
  const std::string args_path = member_path(path, "args");
  const auto args = object.find("args");
  if (args == object.end() || !args->is_array()) {
    fail(args_path, fmt::format("{} needs an array of arguments", display));
  }
  Operation operation{*op, {}};
  std::vector<Operand> operands;
  // IN's list elements are checked against the value searched for, after it.
  std::vector<Operand> list_operands;
  for (std::size_t i = 0; i < args->size(); ++i) {
    const json& arg = (*args)[i];
    const std::string arg_path = index_path(args_path, i);
    if (*op == Op::kIn && i == 1) {
      if (!arg.is_array()) {
        fail(arg_path, fmt::format("the list of 'in' must be an array, found {}", detail::describe_literal(arg)));
      }
      ArrayLiteral list;
      for (std::size_t j = 0; j < arg.size(); ++j) {
        Typed element = parse(arg[j], index_path(arg_path, j), depth + 2);
        list.items.push_back(std::move(element.expr));
        list_operands.push_back(std::move(element.operand));
      }
      operation.args.push_back(NodeFactory::make(Node{std::move(list)}));
      operands.push_back({detail::kArray, "an array"});
      continue;
    }
    Typed parsed = parse(arg, arg_path, depth + 1);
    operation.args.push_back(std::move(parsed.expr));
    operands.push_back(std::move(parsed.operand));
  }
  if (auto problem = detail::check_operands(*op, display, operands)) {
    fail(problem->index == detail::OperandProblem::kArity ? args_path : index_path(args_path, problem->index),
         problem->message);
  }
  if (*op == Op::kIn) {
    if (auto problem = detail::check_in_list(operands[0], list_operands)) {
      fail(index_path(index_path(args_path, 1), problem->index), problem->message);
    }
  }
  return {NodeFactory::make(Node{std::move(operation)}), {info.result_type, fmt::format("a {} operation", display)}};
}

Typed parse_object(const json& object, const std::string& path, std::size_t depth) {
  if (object.contains("op")) {
    return parse_operation(object, path, depth);
  }
  // Before the one-member forms: a GeoJSON geometry may have a "bbox" member.
  if (const auto type = object.find("type"); type != object.end()) {
    if (!detail::is_geometry_object(object)) {
      fail(member_path(path, "type"),
           fmt::format("expected a GeoJSON geometry type, found {}", detail::describe_literal(*type)));
    }
    auto geometry = std::make_shared<const Geometry>(Geometry::from_geojson(object, path));
    return {NodeFactory::make(Node{GeometryLiteral{object, std::move(geometry)}}),
            {detail::kGeometry, fmt::format("a {} geometry", type->get<std::string>())}};
  }
  if (std::optional<Typed> single = parse_single_member(object, path, depth)) {
    return std::move(*single);
  }
  std::vector<std::string> keys;
  for (const auto& [key, unused] : object.items()) {
    keys.push_back(key);
  }
  fail(path, keys.empty() ? std::string("an empty object is not an expression")
                          : fmt::format("an object with members '{}' is not an expression", fmt::join(keys, "', '")));
}

Typed parse(const json& value, const std::string& path, std::size_t depth) {
  if (depth > kMaxDepth) {
    fail(path, fmt::format("nesting deeper than {} levels", kMaxDepth));
  }
  switch (value.type()) {
    case json::value_t::null:
      return make_literal(value, detail::kAnyType, "null");
    case json::value_t::boolean:
      return make_literal(value, detail::kBoolean, detail::describe_literal(value));
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      if (!std::isfinite(value.get<double>())) {
        fail(path, "a number must be finite");
      }
      return make_literal(value, detail::kNumber, detail::describe_literal(value));
    case json::value_t::string:
      return make_literal(value, detail::kString, detail::describe_literal(value));
    case json::value_t::array: {
      ArrayLiteral array;
      for (std::size_t i = 0; i < value.size(); ++i) {
        array.items.push_back(parse(value[i], index_path(path, i), depth + 1).expr);
      }
      return {NodeFactory::make(Node{std::move(array)}), {detail::kArray, "an array"}};
    }
    case json::value_t::object:
      return parse_object(value, path, depth);
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  fail(path, fmt::format("a {} value is not an expression", value.type_name()));
}

json interval_end_to_json(const std::optional<Expr>& end) {
  if (!end) {
    return "..";
  }
  if (const auto* timestamp = end->get_if<TimestampLiteral>()) {
    return timestamp->text;
  }
  if (const auto* date = end->get_if<DateLiteral>()) {
    return date->text;
  }
  return to_json(*end);
}

void collect_properties(const Expr& expr, std::vector<std::string>& names) {
  const Node& node = expr.node();
  if (const auto* property = std::get_if<PropertyRef>(&node.value)) {
    if (std::find(names.begin(), names.end(), property->name) == names.end()) {
      names.push_back(property->name);
    }
  } else if (const auto* interval = std::get_if<IntervalLiteral>(&node.value)) {
    for (const std::optional<Expr>& end : {interval->start, interval->end}) {
      if (end) {
        collect_properties(*end, names);
      }
    }
  } else if (const auto* array = std::get_if<ArrayLiteral>(&node.value)) {
    for (const Expr& item : array->items) {
      collect_properties(item, names);
    }
  } else if (const auto* operation = std::get_if<Operation>(&node.value)) {
    for (const Expr& arg : operation->args) {
      collect_properties(arg, names);
    }
  }
}

}  // namespace

bool detail::is_geometry_object(const json& value) {
  constexpr std::string_view kGeometryTypes[] = {"Point",           "LineString",   "Polygon",           "MultiPoint",
                                                 "MultiLineString", "MultiPolygon", "GeometryCollection"};
  if (!value.is_object()) {
    return false;
  }
  const auto type = value.find("type");
  return type != value.end() && type->is_string() &&
         std::find(std::begin(kGeometryTypes), std::end(kGeometryTypes), type->get_ref<const std::string&>()) !=
             std::end(kGeometryTypes);
}

Expr parse_json(const nlohmann::json& filter, std::string_view where) {
  const std::string root(where);
  Typed parsed = parse(filter, root, 1);
  if (parsed.operand.type != detail::kBoolean) {
    fail(root,
         fmt::format("a filter must be a predicate (a boolean expression), found {}", parsed.operand.description));
  }
  return std::move(parsed.expr);
}

Expr parse_text(std::string_view text) { return parse_json(text_to_json(text)); }

nlohmann::json to_json(const Expr& expr) {
  struct ToJson {
    json operator()(const PropertyRef& property) const { return {{"property", property.name}}; }
    json operator()(const Literal& literal) const { return literal.value; }
    json operator()(const TimestampLiteral& timestamp) const { return {{"timestamp", timestamp.text}}; }
    json operator()(const DateLiteral& date) const { return {{"date", date.text}}; }
    json operator()(const IntervalLiteral& interval) const {
      return {{"interval", json::array({interval_end_to_json(interval.start), interval_end_to_json(interval.end)})}};
    }
    json operator()(const GeometryLiteral& geometry) const { return geometry.geojson; }
    json operator()(const BboxLiteral& bbox) const { return {{"bbox", bbox.coordinates}}; }
    json operator()(const ArrayLiteral& array) const {
      json items = json::array();
      for (const Expr& item : array.items) {
        items.push_back(to_json(item));
      }
      return items;
    }
    json operator()(const Operation& operation) const {
      json args = json::array();
      for (const Expr& arg : operation.args) {
        args.push_back(to_json(arg));
      }
      return {{"op", op_name(operation.op)}, {"args", std::move(args)}};
    }
  };
  return std::visit(ToJson{}, expr.node().value);
}

std::vector<std::string> properties(const Expr& expr) {
  std::vector<std::string> names;
  collect_properties(expr, names);
  return names;
}

}  // namespace tessera::cql2
