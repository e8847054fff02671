#pragma once

// Pieces the CQL2 parsers and evaluator share: the operator table with its
// typing rules, node construction and string helpers. Internal header.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"

namespace tessera::cql2::detail {

// What an expression can evaluate to, as a set of bits. Literals and
// operations have one type; a property or null may turn out to be anything.
enum TypeBits : unsigned {
  kBoolean = 1U << 0,
  kNumber = 1U << 1,
  kString = 1U << 2,
  kInstant = 1U << 3,
  kInterval = 1U << 4,
  kGeometry = 1U << 5,
  kArray = 1U << 6,
  kAnyType = (1U << 7) - 1,
};

// An operand as the type checker sees it; `description` names it in messages
// ("property 'eo:cloud_cover'", "number 10", "S_INTERSECTS").
struct Operand {
  unsigned type = kAnyType;
  std::string description;
};

struct OperandProblem {
  static constexpr std::size_t kArity = static_cast<std::size_t>(-1);
  std::size_t index = kArity;  // the offending operand, or kArity for a wrong count
  std::string message;
};

enum class Syntax {
  kLogical,   // AND, OR, NOT
  kInfix,     // comparisons, LIKE, BETWEEN, IN, IS NULL, arithmetic
  kFunction,  // CASEI(x), S_INTERSECTS(a, b), ...: the name then parenthesized arguments
};

struct OpInfo {
  Op op;
  std::string_view name;       // CQL2-JSON
  std::string_view text_name;  // CQL2-Text, for messages
  Syntax syntax;
  std::size_t min_args;
  std::size_t max_args;
  unsigned operand_types;  // every operand must be able to be one of these
  unsigned result_type;
  bool comparison;  // the operands must share a type (=, <, BETWEEN, IN, ...)
};

const OpInfo& op_info(Op op) noexcept;

// Checks the operand count and types of `op`. For IN only the first operand
// is checked here; its list goes through check_in_list(). `name` is how the
// operator is written in the caller's language.
std::optional<OperandProblem> check_operands(Op op, std::string_view name, std::span<const Operand> operands);
// Checks an IN list: scalars of one type, comparable with the value searched for.
std::optional<OperandProblem> check_in_list(const Operand& needle, std::span<const Operand> elements);

// "a string", "a geometry", "a timestamp, date or interval", ...
std::string describe_types(unsigned types);
// Text for messages, cut after 40 bytes so a huge input never makes a huge message.
std::string shortened(std::string_view text);
// A JSON value for messages: "string 'abc'", "number 5", "true", "[1,2]", shortened.
std::string describe_literal(const nlohmann::json& value);

// A string read as a number as PostgreSQL's float8 input reads it (pgstac's
// to_float): optional surrounding whitespace and sign, decimal digits with an
// optional fraction and exponent, or "inf"/"infinity"; nullopt for anything
// else, NaN included.
std::optional<double> number_from_text(std::string_view text) noexcept;

// An instant string of CQL2: an RFC 3339 timestamp or a date, in microseconds.
inline std::optional<std::int64_t> parse_instant(std::string_view text) noexcept {
  if (const auto timestamp = parse_rfc3339_micros(text)) {
    return timestamp;
  }
  return parse_date_micros(text);
}

// --- Temporal operands as strings (cql2_ast.cpp), as pgstac reads them ---

// An ISO 8601 duration (P1Y2M3W4DT5H6M7.5S), as PostgreSQL adds it: months,
// then days, then microseconds.
struct Duration {
  std::int64_t months = 0;
  std::int64_t days = 0;
  std::int64_t micros = 0;
};
std::optional<Duration> parse_duration(std::string_view text);
// `micros` plus (sign 1) or minus (sign -1) `duration`; nullopt outside years 0000-9999.
std::optional<std::int64_t> add_duration(std::int64_t micros, const Duration& duration, int sign);

// One end of an interval written as a string: open ('..' or empty), an
// instant, or a duration relative to the other end.
struct TemporalEnd {
  enum class Kind { kOpen, kInstant, kDuration } kind = Kind::kOpen;
  std::int64_t micros = 0;
  Duration duration;
};
// A string end; a date starts at its midnight and ends at its last microsecond.
// InvalidInput naming `path` when it is none of these.
TemporalEnd parse_temporal_end(std::string_view text, bool is_start, const std::string& path);
// Turns a duration end into an instant relative to the other end, which must be one.
std::pair<TemporalEnd, TemporalEnd> resolve_durations(TemporalEnd start, TemporalEnd end, const std::string& path);
// A temporal operand written as a string: "a/b" (either end open or a
// duration), a date (its whole day) or a timestamp (start == end).
std::pair<TemporalEnd, TemporalEnd> parse_temporal_string(std::string_view text, const std::string& path);

// Whether `value` is an object whose "type" names a GeoJSON geometry.
bool is_geometry_object(const nlohmann::json& value);

struct NodeFactory {
  static Expr make(Node node) { return Expr(std::make_shared<const Node>(std::move(node))); }
};

// --- Strings (cql2_strings.cpp) ---

// The byte offset of the first invalid UTF-8 sequence, or nullopt.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;
// The number of characters (code points) in the first `bytes` bytes of valid UTF-8.
std::size_t count_characters(std::string_view text, std::size_t bytes) noexcept;
// CASEI: lower case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic.
std::string fold_case(std::string_view text);
// UPPER: the inverse of fold_case's mapping, over the same scripts.
std::string upper_case(std::string_view text);
// ACCENTI: Latin letters without their diacritics, combining marks removed.
std::string strip_accents(std::string_view text);
// SQL LIKE: '%' any run, '_' one character, '\' makes the next character literal.
// A pattern compiled once, for matching many texts (a statement's rows).
class LikePattern {
 public:
  explicit LikePattern(std::string_view pattern);
  [[nodiscard]] bool matches(std::string_view text) const;

 private:
  struct Unit {
    enum class Kind { kLiteral, kAnyRun, kAnyOne };
    Kind kind;
    char32_t code_point;
  };
  std::vector<Unit> units_;
};
bool like_matches(std::string_view text, std::string_view pattern);

}  // namespace tessera::cql2::detail
