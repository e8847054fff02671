// The C ABI seen from C++: statuses, thread-local messages, NULL handling.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <nlohmann/json.hpp>

#include <tessera/tessera.h>
#include "catalog_fixtures.hpp"
#include "tessera/log.hpp"
#include "tessera/tms.hpp"
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

// ---- Tiling ----------------------------------------------------------------

namespace {

// A 256x256 uint16 GeoTIFF in EPSG:32633 (UTM 33N, 10 m pixels, upper-left
// corner 500000/5000000, around 15.016E 45.142N): value = 1 + row + column,
// nodata 0 in the top-left 16x16 block; made in MEM, copied to a tiled
// GTiff and given internal overviews.
std::string write_utm_raster(const std::filesystem::path& path) {
  GDALAllRegister();
  GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr source(memory->Create("", 256, 256, 1, GDT_UInt16, nullptr));
  std::array<double, 6> transform = {500000, 10, 0, 5000000, 0, -10};
  source->SetGeoTransform(transform.data());
  OGRSpatialReference utm;
  utm.importFromEPSG(32633);
  source->SetSpatialRef(&utm);
  std::vector<std::uint16_t> values(256 * 256);
  for (int row = 0; row < 256; ++row) {
    for (int column = 0; column < 256; ++column) {
      values[static_cast<std::size_t>(row * 256 + column)] =
          row < 16 && column < 16 ? 0 : static_cast<std::uint16_t>(1 + row + column);
    }
  }
  GDALRasterBand* band = source->GetRasterBand(1);
  EXPECT_EQ(band->RasterIO(GF_Write, 0, 0, 256, 256, values.data(), 256, 256, GDT_UInt16, 0, 0), CE_None);
  band->SetNoDataValue(0);
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  const char* options[] = {"TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=128", nullptr};
  GDALDatasetUniquePtr written(
      gtiff->CreateCopy(path.c_str(), source.get(), FALSE, const_cast<char**>(options), nullptr, nullptr));
  EXPECT_NE(written, nullptr);
  int levels[] = {2, 4};
  EXPECT_EQ(
      GDALBuildOverviews(GDALDataset::ToHandle(written.get()), "NEAREST", 2, levels, 0, nullptr, nullptr, nullptr),
      CE_None);
  return path.string();
}

// The WGS84 longitude/latitude of the centre of pixel (column, row) of write_utm_raster's raster.
std::array<double, 2> pixel_centre(int column, int row) {
  OGRSpatialReference utm;
  utm.importFromEPSG(32633);
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> transformation(OGRCreateCoordinateTransformation(&utm, &wgs84));
  double x = 500000 + 10 * (column + 0.5);
  double y = 5000000 - 10 * (row + 0.5);
  EXPECT_TRUE(transformation->Transform(1, &x, &y));
  return {x, y};
}

std::string message() { return tsr_last_error_message(); }

// A JSON result handed out by the C API, parsed and freed.
nlohmann::json take_json(char* text) {
  EXPECT_NE(text, nullptr);
  nlohmann::json value = nlohmann::json::parse(text);
  tsr_free(text);
  return value;
}

// The WebMercatorQuad tile at zoom 14 that the raster covers completely.
constexpr int kZ = 14;
constexpr std::int64_t kX = 8875;
constexpr std::int64_t kY = 5884;

class CApiTiling : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(tsr_configure_reader(nullptr), TSR_OK);
    href_ = write_utm_raster(dir_.path() / "utm.tif");
  }
  void TearDown() override { EXPECT_EQ(tsr_configure_reader(nullptr), TSR_OK); }

  tessera::testing::TempDir dir_;
  std::string href_;
};

}  // namespace

TEST_F(CApiTiling, TileShapeValuesMaskAndRender) {
  tsr_image image = nullptr;
  ASSERT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, kX, kY, "{\"tilesize\": 256}", &image), TSR_OK) << message();
  int bands = 0;
  int height = 0;
  int width = 0;
  ASSERT_EQ(tsr_image_shape(image, &bands, &height, &width), TSR_OK);
  EXPECT_EQ(bands, 1);
  EXPECT_EQ(height, 256);
  EXPECT_EQ(width, 256);
  EXPECT_EQ(tsr_image_dtype(image), TSR_DTYPE_UINT16);
  EXPECT_STREQ(tsr_dtype_name(tsr_image_dtype(image)), "uint16");
  const auto* values = static_cast<const std::uint16_t*>(tsr_image_data(image));
  const std::uint8_t* mask = tsr_image_mask(image);
  ASSERT_NE(values, nullptr);
  ASSERT_NE(mask, nullptr);
  for (int p = 0; p < 256 * 256; ++p) {
    ASSERT_EQ(mask[p], 255) << "pixel " << p;  // the raster covers the whole tile
    ASSERT_GE(values[p], 17);
    ASSERT_LE(values[p], 511);
  }
  // Nearest resampling: values grow to the east (x) and to the south (y).
  EXPECT_LT(values[0], values[255]);
  EXPECT_LT(values[0], values[255 * 256]);

  char* json = nullptr;
  ASSERT_EQ(tsr_image_info(image, &json), TSR_OK);
  const auto info = take_json(json);
  EXPECT_EQ(info["band_names"], nlohmann::json::array({"b1"}));
  EXPECT_EQ(info["dtype"], "uint16");
  EXPECT_NE(info["crs_wkt"].get<std::string>().find("3857"), std::string::npos);

  void* data = nullptr;
  size_t size = 0;
  ASSERT_EQ(tsr_image_render(image, "{\"format\": \"png\", \"rescale\": [[0, 511]], \"colormap\": \"viridis\"}", &data,
                             &size),
            TSR_OK)
      << message();
  ASSERT_GT(size, 8U);
  EXPECT_EQ(std::memcmp(data, "\x89PNG\r\n\x1a\n", 8), 0);
  tsr_free(data);
  ASSERT_EQ(tsr_image_render(image, "{\"format\": \"npy\"}", &data, &size), TSR_OK) << message();
  EXPECT_EQ(std::memcmp(data, "\x93NUMPY", 6), 0);
  tsr_free(data);
  ASSERT_EQ(tsr_image_render(image, nullptr, &data, &size), TSR_OK) << message();  // PNG (uint16)
  EXPECT_EQ(std::memcmp(data, "\x89PNG", 4), 0);
  tsr_free(data);
  EXPECT_STREQ(tsr_render_media_type("png"), "image/png");
  EXPECT_STREQ(tsr_render_media_type("JPEG"), "image/jpeg");
  EXPECT_EQ(tsr_render_media_type("gif"), nullptr);
  EXPECT_NE(message().find("gif"), std::string::npos);
  tsr_image_destroy(&image);
  EXPECT_EQ(image, nullptr);
}

