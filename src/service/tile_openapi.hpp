#pragma once

// The tile routes in the OpenAPI document (/api): /cog, /searches, the
// collection mosaics and the item routes, with their query parameters.
// Internal header.

#include <nlohmann/json.hpp>

namespace tessera::service {

// Adds the tile routes to an OpenAPI 3.0 document's `paths` (whose
// components must hold the "Error" schema).
void add_tile_openapi(nlohmann::json& paths);

}  // namespace tessera::service
