// The CQL2 operators: names, arity and the operand types each accepts, as the
// CQL2 1.0 JSON schema defines them. Both parsers type-check through here.
#include <array>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "catalog/cql2_internal.hpp"

namespace tessera::cql2 {
namespace detail {
namespace {

constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
constexpr unsigned kEquatable = kBoolean | kNumber | kString | kInstant;
constexpr unsigned kOrdered = kNumber | kString | kInstant;
constexpr unsigned kTemporal = kInstant | kInterval;

// Indexed by Op; the static_assert below keeps the order in step with the enum.
constexpr std::array kOps = {
    OpInfo{Op::kAnd, "and", "AND", Syntax::kLogical, 2, kUnbounded, kBoolean, kBoolean, false},
    OpInfo{Op::kOr, "or", "OR", Syntax::kLogical, 2, kUnbounded, kBoolean, kBoolean, false},
    OpInfo{Op::kNot, "not", "NOT", Syntax::kLogical, 1, 1, kBoolean, kBoolean, false},
    OpInfo{Op::kEqual, "=", "=", Syntax::kInfix, 2, 2, kEquatable, kBoolean, true},
    OpInfo{Op::kNotEqual, "<>", "<>", Syntax::kInfix, 2, 2, kEquatable, kBoolean, true},
    OpInfo{Op::kLess, "<", "<", Syntax::kInfix, 2, 2, kOrdered, kBoolean, true},
    OpInfo{Op::kLessEqual, "<=", "<=", Syntax::kInfix, 2, 2, kOrdered, kBoolean, true},
    OpInfo{Op::kGreater, ">", ">", Syntax::kInfix, 2, 2, kOrdered, kBoolean, true},
    OpInfo{Op::kGreaterEqual, ">=", ">=", Syntax::kInfix, 2, 2, kOrdered, kBoolean, true},
    OpInfo{Op::kLike, "like", "LIKE", Syntax::kInfix, 2, 2, kString, kBoolean, false},
    // Numbers in CQL2; pgstac also compares strings and instants, and so does tessera.
    OpInfo{Op::kBetween, "between", "BETWEEN", Syntax::kInfix, 3, 3, kOrdered, kBoolean, true},
    OpInfo{Op::kIn, "in", "IN", Syntax::kInfix, 2, 2, kEquatable, kBoolean, false},
    OpInfo{Op::kIsNull, "isNull", "IS NULL", Syntax::kInfix, 1, 1, kAnyType, kBoolean, false},
    OpInfo{Op::kCasei, "casei", "CASEI", Syntax::kFunction, 1, 1, kString, kString, false},
    OpInfo{Op::kAccenti, "accenti", "ACCENTI", Syntax::kFunction, 1, 1, kString, kString, false},
    OpInfo{Op::kSIntersects, "s_intersects", "S_INTERSECTS", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSEquals, "s_equals", "S_EQUALS", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSDisjoint, "s_disjoint", "S_DISJOINT", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSTouches, "s_touches", "S_TOUCHES", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSWithin, "s_within", "S_WITHIN", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSOverlaps, "s_overlaps", "S_OVERLAPS", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSCrosses, "s_crosses", "S_CROSSES", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kSContains, "s_contains", "S_CONTAINS", Syntax::kFunction, 2, 2, kGeometry, kBoolean, false},
    OpInfo{Op::kTAfter, "t_after", "T_AFTER", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTBefore, "t_before", "T_BEFORE", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTContains, "t_contains", "T_CONTAINS", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTDisjoint, "t_disjoint", "T_DISJOINT", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTDuring, "t_during", "T_DURING", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTEquals, "t_equals", "T_EQUALS", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTFinishedBy, "t_finishedBy", "T_FINISHEDBY", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTFinishes, "t_finishes", "T_FINISHES", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTIntersects, "t_intersects", "T_INTERSECTS", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTMeets, "t_meets", "T_MEETS", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTMetBy, "t_metBy", "T_METBY", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTOverlappedBy, "t_overlappedBy", "T_OVERLAPPEDBY", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTOverlaps, "t_overlaps", "T_OVERLAPS", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTStartedBy, "t_startedBy", "T_STARTEDBY", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kTStarts, "t_starts", "T_STARTS", Syntax::kFunction, 2, 2, kTemporal, kBoolean, false},
    OpInfo{Op::kAEquals, "a_equals", "A_EQUALS", Syntax::kFunction, 2, 2, kArray, kBoolean, false},
    OpInfo{Op::kAContains, "a_contains", "A_CONTAINS", Syntax::kFunction, 2, 2, kArray, kBoolean, false},
    OpInfo{Op::kAContainedBy, "a_containedBy", "A_CONTAINEDBY", Syntax::kFunction, 2, 2, kArray, kBoolean, false},
    OpInfo{Op::kAOverlaps, "a_overlaps", "A_OVERLAPS", Syntax::kFunction, 2, 2, kArray, kBoolean, false},
    OpInfo{Op::kAdd, "+", "+", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kSubtract, "-", "-", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kMultiply, "*", "*", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kDivide, "/", "/", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kModulo, "%", "%", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kIntegerDivide, "div", "DIV", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kPower, "^", "^", Syntax::kInfix, 2, 2, kNumber, kNumber, false},
    OpInfo{Op::kUpper, "upper", "UPPER", Syntax::kFunction, 1, 1, kString, kString, false},
    OpInfo{Op::kLower, "lower", "LOWER", Syntax::kFunction, 1, 1, kString, kString, false},
};

// Other names of operators, as pgstac reads them (its cql2_ops table and
// CQL1-JSON): compared case-insensitively like the names above.
constexpr std::pair<std::string_view, Op> kAliases[] = {
    {"eq", Op::kEqual},
    {"neq", Op::kNotEqual},
    {"ne", Op::kNotEqual},
    {"!=", Op::kNotEqual},
    {"lt", Op::kLess},
    {"lte", Op::kLessEqual},
    {"le", Op::kLessEqual},
    {"gt", Op::kGreater},
    {"gte", Op::kGreaterEqual},
    {"ge", Op::kGreaterEqual},
    {"anyinteracts", Op::kTIntersects},
    {"intersects", Op::kSIntersects},
    {"a_contained_by", Op::kAContainedBy},
};

constexpr bool table_matches_enum() {
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    if (static_cast<std::size_t>(kOps[i].op) != i) {
      return false;
    }
  }
  return kOps.size() == static_cast<std::size_t>(Op::kLower) + 1;
}
static_assert(table_matches_enum(), "kOps must list every Op in declaration order");

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string describe_count(std::size_t min_args, std::size_t max_args) {
  if (min_args == max_args) {
    return fmt::format("{} argument{}", min_args, min_args == 1 ? "" : "s");
  }
  return fmt::format("at least {} arguments", min_args);
}

}  // namespace

const OpInfo& op_info(Op op) noexcept { return kOps[static_cast<std::size_t>(op)]; }

std::string describe_types(unsigned types) {
  switch (types) {
    case kBoolean:
      return "a boolean expression";
    case kEquatable:
      return "a string, number, boolean, timestamp or date";
    case kOrdered:
      return "a string, number, timestamp or date";
    case kTemporal:
      return "a timestamp, date or interval";
    default:
      break;
  }
  static constexpr std::array<std::pair<unsigned, std::string_view>, 7> kNames = {{
      {kBoolean, "boolean"},
      {kNumber, "number"},
      {kString, "string"},
      {kInstant, "timestamp or date"},
      {kInterval, "interval"},
      {kGeometry, "geometry"},
      {kArray, "array"},
  }};
  std::vector<std::string_view> names;
  for (const auto& [bit, name] : kNames) {
    if ((types & bit) != 0) {
      names.push_back(name);
    }
  }
  if (names.empty()) {
    return "nothing";
  }
  const bool vowel = std::string_view("aeiou").find(names.front().front()) != std::string_view::npos;
  return fmt::format("{} {}", vowel ? "an" : "a", fmt::join(names, " or "));
}

std::string shortened(std::string_view text) {
  constexpr std::size_t kShown = 40;
  if (text.size() <= kShown) {
    return std::string(text);
  }
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;  // not inside a UTF-8 sequence
  }
  return fmt::format("{}...", text.substr(0, cut));
}

