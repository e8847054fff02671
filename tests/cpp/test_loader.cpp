// The SQS/SNS clients and the queue loader, against the SQS/SNS-compatible
// test server (moto) and, for S3 events, the S3 test server (versitygw):
// partial-batch failures, dead letters, SNS fan-out, receive counts,
// transient failures, ordering by sequencer and `updated`, removals.
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "catalog_fixtures.hpp"
#include "queue_fixtures.hpp"
#include "storage/aws_messaging.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"
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
  expect_error([] { (void)aws::parse_receive_reply(R"({"Messages": {}})"); }, ErrorCode::kInvalidInput,
               "at most 10");
  expect_error([] { (void)aws::parse_receive_reply(R"({"Messages": [{"MessageId": 1}]})"); },
               ErrorCode::kInvalidInput, "no string 'MessageId'");
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
  expect_error([] { (void)aws::messaging_settings("sqs", {{"acess_key_id", "typo"}}); }, ErrorCode::kInvalidInput,
               "unknown sqs option 'acess_key_id'");
  expect_error(
      [] {
        (void)aws::messaging_settings("sqs", {{"endpoint", "ftp://x"}, {"access_key_id", "k"},
                                              {"secret_access_key", "s"}});
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
  sqs_->change_visibility(queue, second[0].receipt_handle, 0);  // a deleted message's handle is harmless
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
  std::size_t item_count() {
    return catalog_->search({{"limit", 1}})["numberMatched"].get<std::size_t>();
  }
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
  options_.ingest.storage_options = {{"endpoint", "http://127.0.0.1:9"},
                                     {"access_key_id", "k"},
                                     {"secret_access_key", "s"}};
  send_all({json{{"Records", {{{"eventName", "ObjectCreated:Put"},
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
    return json{{"Records",
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
