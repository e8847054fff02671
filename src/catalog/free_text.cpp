#include "catalog/free_text.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::catalog {

using nlohmann::json;

namespace {

// PostgreSQL's english stop words (tsearch_data/english.stop), which
// to_tsvector('english', ...) and to_tsquery('english', ...) drop; sorted.
constexpr std::array<std::string_view, 127> kEnglishStopWords = {
    "a",       "about",  "above",   "after",  "again",  "against",    "all",       "am",        "an",    "and",
    "any",     "are",    "as",      "at",     "be",     "because",    "been",      "before",    "being", "below",
    "between", "both",   "but",     "by",     "can",    "did",        "do",        "does",      "doing", "don",
    "down",    "during", "each",    "few",    "for",    "from",       "further",   "had",       "has",   "have",
    "having",  "he",     "her",     "here",   "hers",   "herself",    "him",       "himself",   "his",   "how",
    "i",       "if",     "in",      "into",   "is",     "it",         "its",       "itself",    "just",  "me",
    "more",    "most",   "my",      "myself", "no",     "nor",        "not",       "now",       "of",    "off",
    "on",      "once",   "only",    "or",     "other",  "our",        "ours",      "ourselves", "out",   "over",
    "own",     "s",      "same",    "she",    "should", "so",         "some",      "such",      "t",     "than",
    "that",    "the",    "their",   "theirs", "them",   "themselves", "then",      "there",     "these", "they",
    "this",    "those",  "through", "to",     "too",    "under",      "until",     "up",        "very",  "was",
    "we",      "were",   "what",    "when",   "where",  "which",      "while",     "who",       "whom",  "why",
    "will",    "with",   "you",     "your",   "yours",  "yourself",   "yourselves"};

bool is_stop_word(std::string_view word) {
  return std::binary_search(kEnglishStopWords.begin(), kEnglishStopWords.end(), word);
}

// Letters and digits of ASCII, and every byte of a non-ASCII character.
bool is_word_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x80 || std::isalnum(byte) != 0;
}

