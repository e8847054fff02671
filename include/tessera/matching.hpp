#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
inline constexpr std::string_view kRunSubmitted = "run_submitted";
inline constexpr std::string_view kRunStarted = "run_started";
inline constexpr std::string_view kRunSucceeded = "run_succeeded";
inline constexpr std::string_view kRunFailed = "run_failed";
inline constexpr std::string_view kRunTimedOut = "run_timed_out";
inline constexpr std::string_view kRunCancelled = "run_cancelled";
inline constexpr std::string_view kPredictionReceived = "prediction_received";
inline constexpr std::string_view kModelUpdated = "model_updated";

// A run's lifecycle: requested -> submitted -> running -> succeeded |
// failed | timed_out | cancelled (a run may end from any earlier state: an
// executor that reports the end before the start, a submission that fails,
// a cancellation). Every transition writes an event: run_requested,
// run_submitted, run_started, run_succeeded, run_failed, run_timed_out,
// run_cancelled, whose payload is the run.
enum class RunState { kRequested, kSubmitted, kRunning, kSucceeded, kFailed, kTimedOut, kCancelled };
TESSERA_API std::string_view run_state_name(RunState state);
// InvalidInput naming the accepted names.
TESSERA_API RunState run_state_from_name(std::string_view name);
TESSERA_API std::vector<std::string> run_state_names();
[[nodiscard]] TESSERA_API bool run_state_is_final(RunState state) noexcept;

