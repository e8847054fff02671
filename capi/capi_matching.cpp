#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "tessera/matching.hpp"

struct tsr_matcher_s {
  std::unique_ptr<tessera::Matcher> impl;
};

namespace {

using nlohmann::json;
using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::guarded;
using tessera::capi::parse_json_argument;

tessera::Matcher& matcher_of(tsr_matcher matcher, const char* function) {
  tessera::capi::require(matcher, function, "matcher");
  return *matcher->impl;
}

void hand_out(const json& value, char** out) { *out = tessera::capi::copy_string(value.dump()); }

json matches_json(const std::vector<tessera::Match>& matches) {
  json out = json::array();
  for (const auto& match : matches) {
    out.push_back(match.to_json());
  }
  return out;
}

// An optional JSON object argument: NULL is {}.
json optional_object(const char* text, const char* function, const char* argument) {
  if (text == nullptr) {
    return json::object();
  }
  json value = parse_json_argument(text, function, argument);
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput, std::string(function) + ": argument '" + argument + "' must be an object");
  }
  return value;
}

// settings[name] as T, or `fallback` when absent; InvalidInput naming the field otherwise.
template <typename T>
T field(const json& settings, const char* name, T fallback, const char* function) {
  const auto it = settings.find(name);
  if (it == settings.end() || it->is_null()) {
    return fallback;
  }
  const bool fits = std::is_same_v<T, bool>          ? it->is_boolean()
                    : std::is_same_v<T, std::string> ? it->is_string()
                    : std::is_unsigned_v<T>          ? it->is_number_unsigned()
                                                     : it->is_number();
  if (!fits) {
    throw Error(ErrorCode::kInvalidInput, std::string(function) + ": '" + name + "' has the wrong type");
  }
  return it->get<T>();
}

}  // namespace

extern "C" {

tsr_status tsr_matcher_open(tsr_catalog catalog, tsr_matcher* out_matcher) {
  return guarded([&] {
    auto& target = tessera::capi::catalog_of(catalog, __func__);
    TSR_REQUIRE(out_matcher);
    auto handle = std::make_unique<tsr_matcher_s>();
    handle->impl = std::make_unique<tessera::Matcher>(target);
    *out_matcher = handle.release();
  });
}

void tsr_matcher_destroy(tsr_matcher* matcher) {
  if (matcher != nullptr) {
    delete *matcher;
    *matcher = nullptr;
  }
}

tsr_status tsr_matcher_add_model(tsr_matcher matcher, const char* model_json, char** out_id) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json model = parse_json_argument(model_json, __func__, "model_json");
    TSR_REQUIRE(out_id);
    *out_id = tessera::capi::copy_string(impl.add_model(model));
  });
}

tsr_status tsr_matcher_add_aoi(tsr_matcher matcher, const char* aoi_json, char** out_id) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json aoi = parse_json_argument(aoi_json, __func__, "aoi_json");
    TSR_REQUIRE(out_id);
    *out_id = tessera::capi::copy_string(impl.add_aoi(aoi));
  });
}

tsr_status tsr_matcher_remove_aoi(tsr_matcher matcher, const char* aoi_id) {
  return guarded([&] { matcher_of(matcher, __func__).remove_aoi(TSR_REQUIRE(aoi_id)); });
}

tsr_status tsr_matcher_match(tsr_matcher matcher, const char* item_json, char** out_matches_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json item = parse_json_argument(item_json, __func__, "item_json");
    TSR_REQUIRE(out_matches_json);
    hand_out(matches_json(impl.match(item)), out_matches_json);
  });
}

tsr_status tsr_matcher_match_batch(tsr_matcher matcher, const char* items_json, char** out_matches_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json items = parse_json_argument(items_json, __func__, "items_json");
    if (!items.is_array()) {
      throw Error(ErrorCode::kInvalidInput, "tsr_matcher_match_batch: argument 'items_json' must be an array");
    }
    json out = json::array();
    for (const auto& matches : impl.match_batch(items.get<std::vector<json>>())) {
      out.push_back(matches_json(matches));
    }
    TSR_REQUIRE(out_matches_json);
    hand_out(out, out_matches_json);
  });
}

