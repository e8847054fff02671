// The ingest pipeline: files, folders, storage prefixes and queue messages
// (Item bodies, S3 events, SNS envelopes), dead letters and their replay.
#include <cstdlib>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "catalog_fixtures.hpp"
#include "tessera/ingest.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::Catalog;
using tessera::IngestReport;
using tessera::testing::make_collection;
using tessera::testing::make_item;
using tessera::testing::TempDir;

namespace {

json item_json(const std::string& id, const std::string& collection = "a", int version = 1) {
  return make_item(id, collection, "2022-01-01T00:00:00Z", 0, 0, 1.0, {{"version", version}});
}

std::string sns(const std::string& message) {
  return json{{"Type", "Notification"}, {"MessageId", "m-1"}, {"Message", message}}.dump();
}

std::string s3_event(const std::string& bucket, const std::string& encoded_key) {
  return json{
      {"Records", json::array({{{"eventName", "ObjectCreated:Put"},
                                {"s3", {{"bucket", {{"name", bucket}}}, {"object", {{"key", encoded_key}}}}}}})}}
      .dump();
}

class Ingest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = Catalog::open("sqlite://:memory:");
    catalog_->upsert_collection(make_collection("a"));
  }
  fs::path write(const std::string& name, const std::string& content) {
    const fs::path path = dir_.path() / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
    return path;
  }
  TempDir dir_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace

TEST_F(Ingest, FilesFoldersAndTheNewestCopyWins) {
  write("in/one.ndjson", item_json("x").dump() + "\n" + item_json("y").dump() + "\n");
  write("in/sub/collection.json",
        json{{"type", "FeatureCollection"}, {"features", {item_json("z"), item_json("x", "a", 2)}}}.dump());
  write("in/notes.txt", "ignored: not an item file");
  const IngestReport report = tessera::ingest(*catalog_, {(dir_.path() / "in").string()});
  EXPECT_EQ(report.loaded, 3U) << report.to_json().dump(2);
  EXPECT_EQ(report.skipped, 1U);  // the older copy of x
  EXPECT_EQ(report.failed, 0U);
  ASSERT_EQ(report.results.size(), 2U);
  EXPECT_EQ(catalog_->get_item("a", "x")["properties"]["version"], 2);
}

TEST_F(Ingest, BadInputIsReportedPerSourceAndTheRunContinues) {
  const auto good = write("good.json", item_json("good").dump());
  const auto broken = write("broken.json", "{\"type\": \"Feature\", \"id\": ");
  const auto unknown = write("unknown.json", item_json("u", "no-such-collection").dump());
  const IngestReport report =
      tessera::ingest(*catalog_, {good.string(), broken.string(), unknown.string(), "/no/such/file.json"});
  EXPECT_EQ(report.loaded, 1U);
  ASSERT_EQ(report.results.size(), 4U);
  EXPECT_EQ(report.results[0].status, "loaded");
  EXPECT_EQ(report.results[1].status, "failed");
  EXPECT_NE(report.results[1].failed.at(0).error.find("invalid JSON"), std::string::npos) << report.to_json().dump(2);
  EXPECT_EQ(report.results[2].status, "failed");
  EXPECT_NE(report.results[2].failed.at(0).error.find("no-such-collection"), std::string::npos);
  EXPECT_EQ(report.results[3].status, "failed");
  EXPECT_NE(report.results[3].error.find("cannot open"), std::string::npos);
  EXPECT_EQ(report.failed, 3U);
}

TEST_F(Ingest, MessagesItemsSnsAndTestEvents) {
  const std::vector<std::string> messages = {
      item_json("m1").dump(),
      sns(item_json("m2").dump()),
      json{{"Service", "Amazon S3"}, {"Event", "s3:TestEvent"}, {"Bucket", "b"}}.dump(),
      sns(json{{"Event", "s3:TestEvent"}}.dump()),
      "not json at all",
      json{{"hello", "world"}}.dump(),
      item_json("m3", "no-such-collection").dump(),
  };
  const IngestReport report = tessera::ingest_messages(*catalog_, messages);
  ASSERT_EQ(report.results.size(), messages.size());
  const std::vector<std::string> statuses = {"loaded", "loaded", "ignored", "ignored", "failed", "failed", "failed"};
  for (std::size_t n = 0; n < messages.size(); ++n) {
    EXPECT_EQ(report.results[n].status, statuses[n]) << n << ": " << report.results[n].to_json().dump();
  }
  EXPECT_NE(report.results[4].error.find("not valid JSON"), std::string::npos);
  EXPECT_NE(report.results[5].error.find("neither a STAC Item"), std::string::npos);
  EXPECT_EQ(report.loaded, 2U);
  EXPECT_EQ(catalog_->get_item("a", "m2")["id"], "m2");
}

