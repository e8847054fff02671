#pragma once

// Packaging: datasets clipped exactly to a boundary and published as a
// Frictionless Data Package on storage, plus the validation and clipping of
// user-drawn sketches. See docs/packaging.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/error.hpp"
#include "tessera/export.hpp"
#include "tessera/geometry.hpp"
#include "tessera/storage.hpp"

namespace tessera {

// --- Clipping ----------------------------------------------------------------

struct TESSERA_API ClipOptions {
  // Raster: keep every pixel the boundary touches, not only those whose
  // centre lies inside it (GDAL's ALL_TOUCHED).
  bool all_touched = false;
  // Vector output driver: "GPKG", "FlatGeobuf" or "GeoJSON"; empty: from the
  // destination's extension (.gpkg, .fgb, .geojson/.json).
  std::string format;
  // Settings for s3:// sources and destinations, as for Storage::open.
  StorageOptions storage_options;
};

// What a clip wrote.
struct TESSERA_API ClipResult {
  std::string destination;
  std::uint64_t bytes = 0;
  std::string crs;           // the output's CRS: "EPSG:n" when it has a code, else WKT
  Bbox bbox;                 // the output's extent in WGS84 longitude/latitude
  int width = 0;             // raster: pixels
  int height = 0;            // raster: lines
  std::size_t features = 0;  // vector: features written
  std::string media_type;    // e.g. "image/tiff; application=geotiff; profile=cloud-optimized"
  std::string format;        // file format name for Data Package resources: "tif", "gpkg", "fgb", "geojson"

  [[nodiscard]] nlohmann::json to_json() const;
};

// Clips a raster (local path, file://, s3://) to `boundary` (WGS84
// longitude/latitude, reprojected to the raster's CRS) and writes a COG at
// `destination` (local path or file:// / s3:// URI; written whole or not at
// all). The output keeps the source grid (no resampling): the window of
// pixels the boundary's extent covers, with pixels outside the boundary set
// to the band's nodata value (or 0 under a dataset mask when the source has
// none). Boundaries crossing the antimeridian (split at ±180 or beyond it)
// are handled. NotFound "no data for this boundary" when the boundary misses
// the raster or covers none of its pixels.
TESSERA_API ClipResult clip_raster(const std::string& source, const Geometry& boundary, const std::string& destination,
                                   const ClipOptions& options = {});

// Clips every layer of a vector source (any OGR source) to `boundary`:
// features intersecting it are written with their attributes, geometries cut
// at the boundary, in the source CRS. NotFound "no data for this boundary"
// when no feature intersects it.
TESSERA_API ClipResult clip_vector(const std::string& source, const Geometry& boundary, const std::string& destination,
                                   const ClipOptions& options = {});

// --- Sketches ----------------------------------------------------------------

struct TESSERA_API SketchOptions {
  // Keep only the part of the sketch inside this area (WGS84 geometry, a
  // Feature or a FeatureCollection) ...
  std::optional<nlohmann::json> clip_to;
  // ... or inside the features of an OGR source (path or URI).
  std::string clip_to_source;
  // Remove these areas from the sketch (GeoJSON, as clip_to) ...
  std::optional<nlohmann::json> erase;
  // ... or the features of an OGR source, of which only those within the
  // sketch's bounding box are read (e.g. a land polygon layer).
  std::string erase_source;
  bool keep_largest = false;  // keep only the largest polygon of the result
  double max_area_km2 = 1.0e6;
  std::size_t max_vertices = 100000;
  // Results cached on this storage (under "sketch-cache/") by the SHA-256 of
  // the canonical geometry, the parameters and `cache_key`; null: no cache.
  Storage* cache = nullptr;
  std::string cache_key;  // a caller's version of its reference data, etc.
};

// Validates a user-drawn sketch (GeoJSON Polygon or MultiPolygon in WGS84, or
// a Feature with one) and clips/erases it as asked. Returns {"geometry",
// "bbox", "area_km2", "key", "cached"}. InvalidInput, each with a clear
// message, for: wrong type, empty, too many vertices or too large, a
// self-intersection (with its location), and "outside of boundary" when
// nothing remains after clip/erase.
TESSERA_API nlohmann::json preprocess_sketch(const nlohmann::json& sketch, const SketchOptions& options = {});

// The union of the polygons of a reference area in WGS84: GeoJSON (a
// geometry, Feature or FeatureCollection) or, as a JSON string, an OGR source
// (path or URI) of which only the features within `within` are read. What
// preprocess_sketch clips and erases with; geoprocessing's preprocessing
// checks study and forbidden areas with it. InvalidInput/NotFound naming `where`.
TESSERA_API Geometry read_reference_area(const nlohmann::json& reference, const Bbox& within, std::string_view where);

// --- Datasets and processors ----------------------------------------------------

// A declarative dataset definition (JSON):
// {"name", "version", "title", "description", "license": {"name", "path",
//  "title"}, "citation", "sources": [hrefs], "type": "raster"|"vector",
//  "format": "COG"|"GPKG"|"FlatGeobuf"|"GeoJSON", "options": {...},
//  "processor": "<registered name>" (default: the type)}.
struct TESSERA_API DatasetDefinition {
  std::string name;  // lower-case letters, digits, '-', '_', '.'
  std::string version;
  std::string title;
  std::string description;
  nlohmann::json license = nlohmann::json::object();
  std::string citation;
  std::vector<std::string> sources;
  std::string type;  // "raster" or "vector"
  std::string format;
  nlohmann::json options = nlohmann::json::object();
  std::string processor;

