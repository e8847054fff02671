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
  EXPECT_EQ(static_cast<int>(tessera::ErrorCode::kIo), TSR_IO);
  EXPECT_EQ(TSR_IO_ERROR, TSR_IO);  // the deprecated name
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

// Secrets never leave through an error message: connection-string and URL
// passwords, presigned signatures and the values of secret host variables.
TEST(Error, MessagesAreRedacted) {
  ::setenv("TESSERA_TEST_SECRET_TOKEN", "host-secret-5d1e", 1);
  const auto redacted = [](const std::string& message) {
    return std::string(tessera::Error(tessera::ErrorCode::kUnavailable, message).what());
  };
  EXPECT_EQ(redacted("cannot connect to PG:dbname=x password=pg-pass-1 host=h"),
            "cannot connect to PG:dbname=x password=*** host=h");
  EXPECT_EQ(redacted("libpq: host=h password='quoted pass' port=1"), "libpq: host=h password=*** port=1");
  EXPECT_EQ(redacted("postgresql://alice:url-pass-2@db:5432/stac refused"),
            "postgresql://alice:***@db:5432/stac refused");
  EXPECT_EQ(redacted("GET https://b.s3.amazonaws.com/k.tif?X-Amz-Credential=AKIAX%2F1&X-Amz-Signature=abc123&x=1"),
            "GET https://b.s3.amazonaws.com/k.tif?X-Amz-Credential=***&X-Amz-Signature=***&x=1");
  EXPECT_EQ(redacted("blob https://a.blob.core.windows.net/c/k?sv=1&sig=sas-sig%3D"),
            "blob https://a.blob.core.windows.net/c/k?sv=1&sig=***");
  EXPECT_EQ(redacted("token host-secret-5d1e leaked twice: host-secret-5d1e"), "token *** leaked twice: ***");
  // Found by fuzz_redact: an empty value right before another key once hid it.
  EXPECT_EQ(redacted("x password= password=hidden-2 y"), "x password= password=*** y");
  // Nothing else changes.
  EXPECT_EQ(redacted("user@host:5432 https://example.com/a?b=c"), "user@host:5432 https://example.com/a?b=c");
  ::unsetenv("TESSERA_TEST_SECRET_TOKEN");
}
