// The SQS/SNS clients and the queue loader, against the SQS/SNS-compatible
// test server (moto) and, for S3 events, the S3 test server (versitygw):
// partial-batch failures, dead letters, SNS fan-out, receive counts,
// transient failures, ordering by sequencer and `updated`, removals.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "catalog_fixtures.hpp"
#include "queue_fixtures.hpp"
#include "raster_fixtures.hpp"
#include "storage/aws_messaging.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"
#include "tessera/raster_item.hpp"
#include "tessera/service.hpp"
#include "tessera/tessera.h"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::LoaderOptions;
using tessera::LoaderReport;
using tessera::storage::aws::QueueMessage;
using tessera::storage::aws::SnsClient;
using tessera::storage::aws::SqsClient;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::queue_endpoint;
using tessera::testing::queue_options;
using tessera::testing::TempDir;
using tessera::testing::unique_queue_name;
namespace aws = tessera::storage::aws;

namespace {

json item_json(const std::string& id, const std::string& collection = "a", const std::string& updated = {}) {
  json item = make_item(id, collection, "2022-01-01T00:00:00Z", 0, 0, 1.0);
  if (!updated.empty()) {
    item["properties"]["updated"] = updated;
  }
  return item;
}

template <typename Call>
void expect_error(Call&& call, ErrorCode code, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), code) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

}  // namespace

// --- Reply parsers (no server) ----------------------------------------------------

TEST(AwsReplies, ReceiveRepliesAreReadAndChecked) {
  const auto messages = aws::parse_receive_reply(
      R"({"Messages": [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}",
          "Attributes": {"ApproximateReceiveCount": "3"},
          "MessageAttributes": {"why": {"DataType": "String", "StringValue": "because"}}}]})");
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].receive_count, 3U);
  EXPECT_EQ(messages[0].message_attributes.at("why"), "because");
  EXPECT_TRUE(aws::parse_receive_reply("{}").empty());
  expect_error([] { (void)aws::parse_receive_reply("<xml/>"); }, ErrorCode::kInvalidInput, "not valid JSON");
  expect_error([] { (void)aws::parse_receive_reply(R"({"Messages": {}})"); }, ErrorCode::kInvalidInput, "at most 10");
  expect_error([] { (void)aws::parse_receive_reply(R"({"Messages": [{"MessageId": 1}]})"); }, ErrorCode::kInvalidInput,
               "no string 'MessageId'");
  expect_error(
      [] {
        (void)aws::parse_receive_reply(
            R"({"Messages": [{"MessageId": "m", "ReceiptHandle": "r", "Body": "", "Attributes": {"ApproximateReceiveCount": "-1"}}]})");
      },
      ErrorCode::kInvalidInput, "not a count");
  const std::string huge_body(aws::kMaxMessageBodyBytes + 1, 'x');
  expect_error(
      [&] {
        (void)aws::parse_receive_reply(
            json{{"Messages", {{{"MessageId", "m"}, {"ReceiptHandle", "r"}, {"Body", huge_body}}}}}.dump());
      },
      ErrorCode::kInvalidInput, "more than");
}

TEST(AwsReplies, BatchXmlAndErrorRepliesAreReadAndChecked) {
  const auto failures = aws::parse_batch_reply(
      R"({"Successful": [{"Id": "0"}], "Failed": [{"Id": "1", "Code": "ReceiptHandleIsInvalid", "SenderFault": true}]})");
  ASSERT_EQ(failures.size(), 1U);
  EXPECT_EQ(failures[0].id, "1");
  EXPECT_TRUE(failures[0].sender_fault);
  EXPECT_EQ(aws::parse_xml_member("<R><Result><TopicArn>arn:x</TopicArn></Result></R>", "TopicArn"), "arn:x");
  expect_error([] { (void)aws::parse_xml_member("<R><Other/></R>", "TopicArn"); }, ErrorCode::kInvalidInput,
               "no <TopicArn>");
  expect_error([] { (void)aws::parse_xml_member("<R><unclosed>", "TopicArn"); }, ErrorCode::kInvalidInput,
               "not well-formed");
  // An entity bomb is not expanded.
  const std::string bomb =
      R"(<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r><TopicArn>&b;</TopicArn></r>)";
  EXPECT_LE(aws::parse_xml_member(bomb, "TopicArn").size(), 100U);
  EXPECT_EQ(aws::parse_error_reply(R"({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"})"),
            "QueueDoesNotExist: gone");
  EXPECT_EQ(aws::parse_error_reply("<ErrorResponse><Error><Code>NotFound</Code><Message>no topic</Message></Error>"
                                   "</ErrorResponse>"),
            "NotFound: no topic");
  EXPECT_EQ(aws::parse_error_reply("plain text"), "");
}

TEST(AwsSettings, OptionsThenTheAwsVariables) {
  const auto settings = aws::messaging_settings("sqs", {{"access_key_id", "k"}, {"secret_access_key", "s"}},
                                                "https://sqs.eu-west-3.amazonaws.com/123/q");
  EXPECT_EQ(settings.region, std::getenv("AWS_REGION") != nullptr ? std::getenv("AWS_REGION") : "eu-west-3");
  expect_error(
      [] {
        (void)aws::messaging_settings("sqs", {{"acess_key_id", "typo"}});
      },
      ErrorCode::kInvalidInput, "unknown sqs option 'acess_key_id'");
  expect_error(
      [] {
        (void)aws::messaging_settings("sqs",
                                      {{"endpoint", "ftp://x"}, {"access_key_id", "k"}, {"secret_access_key", "s"}});
      },
      ErrorCode::kInvalidInput, "not an http:// or https:// URL");
  ::setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9/", 1);
  const auto sns = aws::messaging_settings("sns", {{"access_key_id", "k"}, {"secret_access_key", "s"}});
  ::unsetenv("AWS_ENDPOINT_URL_SNS");
  EXPECT_EQ(sns.endpoint, "http://127.0.0.1:9");
}

