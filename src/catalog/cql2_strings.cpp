// UTF-8 text functions for CQL2: CASEI, ACCENTI and LIKE work on characters
// (code points), not bytes, so "_" matches "é" and case folding reaches
// beyond ASCII.
#include <string>
#include <vector>

#include "catalog/cql2_internal.hpp"

namespace tessera::cql2::detail {
namespace {

// Invalid bytes decode above the Unicode range, each to its own value, so
// they are kept as they are and only ever match the same byte.
constexpr char32_t kInvalidByteBase = 0x110000;

char32_t invalid_byte(std::string_view text, std::size_t& i) {
  return kInvalidByteBase + static_cast<unsigned char>(text[i++]);
}

// The code point starting at text[i]; advances i past it.
char32_t decode(std::string_view text, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  std::size_t length = 0;
  char32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1FU;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0FU;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07U;
  } else {
    return invalid_byte(text, i);
  }
  if (i + length > text.size()) {
    return invalid_byte(text, i);
  }
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) {
      return invalid_byte(text, i);
    }
    code_point = (code_point << 6) | (next & 0x3FU);
  }
  const bool overlong = (length == 2 && code_point < 0x80) || (length == 3 && code_point < 0x800) ||
                        (length == 4 && code_point < 0x10000);
  const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  if (overlong || surrogate || code_point > 0x10FFFF) {
    return invalid_byte(text, i);
  }
  i += length;
  return code_point;
}

void encode(char32_t code_point, std::string& out) {
  if (code_point >= kInvalidByteBase) {
    out += static_cast<char>(code_point - kInvalidByteBase);
  } else if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

std::vector<char32_t> decode_all(std::string_view text) {
  std::vector<char32_t> code_points;
  code_points.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    code_points.push_back(decode(text, i));
  }
  return code_points;
}

char32_t lower(char32_t c) {
  const bool even = c % 2 == 0;
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)) {
    return c + 0x20;  // ASCII and Latin-1
  }
  if (c == 0x130) {
    return 'i';  // capital I with dot above
  }
  // Latin Extended-A and the Cyrillic supplement alternate capital/small, the
  // pairs shifting parity where a letter stands alone.
  if ((c >= 0x100 && c <= 0x137 && even) || (c >= 0x139 && c <= 0x148 && !even) || (c >= 0x14A && c <= 0x177 && even) ||
      (c >= 0x179 && c <= 0x17E && !even) || (c >= 0x460 && c <= 0x481 && even) || (c >= 0x48A && c <= 0x4BF && even) ||
      (c >= 0x4C1 && c <= 0x4CE && !even) || (c >= 0x4D0 && c <= 0x4FF && even)) {
    return c + 1;
  }
  if (c == 0x4C0) {
    return 0x4CF;  // palochka
  }
  if (c == 0x178) {
    return 0xFF;  // Y with diaeresis
  }
  if ((c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F)) {
    return c + 0x20;  // Greek and Cyrillic capitals
  }
  if (c >= 0x400 && c <= 0x40F) {
    return c + 0x50;  // Cyrillic capitals with diacritics
  }
  switch (c) {  // Greek capitals with tonos
    case 0x386:
      return 0x3AC;
    case 0x388:
    case 0x389:
    case 0x38A:
      return c + 0x25;
    case 0x38C:
      return 0x3CC;
    case 0x38E:
    case 0x38F:
      return c + 0x3F;
    default:
      return c;
  }
}

// The base letter of each Latin-1 (U+00C0-U+00FF) and Latin Extended-A
// (U+0100-U+017F) letter; '.' where the letter has no diacritic to remove
// (Æ, Ð, ß, Œ, ...) or is not a letter (×, ÷).
constexpr std::string_view kLatin1Bases = "AAAAAA.CEEEEIIII.NOOOOO.OUUUUY..aaaaaa.ceeeeiiii.nooooo.ouuuuy.y";
constexpr std::string_view kLatinExtendedABases =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiI...JjKk.LlLlLlLlLlNnNnNn...OoOoOo..RrRrRrSsSsSs"
    "SsTtTtTtUuUuUuUuUuUuWwYyYZzZzZz.";
