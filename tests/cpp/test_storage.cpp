// The storage conformance suite: every backend must pass the same tests.
// Backends register a factory in storage_backends(); S3 joins with its issue.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tessera/storage.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using tessera::ErrorCode;
using tessera::Storage;
using tessera::testing::expect_error;
using tessera::testing::TempDir;

namespace {

struct Backend {
  std::string name;
  // Opens a fresh, empty storage; `scratch` is a local folder it may use.
  std::function<std::unique_ptr<Storage>(const fs::path& scratch)> open;
};

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

// The S3 settings of the test server that scripts/test.sh starts
// (TESSERA_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY).
tessera::StorageOptions s3_test_options() {
  return {{"endpoint", std::getenv("TESSERA_TEST_S3_ENDPOINT")},
          {"access_key_id", std::getenv("TESSERA_TEST_S3_ACCESS_KEY")},
          {"secret_access_key", std::getenv("TESSERA_TEST_S3_SECRET_KEY")},
          {"region", "us-east-1"}};
}

std::string s3_test_bucket() { return std::getenv("TESSERA_TEST_S3_BUCKET"); }

// A prefix no earlier run has used: the test server's data outlives a run.
std::string fresh_s3_prefix(const std::string& name) {
  return fmt::format("s3://{}/{}-{}", s3_test_bucket(), name, std::random_device{}());
}

std::vector<Backend> storage_backends() {
  std::vector<Backend> backends = {
      {"local", [](const fs::path& scratch) { return Storage::open((scratch / "root").string()); }},
      {"local_file_uri", [](const fs::path& scratch) { return Storage::open("file://" + (scratch / "r").string()); }},
  };
  if (std::getenv("TESSERA_TEST_S3_ENDPOINT") != nullptr) {
    // Each test gets a fresh prefix in the shared bucket.
    backends.push_back({"s3", [](const fs::path& scratch) {
                          return Storage::open("s3://" + s3_test_bucket() + "/" + scratch.filename().string(),
                                               s3_test_options());
                        }});
  }
  return backends;
}

class StorageConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { storage_ = GetParam().open(scratch_.path()); }
  TempDir scratch_;
  std::unique_ptr<Storage> storage_;
};

}  // namespace

TEST_P(StorageConformance, PutGetExistsStatRemove) {
  const std::string data("binary\0data", 11);
  storage_->put("a/b/c.bin", data);
  EXPECT_TRUE(storage_->exists("a/b/c.bin"));
  EXPECT_FALSE(storage_->exists("a/b/missing.bin"));
  EXPECT_FALSE(storage_->exists("a/b"));  // a folder is not an object
  EXPECT_EQ(storage_->get("a/b/c.bin"), data);
  const auto info = storage_->stat("a/b/c.bin");
  EXPECT_EQ(info.key, "a/b/c.bin");
  EXPECT_EQ(info.size, data.size());
  EXPECT_GT(info.modified_unix_ms, 1600000000000);
  storage_->put("a/b/c.bin", "replaced");
  EXPECT_EQ(storage_->get("a/b/c.bin"), "replaced");
  storage_->remove("a/b/c.bin");
  EXPECT_FALSE(storage_->exists("a/b/c.bin"));
  EXPECT_TRUE(storage_->list("").empty());
}

TEST_P(StorageConformance, EmptyObjectsAndRangeReads) {
  storage_->put("empty", "");
  EXPECT_EQ(storage_->get("empty"), "");
  EXPECT_EQ(storage_->stat("empty").size, 0U);
  storage_->put("digits", "0123456789");
  EXPECT_EQ(storage_->read_range("digits", 2, 3), "234");
  EXPECT_EQ(storage_->read_range("digits", 8, 100), "89");
  EXPECT_EQ(storage_->read_range("digits", 10, 5), "");
}