// --- Against the queue server ---------------------------------------------------

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (queue_endpoint().empty()) {
      GTEST_SKIP() << "no SQS/SNS test server (scripts/test.sh starts one; scripts/setup.sh installs moto)";
    }
    sqs_ = std::make_unique<SqsClient>(aws::messaging_settings("sqs", queue_options()));
  }
  // Every message left on `queue`, deleted as read.
  std::vector<QueueMessage> drain(const std::string& queue) {
    std::vector<QueueMessage> all;
    while (true) {
      auto messages = sqs_->receive(queue, 10, 1);
      if (messages.empty()) {
        return all;
      }
      std::vector<aws::BatchEntry> entries;
      for (std::size_t n = 0; n < messages.size(); ++n) {
        entries.push_back({std::to_string(n), messages[n].receipt_handle});
      }
      EXPECT_TRUE(sqs_->delete_batch(queue, entries).empty());
      all.insert(all.end(), messages.begin(), messages.end());
    }
  }
  std::unique_ptr<SqsClient> sqs_;
};

TEST_F(QueueTest, SqsRoundTripWithReceiveCountsVisibilityAndBatchDeletes) {
  const std::string queue = sqs_->create_queue(unique_queue_name("round-trip"), {{"VisibilityTimeout", "30"}});
  EXPECT_FALSE(sqs_->send(queue, "hello", {{"origin", "test"}}).empty());
  auto first = sqs_->receive(queue, 10, 2);
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].body, "hello");
  EXPECT_EQ(first[0].receive_count, 1U);
  EXPECT_EQ(first[0].message_attributes.at("origin"), "test");
  EXPECT_TRUE(sqs_->receive(queue, 10, 1).empty());  // invisible for 30 s
  sqs_->change_visibility(queue, first[0].receipt_handle, 0);
  auto second = sqs_->receive(queue, 10, 2);
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(second[0].receive_count, 2U);
  EXPECT_TRUE(sqs_->change_visibility_batch(queue, {{"0", second[0].receipt_handle}}, 30).empty());
  EXPECT_TRUE(sqs_->delete_batch(queue, {{"0", second[0].receipt_handle}}).empty());
  EXPECT_TRUE(sqs_->receive(queue, 10, 1).empty());
  EXPECT_EQ(sqs_->queue_attributes(queue, {"ApproximateNumberOfMessages"}).at("ApproximateNumberOfMessages"), "0");
  expect_error([&] { (void)sqs_->receive(queue + "-missing", 1, 0); }, ErrorCode::kNotFound, "does not exist");
  expect_error([&] { (void)sqs_->receive(queue, 11, 0); }, ErrorCode::kInvalidInput, "1-10 messages");
}

TEST_F(QueueTest, SnsPublishesFanOutToSqs) {
  SnsClient sns(aws::messaging_settings("sns", queue_options()));
  const std::string topic = sns.create_topic(unique_queue_name("topic"));
  const std::string queue = sqs_->create_queue(unique_queue_name("fan-out"));
  const std::string raw_queue = sqs_->create_queue(unique_queue_name("fan-out-raw"));
  EXPECT_FALSE(sns.subscribe(topic, "sqs", sqs_->queue_attributes(queue, {"QueueArn"}).at("QueueArn")).empty());
  sns.subscribe(topic, "sqs", sqs_->queue_attributes(raw_queue, {"QueueArn"}).at("QueueArn"), true);
  EXPECT_FALSE(sns.publish(topic, R"({"event": "model-run"})", "runs").empty());
  const auto enveloped = drain(queue);
  ASSERT_EQ(enveloped.size(), 1U);
  const json envelope = json::parse(enveloped[0].body);
  EXPECT_EQ(envelope["Type"], "Notification");
  EXPECT_EQ(envelope["Message"], R"({"event": "model-run"})");
  const auto raw = drain(raw_queue);
  ASSERT_EQ(raw.size(), 1U);
  EXPECT_EQ(raw[0].body, R"({"event": "model-run"})");
  expect_error([&] { (void)sns.publish(topic + "-missing", "x"); }, ErrorCode::kNotFound, "sns Publish refused");
}

// --- The loader, on SQLite and PgSTAC ---------------------------------------------

class Loader : public QueueTest, public ::testing::WithParamInterface<tessera::testing::CatalogBackend> {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    if (IsSkipped()) {
      return;
    }
    catalog_ = GetParam().open(dir_.path());
    catalog_->upsert_collection(make_collection("a"));
    queue_ = sqs_->create_queue(unique_queue_name("items"), {{"VisibilityTimeout", "30"}});
    dead_ = sqs_->create_queue(unique_queue_name("dead"));
    options_.queue_url = queue_;
    options_.dead_letter_queue_url = dead_;
    options_.queue_options = queue_options();
    options_.until_empty = true;
    options_.wait_seconds = 1;
    options_.batch_window_seconds = 0.5;
  }
  void send_all(const std::vector<std::string>& bodies) {
    for (const auto& body : bodies) {
      sqs_->send(queue_, body);
    }
  }
  std::size_t item_count() { return catalog_->search({{"limit", 1}})["numberMatched"].get<std::size_t>(); }
  TempDir dir_;
  std::unique_ptr<Catalog> catalog_;
  std::string queue_;
  std::string dead_;
  LoaderOptions options_;
};

