#pragma once

// The STAC API 1.0.0 routes over a Catalog: landing page, conformance,
// collections, items and item search (GET and POST), with links built from
// the request's public base URL. Internal header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

class StacApi {
 public:
  StacApi(Catalog& catalog, const ServiceOptions& options) : catalog_(catalog), options_(options) {}

  // The answer for `segments` (the path split on '/'), or nullopt when no
  // STAC route has that path. HttpError for a known path with another method.
  std::optional<HttpResponse> handle(const HttpRequest& request, const std::vector<std::string_view>& segments) const;

  // The conformance classes served.
  static const std::vector<std::string>& conformance();

 private:
  HttpResponse landing(const std::string& base) const;
  HttpResponse collections(const std::string& base) const;
  HttpResponse collection(const std::string& base, std::string_view id) const;
  HttpResponse items(const HttpRequest& request, const std::string& base, std::string_view collection) const;
  HttpResponse item(const std::string& base, std::string_view collection, std::string_view id) const;
  HttpResponse search(const HttpRequest& request, const std::string& base) const;

  // The catalog's answer to `search`, with STAC API links: `next` continues
  // with the page token by `method` at `href`.
  HttpResponse item_collection(nlohmann::json search, const std::string& base, const std::string& self,
                               bool post) const;

  Catalog& catalog_;
  const ServiceOptions& options_;
};

}  // namespace tessera::service
