#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/export.hpp"

// Matching: models register areas of interest (AOIs) with the imagery they
// need; each new STAC item is matched against every AOI at once, a run is
// requested through the catalog's outbox, a runner executes it and the
// results come back as STAC label items. See docs/matching.md.
namespace tessera {

// One AOI an item meets, and the model that registered it.
struct TESSERA_API Match {
  std::string model;
  std::string aoi;

  [[nodiscard]] nlohmann::json to_json() const { return {{"model", model}, {"aoi", aoi}}; }
  friend bool operator==(const Match&, const Match&) = default;
};

// Event kinds in the outbox.
inline constexpr std::string_view kRunRequested = "run_requested";
inline constexpr std::string_view kRunSucceeded = "run_succeeded";
inline constexpr std::string_view kRunFailed = "run_failed";
inline constexpr std::string_view kPredictionReceived = "prediction_received";
inline constexpr std::string_view kModelUpdated = "model_updated";

struct TESSERA_API MatchEvent {
  std::int64_t id = 0;
  std::string kind;
  std::string model;
  nlohmann::json payload;
  std::string created;  // RFC 3339
  int deliveries = 0;   // how many times it has been claimed
  bool acknowledged = false;

  [[nodiscard]] nlohmann::json to_json() const;
};

struct TESSERA_API EventQuery {
  std::size_t limit = 100;
  std::string kind;   // empty: every kind
  std::string model;  // empty: every model
  // false: a look at the unacknowledged events, oldest first, nothing
  // changes. true: the events not acknowledged and not leased to another
  // consumer are leased to the caller for `lease_seconds`; those not
  // acknowledged by then are delivered again (at-least-once).
  bool claim = false;
  double lease_seconds = 300;
  // With claim: at most this many events of the query's kind and model
  // leased at once, counting every consumer's unexpired leases, in any
  // process (0: no cap). Runners claim a model's run requests this way, so
  // its concurrency holds across runner processes.
  std::size_t max_leased = 0;
};

// Models, AOIs, the in-memory AOI index, events and predictions of one
// catalog (SQLite or PgSTAC; stored in the same database). Safe to use from
// several threads; several processes may share the stored state, each
// Matcher's index reflects the AOIs at construction plus its own changes
// (reload() picks up other processes' changes).
class TESSERA_API Matcher {
 public:
  // The catalog must outlive the Matcher.
  explicit Matcher(Catalog& catalog);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // --- Models ---------------------------------------------------------------
  // {"id"?, "name", "description"?, "command": [program, args...],
  //  "runner"?: {"timeout": seconds, "concurrency": n}}. Returns the id
  // (generated when absent). Conflict if the id exists.
  std::string add_model(const nlohmann::json& model);
  // Replaces a model (NotFound if absent) and emits model_updated.
  void update_model(const nlohmann::json& model);
  nlohmann::json get_model(std::string_view id) const;
  nlohmann::json models() const;

  // --- AOIs -----------------------------------------------------------------
  // {"id"?, "model", "geometry": GeoJSON, "crs"?: "EPSG:3413" (default
  //  WGS84), "resolution": largest acceptable GSD in metres, "wavelengths"?:
  //  [µm, ...], "collections"?: [...], "datetime"?: "start/end" ('..' open),
  //  "max_cloud_cover"?: percent, "filter"?: CQL2 JSON or text}. Stored in
  // WGS84, split at the antimeridian. Returns the id.
  std::string add_aoi(const nlohmann::json& aoi);
  // NotFound if absent.
  void remove_aoi(std::string_view id);
  nlohmann::json get_aoi(std::string_view id) const;
  // Every AOI, or those of one model, ordered by id.
  nlohmann::json aois(std::string_view model = {}) const;
  // Rebuilds the index from the stored AOIs.
  void reload();

  // --- Matching -------------------------------------------------------------
  // The AOIs `item` meets, ordered by (model, aoi). InvalidInput for an item
  // without a valid geometry or with malformed band metadata.
  [[nodiscard]] std::vector<Match> match(const nlohmann::json& item) const;
  [[nodiscard]] std::vector<std::vector<Match>> match_batch(const std::vector<nlohmann::json>& items) const;
  // The outbox hook for Catalog::load / ingest(): one run_requested event
  // per match, written with the item.
  [[nodiscard]] OutboxHook outbox_hook() const;

