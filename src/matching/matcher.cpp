#include <charconv>
#include <limits>
#include <mutex>

#include <fmt/format.h>

#include "catalog/database.hpp"
#include "catalog/outbox_schema.hpp"
#include "core/enum_names.hpp"
#include "core/redact.hpp"
#include "matching/aoi_index.hpp"
#include "matching/match_store.hpp"
#include "matching/predictions.hpp"
#include "matching/push.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"
#include "tessera/matching.hpp"

namespace tessera {

using matching::MatchStore;
using nlohmann::json;

namespace matching {

std::unique_ptr<MatchStore> open_sqlite_store(catalog::sqlite::ConnectionPool& pool);
std::unique_ptr<MatchStore> open_pgstac_store(catalog::pgstac::PgPool& pool);

std::unique_ptr<MatchStore> open_store(Catalog& catalog) {
  if (const catalog::Database* database = catalog.database()) {
    if (database->sqlite != nullptr) {
      return open_sqlite_store(*database->sqlite);
    }
    if (database->postgres != nullptr) {
      return open_pgstac_store(*database->postgres);
    }
  }
  throw Error(ErrorCode::kUnsupported, "matching: the catalog's backend keeps no matching tables");
}

MatchEvent make_event(std::int64_t id, std::string kind, std::string model, std::string_view payload,
                      std::int64_t created_us, int deliveries, bool acknowledged) {
  MatchEvent event;
  event.id = id;
  event.kind = std::move(kind);
  event.model = std::move(model);
  event.payload = json::parse(payload);
  event.created = format_rfc3339_micros(created_us);
  event.deliveries = deliveries;
  event.acknowledged = acknowledged;
  return event;
}

}  // namespace matching

namespace {

constexpr core::EnumName<RunState> kRunStateNames[] = {
    {RunState::kRequested, "requested"}, {RunState::kSubmitted, "submitted"}, {RunState::kRunning, "running"},
    {RunState::kSucceeded, "succeeded"}, {RunState::kFailed, "failed"},       {RunState::kTimedOut, "timed_out"},
    {RunState::kCancelled, "cancelled"},
};
constexpr core::NameTable<RunState> kRunState{"run state", kRunStateNames};
static_assert(kRunState.covers(RunState::kRequested, RunState::kCancelled));

// The event each state is entered with.
std::string_view transition_event(RunState state) {
  switch (state) {
    case RunState::kRequested:
      return kRunRequested;
    case RunState::kSubmitted:
      return kRunSubmitted;
    case RunState::kRunning:
      return kRunStarted;
    case RunState::kSucceeded:
      return kRunSucceeded;
    case RunState::kFailed:
      return kRunFailed;
    case RunState::kTimedOut:
      return kRunTimedOut;
    case RunState::kCancelled:
      return kRunCancelled;
  }
  return kRunFailed;
}

// Where each state's time is recorded in the run.
const char* state_time_field(RunState state) {
  switch (state) {
    case RunState::kRequested:
      return "created";
    case RunState::kSubmitted:
      return "submitted";
    case RunState::kRunning:
      return "started";
    default:
      return "finished";
  }
}

// The largest page of runs or log entries one call returns.
constexpr std::size_t kMaxPage = 1000;

}  // namespace

std::string_view run_state_name(RunState state) { return kRunState.name(state); }
RunState run_state_from_name(std::string_view name) { return kRunState.from_name(name); }
std::vector<std::string> run_state_names() { return kRunState.names(); }
bool run_state_is_final(RunState state) noexcept {
  return state == RunState::kSucceeded || state == RunState::kFailed || state == RunState::kTimedOut ||
         state == RunState::kCancelled;
}

json MatchEvent::to_json() const {
  return {{"id", id},
          {"kind", kind},
          {"model", model},
          {"payload", payload},
          {"created", created},
          {"deliveries", deliveries},
          {"acknowledged", acknowledged}};
}

struct Matcher::Impl {
  explicit Impl(Catalog& target) : catalog(target), store(matching::open_store(target)) {}

  std::vector<Match> match(const json& item) {
    const matching::ItemFacts facts = matching::read_item(item);
    std::lock_guard lock(mutex);
    return index.match(facts);
  }

