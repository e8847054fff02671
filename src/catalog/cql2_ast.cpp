// CQL2-JSON to the validated AST, and back; errors name the JSON path.
// Also the forms beyond CQL2 that pgstac reads (CQL1-JSON operators, operator
// aliases, temporal operands written as strings, bboxes as arrays).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "catalog/cql2_internal.hpp"
#include "tessera/datetime.hpp"
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

// The instant of a literal interval end; nullopt for an open or computed one.
std::optional<std::int64_t> literal_micros(const std::optional<Expr>& end) {
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
}

Typed parse_interval(const json& ends, const std::string& path, std::size_t depth) {
  if (!ends.is_array() || ends.size() != 2) {
    fail(path, "expected an array of 2 ends");
  }
  IntervalLiteral interval{parse_interval_end(ends[0], index_path(path, 0), depth + 1),
                           parse_interval_end(ends[1], index_path(path, 1), depth + 1)};
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

bool is_ilike(std::string_view name) {
  return name.size() == 5 && std::equal(name.begin(), name.end(), "ilike", [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// An operator name tessera reads: a CQL2-JSON name, an alias pgstac reads, or "ilike".
bool is_operator_name(std::string_view name) { return op_from_name(name).has_value() || is_ilike(name); }

Typed make_timestamp(std::int64_t micros) {
  std::string text = format_rfc3339_micros(micros);
  std::string description = fmt::format("timestamp '{}'", text);
  return {NodeFactory::make(Node{TimestampLiteral{std::move(text), micros}}),
          {detail::kInstant, std::move(description)}};
}

std::optional<Expr> interval_end_expr(const detail::TemporalEnd& end) {
  if (end.kind == detail::TemporalEnd::Kind::kOpen) {
    return std::nullopt;
  }
  return make_timestamp(end.micros).expr;
}

// A temporal operand in the forms pgstac's temporal operators read beside
// CQL2's: a string ("2020-01-01" for the whole day, a timestamp, or an
// interval "start/end" with '..', empty or duration ends) or an array
// [start, end] whose ends are such strings, CQL2 instants or properties.
std::optional<Typed> parse_temporal_form(const json& value, const std::string& path, std::size_t depth) {
  using detail::TemporalEnd;
  if (value.is_string()) {
    const auto [start, end] = detail::parse_temporal_string(value.get_ref<const std::string&>(), path);
    if (start.kind == TemporalEnd::Kind::kInstant && end.kind == TemporalEnd::Kind::kInstant &&
        start.micros == end.micros) {
      return make_timestamp(start.micros);
    }
    IntervalLiteral interval{interval_end_expr(start), interval_end_expr(end)};
    return Typed{NodeFactory::make(Node{std::move(interval)}), {detail::kInterval, "an interval"}};
  }
  if (!value.is_array()) {
    return std::nullopt;
  }
  if (value.size() != 2) {
    fail(path, fmt::format("an interval [start, end] has 2 ends, found {}", value.size()));
  }
  // String ends are read as above; objects (timestamps, dates, properties) as CQL2 interval ends.
  std::optional<TemporalEnd> string_ends[2];
  for (std::size_t i = 0; i < 2; ++i) {
    if (value[i].is_string()) {
      string_ends[i] = detail::parse_temporal_end(value[i].get_ref<const std::string&>(), i == 0, index_path(path, i));
    }
  }
  if (string_ends[0] && string_ends[1]) {
    std::tie(string_ends[0], string_ends[1]) = detail::resolve_durations(*string_ends[0], *string_ends[1], path);
  } else {
    for (const auto& end : string_ends) {
      if (end && end->kind == TemporalEnd::Kind::kDuration) {
        fail(path, "a duration must be paired with a timestamp or a date");
      }
    }
  }
  std::optional<Expr> ends[2];
  for (std::size_t i = 0; i < 2; ++i) {
    ends[i] = string_ends[i] ? interval_end_expr(*string_ends[i])
                             : parse_interval_end(value[i], index_path(path, i), depth + 1);
  }
  const auto start = literal_micros(ends[0]);
  const auto finish = literal_micros(ends[1]);
  if (start && finish && *start > *finish) {
    fail(path, "the interval starts after it ends");
  }
  return Typed{NodeFactory::make(Node{IntervalLiteral{ends[0], ends[1]}}), {detail::kInterval, "an interval"}};
}

bool is_temporal(Op op) { return op_name(op).starts_with("t_"); }
bool is_spatial(Op op) { return op_name(op).starts_with("s_"); }
bool is_array_op(Op op) { return op_name(op).starts_with("a_"); }

// One argument of `op`, in the forms pgstac reads beside CQL2's for it.
Typed parse_argument(Op op, const json& arg, const std::string& path, std::size_t depth) {
  if (is_temporal(op)) {
    if (std::optional<Typed> form = parse_temporal_form(arg, path, depth)) {
      return std::move(*form);
    }
  }
  // A bare array of 4 or 6 numbers is a bbox to a spatial operator.
  if (is_spatial(op) && arg.is_array() && (arg.size() == 4 || arg.size() == 6) &&
      std::all_of(arg.begin(), arg.end(), [](const json& n) { return n.is_number(); })) {
    return parse_bbox(arg, path);
  }
  // A scalar is a one-element array to an array operator.
  if (is_array_op(op) && arg.is_primitive() && !arg.is_null()) {
    Typed element = parse(arg, path, depth + 1);
    ArrayLiteral array;
    array.items.push_back(std::move(element.expr));
    return {NodeFactory::make(Node{std::move(array)}), {detail::kArray, "an array"}};
  }
  return parse(arg, path, depth);
}

// An operation from its name and arguments, in CQL2-JSON ({"op": name, "args":
// [...]}) or CQL1-JSON ({name: [...]}). `args` not an array is one argument
// (pgstac's {"op": "isNull", "args": {"property": ...}}); "ilike" is LIKE on
// CASEI of both sides.
Typed build_operation(const std::string& name, const std::string& name_path, const json& args,
                      const std::string& args_path, std::size_t depth) {
  const bool ilike = is_ilike(name);
  const std::optional<Op> op = ilike ? std::optional<Op>(Op::kLike) : op_from_name(name);
  if (!op) {
    fail(name_path, fmt::format("unknown operator '{}'", detail::shortened(name)));
  }
  const detail::OpInfo& info = detail::op_info(*op);
  const std::string display = fmt::format("'{}'", ilike ? std::string_view("ilike") : info.name);
  std::vector<std::pair<const json*, std::string>> arg_values;
  if (args.is_array()) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      arg_values.emplace_back(&args[i], index_path(args_path, i));
    }
  } else {
    arg_values.emplace_back(&args, args_path);
  }
  Operation operation{*op, {}};
  std::vector<Operand> operands;
  // IN's list elements are checked against the value searched for, after it.
  std::vector<Operand> list_operands;
  for (std::size_t i = 0; i < arg_values.size(); ++i) {
    const json& arg = *arg_values[i].first;
    const std::string& arg_path = arg_values[i].second;
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
    Typed parsed = parse_argument(*op, arg, arg_path, depth + 1);
    if (ilike) {
      const Operand casei_operand[] = {parsed.operand};
      if (auto problem = detail::check_operands(Op::kCasei, display, casei_operand)) {
        fail(arg_path,
             fmt::format("{} expects a string as argument {}, found {}", display, i + 1, parsed.operand.description));
      }
      parsed = {NodeFactory::make(Node{Operation{Op::kCasei, {std::move(parsed.expr)}}}),
                {detail::kString, "a 'casei' operation"}};
    }
    operation.args.push_back(std::move(parsed.expr));
    operands.push_back(std::move(parsed.operand));
  }
  if (auto problem = detail::check_operands(*op, display, operands)) {
    fail(problem->index == detail::OperandProblem::kArity ? args_path : arg_values[problem->index].second,
         problem->message);
  }
  if (*op == Op::kIn) {
    if (auto problem = detail::check_in_list(operands[0], list_operands)) {
      fail(index_path(arg_values[1].second, problem->index), problem->message);
    }
  }
  return {NodeFactory::make(Node{std::move(operation)}), {info.result_type, fmt::format("a {} operation", display)}};
}

Typed parse_operation(const json& object, const std::string& path, std::size_t depth) {
  const json& name = object["op"];
  if (!name.is_string()) {
    fail(member_path(path, "op"), fmt::format("expected an operator name, found {}", detail::describe_literal(name)));
  }
  const std::string& op_text = name.get_ref<const std::string&>();
  if (!is_operator_name(op_text)) {
    fail(member_path(path, "op"), fmt::format("unknown operator '{}'", detail::shortened(op_text)));
  }
  const std::string display =
      fmt::format("'{}'", is_ilike(op_text) ? std::string_view("ilike") : op_name(*op_from_name(op_text)));
  for (const auto& [key, unused] : object.items()) {
    if (key != "op" && key != "args") {
      fail(member_path(path, key), fmt::format("unexpected member in a {} operation", display));
    }
  }
  const std::string args_path = member_path(path, "args");
  const auto args = object.find("args");
  if (args == object.end() || args->is_null()) {
    fail(args_path, fmt::format("{} needs an array of arguments", display));
  }
  return build_operation(op_text, member_path(path, "op"), *args, args_path, depth);
}

// CQL1-JSON, as pgstac reads it when no "op" is given: every member is an
// operator whose value is its arguments ({"eq": [a, b]}, {"upper": x}), and
// several members are their AND. Nullopt when a member is no operator name.
std::optional<Typed> parse_cql1(const json& object, const std::string& path, std::size_t depth) {
  if (object.empty()) {
    return std::nullopt;
  }
  for (const auto& [key, unused] : object.items()) {
    if (!is_operator_name(key)) {
      return std::nullopt;
    }
  }
  std::vector<Typed> parts;
  for (const auto& [key, value] : object.items()) {
    const std::string key_path = member_path(path, key);
    parts.push_back(build_operation(key, key_path, value, key_path, depth + 1));
  }
  if (parts.size() == 1) {
    return std::move(parts.front());
  }
  Operation conjunction{Op::kAnd, {}};
  std::size_t index = 0;
  for (const auto& [key, unused] : object.items()) {
    if (parts[index].operand.type != detail::kBoolean) {
      fail(member_path(path, key), fmt::format("members of one object are ANDed: each must be a predicate, found {}",
                                               parts[index].operand.description));
    }
    conjunction.args.push_back(std::move(parts[index++].expr));
  }
  return Typed{NodeFactory::make(Node{std::move(conjunction)}), {detail::kBoolean, "an 'and' operation"}};
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
  // {"filter": ...} around a filter, as pgstac unwraps it.
  if (const auto inner = object.find("filter"); inner != object.end() && object.size() == 1) {
    return parse(*inner, member_path(path, "filter"), depth + 1);
  }
  if (std::optional<Typed> cql1 = parse_cql1(object, path, depth)) {
    return std::move(*cql1);
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

// --- Temporal operands written as strings, as pgstac's temporal operators read
// them: "2020-01-01" is that whole day, "a/b" an interval whose ends may be
// open ('..' or empty) or an ISO 8601 duration relative to the other end.

namespace tessera::cql2::detail {
namespace {

namespace chrono = std::chrono;

constexpr std::int64_t kMicrosPerDay = std::int64_t{86'400'000'000};

[[noreturn]] void fail(const std::string& path, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", path, problem));
}

bool is_bare_date(std::string_view text) {
  return text.size() == 10 && text[4] == '-' && text[7] == '-' && parse_date_micros(text).has_value();
}

// A number of at most 9 digits and an optional fraction (kept in microseconds).
struct Number {
  std::int64_t whole = 0;
  std::int64_t fraction_micros = 0;
  bool has_fraction = false;
};

std::optional<Number> read_number(std::string_view text, std::size_t& at) {
  const std::size_t start = at;
  Number number;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) != 0 && at - start < 9) {
    number.whole = number.whole * 10 + (text[at++] - '0');
  }
  if (at == start) {
    return std::nullopt;
  }
  if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
    ++at;
    number.has_fraction = true;
    std::int64_t scale = 100'000;
    const std::size_t digits = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) != 0) {
      number.fraction_micros += scale * (text[at++] - '0');
      scale /= 10;
    }
    if (at == digits) {
      return std::nullopt;
    }
  }
  return number;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.size() < 3 || (text[0] != 'P' && text[0] != 'p')) {
    return std::nullopt;
  }
  Duration duration;
  bool time = false;
  bool any = false;
  std::size_t at = 1;
  while (at < text.size()) {
    if (text[at] == 'T' || text[at] == 't') {
      if (time || at + 1 == text.size()) {
        return std::nullopt;  // one 'T', and a time after it
      }
      time = true;
      ++at;
      continue;
    }
    const auto number = read_number(text, at);
    if (!number || at >= text.size()) {
      return std::nullopt;
    }
    const std::int64_t value = number->whole;
    const char designator = static_cast<char>(std::toupper(static_cast<unsigned char>(text[at++])));
    if (number->has_fraction && !(time && designator == 'S')) {
      return std::nullopt;
    }
    if (!time && designator == 'Y') {
      duration.months += value * 12;
    } else if (!time && designator == 'M') {
      duration.months += value;
    } else if (!time && designator == 'W') {
      duration.days += value * 7;
    } else if (!time && designator == 'D') {
      duration.days += value;
    } else if (time && designator == 'H') {
      duration.micros += value * 3'600'000'000;
    } else if (time && designator == 'M') {
      duration.micros += value * 60'000'000;
    } else if (time && designator == 'S') {
      duration.micros += value * 1'000'000 + number->fraction_micros;
    } else {
      return std::nullopt;
    }
    any = true;
  }
  if (!any) {
    return std::nullopt;
  }
  return duration;
}

std::optional<std::int64_t> add_duration(std::int64_t micros, const Duration& duration, int sign) {
  // As PostgreSQL adds an interval in UTC: months first (the day of the month
  // kept, or the month's last day), then days, then the time.
  // Nothing longer than the 10,000 years instants span (and no overflow below).
  constexpr std::int64_t kMaxDays = std::int64_t{10'000} * 366;
  if (duration.months > kMaxDays / 28 || duration.days > kMaxDays || duration.micros > kMaxDays * kMicrosPerDay) {
    return std::nullopt;
  }
  const chrono::sys_time<chrono::microseconds> instant{chrono::microseconds{micros}};
  const chrono::sys_days day = chrono::floor<chrono::days>(instant);
  const auto time_of_day = instant - day;
  chrono::year_month_day date{day};
  date += chrono::months{static_cast<int>(sign * duration.months)};
  if (!date.ok()) {
    date = chrono::year_month_day_last{date.year(), chrono::month_day_last{date.month()}};
  }
  const std::int64_t shifted = chrono::sys_days{date}.time_since_epoch().count() * kMicrosPerDay + time_of_day.count() +
                               sign * (duration.days * kMicrosPerDay + duration.micros);
  // Within years 0000-9999, as every instant tessera reads.
  static const std::int64_t kFirst = parse_rfc3339_micros("0000-01-01T00:00:00Z").value_or(0);
  static const std::int64_t kLast = parse_rfc3339_micros("9999-12-31T23:59:59.999999Z").value_or(0);
  if (shifted < kFirst || shifted > kLast) {
    return std::nullopt;
  }
  return shifted;
}

TemporalEnd parse_temporal_end(std::string_view text, bool is_start, const std::string& path) {
  if (text.empty() || text == "..") {
    return {TemporalEnd::Kind::kOpen, 0, {}};
  }
  if (text[0] == 'P' || text[0] == 'p') {
    const auto duration = parse_duration(text);
    if (!duration) {
      fail(path, fmt::format("'{}' is not an ISO 8601 duration (such as P1D or PT6H)", shortened(text)));
    }
    return {TemporalEnd::Kind::kDuration, 0, *duration};
  }
  if (is_bare_date(text)) {
    // A date is its whole day: the start of an interval is its midnight, the
    // end its last microsecond.
    const std::int64_t midnight = *parse_date_micros(text);
    return {TemporalEnd::Kind::kInstant, is_start ? midnight : midnight + kMicrosPerDay - 1, {}};
  }
  if (const auto micros = parse_instant(text)) {
    return {TemporalEnd::Kind::kInstant, *micros, {}};
  }
  fail(path, fmt::format("'{}' is not a date, an RFC 3339 timestamp, a duration or '..'", shortened(text)));
}

std::pair<TemporalEnd, TemporalEnd> resolve_durations(TemporalEnd start, TemporalEnd end, const std::string& path) {
  const bool start_duration = start.kind == TemporalEnd::Kind::kDuration;
  const bool end_duration = end.kind == TemporalEnd::Kind::kDuration;
  if (!start_duration && !end_duration) {
    return {start, end};
  }
  TemporalEnd& anchor = start_duration ? end : start;
  TemporalEnd& relative = start_duration ? start : end;
  if (anchor.kind != TemporalEnd::Kind::kInstant) {
    fail(path, "a duration must be paired with a timestamp or a date");
  }
  const auto micros = add_duration(anchor.micros, relative.duration, start_duration ? -1 : 1);
  if (!micros) {
    fail(path, "the duration reaches outside years 0000-9999");
  }
  relative = {TemporalEnd::Kind::kInstant, *micros, {}};
  return {start, end};
}

std::pair<TemporalEnd, TemporalEnd> parse_temporal_string(std::string_view text, const std::string& path) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (is_bare_date(text)) {
      return {parse_temporal_end(text, true, path), parse_temporal_end(text, false, path)};
    }
    const auto micros = parse_rfc3339_micros(text);
    if (!micros) {
      fail(path,
           fmt::format("expected a timestamp, a date or an interval 'start/end', found string '{}'", shortened(text)));
    }
    return {{TemporalEnd::Kind::kInstant, *micros, {}}, {TemporalEnd::Kind::kInstant, *micros, {}}};
  }
  if (text.find('/', slash + 1) != std::string_view::npos) {
    fail(path, fmt::format("the interval '{}' has more than one '/'", shortened(text)));
  }
  auto [start, end] = resolve_durations(parse_temporal_end(text.substr(0, slash), true, path),
                                        parse_temporal_end(text.substr(slash + 1), false, path), path);
  if (start.kind == TemporalEnd::Kind::kInstant && end.kind == TemporalEnd::Kind::kInstant &&
      start.micros > end.micros) {
    fail(path, "the interval starts after it ends");
  }
  return {start, end};
}

}  // namespace tessera::cql2::detail
