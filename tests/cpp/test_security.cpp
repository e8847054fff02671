// The href allow-lists through the public C++ readers (tiling, ingest
// create_item, packaging clips): GDAL syntax smuggled into hrefs, URLs that
// climb out of an allowed prefix, local roots with symlinks, and the GDAL
// driver allow-lists. (Python: tests/python/test_security_paths.py, which
// also covers redirects over a loopback HTTP server.)
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "tessera/geometry.hpp"
#include "tessera/packaging.hpp"
#include "tessera/raster_item.hpp"
#include "tessera/tiling.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::testing::TempDir;

namespace {

// Restores the default reader configuration when a test ends.
struct DefaultConfigurationAfter {
  DefaultConfigurationAfter() { tessera::configure({}); }
  ~DefaultConfigurationAfter() { tessera::configure({}); }
};

std::map<std::string, std::function<void(const std::string&)>> readers(const fs::path& scratch) {
  const std::string square = "POLYGON ((10 45, 11 45, 11 46, 10 46, 10 45))";
  return {
      {"raster_info", [](const std::string& href) { tessera::raster_info(href); }},
      {"create_item", [](const std::string& href) { tessera::create_item(href); }},
      {"clip_raster",
       [square, scratch](const std::string& href) {
         tessera::clip_raster(href, tessera::Geometry::from_wkt(square), (scratch / "c.tif").string());
       }},
      {"clip_vector",
       [square, scratch](const std::string& href) {
         tessera::clip_vector(href, tessera::Geometry::from_wkt(square), (scratch / "c.gpkg").string());
       }},
  };
}

}  // namespace

TEST(HrefSecurity, GdalSyntaxIsRefusedByEveryReader) {
  const DefaultConfigurationAfter reset;
  TempDir scratch;
  const std::vector<std::string> hrefs = {
      "/vsicurl/http://127.0.0.1:9/x.tif",
      "/VSIS3/bucket/x.tif",
      "file:///vsicurl/http://127.0.0.1:9/x.tif",
      "file:///%76sicurl/http://127.0.0.1:9/x.tif",
      "s3://bucket/%2Fvsicurl%2Fx.tif",
      "a/../vsizip/archive.zip/x.tif",
      "<VRTDataset/>",
      "PG:dbname=postgres",
      "ftp://127.0.0.1:9/x.tif",
      "file:///tmp/x.tif%00.png",
      std::string("x.tif\0/vsicurl/", 15),
  };
  for (const auto& [name, read] : readers(scratch.path())) {
    for (const auto& href : hrefs) {
      SCOPED_TRACE(name + ": " + href);
      expect_error([&] { read(href); }, ErrorCode::kInvalidInput, "href");
    }
  }
  EXPECT_FALSE(fs::exists(scratch.path() / "c.tif"));
  EXPECT_FALSE(fs::exists(scratch.path() / "c.gpkg"));
}

TEST(HrefSecurity, UrlsCannotClimbOutOfAnAllowedPrefix) {
  const DefaultConfigurationAfter reset;
  TempDir scratch;
  tessera::ReaderConfig config;
  config.allowed_prefixes = {"http://127.0.0.1:9/allowed/"};
  tessera::configure(config);
  for (const auto& [name, read] : readers(scratch.path())) {
    for (const std::string href :
         {"http://127.0.0.1:9/allowed/../secret/x.tif", "http://127.0.0.1:9/allowed/%2e%2e/secret/x.tif",
          "http://127.0.0.1:9/allowed/%2E%2E%2Fsecret/x.tif", "http://127.0.0.1:9/allowed/./x/../../secret/x.tif",
          "http://127.0.0.1:9/allowed/..\\secret/x.tif"}) {
      SCOPED_TRACE(name + ": " + href);
      expect_error([&] { read(href); }, ErrorCode::kInvalidInput, "path segments");
    }
    expect_error([&] { read("http://127.0.0.1:9/secret/x.tif"); }, ErrorCode::kInvalidInput, "allowed URL prefix");
  }
}

