// The C ABI seen from C++: statuses, thread-local messages, NULL handling.
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <tessera/tessera.h>
#include "tessera/log.hpp"
#include "test_support.hpp"

using tessera::testing::TempDir;

namespace {

class CApiStorage : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(tsr_storage_open(dir_.path().c_str(), nullptr, &storage_), TSR_OK); }
  void TearDown() override {
    tsr_storage_destroy(&storage_);
    EXPECT_EQ(storage_, nullptr);
  }
  TempDir dir_;
  tsr_storage storage_ = nullptr;
};

}  // namespace

TEST_F(CApiStorage, RoundTrip) {
  ASSERT_EQ(tsr_storage_put(storage_, "k/v.txt", "hello", 5), TSR_OK);
  void* data = nullptr;
  size_t size = 0;
  ASSERT_EQ(tsr_storage_get(storage_, "k/v.txt", &data, &size), TSR_OK);
  EXPECT_EQ(std::string(static_cast<char*>(data), size), "hello");
  tsr_free(data);
  ASSERT_EQ(tsr_storage_read_range(storage_, "k/v.txt", 1, 3, &data, &size), TSR_OK);
  EXPECT_EQ(std::string(static_cast<char*>(data), size), "ell");
  tsr_free(data);
  bool exists = false;
  ASSERT_EQ(tsr_storage_exists(storage_, "k/v.txt", &exists), TSR_OK);
  EXPECT_TRUE(exists);
  char* json = nullptr;
  ASSERT_EQ(tsr_storage_stat(storage_, "k/v.txt", &json), TSR_OK);
  EXPECT_EQ(nlohmann::json::parse(json)["size"], 5);
  tsr_free(json);
  ASSERT_EQ(tsr_storage_list(storage_, nullptr, true, &json), TSR_OK);
  EXPECT_EQ(nlohmann::json::parse(json), nlohmann::json::array({"k/v.txt"}));
  tsr_free(json);
  char* uri = nullptr;
  ASSERT_EQ(tsr_storage_uri(storage_, "k/v.txt", &uri), TSR_OK);
  EXPECT_TRUE(std::string(uri).starts_with("file://"));
  tsr_free(uri);
  ASSERT_EQ(tsr_storage_remove(storage_, "k/v.txt"), TSR_OK);
  EXPECT_STREQ(tsr_last_error_message(), "");
}

TEST_F(CApiStorage, ErrorsBecomeStatusesWithMessages) {
  void* data = nullptr;
  size_t size = 0;
  EXPECT_EQ(tsr_storage_get(storage_, "missing", &data, &size), TSR_NOT_FOUND);
  EXPECT_NE(std::string(tsr_last_error_message()).find("missing"), std::string::npos);
  EXPECT_EQ(data, nullptr);  // out-params untouched on failure
  EXPECT_EQ(tsr_storage_put(storage_, "../x", "a", 1), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("'..'"), std::string::npos);
  EXPECT_STREQ(tsr_status_name(TSR_INVALID_INPUT), "invalid_input");
  EXPECT_STREQ(tsr_status_name(TSR_OK), "ok");
}

TEST_F(CApiStorage, NullArgumentsAreInvalidInput) {
  void* data = nullptr;
  size_t size = 0;
  EXPECT_EQ(tsr_storage_get(nullptr, "k", &data, &size), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("'storage' is NULL"), std::string::npos);
  EXPECT_EQ(tsr_storage_get(storage_, nullptr, &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_storage_get(storage_, "k", nullptr, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_storage_put(storage_, "k", nullptr, 3), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_storage_put(storage_, "k", nullptr, 0), TSR_OK);  // empty object
  EXPECT_EQ(tsr_storage_open(nullptr, nullptr, &storage_), TSR_INVALID_INPUT);
  tsr_storage_destroy(nullptr);  // null-safe
  tsr_storage none = nullptr;
  tsr_storage_destroy(&none);
}

TEST(CApi, LastErrorIsThreadLocal) {
  tsr_storage storage = nullptr;
  EXPECT_EQ(tsr_storage_open("relative", nullptr, &storage), TSR_INVALID_INPUT);
  std::string other_thread_message = "unset";
  std::thread([&] { other_thread_message = tsr_last_error_message(); }).join();
  EXPECT_EQ(other_thread_message, "");
  EXPECT_NE(std::string(tsr_last_error_message()), "");
}

TEST(CApi, OptionsStructIsVersioned) {
  tsr_storage_options options;
  EXPECT_EQ(tsr_storage_options_init(&options, 99), TSR_INVALID_INPUT);
  ASSERT_EQ(tsr_storage_options_init(&options, TSR_STORAGE_OPTIONS_VERSION), TSR_OK);
  EXPECT_EQ(options.options_json, nullptr);
  TempDir dir;
  tsr_storage storage = nullptr;
  options.options_json = "{\"region\": \"x\"}";
  EXPECT_EQ(tsr_storage_open(dir.path().c_str(), &options, &storage), TSR_INVALID_INPUT);  // local takes none
  options.options_json = "[1]";
  EXPECT_EQ(tsr_storage_open(dir.path().c_str(), &options, &storage), TSR_INVALID_INPUT);
  options.version = 0;
  EXPECT_EQ(tsr_storage_open(dir.path().c_str(), &options, &storage), TSR_INVALID_INPUT);
  EXPECT_EQ(storage, nullptr);
}

TEST(CApi, LogCallbackReceivesMessages) {
  static std::string received;
  ASSERT_EQ(tsr_set_log_callback([](tsr_log_level, const char* message, void*) { received = message; }, TSR_LOG_DEBUG,
                                 nullptr),
            TSR_OK);
  tessera::log(tessera::LogLevel::kInfo, "through the C callback");
  EXPECT_EQ(received, "through the C callback");
  ASSERT_EQ(tsr_set_log_callback(nullptr, TSR_LOG_DEBUG, nullptr), TSR_OK);
}