  // --- Events ---------------------------------------------------------------
  std::vector<MatchEvent> events(const EventQuery& query);
  // NotFound if the event does not exist; acknowledging twice is harmless.
  void ack(std::int64_t event_id);
  // Writes an event (runners report run_succeeded / run_failed this way).
  std::int64_t emit(std::string_view kind, std::string_view model, const nlohmann::json& payload);

  // --- Predictions ----------------------------------------------------------
  // Validates a STAC label item (label:properties, label:description,
  // label:type vector|raster, label:classes when categorical, a `source`
  // link), stores it in the collection "<model>-predictions" (created on
  // first use), records the prediction and emits prediction_received.
  // Returns the prediction's id.
  std::string add_prediction(std::string_view model, std::string_view aoi, const nlohmann::json& label_item);
  // Per model: {"model", "predictions", "latest", "by_aoi": {aoi: {count,
  // latest, classes}}, "classes": {name: count}} over predictions recorded in
  // [start, end] (RFC 3339; empty ends are open).
  nlohmann::json summary(std::string_view model, std::string_view start = {}, std::string_view end = {}) const;

  [[nodiscard]] Catalog& catalog() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// --- Runner ---------------------------------------------------------------------

// A run to execute: the model's command with the item's href (or the path of
// its JSON text) appended.
struct TESSERA_API RunRequest {
  std::int64_t event_id = 0;
  std::string model;
  std::string aoi;
  std::string collection;
  std::string item;
  std::vector<std::string> command;
  double timeout_seconds = 3600;
  // The child's whole environment ("NAME=value"): the runner's allow-list
  // (PATH, HOME, LANG, TMPDIR), the model's `env` and the host variables its
  // `inherit_env` names. Nothing else of the host's reaches a model.
  std::vector<std::string> environment;
  // A private folder of this run (mode 0700, removed after it), the child's
  // working directory; the item's JSON file lives here.
  std::string work_dir;
};

struct TESSERA_API RunResult {
  int exit_code = -1;      // the process's status, or -1 when it did not exit
  bool timed_out = false;  // killed after timeout_seconds
  std::string error;       // why it could not run at all (empty when it ran)
  std::string log;         // stdout and stderr, interleaved, truncated at the runner's limit
  double seconds = 0;

  [[nodiscard]] bool succeeded() const noexcept { return error.empty() && !timed_out && exit_code == 0; }
};

// Where runs execute. The local one forks processes; a batch system plugs in
// by implementing execute(). Called from several threads at once.
class TESSERA_API RunExecutor {
 public:
  virtual ~RunExecutor();
  virtual RunResult execute(const RunRequest& request) = 0;
};

// Runs the command as a child process (posix_spawn, the argument list as
// given: no shell), kills it after the timeout, captures its output.
class TESSERA_API LocalProcessExecutor final : public RunExecutor {
 public:
  explicit LocalProcessExecutor(std::size_t log_limit_bytes = 1 << 20) : log_limit_(log_limit_bytes) {}
  RunResult execute(const RunRequest& request) override;

 private:
  std::size_t log_limit_;
};

struct TESSERA_API RunnerOptions {
  std::size_t concurrency = 4;  // runs at once overall (each model's own limit holds across runners)
  double lease_seconds = 0;     // event lease; 0: the model's timeout + 60 s
  std::size_t max_runs = 0;     // stop after this many runs (0: every pending request)
  // Where each run's private folder is made (default: the temp folder).
  std::string work_dir;
};

// Claims run_requested events, executes them, records run_succeeded or
// run_failed (exit status, timeout, log) and acknowledges the request. A run
// interrupted before its acknowledgement is requested again after the lease.
// Each run gets a private folder and an environment of its own (RunRequest);
// its log is capped and the values of the host's secret variables (PG*,
// AWS_*, DATABASE_URL, *PASSWORD*, *SECRET*, *TOKEN*, ...) are scrubbed from it
// before it is stored.
class TESSERA_API Runner {
 public:
  explicit Runner(Matcher& matcher, RunnerOptions options = {}, std::shared_ptr<RunExecutor> executor = nullptr);
  // Runs pending requests until none are left (or max_runs); returns the
  // recorded events' payloads.
  nlohmann::json run_pending();

 private:
  Matcher& matcher_;
  RunnerOptions options_;
  std::shared_ptr<RunExecutor> executor_;
};

}  // namespace tessera
