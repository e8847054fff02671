#pragma once

// Push subscriptions: their settings (a webhook or an SNS topic, retries),
// the webhook's signature and its HTTP POST. EventPusher (event_pusher.cpp)
// drives them with the subscribers' cursors and acknowledgements. Internal
// header.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tessera::matching {

// Reads the push settings of a subscription being added — "webhook": {"url",
// "secret"} or "sns": {"topic_arn"?}, with "max_attempts", "backoff_seconds",
// "max_backoff_seconds" — into `stored`, checked (InvalidInput naming the
// field). `model` is the subscription's ('' for every model). Nothing is
// added for a pull subscription.
void read_push_settings(const nlohmann::json& subscription, const std::string& model, nlohmann::json& stored);

// The subscription as the API shows it: without the webhook's secret.
nlohmann::json without_secrets(nlohmann::json subscription);

// Whether a stored subscription pushes (webhook or SNS) rather than being pulled.
bool is_push_subscription(const nlohmann::json& subscription);

// "sha256=" and the lower-case hex HMAC-SHA256 of `body` keyed by `secret`.
std::string webhook_signature(std::string_view secret, std::string_view body);

// The SNS topic name of a model's events ("tessera-model-<model>"), or "" when
// the model's id cannot be part of a topic name ([A-Za-z0-9_-], 256 at most).
std::string model_topic_name(std::string_view model);

// InvalidInput (naming `field`) unless `url` is an https:// URL, or an
// http:// one of a loopback host (127.0.0.1, localhost, [::1]: tests), with
// no user name or password, at most 2048 characters.
void check_webhook_url(const std::string& url, std::string_view field);

// One POST of a webhook delivery.
struct WebhookPost {
  std::string url;
  std::string body;
  std::string secret;
  std::string subscription;
  std::int64_t event_id = 0;
  std::string event_kind;
  std::chrono::milliseconds timeout{10000};
  // http:// to a loopback host and connections to loopback addresses (tests).
  bool allow_loopback = false;
};

// Posts it; "" when the receiver answered 2xx, else why not ("HTTP 500",
// "connection refused", "address 10.0.0.1 is not public", ...). Never throws
// for the receiver's doing.
std::string post_webhook(const WebhookPost& post);

}  // namespace tessera::matching
