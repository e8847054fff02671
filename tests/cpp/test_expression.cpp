#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tessera/error.hpp"
#include "test_support.hpp"
#include "tiling/expression.hpp"

namespace {

using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::tiling::band_indexes;
using tessera::tiling::Expression;
using tessera::tiling::ExpressionLimits;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every output of `text` over the pixels in `values` (one vector per variable,
// all the same length).
std::vector<std::vector<double>> evaluate(std::string_view text,
                                          const std::map<std::string, std::vector<double>>& values = {}) {
  const Expression expression = Expression::parse(text);
  const std::size_t pixels = values.empty() ? 1 : values.begin()->second.size();
  std::vector<const double*> inputs;
  inputs.reserve(expression.variables().size());
  for (const std::string& name : expression.variables()) {
    inputs.push_back(values.at(name).data());
  }
  std::vector<std::vector<double>> results(expression.output_count(), std::vector<double>(pixels));
  std::vector<double*> outputs;
  outputs.reserve(results.size());
  for (auto& result : results) {
    outputs.push_back(result.data());
  }
  expression.evaluate(inputs, pixels, outputs);
  return results;
}

// The one value of a one-output expression over one pixel.
double value_of(std::string_view text, const std::map<std::string, double>& values = {}) {
  std::map<std::string, std::vector<double>> columns;
  for (const auto& [name, value] : values) {
    columns[name] = {value};
  }
  const auto results = evaluate(text, columns);
  EXPECT_EQ(results.size(), 1U) << text;
  return results.at(0).at(0);
}

std::string parse_error(std::string_view text, const ExpressionLimits& limits = {}) {
  try {
    Expression::parse(text, limits);
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kInvalidInput) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "'" << text << "' parsed";
  return "";
}

// The character of the message's expression line above its caret.
char above_caret(const std::string& message) {
  const std::size_t caret_line = message.rfind('\n');
  const std::size_t expression_line = message.rfind('\n', caret_line - 1);
  const std::size_t column = message.size() - caret_line - 2;  // the caret is the line's last character
  return message.at(expression_line + 1 + column);
}

TEST(Expression, Arithmetic) {
  EXPECT_EQ(value_of("1 + 2 * 3"), 7.0);
  EXPECT_EQ(value_of("(1 + 2) * 3"), 9.0);
  EXPECT_EQ(value_of("10 - 4 - 3"), 3.0);
  EXPECT_EQ(value_of("2 * 3 / 4"), 1.5);
  EXPECT_EQ(value_of("8 / 2 / 2"), 2.0);
  EXPECT_EQ(value_of("7 - 2 * 3 + 1"), 2.0);
  EXPECT_EQ(value_of("b1 - b2 - b3", {{"b1", 10}, {"b2", 4}, {"b3", 3}}), 3.0);
  EXPECT_EQ(value_of("b1 / b2 / b3", {{"b1", 8}, {"b2", 2}, {"b3", 2}}), 2.0);
  EXPECT_EQ(value_of("b1 + b2 * b3", {{"b1", 1}, {"b2", 2}, {"b3", 3}}), 7.0);
  EXPECT_EQ(value_of("(b4 - b3) / (b4 + b3)", {{"b4", 0.5}, {"b3", 0.25}}), (0.5 - 0.25) / (0.5 + 0.25));
}

TEST(Expression, Numbers) {
  EXPECT_EQ(value_of("1"), 1.0);
  EXPECT_EQ(value_of("0.5"), 0.5);
  EXPECT_EQ(value_of(".5"), 0.5);
  EXPECT_EQ(value_of("2."), 2.0);
  EXPECT_EQ(value_of("1e-3"), 1e-3);
  EXPECT_EQ(value_of("1E+2"), 100.0);
  EXPECT_EQ(value_of("2.5e1"), 25.0);
  EXPECT_EQ(value_of("007"), 7.0);
}

TEST(Expression, PowerAndUnary) {
  EXPECT_EQ(value_of("2 ** 3 ** 2"), 512.0);  // right-associative
  EXPECT_EQ(value_of("(2 ** 3) ** 2"), 64.0);
  EXPECT_EQ(value_of("-2 ** 2"), -4.0);  // -(2**2), as in Python
  EXPECT_EQ(value_of("(-2) ** 2"), 4.0);
  EXPECT_EQ(value_of("2 ** -1"), 0.5);
  EXPECT_EQ(value_of("2 * 3 ** 2"), 18.0);
  EXPECT_EQ(value_of("-b1 ** 2", {{"b1", 3}}), -9.0);
  EXPECT_EQ(value_of("b1 ** 2", {{"b1", -3}}), 9.0);
  EXPECT_EQ(value_of("b1 ** 3", {{"b1", -2}}), -8.0);
  EXPECT_EQ(value_of("b1 ** 0.5", {{"b1", 16}}), 4.0);
  EXPECT_EQ(value_of("b1 ** b2 ** b3", {{"b1", 2}, {"b2", 3}, {"b3", 2}}), 512.0);
  EXPECT_EQ(value_of("2 ** b1", {{"b1", 10}}), 1024.0);
  EXPECT_EQ(value_of("-b1", {{"b1", 3}}), -3.0);
  EXPECT_EQ(value_of("+b1", {{"b1", 3}}), 3.0);
  EXPECT_EQ(value_of("--b1", {{"b1", 3}}), 3.0);
  EXPECT_EQ(value_of("-+-b1", {{"b1", 3}}), 3.0);
  EXPECT_EQ(value_of("-b1 * 2", {{"b1", 3}}), -6.0);
  EXPECT_EQ(value_of("2 - -b1", {{"b1", 3}}), 5.0);
}

TEST(Expression, Comparisons) {
  const std::map<std::string, double> values = {{"b1", 2}, {"b2", 3}, {"b3", 2}};
  EXPECT_EQ(value_of("b1 < b2", values), 1.0);
  EXPECT_EQ(value_of("b2 < b1", values), 0.0);
  EXPECT_EQ(value_of("b1 < b3", values), 0.0);
  EXPECT_EQ(value_of("b1 <= b3", values), 1.0);
  EXPECT_EQ(value_of("b2 <= b1", values), 0.0);
  EXPECT_EQ(value_of("b2 > b1", values), 1.0);
  EXPECT_EQ(value_of("b1 > b3", values), 0.0);
  EXPECT_EQ(value_of("b1 >= b3", values), 1.0);
  EXPECT_EQ(value_of("b1 >= b2", values), 0.0);
  EXPECT_EQ(value_of("b1 == b3", values), 1.0);
  EXPECT_EQ(value_of("b1 == b2", values), 0.0);
  EXPECT_EQ(value_of("b1 != b2", values), 1.0);
  EXPECT_EQ(value_of("b1 != b3", values), 0.0);
  EXPECT_EQ(value_of("1 + 2 > 2"), 1.0);  // arithmetic binds tighter
  EXPECT_EQ(value_of("2 * 3 == 6"), 1.0);
  EXPECT_EQ(value_of("-1 < 0"), 1.0);
  EXPECT_EQ(value_of("(b1 < b2) + (b1 < b2)", values), 2.0);
}

TEST(Expression, LogicalOperators) {
  EXPECT_EQ(value_of("2 & 3"), 1.0);  // on truthiness, not bits
  EXPECT_EQ(value_of("2 & 0"), 0.0);
  EXPECT_EQ(value_of("0.5 | 0"), 1.0);
  EXPECT_EQ(value_of("0 | 0"), 0.0);
  EXPECT_EQ(value_of("~0"), 1.0);
  EXPECT_EQ(value_of("~-2.5"), 0.0);
  EXPECT_EQ(value_of("1 | 0 & 0"), 1.0);  // '&' binds tighter than '|'
  EXPECT_EQ(value_of("0 & 0 | 1"), 1.0);
  EXPECT_EQ(value_of("~0 & 0"), 0.0);                 // '~' binds tighter than '&'
  EXPECT_EQ(value_of("~b1 > 0", {{"b1", -1}}), 0.0);  // (~b1) > 0, not ~(b1 > 0)
  EXPECT_EQ(value_of("~(b1 > 0)", {{"b1", -1}}), 1.0);
  const std::map<std::string, double> values = {{"b1", 2}};
  EXPECT_EQ(value_of("b1 > 1 & b1 < 3", values), 1.0);  // comparisons bind tighter than '&'
  EXPECT_EQ(value_of("b1 > 1 & b1 < 2", values), 0.0);
  EXPECT_EQ(value_of("b1 < 1 | b1 > 3", values), 0.0);
  EXPECT_EQ(value_of("b1 < 1 | b1 > 1", values), 1.0);
  EXPECT_EQ(value_of("b1 & b2 | b3", {{"b1", 0}, {"b2", 1}, {"b3", 7}}), 1.0);
  EXPECT_EQ(value_of("~b1", {{"b1", 0}}), 1.0);
  EXPECT_EQ(value_of("~b1", {{"b1", 5}}), 0.0);
}

TEST(Expression, Functions) {
  EXPECT_EQ(value_of("where(1, 2, 3)"), 2.0);
  EXPECT_EQ(value_of("where(0, 2, 3)"), 3.0);
  EXPECT_EQ(value_of("where(b1 > 100, b1, 0)", {{"b1", 150}}), 150.0);
  EXPECT_EQ(value_of("where(b1 > 100, b1, 0)", {{"b1", 50}}), 0.0);
  EXPECT_EQ(value_of("where(b1, 1, 2)", {{"b1", -0.1}}), 1.0);
  EXPECT_EQ(value_of("abs(-2.5)"), 2.5);
  EXPECT_EQ(value_of("abs(b1)", {{"b1", -4}}), 4.0);
  EXPECT_EQ(value_of("sqrt(b1)", {{"b1", 16}}), 4.0);
  EXPECT_EQ(value_of("log(1)"), 0.0);
  EXPECT_DOUBLE_EQ(value_of("log(b1)", {{"b1", std::exp(2.0)}}), 2.0);
  EXPECT_EQ(value_of("log10(b1)", {{"b1", 1000}}), 3.0);
  EXPECT_EQ(value_of("exp(b1)", {{"b1", 0}}), 1.0);
  EXPECT_EQ(value_of("exp(1)"), std::exp(1.0));
  EXPECT_EQ(value_of("min(3, 1, 2)"), 1.0);
  EXPECT_EQ(value_of("max(3, 1, 2)"), 3.0);
  EXPECT_EQ(value_of("min(b1, b2)", {{"b1", 3}, {"b2", -1}}), -1.0);
  EXPECT_EQ(value_of("max(b1, b2)", {{"b1", 3}, {"b2", -1}}), 3.0);
  EXPECT_EQ(value_of("min(b1, b2 * 2, b3 + 1, 4)", {{"b1", 5}, {"b2", 1}, {"b3", 6}}), 2.0);
  // Constant arguments ahead of computed ones, where a careless register
  // allocation would overwrite sqrt(b1) before reading it.
  EXPECT_EQ(value_of("min(9, 8, sqrt(b1))", {{"b1", 16}}), 4.0);
  EXPECT_EQ(value_of("max(1, 2, sqrt(b1), b1 - 20)", {{"b1", 16}}), 4.0);
  EXPECT_EQ(value_of("where(b1 > 0, 1, b2 + b3)", {{"b1", 0}, {"b2", 2}, {"b3", 3}}), 5.0);
  EXPECT_EQ(value_of("sqrt(abs(min(b1, -16)))", {{"b1", 0}}), 4.0);
}

TEST(Expression, FollowsIeeeForDivisionByZeroAndDomainErrors) {
  EXPECT_EQ(value_of("1 / 0"), kInf);
  EXPECT_EQ(value_of("-1 / 0"), -kInf);
  EXPECT_EQ(value_of("1 / -0"), -kInf);
  EXPECT_TRUE(std::isnan(value_of("0 / 0")));
  EXPECT_TRUE(std::isnan(value_of("sqrt(-1)")));
  EXPECT_EQ(value_of("log(0)"), -kInf);
  EXPECT_TRUE(std::isnan(value_of("log(-1)")));
  EXPECT_EQ(value_of("exp(1000)"), kInf);
  const std::map<std::string, double> zero = {{"b1", 1}, {"b2", 0}};
  EXPECT_EQ(value_of("b1 / b2", zero), kInf);
  EXPECT_EQ(value_of("-b1 / b2", zero), -kInf);
  EXPECT_TRUE(std::isnan(value_of("b2 / b2", zero)));
  EXPECT_TRUE(std::isnan(value_of("sqrt(b2 - b1)", zero)));
  EXPECT_EQ(value_of("log(b2)", zero), -kInf);
  EXPECT_TRUE(std::isnan(value_of("log10(-b1)", zero)));
  EXPECT_TRUE(std::isnan(value_of("(-8) ** (1 / 3)")));
  // 0 and -0 are different constants.
  const auto signed_zero = evaluate("b1 / 0; b1 / -0", {{"b1", {1.0}}});
  EXPECT_EQ(signed_zero[0][0], kInf);
  EXPECT_EQ(signed_zero[1][0], -kInf);
}

TEST(Expression, NanComparesFalseAndIsTruthy) {
  const std::map<std::string, double> nan = {{"b1", std::nan("")}, {"b2", 1}};
  EXPECT_EQ(value_of("b1 == b1", nan), 0.0);
  EXPECT_EQ(value_of("b1 != b1", nan), 1.0);
  EXPECT_EQ(value_of("b1 > 0", nan), 0.0);
  EXPECT_EQ(value_of("b1 <= 0", nan), 0.0);
  EXPECT_EQ(value_of("where(b1, 1, 2)", nan), 1.0);
  EXPECT_EQ(value_of("~b1", nan), 0.0);
  EXPECT_EQ(value_of("b1 & 1", nan), 1.0);
  EXPECT_EQ(value_of("where(b1 == b1, b1, -1)", nan), -1.0);
  EXPECT_TRUE(std::isnan(value_of("b1 + 1", nan)));
  EXPECT_TRUE(std::isnan(value_of("min(b1, b2)", nan)));
  EXPECT_TRUE(std::isnan(value_of("min(b2, b1)", nan)));
  EXPECT_TRUE(std::isnan(value_of("max(b1, b2)", nan)));
  EXPECT_TRUE(std::isnan(value_of("max(b2, b1)", nan)));
}

TEST(Expression, MultipleOutputs) {
  const Expression expression = Expression::parse("b1*0.5; b2;sqrt(b3)");
  EXPECT_EQ(expression.output_count(), 3U);
  EXPECT_EQ(expression.output_texts(), (std::vector<std::string>{"b1*0.5", "b2", "sqrt(b3)"}));
  const auto results = evaluate("b1*0.5; b2;sqrt(b3)", {{"b1", {2, 4}}, {"b2", {7, 8}}, {"b3", {9, 16}}});
  EXPECT_EQ(results, (std::vector<std::vector<double>>{{1, 2}, {7, 8}, {3, 4}}));
  EXPECT_EQ(Expression::parse("  b1 * 2 ;\n\tb2 \t").output_texts(), (std::vector<std::string>{"b1 * 2", "b2"}));
  EXPECT_EQ(evaluate("5; b1", {{"b1", {1, 2}}}), (std::vector<std::vector<double>>{{5, 5}, {1, 2}}));
}

TEST(Expression, VariablesInOrderOfFirstAppearance) {
  EXPECT_EQ(Expression::parse("b3 + b1; b2 * b3; nir - b1").variables(),
            (std::vector<std::string>{"b3", "b1", "b2", "nir"}));
  EXPECT_EQ(Expression::parse("(red_b1 - B04) / _x9").variables(), (std::vector<std::string>{"red_b1", "B04", "_x9"}));
  EXPECT_TRUE(Expression::parse("1 + 2").variables().empty());
  EXPECT_EQ(value_of("red_b1 * B04 + nir", {{"red_b1", 2}, {"B04", 3}, {"nir", 1}}), 7.0);
}

TEST(Expression, OutputsMayOverwriteInputs) {
  const Expression expression = Expression::parse("b2; b1; b1 + b2");
  std::vector<double> b1 = {1, 2, 3};
  std::vector<double> b2 = {10, 20, 30};
  std::vector<double> sum(3);
  ASSERT_EQ(expression.variables(), (std::vector<std::string>{"b2", "b1"}));
  const std::vector<const double*> inputs = {b2.data(), b1.data()};
  const std::vector<double*> outputs = {b1.data(), b2.data(), sum.data()};
  expression.evaluate(inputs, 3, outputs);
  EXPECT_EQ(b1, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(b2, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(sum, (std::vector<double>{11, 22, 33}));
}

TEST(Expression, EvaluateChecksItsArguments) {
  const Expression expression = Expression::parse("b1 + b2");
  std::vector<double> data(4, 1.0);
  std::vector<double> out(4);
  const std::vector<const double*> one_input = {data.data()};
  const std::vector<const double*> null_input = {data.data(), nullptr};
  const std::vector<const double*> inputs = {data.data(), data.data()};
  const std::vector<double*> outputs = {out.data()};
  const std::vector<double*> null_output = {nullptr};
  expect_error([&] { expression.evaluate(one_input, 4, outputs); }, ErrorCode::kInvalidInput,
               "1 inputs and 1 outputs for 2 variables");
  expect_error([&] { expression.evaluate(inputs, 4, {}); }, ErrorCode::kInvalidInput, "0 outputs");
  expect_error([&] { expression.evaluate(null_input, 4, outputs); }, ErrorCode::kInvalidInput,
               "no data for variable 'b2'");
  expect_error([&] { expression.evaluate(inputs, 4, null_output); }, ErrorCode::kInvalidInput, "null output");
  expression.evaluate(null_input, 0, outputs);  // nothing to read
  expression.evaluate(inputs, 4, outputs);
  EXPECT_EQ(out, (std::vector<double>{2, 2, 2, 2}));
}

// A mixed expression over more pixels than one block, against the same
// arithmetic in C++ (same operations in the same order, so equal bits).
TEST(Expression, MatchesDirectComputationAcrossBlocks) {
  const std::size_t pixels = 1000;
  std::mt19937 random(42);
  std::uniform_real_distribution<double> uniform(-1.0, 2.0);
  std::map<std::string, std::vector<double>> values;
  for (const char* name : {"b1", "b2", "b3"}) {
    auto& column = values[name];
    for (std::size_t i = 0; i < pixels; ++i) {
      column.push_back(uniform(random));
    }
  }
  const auto results = evaluate(
      "(b1 - b2) / (b1 + b2) * where(b3 > 0.5, sqrt(b3), -b3 ** 2) + max(b1, b2, b3) - min(abs(b1 - 0.5), b2);"
      "b3 ** 1.5 + log(abs(b1)) * (b2 >= 0 | b1 < 0) - exp(b2) / 10",
      values);
  const auto& b1 = values["b1"];
  const auto& b2 = values["b2"];
  const auto& b3 = values["b3"];
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < pixels; ++i) {
    const double first = (b1[i] - b2[i]) / (b1[i] + b2[i]) * (b3[i] > 0.5 ? std::sqrt(b3[i]) : -(b3[i] * b3[i])) +
                         std::max(std::max(b1[i], b2[i]), b3[i]) - std::min(std::fabs(b1[i] - 0.5), b2[i]);
    const double second = std::pow(b3[i], 1.5) + std::log(std::fabs(b1[i])) * ((b2[i] >= 0 || b1[i] < 0) ? 1.0 : 0.0) -
                          std::exp(b2[i]) / 10;
    const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
    mismatches += same(results[0][i], first) ? 0 : 1;
    mismatches += same(results[1][i], second) ? 0 : 1;
  }
  EXPECT_EQ(mismatches, 0U);
}

TEST(Expression, EvaluatesAMillionPixels) {
  const std::size_t pixels = 1'000'000;
  std::vector<double> nir(pixels);
  std::vector<double> red(pixels);
  for (std::size_t i = 0; i < pixels; ++i) {
    nir[i] = static_cast<double>(i % 1000);
    red[i] = static_cast<double>((i * 7) % 1000);
  }
  const Expression expression = Expression::parse("(b4 - b3) / (b4 + b3); where(b4 > b3, 1, 0)");
  ASSERT_EQ(expression.variables(), (std::vector<std::string>{"b4", "b3"}));
  std::vector<double> ndvi(pixels);
  std::vector<double> greener(pixels);
  const std::vector<const double*> inputs = {nir.data(), red.data()};
  const std::vector<double*> outputs = {ndvi.data(), greener.data()};
  expression.evaluate(inputs, pixels, outputs);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < pixels; ++i) {
    const double expected = (nir[i] - red[i]) / (nir[i] + red[i]);
    const bool ndvi_ok = ndvi[i] == expected || (std::isnan(expected) && std::isnan(ndvi[i]));
    mismatches += ndvi_ok && greener[i] == (nir[i] > red[i] ? 1.0 : 0.0) ? 0 : 1;
  }
  EXPECT_EQ(mismatches, 0U);
  EXPECT_TRUE(std::isnan(ndvi[0]));  // 0/0 where both bands are 0
}

TEST(Expression, ErrorShowsPositionAndCaret) {
  EXPECT_EQ(parse_error("(b1+b2))"), "expression: unexpected ')' at position 7\n  (b1+b2))\n         ^");
  EXPECT_EQ(parse_error("b1 + foo(b2)"),
            "expression: unknown function 'foo' (known: where, abs, sqrt, log, log10, exp, min, max) at position 5\n"
            "  b1 + foo(b2)\n"
            "       ^");
  // The shown line keeps one column per character, in ASCII.
  EXPECT_EQ(parse_error("b1 + $ + \u00e9"), "expression: unknown character '$' at position 5\n  b1 + $ + ?\n       ^");
  EXPECT_EQ(parse_error("b1 +\n\t$"), "expression: unknown character '$' at position 6\n  b1 +  $\n        ^");
}

TEST(Expression, ErrorsNameProblemAndPosition) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty expression at position 0"},
      {"  \t", "empty expression at position 0"},
      {"b1;;b2", "empty output at position 3"},
      {";b1", "empty output at position 0"},
      {"b1; ", "empty output at position 4"},
      {"ndvi(b1)", "unknown function 'ndvi'"},
      {"b1 $ b2", "unknown character '$' at position 3"},
      {"b1 + .", "unknown character '.' at position 5"},
      {"b1 + \x01", "unknown character U+0001 at position 5"},
      {"b1 + \xff", "invalid UTF-8 byte 0xFF at position 5"},
      {"b1 + \xc3", "invalid UTF-8 byte 0xC3 at position 5"},
      {"b1 + \u00e9", "unknown character U+00E9 at position 5"},
      {"b1 + \u20ac", "unknown character U+20AC at position 5"},
      {"b1 = b2", "unknown operator '=' (use '==' to compare) at position 3"},
      {"b1 && b2", "unknown operator '&&' (use '&') at position 3"},
      {"b1 || b2", "unknown operator '||' (use '|') at position 3"},
      {"!b1", "unknown operator '!' (use '~' for not, '!=' to compare) at position 0"},
      {"b1 ^ 2", "unknown operator '^' (use '**' for powers) at position 3"},
      {"(b1+b2", "unbalanced parentheses: '(' is not closed at position 0"},
      {"b1 * ((b2 + 1)", "unbalanced parentheses: '(' is not closed at position 5"},
      {"sqrt(b1", "unbalanced parentheses: '(' is not closed at position 4"},
      {"(b1; b2)", "unbalanced parentheses: '(' is not closed at position 0"},
      {"(b1+b2))", "unexpected ')' at position 7"},
      {"b1 b2", "unexpected 'b2' at position 3"},
      {"(b1 b2)", "unexpected 'b2' at position 4"},
      {"where(b1 2, 3)", "unexpected '2' at position 9"},
      {"b1 +", "missing operand at position 4"},
      {"b1 + * b2", "missing operand before '*' at position 5"},
      {")", "missing operand before ')' at position 0"},
      {"()", "missing operand before ')' at position 1"},
      {"min(b1,)", "missing operand before ')' at position 7"},
      {"min(,b1)", "missing operand before ',' at position 4"},
      {"b1 + ;", "missing operand before ';' at position 5"},
      {"b1 * -", "missing operand at position 6"},
      {"1e", "bad number '1e' at position 0"},
      {"1e+", "bad number '1e+' at position 0"},
      {"b1 * 1.2.3", "bad number '1.2.3' at position 5"},
      {"2b1", "bad number '2b1' at position 0"},
      {"0x10", "bad number '0x10' at position 0"},
      {"1e999", "number out of range '1e999' at position 0"},
      {"sqrt + 1", "function 'sqrt' needs its arguments: sqrt(...) at position 0"},
      {"b1 * max", "function 'max' needs its arguments: max(...) at position 5"},
      {"where(b1, b2)", "where() takes 3 arguments, got 2 at position 0"},
      {"b1 + sqrt()", "sqrt() takes 1 argument, got 0 at position 5"},
      {"abs(b1, b2)", "abs() takes 1 argument, got 2 at position 0"},
      {"min(b1)", "min() takes at least 2 arguments, got 1 at position 0"},
      {"max()", "max() takes at least 2 arguments, got 0 at position 0"},
      {"b1 < b2 < b3", "comparisons cannot be chained; write (a < b) & (b < c) instead of a < b < c at position 8"},
      {"1 == b1 != 2", "comparisons cannot be chained"},
  };
  for (const auto& [text, fragment] : cases) {
    const std::string message = parse_error(text);
    EXPECT_EQ(message.rfind("expression: ", 0), 0U) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "'" << text << "': " << message;
  }
}

