#pragma once

// The OpenAPI 3.0 document of the routes the service serves (/api), so
// clients and validators can read what the API takes. Internal header.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tessera/service.hpp"

namespace tessera::service {

// The media type /api is served as, and the service-desc link's type.
inline constexpr std::string_view kOpenApiMediaType = "application/vnd.oai.openapi+json;version=3.0";

nlohmann::json openapi_document(const ServiceOptions& options);

// `document` as a web page (the service-doc): each route with its methods
// and summaries, names HTML-escaped. No script, so it works offline.
std::string openapi_page(const nlohmann::json& document);

}  // namespace tessera::service