// Fuzz finding (fuzz_ingest_message): members of the wrong type (a number as
// the bucket name, the type, the event name) made json::value() throw
// type_error out of the message reader instead of failing that message.
TEST_F(Ingest, MessagesWithMembersOfTheWrongTypeFail) {
  const std::vector<std::string> messages = {
      sns(R"({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": 4444}}}]})"),
      R"({"Records": [{"eventName": 7, "s3": {"bucket": "b", "object": {"key": "k"}}}]})",
      R"({"type": 5})",
      R"({"Type": 1, "Event": [], "Message": "x"})",
  };
  const IngestReport report = tessera::ingest_messages(*catalog_, messages);
  ASSERT_EQ(report.results.size(), messages.size());
  for (std::size_t n = 0; n < messages.size(); ++n) {
    EXPECT_EQ(report.results[n].status, "failed") << n << ": " << report.results[n].to_json().dump();
  }
  EXPECT_NE(report.results[0].error.find("lacks s3.bucket.name or s3.object.key"), std::string::npos);
  EXPECT_NE(report.results[1].error.find("lacks s3.bucket.name or s3.object.key"), std::string::npos);
  EXPECT_NE(report.results[2].error.find("neither a STAC Item"), std::string::npos);
  EXPECT_NE(report.results[3].error.find("neither a STAC Item"), std::string::npos);
}

TEST_F(Ingest, DeadLettersKeepEverythingAndReplay) {
  const std::string sink = (dir_.path() / "dead" / "letters.ndjson").string();
  tessera::IngestOptions options;
  options.dead_letter = sink;
  const auto file = write("items.ndjson", item_json("ok").dump() + "\n" + item_json("late", "b").dump() + "\n");
  auto report = tessera::ingest(*catalog_, {file.string()}, options);
  EXPECT_EQ(report.loaded, 1U);
  EXPECT_EQ(report.dead_lettered, 1U);
  report = tessera::ingest_messages(*catalog_, {item_json("m", "b").dump(), "garbage"}, options);
  EXPECT_EQ(report.dead_lettered, 2U);

  std::vector<std::string> records;
  std::ifstream input(sink);
  for (std::string line; std::getline(input, line);) {
    records.push_back(line);
    const json record = json::parse(line);
    EXPECT_EQ(record["tessera_dead_letter"], 1);
    EXPECT_FALSE(record["error"].get<std::string>().empty());
  }
  ASSERT_EQ(records.size(), 3U);
  // Once collection b exists, replaying the records loads what failed.
  catalog_->upsert_collection(make_collection("b"));
  report = tessera::ingest_messages(*catalog_, records);
  EXPECT_EQ(report.loaded, 2U) << report.to_json().dump(2);
  EXPECT_EQ(report.results[2].status, "failed");  // "garbage" stays garbage
  EXPECT_EQ(catalog_->get_item("b", "late")["id"], "late");
  EXPECT_EQ(catalog_->get_item("b", "m")["id"], "m");
}

TEST_F(Ingest, StoragePrefixes) {
  auto storage = tessera::Storage::open((dir_.path() / "store").string());
  storage->put("items/2022/p1.json", item_json("p1").dump());
  storage->put("items/2022/p2.json", item_json("p2").dump());
  storage->put("items/readme.md", "not an item");
  const IngestReport report = tessera::ingest(*catalog_, {storage->uri("items")});
  EXPECT_EQ(report.loaded, 2U) << report.to_json().dump(2);
  EXPECT_EQ(report.results.size(), 2U);
}

TEST_F(Ingest, OversizedMessagesAndObjectsFailUnread) {
  tessera::IngestOptions options;
  options.max_message_bytes = 2000;
  json padded = item_json("big");
  padded["properties"]["padding"] = std::string(2000, 'p');
  const std::vector<std::string> messages = {item_json("small").dump(), padded.dump()};
  IngestReport report = tessera::ingest_messages(*catalog_, messages, options);
  ASSERT_EQ(report.results.size(), 2U);
  EXPECT_EQ(report.results[0].status, "loaded");
  EXPECT_EQ(report.results[1].status, "failed");
  EXPECT_NE(report.results[1].error.find("message of " + std::to_string(messages[1].size()) +
                                         " bytes is larger than max_message_bytes (2000)"),
            std::string::npos)
      << report.results[1].error;
  EXPECT_EQ(tessera::IngestOptions{}.max_message_bytes, std::size_t{1} << 20);
}

// --- With the S3 test server ----------------------------------------------------