// Which runs Matcher::runs lists, newest first.
struct TESSERA_API RunQuery {
  std::string model;  // empty: every model
  std::string aoi;    // empty: every AOI
  std::string state;  // a RunState name; empty: every state
  std::size_t limit = 100;
  std::string token;  // the previous page's "next"
};

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
  // Deletes a model and its AOIs (its runs, predictions and events stay);
  // NotFound if absent.
  void delete_model(std::string_view id);

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
  // Writes an event.
  std::int64_t emit(std::string_view kind, std::string_view model, const nlohmann::json& payload);

  // --- Runs -----------------------------------------------------------------
  // A run: {"id", "model", "aoi", "collection", "item", "href", "request"
  // (the run_requested event), "state", "job" (the executor's id, once
  // submitted), "created", "updated", "submitted"?, "started"?, "finished"?,
  // "exit_code"?, "timed_out"?, "error"?, "seconds"?}.
  // The run of a run_requested event, made in state `requested` the first
  // time (its id follows from the event's, so a redelivered request finds
  // the same run).
  nlohmann::json open_run(const MatchEvent& request);
  // Moves a run to `to`, merging `changes` into it, and writes the
  // transition's event with the run as payload, in one transaction. Returns
  // the run, or nullopt when the run is already final (or `to` does not
  // follow its state). NotFound for an unknown run.
  std::optional<nlohmann::json> transition_run(std::string_view run, RunState to,
                                               const nlohmann::json& changes = nlohmann::json::object());
  nlohmann::json get_run(std::string_view run) const;  // NotFound if absent
  // {"runs": [...newest first], "next": token or null}.
  nlohmann::json runs(const RunQuery& query) const;
  // Cancels a run that has not ended (the runner stops its job at its next
  // poll); Conflict naming the state when it has.
  nlohmann::json cancel_run(std::string_view run);
  // Appends output to a run's log (redacted of the host's secrets first).
  void append_run_log(std::string_view run, std::string_view text);
  // {"entries": [{"seq", "time", "text"}...], "nextToken": token or null};
  // `token` is a previous page's nextToken.
  nlohmann::json run_logs(std::string_view run, std::size_t limit = 100, std::string_view token = {}) const;

  // --- Subscriptions ----------------------------------------------------------
  // A subscriber with a cursor and acknowledgements of its own, so every
  // subscriber receives every event: {"id"?, "model"? (absent or empty: every
  // model), "visibility_timeout"? (seconds an event received stays leased,
  // default 300), "from_start"? (true: from the first event kept; default:
  // from the next event)}. Returns it as stored. Conflict if the id exists,
  // NotFound for an unknown model.
  // A push subscription also has one of
  //   "webhook": {"url": "https://...", "secret": at least 16 bytes} (each
  //     event POSTed, signed: X-Tessera-Signature: sha256=<HMAC-SHA256 hex>;
  //     http:// only to 127.0.0.1, localhost or [::1], for tests), or
  //   "sns": {"topic_arn"?} (each event published to the topic; without an
  //     ARN, to "tessera-model-<model>" of the event's model, created on use),
  // and "max_attempts"? (1-100, default 5), "backoff_seconds"? (the first
  // retry's delay, default 10, doubled each attempt), "max_backoff_seconds"?
  // (default 3600). An EventPusher delivers its events; after max_attempts
  // failures an event becomes one of its dead letters. The webhook's secret
  // is never returned.
  nlohmann::json add_subscription(const nlohmann::json& subscription);
  nlohmann::json get_subscription(std::string_view id) const;  // NotFound if absent
  nlohmann::json subscriptions() const;                        // by id
  void delete_subscription(std::string_view id);               // NotFound if absent
  // Up to `limit` events for the subscriber, oldest first, leased for its
  // visibility timeout: events it received and did not acknowledge in time
  // first, then the ones after its cursor. At least once, per subscriber.
  // Conflict for a push subscription (its pusher receives them).
  std::vector<MatchEvent> receive(std::string_view subscription, std::size_t limit = 100);
  // NotFound when the event was never delivered to the subscriber; twice is harmless.
  void acknowledge(std::string_view subscription, std::int64_t event_id);
  // Delivers every event from `from_event_id` on again (dead letters from it
  // included).
  void replay(std::string_view subscription, std::int64_t from_event_id);
  // The events a push subscription gave up on, oldest first:
  // {"dead_letters": [{"event": event JSON, "attempts", "error", "failed"}],
  //  "next": token or null}; `token` is a previous page's next.
  nlohmann::json dead_letters(std::string_view subscription, std::size_t limit = 100,
                              std::string_view token = {}) const;

  // --- Retention ------------------------------------------------------------
  // Deletes what is older than `age` and done with: acknowledged events
  // (acknowledged before then), runs that ended (last changed before then)
  // and their logs. Nothing pending (unacknowledged events, runs still
  // going) is ever deleted. Returns {"events", "runs", "run_logs"}: the
  // counts deleted. InvalidInput for a negative age.
  nlohmann::json prune(std::chrono::seconds age);
  // The default age: 30 days.
  static constexpr std::chrono::seconds kDefaultRetention = std::chrono::hours(24 * 30);

  // --- Predictions ----------------------------------------------------------
  // Validates a STAC label item (label:properties, label:description,
  // label:type vector|raster, label:classes when categorical, a `source`
  // link), stores it in the collection "<model>-predictions" (created on
  // first use), records the prediction and emits prediction_received.
  // Returns the prediction's id.
  std::string add_prediction(std::string_view model, std::string_view aoi, const nlohmann::json& label_item);
  // A prediction a run reports (the callback path): add_prediction's checks,
  // plus a geometry inside the footprint of the run's item and at least one
  // asset with an href; recorded with the run's id. With `final`, the run
  // then succeeds. Conflict when the run has ended. Returns {"prediction":
  // id, "run": the run}.
  nlohmann::json add_run_prediction(std::string_view run, const nlohmann::json& label_item, bool final);
  // Per model: {"model", "predictions", "latest", "by_aoi": {aoi: {count,
  // latest, classes}}, "classes": {name: count}} over predictions recorded in
  // [start, end] (RFC 3339; empty ends are open).
  nlohmann::json summary(std::string_view model, std::string_view start = {}, std::string_view end = {}) const;

  [[nodiscard]] Catalog& catalog() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// --- Push -----------------------------------------------------------------------

struct TESSERA_API PushOptions {
  double timeout_seconds = 10;  // each webhook POST (SNS calls: their client's own)
  std::size_t batch = 10;       // events per subscription per pass
  double poll_seconds = 1;      // serve(): the pause after a pass that delivered nothing
  // http:// webhooks to 127.0.0.1, localhost or [::1] and connections to
  // loopback addresses (tests). Otherwise webhooks are https:// and reach
  // public addresses only.
  bool allow_loopback = false;
  // Where and as whom SNS is called: "endpoint", "region", "access_key_id",
  // "secret_access_key", "session_token"; what is missing comes from the
  // AWS_* variables (AWS_ENDPOINT_URL_SNS, AWS_REGION, AWS_ACCESS_KEY_ID, ...).
  std::map<std::string, std::string> sns;

