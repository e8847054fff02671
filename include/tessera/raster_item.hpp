#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/storage.hpp"

namespace tessera {

struct TESSERA_API CreateItemOptions {
  std::string id;          // default: the file name without its extension
  std::string collection;  // default: none
  // The href of the item's rel="collection" link (made whenever `collection`
  // is set); default "../collection.json", the static-catalog layout (a STAC
  // API rewrites it to its own collection URL).
  std::string collection_href;
  // A sensor whose published band table names the bands' common names and
  // wavelengths ("sentinel-2", "landsat-oli"), matched by band description,
  // else (one-band files) by the file name's last "_" part ("..._B04.tif").
  // Empty: only what the raster's own metadata says.
  std::string sensor;
  std::string datetime;                                  // RFC 3339; default: the raster's TIFF date-time, else now
  nlohmann::json properties = nlohmann::json::object();  // merged into the item's properties
  bool statistics = false;                               // add per-band statistics (reads the data, approximately)
  StorageOptions storage_options;                        // for s3:// hrefs
};

// A valid STAC 1.1 Item for a GDAL-readable raster (local path, file://,
// s3://, https://): a WGS84 geometry following the raster's edge (densified,
// split at the antimeridian where needed, exterior rings counter-clockwise
// as RFC 7946 asks), bbox, `gsd` (the pixel size in metres; at the centre
// for geographic CRSs), the projection extension (proj:code or proj:wkt2,
// proj:shape, proj:transform, proj:bbox), `bands` with data type, nodata,
// optional statistics and the EO fields (eo:common_name,
// eo:center_wavelength, eo:full_width_half_max) the raster's metadata or the
// sensor preset give, a "data" asset with its media type and roles, and a
// rel="collection" link when it has a collection. A file GDAL cannot read as
// a raster, or one without georeferencing, is InvalidInput; so is an
// unknown sensor preset.
TESSERA_API nlohmann::json create_item(const std::string& href, const CreateItemOptions& options = {});

// The accepted CreateItemOptions::sensor names.
TESSERA_API std::vector<std::string> sensor_presets();

// Converts a raster to a Cloud-Optimized GeoTIFF (GDAL's COG driver,
// DEFLATE, 512-pixel blocks, overviews) at `destination`: a local path or a
// storage URI (file://, s3://). The COG is written to a temporary local file
// first (GDAL cannot write a COG straight to S3) and then moved or uploaded,
// so no reader sees a partial file.
TESSERA_API void to_cog(const std::string& source, const std::string& destination,
                        const StorageOptions& storage_options = {});

}  // namespace tessera
