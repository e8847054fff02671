#include "catalog/cql2_lexer.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "catalog/cql2_internal.hpp"
#include "tessera/error.hpp"

namespace tessera::cql2::detail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Non-ASCII bytes belong to identifiers: the text is valid UTF-8 by now, and
// CQL2 allows letters of any script in names.
bool is_identifier_start(char c) { return is_letter(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }
bool is_identifier_part(char c) { return is_identifier_start(c) || is_digit(c) || c == ':' || c == '.'; }

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "the end of the text";
    case TokenKind::kString:
      return describe_literal(token.text);
    case TokenKind::kNumber:
      return fmt::format("number {}", token.text);
    case TokenKind::kQuotedName:
      return fmt::format("\"{}\"", shortened(token.text));
    case TokenKind::kWord:
    case TokenKind::kSymbol:
      break;
  }
  return fmt::format("'{}'", shortened(token.text));
}

}  // namespace

bool equals_keyword(std::string_view word, std::string_view keyword) noexcept {
  if (word.size() != keyword.size()) {
    return false;
  }
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    if ((c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) != keyword[i]) {
      return false;
    }
  }
  return true;
}

const Token& Lexer::peek(std::size_t ahead) {
  while (buffered_ <= ahead) {
    lookahead_[buffered_++] = scan();
  }
  return lookahead_[ahead];
}

Token Lexer::take() {
  peek();
  Token token = std::move(lookahead_[0]);
  lookahead_[0] = std::move(lookahead_[1]);
  --buffered_;
  return token;
}

bool Lexer::next_is_symbol(std::string_view symbol, std::size_t ahead) {
  const Token& token = peek(ahead);
  return token.kind == TokenKind::kSymbol && token.text == symbol;
}

bool Lexer::next_is_keyword(std::string_view keyword, std::size_t ahead) {
  const Token& token = peek(ahead);
  return token.kind == TokenKind::kWord && equals_keyword(token.text, keyword);
}

bool Lexer::take_symbol(std::string_view symbol) {
  if (!next_is_symbol(symbol)) {
    return false;
  }
  take();
  return true;
}

bool Lexer::take_keyword(std::string_view keyword) {
  if (!next_is_keyword(keyword)) {
    return false;
  }
  take();
  return true;
}

void Lexer::expect_symbol(std::string_view symbol, std::string_view context) {
  if (!take_symbol(symbol)) {
    fail(peek(), fmt::format("expected '{}' {}", symbol, context));
  }
}

void Lexer::fail(const Token& token, std::string_view problem) const {
  fail_at(token.offset, fmt::format("{}, found {}", problem, describe(token)));
}

void Lexer::fail_at(std::size_t offset, std::string_view problem) const {
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("CQL2 text, character {}: {}", count_characters(input_, offset), problem));
}

Token Lexer::scan() {
  while (position_ < input_.size() && is_space(input_[position_])) {
    ++position_;
  }
  Token token;
  token.offset = position_;
  if (position_ == input_.size()) {
    return token;
  }
  const char c = input_[position_];
  if (c == '\'') {
    return scan_quoted('\'', TokenKind::kString);
  }
  if (c == '"') {
    return scan_quoted('"', TokenKind::kQuotedName);
  }
  if (is_digit(c) || (c == '.' && position_ + 1 < input_.size() && is_digit(input_[position_ + 1]))) {
    return scan_number();
  }
  if (is_identifier_start(c)) {
    const std::size_t start = position_;
    while (position_ < input_.size() && is_identifier_part(input_[position_])) {
      ++position_;
    }
    token.kind = TokenKind::kWord;
    token.text = std::string(input_.substr(start, position_ - start));
    return token;
  }
  token.kind = TokenKind::kSymbol;
  const std::string_view rest = input_.substr(position_);
  for (const std::string_view pair : {"<=", ">=", "<>"}) {
    if (rest.starts_with(pair)) {
      token.text = std::string(pair);
      position_ += 2;
      return token;
    }
  }
  if (std::string_view("(),=<>+-*/%^").find(c) != std::string_view::npos) {
    token.text = std::string(1, c);
    ++position_;
    return token;
  }
  const bool printable = c > ' ' && c < 0x7F;
  fail_at(position_, printable ? fmt::format("unexpected character '{}'", c)
                               : fmt::format("unexpected control character U+{:04X}", static_cast<unsigned>(c)));
}

// 'text' with '' (or \') for a quote, "name" with "" for a double quote.
Token Lexer::scan_quoted(char quote, TokenKind kind) {
  Token token;
  token.kind = kind;
  token.offset = position_++;
  while (true) {
    if (position_ >= input_.size()) {
      fail_at(token.offset, kind == TokenKind::kString ? "unterminated string" : "unterminated quoted identifier");
    }
    const char c = input_[position_++];
    const bool doubled = position_ < input_.size() && input_[position_] == quote;
    if (c == quote && !doubled) {
      break;
    }
    if (c == quote || (quote == '\'' && c == '\\' && doubled)) {
      token.text += quote;
      ++position_;
    } else {
      token.text += c;
    }
  }
  if (kind == TokenKind::kQuotedName && token.text.empty()) {
    fail_at(token.offset, "empty quoted identifier");
  }
  return token;
}

Token Lexer::scan_number() {
  Token token;
  token.kind = TokenKind::kNumber;
  token.offset = position_;
  auto skip_digits = [this] {
    const std::size_t start = position_;
    while (position_ < input_.size() && is_digit(input_[position_])) {
      ++position_;
    }
    return position_ > start;
  };
  skip_digits();
  if (position_ < input_.size() && input_[position_] == '.') {
    ++position_;
    skip_digits();
  }
  bool well_formed = true;
  if (position_ < input_.size() && (input_[position_] == 'e' || input_[position_] == 'E')) {
    ++position_;
    if (position_ < input_.size() && (input_[position_] == '+' || input_[position_] == '-')) {
      ++position_;
    }
    well_formed = skip_digits();
  }
  if (!well_formed || (position_ < input_.size() && is_identifier_part(input_[position_]))) {
    while (position_ < input_.size() && is_identifier_part(input_[position_])) {
      ++position_;
    }
    fail_at(token.offset,
            fmt::format("malformed number '{}'", shortened(input_.substr(token.offset, position_ - token.offset))));
  }
  token.text = std::string(input_.substr(token.offset, position_ - token.offset));
  return token;
}

nlohmann::json number_value(const Lexer& lexer, const Token& token) {
  const char* first = token.text.data();
  const char* last = first + token.text.size();
  if (token.text.find_first_of(".eE") == std::string::npos) {
    std::int64_t integer = 0;
    const auto [end, error] = std::from_chars(first, last, integer);
    if (error == std::errc() && end == last) {
      return integer;
    }
  }
  double real = 0;
  const auto [end, error] = std::from_chars(first, last, real);
  if (error != std::errc() || end != last || !std::isfinite(real)) {
    lexer.fail(token, "number out of range");
  }
  return real;
}

NestingGuard::NestingGuard(std::size_t& depth, const Lexer& lexer, std::size_t offset) : depth_(depth) {
  if (depth_ >= kMaxDepth) {
    lexer.fail_at(offset, fmt::format("nesting deeper than {} levels", kMaxDepth));
  }
  ++depth_;
}

}  // namespace tessera::cql2::detail