  // {"timeout"?, "batch"?, "poll"?, "allow_loopback"?, "sns"?: {...}};
  // InvalidInput naming the field.
  static PushOptions from_json(const nlohmann::json& options);
};

// Delivers the events of push subscriptions (webhooks, SNS topics) with the
// subscribers' cursors and leases: each event received for a subscription is
// POSTed (or published) and acknowledged once the receiver took it (2xx);
// a failed attempt comes back after the subscription's backoff, doubled each
// time; after max_attempts failures the event becomes a dead letter. A
// pusher that dies leaves its events leased: they come back after the
// visibility timeout, so nothing is lost across restarts (at least once:
// receivers dedupe by event id). Several pushers may share a catalog.
class TESSERA_API EventPusher {
 public:
  // The matcher must outlive the pusher.
  explicit EventPusher(Matcher& matcher, PushOptions options = {});
  ~EventPusher();
  EventPusher(const EventPusher&) = delete;
  EventPusher& operator=(const EventPusher&) = delete;

  // One pass over every push subscription; {"delivered", "retried",
  // "dead_lettered"}: the counts of this pass.
  nlohmann::json push_pending();
  // Passes until `stop` is set; a pass that fails (the database gone) is
  // logged and tried again after poll_seconds.
  void serve(const std::atomic<bool>& stop);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// --- Runner ---------------------------------------------------------------------

// A run to execute: the model's command with the item's href (or the path of
// its JSON text) appended.
struct TESSERA_API RunRequest {
  std::string run_id;
  std::int64_t event_id = 0;  // the run_requested event
  std::string model;
  std::string aoi;
  std::string collection;
  std::string item;
  std::vector<std::string> command;
  double timeout_seconds = 3600;
  // The child's whole environment ("NAME=value"): the runner's allow-list
  // (PATH, HOME, LANG, TMPDIR), the model's `env`, the host variables its
  // `inherit_env` names and, with a callback configured, TESSERA_RUN_ID,
  // TESSERA_CALLBACK_URL and TESSERA_CALLBACK_TOKEN. Nothing else of the
  // host's reaches a model.
  std::vector<std::string> environment;
  // A private folder of this run (mode 0700, removed after it), the child's
  // working directory; the item's JSON file lives here.
  std::string work_dir;
  // The model's `executor` object: what a batch executor needs (job queue,
  // definition, image, resources); the local executor ignores it.
  nlohmann::json executor = nlohmann::json::object();
};

// What an executor says of a job it was given.
struct TESSERA_API RunStatus {
  RunState state = RunState::kRunning;  // kSubmitted, kRunning, or a final state
  int exit_code = -1;                   // the process's status, or -1 when it did not exit
  std::string error;                    // why it could not run (empty when it ran)
  std::string log;                      // output since the previous status call
  double seconds = 0;                   // run time so far

