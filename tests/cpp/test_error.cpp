#include <gtest/gtest.h>

#include <tessera/tessera.h>
#include "tessera/tessera.hpp"

TEST(Error, CarriesCodeAndMessage) {
  const tessera::Error error(tessera::ErrorCode::kNotFound, "key 'a' not found");
  EXPECT_EQ(error.code(), tessera::ErrorCode::kNotFound);
  EXPECT_STREQ(error.what(), "key 'a' not found");
  EXPECT_FALSE(error.retryable());
  EXPECT_TRUE(tessera::Error(tessera::ErrorCode::kUnavailable, "busy").retryable());
}

TEST(Error, CodesMatchCStatusValues) {
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kInvalidInput), TSR_INVALID_INPUT);
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kNotFound), TSR_NOT_FOUND);
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kConflict), TSR_CONFLICT);
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kIo), TSR_IO_ERROR);
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kUnsupported), TSR_UNSUPPORTED);
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kInternal), TSR_INTERNAL);
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kUnavailable), TSR_UNAVAILABLE);
  EXPECT_EQ(tessera::error_code_name(tessera::ErrorCode::kConflict), "conflict");
}

TEST(Version, ReportsLibraryAndDependencies) {
  EXPECT_STREQ(tessera::version(), TESSERA_VERSION_STRING);
  const auto versions = tessera::dependency_versions();
  for (const char* name : {"gdal", "proj", "sqlite", "fmt", "nlohmann_json"}) {
    ASSERT_TRUE(versions.contains(name)) << name;
    EXPECT_FALSE(versions[name].get<std::string>().empty()) << name;
  }
}

TEST(Log, CallbackReceivesMessagesAtOrAboveLevel) {
  std::vector<std::pair<tessera::LogLevel, std::string>> seen;
  tessera::set_log_callback(
      [&](tessera::LogLevel level, std::string_view message) { seen.emplace_back(level, std::string(message)); },
      tessera::LogLevel::kInfo);
  tessera::log(tessera::LogLevel::kDebug, "hidden");
  tessera::log(tessera::LogLevel::kWarning, "shown");
  tessera::set_log_callback(nullptr);
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].first, tessera::LogLevel::kWarning);
  EXPECT_EQ(seen[0].second, "shown");
}