  void reload() {
    std::vector<matching::Aoi> parsed;
    for (const json& stored : store->aois()) {
      parsed.push_back(matching::parse_aoi(stored));
    }
    std::lock_guard lock(mutex);
    index.clear();
    for (const auto& aoi : parsed) {
      index.add(aoi);
    }
  }

  // Validates and stores a label item as a prediction of model/AOI (of `run`
  // when given), with its event.
  std::string add_prediction(std::string_view model, std::string_view aoi, const json& label_item, const json* run) {
    require_model(model);
    const auto stored_aoi = store->get_aoi(aoi);
    if (!stored_aoi) {
      throw Error(ErrorCode::kNotFound, fmt::format("aoi '{}' not found", aoi));
    }
    if ((*stored_aoi)["model"] != model) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("aoi '{}' belongs to model '{}', not '{}'", aoi,
                                                        (*stored_aoi)["model"].get<std::string>(), model));
    }
    json item = label_item;
    matching::validate_label_item(item);
    const std::string collection = matching::predictions_collection(model);
    item["collection"] = collection;
    matching::ensure_predictions_collection(catalog, collection, model);
    LoadOptions options;
    options.mode = LoadMode::kUpsert;
    const LoadReport report = catalog.load({item}, options);
    if (!report.failed.empty()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("label item: {}", report.failed.front().error));
    }
    const std::int64_t now = catalog::outbox_now_micros();
    json prediction = matching::prediction_record(item, model, aoi, now);
    json payload = {{"prediction", prediction["id"]},
                    {"aoi", std::string(aoi)},
                    {"collection", collection},
                    {"item", item["id"]},
                    {"uri", prediction["uri"]}};
    if (run != nullptr) {
      prediction["run"] = run->at("id");
      payload["run"] = run->at("id");
    }
    store->insert_prediction(prediction, now, {std::string(kPredictionReceived), std::string(model), payload.dump()});
    return prediction["id"].get<std::string>();
  }

  // As stored: the webhook's secret included.
  json require_subscription(std::string_view id) const {
    auto found = store->get_subscription(id);
    if (!found) {
      throw Error(ErrorCode::kNotFound, fmt::format("subscription '{}' not found", id));
    }
    return *found;
  }

  json require_model(std::string_view id) const {
    auto model = store->get_model(id);
    if (!model) {
      throw Error(ErrorCode::kNotFound, fmt::format("model '{}' not found", id));
    }
    return *model;
  }

  Catalog& catalog;
  std::unique_ptr<MatchStore> store;
  std::mutex mutex;  // over the index: GEOS prepared geometries are not safe to share
  matching::AoiIndex index;
};

Matcher::Matcher(Catalog& catalog) : impl_(std::make_unique<Impl>(catalog)) { impl_->reload(); }

Matcher::~Matcher() = default;

Catalog& Matcher::catalog() const noexcept { return impl_->catalog; }

std::string Matcher::add_model(const json& model) {
  json stored = matching::normalize_model(model);
  impl_->store->insert_model(stored);
  return stored["id"].get<std::string>();
}

void Matcher::update_model(const json& model) {
  if (!model.is_object() || !model.contains("id") || !model["id"].is_string()) {
    throw Error(ErrorCode::kInvalidInput, "model: id: required to update a model");
  }
  const json existing = impl_->require_model(model["id"].get<std::string>());
  const json stored = matching::normalize_model(model, &existing);
  const OutboxEvent event{std::string(kModelUpdated), stored["id"].get<std::string>(), json{{"model", stored}}.dump()};
  if (!impl_->store->update_model(stored, event)) {
    throw Error(ErrorCode::kNotFound, fmt::format("model '{}' not found", stored["id"].get<std::string>()));
  }
}

json Matcher::get_model(std::string_view id) const { return impl_->require_model(id); }

json Matcher::models() const { return impl_->store->models(); }

void Matcher::delete_model(std::string_view id) {
  if (!impl_->store->delete_model(id)) {
    throw Error(ErrorCode::kNotFound, fmt::format("model '{}' not found", id));
  }
  impl_->reload();
}

