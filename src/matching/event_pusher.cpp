#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "catalog/outbox_schema.hpp"
#include "core/redact.hpp"
#include "matching/match_store.hpp"
#include "matching/push.hpp"
#include "storage/aws_messaging.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"
#include "tessera/matching.hpp"

namespace tessera {

using nlohmann::json;

namespace {

double positive_seconds(const json& options, const char* field, double fallback, double most) {
  const json value = options.value(field, json(fallback));
  if (!value.is_number() || !(value.get<double>() > 0) || value.get<double>() > most) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("push options: {}: must be seconds, more than 0, at most {}", field, most));
  }
  return value.get<double>();
}

constexpr std::size_t kMaxBatch = 1000;

}  // namespace

PushOptions PushOptions::from_json(const json& options) {
  if (!options.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "push options: must be a JSON object");
  }
  for (const auto& member : options.items()) {
    static constexpr std::string_view kKnown[] = {"timeout", "batch", "poll", "allow_loopback", "sns"};
    if (std::find(std::begin(kKnown), std::end(kKnown), member.key()) == std::end(kKnown)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("push options: unknown member '{}' (known: timeout, batch, poll, allow_loopback, sns)",
                              member.key()));
    }
  }
  PushOptions parsed;
  parsed.timeout_seconds = positive_seconds(options, "timeout", parsed.timeout_seconds, 300);
  parsed.poll_seconds = positive_seconds(options, "poll", parsed.poll_seconds, 3600);
  const json batch = options.value("batch", json(parsed.batch));
  if (!batch.is_number_integer() || batch.get<std::int64_t>() < 1 ||
      batch.get<std::int64_t>() > static_cast<std::int64_t>(kMaxBatch)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("push options: batch: must be a whole number from 1 to {}", kMaxBatch));
  }
  parsed.batch = batch.get<std::size_t>();
  const json loopback = options.value("allow_loopback", json(false));
  if (!loopback.is_boolean()) {
    throw Error(ErrorCode::kInvalidInput, "push options: allow_loopback: must be true or false");
  }
  parsed.allow_loopback = loopback.get<bool>();
  const json sns = options.value("sns", json::object());
  if (!sns.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "push options: sns: must be an object of strings");
  }
  for (const auto& [name, value] : sns.items()) {
    if (!value.is_string()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("push options: sns.{}: must be a string", name));
    }
    parsed.sns[name] = value.get<std::string>();
  }
  return parsed;
}

