#include "tiling/expression.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <unordered_map>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::tiling {

namespace detail {

enum class Op : std::uint8_t {
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kPower,
  kSquare,  // x ** 2, the common power, without calling pow
  kNegate,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kEqual,
  kNotEqual,
  kAnd,
  kOr,
  kNot,
  kWhere,
  kAbs,
  kSqrt,
  kLog,
  kLog10,
  kExp,
  kMin,
  kMax,
};

}  // namespace detail

namespace {

using detail::Op;

// Pixels evaluated per pass: a register of this many doubles (2 KiB) stays in
// L1 cache, and one pass through the program's dispatch is shared by them all.
constexpr std::size_t kBlock = 256;

template <typename ValueAt>
void fill(double* out, std::size_t n, ValueAt value_at) {
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = value_at(i);
  }
}

double truth(bool value) { return value ? 1.0 : 0.0; }

// out[i] = op(a[i], b[i], c[i]) for i < n. Also folds constants (n = 1), so
// parse-time and pixel results agree. `out` may be one of the arguments.
void run(Op op, double* out, const double* a, const double* b, const double* c, std::size_t n) {
  switch (op) {
    case Op::kAdd:
      return fill(out, n, [=](std::size_t i) { return a[i] + b[i]; });
    case Op::kSubtract:
      return fill(out, n, [=](std::size_t i) { return a[i] - b[i]; });
    case Op::kMultiply:
      return fill(out, n, [=](std::size_t i) { return a[i] * b[i]; });
    case Op::kDivide:
      return fill(out, n, [=](std::size_t i) { return a[i] / b[i]; });
    case Op::kPower:
      return fill(out, n, [=](std::size_t i) { return std::pow(a[i], b[i]); });
    case Op::kSquare:
      return fill(out, n, [=](std::size_t i) { return a[i] * a[i]; });
    case Op::kNegate:
      return fill(out, n, [=](std::size_t i) { return -a[i]; });
    case Op::kLess:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] < b[i]); });
    case Op::kLessEqual:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] <= b[i]); });
    case Op::kGreater:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] > b[i]); });
    case Op::kGreaterEqual:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] >= b[i]); });
    case Op::kEqual:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] == b[i]); });
    case Op::kNotEqual:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] != b[i]); });
    case Op::kAnd:
      return fill(out, n, [=](std::size_t i) { return truth((a[i] != 0.0) & (b[i] != 0.0)); });
    case Op::kOr:
      return fill(out, n, [=](std::size_t i) { return truth((a[i] != 0.0) | (b[i] != 0.0)); });
    case Op::kNot:
      return fill(out, n, [=](std::size_t i) { return truth(a[i] == 0.0); });
    case Op::kWhere:
      return fill(out, n, [=](std::size_t i) { return a[i] != 0.0 ? b[i] : c[i]; });
    case Op::kAbs:
      return fill(out, n, [=](std::size_t i) { return std::fabs(a[i]); });
    case Op::kSqrt:
      return fill(out, n, [=](std::size_t i) { return std::sqrt(a[i]); });
    case Op::kLog:
      return fill(out, n, [=](std::size_t i) { return std::log(a[i]); });
    case Op::kLog10:
      return fill(out, n, [=](std::size_t i) { return std::log10(a[i]); });
    case Op::kExp:
      return fill(out, n, [=](std::size_t i) { return std::exp(a[i]); });
    case Op::kMin:
      return fill(out, n, [=](std::size_t i) { return a[i] < b[i] || std::isnan(a[i]) ? a[i] : b[i]; });
    case Op::kMax:
      return fill(out, n, [=](std::size_t i) { return a[i] > b[i] || std::isnan(a[i]) ? a[i] : b[i]; });
  }
}

struct Function {
  std::string_view name;
  Op op;
  std::size_t arity;  // 0: two or more
};

constexpr Function kFunctions[] = {
    {"where", Op::kWhere, 3}, {"abs", Op::kAbs, 1}, {"sqrt", Op::kSqrt, 1}, {"log", Op::kLog, 1},
    {"log10", Op::kLog10, 1}, {"exp", Op::kExp, 1}, {"min", Op::kMin, 0},   {"max", Op::kMax, 0},
};

const Function* find_function(std::string_view name) {
  for (const Function& function : kFunctions) {
    if (function.name == name) {
      return &function;
    }
  }
  return nullptr;
}