std::string Matcher::add_aoi(const json& aoi) {
  matching::Aoi parsed = matching::parse_aoi(aoi);
  if (!impl_->store->get_model(parsed.rule.model)) {
    throw Error(ErrorCode::kNotFound,
                fmt::format("aoi '{}': model: model '{}' not found", parsed.rule.id, parsed.rule.model));
  }
  impl_->store->insert_aoi(parsed.stored);
  std::lock_guard lock(impl_->mutex);
  impl_->index.add(parsed);
  return parsed.rule.id;
}

void Matcher::remove_aoi(std::string_view id) {
  if (!impl_->store->delete_aoi(id)) {
    throw Error(ErrorCode::kNotFound, fmt::format("aoi '{}' not found", id));
  }
  std::lock_guard lock(impl_->mutex);
  impl_->index.remove(std::string(id));
}

json Matcher::get_aoi(std::string_view id) const {
  auto aoi = impl_->store->get_aoi(id);
  if (!aoi) {
    throw Error(ErrorCode::kNotFound, fmt::format("aoi '{}' not found", id));
  }
  return *aoi;
}

json Matcher::aois(std::string_view model) const {
  json found = json::array();
  for (json& aoi : impl_->store->aois()) {
    if (model.empty() || aoi["model"] == model) {
      found.push_back(std::move(aoi));
    }
  }
  return found;
}

void Matcher::reload() { impl_->reload(); }

std::vector<Match> Matcher::match(const json& item) const { return impl_->match(item); }

std::vector<std::vector<Match>> Matcher::match_batch(const std::vector<json>& items) const {
  std::vector<matching::ItemFacts> facts;
  facts.reserve(items.size());
  for (const json& item : items) {
    facts.push_back(matching::read_item(item));
  }
  std::vector<std::vector<Match>> results;
  results.reserve(items.size());
  std::lock_guard lock(impl_->mutex);
  for (const auto& item : facts) {
    results.push_back(impl_->index.match(item));
  }
  return results;
}

OutboxHook Matcher::outbox_hook() const {
  return [impl = impl_.get()](std::string_view text) {
    const json item = json::parse(text);
    std::vector<OutboxEvent> events;
    json href = nullptr;
    for (const json& link : item.value("links", json::array())) {
      if (link.is_object() && link.value("rel", "") == "self" && link.contains("href")) {
        href = link["href"];
      }
    }
    for (const Match& match : impl->match(item)) {
      const json payload = {{"model", match.model},
                            {"aoi", match.aoi},
                            {"collection", item.value("collection", "")},
                            {"item", item.value("id", "")},
                            {"href", href}};
      events.push_back({std::string(kRunRequested), match.model, payload.dump()});
    }
    return events;
  };
}

std::vector<MatchEvent> Matcher::events(const EventQuery& query) {
  if (query.limit == 0) {
    throw Error(ErrorCode::kInvalidInput, "events: limit must be at least 1");
  }
  if (query.claim && !(query.lease_seconds > 0)) {
    throw Error(ErrorCode::kInvalidInput, "events: lease_seconds must be positive");
  }
  return impl_->store->events(query);
}

void Matcher::ack(std::int64_t event_id) {
  if (!impl_->store->ack(event_id)) {
    throw Error(ErrorCode::kNotFound, fmt::format("event {} not found", event_id));
  }
}

std::int64_t Matcher::emit(std::string_view kind, std::string_view model, const json& payload) {
  if (kind.empty()) {
    throw Error(ErrorCode::kInvalidInput, "event: kind: required");
  }
  return impl_->store->append_event({std::string(kind), std::string(model), payload.dump()});
}

std::string Matcher::add_prediction(std::string_view model, std::string_view aoi, const json& label_item) {
  return impl_->add_prediction(model, aoi, label_item, nullptr);
}

