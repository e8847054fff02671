#pragma once

// The human-readable side of a package: index.html, license.html and a PNG
// map thumbnail of the boundary, written beside datapackage.json.
// Internal header.

#include <string>

#include <nlohmann/json.hpp>

#include "tessera/packaging.hpp"

namespace tessera::packaging {

inline constexpr const char* kThumbnailFile = "thumbnail.png";

// The package's page: the boundary (names, extent, thumbnail), each dataset
// with its files (sizes, SHA-256 hashes, links), licences and citations, and
// links to datapackage.json, provenance.json and license.html. Links are
// relative to the page, so it works on any web root or bucket.
std::string package_index_html(const nlohmann::json& datapackage, const Boundary& boundary);

// Every licence of the package with the datasets under it, their citations
// and sources.
std::string package_license_html(const nlohmann::json& datapackage, const Boundary& boundary);

// The boundary filled on a plain background, `size` pixels on its longer
// side (longitude scaled by the cosine of the middle latitude), as PNG bytes
// (GDAL's PNG driver).
std::string boundary_thumbnail_png(const Geometry& boundary, int size = 320);

}  // namespace tessera::packaging
