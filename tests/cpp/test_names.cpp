// Every enum has one table of names (in the module that owns it); name,
// from_name and names agree, an unknown name is InvalidInput naming the
// accepted ones, and the C ABI gives the same names.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <tessera/tessera.h>
#include "tessera/tessera.hpp"
#include "test_support.hpp"

namespace {

using tessera::ErrorCode;

// from_name(name(v)) == v for every listed name, and the names are distinct.
template <typename Enum, typename Name, typename FromName>
void expect_round_trip(const std::vector<std::string>& names, Name name, FromName from_name) {
  ASSERT_FALSE(names.empty());
  for (std::size_t n = 0; n < names.size(); ++n) {
    const Enum value = from_name(names[n]);
    EXPECT_EQ(name(value), names[n]);
    for (std::size_t m = n + 1; m < names.size(); ++m) {
      EXPECT_NE(names[n], names[m]);
    }
  }
}

TEST(Names, ErrorCodesHaveOneNameEach) {
  EXPECT_EQ(tessera::error_code_names(), (std::vector<std::string>{"invalid_input", "not_found", "conflict", "io",
                                                                   "unsupported", "internal", "unavailable"}));
  expect_round_trip<ErrorCode>(tessera::error_code_names(), tessera::error_code_name, tessera::error_code_from_name);
  EXPECT_EQ(tessera::error_code_name(ErrorCode::kIo), "io");
  // The name before 0.2 is still read (stored job records may carry it).
  EXPECT_EQ(tessera::error_code_from_name("io_error"), ErrorCode::kIo);
  tessera::testing::expect_error([] { (void)tessera::error_code_from_name("oops"); }, ErrorCode::kInvalidInput,
                                 "unknown error code 'oops' (one of: invalid_input, not_found, conflict, io, ");
  // The C statuses are the same numbers with the same names.
  for (int value = 1; value <= 7; ++value) {
    EXPECT_STREQ(tsr_status_name(static_cast<tsr_status>(value)),
                 std::string(tessera::error_code_name(static_cast<ErrorCode>(value))).c_str());
  }
  EXPECT_STREQ(tsr_status_name(TSR_IO), "io");
  EXPECT_STREQ(tsr_status_name(TSR_OK), "ok");
  int unknown = 99;  // not a constant: converting one out of the enum's range does not compile
  EXPECT_STREQ(tsr_status_name(static_cast<tsr_status>(unknown)), "unknown");
}

TEST(Names, LogLevels) {
  EXPECT_EQ(tessera::log_level_names(), (std::vector<std::string>{"debug", "info", "warning", "error"}));
  expect_round_trip<tessera::LogLevel>(tessera::log_level_names(), tessera::log_level_name,
                                       tessera::log_level_from_name);
  tessera::testing::expect_error([] { (void)tessera::log_level_from_name("loud"); }, ErrorCode::kInvalidInput,
                                 "unknown log level 'loud' (one of: debug, info, warning, error)");
}

TEST(Names, DataTypes) {
  EXPECT_EQ(tessera::data_type_names().size(), 8U);
  expect_round_trip<tessera::DataType>(tessera::data_type_names(), tessera::data_type_name,
                                       tessera::data_type_from_name);
  tessera::testing::expect_error([] { (void)tessera::data_type_from_name("complex64"); }, ErrorCode::kInvalidInput,
                                 "unknown data type 'complex64' (one of: uint8, int8, ");
  // tsr_dtype_name is the same table.
  EXPECT_STREQ(tsr_dtype_name(TSR_DTYPE_FLOAT32), "float32");
}

TEST(Names, Resampling) {
  EXPECT_EQ(tessera::resampling_names().size(), 15U);
  expect_round_trip<tessera::Resampling>(tessera::resampling_names(), tessera::resampling_name,
                                         tessera::resampling_from_name);
  EXPECT_EQ(tessera::resampling_name(tessera::Resampling::kMedian), "med");  // rasterio's name
  tessera::testing::expect_error([] { (void)tessera::resampling_from_name("sharp"); }, ErrorCode::kInvalidInput,
                                 "unknown resampling 'sharp' (one of: nearest, bilinear, ");
}

TEST(Names, PixelSelection) {
  EXPECT_EQ(tessera::pixel_selection_names(),
            (std::vector<std::string>{"first", "highest", "lowest", "mean", "median", "stdev", "count",
                                      "last-band-high", "last-band-low"}));
  expect_round_trip<tessera::PixelSelection>(tessera::pixel_selection_names(), tessera::pixel_selection_name,
                                             tessera::pixel_selection_from_name);
  // TiTiler's spellings are accepted, not listed.
  EXPECT_EQ(tessera::pixel_selection_from_name("lastbandhigh"), tessera::PixelSelection::kLastBandHigh);
  EXPECT_EQ(tessera::pixel_selection_from_name("lastbandlow"), tessera::PixelSelection::kLastBandLow);
  tessera::testing::expect_error([] { (void)tessera::pixel_selection_from_name("loudest"); }, ErrorCode::kInvalidInput,
                                 "unknown pixel selection 'loudest' (one of: first, ");
}

TEST(Names, RenderFormats) {
  const std::vector<std::string> names = tessera::render_format_names();
  EXPECT_EQ(names, (std::vector<std::string>{"png", "jpeg", "jpg", "webp", "tif", "gtiff", "npy"}));
  for (const auto& name : names) {
    EXPECT_FALSE(tessera::render_media_type(name).empty()) << name;
  }
}

}  // namespace
