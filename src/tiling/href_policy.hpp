#pragma once

// Turns an href into the name GDAL opens, enforcing the current Environment.
// Internal header.

#include <memory>
#include <string>
#include <string_view>

#include "tessera/tiling.hpp"
#include "tiling/expression.hpp"

namespace tessera::tiling {

// The current environment's settings (a snapshot: configure() swaps in new ones).
std::shared_ptr<const ReaderConfig> current_config();

// The expression limits the configuration in force sets.
ExpressionLimits expression_limits();

// The GDAL path for `href`: a local path inside the allowed roots, /vsis3/...
// with the configured S3 settings, or /vsicurl/ + an allowed http(s) URL.
// InvalidInput when the href is malformed or not allowed.
std::string resolve_href(std::string_view href);

}  // namespace tessera::tiling