struct EventPusher::Impl {
  Impl(Matcher& target, PushOptions settings)
      : options(std::move(settings)), store(matching::open_store(target.catalog())) {
    if (options.batch == 0 || options.batch > kMaxBatch || !(options.timeout_seconds > 0) ||
        !(options.poll_seconds > 0)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("push options: batch must be 1 to {}, timeout and poll more than 0", kMaxBatch));
    }
  }

  // The SNS client, made on first use (a pusher of webhooks alone needs no AWS settings).
  storage::aws::SnsClient& sns_client() {
    std::lock_guard lock(sns_mutex);
    if (!sns) {
      sns = std::make_unique<storage::aws::SnsClient>(storage::aws::messaging_settings("sns", options.sns));
    }
    return *sns;
  }

  // The subscription's topic, or the event's model's ("tessera-model-<model>", created once).
  std::string topic_of(const json& subscription, const MatchEvent& event) {
    const json& settings = subscription["sns"];
    if (settings.contains("topic_arn")) {
      return settings["topic_arn"].get<std::string>();
    }
    const std::string name = matching::model_topic_name(event.model);
    if (name.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("model '{}' cannot name an SNS topic (tessera-model-<model> takes [A-Za-z0-9_-]): give "
                              "the subscription an sns.topic_arn",
                              event.model));
    }
    {
      std::lock_guard lock(sns_mutex);
      if (const auto known = topics.find(name); known != topics.end()) {
        return known->second;
      }
    }
    std::string arn = sns_client().create_topic(name);
    std::lock_guard lock(sns_mutex);
    topics[name] = arn;
    return arn;
  }

  // "" once the event reached the subscriber, else why not.
  std::string deliver(const json& subscription, const MatchEvent& event) {
    const std::string body = event.to_json().dump();
    if (subscription.contains("webhook")) {
      matching::WebhookPost post;
      post.url = subscription["webhook"]["url"].get<std::string>();
      post.secret = subscription["webhook"]["secret"].get<std::string>();
      post.body = body;
      post.subscription = subscription["id"].get<std::string>();
      post.event_id = event.id;
      post.event_kind = event.kind;
      post.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.timeout_seconds * 1000));
      post.allow_loopback = options.allow_loopback;
      return matching::post_webhook(post);
    }
    sns_client().publish(topic_of(subscription, event), body, {},
                         {{"kind", event.kind}, {"model", event.model}, {"event_id", std::to_string(event.id)}});
    return {};
  }

  // Delivers what the subscription has due; adds to `counts`.
  void push(const json& subscription, json& counts) {
    const std::string id = subscription["id"].get<std::string>();
    const std::int64_t now = catalog::outbox_now_micros();
    const auto lease = static_cast<std::int64_t>(subscription["visibility_timeout"].get<double>() * 1e6);
    const int max_attempts = subscription["max_attempts"].get<int>();
    for (const MatchEvent& event : store->receive(id, options.batch, now, now + lease)) {
      std::string error;
      try {
        error = deliver(subscription, event);
      } catch (const std::exception& failure) {
        error = failure.what();
      }
      if (error.empty()) {
        store->acknowledge(id, event.id);
        counts["delivered"] = counts["delivered"].get<int>() + 1;
        continue;
      }
      error = core::redact_secrets(error);
      if (event.deliveries >= max_attempts) {
        store->dead_letter(id, event.id, event.deliveries, error, catalog::outbox_now_micros());
        counts["dead_lettered"] = counts["dead_lettered"].get<int>() + 1;
        log(LogLevel::kWarning, fmt::format("subscription '{}': event {} is a dead letter after {} attempts: {}", id,
                                            event.id, event.deliveries, error));
        continue;
      }
      // The first retry after backoff_seconds, each next one after twice as long, at most max_backoff_seconds.
      const double delay =
          std::min(subscription["backoff_seconds"].get<double>() * std::ldexp(1.0, std::min(event.deliveries - 1, 30)),
                   subscription["max_backoff_seconds"].get<double>());
      store->retry_at(id, event.id, catalog::outbox_now_micros() + static_cast<std::int64_t>(delay * 1e6));
      counts["retried"] = counts["retried"].get<int>() + 1;
    }
  }

  PushOptions options;
  std::unique_ptr<matching::MatchStore> store;
  std::mutex sns_mutex;  // over the client and the topic cache
  std::unique_ptr<storage::aws::SnsClient> sns;
  std::map<std::string, std::string> topics;  // topic name -> ARN
};

EventPusher::EventPusher(Matcher& matcher, PushOptions options)
    : impl_(std::make_unique<Impl>(matcher, std::move(options))) {}

EventPusher::~EventPusher() = default;

json EventPusher::push_pending() {
  json counts = {{"delivered", 0}, {"retried", 0}, {"dead_lettered", 0}};
  for (const json& subscription : impl_->store->subscriptions()) {
    if (matching::is_push_subscription(subscription)) {
      impl_->push(subscription, counts);
    }
  }
  return counts;
}

void EventPusher::serve(const std::atomic<bool>& stop) {
  const auto pause = std::chrono::duration<double>(impl_->options.poll_seconds);
  while (!stop) {
    bool busy = false;
    try {
      const json counts = push_pending();
      busy = counts["delivered"].get<int>() + counts["retried"].get<int>() + counts["dead_lettered"].get<int>() > 0;
    } catch (const std::exception& failure) {
      log(LogLevel::kError, fmt::format("event pusher: {}", core::redact_secrets(failure.what())));
    }
    const auto until = std::chrono::steady_clock::now() + pause;
    while (!busy && !stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace tessera
