#pragma once

// The STAC API aggregation extension (v0.3.0) over Catalog::aggregate:
// GET/POST /aggregate and /collections/{id}/aggregate, GET /aggregations and
// /collections/{id}/aggregations, and what the other routes advertise of it
// (links, conformance classes, OpenAPI paths). Internal header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

// The answer for `segments` (the path split on '/') when it is one of the
// aggregation routes, else nullopt. HttpError for a known path with another
// method, or a bad parameter.
std::optional<HttpResponse> aggregation_route(Catalog& catalog, const HttpRequest& request,
                                              const std::vector<std::string_view>& segments, const std::string& base);

// The conformance classes of the extension (with its filter and query parts).
std::vector<std::string> aggregation_conformance();

// The links a landing page or a collection at `url` (no trailing '/') has to
// its aggregation routes: rel=aggregate by GET and by POST, rel=aggregations.
nlohmann::json aggregation_links(const std::string& url);

// Whether a stored link of `rel` is one aggregation_links() makes (replaced
// when a collection is served).
bool is_aggregation_rel(std::string_view rel);

// Adds the routes to an OpenAPI document's paths and schemas.
void add_aggregation_openapi(nlohmann::json& paths, nlohmann::json& schemas);

}  // namespace tessera::service