json Matcher::add_run_prediction(std::string_view run, const json& label_item, bool final) {
  const json stored = get_run(run);
  if (run_state_is_final(run_state_from_name(stored["state"].get<std::string>()))) {
    throw Error(ErrorCode::kConflict, fmt::format("run '{}' has ended ({}): it takes no more predictions", run,
                                                  stored["state"].get<std::string>()));
  }
  if (!label_item.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "label item: must be a JSON object (a STAC Item)");
  }
  const std::string id = label_item.value("id", json("")).is_string() ? label_item.value("id", std::string()) : "";
  const auto assets = label_item.find("assets");
  if (assets == label_item.end() || !assets->is_object() || assets->empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("label item '{}': assets: required, at least one asset (the model's output)", id));
  }
  for (const auto& [key, asset] : assets->items()) {
    if (!asset.is_object() || !asset.contains("href") || !asset["href"].is_string() ||
        asset["href"].get_ref<const std::string&>().empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("label item '{}': assets.{}: must be an object with a non-empty href", id, key));
    }
    if (asset.contains("type") && !asset["type"].is_string()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("label item '{}': assets.{}.type: must be a string", id, key));
    }
  }
  if (!label_item.contains("geometry") || !label_item["geometry"].is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("label item '{}': geometry: required, a GeoJSON geometry", id));
  }
  const Geometry geometry = Geometry::from_geojson(label_item["geometry"], "label item geometry");
  const json source =
      impl_->catalog.get_item(stored["collection"].get<std::string>(), stored["item"].get<std::string>());
  const Geometry footprint = Geometry::from_geojson(source.at("geometry"), "the run's item geometry");
  if (!footprint.contains(geometry)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("label item '{}': geometry: must lie inside the footprint of item '{}'", id,
                            stored["item"].get<std::string>()));
  }
  const std::string prediction =
      impl_->add_prediction(stored["model"].get<std::string>(), stored["aoi"].get<std::string>(), label_item, &stored);
  json out = {{"prediction", prediction}, {"run", stored}};
  if (final) {
    if (auto succeeded = transition_run(run, RunState::kSucceeded, {{"reported", true}})) {
      out["run"] = std::move(*succeeded);
    }
  }
  return out;
}

json Matcher::summary(std::string_view model, std::string_view start, std::string_view end) const {
  impl_->require_model(model);
  const auto bound = [](std::string_view text, std::int64_t open, const char* field) {
    if (text.empty() || text == "..") {
      return open;
    }
    const auto micros = parse_rfc3339_micros(text);
    if (!micros) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("summary: {}: '{}' is not an RFC 3339 date-time", field, text));
    }
    return *micros;
  };
  const std::int64_t start_us = bound(start, std::numeric_limits<std::int64_t>::min(), "start");
  const std::int64_t end_us = bound(end, std::numeric_limits<std::int64_t>::max(), "end");
  return matching::summarize(model, impl_->store->predictions(model, start_us, end_us));
}

// --- Subscriptions -------------------------------------------------------------

json Matcher::add_subscription(const json& subscription) {
  if (!subscription.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "subscription: must be a JSON object");
  }
  json stored = {{"id", subscription.contains("id") ? subscription["id"] : json(matching::new_id())}};
  if (!stored["id"].is_string() || stored["id"].get_ref<const std::string&>().empty() ||
      stored["id"].get_ref<const std::string&>().size() > 256) {
    throw Error(ErrorCode::kInvalidInput, "subscription: id: must be a non-empty string of at most 256 characters");
  }
  const json model = subscription.value("model", json(""));
  if (!model.is_string()) {
    throw Error(ErrorCode::kInvalidInput, "subscription: model: must be a model id (absent: every model)");
  }
  if (!model.get_ref<const std::string&>().empty()) {
    impl_->require_model(model.get<std::string>());
  }
  stored["model"] = model;
  const json timeout = subscription.value("visibility_timeout", json(300));
  if (!timeout.is_number() || !(timeout.get<double>() > 0) || timeout.get<double>() > 86400 * 7) {
    throw Error(ErrorCode::kInvalidInput,
                "subscription: visibility_timeout: must be seconds, more than 0, at most a week");
  }
  stored["visibility_timeout"] = timeout;
  const json from_start = subscription.value("from_start", json(false));
  if (!from_start.is_boolean()) {
    throw Error(ErrorCode::kInvalidInput, "subscription: from_start: must be true or false");
  }
  matching::read_push_settings(subscription, model.get<std::string>(), stored);
  stored["created"] = format_rfc3339_micros(catalog::outbox_now_micros());
  impl_->store->insert_subscription(stored, from_start.get<bool>() ? 0 : impl_->store->last_event_id());
  return matching::without_secrets(std::move(stored));
}

