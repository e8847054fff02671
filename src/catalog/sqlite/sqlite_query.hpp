#pragma once

// Builds the SQL of a STAC search on the SQLite schema: the WHERE clause
// (ids, collections, bbox/intersects, datetime, CQL2), the keyset condition
// of a page token, and the ORDER BY of the sort keys. No user text is ever
// spliced into SQL: values are bound parameters and property names become
// JSON paths that are either checked against a strict character set or bound.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
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

// The JSON types each collection's items give each property (the queryables
// table): what decides whether a search compares and sorts a property as a
// number, as pgstac's queryables decide it there.
struct QueryableTypes {
  enum : std::uint8_t { kNumber = 1, kOther = 2 };  // integer and number; string, boolean, array, object
  // property -> (collection, the kinds of its values there), null values left out
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::uint8_t>>> properties;

  static QueryableTypes read(Connection& connection);
  // The connection's cached types, read again when the database changed.
  static std::shared_ptr<const QueryableTypes> of(Connection& connection);
};

// How one search reads a property.
enum class PropertyRead {
  kAsStored,        // by its JSON type (numbers before strings, as SQLite orders them)
  kNumber,          // a number property whose values are all numbers: literals become numbers
  kNumberFromText,  // a number property with other values too: they are read as numbers as well
};

// The property types of one search: a property is a number when every
// collection the search reaches (its `collections`, else all) that has the
// property has numbers in it, as pgstac reads a property through to_float
// when the queryables of those collections all say number (and as text when
// they disagree). The default reads every property as stored.
class SearchTypes {
 public:
  SearchTypes() = default;
  SearchTypes(std::shared_ptr<const QueryableTypes> types, std::vector<std::string> collections)
      : types_(std::move(types)), collections_(std::move(collections)) {}
  // `name` without "properties."; the item columns are always kAsStored.
  [[nodiscard]] PropertyRead read(const std::string& name) const;

 private:
  std::shared_ptr<const QueryableTypes> types_;
  std::vector<std::string> collections_;
};

// The SQL value expression of a sort key or filter property over the items
// table aliased "i" (a column for id/collection/datetime, else json_extract).
Sql field_expression(const std::string& name);
// field_expression read as the search's types say (tsr_number for kNumberFromText).
Sql typed_field_expression(const std::string& name, const SearchTypes& types);

// Whether a sort field can be NULL (a property, not one of the item columns).
bool is_nullable_field(const std::string& name);

// Translates a validated CQL2 expression into an SQL boolean expression.
// Comparisons (=, <>, <, <=, >, >=, BETWEEN, IN) on a number property read
// its literals as numbers: InvalidInput for one that is not a number.
Sql translate_filter(const cql2::Expr& filter, const SearchTypes& types = {});

// How a search uses the R*Tree: through it when the spatial constraint is
// selective, else as an inline check while scanning in sort order.
enum class SpatialPlan { kRtree, kInline };

struct SearchSql {
  Sql where;                             // without the keyset condition (for numberMatched)
  Sql keyset;                            // empty on the first page
  Sql order_by;                          // "ORDER BY ..."
  std::vector<std::string> sort_fields;  // the requested sort keys, without the tie-breaks
  std::vector<Sql> sort_expressions;     // their SQL values, as ORDER BY reads them
  bool reversed = false;                 // rows come back in reverse order (a "prev" page)
};

SearchSql build_search_sql(const SearchRequest& request, SpatialPlan plan, const SearchTypes& types = {});

// The bbox the R*Tree is probed with (the search bbox, the bbox of
// `intersects`, or that of the geometry a filter's spatial predicate on the
// item's geometry names, alone or in an AND), or nullopt when the search has
// no spatial constraint.
std::optional<Bbox> spatial_filter_box(const SearchRequest& request);

// "SELECT id FROM items_rtree WHERE ..." for the entries overlapping `box`
// (a UNION of two ranges when it crosses the antimeridian).
Sql rtree_rowids(const Bbox& box);

// "SELECT <key> FROM <fts_table> ..." for the rows of an FTS5 table of
// searchable texts (items_fts, collections_fts) that free-text `q` matches:
// the rows whose text does not match a negated query, none for a query of
// stop words only. The expression is a bound parameter.
Sql free_text_keys(const FreeText& q, std::string_view fts_table, std::string_view key);

// A faster count for a search constrained by a bbox alone (the common
// "how many items here" question), or nullopt when the search has more.
std::optional<Sql> bbox_only_count(const SearchRequest& request);

}  // namespace tessera::catalog::sqlite