TEST(Expression, CaretPointsIntoLongExpressions) {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += "b1 + ";
  }
  const std::string message = parse_error(text + "$" + text);
  EXPECT_NE(message.find("unknown character '$' at position 500"), std::string::npos) << message;
  EXPECT_NE(message.find("\n  ..."), std::string::npos) << message;
  EXPECT_NE(message.find("...\n"), std::string::npos) << message;
  EXPECT_EQ(above_caret(message), '$') << message;
  EXPECT_LT(message.size(), 250U);
  const std::string at_start = parse_error("$" + text);
  EXPECT_EQ(above_caret(at_start), '$') << at_start;
  // At the end, the caret is one past the shown line.
  const std::string at_end = parse_error(text);
  EXPECT_NE(at_end.find("missing operand at position 500"), std::string::npos) << at_end;
  const std::size_t caret_line = at_end.rfind('\n');
  const std::size_t expression_line = at_end.rfind('\n', caret_line - 1);
  EXPECT_EQ(at_end.size() - caret_line, caret_line - expression_line + 1) << at_end;
}

TEST(Expression, LimitsLength) {
  std::string longest = "b1";
  while (longest.size() + 3 <= 2048) {
    longest += " +1";
  }
  EXPECT_NO_THROW(Expression::parse(longest));
  const std::string message = parse_error(std::string(3000, '1'));
  EXPECT_EQ(message, "expression: too long (3000 bytes; the limit is 2048)");
  EXPECT_NE(parse_error("b1 + b2", {.max_length = 4}).find("too long (7 bytes; the limit is 4)"), std::string::npos);
}

