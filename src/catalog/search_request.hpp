#pragma once

// A STAC API item-search request, parsed and checked once so every backend
// works from the same validated values. Also the paging token format.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/cql2.hpp"
#include "tessera/geometry.hpp"

namespace tessera::catalog {

// A closed interval of instants (microseconds); an open end is nullopt.
struct TimeRange {
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> end;
};

// One sort key. `field` is "id", "collection", "datetime", "start_datetime",
// "end_datetime" or a property name (a "properties." prefix is dropped).
struct SortKey {
  std::string field;
  bool descending = false;
};

// Where a page starts: the sort values and id/collection of the item at the
// page edge. `forward` pages follow it ("next"); others precede it ("prev").
struct PageCursor {
  bool forward = true;
  nlohmann::json values;  // one per sort key (without the id tie-break)
  std::string id;
  std::string collection;
};

struct SearchRequest {
  std::vector<std::string> ids;
  std::vector<std::string> collections;
  std::optional<Bbox> bbox;
  std::shared_ptr<const Geometry> intersects;
  std::optional<TimeRange> datetime;
  std::optional<cql2::Expr> filter;
  // The requested order; the id tie-break (in the direction of the last key)
  // is implied, as pgstac does. Default: datetime descending.
  std::vector<SortKey> sortby;
  std::vector<std::string> fields_include;
  std::vector<std::string> fields_exclude;
  std::size_t limit = 10;
  bool count_matched = true;
  std::optional<PageCursor> cursor;
  // The request without token/limit/fields, canonical: stored in tokens so
  // {"token": ...} alone continues the query.
  nlohmann::json query;
};

// Parses and validates `request`; InvalidInput names the offending member.
SearchRequest parse_search_request(const nlohmann::json& request, std::size_t max_limit);

// Opaque, URL-safe token for the page after/before `cursor`.
std::string encode_page_token(const nlohmann::json& query, const PageCursor& cursor);

// The property name a sort or filter field refers to, without "properties.".
std::string normalize_field(std::string_view field);

// Sort keys with the tie-break appended: (field, descending) pairs.
std::vector<SortKey> effective_sort(const SearchRequest& request);

// Applies the fields extension's include/exclude to one item in place.
void apply_fields(nlohmann::json& item, const SearchRequest& request);

}  // namespace tessera::catalog
