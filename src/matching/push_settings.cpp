#include <algorithm>

#include <fmt/format.h>

#include "matching/push.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

using nlohmann::json;

namespace {

[[noreturn]] void invalid(std::string_view field, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("subscription: {}: {}", field, problem));
}

// A number member in (0, most], or `fallback` when absent.
double seconds_of(const json& subscription, const char* field, double fallback, double most) {
  const json value = subscription.value(field, json(fallback));
  if (!value.is_number() || !(value.get<double>() > 0) || value.get<double>() > most) {
    invalid(field, fmt::format("must be seconds, more than 0, at most {}", most));
  }
  return value.get<double>();
}

// Members of an object the subscription names, none unknown.
void only_members(const json& object, std::string_view field, std::initializer_list<std::string_view> known) {
  for (const auto& member : object.items()) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      invalid(field, fmt::format("unknown member '{}'", member.key()));
    }
  }
}

constexpr std::size_t kMinSecretBytes = 16;
constexpr std::size_t kMaxSecretBytes = 4096;
constexpr std::size_t kMaxArnBytes = 1024;
constexpr int kMaxAttempts = 100;
constexpr double kMaxBackoffSeconds = 86400;

}  // namespace

void read_push_settings(const json& subscription, const std::string& model, json& stored) {
  const bool webhook = subscription.contains("webhook");
  const bool sns = subscription.contains("sns");
  if (webhook && sns) {
    invalid("webhook", "a subscription pushes to a webhook or to SNS, not both");
  }
  if (!webhook && !sns) {
    for (const char* field : {"max_attempts", "backoff_seconds", "max_backoff_seconds"}) {
      if (subscription.contains(field)) {
        invalid(field, "only for a push subscription (webhook or sns)");
      }
    }
    return;
  }
  const std::string& id = stored.at("id").get_ref<const std::string&>();
  if (std::any_of(id.begin(), id.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7F; })) {
    invalid("id", "a push subscription's id must be printable ASCII without spaces (it is sent in a header)");
  }
  if (webhook) {
    const json& settings = subscription["webhook"];
    if (!settings.is_object()) {
      invalid("webhook", "must be an object {\"url\", \"secret\"}");
    }
    only_members(settings, "webhook", {"url", "secret"});
    if (!settings.contains("url") || !settings["url"].is_string()) {
      invalid("webhook.url", "required, an https:// URL");
    }
    check_webhook_url(settings["url"].get<std::string>(), "webhook.url");
    const auto secret = settings.find("secret");
    if (secret == settings.end() || !secret->is_string() ||
        secret->get_ref<const std::string&>().size() < kMinSecretBytes ||
        secret->get_ref<const std::string&>().size() > kMaxSecretBytes) {
      invalid("webhook.secret", fmt::format("required, a string of {} to {} bytes (the HMAC-SHA256 key)",
                                            kMinSecretBytes, kMaxSecretBytes));
    }
    stored["webhook"] = {{"url", settings["url"]}, {"secret", *secret}};
  } else {
    const json& settings = subscription["sns"];
    if (!settings.is_object()) {
      invalid("sns", "must be an object {\"topic_arn\"?}");
    }
    only_members(settings, "sns", {"topic_arn"});
    json stored_sns = json::object();
    if (const auto arn = settings.find("topic_arn"); arn != settings.end()) {
      if (!arn->is_string() || !arn->get_ref<const std::string&>().starts_with("arn:") ||
          arn->get_ref<const std::string&>().size() > kMaxArnBytes ||
          arn->get_ref<const std::string&>().find_first_of(" \r\n\t") != std::string::npos) {
        invalid("sns.topic_arn", "must be a topic's ARN (arn:aws:sns:region:account:name)");
      }
      stored_sns["topic_arn"] = *arn;
    } else if (!model.empty() && model_topic_name(model).empty()) {
      invalid(
          "sns.topic_arn",
          fmt::format("required: model '{}' cannot name a topic (tessera-model-<model> takes [A-Za-z0-9_-])", model));
    }
    stored["sns"] = stored_sns;
  }
  const json attempts = subscription.value("max_attempts", json(5));
  if (!attempts.is_number_integer() || attempts.get<std::int64_t>() < 1 ||
      attempts.get<std::int64_t>() > kMaxAttempts) {
    invalid("max_attempts", fmt::format("must be a whole number from 1 to {}", kMaxAttempts));
  }
  stored["max_attempts"] = attempts;
  const double backoff = seconds_of(subscription, "backoff_seconds", 10, kMaxBackoffSeconds);
  const double most = seconds_of(subscription, "max_backoff_seconds", 3600, kMaxBackoffSeconds);
  if (most < backoff) {
    invalid("max_backoff_seconds", "must not be less than backoff_seconds");
  }
  stored["backoff_seconds"] = backoff;
  stored["max_backoff_seconds"] = most;
}

json without_secrets(json subscription) {
  if (subscription.contains("webhook") && subscription["webhook"].is_object()) {
    subscription["webhook"].erase("secret");
  }
  return subscription;
}

bool is_push_subscription(const json& subscription) {
  return subscription.contains("webhook") || subscription.contains("sns");
}

std::string model_topic_name(std::string_view model) {
  std::string name = fmt::format("tessera-model-{}", model);
  const bool valid =
      !model.empty() && name.size() <= 256 &&
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos;
  return valid ? name : std::string();
}

}  // namespace tessera::matching