enum class Tok : std::uint8_t {
  kEnd,
  kNumber,
  kName,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPower,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kEqual,
  kNotEqual,
  kAnd,
  kOr,
  kNot,
  kLeftParen,
  kRightParen,
  kComma,
  kSemicolon,
};

// An operator, or (with advice) one from another language that is refused
// with what to write instead. Matched in order: two-character symbols first
// ("**" is not two '*', "==" is fine while "=" is not), then the refused ones
// ("&&" must not be read as '&'), then single characters.
struct Symbol {
  std::string_view text;
  Tok kind;
  std::string_view advice = {};
};

constexpr Symbol kSymbols[] = {
    {"**", Tok::kPower},
    {"<=", Tok::kLessEqual},
    {">=", Tok::kGreaterEqual},
    {"==", Tok::kEqual},
    {"!=", Tok::kNotEqual},
    {"&&", Tok::kEnd, "use '&'"},
    {"||", Tok::kEnd, "use '|'"},
    {"=", Tok::kEnd, "use '==' to compare"},
    {"!", Tok::kEnd, "use '~' for not, '!=' to compare"},
    {"^", Tok::kEnd, "use '**' for powers"},
    {"+", Tok::kPlus},
    {"-", Tok::kMinus},
    {"*", Tok::kStar},
    {"/", Tok::kSlash},
    {"<", Tok::kLess},
    {">", Tok::kGreater},
    {"&", Tok::kAnd},
    {"|", Tok::kOr},
    {"~", Tok::kNot},
    {"(", Tok::kLeftParen},
    {")", Tok::kRightParen},
    {",", Tok::kComma},
    {";", Tok::kSemicolon},
};

enum Level : std::uint8_t { kOrLevel, kAndLevel, kComparisonLevel, kSumLevel, kProductLevel, kUnaryLevel };

struct BinaryOperator {
  Tok token;
  Level level;
  Op op;
};

constexpr BinaryOperator kBinaryOperators[] = {
    {Tok::kOr, kOrLevel, Op::kOr},
    {Tok::kAnd, kAndLevel, Op::kAnd},
    {Tok::kLess, kComparisonLevel, Op::kLess},
    {Tok::kLessEqual, kComparisonLevel, Op::kLessEqual},
    {Tok::kGreater, kComparisonLevel, Op::kGreater},
    {Tok::kGreaterEqual, kComparisonLevel, Op::kGreaterEqual},
    {Tok::kEqual, kComparisonLevel, Op::kEqual},
    {Tok::kNotEqual, kComparisonLevel, Op::kNotEqual},
    {Tok::kPlus, kSumLevel, Op::kAdd},
    {Tok::kMinus, kSumLevel, Op::kSubtract},
    {Tok::kStar, kProductLevel, Op::kMultiply},
    {Tok::kSlash, kProductLevel, Op::kDivide},
};

const BinaryOperator* find_binary_operator(Tok token) {
  for (const BinaryOperator& binary : kBinaryOperators) {
    if (binary.token == token) {
      return &binary;
    }
  }
  return nullptr;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// What is wrong with the character at `offset`: "unknown character '$'" for
// printable ASCII, "unknown character U+00E9" for others (named by code point,
// so the message stays valid UTF-8), "invalid UTF-8 byte 0xFF" for what is not UTF-8.
std::string unknown_character(std::string_view text, std::size_t offset) {
  const auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned lead = byte_at(offset);
  if (lead >= 0x20 && lead < 0x7F) {
    return fmt::format("unknown character '{}'", text[offset]);
  }
  const std::size_t length = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
  std::string invalid = fmt::format("invalid UTF-8 byte 0x{:02X}", lead);
  if (length == 1 && lead >= 0x80) {
    return invalid;
  }
  unsigned code = length == 1 ? lead : lead & (0x7FU >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if (offset + i >= text.size() || !is_continuation(text[offset + i])) {
      return invalid;
    }
    code = (code << 6) | (byte_at(offset + i) & 0x3FU);
  }
  return fmt::format("unknown character U+{:04X}", code);
}

// The expression as one line of ASCII with a caret under `offset`. The lexer
// stops at the first non-ASCII byte, so everything before an error is ASCII
// and byte offsets are character positions; after it, controls become spaces
// and other characters '?', one column each. Long expressions are cut to a
// window around `offset`.
std::string caret_lines(std::string_view text, std::size_t offset) {
  constexpr std::size_t kWidth = 72;
  std::size_t begin = 0;
  std::size_t end = text.size();
  if (text.size() > kWidth) {
    begin = std::min(offset > kWidth / 2 ? offset - kWidth / 2 : 0, text.size() - kWidth);
    end = begin + kWidth;
  }
  std::string line = begin > 0 ? "..." : "";
  const std::size_t caret_column = line.size() + offset - begin;
  for (const char c : text.substr(begin, end - begin)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      if (!is_continuation(c)) {
        line += '?';
      }
    } else {
      line += byte < 0x20 || byte == 0x7F ? ' ' : c;
    }
  }
  if (end < text.size()) {
    line += "...";
  }
  return fmt::format("  {}\n  {}^", line, std::string(caret_column, ' '));
}

