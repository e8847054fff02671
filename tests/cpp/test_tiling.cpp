#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include <gdal_priv.h>
#include <limits>

#include <gtest/gtest.h>

#include "tessera/tiling.hpp"
#include "test_support.hpp"

namespace tessera {
namespace {

using testing::expect_error;
using testing::TempDir;

// A WebMercator GeoTIFF whose full resolution holds 10 and whose overview n
// (0 = half size) holds 10 * (n + 2), so a tile's value names the level read.
std::string levels_raster(const std::filesystem::path& folder) {
  GDALAllRegister();
  const std::string path = (folder / "levels.tif").string();
  constexpr int kSize = 4096;
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  const char* options[] = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", nullptr};
  GDALDatasetUniquePtr dataset(driver->Create(path.c_str(), kSize, kSize, 1, GDT_Byte, const_cast<char**>(options)));
  std::array<double, 6> transform = {1000000, 10, 0, 6000000, 0, -10};
  dataset->SetGeoTransform(transform.data());
  OGRSpatialReference mercator;
  mercator.importFromEPSG(3857);
  dataset->SetSpatialRef(&mercator);
  dataset->GetRasterBand(1)->Fill(10);
  int levels[] = {2, 4, 8, 16};
  EXPECT_EQ(dataset->BuildOverviews("NEAREST", 4, levels, 0, nullptr, nullptr, nullptr), CE_None);
  for (int n = 0; n < 4; ++n) {
    dataset->GetRasterBand(1)->GetOverview(n)->Fill(10 * (n + 2));
  }
  return path;
}

// A 2-band uint16 UTM raster: band 1 = column + 1, band 2 = 5; nodata 0 in the first rows.
std::string bands_raster(const std::filesystem::path& folder) {
  GDALAllRegister();
  const std::string path = (folder / "bands.tif").string();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDatasetUniquePtr dataset(driver->Create(path.c_str(), 400, 300, 2, GDT_UInt16, nullptr));
  std::array<double, 6> transform = {500000, 20, 0, 5200000, 0, -20};
  dataset->SetGeoTransform(transform.data());
  OGRSpatialReference utm;
  utm.importFromEPSG(32633);
  dataset->SetSpatialRef(&utm);
  std::vector<std::uint16_t> row(400);
  for (int y = 0; y < 300; ++y) {
    for (int x = 0; x < 400; ++x) {
      row[static_cast<std::size_t>(x)] = y < 5 ? 0 : static_cast<std::uint16_t>(x + 1);
    }
    EXPECT_EQ(dataset->GetRasterBand(1)->RasterIO(GF_Write, 0, y, 400, 1, row.data(), 400, 1, GDT_UInt16, 0, 0),
              CE_None);
  }
  dataset->GetRasterBand(2)->Fill(5);
  for (int b = 1; b <= 2; ++b) {
    dataset->GetRasterBand(b)->SetNoDataValue(0);
  }
  return path;
}

// A uint8 UTM raster with an alpha band: band 1 is 1 where the alpha is 255
// (left half), 2 where it is 128 (right half, top) and 3 where it is 0.
std::string partly_transparent_raster(const std::filesystem::path& folder) {
  GDALAllRegister();
  const std::string path = (folder / "alpha.tif").string();
  constexpr int kSize = 200;
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  const char* options[] = {"ALPHA=YES", nullptr};
  GDALDatasetUniquePtr dataset(driver->Create(path.c_str(), kSize, kSize, 2, GDT_Byte, const_cast<char**>(options)));
  std::array<double, 6> transform = {500000, 20, 0, 5200000, 0, -20};
  dataset->SetGeoTransform(transform.data());
  OGRSpatialReference utm;
  utm.importFromEPSG(32633);
  dataset->SetSpatialRef(&utm);
  std::vector<std::uint8_t> values(kSize * kSize);
  std::vector<std::uint8_t> alpha(kSize * kSize);
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) {
      const std::size_t p = static_cast<std::size_t>(y) * kSize + static_cast<std::size_t>(x);
      const bool left = x < kSize / 2;
      values[p] = left ? 1 : (y < kSize / 2 ? 2 : 3);
      alpha[p] = left ? 255 : (y < kSize / 2 ? 128 : 0);
    }
  }
  EXPECT_EQ(
      dataset->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, kSize, kSize, values.data(), kSize, kSize, GDT_Byte, 0, 0),
      CE_None);
  EXPECT_EQ(
      dataset->GetRasterBand(2)->RasterIO(GF_Write, 0, 0, kSize, kSize, alpha.data(), kSize, kSize, GDT_Byte, 0, 0),
      CE_None);
  EXPECT_EQ(dataset->GetRasterBand(2)->GetColorInterpretation(), GCI_AlphaBand);
  return path;
}

