// pgstac's dehydration (content_slim, strip_jsonb) and hydration
// (content_hydrate, merge_jsonb) in C++, and binary COPY rows of the items
// table. The rules below follow pgstac 0.10.0's SQL
// (pypgstac/migrations/pgstac.0.10.0.sql) case by case; the Python test
// test_dehydrated_content_matches_pgstacs_own compares the two on tricky items.
#include "catalog/pgstac/pgstac_rows.hpp"

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::catalog::pgstac {
namespace {

using Type = JsonTree::Type;

constexpr int kMaxDepth = 1024;
// pgstac's do-not-merge marker, "𒍟※": a key the base item has and the item has not.
constexpr std::string_view kMarker = "\"\xF0\x92\x8D\x9F\xE2\x80\xBB\"";

[[noreturn]] void malformed(std::size_t at) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("item: invalid JSON near byte {}", at));
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

std::uint32_t hex4(std::string_view text, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t n = at; n < at + 4 && n < text.size(); ++n) {
    const char c = text[n];
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value |= static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      value |= static_cast<std::uint32_t>(c - 'A' + 10);
    }
  }
  return value;
}

// The characters of a JSON string literal (quotes included in `quoted`).
std::string unescape(std::string_view quoted) {
  const std::string_view text = quoted.substr(1, quoted.size() - 2);
  std::string out;
  out.reserve(text.size());
  for (std::size_t n = 0; n < text.size(); ++n) {
    if (text[n] != '\\' || n + 1 >= text.size()) {
      out.push_back(text[n]);
      continue;
    }
    const char c = text[++n];
    switch (c) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        std::uint32_t code = hex4(text, n + 1);
        n += 4;
        if (code >= 0xD800 && code < 0xDC00 && n + 6 < text.size() + 1 && text.substr(n + 1, 2) == "\\u") {
          const std::uint32_t low = hex4(text, n + 3);
          if (low >= 0xDC00 && low < 0xE000) {
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            n += 6;
          }
        }
        append_utf8(out, code);
        break;
      }
      default:
        out.push_back(c);  // \" \\ \/
    }
  }
  return out;
}

// A string's characters, unescaped only when it has escapes.
std::string_view string_text(std::string_view quoted, bool escaped, std::string& scratch) {
  if (!escaped) {
    return quoted.substr(1, quoted.size() - 2);
  }
  scratch = unescape(quoted);
  return scratch;
}

// A JSON number as sign, significant digits and exponent, so that numbers
// compare as PostgreSQL's numeric (and so jsonb) compares them: 1 = 1.0 = 1e0.
struct Decimal {
  bool negative = false;
  std::string digits;  // no leading or trailing zeros; empty for zero
  std::int64_t exponent = 0;
  bool operator==(const Decimal&) const = default;
};

Decimal decimal(std::string_view text) {
  Decimal d;
  std::size_t n = 0;
  if (n < text.size() && text[n] == '-') {
    d.negative = true;
    ++n;
  }
  std::int64_t fraction_digits = 0;
  bool in_fraction = false;
  for (; n < text.size(); ++n) {
    const char c = text[n];
    if (c >= '0' && c <= '9') {
      if (!(d.digits.empty() && c == '0')) {
        d.digits.push_back(c);
      }
      if (in_fraction) {
        ++fraction_digits;
      }
    } else if (c == '.') {
      in_fraction = true;
    } else {
      break;  // e or E
    }
  }
  std::int64_t exponent = 0;
  if (n < text.size() && (text[n] == 'e' || text[n] == 'E')) {
    ++n;
    bool negative = false;
    if (n < text.size() && (text[n] == '+' || text[n] == '-')) {
      negative = text[n] == '-';
      ++n;
    }
    for (; n < text.size() && exponent < 1'000'000'000; ++n) {
      exponent = exponent * 10 + (text[n] - '0');
    }
    exponent = negative ? -exponent : exponent;
  }
  d.exponent = exponent - fraction_digits;
  while (!d.digits.empty() && d.digits.back() == '0') {
    d.digits.pop_back();
    ++d.exponent;
  }
  if (d.digits.empty()) {
    return Decimal{};  // zero, whatever its sign or spelling
  }
  // The exponent of the first digit, so "12e1" and "1.2e2" agree.
  d.exponent += static_cast<std::int64_t>(d.digits.size());
  return d;
}