std::string_view trim_end(std::string_view text) {
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

// Recursive descent that compiles as it parses: each rule returns where its
// value lies (a constant, an input or a scratch register) and appends the
// instructions that compute it. Registers are allocated like a stack, so an
// instruction's result goes to the lowest register among its arguments.
class Expression::Parser {
 public:
  Parser(std::string_view text, const ExpressionLimits& limits) : text_(text), limits_(limits) {}

  Expression parse() {
    if (text_.size() > limits_.max_length) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("expression: too long ({} bytes; the limit is {})", text_.size(), limits_.max_length));
    }
    advance();
    if (token_.kind == Tok::kEnd) {
      fail(0, "empty expression");
    }
    std::size_t separator = 0;
    while (true) {
      if (expression_.programs_.size() == limits_.max_outputs) {
        fail(separator, fmt::format("more than {} outputs", limits_.max_outputs));
      }
      if (token_.kind == Tok::kSemicolon || token_.kind == Tok::kEnd) {
        fail(token_.offset, "empty output");
      }
      const std::size_t start = token_.offset;
      program_ = &expression_.programs_.emplace_back();
      next_register_ = 0;
      program_->result = slot(parse_binary(kOrLevel));
      expression_.output_texts_.emplace_back(trim_end(text_.substr(start, token_.offset - start)));
      if (token_.kind == Tok::kEnd) {
        return std::move(expression_);
      }
      if (token_.kind != Tok::kSemicolon) {
        fail(token_.offset, fmt::format("unexpected {}", describe(token_)));
      }
      separator = token_.offset;
      advance();
    }
  }

 private:
  struct Token {
    Tok kind = Tok::kEnd;
    std::size_t offset = 0;  // bytes into the text
    std::size_t length = 0;
    double number = 0.0;
  };

  // A value while compiling: a constant (not yet given a slot, so it can be
  // folded), an input or a register.
  struct Value {
    SlotKind kind = SlotKind::kConstant;
    std::uint32_t index = 0;
    double constant = 0.0;
  };

  // One more level of nesting for as long as it lives; InvalidInput past max_depth.
  class DepthGuard {
   public:
    DepthGuard(Parser& parser, std::size_t offset) : parser_(parser) {
      if (parser_.depth_ == parser_.limits_.max_depth) {
        parser_.fail(offset, fmt::format("nested deeper than {} levels", parser_.limits_.max_depth));
      }
      ++parser_.depth_;
    }
    ~DepthGuard() { --parser_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser& parser_;
  };

  [[noreturn]] void fail(std::size_t offset, std::string_view problem) const {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("expression: {} at position {}\n{}", problem, offset, caret_lines(text_, offset)));
  }

  [[nodiscard]] std::string_view text_of(const Token& token) const { return text_.substr(token.offset, token.length); }

  [[nodiscard]] std::string describe(const Token& token) const {
    return token.kind == Tok::kEnd ? std::string("end of expression") : fmt::format("'{}'", text_of(token));
  }

  void count_node(std::size_t offset) {
    if (++nodes_ > limits_.max_nodes) {
      fail(offset, fmt::format("too complex: more than {} nodes", limits_.max_nodes));
    }
  }

  void advance() {
    while (position_ < text_.size() && is_space(text_[position_])) {
      ++position_;
    }
    token_ = Token{Tok::kEnd, position_};
    if (position_ == text_.size()) {
      return;
    }
    const char c = text_[position_];
    if (is_digit(c) || (c == '.' && position_ + 1 < text_.size() && is_digit(text_[position_ + 1]))) {
      return scan_number();
    }
    if (is_name_start(c)) {
      while (position_ < text_.size() && is_name_char(text_[position_])) {
        ++position_;
      }
      token_.kind = Tok::kName;
      token_.length = position_ - token_.offset;
      return;
    }
    const std::string_view rest = text_.substr(position_);
    for (const Symbol& symbol : kSymbols) {
      if (rest.starts_with(symbol.text)) {
        if (!symbol.advice.empty()) {
          fail(position_, fmt::format("unknown operator '{}' ({})", symbol.text, symbol.advice));
        }
        token_.kind = symbol.kind;
        token_.length = symbol.text.size();
        position_ += token_.length;
        return;
      }
    }
    fail(position_, unknown_character(text_, position_));
  }

  // Digits with an optional fraction and exponent (1, 0.5, .5, 2., 1e-3). A
  // letter, digit or point straight after makes the whole run a bad number
  // ("1.2.3", "2b1", "0x10") rather than two tokens.
  void scan_number() {
    const auto skip_digits = [&] {
      while (position_ < text_.size() && is_digit(text_[position_])) {
        ++position_;
      }
    };
    skip_digits();
    if (position_ < text_.size() && text_[position_] == '.') {
      ++position_;
      skip_digits();
    }
    bool bad = false;
    if (position_ < text_.size() && (text_[position_] == 'e' || text_[position_] == 'E')) {
      ++position_;
      if (position_ < text_.size() && (text_[position_] == '+' || text_[position_] == '-')) {
        ++position_;
      }
      const std::size_t exponent = position_;
      skip_digits();
      bad = position_ == exponent;
    }
    while (position_ < text_.size() && (is_name_char(text_[position_]) || text_[position_] == '.')) {
      ++position_;
      bad = true;
    }
    token_.kind = Tok::kNumber;
    token_.length = position_ - token_.offset;
    const std::string_view number = text_of(token_);
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), token_.number);
    if (error == std::errc::result_out_of_range) {
      fail(token_.offset, fmt::format("number out of range '{}'", number));
    }
    if (bad || error != std::errc{} || end != number.data() + number.size()) {
      fail(token_.offset, fmt::format("bad number '{}'", number));
    }
  }

  // Binary operators from `level` up; each level is left-associative except
  // comparisons, which take one operator.
  Value parse_binary(Level level) {
    if (level == kUnaryLevel) {
      return parse_unary();
    }
    const auto next = static_cast<Level>(level + 1);
    Value left = parse_binary(next);
    for (const BinaryOperator* binary = find_binary_operator(token_.kind); binary && binary->level == level;
         binary = find_binary_operator(token_.kind)) {
      const Token op = token_;
      count_node(op.offset);
      advance();
      left = emit(binary->op, {left, parse_binary(next)});
      if (level == kComparisonLevel) {
        const BinaryOperator* again = find_binary_operator(token_.kind);
        if (again && again->level == kComparisonLevel) {
          fail(token_.offset, fmt::format("comparisons cannot be chained; write (a {0} b) & (b {1} c) instead of "
                                          "a {0} b {1} c",
                                          text_of(op), text_of(token_)));
        }
      }
    }
    return left;
  }

  Value parse_unary() {
    if (token_.kind != Tok::kMinus && token_.kind != Tok::kPlus && token_.kind != Tok::kNot) {
      return parse_power();
    }
    const Token op = token_;
    count_node(op.offset);
    const DepthGuard guard(*this, op.offset);
    advance();
    const Value operand = parse_unary();
    if (op.kind == Tok::kPlus) {
      return operand;
    }
    return emit(op.kind == Tok::kMinus ? Op::kNegate : Op::kNot, {operand});
  }

  // The exponent is a unary, so 2**-1 works, and '**' binds tighter than a
  // unary minus before it: -b1**2 is -(b1**2), as in Python.
  Value parse_power() {
    const Value base = parse_primary();
    if (token_.kind != Tok::kPower) {
      return base;
    }
    const Token op = token_;
    count_node(op.offset);
    const DepthGuard guard(*this, op.offset);
    advance();
    const Value exponent = parse_unary();
    if (exponent.kind == SlotKind::kConstant && exponent.constant == 2.0) {
      return emit(Op::kSquare, {base});
    }
    return emit(Op::kPower, {base, exponent});
  }

  Value parse_primary() {
    const Token token = token_;
    switch (token.kind) {
      case Tok::kNumber:
        count_node(token.offset);
        advance();
        return Value{SlotKind::kConstant, 0, token.number};
      case Tok::kName: {
        count_node(token.offset);
        advance();
        const std::string_view name = text_of(token);
        const Function* function = find_function(name);
        if (function) {
          if (token_.kind != Tok::kLeftParen) {
            fail(token.offset, fmt::format("function '{0}' needs its arguments: {0}(...)", name));
          }
          return parse_call(token, *function);
        }
        if (token_.kind == Tok::kLeftParen) {
          fail(token.offset,
               fmt::format("unknown function '{}' (known: where, abs, sqrt, log, log10, exp, min, max)", name));
        }
        return variable(name);
      }
      case Tok::kLeftParen: {
        const DepthGuard guard(*this, token.offset);
        advance();
        const Value value = parse_binary(kOrLevel);
        expect_closing(token);
        return value;
      }
      case Tok::kEnd:
        fail(token.offset, "missing operand");
      default:
        fail(token.offset, fmt::format("missing operand before {}", describe(token)));
    }
  }

  // After the arguments: ')' or, at the end of the output, an unbalanced '('.
  void expect_closing(const Token& open) {
    if (token_.kind == Tok::kEnd || token_.kind == Tok::kSemicolon) {
      fail(open.offset, "unbalanced parentheses: '(' is not closed");
    }
    if (token_.kind != Tok::kRightParen) {
      fail(token_.offset, fmt::format("unexpected {}", describe(token_)));
    }
    advance();
  }

  // min and max fold their arguments left to right as they come, so each
  // step's result can take the lowest register without clobbering an
  // argument still to be read.
  Value parse_call(const Token& name, const Function& function) {
    const Token open = token_;
    const DepthGuard guard(*this, open.offset);
    advance();
    std::vector<Value> args;
    std::size_t count = 0;
    if (token_.kind != Tok::kRightParen) {
      do {
        const Value arg = parse_binary(kOrLevel);
        ++count;
        if (function.arity == 0 && count > 1) {
          args[0] = emit(function.op, {args[0], arg});
        } else {
          args.push_back(arg);
        }
      } while (take(Tok::kComma));
    }
    expect_closing(open);
    if (function.arity == 0 && count < 2) {
      fail(name.offset, fmt::format("{}() takes at least 2 arguments, got {}", function.name, count));
    }
    if (function.arity != 0 && count != function.arity) {
      fail(name.offset, fmt::format("{}() takes {} argument{}, got {}", function.name, function.arity,
                                    function.arity == 1 ? "" : "s", count));
    }
    if (function.arity == 0) {
      return args[0];
    }
    if (function.op == Op::kWhere) {
      return emit(function.op, {args[0], args[1], args[2]});
    }
    return emit(function.op, {args[0]});
  }

  bool take(Tok kind) {
    if (token_.kind != kind) {
      return false;
    }
    advance();
    return true;
  }

  Value variable(std::string_view name) {
    const auto [it, added] =
        variable_indexes_.try_emplace(name, static_cast<std::uint32_t>(expression_.variables_.size()));
    if (added) {
      expression_.variables_.emplace_back(name);
    }
    return Value{SlotKind::kInput, it->second, 0.0};
  }

  // The instruction computing op(args), or its value when every argument is a constant.
  Value emit(Op op, std::initializer_list<Value> args) {
    std::array<double, 3> constants{};
    std::array<const double*, 3> pointers{};
    bool all_constant = true;
    std::uint32_t target = next_register_;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const Value& arg = args.begin()[i];
      constants[i] = arg.constant;
      pointers[i] = &constants[i];
      all_constant = all_constant && arg.kind == SlotKind::kConstant;
      if (arg.kind == SlotKind::kTemp) {
        target = std::min(target, arg.index);
      }
    }
    if (all_constant) {
      double folded = 0.0;
      run(op, &folded, pointers[0], pointers[1], pointers[2], 1);
      return Value{SlotKind::kConstant, 0, folded};
    }
    Instruction instruction{op, static_cast<std::uint8_t>(args.size()), target, {}};
    for (std::size_t i = 0; i < args.size(); ++i) {
      instruction.args[i] = slot(args.begin()[i]);
    }
    program_->code.push_back(instruction);
    next_register_ = target + 1;
    expression_.register_count_ = std::max<std::size_t>(expression_.register_count_, next_register_);
    return Value{SlotKind::kTemp, target, 0.0};
  }

  Slot slot(const Value& value) {
    if (value.kind != SlotKind::kConstant) {
      return Slot{value.kind, value.index};
    }
    // Keyed by bit pattern: -0.0 and 0.0 stay apart.
    const auto [it, added] = constant_indexes_.try_emplace(std::bit_cast<std::uint64_t>(value.constant),
                                                           static_cast<std::uint32_t>(expression_.constants_.size()));
    if (added) {
      expression_.constants_.push_back(value.constant);
    }
    return Slot{SlotKind::kConstant, it->second};
  }

  std::string_view text_;
  const ExpressionLimits& limits_;
  std::size_t position_ = 0;
  Token token_;
  std::size_t depth_ = 0;
  std::size_t nodes_ = 0;
  Expression expression_;
  Program* program_ = nullptr;
  std::uint32_t next_register_ = 0;
  std::unordered_map<std::string_view, std::uint32_t> variable_indexes_;
  std::unordered_map<std::uint64_t, std::uint32_t> constant_indexes_;
};

