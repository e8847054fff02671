// CQL2-Text to CQL2-JSON: a recursive-descent parser over the lexer's tokens
// that type-checks as it goes, so errors point at the offending token.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "catalog/cql2_internal.hpp"
#include "catalog/cql2_lexer.hpp"
#include "tessera/error.hpp"

namespace tessera::cql2 {
namespace detail {
namespace {

using nlohmann::json;

// A parsed piece of text: its CQL2-JSON, what it evaluates to and where it starts.
struct Parsed {
  json value;
  unsigned type = kAnyType;
  std::string description;
  std::size_t offset = 0;
  // Levels of nesting in `value` as parse_json() counts them, so that text
  // and JSON share one depth limit.
  std::size_t height = 1;
};

constexpr std::string_view kReservedWords[] = {"AND", "OR",  "NOT",  "LIKE", "BETWEEN", "IN",
                                               "IS",  "DIV", "NULL", "TRUE", "FALSE"};

bool is_reserved(std::string_view word) {
  return std::any_of(std::begin(kReservedWords), std::end(kReservedWords),
                     [word](std::string_view reserved) { return equals_keyword(word, reserved); });
}

std::optional<Op> comparison_op(const Token& token) {
  if (token.kind != TokenKind::kSymbol) {
    return std::nullopt;
  }
  constexpr std::pair<std::string_view, Op> kComparisons[] = {{"=", Op::kEqual},   {"<>", Op::kNotEqual},
                                                              {"<", Op::kLess},    {"<=", Op::kLessEqual},
                                                              {">", Op::kGreater}, {">=", Op::kGreaterEqual}};
  for (const auto& [symbol, op] : kComparisons) {
    if (token.text == symbol) {
      return op;
    }
  }
  return std::nullopt;
}

json negated(const json& number) {
  if (number.is_number_integer()) {
    return -number.get<std::int64_t>();
  }
  return -number.get<double>();
}

Parsed number_literal(json value, std::size_t offset) {
  std::string description = describe_literal(value);
  return Parsed{std::move(value), kNumber, std::move(description), offset};
}

class TextParser {
 public:
  explicit TextParser(std::string_view text) : lexer_(text) {}

  json parse_filter() {
    Parsed filter = parse_or();
    const Token& rest = lexer_.peek();
    if (rest.kind != TokenKind::kEnd) {
      lexer_.fail(rest, filter.type == kBoolean ? std::string("expected AND, OR or the end of the filter")
                                                : fmt::format("expected an operator after {}", filter.description));
    }
    if (filter.type != kBoolean) {
      lexer_.fail_at(filter.offset,
                     fmt::format("a filter must be a predicate (a boolean expression), found {}", filter.description));
    }
    return std::move(filter.value);
  }

 private:
  // OR binds loosest, then AND, then NOT, then the predicates.
  Parsed parse_or() {
    const NestingGuard guard(nesting_, lexer_, lexer_.peek().offset);
    std::vector<Parsed> operands;
    operands.push_back(parse_and());
    const std::size_t offset = lexer_.peek().offset;
    while (lexer_.take_keyword("OR")) {
      operands.push_back(parse_and());
    }
    return operands.size() == 1 ? std::move(operands.front()) : make_operation(Op::kOr, offset, std::move(operands));
  }

  Parsed parse_and() {
    std::vector<Parsed> operands;
    operands.push_back(parse_not());
    const std::size_t offset = lexer_.peek().offset;
    while (lexer_.take_keyword("AND")) {
      operands.push_back(parse_not());
    }
    return operands.size() == 1 ? std::move(operands.front()) : make_operation(Op::kAnd, offset, std::move(operands));
  }

  Parsed parse_not() {
    if (!lexer_.next_is_keyword("NOT")) {
      return parse_predicate();
    }
    const Token keyword = lexer_.take();
    const NestingGuard guard(nesting_, lexer_, keyword.offset);
    return make_operation(Op::kNot, keyword.offset, {parse_not()});
  }