TEST_F(CApiTiling, TileOptionsAndTileMatrixSets) {
  tsr_image image = nullptr;
  // An expression, a buffer and a TMS given by name and as a document.
  ASSERT_EQ(tsr_read_tile(href_.c_str(), "WebMercatorQuad", kZ, kX, kY,
                          "{\"expression\": \"b1 * 2; b1\", \"resampling\": \"bilinear\", \"buffer\": 2, "
                          "\"tilesize\": 128, \"nodata\": null}",
                          &image),
            TSR_OK)
      << message();
  int bands = 0;
  int height = 0;
  int width = 0;
  ASSERT_EQ(tsr_image_shape(image, &bands, &height, &width), TSR_OK);
  EXPECT_EQ(bands, 2);
  EXPECT_EQ(height, 132);
  EXPECT_EQ(width, 132);
  char* json = nullptr;
  ASSERT_EQ(tsr_image_info(image, &json), TSR_OK);
  EXPECT_EQ(take_json(json)["band_names"].size(), 2U);
  tsr_image_destroy(&image);

  const std::string document = tessera::TileMatrixSet::web_mercator_quad().to_json().dump();
  ASSERT_EQ(tsr_read_tile(href_.c_str(), document.c_str(), kZ, kX, kY, "{\"indexes\": [1]}", &image), TSR_OK)
      << message();
  tsr_image_destroy(&image);
  // A tile of a UTM grid (custom TMS over the CRS's area of use).
  char* info = nullptr;
  ASSERT_EQ(tsr_raster_info(href_.c_str(), "EPSG:32633", &info), TSR_OK) << message();
  const auto utm_info = take_json(info);
  EXPECT_EQ(utm_info["tms"], "EPSG:32633");
  EXPECT_EQ(tsr_read_tile(href_.c_str(), "NoSuchSet", kZ, kX, kY, nullptr, &image), TSR_NOT_FOUND);
  EXPECT_NE(message().find("NoSuchSet"), std::string::npos);
  EXPECT_EQ(tsr_read_tile(href_.c_str(), "{\"id\": 1}", kZ, kX, kY, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_EQ(image, nullptr);
}

TEST_F(CApiTiling, PreviewPartFeaturePoint) {
  tsr_image image = nullptr;
  ASSERT_EQ(tsr_read_preview(href_.c_str(), "{\"max_size\": 64}", &image), TSR_OK) << message();
  int bands = 0;
  int height = 0;
  int width = 0;
  ASSERT_EQ(tsr_image_shape(image, &bands, &height, &width), TSR_OK);
  EXPECT_EQ(height, 64);
  EXPECT_EQ(width, 64);
  const std::uint8_t* mask = tsr_image_mask(image);
  EXPECT_EQ(mask[0], 0);  // the nodata block, at a quarter of the size
  EXPECT_EQ(mask[3 * 64 + 3], 0);
  EXPECT_EQ(mask[4 * 64 + 4], 255);
  EXPECT_EQ(mask[63 * 64 + 63], 255);
  tsr_image_destroy(&image);

  // A part in the raster's own CRS at native resolution.
  const double bbox[4] = {500000, 4999000, 501000, 5000000};
  ASSERT_EQ(tsr_read_part(href_.c_str(), bbox, "{\"bbox_crs\": \"EPSG:32633\", \"max_size\": 0}", &image), TSR_OK)
      << message();
  ASSERT_EQ(tsr_image_shape(image, &bands, &height, &width), TSR_OK);
  EXPECT_EQ(height, 100);
  EXPECT_EQ(width, 100);
  EXPECT_EQ(static_cast<const std::uint16_t*>(tsr_image_data(image))[99 * 100 + 99], 1 + 99 + 99);
  tsr_image_destroy(&image);

  // A feature: a triangle over the raster's centre, in WGS84; pixels outside it are masked.
  const auto a = pixel_centre(64, 64);
  const auto b = pixel_centre(192, 64);
  const auto c = pixel_centre(64, 192);
  const nlohmann::json triangle = {
      {"type", "Feature"},
      {"properties", nlohmann::json::object()},
      {"geometry", {{"type", "Polygon"}, {"coordinates", {{{a[0], a[1]}, {b[0], b[1]}, {c[0], c[1]}, {a[0], a[1]}}}}}}};
  ASSERT_EQ(tsr_read_feature(href_.c_str(), triangle.dump().c_str(),
                             "{\"max_size\": 64, \"width\": 64, \"height\": 64}", &image),
            TSR_OK)
      << message();
  mask = tsr_image_mask(image);
  EXPECT_EQ(mask[2 * 64 + 2], 255);  // near the right angle
  EXPECT_EQ(mask[62 * 64 + 62], 0);  // beyond the hypotenuse
  tsr_image_destroy(&image);
  EXPECT_EQ(tsr_read_feature(href_.c_str(), "{not json", nullptr, &image), TSR_INVALID_INPUT);

  // Points: a valid pixel, a nodata pixel, a point outside the raster.
  const auto inside = pixel_centre(128, 100);
  char* json = nullptr;
  ASSERT_EQ(tsr_read_point(href_.c_str(), inside[0], inside[1], nullptr, &json), TSR_OK) << message();
  auto point = take_json(json);
  EXPECT_EQ(point["values"], nlohmann::json::array({1 + 100 + 128}));
  EXPECT_EQ(point["band_names"], nlohmann::json::array({"b1"}));
  EXPECT_EQ(point["masked"], false);
  ASSERT_EQ(tsr_read_point(href_.c_str(), inside[0], inside[1], "{\"expression\": \"b1 + 1\"}", &json), TSR_OK);
  EXPECT_EQ(take_json(json)["values"], nlohmann::json::array({1 + 100 + 128 + 1}));
  const auto masked = pixel_centre(3, 3);
  ASSERT_EQ(tsr_read_point(href_.c_str(), masked[0], masked[1], nullptr, &json), TSR_OK);
  EXPECT_EQ(take_json(json)["masked"], true);
  json = nullptr;
  EXPECT_EQ(tsr_read_point(href_.c_str(), 0, 0, nullptr, &json), TSR_NOT_FOUND);
  EXPECT_NE(message().find("outside"), std::string::npos);
  EXPECT_EQ(json, nullptr);
  EXPECT_EQ(tsr_read_point(href_.c_str(), 0, 0, "{\"resampling\": \"nearest\"}", &json), TSR_INVALID_INPUT);
}

TEST_F(CApiTiling, InfoStatisticsTileJson) {
  char* json = nullptr;
  ASSERT_EQ(tsr_raster_info(href_.c_str(), nullptr, &json), TSR_OK) << message();
  const auto info = take_json(json);
  EXPECT_EQ(info["crs"], "EPSG:32633");
  EXPECT_EQ(info["width"], 256);
  EXPECT_EQ(info["dtype"], "uint16");
  EXPECT_EQ(info["nodata_value"], 0);
  EXPECT_EQ(info["overviews"], nlohmann::json::array({2, 4}));
  EXPECT_EQ(info["tms"], "WebMercatorQuad");
  EXPECT_LE(info["minzoom"].get<int>(), info["maxzoom"].get<int>());

  ASSERT_EQ(
      tsr_raster_statistics(href_.c_str(), "{\"max_size\": 0, \"percentiles\": [50], \"histogram_bins\": 5}", &json),
      TSR_OK)
      << message();
  const auto statistics = take_json(json);
  EXPECT_EQ(statistics["b1"]["min"], 17);
  EXPECT_EQ(statistics["b1"]["max"], 511);
  EXPECT_EQ(statistics["b1"]["valid_pixels"], 256 * 256 - 16 * 16);
  EXPECT_TRUE(statistics["b1"].contains("percentile_50"));
  EXPECT_EQ(statistics["b1"]["histogram"][0].size(), 5U);
  EXPECT_EQ(tsr_raster_statistics(href_.c_str(), "{\"histogram_range\": [1]}", &json), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("histogram_range"), std::string::npos);
  EXPECT_EQ(tsr_raster_statistics(href_.c_str(), "{\"percentiles\": [200]}", &json), TSR_INVALID_INPUT);

  // Exact feature statistics: columns 20.5-30.25, rows 40-50.5 of the raster
  // (value 1 + row + column), each pixel weighed by its covered share.
  const double west = 500000 + 10 * 20.5;
  const double east = 500000 + 10 * 30.25;
  const double north = 5000000 - 10 * 40.0;
  const double south = 5000000 - 10 * 50.5;
  const nlohmann::json shape = {
      {"type", "Polygon"},
      {"coordinates", {{{west, south}, {east, south}, {east, north}, {west, north}, {west, south}}}}};
  ASSERT_EQ(tsr_feature_statistics(href_.c_str(), shape.dump().c_str(), R"({"bbox_crs": "EPSG:32633"})", &json), TSR_OK)
      << message();
  const auto exact = take_json(json)["b1"];
  double count = 0;
  double sum = 0;
  for (int row = 40; row <= 50; ++row) {
    for (int column = 20; column <= 30; ++column) {
      const double share_x = std::min(column + 1.0, 30.25) - std::max(static_cast<double>(column), 20.5);
      const double share_y = std::min(row + 1.0, 50.5) - row;
      count += share_x * share_y;
      sum += share_x * share_y * (1 + row + column);
    }
  }
  EXPECT_DOUBLE_EQ(exact["count"].get<double>(), count);
  EXPECT_NEAR(exact["sum"].get<double>(), sum, 1e-9);
  EXPECT_NEAR(exact["mean"].get<double>(), sum / count, 1e-12);
  EXPECT_EQ(exact["min"], 1 + 40 + 20);
  EXPECT_EQ(exact["max"], 1 + 50 + 30);
  EXPECT_EQ(tsr_feature_statistics(href_.c_str(), R"({"type": "Point", "coordinates": [15, 45]})", nullptr, &json),
            TSR_INVALID_INPUT);
  EXPECT_NE(message().find("Polygon"), std::string::npos);
  EXPECT_EQ(tsr_feature_statistics(href_.c_str(), shape.dump().c_str(), R"({"cover_scale": 5000})", &json),
            TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_feature_statistics(href_.c_str(), shape.dump().c_str(), nullptr, nullptr), TSR_INVALID_INPUT);

  ASSERT_EQ(tsr_tilejson(href_.c_str(), "https://tiles.example.com/{z}/{x}/{y}.png", nullptr, &json), TSR_OK);
  const auto document = take_json(json);
  EXPECT_EQ(document["tilejson"], "3.0.0");
  EXPECT_EQ(document["tiles"], nlohmann::json::array({"https://tiles.example.com/{z}/{x}/{y}.png"}));
  EXPECT_EQ(tsr_tilejson(href_.c_str(), nullptr, nullptr, &json), TSR_INVALID_INPUT);
}

TEST_F(CApiTiling, BadOptionsNameTheProblem) {
  tsr_image image = nullptr;
  const char* href = href_.c_str();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tilesize\": }", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("options_json is not valid JSON (at byte"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "[256]", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("must be a JSON object"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tile_size\": 256}", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("unknown option 'tile_size'"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tilesize\": \"256\"}", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("'tilesize' must be an integer"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tilesize\": 256.5}", &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"indexes\": [0]}", &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"unscale\": 1}", &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"resampling\": \"fastest\"}", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("unknown resampling 'fastest'"), std::string::npos) << message();
  // Absurd sizes.
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tilesize\": 100000}", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("out of range"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tilesize\": 0}", &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"tilesize\": 1e12}", &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_preview(href, "{\"max_size\": -1}", &image), TSR_INVALID_INPUT);
  // A bad expression: the message points at the position.
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"expression\": \"b1 +* 2\"}", &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("position"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, "{\"expression\": \"b9\"}", &image), TSR_INVALID_INPUT);
  EXPECT_EQ(image, nullptr);  // out-params untouched on failure

  // Rendering options.
  ASSERT_EQ(tsr_read_tile(href, nullptr, kZ, kX, kY, nullptr, &image), TSR_OK) << message();
  void* data = nullptr;
  size_t size = 0;
  EXPECT_EQ(tsr_image_render(image, "{\"format\": \"gif\"}", &data, &size), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("gif"), std::string::npos) << message();
  EXPECT_EQ(tsr_image_render(image, "{\"colormap\": \"no_such_map\"}", &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_render(image, "{\"colormap\": 3}", &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_render(image, "{\"rescale\": [[0]]}", &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_render(image, "{\"jpeg_quality\": 101}", &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_render(image, "{\"quality\": 90}", &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(data, nullptr);
  ASSERT_EQ(tsr_image_render(image, "{\"format\": \"jpeg\", \"rescale\": [0, 511], \"colormap\": {\"0\": \"#000\"}}",
                             &data, &size),
            TSR_OK)
      << message();
  EXPECT_EQ(std::memcmp(data, "\xff\xd8\xff", 3), 0);
  tsr_free(data);
  tsr_image_destroy(&image);
}

TEST_F(CApiTiling, EnvironmentsAreCurrentPerThread) {
  tessera::testing::TempDir other;
  const std::string only_other = nlohmann::json({{"allowed_roots", {other.path().string()}}}).dump();
  tsr_environment closed = nullptr;
  EXPECT_EQ(tsr_environment_new(only_other.c_str(), nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_environment_new("{\"max_image_size\": 0}", &closed), TSR_INVALID_INPUT);
  EXPECT_EQ(closed, nullptr);
  ASSERT_EQ(tsr_environment_new(only_other.c_str(), &closed), TSR_OK) << message();
  char* json = nullptr;
  ASSERT_EQ(tsr_environment_use(closed), TSR_OK);
  EXPECT_EQ(tsr_raster_info(href_.c_str(), nullptr, &json), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("outside the allowed local folders"), std::string::npos) << message();
  // Another thread still reads under the process default.
  tsr_status elsewhere = TSR_INTERNAL;
  std::thread([&] {
    char* info = nullptr;
    elsewhere = tsr_raster_info(href_.c_str(), nullptr, &info);
    tsr_free(info);
  }).join();
  EXPECT_EQ(elsewhere, TSR_OK);
  // Reconfigured to open the raster's folder, then back to the default.
  const std::string only_data = nlohmann::json({{"allowed_roots", {dir_.path().string()}}}).dump();
  EXPECT_EQ(tsr_environment_configure(nullptr, only_data.c_str()), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_environment_configure(closed, "{\"allowed_roots\": 1}"), TSR_INVALID_INPUT);
  ASSERT_EQ(tsr_environment_configure(closed, only_data.c_str()), TSR_OK) << message();
  ASSERT_EQ(tsr_raster_info(href_.c_str(), nullptr, &json), TSR_OK) << message();
  tsr_free(json);
  ASSERT_EQ(tsr_environment_use(nullptr), TSR_OK);
  tsr_environment_destroy(&closed);
  EXPECT_EQ(closed, nullptr);
  tsr_environment_destroy(&closed);
  tsr_environment_destroy(nullptr);
  ASSERT_EQ(tsr_raster_info(href_.c_str(), nullptr, &json), TSR_OK) << message();
  tsr_free(json);
}

TEST_F(CApiTiling, HrefPolicyAndMissingRasters) {
  tsr_image image = nullptr;
  char* json = nullptr;
  // Only the allowed folders may be read; the message says why.
  tessera::testing::TempDir other;
  const std::string only_other = nlohmann::json({{"allowed_roots", {other.path().string()}}}).dump();
  ASSERT_EQ(tsr_configure_reader(only_other.c_str()), TSR_OK) << message();
  EXPECT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, kX, kY, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("outside the allowed local folders"), std::string::npos) << message();
  EXPECT_EQ(tsr_raster_info(("file://" + href_).c_str(), nullptr, &json), TSR_INVALID_INPUT);
  // A symbolic link inside the allowed folder does not lead out of it.
  std::filesystem::create_symlink(href_, other.path() / "link.tif");
  EXPECT_EQ(tsr_raster_info((other.path() / "link.tif").c_str(), nullptr, &json), TSR_INVALID_INPUT);
  // Missing rasters inside the allowed folder are not found.
  const std::string missing = (other.path() / "missing.tif").string();
  EXPECT_EQ(tsr_read_tile(missing.c_str(), nullptr, kZ, kX, kY, nullptr, &image), TSR_NOT_FOUND);
  EXPECT_NE(message().find("missing.tif"), std::string::npos) << message();
  const std::string both =
      nlohmann::json({{"allowed_roots", {other.path().string(), dir_.path().string()}}, {"dataset_cache_size", 2}})
          .dump();
  ASSERT_EQ(tsr_configure_reader(both.c_str()), TSR_OK) << message();
  ASSERT_EQ(tsr_raster_info(href_.c_str(), nullptr, &json), TSR_OK) << message();
  tsr_free(json);

  // GDAL syntax and URLs that were not allowed.
  json = nullptr;
  EXPECT_EQ(tsr_read_tile(("/vsigzip/" + href_).c_str(), nullptr, kZ, kX, kY, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("/vsi"), std::string::npos) << message();
  EXPECT_EQ(tsr_raster_info("/vsicurl/https://example.com/a.tif", nullptr, &json), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_raster_info("https://example.com/a.tif", nullptr, &json), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("allowed URL prefix"), std::string::npos) << message();
  EXPECT_EQ(tsr_raster_info("PG:dbname=x", nullptr, &json), TSR_INVALID_INPUT);
  EXPECT_EQ(json, nullptr);

  // Bad configurations are refused and leave the configuration as it was.
  EXPECT_EQ(tsr_configure_reader("{\"allowed_roots\": \"/data\"}"), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("'allowed_roots' must be an array of strings"), std::string::npos) << message();
  EXPECT_EQ(tsr_configure_reader("{\"allowed_prefixes\": [\"https://example.com\"]}"), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("must end the host with '/'"), std::string::npos) << message();
  EXPECT_EQ(tsr_configure_reader("{\"version\": 2}"), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_configure_reader("{\"storage_options\": {\"region\": 1}}"), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_configure_reader("{\"dataset_cache_size\": -1}"), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_configure_reader("{\"allowed_roots\": [\"/data\"],}"), TSR_INVALID_INPUT);
  ASSERT_EQ(tsr_raster_info(href_.c_str(), nullptr, &json), TSR_OK) << message();
  tsr_free(json);

  // Tiles outside the matrix set, and tiles that miss the raster.
  ASSERT_EQ(tsr_configure_reader(nullptr), TSR_OK);
  EXPECT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, std::int64_t{1} << 20, kY, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("outside WebMercatorQuad"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href_.c_str(), nullptr, 99, 0, 0, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, -1, kY, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, 0, 0, nullptr, &image), TSR_NOT_FOUND);
  EXPECT_NE(message().find("outside the bounds"), std::string::npos) << message();
  EXPECT_EQ(image, nullptr);
}

TEST_F(CApiTiling, NullArgumentsAndDestroy) {
  tsr_image image = nullptr;
  char* json = nullptr;
  const double bbox[4] = {15, 45, 15.01, 45.01};
  EXPECT_EQ(tsr_read_tile(nullptr, nullptr, kZ, kX, kY, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("'href' is NULL"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, kX, kY, nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("'out_image' is NULL"), std::string::npos) << message();
  EXPECT_EQ(tsr_read_part(href_.c_str(), nullptr, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_part(href_.c_str(), bbox, nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_feature(href_.c_str(), nullptr, nullptr, &image), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_preview(href_.c_str(), nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_read_point(href_.c_str(), 15, 45, nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_raster_info(href_.c_str(), nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_raster_statistics(nullptr, nullptr, &json), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_tilejson(href_.c_str(), "{z}/{x}/{y}", nullptr, nullptr), TSR_INVALID_INPUT);
  int bands = 0;
  EXPECT_EQ(tsr_image_shape(nullptr, &bands, &bands, &bands), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("'image' is NULL"), std::string::npos) << message();
  EXPECT_EQ(tsr_image_dtype(nullptr), TSR_DTYPE_INVALID);
  EXPECT_EQ(tsr_dtype_name(static_cast<tsr_dtype>(9)), nullptr);
  EXPECT_EQ(tsr_image_data(nullptr), nullptr);
  EXPECT_EQ(tsr_image_mask(nullptr), nullptr);
  EXPECT_EQ(tsr_image_info(nullptr, &json), TSR_INVALID_INPUT);
  void* data = nullptr;
  size_t size = 0;
  EXPECT_EQ(tsr_image_render(nullptr, nullptr, &data, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_render_media_type(nullptr), nullptr);
  ASSERT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, kX, kY, nullptr, &image), TSR_OK) << message();
  EXPECT_EQ(tsr_image_shape(image, &bands, nullptr, &bands), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_render(image, nullptr, nullptr, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_render(image, nullptr, &data, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_image_info(image, nullptr), TSR_INVALID_INPUT);
  tsr_image_destroy(&image);
  EXPECT_EQ(image, nullptr);
  tsr_image_destroy(&image);   // *NULL
  tsr_image_destroy(nullptr);  // NULL
}

TEST_F(CApiTiling, ImagesAreReadFromManyThreads) {
  std::vector<std::thread> threads;
  std::array<tsr_status, 4> statuses{};
  for (std::size_t t = 0; t < statuses.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        tsr_image image = nullptr;
        statuses[t] = tsr_read_tile(href_.c_str(), nullptr, kZ, kX + (i % 2), kY, nullptr, &image);
        if (statuses[t] != TSR_OK) {
          return;
        }
        void* data = nullptr;
        size_t size = 0;
        statuses[t] = tsr_image_render(image, "{\"rescale\": [0, 511]}", &data, &size);
        tsr_free(data);
        tsr_image_destroy(&image);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const tsr_status status : statuses) {
    EXPECT_EQ(status, TSR_OK);
  }
}

TEST_F(CApiTiling, MosaicOverARegisteredSearch) {
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open("sqlite://:memory:", nullptr, &catalog), TSR_OK) << message();
  const auto collection = nlohmann::json::parse(R"({"type": "Collection", "stac_version": "1.1.0", "id": "utm",
      "description": "one raster", "license": "CC-BY-4.0", "links": [],
      "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                 "temporal": {"interval": [["2024-01-01T00:00:00Z", null]]}}})");
  ASSERT_EQ(tsr_catalog_upsert_collection(catalog, collection.dump().c_str()), TSR_OK) << message();
  const auto low = pixel_centre(0, 255);
  const auto high = pixel_centre(255, 0);
  const nlohmann::json item = {
      {"type", "Feature"},
      {"stac_version", "1.1.0"},
      {"id", "scene"},
      {"collection", "utm"},
      {"geometry",
       {{"type", "Polygon"},
        {"coordinates",
         {{{low[0], low[1]}, {high[0], low[1]}, {high[0], high[1]}, {low[0], high[1]}, {low[0], low[1]}}}}}},
      {"bbox", {low[0], low[1], high[0], high[1]}},
      {"properties", {{"datetime", "2024-01-02T00:00:00Z"}}},
      {"links", nlohmann::json::array()},
      {"assets", {{"data", {{"href", href_}}}}}};
  char* report = nullptr;
  ASSERT_EQ(tsr_catalog_load_json(catalog, item.dump().c_str(), nullptr, &report), TSR_OK) << message();
  EXPECT_EQ(take_json(report)["loaded"], 1);

  // A NULL out-parameter is refused before any work: nothing is registered.
  EXPECT_EQ(tsr_catalog_register_search(catalog, R"({"collections": ["utm"], "limit": 7})", nullptr, nullptr),
            TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("out_id"), std::string::npos) << tsr_last_error_message();
  char* registered = nullptr;
  ASSERT_EQ(tsr_catalog_registered_searches(catalog, &registered), TSR_OK);
  EXPECT_TRUE(take_json(registered).empty());
  char* id = nullptr;
  ASSERT_EQ(tsr_catalog_register_search(catalog, R"({"collections": ["utm"]})", nullptr, &id), TSR_OK) << message();
  const std::string search_id = id;
  tsr_free(id);
  char* described = nullptr;
  ASSERT_EQ(tsr_catalog_registered_search(catalog, search_id.c_str(), &described), TSR_OK);
  EXPECT_EQ(take_json(described)["search"]["collections"], nlohmann::json::array({"utm"}));

  ASSERT_EQ(tsr_clear_tile_cache(), TSR_OK);
  tsr_mosaic mosaic = nullptr;
  ASSERT_EQ(
      tsr_mosaic_from_registered(catalog, search_id.c_str(), R"({"assets": ["data"], "method": "highest"})", &mosaic),
      TSR_OK)
      << message();
  tsr_image tile = nullptr;
  ASSERT_EQ(tsr_mosaic_tile(mosaic, nullptr, kZ, kX, kY, nullptr, &tile), TSR_OK) << message();
  tsr_image direct = nullptr;
  ASSERT_EQ(tsr_read_tile(href_.c_str(), nullptr, kZ, kX, kY, nullptr, &direct), TSR_OK) << message();
  // One item: the mosaic is that item's tile, pixel for pixel.
  EXPECT_EQ(std::memcmp(tsr_image_data(tile), tsr_image_data(direct), 256 * 256 * 2), 0);
  EXPECT_EQ(std::memcmp(tsr_image_mask(tile), tsr_image_mask(direct), 256 * 256), 0);
  char* info = nullptr;
  ASSERT_EQ(tsr_image_info(tile, &info), TSR_OK);
  const auto tile_info = take_json(info);
  EXPECT_EQ(tile_info["assets"], nlohmann::json::array({"scene"}));
  EXPECT_EQ(tile_info["metadata"]["cache"]["misses"], 1);
  tsr_image_destroy(&tile);
  tsr_image_destroy(&direct);

  char* stats = nullptr;
  ASSERT_EQ(tsr_tile_cache_stats(&stats), TSR_OK);
  EXPECT_EQ(take_json(stats)["entries"], 1);
  char* listed = nullptr;
  ASSERT_EQ(tsr_mosaic_assets_for_tile(mosaic, "WebMercatorQuad", kZ, kX, kY, &listed), TSR_OK) << message();
  EXPECT_EQ(take_json(listed)[0]["assets"]["data"], href_);
  ASSERT_EQ(tsr_mosaic_assets_for_point(mosaic, high[0] + 1, high[1], &listed), TSR_OK) << message();
  EXPECT_TRUE(take_json(listed).empty());
  char* values = nullptr;
  ASSERT_EQ(tsr_mosaic_point(mosaic, (low[0] + high[0]) / 2, (low[1] + high[1]) / 2, nullptr, &values), TSR_OK)
      << message();
  const auto point = take_json(values);
  ASSERT_EQ(point["values"].size(), 1U) << point;
  EXPECT_EQ(point["values"][0]["band_names"], nlohmann::json::array({"data_b1"}));
  EXPECT_EQ(tsr_mosaic_point(mosaic, 0, 0, R"({"nope": 1})", &values), TSR_INVALID_INPUT);
  // Per-asset bands in both shapes (TiTiler's text, rio-tiler's object), and asset_as_band.
  for (const char* options :
       {R"({"assets": ["data|bidx=1,1"]})", R"({"assets": [{"name": "data", "indexes": [1, 1]}]})"}) {
    tsr_mosaic selected = nullptr;
    ASSERT_EQ(tsr_mosaic_from_registered(catalog, search_id.c_str(), options, &selected), TSR_OK) << message();
    ASSERT_EQ(tsr_mosaic_point(selected, (low[0] + high[0]) / 2, (low[1] + high[1]) / 2, nullptr, &values), TSR_OK)
        << message();
    EXPECT_EQ(take_json(values)["values"][0]["band_names"], nlohmann::json::array({"data_b1", "data_b1"}));
    tsr_mosaic_destroy(&selected);
  }
  tsr_mosaic as_band = nullptr;
  ASSERT_EQ(tsr_mosaic_from_registered(catalog, search_id.c_str(), R"({"assets": ["data"], "asset_as_band": true})",
                                       &as_band),
            TSR_OK)
      << message();
  ASSERT_EQ(tsr_mosaic_point(as_band, (low[0] + high[0]) / 2, (low[1] + high[1]) / 2, nullptr, &values), TSR_OK);
  EXPECT_EQ(take_json(values)["values"][0]["band_names"], nlohmann::json::array({"data"}));
  tsr_mosaic_destroy(&as_band);
  for (const char* options : {R"({"assets": "data"})", R"({"assets": [{"name": "data", "indexes": [0]}]})",
                              R"({"assets": ["data|bidx=x"]})", R"({"assets": [7]})", R"({"asset_as_band": 1})"}) {
    tsr_mosaic refused = nullptr;
    EXPECT_EQ(tsr_mosaic_from_registered(catalog, search_id.c_str(), options, &refused), TSR_INVALID_INPUT) << options;
    EXPECT_NE(message().find("options_json"), std::string::npos) << message();
    EXPECT_EQ(refused, nullptr);
  }

  // Parts, features, previews and feature statistics: on a grid of the
  // raster's own pixels (columns 20-29, rows 40-49) the mosaic of the one item
  // is the raster, and its statistics the raster's.
  const auto utm_square = [](double west, double north, double east, double south) {
    const auto x = [](double column) { return 500000 + 10 * column; };
    const auto y = [](double row) { return 5000000 - 10 * row; };
    return nlohmann::json{{"type", "Feature"},
                          {"properties", nlohmann::json::object()},
                          {"geometry",
                           {{"type", "Polygon"},
                            {"coordinates",
                             {{{x(west), y(south)},
                               {x(east), y(south)},
                               {x(east), y(north)},
                               {x(west), y(north)},
                               {x(west), y(south)}}}}}}};
  };
  const std::string on_raster_grid = R"({"bbox_crs": "EPSG:32633", "width": 10, "height": 10})";
  const double square[4] = {500200, 4999500, 500300, 4999600};
  tsr_image part = nullptr;
  ASSERT_EQ(tsr_mosaic_part(mosaic, square, on_raster_grid.c_str(), &part), TSR_OK) << message();
  int bands = 0;
  int height = 0;
  int width = 0;
  ASSERT_EQ(tsr_image_shape(part, &bands, &height, &width), TSR_OK);
  EXPECT_EQ(width, 10);
  EXPECT_EQ(static_cast<const std::uint16_t*>(tsr_image_data(part))[0], 1 + 40 + 20);
  tsr_image_destroy(&part);
  ASSERT_EQ(tsr_mosaic_feature(mosaic, utm_square(20, 40, 30, 50).dump().c_str(), on_raster_grid.c_str(), &part),
            TSR_OK)
      << message();
  tsr_image_destroy(&part);
  ASSERT_EQ(tsr_mosaic_preview(mosaic, R"({"max_size": 32})", &part), TSR_OK) << message();
  ASSERT_EQ(tsr_image_shape(part, &bands, &height, &width), TSR_OK);
  EXPECT_EQ(std::max(width, height), 32);
  tsr_image_destroy(&part);
  char* by_mosaic = nullptr;
  ASSERT_EQ(
      tsr_mosaic_statistics(mosaic, utm_square(20, 40, 30, 50).dump().c_str(), on_raster_grid.c_str(), &by_mosaic),
      TSR_OK)
      << message();
  const auto mosaic_statistics = take_json(by_mosaic);
  EXPECT_EQ(mosaic_statistics["assets"], nlohmann::json::array({"scene"}));
  char* by_raster = nullptr;
  ASSERT_EQ(tsr_feature_statistics(href_.c_str(), utm_square(20, 40, 30, 50).dump().c_str(),
                                   R"({"bbox_crs": "EPSG:32633"})", &by_raster),
            TSR_OK)
      << message();
  const auto raster_statistics = take_json(by_raster);
  for (const char* key : {"count", "sum", "mean", "min", "max"}) {
    EXPECT_EQ(mosaic_statistics["statistics"]["data_b1"][key], raster_statistics["b1"][key]) << key;
  }
  EXPECT_EQ(tsr_mosaic_statistics(mosaic, "{not json", nullptr, &by_mosaic), TSR_INVALID_INPUT);
  EXPECT_EQ(
      tsr_mosaic_statistics(mosaic, utm_square(20, 40, 30, 50).dump().c_str(), R"({"cover_scale": 0})", &by_mosaic),
      TSR_INVALID_INPUT);
  EXPECT_NE(message().find("cover_scale"), std::string::npos);
  EXPECT_EQ(tsr_mosaic_preview(mosaic, R"({"bounds": [1, 2]})", &part), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("bounds"), std::string::npos);
  EXPECT_EQ(tsr_mosaic_part(mosaic, nullptr, nullptr, &part), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_mosaic_feature(mosaic, "{}", nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(part, nullptr);

  EXPECT_EQ(tsr_mosaic_tile(mosaic, nullptr, kZ, kX + 50, kY, nullptr, &tile), TSR_NOT_FOUND);
  EXPECT_EQ(tile, nullptr);
  tsr_mosaic other = nullptr;
  EXPECT_EQ(tsr_mosaic_create(catalog, "{}", R"({"assets": ["data"], "method": "loudest"})", &other),
            TSR_INVALID_INPUT);
  EXPECT_NE(message().find("loudest"), std::string::npos);
  EXPECT_EQ(tsr_mosaic_create(catalog, "{}", R"({"asets": ["data"]})", &other), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("asets"), std::string::npos);
  EXPECT_EQ(tsr_mosaic_from_registered(catalog, "nope", nullptr, &other), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_mosaic_create(nullptr, "{}", nullptr, &other), TSR_INVALID_INPUT);
  EXPECT_EQ(other, nullptr);
  tsr_mosaic_destroy(&mosaic);
  EXPECT_EQ(mosaic, nullptr);
  tsr_mosaic_destroy(&mosaic);
  tsr_mosaic_destroy(nullptr);
  tsr_catalog_destroy(&catalog);
}

TEST(CApiCatalog, SearchCollectionsAndFreeText) {
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open("sqlite://:memory:", nullptr, &catalog), TSR_OK) << message();
  for (const char* id : {"b", "a"}) {
    nlohmann::json collection = tessera::testing::make_collection(id);
    collection["keywords"] = {std::string("keyword-") + id};
    ASSERT_EQ(tsr_catalog_upsert_collection(catalog, collection.dump().c_str()), TSR_OK) << message();
  }
  char* out = nullptr;
  ASSERT_EQ(tsr_catalog_search_collections(catalog, R"({"q": "keyword b"})", &out), TSR_OK) << message();
  const nlohmann::json answer = take_json(out);
  ASSERT_EQ(answer["collections"].size(), 1U);
  EXPECT_EQ(answer["collections"][0]["id"], "b");
  EXPECT_EQ(answer["numberMatched"], 1);
  ASSERT_EQ(tsr_catalog_search_collections(catalog, R"({"limit": 1})", &out), TSR_OK) << message();
  EXPECT_EQ(take_json(out)["collections"][0]["id"], "a");
  // Errors name the member; a NULL out-parameter is refused.
  out = nullptr;
  EXPECT_EQ(tsr_catalog_search_collections(catalog, R"({"q": "(b"})", &out), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("q"), std::string::npos) << message();
  EXPECT_EQ(out, nullptr);
  EXPECT_EQ(tsr_catalog_search_collections(catalog, "{}", nullptr), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("out_json"), std::string::npos) << message();
  EXPECT_EQ(tsr_catalog_search_collections(nullptr, "{}", &out), TSR_INVALID_INPUT);
  // q reaches item search through tsr_catalog_search as any member does.
  ASSERT_EQ(tsr_catalog_search(catalog, R"({"q": "anything"})", &out), TSR_OK) << message();
  EXPECT_EQ(take_json(out)["numberMatched"], 0);
  tsr_catalog_destroy(&catalog);
}

TEST(CApiService, AnswersRequestsGivenAsData) {
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open(":memory:", nullptr, &catalog), TSR_OK) << message();
  const std::string collection = tessera::testing::make_collection("c").dump();
  ASSERT_EQ(tsr_catalog_upsert_collection(catalog, collection.c_str()), TSR_OK) << message();
  tsr_service service = nullptr;
  EXPECT_EQ(tsr_service_new(catalog, nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_new(nullptr, R"({"tiles": "yes"})", &service), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_new(catalog, "{\"max_limit\": 0}", &service), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_new(catalog, "{\"colour\": 1}", &service), TSR_INVALID_INPUT);
  EXPECT_EQ(service, nullptr);
  ASSERT_EQ(tsr_service_new(catalog, "{\"title\": \"C\"}", &service), TSR_OK) << message();

  char* head = nullptr;
  void* body = nullptr;
  size_t size = 0;
  const char* landing = R"({"method": "GET", "path": "/", "headers": [["Host", "c.test"]]})";
  ASSERT_EQ(tsr_service_handle(service, landing, nullptr, 0, &head, &body, &size), TSR_OK) << message();
  EXPECT_EQ(take_json(head)["status"], 200);
  const auto page = nlohmann::json::parse(std::string(static_cast<const char*>(body), size));
  tsr_free(body);
  EXPECT_EQ(page["title"], "C");
  EXPECT_EQ(page["links"][0]["href"], "http://c.test/");

  // A POST body as bytes; an HTTP error is a response, not a failure.
  const std::string search = R"({"bbox": [1, 2, "x", 4]})";
  ASSERT_EQ(tsr_service_handle(service, R"({"method": "POST", "path": "/search", "query": {}})", search.data(),
                               search.size(), &head, &body, &size),
            TSR_OK)
      << message();
  EXPECT_EQ(take_json(head)["status"], 400);
  tsr_free(body);

  // Requests that cannot be read are failures naming the problem.
  EXPECT_EQ(tsr_service_handle(service, "{\"path\": 1}", nullptr, 0, &head, &body, &size), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("'path'"), std::string::npos) << message();
  EXPECT_EQ(tsr_service_handle(service, "{\"query\": [[\"a\"]]}", nullptr, 0, &head, &body, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_handle(service, "{\"verb\": \"GET\"}", nullptr, 0, &head, &body, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_handle(service, "{}", nullptr, 5, &head, &body, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_handle(service, "{}", nullptr, 0, nullptr, &body, &size), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_handle(nullptr, "{}", nullptr, 0, &head, &body, &size), TSR_INVALID_INPUT);
  tsr_service_destroy(&service);
  EXPECT_EQ(service, nullptr);
  tsr_service_destroy(&service);
  tsr_service_destroy(nullptr);

  // Access control options: contradictions refused, writes as configured.
  EXPECT_EQ(tsr_service_new(catalog, R"({"require_auth": true})", &service), TSR_INVALID_INPUT);
  EXPECT_NE(message().find("require_auth"), std::string::npos) << message();
  EXPECT_EQ(tsr_service_new(catalog, R"({"jwks": "{\"keys\": []}"})", &service), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_service_new(catalog, R"({"leeway_seconds": -1})", &service), TSR_INVALID_INPUT);
  EXPECT_EQ(service, nullptr);
  const std::string item = tessera::testing::make_item("i", "c", "2024-01-01T00:00:00Z", 1, 1).dump();
  const char* create = R"({"method": "POST", "path": "/collections/c/items"})";
  ASSERT_EQ(tsr_service_new(catalog, nullptr, &service), TSR_OK) << message();
  ASSERT_EQ(tsr_service_handle(service, create, item.data(), item.size(), &head, &body, &size), TSR_OK);
  EXPECT_EQ(take_json(head)["status"], 401);
  tsr_free(body);
  tsr_service_destroy(&service);
  ASSERT_EQ(tsr_service_new(catalog, R"({"allow_anonymous_writes": true})", &service), TSR_OK) << message();
  ASSERT_EQ(tsr_service_handle(service, create, item.data(), item.size(), &head, &body, &size), TSR_OK);
  EXPECT_EQ(take_json(head)["status"], 201);
  tsr_free(body);
  tsr_service_destroy(&service);
  tsr_catalog_destroy(&catalog);
}

TEST(CApiService, WithoutACatalogServesTilesOnly) {
  tsr_service service = nullptr;
  ASSERT_EQ(tsr_service_new(nullptr, R"({"cache_max_age_seconds": 60})", &service), TSR_OK) << message();
  char* head = nullptr;
  void* body = nullptr;
  size_t size = 0;
  const auto status_of = [&](const char* request) {
    EXPECT_EQ(tsr_service_handle(service, request, nullptr, 0, &head, &body, &size), TSR_OK) << message();
    const std::string text(static_cast<const char*>(body), size);
    tsr_free(body);
    return std::pair{take_json(head)["status"].get<int>(), text};
  };
  EXPECT_EQ(status_of(R"({"method": "GET", "path": "/"})").first, 404);  // no STAC API
  const auto [status, text] = status_of(R"({"method": "GET", "path": "/searches/list"})");
  EXPECT_EQ(status, 404);
  EXPECT_NE(text.find("this service has no catalog"), std::string::npos) << text;
  EXPECT_EQ(status_of(R"({"method": "GET", "path": "/colormaps"})").first, 200);
  EXPECT_EQ(status_of(R"({"method": "GET", "path": "/cog/info"})").first, 400);  // no url
  tsr_service_destroy(&service);
  EXPECT_EQ(tsr_service_new(nullptr, R"({"tiles": false, "viewer_dir": "/nowhere"})", &service), TSR_INVALID_INPUT);
}