class IngestS3 : public Ingest {
 protected:
  void SetUp() override {
    if (std::getenv("TESSERA_TEST_S3_ENDPOINT") == nullptr) {
      GTEST_SKIP() << "no S3 test server (scripts/test.sh starts one)";
    }
    Ingest::SetUp();
    options_.storage_options = {{"endpoint", std::getenv("TESSERA_TEST_S3_ENDPOINT")},
                                {"access_key_id", std::getenv("TESSERA_TEST_S3_ACCESS_KEY")},
                                {"secret_access_key", std::getenv("TESSERA_TEST_S3_SECRET_KEY")}};
    bucket_ = std::getenv("TESSERA_TEST_S3_BUCKET");
    prefix_ = fmt::format("ingest-{}", std::random_device{}());
    storage_ = tessera::Storage::open("s3://" + bucket_ + "/" + prefix_, options_.storage_options);
  }
  tessera::IngestOptions options_;
  std::string bucket_;
  std::string prefix_;
  std::unique_ptr<tessera::Storage> storage_;
};

TEST_F(IngestS3, S3EventsWithEncodedKeysWrappedOrNot) {
  storage_->put("new scenes/a+b.json", item_json("s3a").dump());
  storage_->put("plain.json", item_json("s3b").dump());
  const std::string encoded = prefix_ + "/new+scenes/a%2Bb.json";  // space as '+', '+' as %2B
  const std::vector<std::string> messages = {
      s3_event(bucket_, encoded),
      sns(s3_event(bucket_, prefix_ + "/plain.json")),
      s3_event(bucket_, prefix_ + "/missing.json"),
  };
  const IngestReport report = tessera::ingest_messages(*catalog_, messages, options_);
  ASSERT_EQ(report.results.size(), 3U);
  EXPECT_EQ(report.results[0].status, "loaded") << report.to_json().dump(2);
  EXPECT_EQ(report.results[1].status, "loaded");
  EXPECT_EQ(report.results[2].status, "failed");
  EXPECT_NE(report.results[2].error.find("missing.json"), std::string::npos);
  EXPECT_EQ(catalog_->get_item("a", "s3a")["id"], "s3a");
}

TEST_F(IngestS3, PrefixesAreFetchedInParallel) {
  for (int n = 0; n < 40; ++n) {
    storage_->put(fmt::format("batch/{}.json", n), item_json(fmt::format("p{}", n)).dump());
  }
  options_.parallel_fetches = 8;
  const IngestReport report = tessera::ingest(*catalog_, {"s3://" + bucket_ + "/" + prefix_ + "/batch"}, options_);
  EXPECT_EQ(report.loaded, 40U) << report.to_json().dump(2);
  EXPECT_EQ(report.failed, 0U);
}

TEST_F(IngestS3, AnObjectNamedLikeAFileIsReadAlone) {
  storage_->put("one/a.ndjson", item_json("o1").dump() + "\n" + item_json("o2").dump() + "\n");
  storage_->put("one/b.json", item_json("o3").dump());
  const std::string root = "s3://" + bucket_ + "/" + prefix_ + "/one/";
  const IngestReport report = tessera::ingest(*catalog_, {root + "a.ndjson", root + "missing.json"}, options_);
  ASSERT_EQ(report.results.size(), 2U) << report.to_json().dump(2);
  EXPECT_EQ(report.results[0].source, root + "a.ndjson");
  EXPECT_EQ(report.results[0].loaded, 2U);
  EXPECT_EQ(report.results[1].status, "failed");
  EXPECT_NE(report.results[1].error.find("missing.json"), std::string::npos);
  EXPECT_EQ(report.loaded, 2U);
  tessera::testing::expect_error([&] { (void)catalog_->get_item("a", "o3"); }, tessera::ErrorCode::kNotFound);
}

TEST_F(IngestS3, OversizedObjectsFailUnread) {
  json padded = item_json("large-object");
  padded["properties"]["padding"] = std::string(4000, 'p');
  storage_->put("sized/small.json", item_json("small-object").dump());
  storage_->put("sized/large.json", padded.dump());
  options_.max_object_bytes = 3000;
  // From a prefix and from an S3 event: the large object is refused before it is read.
  IngestReport report = tessera::ingest(*catalog_, {storage_->uri("sized")}, options_);
  EXPECT_EQ(report.loaded, 1U) << report.to_json().dump(2);
  ASSERT_EQ(report.failed, 1U) << report.to_json().dump(2);
  EXPECT_NE(report.to_json().dump().find("is larger than max_object_bytes (3000)"), std::string::npos)
      << report.to_json().dump(2);
  report = tessera::ingest_messages(*catalog_, {s3_event(bucket_, prefix_ + "/sized/large.json")}, options_);
  EXPECT_EQ(report.results.at(0).status, "failed");
  EXPECT_NE(report.results[0].error.find("larger than max_object_bytes"), std::string::npos) << report.results[0].error;
}