TEST_P(StorageConformance, PutFileCopiesContent) {
  const fs::path source = scratch_.path() / "source.txt";
  std::ofstream(source) << "from a file";
  storage_->put_file("copied/file.txt", source);
  EXPECT_EQ(storage_->get("copied/file.txt"), "from a file");
  expect_error([&] { storage_->put_file("x", scratch_.path() / "no-such-file"); }, ErrorCode::kNotFound,
               "no-such-file");
}

TEST_P(StorageConformance, ListIsSortedByPrefixAndDepth) {
  for (const char* key : {"b/2.json", "a/1.json", "a/sub/3.json", "ab.json", "c.json"}) {
    storage_->put(key, key);
  }
  EXPECT_EQ(storage_->list(""),
            (std::vector<std::string>{"a/1.json", "a/sub/3.json", "ab.json", "b/2.json", "c.json"}));
  EXPECT_EQ(storage_->list("a"), (std::vector<std::string>{"a/1.json", "a/sub/3.json", "ab.json"}));
  EXPECT_EQ(storage_->list("a/"), (std::vector<std::string>{"a/1.json", "a/sub/3.json"}));
  EXPECT_EQ(storage_->list("a/", false), (std::vector<std::string>{"a/1.json", "a/sub/"}));
  EXPECT_EQ(storage_->list("", false), (std::vector<std::string>{"a/", "ab.json", "b/", "c.json"}));
  EXPECT_TRUE(storage_->list("zzz/").empty());
}

TEST_P(StorageConformance, MissingKeysAreNotFound) {
  expect_error([&] { storage_->get("nope.json"); }, ErrorCode::kNotFound, "nope.json");
  expect_error([&] { storage_->stat("nope.json"); }, ErrorCode::kNotFound, "nope.json");
  expect_error([&] { storage_->remove("nope.json"); }, ErrorCode::kNotFound, "nope.json");
  expect_error([&] { storage_->read_range("nope.json", 0, 1); }, ErrorCode::kNotFound, "nope.json");
}

TEST_P(StorageConformance, KeysEscapingTheRootAreRejected) {
  for (const char* key : {"../escape", "a/../../escape", "/etc/passwd", "", "a//b", "./a", "a\\b"}) {
    expect_error([&] { storage_->put(key, "x"); }, ErrorCode::kInvalidInput);
    expect_error([&] { storage_->get(key); }, ErrorCode::kInvalidInput);
    expect_error([&] { (void)storage_->exists(key); }, ErrorCode::kInvalidInput);
    expect_error([&] { storage_->remove(key); }, ErrorCode::kInvalidInput);
  }
  expect_error([&] { (void)storage_->list("../"); }, ErrorCode::kInvalidInput);
  EXPECT_FALSE(fs::exists(scratch_.path() / "escape"));
  EXPECT_TRUE(storage_->list("").empty());
}

TEST_P(StorageConformance, UriNamesTheKey) {
  storage_->put("dir/file name.tif", "x");
  const std::string uri = storage_->uri("dir/file name.tif");
  EXPECT_TRUE(uri.starts_with(storage_->root_uri())) << uri;
  EXPECT_TRUE(uri.ends_with("dir/file%20name.tif")) << uri;
}

TEST_P(StorageConformance, ConcurrentWritersNeverTearAnObject) {
  const std::string big_a(1 << 20, 'a');
  const std::string big_b(1 << 20, 'b');
  std::atomic<bool> torn{false};
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      storage_->put("shared.bin", (i % 2 == 0) ? big_a : big_b);
    }
  });
  storage_->put("shared.bin", big_a);
  for (int i = 0; i < 40; ++i) {
    const std::string seen = storage_->get("shared.bin");
    if (seen != big_a && seen != big_b) {
      torn = true;
    }
  }
  writer.join();
  EXPECT_FALSE(torn);
  EXPECT_EQ(storage_->list(""), std::vector<std::string>{"shared.bin"});  // no temp files left
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformance, ::testing::ValuesIn(storage_backends()),
                         [](const auto& backend) { return backend.param.name; });