TEST_P(Loader, PartialBatchFailuresGoToTheDeadLetterQueueWithTheReason) {
  json invalid = item_json("bad-geometry");
  invalid["geometry"] = {{"type", "Point"}, {"coordinates", "nowhere"}};
  send_all({item_json("i1").dump(), item_json("i2").dump(), "{ not json", invalid.dump(),
            item_json("lost", "no-such-collection").dump(), make_collection("b").dump()});
  const LoaderReport first = tessera::run_loader(*catalog_, options_);
  // The collection message may come after its items: they are sent after it.
  send_all({item_json("in-b", "b").dump()});
  const LoaderReport second = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(first.received + second.received, 7U);
  EXPECT_EQ(first.loaded + second.loaded, 3U);
  EXPECT_EQ(first.dead_lettered, 3U);
  EXPECT_EQ(first.deleted + second.deleted, 7U);
  EXPECT_EQ(item_count(), 3U);
  EXPECT_EQ(catalog_->get_item("b", "in-b")["id"], "in-b");
  EXPECT_TRUE(sqs_->receive(queue_, 10, 1).empty());
  const auto dead = drain(dead_);
  ASSERT_EQ(dead.size(), 3U);
  std::map<std::string, std::string> reasons;
  for (const auto& message : dead) {
    reasons[message.body] = message.message_attributes.at("tessera_error");
    EXPECT_EQ(message.message_attributes.at("tessera_source"), queue_);
  }
  EXPECT_NE(reasons.at("{ not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(reasons.at(invalid.dump()).find("bad-geometry"), std::string::npos) << reasons.at(invalid.dump());
  EXPECT_NE(reasons.at(item_json("lost", "no-such-collection").dump()).find("no-such-collection"), std::string::npos);
}

TEST_P(Loader, SnsEnvelopesFromFanOutAreUnwrapped) {
  SnsClient sns(aws::messaging_settings("sns", queue_options()));
  const std::string topic = sns.create_topic(unique_queue_name("items"));
  sns.subscribe(topic, "sqs", sqs_->queue_attributes(queue_, {"QueueArn"}).at("QueueArn"));
  for (int n = 0; n < 25; ++n) {
    sns.publish(topic, item_json(fmt::format("sns-{}", n)).dump());
  }
  const LoaderReport report = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(report.loaded, 25U);
  EXPECT_EQ(report.deleted, 25U);
  EXPECT_EQ(item_count(), 25U);
}

TEST_P(Loader, MessagesPastTheMaxReceiveCountAreDeadLetteredUnloaded) {
  send_all({item_json("tired").dump()});
  for (int n = 0; n < 2; ++n) {  // delivered twice without being deleted
    auto messages = sqs_->receive(queue_, 1, 2);
    ASSERT_EQ(messages.size(), 1U);
    sqs_->change_visibility(queue_, messages[0].receipt_handle, 0);
  }
  options_.max_receive_count = 2;
  const LoaderReport report = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(report.dead_lettered, 1U);
  EXPECT_EQ(report.loaded, 0U);
  EXPECT_EQ(item_count(), 0U);
  const auto dead = drain(dead_);
  ASSERT_EQ(dead.size(), 1U);
  EXPECT_NE(dead[0].message_attributes.at("tessera_error").find("received 3 times"), std::string::npos);
}

TEST_P(Loader, TransientFailuresAreLeftForRedelivery) {
  // The S3 event names an object on a storage that does not answer.
  options_.ingest.storage_options = {
      {"endpoint", "http://127.0.0.1:9"}, {"access_key_id", "k"}, {"secret_access_key", "s"}};
  send_all({json{{"Records",
                  {{{"eventName", "ObjectCreated:Put"},
                    {"s3", {{"bucket", {{"name", "unreachable"}}}, {"object", {{"key", "i.json"}}}}}}}}}
                .dump(),
            item_json("fine").dump()});
  const LoaderReport report = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(report.retried, 1U);
  EXPECT_EQ(report.deleted, 1U);
  EXPECT_EQ(report.dead_lettered, 0U);
  EXPECT_TRUE(drain(dead_).empty());
  EXPECT_EQ(sqs_->queue_attributes(queue_, {"ApproximateNumberOfMessagesNotVisible"})
                .at("ApproximateNumberOfMessagesNotVisible"),
            "1");
}

TEST_P(Loader, AnOlderUpdatedNeverOverwritesANewerOne) {
  // Reversed delivery: the newer copy arrives first, in a batch of its own.
  send_all({item_json("x", "a", "2024-05-02T00:00:00Z").dump()});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).loaded, 1U);
  send_all({item_json("x", "a", "2024-05-01T00:00:00Z").dump()});
  const LoaderReport older = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(older.loaded, 0U);
  EXPECT_EQ(older.skipped, 1U);
  EXPECT_EQ(older.deleted, 1U);
  EXPECT_EQ(catalog_->get_item("a", "x")["properties"]["updated"], "2024-05-02T00:00:00Z");
  // Both in one batch, older last: the newer still wins.
  send_all({item_json("y", "a", "2024-05-02T00:00:00Z").dump(), item_json("y", "a", "2024-05-01T00:00:00Z").dump()});
  options_.batch_size = 10;
  options_.batch_window_seconds = 2;
  (void)tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(catalog_->get_item("a", "y")["properties"]["updated"], "2024-05-02T00:00:00Z");
}

INSTANTIATE_TEST_SUITE_P(Backends, Loader, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& backend) { return backend.param.name; });

// --- S3 events: sequencers and removals (with the S3 test server) -----------------

class LoaderS3 : public Loader {
 protected:
  void SetUp() override {
    if (std::getenv("TESSERA_TEST_S3_ENDPOINT") == nullptr) {
      GTEST_SKIP() << "no S3 test server (scripts/test.sh starts one)";
    }
    Loader::SetUp();
    if (IsSkipped()) {
      return;
    }
    options_.ingest.storage_options = {{"endpoint", std::getenv("TESSERA_TEST_S3_ENDPOINT")},
                                       {"access_key_id", std::getenv("TESSERA_TEST_S3_ACCESS_KEY")},
                                       {"secret_access_key", std::getenv("TESSERA_TEST_S3_SECRET_KEY")}};
    bucket_ = std::getenv("TESSERA_TEST_S3_BUCKET");
    prefix_ = fmt::format("loader-{}", std::random_device{}());
    storage_ = tessera::Storage::open("s3://" + bucket_ + "/" + prefix_, options_.ingest.storage_options);
  }
  // An S3 event notification for `key` under the test prefix, as S3 sends them.
  std::string event(const std::string& name, const std::string& key, const std::string& sequencer) {
    return json{
        {"Records",
         {{{"eventVersion", "2.1"},
           {"eventSource", "aws:s3"},
           {"eventName", name},
           {"eventTime", "2024-05-01T00:00:00.000Z"},
           {"s3",
            {{"bucket", {{"name", bucket_}}},
             {"object", {{"key", prefix_ + "/" + key}, {"eTag", "e-" + sequencer}, {"sequencer", sequencer}}}}}}}}}
        .dump();
  }
  std::string bucket_;
  std::string prefix_;
  std::unique_ptr<tessera::Storage> storage_;
};

