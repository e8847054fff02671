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

// What the processor registry says of a dataset version besides its
// definition (irv-autopkg's processor metadata).
struct TESSERA_API ProcessorMetadata {
  std::string author;
  std::string long_title;
  std::string summary;
  std::string origin_url;            // http(s) URL of the data's origin
  std::vector<std::string> formats;  // empty: the dataset's output format
};

// A processor of the registry: one dataset version a package can be asked
// for by name ("<dataset>/<version>"), with its definition and metadata.
struct TESSERA_API RegisteredProcessor {
  DatasetDefinition dataset;
  ProcessorMetadata metadata;

  [[nodiscard]] std::string name() const;  // "<dataset>/<version>"
  // {"name", "dataset", "version", "description", "author", "title",
  //  "long_title", "summary", "citation", "license": {"name", "title",
  //  "path"}, "origin_url", "formats"}: what clients are shown.
  [[nodiscard]] nlohmann::json metadata_json() const;
  // A dataset definition with the metadata fields ("author", "long_title",
  // "summary", "origin_url", "formats") beside its own; InvalidInput naming
  // `where` and the field.
  static RegisteredProcessor from_json(const nlohmann::json& entry, std::string_view where = "processor");
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
  // The job's id (letters, digits, '-', '_', '.'); empty: a new random id.
  std::string job_id;
  // When another job holds a dataset's lock: wait for it (and then skip the
  // outputs it wrote), or report the dataset as "in_progress" at once.
  bool wait_for_locks = true;
  // How long a dataset (or the package update) waits for another job's lock.
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

  // The storage packages are written to.
  [[nodiscard]] Storage& storage() const noexcept;

  // Loads the features of an OGR source (file, URI or "PG:..." connection)
  // as boundaries, reprojected to WGS84; invalid geometries are repaired with
  // a warning in the log. Returns the boundaries stored (id, name, long_name).
  nlohmann::json add_boundaries(const std::string& source, const BoundaryLoadOptions& options = {});
  // The same from a GeoJSON FeatureCollection or Feature in WGS84 given as
  // data (an upload; options.layer is not used).
  nlohmann::json add_boundaries_geojson(const nlohmann::json& features, const BoundaryLoadOptions& options = {});
  // [{id, name, long_name, bbox}], ordered by id.
  nlohmann::json boundaries();
  // By name or id; NotFound otherwise.
  Boundary boundary(std::string_view name_or_id);

  void register_processor(const std::string& name, std::shared_ptr<Processor> processor);

  // The processor registry: dataset versions a package can be built of by
  // name (Packages::submit, the service's POST /jobs). Adding a name again
  // replaces its entry. add_processors takes a JSON array of
  // RegisteredProcessor entries (the `tessera serve --processors` file) and
  // returns their names; all are checked before any is added.
  void add_processor(RegisteredProcessor processor);
  nlohmann::json add_processors(const nlohmann::json& entries);
  // [metadata_json()], ordered by name.
  nlohmann::json processors();
  // NotFound naming the registered ones.
  RegisteredProcessor processor(std::string_view dataset, std::string_view version);
  // The definitions of processors named "<dataset>/<version>"; InvalidInput
  // for a malformed or repeated name, NotFound for an unknown one.
  std::vector<DatasetDefinition> processor_definitions(const std::vector<std::string>& names);

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
  //  "percent", "step", "processors", "datasets": [{processor, name, version,
  //  status, step, percent, error}], "provenance": [...], times}; status
  //  also "cancelled". NotFound for an unknown id.
  nlohmann::json job_status(std::string_view job_id);

  // Asks a job to stop, from any process sharing the storage (a marker
  // beside its record): the job stops at its next step boundary (before a
  // dataset, while waiting for a lock, after processing, between uploads,
  // before publishing), removes the files of the dataset it was uploading,
  // releases its locks, leaves datapackage.json as it was and records
  // "cancelled"; build() then throws Conflict "package job <id>: cancelled".
  // Returns the job's status (with "cancel_requested": true unless it had
  // finished). NotFound for an unknown id.
  nlohmann::json cancel_job(std::string_view job_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --- Package jobs ---------------------------------------------------------------

struct TESSERA_API PackageJobOptions {
  // Jobs run at once on the worker pool; more wait in a queue of at most
  // `max_queued` (submit is Unavailable beyond it).
  std::size_t workers = 2;
  std::size_t max_queued = 1000;
  // Jobs list() remembers (the newest).
  std::size_t history = 1000;
  // Datasets of one job processed at once.
  std::size_t parallelism = 2;
  // How long a job waits for another job's lock on a dataset or package.
  std::chrono::milliseconds lock_timeout{std::chrono::minutes(30)};
  StorageOptions storage_options;  // for s3:// dataset sources
  // When set, jobs are handed to it instead of the worker pool (e.g. to a
  // Dask cluster, docs/packaging.md): it is called on the submitting thread
  // with {"id", "boundary", "processors", "datasets": [definitions],
  // "parallelism", "lock_timeout_ms"} and must start Packager::build of
  // those datasets with that job id on a packager over the same storage
  // (and catalog) and return; the job's status is read from the storage.
  std::function<void(const nlohmann::json& job)> executor;
};

struct TESSERA_API PackageJobFilter {
  std::string status;    // pending|running|completed|failed|cancelled; empty: any
  std::string boundary;  // name or id; empty: any
  std::size_t limit = 100;
};

// Package jobs submitted by boundary and processor names, run in a bounded
// worker pool (or handed to an executor), with their status, a list of
// recent jobs and cancellation. A submission of the same boundary and
// processors while such a job is pending or running joins it (same id).
// The packager must outlive it. Thread-safe.
class TESSERA_API PackageJobs {
 public:
  // InvalidInput for 0 workers or 0 parallelism.
  explicit PackageJobs(Packager& packager, PackageJobOptions options = {});
  // Cancels the queued jobs and asks the running ones to stop, then waits for them.
  ~PackageJobs();
  PackageJobs(const PackageJobs&) = delete;
  PackageJobs& operator=(const PackageJobs&) = delete;

  // {"id", "status", "duplicate"}: a new job (pending), or the pending or
  // running one for the same boundary and processors ("duplicate": true).
  // NotFound for an unknown boundary or processor, InvalidInput for a
  // malformed or repeated processor name or none, Unavailable when the queue
  // is full.
  nlohmann::json submit(std::string_view boundary, const std::vector<std::string>& processors);
  // Packager::job_status.
  nlohmann::json status(std::string_view id);
  // The jobs submitted here, newest first, as their status records.
  // InvalidInput for an unknown status name.
  nlohmann::json list(const PackageJobFilter& filter = {});
  // A queued job is cancelled at once; a running one stops at its next step
  // boundary (Packager::cancel_job). Returns its status. NotFound for an
  // unknown id.
  nlohmann::json cancel(std::string_view id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
