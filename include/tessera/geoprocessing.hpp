#pragma once

// Geoprocessing and preprocessing services with SeaSketch's contract: a
// registry of services (C++ callables, Python callables, command-line
// programs, and the built-ins zonal_statistics, overlap and preprocess), each
// with SeaSketch's metadata, served by tessera::Service under
// /geoprocessing/ (see docs/geoprocessing.md). The built-ins and the geobuf
// decoder are library calls of their own too.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/storage.hpp"

namespace tessera {

// sync: the request answers the finished task; async: it answers a pending
// task, polled at its `location` or followed by server-sent events.
enum class ExecutionMode : int { kSync = 0, kAsync = 1 };
TESSERA_API ExecutionMode execution_mode_from_name(std::string_view name);
TESSERA_API std::string_view execution_mode_name(ExecutionMode mode) noexcept;
TESSERA_API std::vector<std::string> execution_mode_names();

// The window a service's rate limit counts runs over (calendar day or month,
// UTC), as SeaSketch names them.
enum class RateLimitPeriod : int { kDaily = 0, kMonthly = 1 };
TESSERA_API RateLimitPeriod rate_limit_period_from_name(std::string_view name);
TESSERA_API std::string_view rate_limit_period_name(RateLimitPeriod period) noexcept;
TESSERA_API std::vector<std::string> rate_limit_period_names();

// A service's metadata, under SeaSketch's names in JSON.
struct TESSERA_API GeoprocessingServiceInfo {
  std::string title;
  // The service's name in the URL (POST /geoprocessing/{endpoint}): letters,
  // digits, '-' and '_', 1 to 64 characters.
  std::string endpoint;
  std::string description;
  // "geoprocessing" (reports) or "preprocessing" (sketch validation), the
  // list of the project document the service is in.
  std::string type = "geoprocessing";
  ExecutionMode execution_mode = ExecutionMode::kSync;
  // The sketch properties the service reads: kept by preprocessing, and
  // part of the cache key.
  std::vector<std::string> uses_attributes;
  // Longest run, seconds (1 to 3600): a sync request waits this long, a
  // command is killed after it, a callable's run is abandoned (and told so
  // through GeoprocessingContext::cancelled()).
  double timeout_seconds = 60;
  // Requests need a JWT (`token`) from an issuer of `iss_allow_list`.
  bool restricted_access = false;
  std::vector<std::string> iss_allow_list;
  // At most `rate_limit` runs per period (0: unlimited); answers from the
  // cache do not count.
  int rate_limit = 0;
  RateLimitPeriod rate_limit_period = RateLimitPeriod::kDaily;

  // From {"title", "endpoint", "description", "type", "executionMode",
  // "usesAttributes", "timeout", "restrictedAccess", "issAllowList",
  // "rateLimited", "rateLimit", "rateLimitPeriod"}; unknown members are left
  // to the caller. InvalidInput naming the member and `where`.
  static GeoprocessingServiceInfo from_json(const nlohmann::json& value, std::string_view where = "service");
  // The same members (rateLimited: rate_limit > 0).
  [[nodiscard]] nlohmann::json to_json() const;
};

// What a running service may use: its task's log and whether the run was
// abandoned (timed out), which long work should check now and then.
class TESSERA_API GeoprocessingContext {
 public:
  GeoprocessingContext(std::function<void(std::string_view)> log, std::shared_ptr<const std::atomic<bool>> cancelled);
  // Appends a line to the task's log (GET {location}/logs).
  void log(std::string_view message) const;
  [[nodiscard]] bool cancelled() const noexcept;
  // CPU time spent for the run outside the calling thread (a child process,
  // other threads), added to the task's cost.
  void add_cpu_seconds(double seconds) const noexcept;
  [[nodiscard]] double extra_cpu_seconds() const noexcept;

 private:
  std::function<void(std::string_view)> log_;
  std::shared_ptr<const std::atomic<bool>> cancelled_;
  mutable std::atomic<double> extra_cpu_seconds_{0};
};

// A service's work: the sketch (a GeoJSON Feature or a SeaSketch
// FeatureCollection, with only the `usesAttributes` properties) in, the
// task's `data` out. Throwing fails the task with the error's message.
using GeoprocessingFunction =
    std::function<nlohmann::json(const nlohmann::json& sketch, const GeoprocessingContext& context)>;

// Limits of command-line services.
struct TESSERA_API CommandLimits {
  std::size_t max_output_bytes = std::size_t{16} << 20;  // stdout beyond this fails the run
  std::size_t max_log_bytes = std::size_t{1} << 20;      // stderr kept for the task's log
};

// The services of a project, by endpoint. Built once, then read by many
// threads (the Service holds it as shared_ptr<const ...>).
class TESSERA_API GeoprocessingRegistry {
 public:
  GeoprocessingRegistry();
  ~GeoprocessingRegistry();
  GeoprocessingRegistry(GeoprocessingRegistry&&) noexcept;
  GeoprocessingRegistry& operator=(GeoprocessingRegistry&&) noexcept;

