// Paging tokens, which clients hand back as they please: the input as a raw
// token, and (when it is JSON {"q": query, "p": position, "s": page shape})
// as the payload of a well-formed token. Both go through parse_search_request(), then the
// SQLite keyset cursor reads the position. (A PgSTAC position only wraps
// pgstac's own token string, which the server checks.)

#include <string>

#include "catalog/search_request.hpp"
#include "catalog/sqlite/sqlite_query.hpp"
#include "fuzz_support.hpp"

namespace {

// CatalogOptions' defaults.
constexpr tessera::catalog::SearchLimits kLimits{.max_limit = 10000, .max_geometry_vertices = 100000};

void continue_with(const std::string& token) {
  tessera::fuzz::accepted([&] {
    const auto request = tessera::catalog::parse_search_request(nlohmann::json{{"token", token}}, kLimits);
    if (request.position) {
      const auto keys = tessera::catalog::effective_sort(request).size() - 2;
      (void)tessera::catalog::sqlite::PageCursor::from_position(*request.position, keys);
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  continue_with(std::string(tessera::fuzz::as_text(data, size)));
  const auto payload = tessera::fuzz::as_json(data, size);
  if (payload && payload->is_object() && payload->contains("q") && payload->contains("p")) {
    tessera::catalog::SearchRequest issued;
    issued.query = (*payload)["q"];
    if (const auto shape = payload->find("s"); shape != payload->end()) {
      issued.page_shape = *shape;
    }
    continue_with(tessera::catalog::encode_page_token(issued, (*payload)["p"]));
  }
  return 0;
}
