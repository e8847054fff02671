// Push subscriptions on every catalog backend: a webhook receiver on loopback
// (cpp-httplib) that checks each signature, and an SNS topic per model with an
// SQS queue subscribed to it on the queue test server (moto). Two pull
// subscribers, a webhook and an SNS topic each receive every event of a run;
// failures are retried with backoff, then dead letters, which replay delivers.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "matching_fixtures.hpp"
#include "queue_fixtures.hpp"
#include "storage/aws_messaging.hpp"
#include "tessera/matching.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::EventPusher;
using tessera::LoadOptions;
using tessera::Matcher;
using tessera::MatchEvent;
using tessera::PushOptions;
using tessera::Runner;
using tessera::RunnerOptions;
using tessera::testing::expect_error;
using tessera::testing::make_aoi;
using tessera::testing::make_collection;
using tessera::testing::make_imagery;
using tessera::testing::make_model;
using tessera::testing::square;
using tessera::testing::TempDir;

namespace {

constexpr const char* kSecret = "a-webhook-secret-of-some-length";

// What a receiver does: HMAC-SHA256 of the raw body with the shared secret,
// compared in constant time with the hex after "sha256=".
bool signature_holds(const std::string& secret, const std::string& body, const std::string& header) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data(), &length);
  std::string expected = "sha256=";
  for (unsigned int n = 0; n < length; ++n) {
    expected += fmt::format("{:02x}", digest[n]);
  }
  return header.size() == expected.size() && CRYPTO_memcmp(header.data(), expected.data(), expected.size()) == 0;
}