Expression Expression::parse(std::string_view text, const ExpressionLimits& limits) {
  return Parser(text, limits).parse();
}

void Expression::evaluate(std::span<const double* const> inputs, std::size_t pixel_count,
                          std::span<double* const> outputs) const {
  if (inputs.size() != variables_.size() || outputs.size() != programs_.size()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("expression: evaluate got {} inputs and {} outputs for {} variables and {} outputs",
                            inputs.size(), outputs.size(), variables_.size(), programs_.size()));
  }
  if (pixel_count == 0) {
    return;
  }
  for (std::size_t v = 0; v < inputs.size(); ++v) {
    if (inputs[v] == nullptr) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("expression: no data for variable '{}'", variables_[v]));
    }
  }
  if (std::find(outputs.begin(), outputs.end(), nullptr) != outputs.end()) {
    throw Error(ErrorCode::kInvalidInput, "expression: null output buffer");
  }
  // Scratch blocks: the constants (filled once), the registers, and each
  // output's result, held until every output has read the block's inputs so
  // that outputs may overwrite inputs.
  const std::size_t first_register = constants_.size();
  const std::size_t first_result = first_register + register_count_;
  std::vector<double> scratch((first_result + programs_.size()) * kBlock);
  for (std::size_t c = 0; c < constants_.size(); ++c) {
    std::fill_n(scratch.data() + c * kBlock, kBlock, constants_[c]);
  }
  const auto block = [&](std::size_t index) { return scratch.data() + index * kBlock; };
  for (std::size_t offset = 0; offset < pixel_count; offset += kBlock) {
    const std::size_t n = std::min(kBlock, pixel_count - offset);
    const auto at = [&](const Slot& slot) -> const double* {
      switch (slot.kind) {
        case SlotKind::kInput:
          return inputs[slot.index] + offset;
        case SlotKind::kConstant:
          return block(slot.index);
        case SlotKind::kTemp:
          return block(first_register + slot.index);
      }
      return nullptr;
    };
    for (std::size_t o = 0; o < programs_.size(); ++o) {
      for (const Instruction& instruction : programs_[o].code) {
        const auto& args = instruction.args;
        run(instruction.op, block(first_register + instruction.target), at(args[0]),
            instruction.arity > 1 ? at(args[1]) : nullptr, instruction.arity > 2 ? at(args[2]) : nullptr, n);
      }
      std::copy_n(at(programs_[o].result), n, block(first_result + o));
    }
    for (std::size_t o = 0; o < programs_.size(); ++o) {
      std::copy_n(block(first_result + o), n, outputs[o] + offset);
    }
  }
}

std::vector<int> band_indexes(const Expression& expression) {
  std::vector<int> bands;
  bands.reserve(expression.variables().size());
  for (const std::string& name : expression.variables()) {
    const std::string_view digits = std::string_view(name).substr(1);  // names are never empty
    int band = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), band);
    // No leading zeros, so each band has one name.
    if (name[0] != 'b' || digits.empty() || digits[0] == '0' || error != std::errc{} ||
        end != digits.data() + digits.size()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("expression: unknown band '{}'; use b1, b2, ...", name));
    }
    bands.push_back(band);
  }
  return bands;
}

}  // namespace tessera::tiling