  Parsed parse_predicate() {
    Parsed left = parse_additive();
    if (const std::optional<Op> op = comparison_op(lexer_.peek())) {
      const std::size_t offset = lexer_.take().offset;
      return make_operation(*op, offset, {std::move(left), parse_additive()});
    }
    if (lexer_.next_is_keyword("IS")) {
      const std::size_t offset = lexer_.take().offset;
      const bool negate = lexer_.take_keyword("NOT");
      if (!lexer_.take_keyword("NULL")) {
        lexer_.fail(lexer_.peek(), negate ? "expected NULL after IS NOT" : "expected NULL after IS");
      }
      Parsed is_null = make_operation(Op::kIsNull, offset, {std::move(left)});
      return negate ? make_operation(Op::kNot, offset, {std::move(is_null)}) : is_null;
    }
    // NOT LIKE, NOT BETWEEN and NOT IN are NOT around the positive predicate.
    std::optional<std::size_t> not_offset;
    if (lexer_.next_is_keyword("NOT") && (lexer_.next_is_keyword("LIKE", 1) || lexer_.next_is_keyword("BETWEEN", 1) ||
                                          lexer_.next_is_keyword("IN", 1))) {
      not_offset = lexer_.take().offset;
    }
    Parsed predicate;
    if (lexer_.next_is_keyword("LIKE")) {
      const std::size_t offset = lexer_.take().offset;
      predicate = make_operation(Op::kLike, offset, {std::move(left), parse_additive()});
    } else if (lexer_.next_is_keyword("BETWEEN")) {
      const std::size_t offset = lexer_.take().offset;
      Parsed low = parse_additive();
      if (!lexer_.take_keyword("AND")) {
        lexer_.fail(lexer_.peek(), "expected AND between the bounds of BETWEEN");
      }
      predicate = make_operation(Op::kBetween, offset, {std::move(left), std::move(low), parse_additive()});
    } else if (lexer_.next_is_keyword("IN")) {
      predicate = parse_in(std::move(left));
    } else {
      return left;
    }
    return not_offset ? make_operation(Op::kNot, *not_offset, {std::move(predicate)}) : predicate;
  }

  Parsed parse_in(Parsed needle) {
    const std::size_t offset = lexer_.take().offset;
    lexer_.expect_symbol("(", "to open the IN list");
    const std::size_t list_offset = lexer_.peek().offset;
    if (lexer_.next_is_symbol(")")) {
      lexer_.fail(lexer_.peek(), "an IN list needs at least one value");
    }
    std::vector<Parsed> values;
    do {
      values.push_back(parse_additive());
    } while (lexer_.take_symbol(","));
    lexer_.expect_symbol(")", "or ',' in the IN list");
    std::vector<Operand> elements;
    elements.reserve(values.size());
    for (const Parsed& value : values) {
      elements.push_back({value.type, value.description});
    }
    if (auto problem = check_in_list({needle.type, needle.description}, elements)) {
      lexer_.fail_at(values[problem->index].offset, problem->message);
    }
    return make_operation(Op::kIn, offset, {std::move(needle), array_of(std::move(values), list_offset)});
  }

  Parsed parse_additive() {
    Parsed left = parse_multiplicative();
    while (lexer_.next_is_symbol("+") || lexer_.next_is_symbol("-")) {
      const Token symbol = lexer_.take();
      const Op op = symbol.text == "+" ? Op::kAdd : Op::kSubtract;
      left = make_operation(op, symbol.offset, {std::move(left), parse_multiplicative()});
    }
    return left;
  }

  Parsed parse_multiplicative() {
    Parsed left = parse_power();
    while (true) {
      std::optional<Op> op;
      if (lexer_.next_is_symbol("*")) {
        op = Op::kMultiply;
      } else if (lexer_.next_is_symbol("/")) {
        op = Op::kDivide;
      } else if (lexer_.next_is_symbol("%")) {
        op = Op::kModulo;
      } else if (lexer_.next_is_keyword("DIV")) {
        op = Op::kIntegerDivide;
      } else {
        return left;
      }
      const std::size_t offset = lexer_.take().offset;
      left = make_operation(*op, offset, {std::move(left), parse_power()});
    }
  }