TEST_P(LoaderS3, ReversedEventsForOneKeyAndRemovals) {
  storage_->put("x.json", item_json("x").dump());
  // The newer event (sequencer 0B) is delivered first, then the older (0A): the older is skipped.
  send_all({event("ObjectCreated:Put", "x.json", "0000B")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).loaded, 1U);
  send_all({event("ObjectCreated:Put", "x.json", "0000A")});
  const LoaderReport older = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(older.loaded, 0U);
  EXPECT_EQ(older.skipped, 1U);
  // A removal older than the load does nothing; a newer one deletes the item.
  send_all({event("ObjectRemoved:Delete", "x.json", "00009")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).removed, 0U);
  EXPECT_EQ(catalog_->get_item("a", "x")["id"], "x");
  send_all({event("ObjectRemoved:Delete", "x.json", "0000C")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).removed, 1U);
  expect_error([&] { (void)catalog_->get_item("a", "x"); }, ErrorCode::kNotFound, "x");
  // A creation event older than the removal, delivered late, does not bring it back.
  send_all({event("ObjectCreated:Put", "x.json", "0000B")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).skipped, 1U);
  expect_error([&] { (void)catalog_->get_item("a", "x"); }, ErrorCode::kNotFound, "x");
  // A newer one does.
  send_all({event("ObjectCreated:Put", "x.json", "0000D")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).loaded, 1U);
  EXPECT_EQ(catalog_->get_item("a", "x")["id"], "x");
}

TEST_P(LoaderS3, RemovalsTombstoneByOption) {
  storage_->put("t.ndjson", item_json("t1").dump() + "\n" + item_json("t2").dump() + "\n");
  send_all({event("ObjectCreated:Put", "t.ndjson", "01")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).loaded, 2U);
  options_.ingest.tombstone_removed = true;
  send_all({event("ObjectRemoved:Delete", "t.ndjson", "02")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).removed, 2U);
  for (const char* id : {"t1", "t2"}) {
    EXPECT_TRUE(catalog_->get_item("a", id)["properties"].contains("tessera:removed")) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, LoaderS3, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& backend) { return backend.param.name; });

// --- Crashes and concurrent loaders (processes of their own) -----------------------

namespace {

// The catalog's URI, for processes that open it themselves.
std::string catalog_uri(const std::string& backend, const std::filesystem::path& scratch) {
  return backend == "pgstac" ? tessera::testing::pgstac_test_url() : "sqlite://" + (scratch / "catalog.db").string();
}

// Runs a loader in a child process; the child never returns into the suite.
pid_t spawn_loader(const std::string& uri, const LoaderOptions& options) {
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      auto catalog = Catalog::open(uri);
      (void)tessera::run_loader(*catalog, options);
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  return child;
}

}  // namespace

class LoaderProcesses : public Loader {
 protected:
  void SetUp() override {
    Loader::SetUp();
    if (IsSkipped()) {
      return;
    }
    options_.visibility_timeout_seconds = 10;
    options_.batch_size = 10;  // messages of 10 items each
    options_.batch_window_seconds = 1;
  }
  // Items `first`.. in messages of 10 (FeatureCollections), which keeps the queue's round trips few.
  void send_items(std::size_t count, const std::string& collection = "a", const std::string& stem = "item") {
    for (std::size_t start = 0; start < count; start += 10) {
      json features = json::array();
      for (std::size_t n = start; n < std::min(count, start + 10); ++n) {
        features.push_back(item_json(fmt::format("{}-{:05}", stem, n), collection));
      }
      sqs_->send(queue_, json{{"type", "FeatureCollection"}, {"features", features}}.dump());
    }
  }
  // Loads in this process until every item is in or `seconds` pass (messages a
  // killed loader held come back after their visibility timeout).
  void load_until(std::size_t count, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (item_count() < count && std::chrono::steady_clock::now() < deadline) {
      (void)tessera::run_loader(*catalog_, options_);
    }
  }
};