TEST(Expression, LimitsDepthWhileParsing) {
  const ExpressionLimits roomy{.max_length = 1'000'000};
  const std::string deep = std::string(100'000, '(') + "b1" + std::string(100'000, ')');
  EXPECT_NE(parse_error(deep, roomy).find("nested deeper than 64 levels at position 64"), std::string::npos);
  EXPECT_NE(parse_error(std::string(100'000, '-') + "b1", roomy).find("nested deeper than 64 levels at position 64"),
            std::string::npos);
  std::string powers = "2";
  for (int i = 0; i < 50'000; ++i) {
    powers += "**2";
  }
  EXPECT_NE(parse_error(powers, roomy).find("nested deeper than 64 levels"), std::string::npos);
  std::string calls;
  for (int i = 0; i < 50'000; ++i) {
    calls += "abs(";
  }
  EXPECT_NE(parse_error(calls, roomy).find("nested deeper than 64 levels at position 259"), std::string::npos);

  const std::string deepest = std::string(64, '(') + "b1" + std::string(64, ')');
  EXPECT_EQ(value_of(deepest, {{"b1", 3}}), 3.0);
  EXPECT_NE(parse_error(deepest, {.max_depth = 10}).find("nested deeper than 10 levels at position 10"),
            std::string::npos);
}

TEST(Expression, LimitsOutputs) {
  std::string outputs = "b1";
  for (int i = 1; i < 32; ++i) {
    outputs += ";b1";
  }
  EXPECT_EQ(Expression::parse(outputs).output_count(), 32U);
  EXPECT_NE(parse_error(outputs + ";b1").find("more than 32 outputs at position 95"), std::string::npos);
  EXPECT_NE(parse_error("b1; b2", {.max_outputs = 1}).find("more than 1 outputs at position 2"), std::string::npos);
}

TEST(Expression, LimitsNodes) {
  EXPECT_NO_THROW(Expression::parse("b1+b1+b1+b1+b1", {.max_nodes = 9}));
  EXPECT_NE(parse_error("b1+b1+b1+b1+b1+b1", {.max_nodes = 10}).find("too complex: more than 10 nodes at position 15"),
            std::string::npos);
  // Every number, name, operator and call counts.
  EXPECT_NO_THROW(Expression::parse("-sqrt(b1)*2", {.max_nodes = 5}));
  EXPECT_NE(parse_error("-sqrt(b1)*2", {.max_nodes = 4}).find("more than 4 nodes at position 10"), std::string::npos);
}

TEST(Expression, BandIndexes) {
  EXPECT_EQ(band_indexes(Expression::parse("b3 + b1; b12 / b3")), (std::vector<int>{3, 1, 12}));
  EXPECT_TRUE(band_indexes(Expression::parse("1")).empty());
  for (const char* name : {"foo", "b0", "b01", "B1", "b", "b1x", "b_1", "b99999999999"}) {
    expect_error([&] { band_indexes(Expression::parse(fmt::format("b1 + {}", name))); }, ErrorCode::kInvalidInput,
                 fmt::format("expression: unknown band '{}'; use b1, b2, ...", name));
  }
}

}  // namespace
