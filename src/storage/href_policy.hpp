#pragma once

// Which hrefs tessera may hand to GDAL: the host application's allow-list of
// URL prefixes and local folders, applied to every href that comes with data
// (STAC assets, tile requests, dataset definitions, rasters to describe) so
// that a request or a document can never make tessera fetch an arbitrary URL
// or open an arbitrary local file. Internal header.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::storage {

struct HrefPolicy {
  // http:// and https:// hrefs must start with one of these (default: none allowed).
  std::vector<std::string> allowed_prefixes;
  // When not empty, local paths and file:// hrefs must lie inside one of these
  // folders after symbolic links are resolved.
  std::vector<std::string> allowed_roots;
  // GDAL drivers a raster or vector href may be opened with (formats only:
  // VRTs, network and database drivers can reach anything).
  std::vector<std::string> raster_drivers = {"GTiff", "COG", "PNG", "JPEG", "WEBP", "JP2OpenJPEG", "netCDF", "HDF5"};
  std::vector<std::string> vector_drivers = {"GPKG",           "GeoJSON",    "GeoJSONSeq",
                                             "ESRI Shapefile", "FlatGeobuf", "Parquet"};
};

// Checks and installs the process-wide policy (thread-safe). InvalidInput for
// a prefix that is not http(s) or does not end its host with '/'.
void set_href_policy(HrefPolicy policy);
// The policy in force (a snapshot).
std::shared_ptr<const HrefPolicy> href_policy();

enum class HrefKind { kLocalPath, kHttp, kS3 };

struct CheckedHref {
  HrefKind kind;
  // The resolved absolute local path, the URL, or the bucket's s3:// URI.
  std::string location;
  // kS3 only: the object key (percent-decoded).
  std::string key;
};

// Classifies `href` and applies the policy in force. InvalidInput (naming the
// href) for GDAL syntax, an s3:// href naming no object, (/vsi prefixes anywhere, inline XML, connection
// strings, other schemes), control characters, a URL outside the allowed
// prefixes or a local path outside the allowed roots.
CheckedHref check_href(std::string_view href);

}  // namespace tessera::storage