  // '^' is right-associative: 2 ^ 3 ^ 2 is 2 ^ (3 ^ 2).
  Parsed parse_power() {
    Parsed base = parse_unary();
    if (!lexer_.next_is_symbol("^")) {
      return base;
    }
    const std::size_t offset = lexer_.take().offset;
    const NestingGuard guard(nesting_, lexer_, offset);
    return make_operation(Op::kPower, offset, {std::move(base), parse_power()});
  }

  // CQL2-JSON has no negation: a negative literal is a number, anything else
  // is multiplied by -1.
  Parsed parse_unary() {
    if (!lexer_.next_is_symbol("-")) {
      return parse_primary();
    }
    const std::size_t offset = lexer_.take().offset;
    const NestingGuard guard(nesting_, lexer_, offset);
    Parsed operand = parse_unary();
    if (operand.value.is_number()) {
      return number_literal(negated(operand.value), offset);
    }
    return make_operation(Op::kMultiply, offset, {number_literal(-1, offset), std::move(operand)});
  }

  Parsed parse_primary() {
    const Token& next = lexer_.peek();
    switch (next.kind) {
      case TokenKind::kNumber: {
        const Token token = lexer_.take();
        return number_literal(number_value(lexer_, token), token.offset);
      }
      case TokenKind::kString: {
        const Token token = lexer_.take();
        return Parsed{token.text, kString, describe_literal(token.text), token.offset};
      }
      case TokenKind::kQuotedName:
        return property();
      case TokenKind::kWord:
        return parse_word();
      case TokenKind::kSymbol:
        if (next.text == "(") {
          const std::size_t offset = lexer_.take().offset;
          Parsed inner = parse_or();
          lexer_.expect_symbol(")", "to close the parenthesis");
          inner.offset = offset;
          return inner;
        }
        break;
      case TokenKind::kEnd:
        break;
    }
    lexer_.fail(next, "expected an expression");
  }

  Parsed parse_word() {
    const Token& word = lexer_.peek();
    if (equals_keyword(word.text, "TRUE") || equals_keyword(word.text, "FALSE")) {
      const Token token = lexer_.take();
      const bool value = equals_keyword(token.text, "TRUE");
      return Parsed{value, kBoolean, value ? "TRUE" : "FALSE", token.offset};
    }
    if (is_reserved(word.text)) {
      lexer_.fail(word, "expected an expression");
    }
    const bool call = lexer_.next_is_symbol("(", 1);
    if (is_wkt_keyword(word.text) && (call || lexer_.next_is_keyword("Z", 1) || lexer_.next_is_keyword("M", 1) ||
                                      lexer_.next_is_keyword("ZM", 1) || lexer_.next_is_keyword("EMPTY", 1))) {
      const std::size_t offset = word.offset;
      std::string description = fmt::format("geometry {}", word.text);
      return Parsed{parse_wkt(lexer_, nesting_), kGeometry, std::move(description), offset};
    }
    if (!call) {
      return property();
    }
    if (equals_keyword(word.text, "TIMESTAMP") || equals_keyword(word.text, "DATE")) {
      return parse_instant_literal();
    }
    if (equals_keyword(word.text, "INTERVAL")) {
      return parse_interval();
    }
    if (equals_keyword(word.text, "BBOX")) {
      return parse_bbox();
    }
    if (const std::optional<Op> op = op_from_name(word.text); op && op_info(*op).syntax == Syntax::kFunction) {
      return parse_function(*op);
    }
    lexer_.fail(word, "unknown function");
  }

