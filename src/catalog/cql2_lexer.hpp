#pragma once

// CQL2-Text tokens, and what the expression and WKT parsers share to read
// them and to report errors by character offset. Internal header.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tessera::cql2::detail {

enum class TokenKind {
  kEnd,
  kWord,        // keyword or unquoted identifier: AND, S_INTERSECTS, eo:cloud_cover
  kQuotedName,  // "eo:cloud_cover"; text is the name without quotes
  kString,      // 'text'; text is the decoded value
  kNumber,      // unsigned: 10, 2.5, 1e-3; a sign is a separate symbol
  kSymbol,      // ( ) , = <> < <= > >= + - * / % ^
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  std::size_t offset = 0;  // byte offset in the input
};

bool equals_keyword(std::string_view word, std::string_view keyword) noexcept;

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  // The next token (ahead = 0) or the one after it (ahead = 1).
  const Token& peek(std::size_t ahead = 0);
  Token take();

  bool next_is_symbol(std::string_view symbol, std::size_t ahead = 0);
  bool next_is_keyword(std::string_view keyword, std::size_t ahead = 0);
  // Consume the next token when it is that symbol or keyword.
  bool take_symbol(std::string_view symbol);
  bool take_keyword(std::string_view keyword);
  // Consume the symbol or fail with "expected '<symbol>' <context>".
  void expect_symbol(std::string_view symbol, std::string_view context);

  // InvalidInput naming the token's character offset, the problem and the token.
  [[noreturn]] void fail(const Token& token, std::string_view problem) const;
  // InvalidInput naming the character offset and the problem.
  [[noreturn]] void fail_at(std::size_t offset, std::string_view problem) const;

 private:
  Token scan();
  Token scan_quoted(char quote, TokenKind kind);
  Token scan_number();

  std::string_view input_;
  std::size_t position_ = 0;
  Token lookahead_[2];
  std::size_t buffered_ = 0;
};

// Guards recursion: one more level of nesting, InvalidInput past kMaxDepth.
class NestingGuard {
 public:
  NestingGuard(std::size_t& depth, const Lexer& lexer, std::size_t offset);
  ~NestingGuard() { --depth_; }
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;

 private:
  std::size_t& depth_;
};

// A number token's value: an integer when written without fraction or exponent
// and within 64 bits, else a double; InvalidInput when out of range.
nlohmann::json number_value(const Lexer& lexer, const Token& token);

// A WKT geometry literal (POINT, LINESTRING, POLYGON, MULTI*, GEOMETRYCOLLECTION,
// optionally with Z) as GeoJSON, read from its keyword on. `nesting` is the
// parser's recursion depth, shared so nested collections count against it.
bool is_wkt_keyword(std::string_view word) noexcept;
nlohmann::json parse_wkt(Lexer& lexer, std::size_t& nesting);

}  // namespace tessera::cql2::detail
