#pragma once

// The free-text `q` of item and collection search (STAC API Free-text
// extension), parsed once into a boolean query of phrases and written out for
// each backend: an FTS5 MATCH expression (SQLite) and the text pgstac's
// q_to_tsquery reads without ambiguity (PgSTAC). See docs/catalog.md
// ("Free-text search") for the syntax and how the backends agree.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::catalog {

struct FreeTextNode {
  enum class Kind { kPhrase, kAnd, kOr, kNot };
  Kind kind = Kind::kPhrase;
  std::vector<std::string> words;      // kPhrase: its words, in order, lower-cased
  std::vector<FreeTextNode> children;  // kAnd, kOr: two or more; kNot: one
};

// A parsed `q`. Stop words are dropped as PostgreSQL's english configuration
// drops them: an operand made only of stop words disappears from its AND/OR,
// and a query left without any (q=the) matches nothing.
struct FreeText {
  std::optional<FreeTextNode> root;  // nullopt: matches nothing
};

// The longest `q` accepted, in bytes (the strings of an array together), and
// the deepest nesting of parentheses.
inline constexpr std::size_t kMaxFreeTextBytes = 4096;
inline constexpr std::size_t kMaxFreeTextDepth = 32;

// Parses `q`: a string, or an array of strings (OR'ed). In a string,
// consecutive words form a phrase, "..." quotes one, `,` and OR (any case)
// separate alternatives, AND (any case) or juxtaposition joins operands (AND
// and OR between two operands; elsewhere they are words),
// `+word` requires and `-word` excludes a word (or a "phrase" or a group),
// and parentheses group. Words are runs of ASCII letters and digits and of
// non-ASCII characters; other characters separate them. InvalidInput naming
// `member` and the offset for anything else; never throws anything else.
FreeText parse_free_text(const nlohmann::json& q, std::string_view member = "q");

// An FTS5 MATCH expression (every word quoted, so it is always valid FTS5
// syntax) and whether the query is its negation: FTS5 has no unary NOT, so a
// query like `-cloud` matches the indexed rows that `expression` does not.
struct Fts5Match {
  std::string expression;
  bool negated = false;
};
Fts5Match to_fts5_match(const FreeTextNode& root);

// The same query as the `q` text pgstac's q_to_tsquery turns into exactly this
// tsquery: every word single-quoted (none of its regular expressions rewrite
// it) and every operator explicit (&, |, !, <->, parentheses).
std::string to_pgstac_q(const FreeTextNode& root);

// The one text an FTS5 row holds for an object's description, title and
// keywords: pgstac searches the concatenation of their tsvectors, in that
// order, where a phrase may run from one into the next and stop words at the
// end of one take no position. So the parts are joined in that order, each
// without its trailing stop words, and a phrase matches across them as it
// does on PgSTAC.
std::string fts5_document(std::string_view description, std::string_view title, std::string_view keywords);

}  // namespace tessera::catalog
