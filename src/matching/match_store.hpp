#pragma once

// Where models, AOIs, predictions and the outbox live: tables next to the
// catalog's own, in the same database (SQLite file; tessera's schema in the
// pgstac database). Documents are stored as JSON; the columns are what is
// looked up or ordered by.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/matching.hpp"

namespace tessera::matching {

// The event kinds subscribers receive, as an SQL list.
inline constexpr const char* kMatchingKindsSql =
    "('run_requested', 'run_submitted', 'run_started', 'run_succeeded', 'run_failed', 'run_timed_out', "
    "'run_cancelled', 'prediction_received', 'model_updated')";

class MatchStore {
 public:
  virtual ~MatchStore() = default;

  // Conflict when the id exists.
  virtual void insert_model(const nlohmann::json& model) = 0;
  // Replaces the model and writes `event` in the same transaction; false when absent.
  virtual bool update_model(const nlohmann::json& model, const OutboxEvent& event) = 0;
  virtual std::optional<nlohmann::json> get_model(std::string_view id) = 0;
  virtual std::vector<nlohmann::json> models() = 0;  // by id
  // Deletes the model and its AOIs; false when absent.
  virtual bool delete_model(std::string_view id) = 0;

  // Conflict when the id exists.
  virtual void insert_aoi(const nlohmann::json& aoi) = 0;
  virtual bool delete_aoi(std::string_view id) = 0;
  virtual std::optional<nlohmann::json> get_aoi(std::string_view id) = 0;
  virtual std::vector<nlohmann::json> aois() = 0;  // by id

  virtual std::int64_t append_event(const OutboxEvent& event) = 0;
  virtual std::vector<MatchEvent> events(const EventQuery& query) = 0;
  // False when no event has this id.
  virtual bool ack(std::int64_t id) = 0;

  // Records a prediction {id, model, aoi, collection, item, created_us, doc} and its event in one transaction.
  virtual void insert_prediction(const nlohmann::json& prediction, std::int64_t created_us,
                                 const OutboxEvent& event) = 0;
  // Runs: the document plus the columns looked up by (id, model, aoi, state, created_us).
  // False when the id exists.
  virtual bool insert_run(const nlohmann::json& run, std::int64_t created_us) = 0;
  // Reads the run, lets `change` edit it (returning false leaves it as it was) and, when
  // changed, writes it with the event `event_of(run)` in one transaction. The run as
  // stored at the end, or nullopt when absent.
  virtual std::optional<nlohmann::json> update_run(
      std::string_view id, const std::function<bool(nlohmann::json&)>& change,
      const std::function<OutboxEvent(const nlohmann::json&)>& event_of) = 0;
  virtual std::optional<nlohmann::json> get_run(std::string_view id) = 0;
  // Newest first (by created_us, then id): at most `limit` after the run `after`
  // (empty: from the newest); filters empty mean any.
  virtual std::vector<nlohmann::json> runs(std::string_view model, std::string_view aoi, std::string_view state,
                                           std::size_t limit, std::string_view after) = 0;
  virtual void append_run_log(std::string_view run, std::string_view text, std::int64_t created_us) = 0;
  // Entries {seq, created_us, text} with seq > after_seq, oldest first.
  virtual std::vector<nlohmann::json> run_logs(std::string_view run, std::int64_t after_seq, std::size_t limit) = 0;

  // Subscriptions: {id, model ('' for every model), visibility_timeout, created, ...} with a
  // cursor (the last event id handed out) of their own. Conflict when the id exists.
  virtual void insert_subscription(const nlohmann::json& subscription, std::int64_t cursor) = 0;
  virtual std::optional<nlohmann::json> get_subscription(std::string_view id) = 0;
  virtual std::vector<nlohmann::json> subscriptions() = 0;    // by id
  virtual bool delete_subscription(std::string_view id) = 0;  // with its deliveries and dead letters
  // Leases up to `limit` events to the subscriber until `visible_us`: first those delivered to
  // it before, unacknowledged, whose lease has passed; then events after its cursor (of its
  // model, of the matching kinds), moving the cursor. Oldest first; `deliveries` counts this
  // subscriber's.
  virtual std::vector<MatchEvent> receive(std::string_view subscription, std::size_t limit, std::int64_t now_us,
                                          std::int64_t visible_us) = 0;
  // False when the event was never delivered to the subscriber.
  virtual bool acknowledge(std::string_view subscription, std::int64_t event) = 0;
  // Delivers again every event from `from_event` on: the cursor goes back before it and the
  // deliveries and dead letters from it are forgotten.
  virtual void replay(std::string_view subscription, std::int64_t from_event) = 0;
  // The largest event id (0 when none).
  virtual std::int64_t last_event_id() = 0;

  // Push subscriptions. The subscriber's unacknowledged delivery of `event` comes back at
  // `visible_us` (its next attempt).
  virtual void retry_at(std::string_view subscription, std::int64_t event, std::int64_t visible_us) = 0;
  // Gives up on a delivery: in one transaction, the delivery becomes a dead letter of the
  // subscriber (its attempts and the last error), not delivered again until a replay.
  virtual void dead_letter(std::string_view subscription, std::int64_t event, int attempts, const std::string& error,
                           std::int64_t now_us) = 0;
  // The subscriber's dead letters of events after `after_event`, oldest first:
  // {"event": MatchEvent JSON, "attempts", "error", "failed_us"}.
  virtual std::vector<nlohmann::json> dead_letters(std::string_view subscription, std::int64_t after_event,
                                                   std::size_t limit) = 0;

  // Retention: deletes acknowledged events acknowledged before `cutoff_us` that every
  // subscriber has been handed and acknowledged and none holds as a dead letter, and runs that ended (a final state)
  // last changed before it with their logs; never anything pending. The counts {"events", "runs", "run_logs"}.
  virtual nlohmann::json prune(std::int64_t cutoff_us) = 0;

  // The documents of a model's predictions recorded in [start_us, end_us], oldest first.
  virtual std::vector<nlohmann::json> predictions(std::string_view model, std::int64_t start_us,
                                                  std::int64_t end_us) = 0;
};

// The store of the catalog's backend.
std::unique_ptr<MatchStore> open_store(Catalog& catalog);

// The MatchEvent of an outbox row.
MatchEvent make_event(std::int64_t id, std::string kind, std::string model, std::string_view payload,
                      std::int64_t created_us, int deliveries, bool acknowledged);

}  // namespace tessera::matching