// --- Local-only behaviour --------------------------------------------------

TEST(LocalStorage, SymlinksOutOfTheRootAreRefused) {
  TempDir scratch;
  const fs::path root = scratch.path() / "root";
  const fs::path outside = scratch.path() / "outside";
  fs::create_directories(outside);
  std::ofstream(outside / "secret.txt") << "secret";
  auto storage = Storage::open(root.string());
  fs::create_directory_symlink(outside, root / "link_dir");
  fs::create_symlink(outside / "secret.txt", root / "link_file");

  expect_error([&] { storage->get("link_dir/secret.txt"); }, ErrorCode::kInvalidInput, "outside the storage root");
  expect_error([&] { storage->get("link_file"); }, ErrorCode::kInvalidInput, "outside the storage root");
  expect_error([&] { storage->put("link_dir/new.txt", "x"); }, ErrorCode::kInvalidInput, "outside");
  expect_error([&] { storage->put("link_file", "x"); }, ErrorCode::kInvalidInput, "outside");
  EXPECT_FALSE(fs::exists(outside / "new.txt"));
  EXPECT_EQ(std::ifstream(outside / "secret.txt").rdbuf() != nullptr, true);
  EXPECT_TRUE(storage->list("").empty());  // links out of the root are not listed
}

TEST(LocalStorage, BadUrisAreRejected) {
  expect_error([] { Storage::open(""); }, ErrorCode::kInvalidInput, "empty");
  expect_error([] { Storage::open("relative/dir"); }, ErrorCode::kInvalidInput, "absolute");
  expect_error([] { Storage::open("file://relative"); }, ErrorCode::kInvalidInput, "absolute");
  expect_error([] { Storage::open("ftp://host/dir"); }, ErrorCode::kUnsupported, "ftp");
  expect_error([] { Storage::open("/tmp/x", {{"endpoint", "x"}}); }, ErrorCode::kInvalidInput, "endpoint");
}

TEST(LocalStorage, RemovingTheLastKeyDropsEmptyFolders) {
  TempDir scratch;
  auto storage = Storage::open((scratch.path() / "root").string());
  storage->put("x/y/z.txt", "1");
  storage->remove("x/y/z.txt");
  EXPECT_FALSE(fs::exists(scratch.path() / "root" / "x"));
  EXPECT_TRUE(fs::exists(scratch.path() / "root"));
}

// remove() prunes the folders it empties; writers into a sibling folder under
// the same parent must never see that as an error (it failed CI as "resolves
// outside the storage root" when two package jobs released their locks).
TEST(LocalStorage, WritersSurviveConcurrentFolderPruning) {
  TempDir scratch;
  auto storage = Storage::open((scratch.path() / "root").string());
  auto churn = [&](const std::string& key) {
    for (int i = 0; i < 2000; ++i) {
      storage->put(key, "x");
      storage->remove(key);
    }
  };
  std::thread first([&] { EXPECT_NO_THROW(churn("locks/area/grid/1.json")); });
  std::thread second([&] { EXPECT_NO_THROW(churn("locks/area/sites/2.json")); });
  first.join();
  second.join();
  EXPECT_TRUE(storage->list("", true).empty());
}

// --- S3-only behaviour ----------------------------------------------------------

class S3Storage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("TESSERA_TEST_S3_ENDPOINT") == nullptr) {
      GTEST_SKIP() << "no S3 test server (scripts/test.sh starts one)";
    }
  }
};