json Matcher::get_subscription(std::string_view id) const {
  return matching::without_secrets(impl_->require_subscription(id));
}

json Matcher::subscriptions() const {
  json shown = json::array();
  for (json& subscription : impl_->store->subscriptions()) {
    shown.push_back(matching::without_secrets(std::move(subscription)));
  }
  return shown;
}

void Matcher::delete_subscription(std::string_view id) {
  if (!impl_->store->delete_subscription(id)) {
    throw Error(ErrorCode::kNotFound, fmt::format("subscription '{}' not found", id));
  }
}

std::vector<MatchEvent> Matcher::receive(std::string_view subscription, std::size_t limit) {
  if (limit == 0 || limit > kMaxPage) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("receive: limit must be 1 to {}", kMaxPage));
  }
  const json stored = impl_->require_subscription(subscription);
  if (matching::is_push_subscription(stored)) {
    throw Error(ErrorCode::kConflict, fmt::format("subscription '{}' is pushed ({}): its pusher receives its events",
                                                  subscription, stored.contains("webhook") ? "webhook" : "sns"));
  }
  const std::int64_t now = catalog::outbox_now_micros();
  const auto lease = static_cast<std::int64_t>(stored["visibility_timeout"].get<double>() * 1e6);
  return impl_->store->receive(subscription, limit, now, now + lease);
}

void Matcher::acknowledge(std::string_view subscription, std::int64_t event_id) {
  if (!impl_->store->acknowledge(subscription, event_id)) {
    throw Error(ErrorCode::kNotFound,
                fmt::format("event {} was never delivered to subscription '{}'", event_id, subscription));
  }
}

void Matcher::replay(std::string_view subscription, std::int64_t from_event_id) {
  get_subscription(subscription);
  if (from_event_id < 1) {
    throw Error(ErrorCode::kInvalidInput, "replay: the first event id must be at least 1");
  }
  impl_->store->replay(subscription, from_event_id);
}

json Matcher::dead_letters(std::string_view subscription, std::size_t limit, std::string_view token) const {
  if (limit == 0 || limit > kMaxPage) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("dead letters: limit must be 1 to {}", kMaxPage));
  }
  impl_->require_subscription(subscription);
  std::int64_t after = 0;
  if (!token.empty()) {
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), after);
    if (error != std::errc() || end != token.data() + token.size() || after < 0) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("dead letters: token '{}' is not one this service gave", token));
    }
  }
  std::vector<json> letters = impl_->store->dead_letters(subscription, after, limit + 1);
  json next = nullptr;
  if (letters.size() > limit) {
    letters.resize(limit);
    next = std::to_string(letters.back()["event"]["id"].get<std::int64_t>());
  }
  json shown = json::array();
  for (json& letter : letters) {
    letter["failed"] = format_rfc3339_micros(letter["failed_us"].get<std::int64_t>());
    letter.erase("failed_us");
    shown.push_back(std::move(letter));
  }
  return {{"dead_letters", shown}, {"next", next}};
}

json Matcher::prune(std::chrono::seconds age) {
  if (age.count() < 0) {
    throw Error(ErrorCode::kInvalidInput, "prune: the age must not be negative");
  }
  const std::int64_t cutoff =
      catalog::outbox_now_micros() - std::chrono::duration_cast<std::chrono::microseconds>(age).count();
  return impl_->store->prune(cutoff);
}

// --- Runs ------------------------------------------------------------------------

json Matcher::open_run(const MatchEvent& request) {
  if (request.kind != kRunRequested) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("event {} is a {} event, not {}", request.id, request.kind, kRunRequested));
  }
  const std::int64_t now = catalog::outbox_now_micros();
  const json run = {{"id", fmt::format("run-{:012d}", request.id)},
                    {"model", request.model},
                    {"aoi", request.payload.value("aoi", "")},
                    {"collection", request.payload.value("collection", "")},
                    {"item", request.payload.value("item", "")},
                    {"href", request.payload.value("href", json(nullptr))},
                    {"request", request.id},
                    {"state", run_state_name(RunState::kRequested)},
                    {"job", nullptr},
                    {"created", format_rfc3339_micros(now)},
                    {"updated", format_rfc3339_micros(now)}};
  // The request event itself is the run's `requested` transition.
  if (impl_->store->insert_run(run, now)) {
    return run;
  }
  return get_run(run["id"].get<std::string>());
}

