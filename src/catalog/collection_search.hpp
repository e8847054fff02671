#pragma once

// Collection search (STAC API Collection Search extension): the request,
// checked once for both backends (bbox, datetime, q, ids, limit, token: the
// item search's own parsing), its offset paging, and pgstac's reading of a
// collection's extent, which the SQLite backend applies as PgSTAC does.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/search_request.hpp"

namespace tessera::catalog {

struct CollectionSearchRequest {
  SearchRequest search;    // ids, bbox, datetime, q, limit and the token's query
  std::size_t offset = 0;  // collections before this page, in id order
};

// One page of collections in id order and how many match in all.
struct CollectionPage {
  std::vector<nlohmann::json> collections;
  std::int64_t number_matched = 0;
};

// InvalidInput names the offending member (other members than those above
// included). `max_limit` bounds `limit`.
CollectionSearchRequest parse_collection_search(const nlohmann::json& request, std::size_t max_limit);

// Whether `collection` meets the request's ids, bbox and datetime as pgstac's
// collection_search reads its extent: the envelope of extent.spatial.bbox[0]
// (none: never within a bbox) and the span of extent.temporal.interval[0],
// an open end unbounded. `q` is the backend's.
bool collection_in_extent(const nlohmann::json& collection, const SearchRequest& request);

// The answer of Catalog::search_collections for `page`.
nlohmann::json collection_search_result(const CollectionSearchRequest& request, CollectionPage page);

}  // namespace tessera::catalog
