// STAC API item-search requests: parse_search_request() and what every
// backend then does with the parsed request (sort keys, fields on an item).

#include "catalog/search_request.hpp"
#include "cql2_fuzz_item.hpp"
#include "fuzz_support.hpp"

// CatalogOptions' defaults.
constexpr tessera::catalog::SearchLimits kLimits{.max_limit = 10000, .max_geometry_vertices = 100000};

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto request = tessera::fuzz::as_json(data, size);
  if (!request) {
    return 0;
  }
  tessera::fuzz::accepted([&] {
    const auto parsed = tessera::catalog::parse_search_request(*request, kLimits);
    (void)tessera::catalog::effective_sort(parsed);
    auto item = tessera::fuzz::cql2_item();
    tessera::catalog::apply_fields(item, parsed);
  });
  return 0;
}
