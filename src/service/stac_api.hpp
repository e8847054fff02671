#pragma once

// The STAC API 1.0.0 routes over a Catalog: landing page, conformance,
// collections, items, item search (GET and POST) and transactions, with
// links built from the request's public base URL. Internal header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/auth.hpp"
#include "service/tile_links.hpp"
#include "service/transactions.hpp"
#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

class StacApi {
 public:
  StacApi(Catalog& catalog, const ServiceOptions& options, const Authenticator& auth)
      : catalog_(catalog), options_(options), auth_(auth), transactions_(catalog) {}

  // The answer for `segments` (the path split on '/'), or nullopt when no
  // STAC route has that path. HttpError for a known path with another method.
  std::optional<HttpResponse> handle(const HttpRequest& request, const std::vector<std::string_view>& segments) const;

  // The conformance classes served (transactions only when the service
  // can accept a write).
  [[nodiscard]] std::vector<std::string> conformance() const;

 private:
  HttpResponse landing(const std::string& base) const;
  // GET /collections: collection search (bbox, datetime, q, ids, limit, token).
  HttpResponse collections(const HttpRequest& request, const std::string& base) const;
  HttpResponse collection(const std::string& base, std::string_view id) const;
  HttpResponse items(const HttpRequest& request, const std::string& base, std::string_view collection) const;
  HttpResponse item(const std::string& base, std::string_view collection, std::string_view id) const;
  HttpResponse search(const HttpRequest& request, const std::string& base) const;

  // Writes (the caller already authorized): POST /collections, PUT/PATCH/
  // DELETE /collections/{id}, POST /collections/{id}/items (an Item or a
  // FeatureCollection), POST /collections/{id}/bulk_items, PUT/PATCH/DELETE
  // /collections/{id}/items/{itemId}.
  HttpResponse write_collections(const HttpRequest& request, const std::string& base) const;
  HttpResponse write_collection(const HttpRequest& request, std::string_view id) const;
  HttpResponse write_items(const HttpRequest& request, const std::string& base, std::string_view collection) const;
  HttpResponse write_item(const HttpRequest& request, std::string_view collection, std::string_view id) const;

  // The catalog's answer to `search`, with STAC API links: `next` continues
  // with the page token by `method` at `href`.
  HttpResponse item_collection(nlohmann::json search, const std::string& base, const std::string& self,
                               bool post) const;

  // The links to the tile routes for one request, when they are served.
  std::optional<TileLinks> tile_links(const std::string& base) const;

  Catalog& catalog_;
  const ServiceOptions& options_;
  const Authenticator& auth_;
  StacTransactions transactions_;
};

}  // namespace tessera::service