Tile centre_tile(const std::string& href, int z) {
  const Bbox bounds = raster_info(href).geographic_bounds;
  return TileMatrixSet::web_mercator_quad().tile((bounds.minx + bounds.maxx) / 2, (bounds.miny + bounds.maxy) / 2, z);
}

class TilingTest : public ::testing::Test {
 protected:
  void SetUp() override { configure({}); }
  void TearDown() override { configure({}); }
  TempDir dir_;
};

TEST_F(TilingTest, OverviewLevelPerZoomMatchesRioTiler) {
  const std::string href = levels_raster(dir_.path());
  // The levels rio-tiler reads (7.9 and 9.4 alike) for the centre tile of each zoom (see
  // tests/python/test_tiling_fidelity.py, which checks it against rio-tiler).
  const std::map<int, int> expected = {{9, 50}, {10, 50}, {11, 40}, {12, 30}, {13, 20}, {14, 10}, {15, 10}};
  for (const auto& [z, value] : expected) {
    const Tile tile = centre_tile(href, z);
    const ImageData image = read_tile(href, TileMatrixSet::web_mercator_quad(), tile);
    std::map<int, int> counts;
    for (std::size_t p = 0; p < image.pixel_count(); ++p) {
      if (image.mask()[p] != 0) {
        ++counts[image.band<std::uint8_t>(0)[p]];
      }
    }
    ASSERT_FALSE(counts.empty()) << "zoom " << z;
    const auto most = std::max_element(counts.begin(), counts.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    EXPECT_EQ(most->first, value) << "zoom " << z;
  }
}

TEST_F(TilingTest, TileValuesMaskAndBands) {
  const std::string href = bands_raster(dir_.path());
  const Tile tile = centre_tile(href, 14);
  ReadOptions options;
  options.indexes = {2};
  const ImageData image = read_tile(href, TileMatrixSet::web_mercator_quad(), tile, 256, options);
  ASSERT_EQ(image.band_count(), 1);
  EXPECT_EQ(image.data_type(), DataType::kUInt16);
  EXPECT_EQ(image.band_names, std::vector<std::string>{"b2"});
  for (std::size_t p = 0; p < image.pixel_count(); ++p) {
    ASSERT_TRUE(image.mask()[p] == 0 || image.mask()[p] == 255);
    if (image.mask()[p] == 255) {
      ASSERT_EQ(image.band<std::uint16_t>(0)[p], 5);
    }
  }
  options.indexes.clear();
  options.expression = "b1 + b2; b2 * 2";
  const ImageData computed = read_tile(href, TileMatrixSet::web_mercator_quad(), tile, 64, options);
  EXPECT_EQ(computed.data_type(), DataType::kFloat64);
  EXPECT_EQ(computed.band_count(), 2);
  EXPECT_EQ(computed.width(), 64);
}

// rio-tiler 8+ masks every pixel whose alpha is not fully opaque (7.x kept
// any non-zero alpha), so half-transparent pixels are invalid.
TEST_F(TilingTest, OnlyFullyOpaqueAlphaIsValid) {
  const std::string href = partly_transparent_raster(dir_.path());
  const ImageData image = read_tile(href, TileMatrixSet::web_mercator_quad(), centre_tile(href, 13));
  ASSERT_EQ(image.band_count(), 1);  // the alpha band is the mask, not data
  std::map<int, int> valid;
  std::map<int, int> invalid;
  for (std::size_t p = 0; p < image.pixel_count(); ++p) {
    ASSERT_TRUE(image.mask()[p] == 0 || image.mask()[p] == 255);
    ++(image.mask()[p] == 255 ? valid : invalid)[image.band<std::uint8_t>(0)[p]];
  }
  EXPECT_GT(valid[1], 0);
  EXPECT_EQ(valid.count(2), 0U);  // alpha 128
  EXPECT_GT(invalid[2], 0);       // ... was read: the tile covers it
  EXPECT_EQ(valid.count(3), 0U);  // alpha 0
}

TEST_F(TilingTest, PointPreviewInfoStatistics) {
  const std::string href = bands_raster(dir_.path());
  const RasterInfo info = raster_info(href);
  EXPECT_EQ(info.crs, "EPSG:32633");
  EXPECT_EQ(info.nodata_type, "Nodata");
  EXPECT_EQ(info.dtype, DataType::kUInt16);
  EXPECT_EQ(info.nodata_value, 0.0);
  ASSERT_EQ(info.count(), 2);
  EXPECT_EQ(info.bands[1].name, "b2");
  EXPECT_EQ(info.bands[0].scale, 1.0);
  const Bbox bounds = info.geographic_bounds;
  const double lon = (bounds.minx + bounds.maxx) / 2;
  const double lat = (bounds.miny + bounds.maxy) / 2;
  const PointData point = read_point(href, lon, lat);
  ASSERT_EQ(point.values.size(), 2U);
  EXPECT_FALSE(point.masked);
  EXPECT_EQ(point.values[1], 5);
  const ImageData preview = read_preview(href, 100);
  EXPECT_EQ(preview.width(), 100);
  EXPECT_EQ(preview.height(), 75);
  StatisticsOptions statistics;
  statistics.max_size = 0;
  const std::vector<BandStatistics> stats = raster_statistics(href, statistics);
  ASSERT_EQ(stats.size(), 2U);
  EXPECT_EQ(stats[0].band, "b1");
  EXPECT_EQ(stats[1].min, 5.0);
  EXPECT_EQ(stats[1].valid_pixels, 400U * 300);
  EXPECT_EQ(stats[0].valid_pixels, 400U * 295);  // its own nodata rows left out
  EXPECT_EQ(stats[0].max, 400.0);
  // The JSON the C ABI and Python hand out: rio-tiler's keys, counts as floats.
  const nlohmann::json json = to_json(stats);
  EXPECT_EQ(json["b2"]["min"], 5);
  EXPECT_EQ(json["b2"]["valid_pixels"], 400.0 * 300);
  EXPECT_EQ(json["b1"]["max"], 400);
  EXPECT_EQ(json["b1"]["percentile_98"], stats[0].percentiles[1].value);
  EXPECT_EQ(json["b1"]["histogram"][0].size(), 10U);
  EXPECT_EQ(json["b1"]["histogram"][1].size(), 11U);
  const nlohmann::json info_json = info.to_json();
  EXPECT_EQ(info_json["dtype"], "uint16");
  EXPECT_EQ(info_json["count"], 2);
  EXPECT_EQ(info_json["nodata_value"], 0.0);
  EXPECT_EQ(info_json["band_descriptions"][1][0], "b2");
  EXPECT_EQ(info_json["geographic_bounds"][0], info.geographic_bounds.minx);
  const auto document = tilejson(href, "https://t.example/{z}/{x}/{y}.png");
  EXPECT_EQ(document["tilejson"], "3.0.0");
}

TEST_F(TilingTest, ConcurrentReadsAgree) {
  const std::string href = bands_raster(dir_.path());
  const Tile tile = centre_tile(href, 13);
  const ImageData reference = read_tile(href, TileMatrixSet::web_mercator_quad(), tile);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 10; ++n) {
        const ImageData image = read_tile(href, TileMatrixSet::web_mercator_quad(), tile);
        if (std::memcmp(image.band_data(0), reference.band_data(0), image.pixel_count() * 2 * 2) != 0) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(TilingTest, AllowListAndBadInput) {
  const std::string href = bands_raster(dir_.path());
  const TileMatrixSet& tms = TileMatrixSet::web_mercator_quad();
  const Tile tile = centre_tile(href, 13);
  expect_error([&] { raster_info("https://example.com/a.tif"); }, ErrorCode::kInvalidInput, "allowed URL prefix");
  expect_error([&] { raster_info("/vsicurl/https://example.com/a.tif"); }, ErrorCode::kInvalidInput, "/vsi");
  expect_error([&] { raster_info("ftp://example.com/a.tif"); }, ErrorCode::kInvalidInput, "only local paths");
  ReaderConfig config;
  config.allowed_roots = {(dir_.path() / "elsewhere").string()};
  configure(config);
  expect_error([&] { raster_info(href); }, ErrorCode::kInvalidInput, "outside the allowed local folders");
  config.allowed_roots = {dir_.path().string()};
  configure(config);
  EXPECT_EQ(raster_info(href).count(), 2);
  expect_error([&] { read_tile((dir_.path() / "missing.tif").string(), tms, tile); }, ErrorCode::kNotFound,
               "does not exist");
  expect_error([&] { read_tile(href, tms, {2, 9, 0}); }, ErrorCode::kInvalidInput, "outside WebMercatorQuad");
  expect_error([&] { read_tile(href, tms, {3, 0, 0}); }, ErrorCode::kNotFound, "outside the bounds");
  expect_error([&] { read_tile(href, tms, tile, 0); }, ErrorCode::kInvalidInput, "image size");
  expect_error([&] { read_tile(href, tms, tile, 1 << 20); }, ErrorCode::kInvalidInput, "image size");
  ReadOptions options;
  options.indexes = {3};
  expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "band 3 does not exist");
  options.indexes.clear();
  options.expression = "b1 + (b2";
  expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "position");
  // An expression naming no band once reached .front() of an empty band list (SIGSEGV).
  for (const char* constant : {"1", "2 * 3", "1; 2"}) {
    options.expression = constant;
    expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "names no band");
    const Bbox bounds = raster_info(href).geographic_bounds;
    const double lon = (bounds.minx + bounds.maxx) / 2;
    const double lat = (bounds.miny + bounds.maxy) / 2;
    expect_error([&] { read_point(href, lon, lat, options); }, ErrorCode::kInvalidInput, "names no band");
  }
  options.expression.clear();
  // A buffer is checked against the size limit before anything is allocated,
  // and a non-finite or huge one never reaches an int conversion.
  for (const double buffer : {20000.0, 45000.0, 1e300, std::numeric_limits<double>::infinity(), -1.0, 0.3,
                              std::numeric_limits<double>::quiet_NaN()}) {
    options.buffer = buffer;
    expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "buffer");
  }
  options.buffer = 0;
  // Repeated band indexes count each time against the request budget.
  options.indexes.assign(10000, 1);
  expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "max_request_values");
  options.indexes = {1, 2};
  ReaderConfig budget = reader_config();
  budget.max_request_values = 256 * 256 * 2;
  configure(budget);
  EXPECT_EQ(read_tile(href, tms, tile, 256, options).band_count(), 2);
  options.indexes = {1, 2, 1};
  expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "max_request_values");
  options.indexes.clear();
  options.expression = "b1 + b2";  // two inputs and one output beside the two bands read
  expect_error([&] { read_tile(href, tms, tile, 256, options); }, ErrorCode::kInvalidInput, "max_request_values");
  options.expression.clear();
  configure(ReaderConfig{});
  expect_error([&] { resampling_from_name("sharp"); }, ErrorCode::kInvalidInput, "unknown resampling");
  expect_error([&] { read_point(href, 100, 10); }, ErrorCode::kNotFound, "outside the bounds");
}

}  // namespace
}  // namespace tessera
