#pragma once

// What tsr_service_new reads from its options' "geoprocessing" member
// (capi_geoprocessing.cpp). Internal header.

#include <nlohmann/json.hpp>

#include "tessera/geoprocessing.hpp"

namespace tessera::capi {

// {"services": [definitions], "base_dir", "title", "tasks_path", "storage",
// "storage_options", "async_workers",
// "geometry_uri_prefixes", "allow_loopback_geometry_uri",
// "max_geometry_bytes"}; InvalidInput naming `function` and the option.
GeoprocessingOptions geoprocessing_options_of(const nlohmann::json& value, const char* function);

}  // namespace tessera::capi