std::string describe_literal(const nlohmann::json& value) {
  if (value.is_string()) {
    return fmt::format("string '{}'", shortened(value.get_ref<const std::string&>()));
  }
  const std::string text = shortened(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return value.is_number() ? fmt::format("number {}", text) : text;
}

std::optional<OperandProblem> check_operands(Op op, std::string_view name, std::span<const Operand> operands) {
  const OpInfo& info = op_info(op);
  if (operands.size() < info.min_args || operands.size() > info.max_args) {
    return OperandProblem{
        OperandProblem::kArity,
        fmt::format("{} takes {}, found {}", name, describe_count(info.min_args, info.max_args), operands.size())};
  }
  // IN's second operand is its list, checked element by element.
  const std::size_t typed_count = op == Op::kIn ? 1 : operands.size();
  for (std::size_t i = 0; i < typed_count; ++i) {
    const Operand& operand = operands[i];
    // AND, OR and NOT need predicates: a property is not a boolean expression in CQL2.
    const bool fits =
        info.syntax == Syntax::kLogical ? operand.type == kBoolean : (operand.type & info.operand_types) != 0;
    if (!fits) {
      return OperandProblem{i, fmt::format("{} expects {} as argument {}, found {}", name,
                                           describe_types(info.operand_types), i + 1, operand.description)};
    }
  }
  if (info.comparison) {
    unsigned shared = info.operand_types & operands[0].type;
    for (std::size_t i = 1; i < operands.size(); ++i) {
      shared &= operands[i].type;
      if (shared == 0) {
        return OperandProblem{
            i, fmt::format("{} cannot compare {} with {}", name, operands[0].description, operands[i].description)};
      }
    }
  }
  return std::nullopt;
}

std::optional<OperandProblem> check_in_list(const Operand& needle, std::span<const Operand> elements) {
  unsigned shared = needle.type & kEquatable;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const Operand& element = elements[i];
    if ((element.type & kEquatable) == 0) {
      return OperandProblem{
          i, fmt::format("an IN list holds {}, found {}", describe_types(kEquatable), element.description)};
    }
    if ((needle.type & element.type & kEquatable) == 0) {
      return OperandProblem{i, fmt::format("IN cannot compare {} with {}", needle.description, element.description)};
    }
    if ((shared & element.type) == 0) {
      return OperandProblem{
          i, fmt::format("an IN list cannot mix {} and {}", elements[0].description, element.description)};
    }
    shared &= element.type;
  }
  return std::nullopt;
}

}  // namespace detail

std::string_view op_name(Op op) noexcept { return detail::op_info(op).name; }

std::optional<Op> op_from_name(std::string_view name) noexcept {
  for (const detail::OpInfo& info : detail::kOps) {
    if (detail::equals_ignoring_case(info.name, name)) {
      return info.op;
    }
  }
  for (const auto& [alias, op] : detail::kAliases) {
    if (detail::equals_ignoring_case(alias, name)) {
      return op;
    }
  }
  return std::nullopt;
}

}  // namespace tessera::cql2
