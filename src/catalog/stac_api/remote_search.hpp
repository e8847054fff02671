#pragma once

// Item search against a remote STAC API: what its conformance allows, a
// parsed SearchRequest as the server's POST body or GET query, one page of
// its answer checked and read, and its `next` link kept in (and read back
// from) tessera's page tokens. Internal header.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/search_request.hpp"

namespace tessera::catalog::stac_api {

// The conformance classes a server declares, matched by the end of their
// path so any STAC API version counts ("item-search#filter" matches
// https://api.stacspec.org/v1.0.0-rc.2/item-search#filter).
class Conformance {
 public:
  Conformance() = default;
  explicit Conformance(std::vector<std::string> uris) : uris_(std::move(uris)) {}
  [[nodiscard]] bool declares(std::string_view suffix) const;

 private:
  std::vector<std::string> uris_;
};

// The server's item search endpoint and whether it takes POST.
struct SearchEndpoint {
  std::string href;
  bool post = false;
};

// One page request as it goes to the server: POST when `body` is an
// object, else GET of `href` (which then holds the whole query).
struct PageCall {
  std::string href;
  nlohmann::json body;  // null for GET

  // What identifies the page, for finding a `next` link that loops.
  [[nodiscard]] std::string identity() const;
};

// A page of the server's answer, checked.
struct RemotePage {
  std::vector<std::string> items;  // each Feature as compact JSON text
  std::optional<std::int64_t> number_matched;
  std::optional<PageCall> next;
  std::optional<PageCall> prev;  // when the server links the page before
};

// Unsupported naming the conformance class the server does not declare for
// a member of `request` (filter, sortby, q). Fields are applied by tessera
// to whole items, so they need nothing of the server.
void check_supported(const SearchRequest& request, const Conformance& conformance);

// The first page of `request` (its bbox replaced by `area` when given) with
// `limit` items a page.
PageCall first_call(const SearchRequest& request, const SearchEndpoint& endpoint, std::size_t limit,
                    const std::optional<Bbox>& area = std::nullopt);

// Reads a response body of `call`. Io naming the URL for invalid or
// truncated JSON, no `features` array, a feature that is not an object, more
// features than `limit`, or a malformed `next` or `prev` link.
RemotePage read_page(const std::string& body, const PageCall& call, std::size_t limit);

// The `next` call as a token position, with the identities of the pages
// already read in this walk (the last few) to catch a link that loops.
nlohmann::json position_of(const PageCall& next, std::vector<std::string> seen);

// A position read back from a token: InvalidInput unless it is one this
// backend wrote with an href on `origin` (a token must never make tessera
// call another host). `seen` receives the walk's identities.
PageCall call_from_position(const nlohmann::json& position, const std::string& origin, std::vector<std::string>& seen);

// `call` asking for `limit` items: a page token read back with another
// limit than its page's (the request's limit wins over the token's). The
// POST body's `limit`, or the GET query's `limit` parameter, replaced.
PageCall with_limit(PageCall call, std::size_t limit);

// Io when `next` is a page the walk has read already.
void check_not_seen(const PageCall& next, const std::vector<std::string>& seen, std::string_view shown_url);

}  // namespace tessera::catalog::stac_api