std::optional<json> Matcher::transition_run(std::string_view run, RunState to, const json& changes) {
  if (!changes.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "run transition: changes must be an object");
  }
  bool moved = false;
  const auto stored = impl_->store->update_run(
      run,
      [&](json& document) {
        const RunState from = run_state_from_name(document.at("state").get<std::string>());
        // Forward only: never out of a final state, never back.
        if (run_state_is_final(from) || static_cast<int>(to) <= static_cast<int>(from)) {
          return false;
        }
        const std::string now = format_rfc3339_micros(catalog::outbox_now_micros());
        for (const auto& [key, value] : changes.items()) {
          if (key != "id" && key != "model" && key != "state") {
            document[key] = value;
          }
        }
        document["state"] = run_state_name(to);
        document["updated"] = now;
        document[state_time_field(to)] = now;
        moved = true;
        return true;
      },
      [&](const json& document) {
        return OutboxEvent{std::string(transition_event(to)), document.at("model").get<std::string>(), document.dump()};
      });
  if (!stored) {
    throw Error(ErrorCode::kNotFound, fmt::format("run '{}' not found", run));
  }
  return moved ? stored : std::nullopt;
}

json Matcher::get_run(std::string_view run) const {
  auto stored = impl_->store->get_run(run);
  if (!stored) {
    throw Error(ErrorCode::kNotFound, fmt::format("run '{}' not found", run));
  }
  return *stored;
}

json Matcher::runs(const RunQuery& query) const {
  if (query.limit == 0 || query.limit > kMaxPage) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("runs: limit must be 1 to {}", kMaxPage));
  }
  if (!query.state.empty()) {
    static_cast<void>(run_state_from_name(query.state));
  }
  if (!query.token.empty() && !impl_->store->get_run(query.token)) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("runs: token '{}' names no run", query.token));
  }
  // One more than asked: whether there is a next page.
  std::vector<json> found = impl_->store->runs(query.model, query.aoi, query.state, query.limit + 1, query.token);
  json next = nullptr;
  if (found.size() > query.limit) {
    found.resize(query.limit);
    next = found.back()["id"];
  }
  return {{"runs", found}, {"next", next}};
}

json Matcher::cancel_run(std::string_view run) {
  if (auto cancelled = transition_run(run, RunState::kCancelled)) {
    return *cancelled;
  }
  throw Error(ErrorCode::kConflict,
              fmt::format("run '{}' has already ended ({})", run, get_run(run)["state"].get<std::string>()));
}

void Matcher::append_run_log(std::string_view run, std::string_view text) {
  if (text.empty()) {
    return;
  }
  impl_->store->append_run_log(run, core::redact_secrets(std::string(text)), catalog::outbox_now_micros());
}

json Matcher::run_logs(std::string_view run, std::size_t limit, std::string_view token) const {
  if (limit == 0 || limit > kMaxPage) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("run logs: limit must be 1 to {}", kMaxPage));
  }
  get_run(run);  // NotFound for an unknown run
  std::int64_t after = 0;
  if (!token.empty()) {
    const std::string text(token);
    char* end = nullptr;
    after = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || after < 0) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("run logs: nextToken '{}' is not one this service gave", token));
    }
  }
  std::vector<json> entries = impl_->store->run_logs(run, after, limit + 1);
  json next = nullptr;
  if (entries.size() > limit) {
    entries.resize(limit);
    next = std::to_string(entries.back()["seq"].get<std::int64_t>());
  }
  json out = json::array();
  for (json& entry : entries) {
    out.push_back({{"seq", entry["seq"]},
                   {"time", format_rfc3339_micros(entry["created_us"].get<std::int64_t>())},
                   {"text", std::move(entry["text"])}});
  }
  return {{"entries", out}, {"nextToken", next}};
}

}  // namespace tessera