std::string lower_ascii(std::string_view word) {
  std::string out(word);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

struct Token {
  enum class Kind { kWord, kQuoted, kOpen, kClose, kOr, kAnd, kPlus, kMinus, kEnd };
  Kind kind = Kind::kEnd;
  std::vector<std::string> words;  // kWord: one; kQuoted: the phrase's words
  std::size_t offset = 0;
};

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < text.size()) {
    if (!is_word_byte(text[at])) {
      ++at;
      continue;
    }
    const std::size_t start = at;
    while (at < text.size() && is_word_byte(text[at])) {
      ++at;
    }
    words.push_back(lower_ascii(text.substr(start, at - start)));
  }
  return words;
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view member) : member_(member) { tokenize(text); }

  FreeTextNode parse() {
    if (tokens_.front().kind == Token::Kind::kEnd) {
      fail(0, "has no search terms");
    }
    auto node = parse_or(0);
    if (peek().kind != Token::Kind::kEnd) {
      fail(peek().offset, peek().kind == Token::Kind::kClose ? "')' without '('" : "unexpected operator");
    }
    return node;
  }

 private:
  [[noreturn]] void fail(std::size_t offset, std::string_view problem) const {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {} (at offset {})", member_, problem, offset));
  }

  void tokenize(std::string_view text) {
    std::size_t at = 0;
    // A + or - is a prefix where a term may start and a term follows it.
    bool term_may_start = true;
    while (at < text.size()) {
      const char c = text[at];
      const std::size_t offset = at;
      if (c == '"') {
        const std::size_t close = text.find('"', at + 1);
        if (close == std::string_view::npos) {
          fail(offset, "unterminated '\"'");
        }
        auto words = words_of(text.substr(at + 1, close - at - 1));
        if (words.empty()) {
          fail(offset, "a quoted phrase without words");
        }
        tokens_.push_back({Token::Kind::kQuoted, std::move(words), offset});
        at = close + 1;
        term_may_start = false;
      } else if (c == '(' || c == ')' || c == ',') {
        tokens_.push_back({c == '('   ? Token::Kind::kOpen
                           : c == ')' ? Token::Kind::kClose
                                      : Token::Kind::kOr,
                           {},
                           offset});
        ++at;
        term_may_start = c != ')';
      } else if ((c == '+' || c == '-') && term_may_start && at + 1 < text.size() &&
                 (is_word_byte(text[at + 1]) || text[at + 1] == '"' || text[at + 1] == '(')) {
        tokens_.push_back({c == '+' ? Token::Kind::kPlus : Token::Kind::kMinus, {}, offset});
        ++at;
        term_may_start = false;
      } else if (is_word_byte(c)) {
        while (at < text.size() && is_word_byte(text[at])) {
          ++at;
        }
        tokens_.push_back({Token::Kind::kWord, {lower_ascii(text.substr(offset, at - offset))}, offset});
        term_may_start = false;
      } else {
        // Whitespace and punctuation separate words; after whitespace a
        // prefix may start a term (foo -bar), inside a word it may not (foo-bar).
        term_may_start = std::isspace(static_cast<unsigned char>(c)) != 0 || term_may_start;
        ++at;
      }
    }
    tokens_.push_back({Token::Kind::kEnd, {}, text.size()});
    // AND and OR (any case) are operators between two operands, as pgstac's
    // regular expressions read them between spaces; elsewhere (at either
    // end, after an operator or a prefix: -and) they are the words themselves.
    for (std::size_t i = 1; i + 1 < tokens_.size(); ++i) {
      Token& token = tokens_[i];
      const bool keyword = token.kind == Token::Kind::kWord && (token.words[0] == "and" || token.words[0] == "or");
      if (keyword && ends_operand(tokens_[i - 1].kind) && starts_term(tokens_[i + 1].kind)) {
        token.kind = token.words[0] == "and" ? Token::Kind::kAnd : Token::Kind::kOr;
      }
    }
  }

  static bool ends_operand(Token::Kind kind) {
    return kind == Token::Kind::kWord || kind == Token::Kind::kQuoted || kind == Token::Kind::kClose;
  }

  static bool starts_term(Token::Kind kind) {
    switch (kind) {
      case Token::Kind::kWord:
      case Token::Kind::kQuoted:
      case Token::Kind::kOpen:
      case Token::Kind::kPlus:
      case Token::Kind::kMinus:
        return true;
      default:
        return false;
    }
  }

  [[nodiscard]] const Token& peek() const { return tokens_[next_]; }
  const Token& take() { return tokens_[next_++]; }

  static FreeTextNode combine(FreeTextNode::Kind kind, FreeTextNode left, FreeTextNode right) {
    if (left.kind == kind) {
      left.children.push_back(std::move(right));
      return left;
    }
    FreeTextNode node{kind, {}, {}};
    node.children.push_back(std::move(left));
    node.children.push_back(std::move(right));
    return node;
  }

  FreeTextNode parse_or(std::size_t depth) {
    FreeTextNode node = parse_and(depth);
    while (peek().kind == Token::Kind::kOr) {
      take();
      node = combine(FreeTextNode::Kind::kOr, std::move(node), parse_and(depth));
    }
    return node;
  }

  FreeTextNode parse_and(std::size_t depth) {
    FreeTextNode node = parse_unary(depth);
    while (peek().kind == Token::Kind::kAnd || starts_term(peek().kind)) {
      if (peek().kind == Token::Kind::kAnd) {
        take();
      }
      node = combine(FreeTextNode::Kind::kAnd, std::move(node), parse_unary(depth));
    }
    return node;
  }

  FreeTextNode parse_unary(std::size_t depth) {
    if (peek().kind == Token::Kind::kPlus) {
      take();
      return parse_primary(depth, true);
    }
    if (peek().kind == Token::Kind::kMinus) {
      take();
      FreeTextNode node{FreeTextNode::Kind::kNot, {}, {}};
      node.children.push_back(parse_primary(depth, true));
      return node;
    }
    return parse_primary(depth, false);
  }

  // A group, a quoted phrase, or the run of words that follows (one word
  // after a + or - prefix, as pgstac reads `-word`).
  FreeTextNode parse_primary(std::size_t depth, bool one_word) {
    const Token& token = take();
    switch (token.kind) {
      case Token::Kind::kOpen: {
        if (depth + 1 > kMaxFreeTextDepth) {
          fail(token.offset, fmt::format("parentheses nest deeper than {}", kMaxFreeTextDepth));
        }
        FreeTextNode node = parse_or(depth + 1);
        if (take().kind != Token::Kind::kClose) {
          fail(token.offset, "'(' without ')'");
        }
        return node;
      }
      case Token::Kind::kQuoted:
        return {FreeTextNode::Kind::kPhrase, token.words, {}};
      case Token::Kind::kWord: {
        FreeTextNode phrase{FreeTextNode::Kind::kPhrase, token.words, {}};
        while (!one_word && peek().kind == Token::Kind::kWord) {
          phrase.words.push_back(take().words.front());
        }
        return phrase;
      }
      case Token::Kind::kEnd:
        fail(token.offset, "a search term is missing at the end");
      default:
        fail(token.offset, "expected a search term");
    }
  }

  std::string_view member_;
  std::vector<Token> tokens_;
  std::size_t next_ = 0;
};

// Drops stop words as PostgreSQL does: a phrase loses its leading and
// trailing ones (inner ones keep their place), an operand left empty leaves
// its AND/OR, a NOT of nothing is nothing.
std::optional<FreeTextNode> without_stop_words(FreeTextNode node) {
  if (node.kind == FreeTextNode::Kind::kPhrase) {
    auto& words = node.words;
    const auto first = std::find_if(words.begin(), words.end(), [](const auto& w) { return !is_stop_word(w); });
    if (first == words.end()) {
      return std::nullopt;
    }
    const auto last = std::find_if(words.rbegin(), words.rend(), [](const auto& w) { return !is_stop_word(w); });
    words = std::vector<std::string>(first, last.base());
    return node;
  }
  std::vector<FreeTextNode> kept;
  for (auto& child : node.children) {
    if (auto cleaned = without_stop_words(std::move(child))) {
      kept.push_back(std::move(*cleaned));
    }
  }
  if (kept.empty()) {
    return std::nullopt;
  }
  if (kept.size() == 1 && node.kind != FreeTextNode::Kind::kNot) {
    return std::move(kept.front());
  }
  node.children = std::move(kept);
  return node;
}

