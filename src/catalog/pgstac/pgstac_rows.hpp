#pragma once

// Rows of pgstac's `items` table built on the client, as pypgstac's loader
// does: the item's content dehydrated against its collection's base item
// exactly as pgstac's SQL content_slim()/strip_jsonb() would, and the whole
// row encoded for a binary COPY; and the inverse, content_hydrate(), for
// what searches read back. See docs/pgstac.md ("How tessera loads").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::catalog::pgstac {

// A JSON text parsed into a flat tree that keeps the source spans, so values
// are compared by value (as jsonb compares them) and written back verbatim
// (numbers keep their spelling, strings their escapes). The text must be
// valid JSON; it is borrowed and must outlive the tree.
class JsonTree {
 public:
  enum class Type : std::uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  struct Node {
    Type type = Type::kNull;
    bool escaped = false;      // a string value with a backslash in it
    bool key_escaped = false;  // the same for the member's key
    std::uint32_t begin = 0;   // the value's span in the text
    std::uint32_t end = 0;
    std::uint32_t key_begin = 0;  // an object member's key, quotes included
    std::uint32_t key_end = 0;
    std::int32_t first = -1;  // first child (array element or object member)
    std::int32_t next = -1;   // next sibling
    std::uint32_t count = 0;  // children
  };

  // Throws InvalidInput when the text is not a JSON value.
  void parse(std::string_view text);
  [[nodiscard]] std::string_view text() const { return text_; }
  [[nodiscard]] const Node& node(std::int32_t index) const { return nodes_[static_cast<std::size_t>(index)]; }
  [[nodiscard]] std::string_view span(const Node& n) const { return text_.substr(n.begin, n.end - n.begin); }
  [[nodiscard]] std::string_view key(const Node& n) const { return text_.substr(n.key_begin, n.key_end - n.key_begin); }
  // The member of object `object` named `name` (the last one, as jsonb keeps
  // the last of duplicate keys), or -1. `name` is given unescaped.
  [[nodiscard]] std::int32_t find(std::int32_t object, std::string_view name) const;
  // The root is node 0.
  static constexpr std::int32_t kRoot = 0;

 private:
  std::int32_t value(std::size_t& at, int depth);
  std::string_view text_;
  std::vector<Node> nodes_;
};

// A collection's base item (pgstac's collections.base_item) and the
// base_items row it is stored as (pgstac's current_base_item()), parsed once.
struct BaseItem {
  std::string text;               // base_item::text as the server returns it
  std::optional<std::string> id;  // base_item_id, NULL before the first edit
  JsonTree tree;

  BaseItem(std::string base_text, std::optional<std::string> base_id);
  BaseItem(const BaseItem&) = delete;
  BaseItem& operator=(const BaseItem&) = delete;
};

// Writes pgstac's content_slim(item) into `out` (replacing it): the item
// without id, geometry, collection and type, stripped against the base item
// with strip_jsonb()'s rules, and tagged with the base item's id when it has
// one. `item` is the item's tree (root an object).
void dehydrate_content(const JsonTree& item, const BaseItem& base, std::string& out);

// Writes pgstac's content_hydrate() of node `feature` of `tree` into `out`
// (replacing it): the feature is what search() returns with conf.nohydrate (content_nonhydrated:
// the stored item with, under "pgstac:base_item", the base item it was
// dehydrated against); the result is the base item merged under the item by
// merge_jsonb()'s rules, object members that are null removed at every
// depth, as search() would have returned it hydrated.
void hydrate_feature(const JsonTree& tree, std::int32_t feature, std::string& out);

// One `items` row as a binary COPY tuple for the columns
// (id, geometry, collection, datetime, end_datetime, content). `iso_wkb` is
// the geometry in ISO WKB (little endian), written as EWKB with SRID 4326;
// times are microseconds since the Unix epoch.
void append_item_tuple(std::string& out, std::string_view id, std::string_view iso_wkb, std::string_view collection,
                       std::int64_t datetime, std::int64_t end_datetime, std::string_view content);

// The header and trailer of a binary COPY stream.
std::string_view binary_copy_header();
std::string_view binary_copy_trailer();

}  // namespace tessera::catalog::pgstac