TEST(HrefSecurity, DriversOutsideTheAllowListsAreRefused) {
  const DefaultConfigurationAfter reset;
  TempDir scratch;
  // A VRT (raster) and a CSV and an OGR VRT (vector): all readable by GDAL,
  // none among the default drivers.
  const fs::path vrt = scratch.path() / "r.vrt";
  std::ofstream(vrt) << R"(<VRTDataset rasterXSize="4" rasterYSize="4"><SRS>EPSG:4326</SRS>)"
                     << R"(<GeoTransform>10, 0.25, 0, 46, 0, -0.25</GeoTransform>)"
                     << R"(<VRTRasterBand dataType="Byte" band="1"/></VRTDataset>)";
  const fs::path csv = scratch.path() / "points.csv";
  std::ofstream(csv) << "id,WKT\n1,POINT (10.5 45.5)\n";
  const fs::path ogr_vrt = scratch.path() / "points.vrt";
  std::ofstream(ogr_vrt) << "<OGRVRTDataSource><OGRVRTLayer name=\"p\"><SrcDataSource>" << csv.string()
                         << "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>";
  auto read = readers(scratch.path());
  expect_error([&] { read["create_item"](vrt.string()); }, ErrorCode::kInvalidInput, "allowed drivers: GTiff, COG");
  expect_error([&] { read["clip_raster"](vrt.string()); }, ErrorCode::kInvalidInput, "allowed drivers");
  expect_error([&] { read["raster_info"](vrt.string()); }, ErrorCode::kInvalidInput, "cannot be read");
  expect_error([&] { read["clip_vector"](csv.string()); }, ErrorCode::kInvalidInput, "allowed drivers: GPKG, GeoJSON");
  expect_error([&] { read["clip_vector"](ogr_vrt.string()); }, ErrorCode::kInvalidInput, "allowed drivers");
  // The host widens the lists through configure().
  tessera::ReaderConfig config;
  config.allowed_drivers.push_back("VRT");
  config.allowed_vector_drivers.push_back("CSV");
  tessera::configure(config);
  EXPECT_EQ(tessera::create_item(vrt.string())["id"], "r");
  read["clip_vector"](csv.string());
  EXPECT_TRUE(fs::exists(scratch.path() / "c.gpkg"));
}

TEST(ReaderLimits, ImageSizeAndExpressionsAreBoundedAndConfigurable) {
  const DefaultConfigurationAfter reset;
  TempDir scratch;
  const fs::path vrt = scratch.path() / "source.vrt";
  std::ofstream(vrt) << R"(<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:4326</SRS>)"
                     << R"(<GeoTransform>10, 0.01, 0, 46, 0, -0.01</GeoTransform>)"
                     << R"(<VRTRasterBand dataType="Byte" band="1"/></VRTDataset>)";
  const std::string cog = (scratch.path() / "small.tif").string();
  tessera::to_cog(vrt.string(), cog);
  expect_error([&] { tessera::read_preview(cog, tessera::kMaxImageSize + 1); }, ErrorCode::kInvalidInput,
               "out of range (1 to 8192 pixels a side");
  tessera::ReadOptions expression;
  expression.expression = "b1" + std::string(3000, ' ') + "+ 1";
  expect_error([&] { tessera::read_preview(cog, 32, expression); }, ErrorCode::kInvalidInput, "too long");
  tessera::ReaderConfig config;
  config.max_image_size = 48;
  config.max_expression_length = 8;
  config.max_expression_depth = 2;
  tessera::configure(config);
  EXPECT_EQ(tessera::read_preview(cog, 48).width(), 48);
  expect_error([&] { tessera::read_preview(cog, 49); }, ErrorCode::kInvalidInput, "1 to 48 pixels a side");
  expression.expression = "b1 + 1000";
  expect_error([&] { tessera::read_preview(cog, 32, expression); }, ErrorCode::kInvalidInput, "the limit is 8");
  expression.expression = "(((b1)))";
  expect_error([&] { tessera::read_preview(cog, 32, expression); }, ErrorCode::kInvalidInput, "deeper than 2");
  config.max_image_size = 0;
  expect_error([&] { tessera::configure(config); }, ErrorCode::kInvalidInput, "max_image_size");
}