  // InvalidInput naming `where` and the field ("datasets[2].type: ...").
  static DatasetDefinition from_json(const nlohmann::json& definition, std::string_view where = "dataset");
  [[nodiscard]] nlohmann::json to_json() const;
};

// A named area packages are built for, stored in WGS84.
struct TESSERA_API Boundary {
  std::string id;  // storage-safe slug of the name ("cote-d-ivoire")
  std::string name;
  std::string long_name;
  Geometry geometry;

  [[nodiscard]] nlohmann::json to_json() const;  // a GeoJSON Feature
  static Boundary from_json(const nlohmann::json& feature);
};

// What a processor gets: the boundary, its dataset and a local folder (empty,
// removed afterwards) to write its files into.
struct TESSERA_API ProcessorContext {
  const Boundary& boundary;
  const DatasetDefinition& dataset;
  std::filesystem::path output_dir;
  StorageOptions storage_options;
};

// One file a processor wrote; the packager hashes and publishes it.
struct TESSERA_API ProcessedFile {
  std::string file;  // name inside output_dir
  std::string format;
  std::string media_type;
  std::string crs;
  std::optional<Bbox> bbox;  // WGS84
};

// Turns a dataset's sources into files for a boundary. The built-in
// "raster" and "vector" processors clip; a host registers its own under a
// name a dataset definition selects with "processor". Throwing NotFound means
// "no data for this boundary" (the dataset is left out, not failed).
// Implementations must be safe to call from several threads.
class TESSERA_API Processor {
 public:
  virtual ~Processor();
  virtual std::vector<ProcessedFile> process(const ProcessorContext& context) = 0;
};

// --- Packager ------------------------------------------------------------------

struct TESSERA_API BoundaryLoadOptions {
  std::string name_field = "name";
  std::string long_name_field;  // empty: the name
  std::string layer;            // empty: the first layer
};

struct TESSERA_API BuildOptions {
  // Datasets processed at once.
  std::size_t parallelism = 2;
  // Called from worker threads (one at a time) with the percent done and the step.
  std::function<void(double percent, const std::string& step)> progress;
  // The job's id; empty: a new random id.
  std::string job_id;
  // When another job holds a dataset's lock: wait for it (and then skip the
  // outputs it wrote), or report the dataset as "in_progress" at once.
  bool wait_for_locks = true;
  std::chrono::milliseconds lock_timeout{std::chrono::minutes(30)};
  // How long a lock outlives its holder: a job renews its locks every
  // quarter of this while it runs (so a long job is never taken for dead),
  // and a crashed job's locks are taken over once it has passed.
  std::chrono::seconds lock_lease{120};
  StorageOptions storage_options;  // for s3:// dataset sources
};

// Builds packages on a storage: `<boundary>/datapackage.json`,
// `<boundary>/provenance.json`, `<boundary>/datasets/<dataset>/<version>/...`.
// Boundaries and job records live under `.tessera/` on the storage. Locks on
// (boundary, dataset, version) are taken in the catalog when one is given,
// else as atomic markers on the storage. The storage and catalog must outlive
// the packager. Safe to use from several threads.
class TESSERA_API Packager {
 public:
  explicit Packager(Storage& storage, Catalog* catalog = nullptr);
  ~Packager();
  Packager(const Packager&) = delete;
  Packager& operator=(const Packager&) = delete;

  // Loads the features of an OGR source (file, URI or "PG:..." connection)
  // as boundaries, reprojected to WGS84; invalid geometries are repaired with
  // a warning in the log. Returns the boundaries stored (id, name, long_name).
  nlohmann::json add_boundaries(const std::string& source, const BoundaryLoadOptions& options = {});
  // [{id, name, long_name, bbox}], ordered by id.
  nlohmann::json boundaries();
  // By name or id; NotFound otherwise.
  Boundary boundary(std::string_view name_or_id);

  void register_processor(const std::string& name, std::shared_ptr<Processor> processor);

  // Runs a package job: every dataset processed in a bounded pool, outputs
  // published, datapackage.json and provenance.json updated atomically.
  // Returns the datapackage. Throws when the job fails as a whole (unknown
  // boundary, bad definitions); a dataset that fails is recorded in the job
  // status and the rest are still published.
  nlohmann::json build(std::string_view boundary, const std::vector<DatasetDefinition>& datasets,
                       const BuildOptions& options = {});
  // The same from JSON definitions (validated first, errors name the item).
  nlohmann::json build(std::string_view boundary, const nlohmann::json& datasets, const BuildOptions& options = {});

  // {"id", "boundary", "status": pending|running|completed|failed, "error",
  //  "percent", "step", "datasets": [{name, version, status, error}], times}.
  // NotFound for an unknown id.
  nlohmann::json job_status(std::string_view job_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