tsr_status tsr_matcher_load_json(tsr_matcher matcher, const char* json_text, const tsr_load_options* options,
                                 char** out_report_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(json_text);
    TSR_REQUIRE(out_report_json);
    tessera::LoadOptions parsed = tessera::capi::load_options_of(options);
    parsed.outbox = impl.outbox_hook();
    hand_out(impl.catalog().load_text(json_text, parsed).to_json(), out_report_json);
  });
}

tsr_status tsr_matcher_events(tsr_matcher matcher, const char* query_json, char** out_events_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json settings = optional_object(query_json, __func__, "query_json");
    TSR_REQUIRE(out_events_json);
    tessera::EventQuery query;
    query.claim = field(settings, "claim", false, __func__);
    query.limit = field(settings, "limit", query.limit, __func__);
    query.kind = field(settings, "kind", std::string(), __func__);
    query.model = field(settings, "model", std::string(), __func__);
    query.lease_seconds = field(settings, "lease", query.lease_seconds, __func__);
    json out = json::array();
    for (const auto& event : impl.events(query)) {
      out.push_back(event.to_json());
    }
    hand_out(out, out_events_json);
  });
}

tsr_status tsr_matcher_ack(tsr_matcher matcher, int64_t event_id) {
  return guarded([&] { matcher_of(matcher, __func__).ack(event_id); });
}

tsr_status tsr_matcher_add_prediction(tsr_matcher matcher, const char* model_id, const char* aoi_id,
                                      const char* label_item_json, char** out_id) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(model_id);
    TSR_REQUIRE(aoi_id);
    const json label_item = parse_json_argument(label_item_json, __func__, "label_item_json");
    TSR_REQUIRE(out_id);
    *out_id = tessera::capi::copy_string(impl.add_prediction(model_id, aoi_id, label_item));
  });
}

tsr_status tsr_matcher_summary(tsr_matcher matcher, const char* model_id, const char* start, const char* end,
                               char** out_summary_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(model_id);
    TSR_REQUIRE(out_summary_json);
    hand_out(impl.summary(model_id, start != nullptr ? start : "", end != nullptr ? end : ""), out_summary_json);
  });
}

tsr_status tsr_matcher_runs(tsr_matcher matcher, const char* query_json, char** out_runs_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json settings = optional_object(query_json, __func__, "query_json");
    TSR_REQUIRE(out_runs_json);
    tessera::RunQuery query;
    query.model = field(settings, "model", std::string(), __func__);
    query.aoi = field(settings, "aoi", std::string(), __func__);
    query.state = field(settings, "state", std::string(), __func__);
    query.limit = field(settings, "limit", query.limit, __func__);
    query.token = field(settings, "token", std::string(), __func__);
    hand_out(impl.runs(query), out_runs_json);
  });
}

tsr_status tsr_matcher_get_run(tsr_matcher matcher, const char* run_id, char** out_run_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(run_id);
    TSR_REQUIRE(out_run_json);
    hand_out(impl.get_run(run_id), out_run_json);
  });
}

tsr_status tsr_matcher_cancel_run(tsr_matcher matcher, const char* run_id, char** out_run_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(run_id);
    TSR_REQUIRE(out_run_json);
    hand_out(impl.cancel_run(run_id), out_run_json);
  });
}

tsr_status tsr_matcher_run_logs(tsr_matcher matcher, const char* run_id, const char* query_json, char** out_logs_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(run_id);
    const json settings = optional_object(query_json, __func__, "query_json");
    TSR_REQUIRE(out_logs_json);
    hand_out(impl.run_logs(run_id, field(settings, "limit", std::size_t{100}, __func__),
                           field(settings, "token", std::string(), __func__)),
             out_logs_json);
  });
}