bool keys_equal(const JsonTree& a, const JsonTree::Node& x, const JsonTree& b, const JsonTree::Node& y) {
  if (!x.key_escaped && !y.key_escaped) {
    return a.key(x) == b.key(y);
  }
  std::string s1;
  std::string s2;
  return string_text(a.key(x), x.key_escaped, s1) == string_text(b.key(y), y.key_escaped, s2);
}

// The member of `object` in `tree` whose key equals member `key_node`'s key in `key_tree`.
std::int32_t find_like(const JsonTree& tree, std::int32_t object, const JsonTree& key_tree,
                       const JsonTree::Node& key_node) {
  std::int32_t found = -1;
  for (std::int32_t m = tree.node(object).first; m >= 0; m = tree.node(m).next) {
    if (keys_equal(tree, tree.node(m), key_tree, key_node)) {
      found = m;
    }
  }
  return found;
}

// jsonb equality: objects as key sets, arrays in order, numbers by value.
bool equal(const JsonTree& a, std::int32_t ai, const JsonTree& b, std::int32_t bi) {
  const auto& x = a.node(ai);
  const auto& y = b.node(bi);
  if (x.type != y.type) {
    return false;
  }
  switch (x.type) {
    case Type::kNull:
    case Type::kFalse:
    case Type::kTrue:
      return true;
    case Type::kNumber: {
      const auto s = a.span(x);
      const auto t = b.span(y);
      return s == t || decimal(s) == decimal(t);
    }
    case Type::kString: {
      if (!x.escaped && !y.escaped) {
        return a.span(x) == b.span(y);
      }
      std::string s1;
      std::string s2;
      return string_text(a.span(x), x.escaped, s1) == string_text(b.span(y), y.escaped, s2);
    }
    case Type::kArray: {
      if (x.count != y.count) {
        return false;
      }
      for (std::int32_t m = x.first, n = y.first; m >= 0 && n >= 0; m = a.node(m).next, n = b.node(n).next) {
        if (!equal(a, m, b, n)) {
          return false;
        }
      }
      return true;
    }
    case Type::kObject: {
      for (std::int32_t m = x.first; m >= 0; m = a.node(m).next) {
        const std::int32_t other = find_like(b, bi, a, a.node(m));
        if (other < 0 || !equal(a, find_like(a, ai, a, a.node(m)), b, other)) {
          return false;
        }
      }
      for (std::int32_t n = y.first; n >= 0; n = b.node(n).next) {
        if (find_like(a, ai, b, b.node(n)) < 0) {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

// A member that a later member of the same object overrides (jsonb keeps the last).
bool overridden(const JsonTree& tree, std::int32_t member) {
  const auto& node = tree.node(member);
  for (std::int32_t m = node.next; m >= 0; m = tree.node(m).next) {
    if (keys_equal(tree, tree.node(m), tree, node)) {
      return true;
    }
  }
  return false;
}

// The value as jsonb_strip_nulls leaves it: object members that are null
// removed at every depth (array elements that are null stay).
void write_without_nulls(const JsonTree& tree, std::int32_t index, std::string& out) {
  const auto& node = tree.node(index);
  if (node.type == Type::kArray) {
    out.push_back('[');
    for (std::int32_t m = node.first; m >= 0; m = tree.node(m).next) {
      if (m != node.first) {
        out.push_back(',');
      }
      write_without_nulls(tree, m, out);
    }
    out.push_back(']');
  } else if (node.type == Type::kObject) {
    out.push_back('{');
    bool first = true;
    for (std::int32_t m = node.first; m >= 0; m = tree.node(m).next) {
      const auto& member = tree.node(m);
      if (member.type == Type::kNull) {
        continue;
      }
      if (!first) {
        out.push_back(',');
      }
      first = false;
      out.append(tree.key(member));
      out.push_back(':');
      write_without_nulls(tree, m, out);
    }
    out.push_back('}');
  } else {
    out.append(tree.span(node));
  }
}

enum class Stripped { kAbsent, kNull, kValue };

// pgstac's strip_jsonb(a, b) with a the item's value and b the base item's;
// -1 stands for SQL NULL (a key missing on that side). Writes the result
// (nothing when kAbsent). The results of objects go through
// jsonb_strip_nulls, as pgstac's do.
Stripped strip(const JsonTree& a, std::int32_t ai, const JsonTree& b, std::int32_t bi, std::string& out) {
  const bool a_null = ai < 0 || a.node(ai).type == Type::kNull;
  if (a_null && bi >= 0 && b.node(bi).type != Type::kNull) {
    out.append(kMarker);
    return Stripped::kValue;
  }
  if (ai < 0) {
    return Stripped::kAbsent;
  }
  if (a.node(ai).type == Type::kNull) {
    out.append("null");
    return Stripped::kNull;
  }
  if (bi < 0) {
    write_without_nulls(a, ai, out);
    return Stripped::kValue;
  }
  const auto& x = a.node(ai);
  const auto& y = b.node(bi);
  if (equal(a, ai, b, bi)) {
    if (x.type == Type::kObject) {
      out.append("{}");
      return Stripped::kValue;
    }
    return Stripped::kAbsent;
  }
  if (x.type == Type::kObject && y.type == Type::kObject) {
    out.push_back('{');
    bool first = true;
    auto member = [&](const JsonTree& key_tree, const JsonTree::Node& key_node, std::int32_t am, std::int32_t bm) {
      const std::size_t mark = out.size();
      if (!first) {
        out.push_back(',');
      }
      out.append(key_tree.key(key_node));
      out.push_back(':');
      const Stripped result = strip(a, am, b, bm, out);
      if (result == Stripped::kValue) {
        first = false;
      } else {
        out.resize(mark);  // SQL NULL and JSON null are both stripped
      }
    };
    for (std::int32_t m = x.first; m >= 0; m = a.node(m).next) {
      if (!overridden(a, m)) {
        member(a, a.node(m), m, find_like(b, bi, a, a.node(m)));
      }
    }
    for (std::int32_t n = y.first; n >= 0; n = b.node(n).next) {
      if (!overridden(b, n) && find_like(a, ai, b, b.node(n)) < 0) {
        member(b, b.node(n), -1, n);
      }
    }
    out.push_back('}');
    return Stripped::kValue;
  }
  if (x.type == Type::kArray && y.type == Type::kArray && x.count == y.count) {
    out.push_back('[');
    for (std::int32_t m = x.first, n = y.first; m >= 0 && n >= 0; m = a.node(m).next, n = b.node(n).next) {
      if (m != x.first) {
        out.push_back(',');
      }
      if (strip(a, m, b, n, out) == Stripped::kAbsent) {
        out.append("null");  // jsonb_agg of a SQL NULL
      }
    }
    out.push_back(']');
    return Stripped::kValue;
  }
  write_without_nulls(a, ai, out);
  return Stripped::kValue;
}

// pgstac's merge_jsonb(a, b) with a the stored item's value and b the base
// item's; -1 stands for SQL NULL (a key missing on that side). Writes the
// result (nothing when kAbsent). Everything it returns ends up inside the
// hydrated item, which pgstac passes through jsonb_strip_nulls: object
// members that are null are dropped at every depth. `skip` is a member of a
// that takes no part (the feature's "pgstac:base_item").
Stripped merge(const JsonTree& a, std::int32_t ai, const JsonTree& b, std::int32_t bi, std::string& out,
               std::int32_t skip = -1) {
  if (ai >= 0 && a.node(ai).type == Type::kString) {
    std::string scratch;
    if (string_text(a.span(a.node(ai)), a.node(ai).escaped, scratch) == kMarker.substr(1, kMarker.size() - 2)) {
      return Stripped::kAbsent;  // a key the base item has and the item had not
    }
  }
  if (ai < 0 || a.node(ai).type == Type::kNull) {
    if (bi < 0) {
      return Stripped::kAbsent;
    }
    if (b.node(bi).type == Type::kNull) {
      out.append("null");
      return Stripped::kNull;
    }
    write_without_nulls(b, bi, out);
    return Stripped::kValue;
  }
  const auto& x = a.node(ai);
  const Type b_type = bi >= 0 ? b.node(bi).type : Type::kNull;
  if (x.type == Type::kObject && b_type == Type::kObject) {
    const auto& y = b.node(bi);
    // jsonb_object_agg over no keys at all is NULL; over keys whose values
    // are all stripped it is {}.
    bool any_key = false;
    bool first = true;
    out.push_back('{');
    auto member = [&](const JsonTree& key_tree, const JsonTree::Node& key_node, std::int32_t am, std::int32_t bm) {
      any_key = true;
      const std::size_t mark = out.size();
      if (!first) {
        out.push_back(',');
      }
      out.append(key_tree.key(key_node));
      out.push_back(':');
      if (merge(a, am, b, bm, out) == Stripped::kValue) {
        first = false;
      } else {
        out.resize(mark);
      }
    };
    for (std::int32_t m = x.first; m >= 0; m = a.node(m).next) {
      if (m != skip && !overridden(a, m)) {
        member(a, a.node(m), m, find_like(b, bi, a, a.node(m)));
      }
    }
    for (std::int32_t n = y.first; n >= 0; n = b.node(n).next) {
      if (!overridden(b, n)) {
        const std::int32_t in_a = find_like(a, ai, b, b.node(n));
        if (in_a < 0 || in_a == skip) {
          member(b, b.node(n), -1, n);
        }
      }
    }
    if (!any_key) {
      out.pop_back();
      return Stripped::kAbsent;
    }
    out.push_back('}');
    return Stripped::kValue;
  }
  if (x.type == Type::kArray && b_type == Type::kArray && x.count == b.node(bi).count) {
    if (x.count == 0) {
      return Stripped::kAbsent;  // jsonb_agg over no rows is NULL
    }
    out.push_back('[');
    for (std::int32_t m = x.first, n = b.node(bi).first; m >= 0 && n >= 0; m = a.node(m).next, n = b.node(n).next) {
      if (m != x.first) {
        out.push_back(',');
      }
      if (merge(a, m, b, n, out) == Stripped::kAbsent) {
        out.append("null");  // jsonb_agg of a SQL NULL
      }
    }
    out.push_back(']');
    return Stripped::kValue;
  }
  write_without_nulls(a, ai, out);
  return Stripped::kValue;
}

bool is_row_key(std::string_view key) {
  return key == "\"id\"" || key == "\"geometry\"" || key == "\"collection\"" || key == "\"type\"";
}

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

void put_field(std::string& out, std::string_view bytes) {
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

void put_le32(std::string& out, std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
constexpr std::int64_t kPostgresEpochMicros = 946'684'800'000'000;

}  // namespace

// --- JsonTree ------------------------------------------------------------------

void JsonTree::parse(std::string_view text) {
  if (text.size() >= 0xFFFFFFFFU) {
    throw Error(ErrorCode::kInvalidInput, "item: JSON text too large");
  }
  text_ = text;
  nodes_.clear();
  std::size_t at = 0;
  value(at, 0);
  while (at < text_.size() && is_space(text_[at])) {
    ++at;
  }
  if (at != text_.size()) {
    malformed(at);
  }
}

std::int32_t JsonTree::value(std::size_t& at, int depth) {
  if (depth > kMaxDepth) {
    throw Error(ErrorCode::kInvalidInput, "item: JSON nested too deeply");
  }
  const auto& t = text_;
  while (at < t.size() && is_space(t[at])) {
    ++at;
  }
  if (at >= t.size()) {
    malformed(at);
  }
  const auto index = static_cast<std::int32_t>(nodes_.size());
  nodes_.emplace_back();
  nodes_.back().begin = static_cast<std::uint32_t>(at);
  auto scan_string = [&](std::size_t& pos, bool& escaped) {
    ++pos;  // opening quote
    while (pos < t.size() && t[pos] != '"') {
      if (t[pos] == '\\') {
        escaped = true;
        ++pos;
      }
      ++pos;
    }
    if (pos >= t.size()) {
      malformed(pos);
    }
    ++pos;  // closing quote
  };
  const char c = t[at];
  if (c == '{' || c == '[') {
    const bool object = c == '{';
    nodes_[index].type = object ? Type::kObject : Type::kArray;
    ++at;
    std::int32_t last = -1;
    std::uint32_t count = 0;
    for (;;) {
      while (at < t.size() && is_space(t[at])) {
        ++at;
      }
      if (at >= t.size()) {
        malformed(at);
      }
      if (t[at] == (object ? '}' : ']')) {
        ++at;
        break;
      }
      if (count > 0) {
        if (t[at] != ',') {
          malformed(at);
        }
        ++at;
        while (at < t.size() && is_space(t[at])) {
          ++at;
        }
      }
      std::size_t key_begin = 0;
      std::size_t key_end = 0;
      bool key_escaped = false;
      if (object) {
        if (at >= t.size() || t[at] != '"') {
          malformed(at);
        }
        key_begin = at;
        scan_string(at, key_escaped);
        key_end = at;
        while (at < t.size() && is_space(t[at])) {
          ++at;
        }
        if (at >= t.size() || t[at] != ':') {
          malformed(at);
        }
        ++at;
      }
      const std::int32_t child = value(at, depth + 1);
      if (object) {
        nodes_[child].key_begin = static_cast<std::uint32_t>(key_begin);
        nodes_[child].key_end = static_cast<std::uint32_t>(key_end);
        nodes_[child].key_escaped = key_escaped;
      }
      if (last < 0) {
        nodes_[index].first = child;
      } else {
        nodes_[last].next = child;
      }
      last = child;
      ++count;
    }
    nodes_[index].count = count;
  } else if (c == '"') {
    bool escaped = false;
    scan_string(at, escaped);
    nodes_[index].type = Type::kString;
    nodes_[index].escaped = escaped;
  } else if (t.compare(at, 4, "null") == 0) {
    nodes_[index].type = Type::kNull;
    at += 4;
  } else if (t.compare(at, 4, "true") == 0) {
    nodes_[index].type = Type::kTrue;
    at += 4;
  } else if (t.compare(at, 5, "false") == 0) {
    nodes_[index].type = Type::kFalse;
    at += 5;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    nodes_[index].type = Type::kNumber;
    while (at < t.size() && (std::strchr("0123456789+-.eE", t[at]) != nullptr) && t[at] != '\0') {
      ++at;
    }
  } else {
    malformed(at);
  }
  nodes_[index].end = static_cast<std::uint32_t>(at);
  return index;
}

std::int32_t JsonTree::find(std::int32_t object, std::string_view name) const {
  std::int32_t found = -1;
  std::string scratch;
  for (std::int32_t m = node(object).first; m >= 0; m = node(m).next) {
    const auto& member = node(m);
    if (string_text(key(member), member.key_escaped, scratch) == name) {
      found = m;
    }
  }
  return found;
}

// --- Dehydration ---------------------------------------------------------------

BaseItem::BaseItem(std::string base_text, std::optional<std::string> base_id)
    : text(std::move(base_text)), id(std::move(base_id)) {
  tree.parse(text);
  if (tree.node(JsonTree::kRoot).type != JsonTree::Type::kObject) {
    throw Error(ErrorCode::kInternal, "pgstac base_item is not a JSON object");
  }
}

void dehydrate_content(const JsonTree& item, const BaseItem& base, std::string& out) {
  // content_slim: strip_jsonb(item - {id,geometry,collection,type,pgstac:base_item}, base_item)
  //   - {id,geometry,collection,type} || {"pgstac:base_item": base_item_id}
  out.clear();
  out.push_back('{');
  bool first = true;
  const JsonTree& b = base.tree;
  const auto& root = item.node(JsonTree::kRoot);
  const auto& base_root = b.node(JsonTree::kRoot);
  auto member = [&](const JsonTree& key_tree, const JsonTree::Node& key_node, std::int32_t am, std::int32_t bm) {
    const std::size_t mark = out.size();
    if (!first) {
      out.push_back(',');
    }
    out.append(key_tree.key(key_node));
    out.push_back(':');
    if (strip(item, am, b, bm, out) == Stripped::kValue) {
      first = false;
    } else {
      out.resize(mark);
    }
  };
  auto item_key = [](std::string_view key) { return is_row_key(key) || key == "\"pgstac:base_item\""; };
  std::string scratch;
  for (std::int32_t m = root.first; m >= 0; m = item.node(m).next) {
    const auto& node = item.node(m);
    if (node.key_escaped) {
      // Appended piece by piece: GCC 12 at -O3 misreads `"\"" + ... + "\""` as an overlapping copy (-Wrestrict).
      scratch.assign(1, '"');
      scratch += unescape(item.key(node));
      scratch += '"';
    }
    const std::string_view key = node.key_escaped ? std::string_view(scratch) : item.key(node);
    if (item_key(key) || overridden(item, m)) {
      continue;
    }
    member(item, node, m, find_like(b, JsonTree::kRoot, item, node));
  }
  for (std::int32_t n = base_root.first; n >= 0; n = b.node(n).next) {
    const auto& node = b.node(n);
    if (is_row_key(b.key(node)) || overridden(b, n)) {
      continue;
    }
    const std::int32_t in_item = find_like(item, JsonTree::kRoot, b, node);
    if (in_item >= 0 && b.key(node) != "\"pgstac:base_item\"") {
      continue;  // stripped with the item's members above
    }
    member(b, node, -1, n);
  }
  if (base.id) {
    if (!first) {
      out.push_back(',');
    }
    out.append("\"pgstac:base_item\":");
    out.append(*base.id);
  }
  out.push_back('}');
}

// --- Hydration -----------------------------------------------------------------

void hydrate_feature(const JsonTree& tree, std::int32_t feature, std::string& out) {
  // content_hydrate: merge_jsonb({id, geometry, collection, type} || content
  //   - 'pgstac:base_item', base_item), where content_nonhydrated() has put
  //   the base item itself under "pgstac:base_item".
  out.clear();
  if (tree.node(feature).type != Type::kObject) {
    throw Error(ErrorCode::kInternal, "pgstac returned a feature that is not a JSON object");
  }
  const std::int32_t base_member = tree.find(feature, "pgstac:base_item");
  // No base item (a collection without one): null, which the merge drops.
  const bool has_base = base_member >= 0 && tree.node(base_member).type == Type::kObject;
  if (base_member >= 0 && !has_base && tree.node(base_member).type != Type::kNull) {
    throw Error(ErrorCode::kInternal, "pgstac returned a feature whose pgstac:base_item is not an object");
  }
  if (merge(tree, feature, tree, has_base ? base_member : -1, out, base_member) == Stripped::kAbsent) {
    out = "{}";
  }
}

// --- Binary COPY ---------------------------------------------------------------

std::string_view binary_copy_header() {
  static constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
  return {kHeader, 19};
}

std::string_view binary_copy_trailer() {
  static constexpr char kTrailer[] = "\377\377";
  return {kTrailer, 2};
}

void append_item_tuple(std::string& out, std::string_view id, std::string_view iso_wkb, std::string_view collection,
                       std::int64_t datetime, std::int64_t end_datetime, std::string_view content) {
  put_u16(out, 6);
  put_field(out, id);
  // EWKB: the top-level type gets the SRID flag and SRID 4326; parts keep
  // their ISO type codes, which PostGIS reads as well.
  if (iso_wkb.size() < 5 || iso_wkb[0] != 1) {
    throw Error(ErrorCode::kInternal, "item geometry: expected little-endian WKB");
  }
  std::uint32_t iso_type = 0;
  std::memcpy(&iso_type, iso_wkb.data() + 1, 4);  // little endian on the hosts tessera builds for
  std::uint32_t ewkb_type = (iso_type % 1000) | 0x20000000U;
  const std::uint32_t dims = iso_type / 1000;
  if (dims == 1 || dims == 3) {
    ewkb_type |= 0x80000000U;  // Z
  }
  if (dims == 2 || dims == 3) {
    ewkb_type |= 0x40000000U;  // M
  }
  put_u32(out, static_cast<std::uint32_t>(iso_wkb.size() + 4));
  out.push_back(1);
  put_le32(out, ewkb_type);
  put_le32(out, 4326);
  out.append(iso_wkb.substr(5));
  put_field(out, collection);
  put_u32(out, 8);
  put_u64(out, static_cast<std::uint64_t>(datetime - kPostgresEpochMicros));
  put_u32(out, 8);
  put_u64(out, static_cast<std::uint64_t>(end_datetime - kPostgresEpochMicros));
  put_u32(out, static_cast<std::uint32_t>(content.size() + 1));
  out.push_back(1);  // jsonb's binary format: version 1, then the text
  out.append(content);
}

}  // namespace tessera::catalog::pgstac
