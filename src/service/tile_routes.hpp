#pragma once

// The tile routes, TiTiler's and titiler-pgstac's paths over the tiling and
// mosaic modules: /cog/... (one raster named by `url`), /searches/...
// (mosaics of registered catalog searches), /collections/{c}/... (the mosaic
// of a collection's items) and /collections/{c}/items/{i}/... (one item's
// assets). Images and documents go out with
// a strong ETag (If-None-Match answered 304) and Cache-Control. Internal
// header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/pyramid.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

struct MosaicPath;
struct MosaicSource;

// The strong ETag of a body: a quoted 64-bit FNV-1a hash and the size, in hex.
std::string etag_of(std::string_view body);

// `body` with its ETag and "Cache-Control: public, max-age=<max_age_seconds>"
// ("no-cache" for 0); 304 without a body when the request's If-None-Match
// names that ETag (or is "*").
HttpResponse cacheable_response(const HttpRequest& request, std::string body, std::string_view content_type,
                                int max_age_seconds);

class TileRoutes {
 public:
  // `catalog` is where /searches and /collections run; nullptr: those routes
  // answer 404 "this service has no catalog".
  TileRoutes(Catalog* catalog, const ServiceOptions& options);

  // The answer for `segments` (the path split on '/'), or nullopt when no
  // tile route has that path. Throws HttpError (405, 404 without a catalog),
  // tessera::Error from the reads; a bad parameter is answered here, 400
  // with {"code", "description", "parameter"}.
  [[nodiscard]] std::optional<HttpResponse> handle(const HttpRequest& request,
                                                   const std::vector<std::string_view>& segments) const;

 private:
  [[nodiscard]] std::optional<HttpResponse> route(const HttpRequest& request,
                                                  const std::vector<std::string_view>& segments) const;
  [[nodiscard]] std::optional<HttpResponse> cog(const HttpRequest& request,
                                                const std::vector<std::string_view>& segments) const;
  [[nodiscard]] std::optional<HttpResponse> searches(const HttpRequest& request,
                                                     const std::vector<std::string_view>& segments) const;
  [[nodiscard]] std::optional<HttpResponse> collections(const HttpRequest& request,
                                                        const std::vector<std::string_view>& segments) const;
  [[nodiscard]] std::optional<HttpResponse> item(const HttpRequest& request,
                                                 const std::vector<std::string_view>& segments) const;
  // The tilesets and WMTS document of a mosaic source.
  [[nodiscard]] HttpResponse metadata_answer(const HttpRequest& request, const HttpRequest& effective,
                                             const MosaicPath& path, const MosaicSource& source) const;
  // The answer of a mosaic path (tile, its items, TileJSON, point values, the
  // items under a point): `effective` is the request with its render's
  // presets, `request` what the client sent (ETags, the TileJSON tile URLs).
  [[nodiscard]] HttpResponse mosaic_answer(const HttpRequest& request, const HttpRequest& effective,
                                           const MosaicPath& path, const MosaicSource& source) const;
  [[nodiscard]] Catalog& require_catalog() const;
  [[nodiscard]] HttpResponse cacheable(const HttpRequest& request, std::string body,
                                       std::string_view content_type) const;
  [[nodiscard]] HttpResponse cacheable_json(const HttpRequest& request, const nlohmann::json& body) const;

  // The pyramid of `search_id` in the service's pyramid folder, if there is one.
  [[nodiscard]] std::optional<Pyramid> pyramid_of(std::string_view search_id) const;

  Catalog* catalog_;
  int max_age_seconds_;
  std::string pyramid_dir_;
};

}  // namespace tessera::service