  // A C++ (or Python, C) callable. InvalidInput for bad metadata or an
  // endpoint already registered.
  void add_function(GeoprocessingServiceInfo info, GeoprocessingFunction function);
  // A program run without a shell (`argv[0]` a path or a name on PATH): the
  // request's sketch as JSON on stdin, the task's data as JSON on stdout,
  // stderr lines in the task's log; killed after the service's timeout.
  void add_command(GeoprocessingServiceInfo info, std::vector<std::string> argv, CommandLimits limits = {});
  // A built-in: "zonal_statistics" (parameters {"rasters": [hrefs],
  // "categorical": bool}), "overlap" ({"layers": [sources], "attribute"}),
  // "preprocess" ({"studyArea", "forbidden", "shoreline"}: sources, or
  // inline GeoJSON).
  void add_builtin(GeoprocessingServiceInfo info, std::string_view builtin, const nlohmann::json& parameters);
  // The services of a definitions document (tessera serve --services): a
  // JSON array of objects with the metadata above and either "command":
  // [argv] or "builtin" with its parameters. Relative command paths and
  // local sources are taken from `base_dir` when given.
  void add_definitions(const nlohmann::json& definitions, const std::string& base_dir = {});
  static GeoprocessingRegistry from_file(const std::string& path);

  [[nodiscard]] std::vector<GeoprocessingServiceInfo> services() const;
  [[nodiscard]] bool contains(std::string_view endpoint) const noexcept;
  // The service's metadata; NotFound naming the endpoint.
  [[nodiscard]] const GeoprocessingServiceInfo& info(std::string_view endpoint) const;
  // Runs a service on the calling thread. NotFound for an unknown endpoint;
  // the service's own failure as thrown.
  [[nodiscard]] nlohmann::json run(std::string_view endpoint, const nlohmann::json& sketch,
                                   const GeoprocessingContext& context) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How tessera::Service serves a registry (ServiceOptions::geoprocessing).
struct TESSERA_API GeoprocessingOptions {
  // The services; null: no /geoprocessing/ routes.
  std::shared_ptr<const GeoprocessingRegistry> registry;
  // The project document's title.
  std::string title = "tessera geoprocessing";
  // Where cached results are kept (cacheKey requests): a storage URI (local
  // folder or s3://), shared by every server process. Empty: no cache.
  std::string storage;
  StorageOptions storage_options;
  // The SQLite file of the task records and logs, shared by every server
  // process of the host (WAL, busy timeout). Required with a registry.
  std::string tasks_path;
  // Async runs at once in this process; more wait in line.
  int async_workers = 2;
  // geometryUri must start with one of these (https://... prefixes).
  std::vector<std::string> geometry_uri_prefixes;
  // Tests: also accept http://127.0.0.1 and http://localhost prefixes.
  bool allow_loopback_geometry_uri = false;
  // Largest geobuf a geometryUri may answer.
  std::size_t max_geometry_bytes = std::size_t{8} << 20;
};

// Removes the tasks (and logs) started more than `retention_days` ago from
// the task file; returns how many tasks went. Io when it cannot be opened.
inline constexpr int kGeoprocessingRetentionDays = 30;
TESSERA_API std::size_t prune_geoprocessing_tasks(const std::string& tasks_path,
                                                  int retention_days = kGeoprocessingRetentionDays);

// --- Built-ins ---------------------------------------------------------------

// Exact zonal statistics of each raster (any href the environment allows)
// over the sketch's polygons (WGS84; a Feature, a geometry or a
// FeatureCollection, whose polygons are merged), read window by window at
// native resolution: per band count (the covered valid pixels' coverage
// fractions summed), sum, mean, min, max, coverage_fraction (that count
// over the covered pixels' fractions, valid or not), area (count times the
// pixel area, m² for projected rasters, square CRS units otherwise) and,
// categorical, per class value {count, frac, area} (exactextract's
// frac). Returns {"rasters": [{"href", "bands": [...]}]}.
TESSERA_API nlohmann::json zonal_statistics(const nlohmann::json& sketch, const std::vector<std::string>& rasters,
                                            bool categorical = false);

// The geodesic area (m², WGS84 ellipsoid) of each vector layer's features
// inside the sketch: {"layers": [{"source", "area", "sketchArea",
// "byAttribute": {value: area}}]} (byAttribute when `attribute` is set).
TESSERA_API nlohmann::json overlap(const nlohmann::json& sketch, const std::vector<std::string>& layers,
                                   const std::string& attribute = {});

struct TESSERA_API PreprocessOptions {
  // GeoJSON (geometry, Feature, FeatureCollection) or an OGR source (a string:
  // path or URI). Null/empty: not checked.
  nlohmann::json study_area;                 // the sketch must lie within it
  nlohmann::json forbidden;                  // a sketch meeting one of these is rejected
  nlohmann::json shoreline;                  // land: removed from polygons and lines
  std::vector<std::string> uses_attributes;  // properties kept
};

// A Point, LineString or Polygon (Multi* too) sketch Feature validated
// (WGS84, valid, within the study area, not in a forbidden area) and clipped
// to the shoreline; returns the Feature with only the `uses_attributes`
// properties. InvalidInput with the reason ("outside of the study area",
// "inside a forbidden area", "on land", ...).
TESSERA_API nlohmann::json preprocess_feature(const nlohmann::json& sketch, const PreprocessOptions& options = {});

// A geobuf (https://github.com/mapbox/geobuf) document as GeoJSON.
// InvalidInput naming what is malformed; at most `max_coordinates`
// coordinate values are decoded.
TESSERA_API nlohmann::json decode_geobuf(std::string_view bytes, std::size_t max_coordinates = 10'000'000);

}  // namespace tessera