  [[nodiscard]] nlohmann::json to_json() const;
};

// Where runs execute. submit() starts a job and returns at once with the
// job's id (which the run stores, so another runner can poll it after a
// restart); status() reports on it; cancel() stops it. Called from one
// runner thread; the runner polls status() until a final state.
class TESSERA_API RunExecutor {
 public:
  virtual ~RunExecutor();
  virtual std::string submit(const RunRequest& request) = 0;
  // Failed with an error for a job this executor does not know.
  virtual RunStatus status(const std::string& job) = 0;
  virtual void cancel(const std::string& job) = 0;
};

// Runs the command as a child process (posix_spawn, the argument list as
// given: no shell) of this process, kills its process group after the
// timeout or on cancel, and captures its output (stdout and stderr
// together, up to log_limit_bytes per job).
class TESSERA_API LocalProcessExecutor final : public RunExecutor {
 public:
  explicit LocalProcessExecutor(std::size_t log_limit_bytes = 1 << 20);
  ~LocalProcessExecutor() override;  // kills the jobs still running
  std::string submit(const RunRequest& request) override;
  RunStatus status(const std::string& job) override;
  void cancel(const std::string& job) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A batch system driven by host-supplied commands (AWS Batch, Slurm,
// Kubernetes jobs, ...). Each command is an argument list (no shell) whose
// elements may hold placeholders: {run}, {model}, {aoi}, {collection},
// {item}, {timeout} (seconds), {work_dir}, {item_argument} (the item's href
// or file path), {command_json} (the model's command with the item argument,
// as a JSON array), {environment_json} (the run's environment as a JSON
// object: the callback variables included), {executor.NAME} (a string or
// number of the model's "executor" settings; missing is InvalidInput). An
// element that is exactly {command} becomes the model's command and item
// argument, one element each. status and cancel take {job}.
//  - submit: prints the job id (its first line of output); exit 0.
//  - status (with {job}): prints the state ("submitted", "running",
//    "succeeded", "failed", "timed_out", "cancelled"), or a JSON object
//    {"state", "exit_code"?, "log"?, "error"?}; exit 0.
//  - cancel (with {job}): exit 0.
// The commands run with the runner's own environment (they are the host's,
// and may need its credentials to reach the batch system), in the run's
// folder, each within `command_timeout_seconds`.
struct TESSERA_API CommandExecutorOptions {
  std::vector<std::string> submit;
  std::vector<std::string> status;
  std::vector<std::string> cancel;
  double command_timeout_seconds = 60;

  // {"submit": [...], "status": [...], "cancel": [...], "command_timeout"?};
  // InvalidInput naming the field.
  static CommandExecutorOptions from_json(const nlohmann::json& settings);
};

class TESSERA_API CommandExecutor final : public RunExecutor {
 public:
  // InvalidInput for an empty command.
  explicit CommandExecutor(CommandExecutorOptions options);
  ~CommandExecutor() override;
  std::string submit(const RunRequest& request) override;
  RunStatus status(const std::string& job) override;
  void cancel(const std::string& job) override;

 private:
  // The output of one command (InvalidInput/Io naming it when it fails).
  std::string run(const std::vector<std::string>& command, const std::string& where, const std::string& work_dir);

  CommandExecutorOptions options_;
  LocalProcessExecutor processes_;
};

struct TESSERA_API RunnerOptions {
  std::size_t concurrency = 4;  // runs at once overall (each model's own limit holds across runners)
  double lease_seconds = 0;     // event lease; 0: the model's timeout + 60 s
  std::size_t max_runs = 0;     // stop after this many runs (0: every pending request)
  // Where each run's private folder is made (default: the temp folder).
  std::string work_dir;
  double poll_seconds = 0.05;  // how often running jobs are asked for their status
  // The callback a model reports through: for each run (its document plus
  // "timeout", the model's), the URL of its predictions
  // (TESSERA_CALLBACK_URL) and a token for it (TESSERA_CALLBACK_TOKEN).
  // Unset: models get neither. RunTokens::runner_callback makes one.
  std::function<std::pair<std::string, std::string>(const nlohmann::json& run)> callback;
};

// Claims run_requested events, submits each run to the executor, polls the
// jobs, records each transition (submitted, running, and how it ended: exit
// status, timeout, error; the output in the run's log) and acknowledges the
// request once the run has ended. A run cancelled meanwhile has its job
// cancelled. A runner that dies leaves its requests unacknowledged: they are
// delivered again after the lease, and the next runner picks up the run
// where it was (asking the executor about its job).
// Each run gets a private folder and an environment of its own (RunRequest);
// its log is capped and the values of the host's secret variables (PG*,
// AWS_*, DATABASE_URL, *PASSWORD*, *SECRET*, *TOKEN*, ...) are scrubbed from it
// before it is stored.
class TESSERA_API Runner {
 public:
  explicit Runner(Matcher& matcher, RunnerOptions options = {}, std::shared_ptr<RunExecutor> executor = nullptr);
  // Runs pending requests until none are left and every run has ended (or
  // max_runs); returns the runs as they ended.
  nlohmann::json run_pending();
  // Runs requests as they come until `stop` is set (checked every poll).
  void serve(const std::atomic<bool>& stop);

 private:
  Matcher& matcher_;
  RunnerOptions options_;
  std::shared_ptr<RunExecutor> executor_;
};

}  // namespace tessera