TEST_F(S3Storage, MissingBucketBadCredentialsAndMissingKeysAreDistinct) {
  auto missing_bucket = Storage::open("s3://tessera-no-such-bucket/x", s3_test_options());
  expect_error([&] { missing_bucket->put("a", "x"); }, ErrorCode::kNotFound, "bucket 'tessera-no-such-bucket'");
  auto options = s3_test_options();
  options["secret_access_key"] = "wrong-secret";
  {
    auto bad_credentials = Storage::open(fresh_s3_prefix("denied"), options);
    expect_error([&] { bad_credentials->put("a", "x"); }, ErrorCode::kIo, "credentials");
  }
  auto storage = Storage::open(fresh_s3_prefix("missing-key"), s3_test_options());
  expect_error([&] { storage->get("nope"); }, ErrorCode::kNotFound, "nope");
  expect_error(
      [] {
        Storage::open("s3://bucket/x", {{"endpoint_url", "x"}});
      },
      ErrorCode::kInvalidInput, "endpoint_url");
  expect_error([] { Storage::open("s3:///x"); }, ErrorCode::kInvalidInput, "bucket");
}

// GDAL keeps one set of settings per bucket: a second storage on the bucket
// with other credentials is refused instead of silently replacing the first
// one's, and storages coming and going with the same settings never disturb
// a read in flight.
TEST_F(S3Storage, SettingsPerBucketAreNeverOverwrittenWhileInUse) {
  const std::string uri = fresh_s3_prefix("settings");
  auto storage = Storage::open(uri, s3_test_options());
  storage->put("object.bin", std::string(1 << 20, 'x'));
  auto other = s3_test_options();
  other["secret_access_key"] = "another-secret";
  expect_error([&] { Storage::open(fresh_s3_prefix("other"), other); }, ErrorCode::kConflict, "other settings");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread churn([&] {
    while (!stop) {
      auto same = Storage::open(uri, s3_test_options());
      static_cast<void>(same->exists("object.bin"));
    }
  });
  for (int n = 0; n < 30; ++n) {
    try {
      if (storage->get("object.bin").size() != (1U << 20)) {
        ++failures;
      }
    } catch (const tessera::Error&) {
      ++failures;
    }
  }
  stop = true;
  churn.join();
  EXPECT_EQ(failures.load(), 0);
  storage.reset();
  // Once no storage uses the bucket, other settings may be installed.
  EXPECT_NO_THROW(Storage::open(fresh_s3_prefix("later"), other));
}

TEST(S3StorageUris, BucketNamesMustBeDnsCompatible) {
  for (const char* uri : {"s3://ab/x", "s3://UPPER/x", "s3://a..b/x", "s3://-start/x", "s3://end-/x",
                          "s3://192.168.1.1/x", "s3://under_score/x", "s3://dot.-dash/x"}) {
    expect_error([&] { Storage::open(uri); }, ErrorCode::kInvalidInput, "bucket name");
  }
}

TEST_F(S3Storage, LargeObjectsGoUpInParts) {
  auto storage = Storage::open(fresh_s3_prefix("large"), s3_test_options());
  std::string big(12 << 20, '\0');
  for (std::size_t n = 0; n < big.size(); ++n) {
    big[n] = static_cast<char>(n * 31 % 251);
  }
  storage->put("big.bin", big);
  EXPECT_EQ(storage->stat("big.bin").size, big.size());
  EXPECT_EQ(storage->read_range("big.bin", 7 << 20, 16), big.substr(7 << 20, 16));
  EXPECT_EQ(storage->get("big.bin"), big);
  storage->remove("big.bin");
  EXPECT_FALSE(storage->exists("big.bin"));
}

TEST_F(S3Storage, AnotherWriterIsSeenAtOnce) {
  const std::string uri = fresh_s3_prefix("fresh");
  auto reader = Storage::open(uri, s3_test_options());
  EXPECT_TRUE(reader->list("").empty());
  auto writer = Storage::open(uri, s3_test_options());
  writer->put("new.txt", "1");
  EXPECT_EQ(reader->list(""), std::vector<std::string>{"new.txt"});
  writer->put("new.txt", "22");
  EXPECT_EQ(reader->get("new.txt"), "22");
  writer->remove("new.txt");
  EXPECT_FALSE(reader->exists("new.txt"));
}