  Parsed property() {
    const Token token = lexer_.take();
    std::string description = fmt::format("property '{}'", shortened(token.text));
    return Parsed{{{"property", token.text}}, kAnyType, std::move(description), token.offset};
  }

  // CASEI, ACCENTI and the spatial, temporal and array functions.
  Parsed parse_function(Op op) {
    const std::size_t offset = lexer_.take().offset;
    lexer_.take();  // '('
    const OpInfo& info = op_info(op);
    const bool array_arguments = info.operand_types == kArray;
    std::vector<Parsed> arguments;
    if (!lexer_.next_is_symbol(")")) {
      do {
        arguments.push_back(array_arguments ? parse_array_operand() : parse_or());
      } while (lexer_.take_symbol(","));
    }
    lexer_.expect_symbol(")", fmt::format("or ',' after an argument of {}", info.text_name));
    return make_operation(op, offset, std::move(arguments));
  }

  // In array functions a parenthesized list is an array: ('a', 'b'), ((1, 2), 3), ().
  Parsed parse_array_operand() {
    if (!lexer_.next_is_symbol("(")) {
      return parse_or();
    }
    const std::size_t offset = lexer_.take().offset;
    const NestingGuard guard(nesting_, lexer_, offset);
    std::vector<Parsed> items;
    if (!lexer_.next_is_symbol(")")) {
      do {
        items.push_back(parse_array_operand());
      } while (lexer_.take_symbol(","));
    }
    lexer_.expect_symbol(")", "or ',' in the array");
    return array_of(std::move(items), offset);
  }

  // TIMESTAMP('...') or DATE('...').
  Parsed parse_instant_literal() {
    const Token name = lexer_.take();
    lexer_.take();  // '('
    const bool is_date = equals_keyword(name.text, "DATE");
    const Token text = lexer_.take();
    if (text.kind != TokenKind::kString ||
        !(is_date ? parse_date_micros(text.text) : parse_rfc3339_micros(text.text))) {
      lexer_.fail(text, is_date ? "DATE needs a date such as '2020-01-31'"
                                : "TIMESTAMP needs an RFC 3339 timestamp such as '2020-01-31T12:00:00Z'");
    }
    lexer_.expect_symbol(")", is_date ? "to close DATE" : "to close TIMESTAMP");
    std::string description = fmt::format("{}('{}')", is_date ? "DATE" : "TIMESTAMP", shortened(text.text));
    return Parsed{{{is_date ? "date" : "timestamp", text.text}}, kInstant, std::move(description), name.offset};
  }

  Parsed parse_interval() {
    const std::size_t offset = lexer_.take().offset;
    lexer_.take();  // '('
    Parsed start = parse_interval_end();
    lexer_.expect_symbol(",", "between the ends of INTERVAL");
    Parsed end = parse_interval_end();
    lexer_.expect_symbol(")", "to close INTERVAL");
    if (start.value.is_string() && end.value.is_string()) {
      const auto start_micros = parse_instant(start.value.get<std::string>());
      const auto end_micros = parse_instant(end.value.get<std::string>());
      if (start_micros && end_micros && *start_micros > *end_micros) {
        lexer_.fail_at(start.offset, "INTERVAL starts after it ends");
      }
    }
    const std::size_t height = 1 + std::max(start.height, end.height);
    return Parsed{{{"interval", json::array({std::move(start.value), std::move(end.value)})}},
                  kInterval,
                  "INTERVAL(...)",
                  offset,
                  height};
  }

  // A date or timestamp string, '..' for an open end, TIMESTAMP(...)/DATE(...),
  // or an expression that may be an instant (a property, a function).
  Parsed parse_interval_end() {
    if (lexer_.peek().kind == TokenKind::kString) {
      const Token token = lexer_.take();
      if (token.text != ".." && !parse_instant(token.text)) {
        lexer_.fail(token, "an INTERVAL end must be a date, an RFC 3339 timestamp or '..'");
      }
      return Parsed{token.text, kInstant, describe_literal(token.text), token.offset, 0};
    }
    Parsed end = parse_additive();
    if (end.value.is_object() && (end.value.contains("timestamp") || end.value.contains("date"))) {
      end.value = json(end.value.begin().value());
      end.height = 0;
    } else if ((end.type & kInstant) == 0) {
      lexer_.fail_at(
          end.offset,
          fmt::format("an INTERVAL end must be a date, a timestamp, '..' or a property, found {}", end.description));
    }
    return end;
  }