// A webhook receiver on loopback: answers 500 while told to fail, else 204,
// and keeps every event whose signature held.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    server_.Post("/hook", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      ++attempts_;
      const json event = json::parse(request.body);
      if (!signature_holds(kSecret, request.body, request.get_header_value("X-Tessera-Signature")) ||
          request.get_header_value("X-Tessera-Event-Id") != std::to_string(event["id"].get<std::int64_t>()) ||
          request.get_header_value("X-Tessera-Event-Kind") != event["kind"] ||
          request.get_header_value("X-Tessera-Timestamp").empty()) {
        ++refused_;
        response.status = 401;
        return;
      }
      if (failing_) {
        response.status = 500;
        return;
      }
      events_.push_back(event);
      response.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  [[nodiscard]] std::string url(const char* scheme = "http") const {
    return fmt::format("{}://127.0.0.1:{}/hook", scheme, port_);
  }
  void fail(bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing;
  }
  std::vector<json> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  int attempts() {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  int refused() {
    std::lock_guard lock(mutex_);
    return refused_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  bool failing_ = false;
  int attempts_ = 0;
  int refused_ = 0;
  std::vector<json> events_;
};

std::vector<std::int64_t> ids_of(const std::vector<json>& events) {
  std::vector<std::int64_t> ids;
  for (const json& event : events) {
    ids.push_back(event["id"].get<std::int64_t>());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

PushOptions loopback_options() {
  PushOptions options;
  options.allow_loopback = true;
  options.timeout_seconds = 5;
  return options;
}

class MatchingPush : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  MatchingPush() : catalog_(GetParam().open(scratch_.path())), matcher_(std::make_unique<Matcher>(*catalog_)) {
    // A shared database keeps other tests' subscriptions: start from none.
    for (const json& subscription : matcher_->subscriptions()) {
      matcher_->delete_subscription(subscription["id"].get<std::string>());
    }
    catalog_->create_collection(make_collection("imagery"));
  }

  // Pull events of a subscriber until none is left, acknowledging them.
  std::vector<json> pull_all(const std::string& subscription) {
    std::vector<json> events;
    for (std::vector<MatchEvent> page = matcher_->receive(subscription); !page.empty();
         page = matcher_->receive(subscription)) {
      for (const MatchEvent& event : page) {
        matcher_->acknowledge(subscription, event.id);
        events.push_back(event.to_json());
      }
    }
    return events;
  }

  TempDir scratch_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Matcher> matcher_;
};

// The acceptance: two subscribers and a webhook and an SNS topic each
// receive every event of a run.
TEST_P(MatchingPush, PullSubscribersWebhookAndSnsTopicEachReceiveEveryEventOfARun) {
  const std::string& endpoint = tessera::testing::queue_endpoint();
  ASSERT_FALSE(endpoint.empty()) << "no SQS/SNS test server (scripts/queue_server.sh)";
  // Long enough for the runner to see it running (run_started).
  json definition = make_model("pushed", {"/bin/sh", "-c", "sleep 0.5"});
  definition["id"] = tessera::testing::unique_queue_name("push-model");
  const std::string model = matcher_->add_model(definition);
  matcher_->add_aoi(make_aoi(model, square(0, 0, 10)));

  // The model's topic, with a queue subscribed to it (raw: the event JSON is the message body).
  const auto options = tessera::testing::queue_options();
  tessera::storage::aws::SnsClient sns(tessera::storage::aws::messaging_settings("sns", options));
  tessera::storage::aws::SqsClient sqs(tessera::storage::aws::messaging_settings("sqs", options));
  const std::string queue = sqs.create_queue(tessera::testing::unique_queue_name("push-events"));
  const std::string queue_arn = sqs.queue_attributes(queue, {"QueueArn"}).at("QueueArn");
  sns.subscribe(sns.create_topic("tessera-model-" + model), "sqs", queue_arn, true);

  WebhookReceiver receiver;
  matcher_->add_subscription({{"id", "first"}, {"model", model}});
  matcher_->add_subscription({{"id", "second"}});
  const json hook = matcher_->add_subscription(
      {{"id", "hook"}, {"model", model}, {"webhook", {{"url", receiver.url()}, {"secret", kSecret}}}});
  EXPECT_FALSE(hook["webhook"].contains("secret")) << hook.dump();
  EXPECT_EQ(hook["max_attempts"], 5);
  matcher_->add_subscription({{"id", "topic"}, {"model", model}, {"sns", json::object()}});

  // A run: requested with the item, then submitted, started and succeeded.
  LoadOptions load;
  load.outbox = matcher_->outbox_hook();
  ASSERT_EQ(catalog_->load({make_imagery("scene", "imagery", 1, 1)}, load).loaded, 1U);
  RunnerOptions runner;
  runner.work_dir = (scratch_.path() / "work").string();
  ASSERT_EQ(Runner(*matcher_, runner).run_pending().size(), 1U);

  PushOptions push = loopback_options();
  push.sns = options;
  EventPusher pusher(*matcher_, push);
  const json counts = pusher.push_pending();
  EXPECT_EQ(counts["delivered"], 8) << counts.dump();
  EXPECT_EQ(pusher.push_pending()["delivered"], 0);  // acknowledged: not again

  const std::vector<json> first = pull_all("first");
  std::multiset<std::string> kinds;
  for (const json& event : first) {
    kinds.insert(event["kind"].get<std::string>());
  }
  EXPECT_EQ(kinds, (std::multiset<std::string>{"run_requested", "run_submitted", "run_started", "run_succeeded"}));
  const auto expected = ids_of(first);
  EXPECT_EQ(ids_of(pull_all("second")), expected);
  EXPECT_EQ(ids_of(receiver.events()), expected);
  EXPECT_EQ(receiver.refused(), 0);
  // The webhook's body is the event as pull subscribers get it.
  for (const json& event : receiver.events()) {
    EXPECT_EQ(event["model"], model);
    EXPECT_EQ(event["deliveries"], 1);
    EXPECT_TRUE(event["payload"].is_object());
  }

  std::vector<json> published;
  for (int poll = 0; poll < 10 && published.size() < expected.size(); ++poll) {
    for (const auto& message : sqs.receive(queue, 10, 1)) {
      const json event = json::parse(message.body);
      EXPECT_EQ(message.message_attributes.at("kind"), event["kind"]) << message.body;
      EXPECT_EQ(message.message_attributes.at("model"), model);
      published.push_back(event);
      sqs.delete_batch(queue, {{"0", message.receipt_handle}});
    }
  }
  EXPECT_EQ(ids_of(published), expected);
}

// A receiver that fails: each event is tried max_attempts times with backoff,
// then is a dead letter (kept by retention, listed with the last error);
// replay delivers it once the receiver is back.
TEST_P(MatchingPush, FailuresAreRetriedThenDeadLetteredAndReplayed) {
  const std::string model = matcher_->add_model(make_model("flaky"));
  WebhookReceiver receiver;
  receiver.fail(true);
  matcher_->add_subscription({{"id", "hook"},
                              {"model", model},
                              {"webhook", {{"url", receiver.url()}, {"secret", kSecret}}},
                              {"max_attempts", 3},
                              {"backoff_seconds", 0.5}});
  const std::int64_t first = matcher_->emit("run_started", model, {{"n", 1}});
  const std::int64_t second = matcher_->emit("run_succeeded", model, {{"n", 2}});
  EventPusher pusher(*matcher_, loopback_options());

  EXPECT_EQ(pusher.push_pending()["retried"], 2);
  // Not again before the backoff.
  EXPECT_EQ(pusher.push_pending()["retried"], 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(pusher.push_pending()["retried"], 2);
  // The second retry waits twice as long.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(pusher.push_pending()["dead_lettered"], 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(pusher.push_pending()["dead_lettered"], 2);
  EXPECT_EQ(receiver.attempts(), 6);

  const json letters = matcher_->dead_letters("hook");
  ASSERT_EQ(letters["dead_letters"].size(), 2U) << letters.dump();
  EXPECT_EQ(letters["dead_letters"][0]["event"]["id"], first);
  EXPECT_EQ(letters["dead_letters"][0]["event"]["kind"], "run_started");
  EXPECT_EQ(letters["dead_letters"][0]["attempts"], 3);
  EXPECT_EQ(letters["dead_letters"][0]["error"], "HTTP 500");
  EXPECT_TRUE(letters["next"].is_null());
  const json page = matcher_->dead_letters("hook", 1);
  ASSERT_EQ(page["dead_letters"].size(), 1U);
  EXPECT_EQ(matcher_->dead_letters("hook", 1, page["next"].get<std::string>())["dead_letters"][0]["event"]["id"],
            second);
  expect_error([&] { matcher_->dead_letters("hook", 10, "x"); }, ErrorCode::kInvalidInput, "token");
  expect_error([&] { matcher_->dead_letters("nobody"); }, ErrorCode::kNotFound, "nobody");

  // Dead letters are not retried, and retention keeps their events.
  receiver.fail(false);
  EXPECT_EQ(pusher.push_pending()["delivered"], 0);
  matcher_->ack(first);
  matcher_->ack(second);
  matcher_->prune(std::chrono::seconds(0));
  EXPECT_EQ(matcher_->dead_letters("hook")["dead_letters"].size(), 2U);

  matcher_->replay("hook", first);
  EXPECT_TRUE(matcher_->dead_letters("hook")["dead_letters"].empty());
  EXPECT_EQ(pusher.push_pending()["delivered"], 2);
  EXPECT_EQ(ids_of(receiver.events()), (std::vector<std::int64_t>{first, second}));
}

// Webhooks reach public https:// addresses only, unless the pusher allows
// loopback (tests); the secret never comes back; a push subscription is not pulled.
TEST_P(MatchingPush, WebhooksAreCheckedAndTheirSecretsKept) {
  const std::string model = matcher_->add_model(make_model("guarded"));
  const auto refused = [&](json subscription, const std::string& fragment) {
    subscription["model"] = model;
    expect_error([&] { matcher_->add_subscription(subscription); }, ErrorCode::kInvalidInput, fragment);
  };
  const json hook = {{"url", "https://hooks.example.com/x"}, {"secret", kSecret}};
  refused({{"webhook", {{"url", "http://hooks.example.com/x"}, {"secret", kSecret}}}}, "https://");
  refused({{"webhook", {{"url", "https://user:pw@hooks.example.com/x"}, {"secret", kSecret}}}}, "password");
  refused({{"webhook", {{"url", "https://hooks.example.com/x"}, {"secret", "short"}}}}, "webhook.secret");
  refused({{"webhook", {{"url", "ftp://hooks.example.com/x"}, {"secret", kSecret}}}}, "https://");
  refused({{"webhook", {{"url", "https://hooks.example.com/a b"}, {"secret", kSecret}}}}, "spaces");
  refused({{"webhook", hook}, {"sns", json::object()}}, "not both");
  refused({{"webhook", {{"url", "https://hooks.example.com/x"}, {"secret", kSecret}, {"extra", 1}}}}, "extra");
  refused({{"webhook", hook}, {"max_attempts", 0}}, "max_attempts");
  refused({{"webhook", hook}, {"backoff_seconds", 20}, {"max_backoff_seconds", 10}}, "max_backoff_seconds");
  refused({{"max_attempts", 3}}, "only for a push subscription");
  refused({{"sns", {{"topic_arn", "not-an-arn"}}}}, "sns.topic_arn");
  refused({{"id", "has space"}, {"webhook", hook}}, "printable ASCII");

  matcher_->add_subscription({{"id", "public"}, {"model", model}, {"webhook", hook}});
  for (const json& subscription : matcher_->subscriptions()) {
    EXPECT_EQ(subscription.dump().find(kSecret), std::string::npos) << subscription.dump();
  }
  EXPECT_EQ(matcher_->get_subscription("public").dump().find(kSecret), std::string::npos);
  expect_error([&] { matcher_->receive("public"); }, ErrorCode::kConflict, "pushed");
  matcher_->delete_subscription("public");

  // Without allow_loopback neither http:// nor a loopback address is reached.
  WebhookReceiver receiver;
  matcher_->add_subscription({{"id", "plain"},
                              {"model", model},
                              {"max_attempts", 1},
                              {"webhook", {{"url", receiver.url()}, {"secret", kSecret}}}});
  matcher_->add_subscription({{"id", "loopback"},
                              {"model", model},
                              {"max_attempts", 1},
                              {"webhook", {{"url", receiver.url("https")}, {"secret", kSecret}}}});
  matcher_->emit("run_started", model, json::object());
  EventPusher pusher(*matcher_, PushOptions{});
  EXPECT_EQ(pusher.push_pending()["dead_lettered"], 2);
  EXPECT_EQ(receiver.attempts(), 0);
  const json plain = matcher_->dead_letters("plain")["dead_letters"];
  ASSERT_EQ(plain.size(), 1U);
  EXPECT_NE(plain[0]["error"].get<std::string>().find("allows loopback"), std::string::npos) << plain.dump();
  const json loopback = matcher_->dead_letters("loopback")["dead_letters"];
  ASSERT_EQ(loopback.size(), 1U);
  EXPECT_NE(loopback[0]["error"].get<std::string>().find("address 127.0.0.1 is not a public one (loopback)"),
            std::string::npos)
      << loopback.dump();

  expect_error([] { PushOptions::from_json({{"batch", 0}}); }, ErrorCode::kInvalidInput, "batch");
  expect_error([] { PushOptions::from_json({{"sns", {{"region", 1}}}}); }, ErrorCode::kInvalidInput, "sns.region");
  expect_error([] { PushOptions::from_json({{"unknown", 1}}); }, ErrorCode::kInvalidInput, "unknown");
  EXPECT_TRUE(PushOptions::from_json({{"allow_loopback", true}, {"timeout", 2}}).allow_loopback);
}

INSTANTIATE_TEST_SUITE_P(Backends, MatchingPush, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& test) { return test.param.name; });

}  // namespace
