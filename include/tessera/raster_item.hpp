#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/storage.hpp"

namespace tessera {

struct TESSERA_API CreateItemOptions {
  std::string id;                                        // default: the file name without its extension
  std::string collection;                                // default: none
  std::string datetime;                                  // RFC 3339; default: the raster's TIFF date-time, else now
  nlohmann::json properties = nlohmann::json::object();  // merged into the item's properties
  bool statistics = false;                               // add per-band statistics (reads the data, approximately)
  StorageOptions storage_options;                        // for s3:// hrefs
};

// A valid STAC 1.1 Item for a GDAL-readable raster (local path, file://,
// s3://, https://): a WGS84 geometry following the raster's edge (densified,
// split at the antimeridian where needed), bbox, the projection extension
// (proj:code or proj:wkt2, proj:shape, proj:transform, proj:bbox), `bands`
// with data type, nodata and optional statistics, and a "data" asset with
// its media type and roles. A file GDAL cannot read as a raster, or one
// without georeferencing, is InvalidInput.
TESSERA_API nlohmann::json create_item(const std::string& href, const CreateItemOptions& options = {});

// Converts a raster to a Cloud-Optimized GeoTIFF (GDAL's COG driver,
// DEFLATE, 512-pixel blocks, overviews) at `destination`: a local path or a
// storage URI (file://, s3://). The COG is written to a temporary local file
// first (GDAL cannot write a COG straight to S3) and then moved or uploaded,
// so no reader sees a partial file.
TESSERA_API void to_cog(const std::string& source, const std::string& destination,
                        const StorageOptions& storage_options = {});

}  // namespace tessera
