#pragma once

// Frictionless Data Package v2 documents for a boundary. Internal header.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/packaging.hpp"

namespace tessera::packaging {

// The current time as RFC 3339 text (UTC).
std::string now_rfc3339();

// One published file as a Data Package resource: path (relative to
// datapackage.json), format, mediatype, bytes, hash "sha256:<hex>", the
// dataset's license and sources, and tessera's custom properties (dataset,
// version, CRS, WGS84 bbox).
nlohmann::json resource_of(const DatasetDefinition& dataset, const ProcessedFile& file, const std::string& path,
                           std::uint64_t bytes, const std::string& sha256, std::size_t index, std::size_t count);

// `existing` (null for a new package) with the resources of each dataset in
// `datasets` replaced by `resources`, and the package-level name, title,
// licenses, sources and extent recomputed from all resources.
nlohmann::json updated_package(const nlohmann::json& existing, const Boundary& boundary,
                               const std::vector<std::string>& datasets, const std::vector<nlohmann::json>& resources);

}  // namespace tessera::packaging