std::string fts5_phrase(const std::vector<std::string>& words) {
  std::string out = "\"";
  for (std::size_t i = 0; i < words.size(); ++i) {
    out += (i > 0 ? " " : "") + words[i];  // words hold no '"'
  }
  return out + "\"";
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out = "(";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i > 0 ? std::string(separator) : std::string()) + parts[i];
  }
  return out + ")";
}

}  // namespace

FreeText parse_free_text(const json& q, std::string_view member) {
  std::vector<std::pair<std::string, std::string>> alternatives;  // (text, where)
  std::size_t bytes = 0;
  if (q.is_string()) {
    alternatives.emplace_back(q.get<std::string>(), std::string(member));
  } else if (q.is_array() && !q.empty()) {
    for (std::size_t i = 0; i < q.size(); ++i) {
      if (!q[i].is_string()) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}[{}]: expected a string, got {}", member, i, q[i].type_name()));
      }
      alternatives.emplace_back(q[i].get<std::string>(), fmt::format("{}[{}]", member, i));
    }
  } else {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected a string or a non-empty array of strings, got {}",
                                                      member, q.is_array() ? "an empty array" : q.type_name()));
  }
  for (const auto& [text, where] : alternatives) {
    bytes += text.size();
  }
  if (bytes > kMaxFreeTextBytes) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: {} bytes, more than the maximum of {}", member, bytes, kMaxFreeTextBytes));
  }
  std::optional<FreeTextNode> root;
  for (const auto& [text, where] : alternatives) {
    auto node = Parser(text, where).parse();
    root = root ? std::optional(FreeTextNode{FreeTextNode::Kind::kOr, {}, {std::move(*root), std::move(node)}})
                : std::optional(std::move(node));
  }
  return {without_stop_words(std::move(*root))};
}

Fts5Match to_fts5_match(const FreeTextNode& node) {
  using Kind = FreeTextNode::Kind;
  switch (node.kind) {
    case Kind::kPhrase:
      return {fts5_phrase(node.words), false};
    case Kind::kNot: {
      auto inner = to_fts5_match(node.children.front());
      inner.negated = !inner.negated;
      return inner;
    }
    case Kind::kAnd:
    case Kind::kOr: {
      // FTS5 has only the binary `a NOT b`, so negated operands are written
      // with it, or the whole node is the negation of an expression (De Morgan).
      std::vector<std::string> plain;
      std::vector<std::string> negated;
      for (const auto& child : node.children) {
        auto match = to_fts5_match(child);
        (match.negated ? negated : plain).push_back(std::move(match.expression));
      }
      if (node.kind == Kind::kAnd) {
        if (negated.empty()) {
          return {joined(plain, " AND "), false};
        }
        if (plain.empty()) {
          return {joined(negated, " OR "), true};  // !a & !b = !(a | b)
        }
        return {joined({joined(plain, " AND "), joined(negated, " OR ")}, " NOT "), false};
      }
      if (negated.empty()) {
        return {joined(plain, " OR "), false};
      }
      if (plain.empty()) {
        return {joined(negated, " AND "), true};  // !a | !b = !(a & b)
      }
      return {joined({joined(negated, " AND "), joined(plain, " OR ")}, " NOT "), true};  // p | !e = !(e & !p)
    }
  }
  return {};
}

std::string fts5_document(std::string_view description, std::string_view title, std::string_view keywords) {
  auto without_trailing_stop_words = [](std::string_view text) {
    for (;;) {
      std::size_t end = text.size();
      while (end > 0 && !is_word_byte(text[end - 1])) {
        --end;
      }
      std::size_t start = end;
      while (start > 0 && is_word_byte(text[start - 1])) {
        --start;
      }
      if (start == end || !is_stop_word(lower_ascii(text.substr(start, end - start)))) {
        return text.substr(0, end);
      }
      text = text.substr(0, start);
    }
  };
  std::string document(without_trailing_stop_words(description));
  document += ' ';
  document += without_trailing_stop_words(title);
  document += ' ';
  document += keywords;
  return document;
}

std::string to_pgstac_q(const FreeTextNode& node) {
  using Kind = FreeTextNode::Kind;
  switch (node.kind) {
    case Kind::kPhrase: {
      std::vector<std::string> quoted;
      for (const auto& word : node.words) {
        quoted.push_back("'" + word + "'");  // words hold no quote or backslash
      }
      return joined(quoted, " <-> ");
    }
    case Kind::kNot:
      return "! " + to_pgstac_q(node.children.front());
    case Kind::kAnd:
    case Kind::kOr: {
      std::vector<std::string> parts;
      for (const auto& child : node.children) {
        parts.push_back(to_pgstac_q(child));
      }
      return joined(parts, node.kind == Kind::kAnd ? " & " : " | ");
    }
  }
  return {};
}

}  // namespace tessera::catalog
