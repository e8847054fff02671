#pragma once

// Which hrefs tessera may hand to GDAL: the current Environment's allow-list
// of URL prefixes and local folders (tessera/environment.hpp), applied to every href that comes with data
// (STAC assets, tile requests, dataset definitions, rasters to describe) so
// that a request or a document can never make tessera fetch an arbitrary URL
// or open an arbitrary local file. Internal header.

#include <string>
#include <string_view>

namespace tessera::storage {

enum class HrefKind { kLocalPath, kHttp, kS3 };

struct CheckedHref {
  HrefKind kind;
  // The resolved absolute local path, the URL, or the bucket's s3:// URI.
  std::string location;
  // kS3 only: the object key (percent-decoded).
  std::string key;
};

// Classifies `href` and applies the current environment's allow-lists. InvalidInput (naming the
// href) for GDAL syntax, an s3:// href naming no object, (/vsi prefixes anywhere, inline XML, connection
// strings, other schemes), control characters, a URL outside the allowed
// prefixes or a local path outside the allowed roots.
CheckedHref check_href(std::string_view href);

// The GDAL path of a checked http(s) href: /vsicurl/ + the URL, signed by the
// current environment's href_signer when it has one. InvalidInput (naming
// the href) when the signed URL is not http(s) or carries GDAL syntax; a
// signer's own error propagates (a tessera::Error as it is, anything else as
// Unavailable).
std::string http_gdal_path(const CheckedHref& checked);

}  // namespace tessera::storage
