#pragma once

// A STAC API item-search request, parsed and checked once so every backend
// works from the same validated values. Also the paging token format.

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/free_text.hpp"
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

struct SearchRequest {
  std::vector<std::string> ids;
  std::vector<std::string> collections;
  std::optional<Bbox> bbox;
  std::shared_ptr<const Geometry> intersects;
  std::optional<TimeRange> datetime;
  std::optional<cql2::Expr> filter;
  // The free-text query `q` (title, description and keywords).
  std::optional<FreeText> q;
  // The requested order; the (collection, id) tie-break in the direction of
  // the first key is implied, as pgstac does. Default: datetime descending.
  std::vector<SortKey> sortby;
  std::vector<std::string> fields_include;
  std::vector<std::string> fields_exclude;
  // Whether the fields object had an `include` member (null and [] count):
  // an empty include with an exclude starts from the default set, an absent
  // one from the whole item.
  bool fields_include_given = false;
  std::size_t limit = 10;
  bool count_matched = true;
  // Where a page token says to continue, in its backend's own terms.
  std::optional<nlohmann::json> position;
  // The request without token/limit/fields, canonical: stored in tokens so
  // {"token": ...} alone continues the query.
  nlohmann::json query;
  // The limit and fields asked for (by the request or its token), as given:
  // stored in tokens so the next pages keep them.
  nlohmann::json page_shape = nlohmann::json::object();
};

// What a search may ask for (from CatalogOptions).
struct SearchLimits {
  std::size_t max_limit = std::numeric_limits<std::size_t>::max();
  std::size_t max_geometry_vertices = std::numeric_limits<std::size_t>::max();
};

// Parses and validates `request`; InvalidInput names the offending member.
SearchRequest parse_search_request(const nlohmann::json& request, const SearchLimits& limits);

// An opaque, URL-safe page token: the query it continues, the backend's
// position in its results and the page's limit and fields (a request with
// only the token keeps them). Tokens are checked when read, never trusted.
std::string encode_page_token(const SearchRequest& request, const nlohmann::json& position);

// The property name a sort or filter field refers to, without "properties.".
std::string normalize_field(std::string_view field);

// Whether a property name is made of [A-Za-z0-9_:.-] only: such names may be
// written into SQL text (where indexes can match them); others are bound.
bool is_plain_property_name(std::string_view name);

// The normalised name index_property takes; InvalidInput for other characters.
std::string indexable_property(std::string_view property);

// Sort keys with the (collection, id) tie-break appended.
std::vector<SortKey> effective_sort(const SearchRequest& request);

// Applies the fields extension's include/exclude to one item in place. A
// non-empty include keeps only its paths plus `type`, `id` and `collection`
// (pgstac's include, with `type` so the item stays a Feature); an include given
// empty with an exclude keeps the STAC default set; then the excluded paths go,
// except those also included, and an excluded parent keeps its included
// children.
void apply_fields(nlohmann::json& item, const SearchRequest& request);

}  // namespace tessera::catalog
