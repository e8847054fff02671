#pragma once

// Builds the SQL of a STAC search on the SQLite schema: the WHERE clause
// (ids, collections, bbox/intersects, datetime, CQL2), the keyset condition
// of a page token, and the ORDER BY of the sort keys. No user text is ever
// spliced into SQL: values are bound parameters and property names become
// JSON paths that are either checked against a strict character set or bound.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "catalog/search_request.hpp"
#include "catalog/sqlite/sqlite_db.hpp"

namespace tessera::catalog::sqlite {

// Where a page starts: the sort values and collection/id of the item at the
// page edge. `forward` pages follow it ("next"); others precede it ("prev").
struct PageCursor {
  bool forward = true;
  nlohmann::json values;  // one per requested sort key (the tie-breaks are collection and id)
  std::string id;
  std::string collection;

  [[nodiscard]] nlohmann::json to_position() const;
  // InvalidInput unless `position` is a cursor for a sort with `sort_keys` keys.
  static PageCursor from_position(const nlohmann::json& position, std::size_t sort_keys);
};

struct Blob {
  std::string bytes;
};

using SqlParam = std::variant<std::nullptr_t, std::int64_t, double, std::string, Blob, const cql2::Expr*>;

struct Sql {
  std::string text;
  std::vector<SqlParam> params;

  Sql& append(std::string_view fragment) {
    text += fragment;
    return *this;
  }
  // Appends "?" bound to `value`.
  Sql& param(SqlParam value) {
    text += '?';
    params.push_back(std::move(value));
    return *this;
  }
  Sql& append(const Sql& other) {
    text += other.text;
    params.insert(params.end(), other.params.begin(), other.params.end());
    return *this;
  }
  void bind_to(Statement& statement, int first_index = 1) const;
};

// The SQL value expression of a sort key or filter property over the items
// table aliased "i" (a column for id/collection/datetime, else json_extract).
Sql field_expression(const std::string& name);

// Whether a sort field can be NULL (a property, not one of the item columns).
bool is_nullable_field(const std::string& name);

// Translates a validated CQL2 expression into an SQL boolean expression.
Sql translate_filter(const cql2::Expr& filter);

// How a search uses the R*Tree: through it when the spatial constraint is
// selective, else as an inline check while scanning in sort order.
enum class SpatialPlan { kRtree, kInline };

struct SearchSql {
  Sql where;                             // without the keyset condition (for numberMatched)
  Sql keyset;                            // empty on the first page
  Sql order_by;                          // "ORDER BY ..."
  std::vector<std::string> sort_fields;  // the requested sort keys, without the tie-breaks
  bool reversed = false;                 // rows come back in reverse order (a "prev" page)
};

SearchSql build_search_sql(const SearchRequest& request, SpatialPlan plan);

// The bbox the R*Tree is probed with (the search bbox or the bbox of
// `intersects`), or nullopt when the search has no spatial constraint.
std::optional<Bbox> spatial_filter_box(const SearchRequest& request);

// "SELECT id FROM items_rtree WHERE ..." for the entries overlapping `box`
// (a UNION of two ranges when it crosses the antimeridian).
Sql rtree_rowids(const Bbox& box);

// A faster count for a search constrained by a bbox alone (the common
// "how many items here" question), or nullopt when the search has more.
std::optional<Sql> bbox_only_count(const SearchRequest& request);

}  // namespace tessera::catalog::sqlite
