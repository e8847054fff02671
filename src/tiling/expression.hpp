#pragma once

// Band-math expressions as rio-tiler/TiTiler take them ("(b4-b3)/(b4+b3)",
// "where(b1 > 100, b1, 0); b2"), parsed into flat programs and evaluated in
// float64 over blocks of pixels. The grammar is closed (numbers, variables,
// operators, a fixed set of functions), so nothing a user writes is ever run
// as code. Internal header.
//
//   expression := output (';' output)*
//   output     := or
//   or         := and ('|' and)*                 logical, on x != 0
//   and        := comparison ('&' comparison)*
//   comparison := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
//   sum        := product (('+' | '-') product)*
//   product    := unary (('*' | '/') unary)*
//   unary      := ('-' | '+' | '~') unary | power
//   power      := primary ('**' unary)?           right-associative, as in Python
//   primary    := number | name | name '(' arguments ')' | '(' or ')'
//
// Comparisons yield 1.0 or 0.0 and do not chain (`a < b < c` is an error, as
// Python would read it differently). Functions: where(cond, a, b), abs, sqrt,
// log (natural), log10, exp, min(a, b, ...), max(a, b, ...); min and max
// return NaN when any argument is NaN, like numpy.minimum. Arithmetic follows
// IEEE 754: 1/0 is inf, sqrt(-1) and log(-1) are NaN, and NaN is truthy.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::tiling {

// Bounds on what parse() accepts, so a hostile expression costs little time
// and stack. Each is checked while parsing; exceeding one is InvalidInput.
struct ExpressionLimits {
  std::size_t max_length = 2048;  // bytes of text
  std::size_t max_depth = 64;     // nesting of parentheses, calls, unary operators and '**'
  std::size_t max_outputs = 32;   // ';'-separated outputs
  std::size_t max_nodes = 4096;   // numbers, names, operators and calls
};

namespace detail {
enum class Op : std::uint8_t;  // defined with the kernels in expression.cpp
}  // namespace detail

// A parsed expression: immutable, cheap to evaluate from several threads at once.
class Expression {
 public:
  // InvalidInput for a malformed expression or one beyond `limits`; the
  // message names the problem and the 0-based character position, and shows
  // the expression with a caret under it.
  static Expression parse(std::string_view text, const ExpressionLimits& limits = {});

  [[nodiscard]] std::size_t output_count() const noexcept { return programs_.size(); }
  // Distinct variable names in order of first appearance; the caller binds them to data.
  [[nodiscard]] const std::vector<std::string>& variables() const noexcept { return variables_; }
  // Each output's source text, trimmed ("b1*0.5; b2" gives "b1*0.5", "b2"); usable as band names.
  [[nodiscard]] const std::vector<std::string>& output_texts() const noexcept { return output_texts_; }

  // inputs[v] points at pixel_count values of variables()[v]; outputs[o]
  // receives pixel_count values of output o. An output buffer may be one of
  // the input buffers (evaluation in place) but must not partly overlap one.
  // InvalidInput when the span sizes do not match the expression or a pointer
  // is null.
  void evaluate(std::span<const double* const> inputs, std::size_t pixel_count, std::span<double* const> outputs) const;

 private:
  class Parser;

  enum class SlotKind : std::uint8_t { kInput, kConstant, kTemp };
  // Where an instruction reads or a program's result lies: inputs[index],
  // constants_[index] or scratch register `index`.
  struct Slot {
    SlotKind kind = SlotKind::kConstant;
    std::uint32_t index = 0;
  };
  struct Instruction {
    detail::Op op;
    std::uint8_t arity = 0;
    std::uint32_t target = 0;  // scratch register written
    std::array<Slot, 3> args;
  };
  // One output in postfix order, over registers allocated like a stack.
  struct Program {
    std::vector<Instruction> code;
    Slot result;
  };

  std::vector<std::string> variables_;
  std::vector<std::string> output_texts_;
  std::vector<Program> programs_;
  std::vector<double> constants_;
  std::size_t register_count_ = 0;  // scratch registers the largest program needs
};

// Band numbers for a COG's variables: "b1" -> 1, "b12" -> 12, aligned with
// expression.variables(). InvalidInput for any other name.
std::vector<int> band_indexes(const Expression& expression);

}  // namespace tessera::tiling