  Parsed parse_bbox() {
    const std::size_t offset = lexer_.take().offset;
    lexer_.take();  // '('
    json coordinates = json::array();
    do {
      const bool negative = lexer_.take_symbol("-");
      const Token token = lexer_.take();
      if (token.kind != TokenKind::kNumber) {
        lexer_.fail(token, "expected a BBOX coordinate");
      }
      const json value = number_value(lexer_, token);
      coordinates.push_back(negative ? negated(value) : value);
    } while (lexer_.take_symbol(","));
    lexer_.expect_symbol(")", "or ',' in BBOX");
    const std::size_t count = coordinates.size();
    if (count != 4 && count != 6) {
      lexer_.fail_at(offset, fmt::format("BBOX takes 4 or 6 numbers, found {}", count));
    }
    const std::size_t half = count / 2;
    if (coordinates[1].get<double>() > coordinates[half + 1].get<double>()) {
      lexer_.fail_at(offset, "BBOX south is greater than its north");
    }
    if (count == 6 && coordinates[2].get<double>() > coordinates[5].get<double>()) {
      lexer_.fail_at(offset, "BBOX minimum z is greater than its maximum z");
    }
    return Parsed{{{"bbox", std::move(coordinates)}}, kGeometry, "BBOX(...)", offset};
  }

  Parsed array_of(std::vector<Parsed> items, std::size_t offset) {
    Parsed array{json::array(), kArray, "an array", offset};
    for (Parsed& item : items) {
      array.height = std::max(array.height, item.height + 1);
      array.value.push_back(std::move(item.value));
    }
    return array;
  }

  // Type-checks the operands and builds {"op": ..., "args": [...]}. `offset`
  // is the operator's; the expression starts at its first operand if earlier.
  Parsed make_operation(Op op, std::size_t offset, std::vector<Parsed> operands) {
    const OpInfo& info = op_info(op);
    std::vector<Operand> checked;
    checked.reserve(operands.size());
    for (const Parsed& operand : operands) {
      checked.push_back({operand.type, operand.description});
    }
    if (auto problem = check_operands(op, info.text_name, checked)) {
      lexer_.fail_at(problem->index == OperandProblem::kArity ? offset : operands[problem->index].offset,
                     problem->message);
    }
    const bool function = info.syntax == Syntax::kFunction;
    Parsed result{{{"op", info.name}, {"args", json::array()}},
                  info.result_type,
                  function ? fmt::format("{}(...)", info.text_name) : fmt::format("'{}' expression", info.text_name),
                  offset};
    for (Parsed& operand : operands) {
      result.offset = std::min(result.offset, operand.offset);
      result.height = std::max(result.height, operand.height + 1);
      result.value["args"].push_back(std::move(operand.value));
    }
    if (result.height > kMaxDepth) {
      lexer_.fail_at(offset, fmt::format("nesting deeper than {} levels", kMaxDepth));
    }
    return result;
  }

  Lexer lexer_;
  std::size_t nesting_ = 0;
};

}  // namespace
}  // namespace detail

nlohmann::json text_to_json(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("CQL2 text of {} bytes is longer than the {} allowed", text.size(), kMaxTextBytes));
  }
  if (const std::optional<std::size_t> invalid = detail::find_invalid_utf8(text)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("CQL2 text, character {}: invalid UTF-8", detail::count_characters(text, *invalid)));
  }
  return detail::TextParser(text).parse_filter();
}

}  // namespace tessera::cql2
