#pragma once

// One page of a search as a backend answers it: the stored item texts in
// result order and the page's tokens. Catalog::search_text writes it out as a
// FeatureCollection; scans read a few fields of each item from it (both
// without building a JSON document of the page). Internal header.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/search_request.hpp"

namespace tessera::catalog {

struct SearchPage {
  SearchRequest request;           // as the backend parsed and validated it
  std::vector<std::string> items;  // JSON texts as stored (fields not applied)
  std::optional<std::int64_t> number_matched;
  std::string next_token;  // empty on the last page
  std::string prev_token;  // empty on the first page
};

}  // namespace tessera::catalog