static_assert(kLatin1Bases.size() == 0x40 && kLatinExtendedABases.size() == 0x80);

bool is_combining_mark(char32_t c) { return c >= 0x300 && c <= 0x36F; }

char32_t base_letter(char32_t c) {
  char base = '.';
  if (c >= 0xC0 && c <= 0xFF) {
    base = kLatin1Bases[c - 0xC0];
  } else if (c >= 0x100 && c <= 0x17F) {
    base = kLatinExtendedABases[c - 0x100];
  }
  return base == '.' ? c : static_cast<char32_t>(base);
}

}  // namespace

std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    if (decode(text, i) >= kInvalidByteBase) {
      return start;
    }
  }
  return std::nullopt;
}

std::size_t count_characters(std::string_view text, std::size_t bytes) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < bytes && i < text.size(); ++i) {
    count += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 ? 1 : 0;
  }
  return count;
}

std::string fold_case(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    encode(lower(decode(text, i)), out);
  }
  return out;
}

namespace {

// The capital whose fold_case is `c`, or `c`: the candidates are the offsets lower() applies.
char32_t upper(char32_t c) {
  static constexpr char32_t kOffsets[] = {0x20, 1, 0x50, 0x25, 0x3F};
  for (const char32_t offset : kOffsets) {
    if (c >= offset && lower(c - offset) == c) {
      return c - offset;
    }
  }
  switch (c) {
    case 0x3AC:
      return 0x386;
    case 0x3CC:
      return 0x38C;
    case 0xFF:
      return 0x178;
    case 0x4CF:
      return 0x4C0;
    case 0x3C2:
      return 0x3A3;  // final sigma
    default:
      return c;
  }
}

}  // namespace

std::string upper_case(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    encode(upper(decode(text, i)), out);
  }
  return out;
}

std::string strip_accents(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char32_t c = decode(text, i);
    if (!is_combining_mark(c)) {
      encode(base_letter(c), out);
    }
  }
  return out;
}

LikePattern::LikePattern(std::string_view pattern) {
  const std::vector<char32_t> code_points = decode_all(pattern);
  for (std::size_t i = 0; i < code_points.size(); ++i) {
    const char32_t c = code_points[i];
    if (c == '\\' && i + 1 < code_points.size()) {
      units_.push_back({Unit::Kind::kLiteral, code_points[++i]});
    } else if (c == '%') {
      units_.push_back({Unit::Kind::kAnyRun, c});
    } else if (c == '_') {
      units_.push_back({Unit::Kind::kAnyOne, c});
    } else {
      units_.push_back({Unit::Kind::kLiteral, c});
    }
  }
}

bool LikePattern::matches(std::string_view text) const {
  const std::vector<char32_t> subject = decode_all(text);
  // Greedy matching that, on a mismatch, lets the last '%' absorb one more
  // character: O(text * pattern) at worst, never exponential.
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t s = 0;
  std::size_t p = 0;
  std::size_t last_run = kNone;
  std::size_t run_end = 0;
  while (s < subject.size()) {
    if (p < units_.size() && (units_[p].kind == Unit::Kind::kAnyOne ||
                              (units_[p].kind == Unit::Kind::kLiteral && units_[p].code_point == subject[s]))) {
      ++p;
      ++s;
    } else if (p < units_.size() && units_[p].kind == Unit::Kind::kAnyRun) {
      last_run = p++;
      run_end = s;
    } else if (last_run != kNone) {
      p = last_run + 1;
      s = ++run_end;
    } else {
      return false;
    }
  }
  while (p < units_.size() && units_[p].kind == Unit::Kind::kAnyRun) {
    ++p;
  }
  return p == units_.size();
}

bool like_matches(std::string_view text, std::string_view pattern) { return LikePattern(pattern).matches(text); }

}  // namespace tessera::cql2::detail