tsr_status tsr_matcher_add_subscription(tsr_matcher matcher, const char* subscription_json,
                                        char** out_subscription_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json subscription = parse_json_argument(subscription_json, __func__, "subscription_json");
    TSR_REQUIRE(out_subscription_json);
    hand_out(impl.add_subscription(subscription), out_subscription_json);
  });
}

tsr_status tsr_matcher_delete_subscription(tsr_matcher matcher, const char* subscription_id) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(subscription_id);
    impl.delete_subscription(subscription_id);
  });
}

tsr_status tsr_matcher_receive(tsr_matcher matcher, const char* subscription_id, size_t limit, char** out_events_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(subscription_id);
    TSR_REQUIRE(out_events_json);
    json out = json::array();
    for (const auto& event : impl.receive(subscription_id, limit)) {
      out.push_back(event.to_json());
    }
    hand_out(out, out_events_json);
  });
}

tsr_status tsr_matcher_acknowledge(tsr_matcher matcher, const char* subscription_id, int64_t event_id) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(subscription_id);
    impl.acknowledge(subscription_id, event_id);
  });
}

tsr_status tsr_matcher_replay(tsr_matcher matcher, const char* subscription_id, int64_t from_event_id) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(subscription_id);
    impl.replay(subscription_id, from_event_id);
  });
}

tsr_status tsr_matcher_dead_letters(tsr_matcher matcher, const char* subscription_id, const char* query_json,
                                    char** out_dead_letters_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    TSR_REQUIRE(subscription_id);
    const json settings = optional_object(query_json, __func__, "query_json");
    TSR_REQUIRE(out_dead_letters_json);
    hand_out(impl.dead_letters(subscription_id, field(settings, "limit", std::size_t{100}, __func__),
                               field(settings, "token", std::string(), __func__)),
             out_dead_letters_json);
  });
}

tsr_status tsr_matcher_push_pending(tsr_matcher matcher, const char* options_json, char** out_counts_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json settings = optional_object(options_json, __func__, "options_json");
    TSR_REQUIRE(out_counts_json);
    tessera::EventPusher pusher(impl, tessera::PushOptions::from_json(settings));
    hand_out(pusher.push_pending(), out_counts_json);
  });
}

tsr_status tsr_matcher_prune(tsr_matcher matcher, const char* options_json, char** out_counts_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json settings = optional_object(options_json, __func__, "options_json");
    TSR_REQUIRE(out_counts_json);
    const double days = field(settings, "older_than_days", 30.0, __func__);
    hand_out(impl.prune(std::chrono::seconds(static_cast<std::int64_t>(days * 86400))), out_counts_json);
  });
}

tsr_status tsr_runner_run_pending(tsr_matcher matcher, const char* options_json, char** out_records_json) {
  return guarded([&] {
    auto& impl = matcher_of(matcher, __func__);
    const json settings = optional_object(options_json, __func__, "options_json");
    TSR_REQUIRE(out_records_json);
    tessera::RunnerOptions options;
    options.concurrency = field(settings, "concurrency", options.concurrency, __func__);
    options.lease_seconds = field(settings, "lease", options.lease_seconds, __func__);
    options.max_runs = field(settings, "max_runs", options.max_runs, __func__);
    options.work_dir = field(settings, "work_dir", std::string(), __func__);
    options.poll_seconds = field(settings, "poll", options.poll_seconds, __func__);
    std::shared_ptr<tessera::RunExecutor> executor;
    if (settings.contains("command_executor")) {
      executor = std::make_shared<tessera::CommandExecutor>(
          tessera::CommandExecutorOptions::from_json(settings["command_executor"]));
    }
    hand_out(tessera::Runner(impl, options, std::move(executor)).run_pending(), out_records_json);
  });
}

}  // extern "C"