TEST_P(LoaderProcesses, AKilledLoaderLosesAndDuplicatesNothing) {
  constexpr std::size_t kItems = 600;
  send_items(kItems);
  const pid_t child = spawn_loader(catalog_uri(GetParam().name, dir_.path()), options_);
  ASSERT_GT(child, 0);
  // Killed once some batches are in and others are still on the way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (item_count() < 100 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the loader finished before it was killed: nothing was tested";
  const std::size_t at_kill = item_count();
  EXPECT_LT(at_kill, kItems);
  load_until(kItems, 90);
  EXPECT_EQ(item_count(), kItems);
  // Each item once, with the id it was sent with.
  const json page = catalog_->search({{"limit", kItems}, {"fields", {{"include", {"id"}}}}});
  std::set<std::string> ids;
  for (const auto& feature : page["features"]) {
    ids.insert(feature["id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), kItems);
  EXPECT_TRUE(sqs_->receive(queue_, 10, 1).empty());
  EXPECT_TRUE(drain(dead_).empty());
}

TEST_P(LoaderProcesses, FourLoadersOnOneCatalogNeitherDeadlockNorLose) {
  constexpr std::size_t kItems = 1000;
  send_items(kItems);
  // A second collection, loaded in the same batches: loaders contend on both.
  catalog_->upsert_collection(make_collection("b"));
  send_items(200, "b", "b");
  std::vector<pid_t> loaders;
  for (int n = 0; n < 4; ++n) {
    loaders.push_back(spawn_loader(catalog_uri(GetParam().name, dir_.path()), options_));
    ASSERT_GT(loaders.back(), 0);
  }
  // A deadlock shows as loaders that never return.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  for (const pid_t loader : loaders) {
    int status = 0;
    while (::waitpid(loader, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        for (const pid_t stuck : loaders) {
          ::kill(stuck, SIGKILL);
        }
        FAIL() << "a loader did not finish in 180 s";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a loader failed";
  }
  // Messages a busy catalog refused for a moment come back: load what is left.
  load_until(kItems + 200, 60);
  EXPECT_EQ(item_count(), kItems + 200);
  EXPECT_TRUE(drain(dead_).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, LoaderProcesses, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& backend) { return backend.param.name; });

// --- validate and reconcile --------------------------------------------------------

TEST(Validate, ChecksEachItemAsALoadWouldAndWritesNothing) {
  auto catalog = Catalog::open("sqlite://:memory:");
  catalog->upsert_collection(make_collection("a"));
  json bad = item_json("bad");
  bad["bbox"] = {1, 2};
  const json collection = {{"type", "FeatureCollection"},
                           {"features", {item_json("good"), bad, item_json("elsewhere", "nowhere")}}};
  const auto report = tessera::validate(*catalog, collection.dump());
  EXPECT_EQ(report.valid, 1U);
  EXPECT_EQ(report.invalid, 2U);
  ASSERT_EQ(report.results.size(), 3U);
  EXPECT_TRUE(report.results[0].valid());
  EXPECT_EQ(report.results[1].id, "bad");
  EXPECT_NE(report.results[1].error.find("bbox"), std::string::npos) << report.results[1].error;
  EXPECT_NE(report.results[2].error.find("'nowhere' does not exist"), std::string::npos);
  EXPECT_EQ(catalog->search({{"limit", 1}})["numberMatched"], 0);
  // ndjson and a single Item too; nothing at all is refused.
  EXPECT_EQ(tessera::validate(*catalog, item_json("x").dump() + "\n" + item_json("y").dump() + "\n").valid, 2U);
  expect_error([&] { (void)tessera::validate(*catalog, "  \n"); }, ErrorCode::kInvalidInput, "no items");
}

TEST(Reconcile, MissingOrphanedAndStaleItemsOfALocalPrefixAndTheirFix) {
  TempDir dir;
  auto catalog = Catalog::open("sqlite://" + (dir.path() / "c.db").string());
  catalog->upsert_collection(make_collection("a"));
  const auto write = [&](const std::string& name, const std::string& content) {
    std::filesystem::create_directories((dir.path() / "items" / name).parent_path());
    std::ofstream(dir.path() / "items" / name) << content;
  };
  write("one.json", item_json("one").dump());
  write("sub/two.ndjson", item_json("two").dump() + "\n" + item_json("three").dump() + "\n");
  write("gone.json", item_json("gone").dump());
  const tessera::IngestReport loaded = tessera::ingest(*catalog, {(dir.path() / "items").string()});
  ASSERT_EQ(loaded.loaded, 4U) << loaded.to_json().dump();
  EXPECT_EQ(tessera::reconcile(*catalog, (dir.path() / "items").string()).to_json()["findings"], json::array());
  // Drift: an object removed, one rewritten (bigger), one new.
  std::filesystem::remove(dir.path() / "items" / "gone.json");
  write("sub/two.ndjson",
        item_json("two", "a", "2024-06-01T00:00:00Z").dump() + "\n" + item_json("three").dump() + "\n");
  write("new.json", item_json("new").dump());
  std::vector<json> streamed;
  tessera::ReconcileOptions options;
  options.page_size = 2;
  options.on_finding = [&](const json& finding) { streamed.push_back(finding); };
  std::size_t last_progress = 0;
  options.progress = [&](std::size_t objects) { last_progress = objects; };
  const auto report = tessera::reconcile(*catalog, "file://" + (dir.path() / "items").string(), options);
  EXPECT_EQ(report.objects, 3U);
  EXPECT_EQ(last_progress, 3U);
  EXPECT_EQ(report.missing, 1U);
  EXPECT_EQ(report.orphaned, 1U);
  EXPECT_EQ(report.stale, 2U);  // both items of the rewritten object
  EXPECT_EQ(streamed.size(), 4U);
  std::map<std::string, std::string> kinds;
  for (const auto& finding : report.findings) {
    kinds[finding["id"].get<std::string>()] = finding["kind"].get<std::string>();
  }
  EXPECT_EQ(kinds["new"], "missing");
  EXPECT_EQ(kinds["gone"], "orphaned");
  EXPECT_EQ(kinds["two"], "stale");
  options.fix = true;
  const auto fixed = tessera::reconcile(*catalog, (dir.path() / "items").string(), options);
  EXPECT_EQ(fixed.loaded, 3U);
  EXPECT_EQ(fixed.deleted, 1U);
  EXPECT_EQ(catalog->get_item("a", "two")["properties"]["updated"], "2024-06-01T00:00:00Z");
  expect_error([&] { (void)catalog->get_item("a", "gone"); }, ErrorCode::kNotFound, "gone");
  const auto clean = tessera::reconcile(*catalog, (dir.path() / "items").string());
  EXPECT_EQ(clean.missing + clean.orphaned + clean.stale, 0U) << clean.to_json().dump();
}

TEST_P(LoaderS3, ReconcileAnS3PrefixAgainstWhatTheLoaderRecorded) {
  storage_->put("r/a.json", item_json("ra").dump());
  storage_->put("r/b.json", item_json("rb").dump());
  send_all({event("ObjectCreated:Put", "r/a.json", "01"), event("ObjectCreated:Put", "r/b.json", "01")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).loaded, 2U);
  storage_->remove("r/b.json");
  storage_->put("r/c.json", item_json("rc").dump());
  tessera::ReconcileOptions options;
  options.storage_options = options_.ingest.storage_options;
  const std::string prefix = fmt::format("s3://{}/{}/r", bucket_, prefix_);
  const auto report = tessera::reconcile(*catalog_, prefix, options);
  EXPECT_EQ(report.objects, 2U);
  EXPECT_EQ(report.missing, 1U) << report.to_json().dump();
  EXPECT_EQ(report.orphaned, 1U) << report.to_json().dump();
  EXPECT_EQ(report.stale, 0U) << report.to_json().dump();
}

// --- Raw uploads become items --------------------------------------------------------

namespace {

using tessera::ItemGeneratorOptions;

// A small UTM GeoTIFF, as bytes, to upload.
std::string tiff_bytes(const std::filesystem::path& scratch, std::uint8_t value) {
  const auto path = scratch / fmt::format("upload-{}.tif", value);
  tessera::testing::write_filled_raster(path, 64, 48, {500000, 30, 0, 5200000, 0, -30}, 32633, value);
  std::ifstream input(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(input), {});
}

// A command generator: a Python script that completes the item-like JSON on
// stdin (geometry, datetime, the URI it got as last argument) and prints it.
std::vector<std::string> python_generator(const std::string& extra = "") {
  return {"python3", "-c",
          "import json, sys\n"
          "item = json.load(sys.stdin)\n"
          "item['geometry'] = {'type': 'Point', 'coordinates': [1, 2]}\n"
          "item['bbox'] = [1, 2, 1, 2]\n"
          "item['properties']['datetime'] = '2024-01-01T00:00:00Z'\n"
          "item['properties']['uploaded'] = sys.argv[1]\n" +
              extra + "print(json.dumps(item))\n"};
}

}  // namespace

TEST_P(LoaderS3, RasterUploadsBecomeItemsThroughTheBuiltInGenerator) {
  storage_->put("uploads/scene.tif", tiff_bytes(dir_.path(), 7));
  options_.ingest.item_generator.kind = ItemGeneratorOptions::Kind::kBuiltIn;
  options_.ingest.item_generator.collection = "a";
  options_.ingest.item_generator.cog_prefix = fmt::format("s3://{}/{}/cogs", bucket_, prefix_);
  send_all({event("ObjectCreated:Put", "uploads/scene.tif", "01")});
  const LoaderReport report = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(report.loaded, 1U) << report.to_json().dump();
  EXPECT_EQ(report.dead_lettered, 0U);
  const json item = catalog_->get_item("a", "scene");
  EXPECT_EQ(item["assets"]["data"]["href"], fmt::format("s3://{}/{}/cogs/scene.tif", bucket_, prefix_));
  EXPECT_EQ(item["assets"]["source"]["href"], fmt::format("s3://{}/{}/uploads/scene.tif", bucket_, prefix_));
  EXPECT_EQ(item["properties"]["proj:code"], "EPSG:32633");
  EXPECT_TRUE(storage_->exists("cogs/scene.tif"));
  // The COG's own creation event loads nothing (no loop), and is deleted.
  send_all({event("ObjectCreated:Put", "cogs/scene.tif", "02")});
  const LoaderReport own = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(own.deleted, 1U);
  EXPECT_EQ(own.loaded + own.failed, 0U) << own.to_json().dump();
  // The upload's removal removes its item: the upload is the item's recorded source.
  send_all({event("ObjectRemoved:Delete", "uploads/scene.tif", "03")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).removed, 1U);
  expect_error([&] { (void)catalog_->get_item("a", "scene"); }, ErrorCode::kNotFound, "scene");
}

TEST_P(LoaderS3, RasterUploadsWithoutAGeneratorAreDeadLetteredWithTheReason) {
  storage_->put("uploads/plain.tif", tiff_bytes(dir_.path(), 3));
  send_all({event("ObjectCreated:Put", "uploads/plain.tif", "01")});
  EXPECT_EQ(tessera::run_loader(*catalog_, options_).dead_lettered, 1U);
  const auto dead = drain(dead_);
  ASSERT_EQ(dead.size(), 1U);
  EXPECT_NE(dead[0].message_attributes.at("tessera_error").find("no item generator is configured"), std::string::npos);
}

TEST_P(LoaderS3, ACommandGeneratorGetsTheUriAndTheItemLikeJsonAndIsBounded) {
  const std::string not_a_raster = "not even a raster: the command decides";
  storage_->put("uploads/cmd.tif", not_a_raster);
  storage_->put("uploads/fails.tif", "x");
  storage_->put("uploads/slow.tif", "x");
  storage_->put("uploads/noext", std::string("II*\0", 4) + "tiff by its leading bytes");
  ItemGeneratorOptions& generator = options_.ingest.item_generator;
  generator.kind = ItemGeneratorOptions::Kind::kCommand;
  generator.collection = "a";
  generator.timeout_seconds = 2;
  generator.command = python_generator(
      "import time\n"
      "if sys.argv[1].endswith('fails.tif'): sys.exit('no such scene')\n"
      "if sys.argv[1].endswith('slow.tif'): time.sleep(30)\n");
  send_all({event("ObjectCreated:Put", "uploads/cmd.tif", "01"), event("ObjectCreated:Put", "uploads/fails.tif", "01"),
            event("ObjectCreated:Put", "uploads/noext", "01")});
  const LoaderReport report = tessera::run_loader(*catalog_, options_);
  EXPECT_EQ(report.loaded, 2U) << report.to_json().dump();
  EXPECT_EQ(report.dead_lettered, 1U);
  const json item = catalog_->get_item("a", "cmd");
  EXPECT_EQ(item["properties"]["uploaded"], fmt::format("s3://{}/{}/uploads/cmd.tif", bucket_, prefix_));
  EXPECT_EQ(item["assets"]["data"]["href"], item["properties"]["uploaded"]);
  EXPECT_EQ(item["assets"]["data"]["file:size"], not_a_raster.size());
  EXPECT_EQ(catalog_->get_item("a", "noext")["id"], "noext");
  const auto dead = drain(dead_);
  ASSERT_EQ(dead.size(), 1U);
  EXPECT_NE(dead[0].message_attributes.at("tessera_error").find("exited with status 1: no such scene"),
            std::string::npos)
      << dead[0].message_attributes.at("tessera_error");
  // A command past its timeout is killed and its message left for redelivery.
  options_.until_empty = true;
  options_.max_receive_count = 1;
  send_all({event("ObjectCreated:Put", "uploads/slow.tif", "01")});
  const auto started = std::chrono::steady_clock::now();
  const LoaderReport slow = tessera::run_loader(*catalog_, options_);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_EQ(slow.retried, 1U) << slow.to_json().dump();
  // Output past max_output_bytes fails the object.
  generator.command = python_generator("print('x' * 100000)\n");
  generator.max_output_bytes = 1000;
  const auto bounded =
      tessera::ingest_messages(*catalog_, {event("ObjectCreated:Put", "uploads/cmd.tif", "02")}, options_.ingest);
  ASSERT_EQ(bounded.results.size(), 1U);
  EXPECT_NE(bounded.results[0].error.find("more than max_output_bytes (1000)"), std::string::npos)
      << bounded.results[0].error;
}

TEST(ItemGenerator, OptionsFromJsonNameWhatIsWrong) {
  const auto parsed = ItemGeneratorOptions::from_json(
      {{"kind", "command"}, {"command", {"gen", "--fast"}}, {"timeout_seconds", 5}, {"collection", "c"}});
  EXPECT_EQ(parsed.kind, ItemGeneratorOptions::Kind::kCommand);
  EXPECT_EQ(parsed.command, (std::vector<std::string>{"gen", "--fast"}));
  expect_error(
      [] {
        (void)ItemGeneratorOptions::from_json({{"kind", "magic"}});
      },
      ErrorCode::kInvalidInput, "'kind' must be");
  expect_error(
      [] {
        (void)ItemGeneratorOptions::from_json({{"kind", "command"}});
      },
      ErrorCode::kInvalidInput, "needs a non-empty 'command'");
  expect_error(
      [] {
        (void)ItemGeneratorOptions::from_json({{"command", {"a", 1}}});
      },
      ErrorCode::kInvalidInput, "'command' must be an array of strings");
  expect_error(
      [] {
        (void)ItemGeneratorOptions::from_json({{"timeout_seconds", -1}});
      },
      ErrorCode::kInvalidInput, "timeout_seconds");
  expect_error(
      [] {
        (void)LoaderOptions::from_json({{"item_generator", {{"bogus", 1}}}});
      },
      ErrorCode::kInvalidInput, "unknown member 'bogus'");
}

TEST(Reconcile, RastersWhoseItemsTheGeneratorMakesAndAssetChecksums) {
  TempDir dir;
  auto catalog = Catalog::open("sqlite://" + (dir.path() / "c.db").string());
  catalog->upsert_collection(make_collection("a"));
  const auto folder = dir.path() / "uploads";
  std::filesystem::create_directories(folder);
  tessera::testing::write_filled_raster(folder / "r1.tif", 32, 32, {500000, 30, 0, 5200000, 0, -30}, 32633, 1);
  // An item object whose asset carries a sha2-256 file:checksum ("hello").
  std::ofstream(folder / "data.bin") << "hello";
  json described = item_json("described");
  described["assets"] = {{"data",
                          {{"href", "./data.bin"},
                           {"file:checksum", "12202cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}}};
  std::ofstream(folder / "described.json") << described.dump();
  tessera::ReconcileOptions options;
  options.ingest.item_generator.kind = ItemGeneratorOptions::Kind::kBuiltIn;
  options.ingest.item_generator.collection = "a";
  // The raster has no item yet: missing, by the id the generator gives it.
  const auto first = tessera::reconcile(*catalog, folder.string(), options);
  EXPECT_EQ(first.objects, 2U);
  EXPECT_EQ(first.missing, 2U) << first.to_json().dump();
  options.fix = true;
  EXPECT_EQ(tessera::reconcile(*catalog, folder.string(), options).loaded, 2U);
  EXPECT_EQ(catalog->get_item("a", "r1")["assets"]["data"]["href"], "file://" + (folder / "r1.tif").string());
  options.fix = false;
  const auto clean = tessera::reconcile(*catalog, folder.string(), options);
  EXPECT_EQ(clean.missing + clean.orphaned + clean.stale, 0U) << clean.to_json().dump();
  // The asset's object changes (same size), the raster is rewritten, then removed.
  std::ofstream(folder / "data.bin") << "jello";
  tessera::testing::write_filled_raster(folder / "r1.tif", 40, 40, {500000, 30, 0, 5200000, 0, -30}, 32633, 2);
  const auto stale = tessera::reconcile(*catalog, folder.string(), options);
  EXPECT_EQ(stale.stale, 2U) << stale.to_json().dump();
  std::map<std::string, std::string> reasons;
  for (const auto& finding : stale.findings) {
    reasons[finding["id"].get<std::string>()] = finding.value("reason", "");
  }
  EXPECT_NE(reasons["described"].find("file:checksum 12202cf2"), std::string::npos) << reasons["described"];
  EXPECT_NE(reasons["r1"].find("the object changed"), std::string::npos) << reasons["r1"];
  std::filesystem::remove(folder / "r1.tif");
  const auto gone = tessera::reconcile(*catalog, folder.string(), options);
  EXPECT_EQ(gone.orphaned, 1U) << gone.to_json().dump();
  EXPECT_EQ(gone.findings.back(), (json{{"kind", "orphaned"},
                                        {"object", "file://" + (folder / "r1.tif").string()},
                                        {"collection", "a"},
                                        {"id", "r1"}}));
}

TEST(ValidateRoute, PostValidateAnswersPerItemAndRefusesOtherMethods) {
  auto catalog = Catalog::open("sqlite://:memory:");
  catalog->upsert_collection(make_collection("a"));
  const tessera::Service service(*catalog, tessera::ServiceOptions{});
  tessera::HttpRequest request;
  request.method = "POST";
  request.path = "/validate";
  request.body = item_json("ok").dump() + "\n" + item_json("lost", "nowhere").dump() + "\n";
  const auto answer = service.handle(request);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json report = json::parse(answer.body);
  EXPECT_EQ(report["valid"], 1);
  EXPECT_EQ(report["invalid"], 1);
  EXPECT_EQ(report["results"][1]["id"], "lost");
  EXPECT_EQ(catalog->search({{"limit", 1}})["numberMatched"], 0);
  request.body = "";
  EXPECT_EQ(service.handle(request).status, 400);
  request.method = "GET";
  const auto refused = service.handle(request);
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(*refused.header("Allow"), "POST");
  // The OpenAPI document lists the route.
  request.path = "/api";
  EXPECT_TRUE(json::parse(service.handle(request).body)["paths"].contains("/validate"));
}

// --- The C ABI -----------------------------------------------------------------------

TEST(LoaderCApi, ValidateReconcileAndLoaderOptionsThroughTheCAbi) {
  TempDir dir;
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open(("sqlite://" + (dir.path() / "c.db").string()).c_str(), nullptr, &catalog), TSR_OK);
  ASSERT_EQ(tsr_catalog_upsert_collection(catalog, make_collection("a").dump().c_str()), TSR_OK);
  char* out = nullptr;
  ASSERT_EQ(tsr_validate(catalog, item_json("ok").dump().c_str(), &out), TSR_OK);
  EXPECT_EQ(json::parse(out)["valid"], 1);
  tsr_free(out);
  EXPECT_EQ(tsr_validate(catalog, "", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_validate(catalog, "{}", nullptr), TSR_INVALID_INPUT);  // out-params are checked first
  std::filesystem::create_directories(dir.path() / "items");
  std::ofstream(dir.path() / "items" / "x.json") << item_json("x").dump();
  ASSERT_EQ(tsr_reconcile(catalog, (dir.path() / "items").string().c_str(), R"({"fix": true})", &out), TSR_OK);
  EXPECT_EQ(json::parse(out)["loaded"], 1);
  tsr_free(out);
  EXPECT_EQ(tsr_reconcile(catalog, (dir.path() / "items").string().c_str(), R"({"fix": "yes"})", &out),
            TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("'fix'"), std::string::npos);
  EXPECT_EQ(
      tsr_run_loader(catalog, R"({"queue_url": "http://127.0.0.1:9/1/q", "batch_size": 0})", nullptr, nullptr, &out),
      TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("batch size 0"), std::string::npos);
  EXPECT_EQ(tsr_run_loader(catalog, R"({"queue": "typo"})", nullptr, nullptr, &out), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("unknown member 'queue'"), std::string::npos);
  tsr_catalog_destroy(&catalog);
}

namespace {
extern "C" int stop_now(void* calls) {
  ++*static_cast<int*>(calls);
  return 1;
}
}  // namespace

TEST_F(QueueTest, TheCLoaderStopsWhenItsCallbackSaysSo) {
  TempDir dir;
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open(("sqlite://" + (dir.path() / "c.db").string()).c_str(), nullptr, &catalog), TSR_OK);
  const std::string queue = sqs_->create_queue(unique_queue_name("c-api"));
  const json options = {{"queue_url", queue}, {"queue_options", queue_options()}, {"wait_seconds", 1}};
  int calls = 0;
  char* out = nullptr;
  ASSERT_EQ(tsr_run_loader(catalog, options.dump().c_str(), stop_now, &calls, &out), TSR_OK)
      << tsr_last_error_message();
  EXPECT_EQ(json::parse(out)["batches"], 0);
  EXPECT_GE(calls, 1);
  tsr_free(out);
  tsr_catalog_destroy(&catalog);
}

TEST(LoaderCApi, IngestOptionsVersion3RunTheItemGeneratorOnRasters) {
  TempDir dir;
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open(("sqlite://" + (dir.path() / "c.db").string()).c_str(), nullptr, &catalog), TSR_OK);
  ASSERT_EQ(tsr_catalog_upsert_collection(catalog, make_collection("a").dump().c_str()), TSR_OK);
  const auto folder = dir.path() / "uploads";
  std::filesystem::create_directories(folder);
  tessera::testing::write_filled_raster(folder / "r1.tif", 32, 32, {500000, 30, 0, 5200000, 0, -30}, 32633, 1);
  std::ofstream(folder / "x.json") << item_json("x").dump();
  tsr_ingest_options options;
  ASSERT_EQ(tsr_ingest_options_init(&options, TSR_INGEST_OPTIONS_VERSION), TSR_OK);
  EXPECT_EQ(options.version, 3U);
  EXPECT_EQ(options.item_generator_json, nullptr);
  char* out = nullptr;
  const std::string folder_source = json::array({folder.string()}).dump();
  // No generator: the folder's raster is not a source.
  ASSERT_EQ(tsr_ingest(catalog, folder_source.c_str(), &options, &out), TSR_OK) << tsr_last_error_message();
  EXPECT_EQ(json::parse(out)["results"].size(), 1U) << out;
  tsr_free(out);

  // The built-in generator makes the raster's item (create_item, the asset the file itself).
  const std::string builtin = R"({"kind": "builtin", "collection": "a"})";
  options.item_generator_json = builtin.c_str();
  ASSERT_EQ(tsr_ingest(catalog, folder_source.c_str(), &options, &out), TSR_OK) << tsr_last_error_message();
  EXPECT_EQ(json::parse(out)["loaded"], 2) << out;
  tsr_free(out);
  ASSERT_EQ(tsr_catalog_get_item(catalog, "a", "r1", &out), TSR_OK);
  EXPECT_EQ(json::parse(out)["assets"]["data"]["href"], "file://" + (folder / "r1.tif").string());
  tsr_free(out);

  // A command generator, for a raster given as a file.
  tessera::testing::write_filled_raster(dir.path() / "r2.tif", 32, 32, {500000, 30, 0, 5200000, 0, -30}, 32633, 2);
  const std::string command =
      json{{"kind", "command"}, {"collection", "a"}, {"command", python_generator()}, {"timeout_seconds", 60}}.dump();
  options.item_generator_json = command.c_str();
  const std::string raster_source = json::array({(dir.path() / "r2.tif").string()}).dump();
  ASSERT_EQ(tsr_ingest(catalog, raster_source.c_str(), &options, &out), TSR_OK) << tsr_last_error_message();
  EXPECT_EQ(json::parse(out)["loaded"], 1) << out;
  tsr_free(out);
  ASSERT_EQ(tsr_catalog_get_item(catalog, "a", "r2", &out), TSR_OK);
  EXPECT_EQ(json::parse(out)["properties"]["uploaded"], "file://" + (dir.path() / "r2.tif").string());
  tsr_free(out);

  // Bad settings name the member; a caller of version 2 has no such field, and it is not read.
  options.item_generator_json = R"({"kind": "builtin", "bogus": 1})";
  EXPECT_EQ(tsr_ingest(catalog, raster_source.c_str(), &options, &out), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("item_generator: unknown member 'bogus'"), std::string::npos);
  options.item_generator_json = "{not json";
  EXPECT_EQ(tsr_ingest(catalog, raster_source.c_str(), &options, &out), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("item_generator_json"), std::string::npos);
  ASSERT_EQ(tsr_ingest_options_init(&options, 2), TSR_OK);
  options.item_generator_json = builtin.c_str();
  ASSERT_EQ(tsr_ingest(catalog, raster_source.c_str(), &options, &out), TSR_OK);
  const json report = json::parse(out);
  tsr_free(out);
  EXPECT_EQ(report["failed"], 1) << report.dump();
  EXPECT_NE(report["results"][0]["error"].get<std::string>().find("no item generator is configured"), std::string::npos)
      << report.dump();
  tsr_catalog_destroy(&catalog);
}
