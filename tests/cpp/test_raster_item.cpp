// STAC Items from rasters, and COG conversion to local and S3 destinations.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>

#include <random>

#include <fmt/format.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/raster_item.hpp"
#include "tessera/tiling.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::testing::TempDir;

namespace {

// A small GeoTIFF: `epsg` CRS, origin (x, y), square pixels of `size`.
fs::path make_tiff(const fs::path& path, int epsg, double x, double y, double size, int width = 100, int height = 80,
                   bool georeferenced = true, int band_count = 2,
                   const std::function<void(GDALDataset&)>& describe = nullptr) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDatasetUniquePtr dataset(driver->Create(path.c_str(), width, height, band_count, GDT_UInt16, nullptr));
  if (georeferenced) {
    double transform[6] = {x, size, 0, y, 0, -size};
    dataset->SetGeoTransform(transform);
    OGRSpatialReference crs;
    crs.importFromEPSG(epsg);
    dataset->SetSpatialRef(&crs);
  }
  std::vector<std::uint16_t> values(static_cast<std::size_t>(width) * height);
  for (std::size_t n = 0; n < values.size(); ++n) {
    values[n] = static_cast<std::uint16_t>(n % 1000);
  }
  for (int band = 1; band <= band_count; ++band) {
    dataset->GetRasterBand(band)->SetNoDataValue(0);
    EXPECT_EQ(dataset->GetRasterBand(band)->RasterIO(GF_Write, 0, 0, width, height, values.data(), width, height,
                                                     GDT_UInt16, 0, 0),
              CE_None);
  }
  dataset->GetRasterBand(1)->SetDescription("red");
  if (describe) {
    describe(*dataset);
  }
  return path;
}

}  // namespace

TEST(CreateItem, UtmRasterGivesAValidProjectedItem) {
  TempDir dir;
  const auto tiff = make_tiff(dir.path() / "scene.tif", 32633, 500000, 5200000, 30);
  tessera::CreateItemOptions options;
  options.collection = "rasters";
  options.datetime = "2023-05-01T10:00:00Z";
  options.statistics = true;
  options.properties = {{"platform", "test"}};
  const json item = tessera::create_item(tiff.string(), options);
  EXPECT_EQ(item["id"], "scene");
  EXPECT_EQ(item["geometry"]["type"], "Polygon");
  EXPECT_GT(item["geometry"]["coordinates"][0].size(), 100U);  // densified edges
  EXPECT_EQ(item["properties"]["proj:code"], "EPSG:32633");
  EXPECT_EQ(item["properties"]["proj:shape"], json::array({80, 100}));
  EXPECT_EQ(item["properties"]["proj:transform"][0], 30.0);
  EXPECT_EQ(item["properties"]["proj:bbox"], json::array({500000.0, 5197600.0, 503000.0, 5200000.0}));
  EXPECT_EQ(item["properties"]["platform"], "test");
  const json& band = item["assets"]["data"]["bands"][0];
  EXPECT_EQ(band["name"], "red");
  EXPECT_EQ(band["data_type"], "uint16");
  EXPECT_EQ(band["nodata"], 0.0);
  EXPECT_GT(band["statistics"]["maximum"].get<double>(), 900);
  EXPECT_EQ(item["assets"]["data"]["type"], "image/tiff; application=geotiff");
  // It validates: the catalog loads it.
  auto catalog = tessera::Catalog::open("sqlite://:memory:");
  catalog->upsert_collection(tessera::testing::make_collection("rasters"));
  const auto report = catalog->load({item});
  EXPECT_EQ(report.loaded, 1U) << report.to_json().dump();
}

// Twice the signed area of a ring (the shoelace sum): positive when counter-clockwise.
double signed_area(const json& ring) {
  double sum = 0;
  for (std::size_t n = 0; n + 1 < ring.size(); ++n) {
    sum += ring[n][0].get<double>() * ring[n + 1][1].get<double>() -
           ring[n + 1][0].get<double>() * ring[n][1].get<double>();
  }
  return sum;
}

TEST(CreateItem, LinksItsCollectionWindsRingsCounterClockwiseAndStatesGsd) {
  TempDir dir;
  // A north-up raster's outline is walked clockwise; the item's ring must not be.
  const auto tiff = make_tiff(dir.path() / "scene.tif", 32633, 500000, 5200000, 30);
  tessera::CreateItemOptions options;
  options.collection = "rasters";
  const json item = tessera::create_item(tiff.string(), options);
  EXPECT_GT(signed_area(item["geometry"]["coordinates"][0]), 0) << "exterior ring is clockwise";
  ASSERT_EQ(item["links"].size(), 1U);
  EXPECT_EQ(item["links"][0]["rel"], "collection");
  EXPECT_EQ(item["links"][0]["href"], "../collection.json");
  EXPECT_DOUBLE_EQ(item["properties"]["gsd"].get<double>(), 30.0);
  options.collection_href = "https://stac.example.com/collections/rasters";
  EXPECT_EQ(tessera::create_item(tiff.string(), options)["links"][0]["href"], options.collection_href);
  // No collection, no link; a gsd the caller gives is kept.
  tessera::CreateItemOptions plain;
  plain.properties = {{"gsd", 10}};
  const json without = tessera::create_item(tiff.string(), plain);
  EXPECT_TRUE(without["links"].empty());
  EXPECT_EQ(without["properties"]["gsd"], 10);
  // Split at the antimeridian: every part counter-clockwise.
  const auto dateline = make_tiff(dir.path() / "dateline.tif", 32660, 600000, 7000000, 4000, 100, 20);
  const json split = tessera::create_item(dateline.string());
  for (const json& polygon : split["geometry"]["coordinates"]) {
    EXPECT_GT(signed_area(polygon[0]), 0) << polygon.dump();
  }
  // A geographic raster: the pixel's ground size at its centre (0.001° at 60°N: ~111 m by ~56 m).
  const auto geographic = make_tiff(dir.path() / "geo.tif", 4326, 10, 60.05, 0.001);
  const double gsd = tessera::create_item(geographic.string())["properties"]["gsd"].get<double>();
  EXPECT_NEAR(gsd, 0.001 * 111319.5 * std::sqrt(0.5), 0.5);
}

TEST(CreateItem, BandsGetCommonNamesAndWavelengthsFromMetadataOrASensorPreset) {
  TempDir dir;
  // Wavelengths in the raster's own metadata (the Sentinel-2 driver's and gdal_edit's keys), in nm,
  // and a colour interpretation.
  const auto described =
      make_tiff(dir.path() / "described.tif", 32633, 500000, 5200000, 10, 20, 20, true, 3, [](GDALDataset& dataset) {
        GDALRasterBand* first = dataset.GetRasterBand(1);
        first->SetMetadataItem("WAVELENGTH", "842");
        first->SetMetadataItem("WAVELENGTH_UNIT", "nm");
        first->SetMetadataItem("BANDWIDTH", "145");
        first->SetMetadataItem("BANDWIDTH_UNIT", "nm");
        dataset.GetRasterBand(2)->SetColorInterpretation(GCI_GreenBand);
      });
  const json item = tessera::create_item(described.string());
  const json& bands = item["properties"]["bands"];
  EXPECT_NEAR(bands[0]["eo:center_wavelength"].get<double>(), 0.842, 1e-9);
  EXPECT_NEAR(bands[0]["eo:full_width_half_max"].get<double>(), 0.145, 1e-9);
  EXPECT_EQ(bands[1]["eo:common_name"], "green");
  EXPECT_FALSE(bands[2].contains("eo:common_name"));
  EXPECT_EQ(item["assets"]["data"]["bands"], bands);
  EXPECT_NE(item["stac_extensions"].dump().find("/eo/v2.0.0/"), std::string::npos);

  // A one-band Sentinel-2 file named by its band, with the sentinel-2 preset.
  const auto red = make_tiff(dir.path() / "T33UUP_20230501T100031_B04.tif", 32633, 500000, 5200000, 10, 20, 20, true, 1,
                             [](GDALDataset& dataset) { dataset.GetRasterBand(1)->SetDescription(""); });
  tessera::CreateItemOptions options;
  options.sensor = "sentinel-2";
  const json band = tessera::create_item(red.string(), options)["properties"]["bands"][0];
  EXPECT_EQ(band["eo:common_name"], "red");
  EXPECT_DOUBLE_EQ(band["eo:center_wavelength"].get<double>(), 0.665);
  // Described bands of a Landsat stack.
  const auto landsat =
      make_tiff(dir.path() / "landsat.tif", 32633, 500000, 5200000, 30, 20, 20, true, 2, [](GDALDataset& dataset) {
        dataset.GetRasterBand(1)->SetDescription("SR_B5");
        dataset.GetRasterBand(2)->SetDescription("SR_B4");
      });
  options.sensor = "landsat-oli";
  const json stack = tessera::create_item(landsat.string(), options)["properties"]["bands"];
  EXPECT_EQ(stack[0]["eo:common_name"], "nir08");
  EXPECT_EQ(stack[1]["eo:common_name"], "red");
  // Without spectral information no EO extension is claimed.
  const json bare = tessera::create_item(make_tiff(dir.path() / "bare.tif", 32633, 0, 0, 10, 5, 5).string());
  EXPECT_EQ(bare["stac_extensions"].dump().find("/eo/"), std::string::npos);

  options.sensor = "spot-5";
  expect_error([&] { tessera::create_item(red.string(), options); }, ErrorCode::kInvalidInput,
               "unknown preset 'spot-5' (accepted: sentinel-2, landsat-oli)");
  const auto broken = make_tiff(dir.path() / "broken.tif", 32633, 0, 0, 10, 5, 5, true, 1, [](GDALDataset& dataset) {
    dataset.GetRasterBand(1)->SetMetadataItem("WAVELENGTH", "blue");
  });
  expect_error([&] { tessera::create_item(broken.string()); }, ErrorCode::kInvalidInput,
               "band 1: band metadata WAVELENGTH: 'blue' is not a positive number");
  EXPECT_EQ(tessera::sensor_presets(), (std::vector<std::string>{"sentinel-2", "landsat-oli"}));
}

TEST(CreateItem, AntimeridianRasterIsSplit) {
  TempDir dir;
  // UTM zone 60 (central meridian 177E), 400 km wide: crosses 180.
  const auto tiff = make_tiff(dir.path() / "dateline.tif", 32660, 600000, 7000000, 4000, 100, 20);
  const json item = tessera::create_item(tiff.string());
  EXPECT_EQ(item["geometry"]["type"], "MultiPolygon") << item["geometry"].dump();
  EXPECT_GT(item["bbox"][0].get<double>(), item["bbox"][2].get<double>()) << item["bbox"].dump();
  json with_collection = item;
  with_collection["collection"] = "c";
  auto catalog = tessera::Catalog::open("sqlite://:memory:");
  catalog->upsert_collection(tessera::testing::make_collection("c"));
  EXPECT_EQ(catalog->load({with_collection}).loaded, 1U);
  EXPECT_EQ(catalog->search({{"bbox", {179.5, 60, -179.5, 70}}})["numberReturned"], 1);
}

TEST(CreateItem, BadInputIsInvalidInput) {
  TempDir dir;
  const auto text = dir.path() / "notes.txt";
  std::ofstream(text) << "not a raster";
  expect_error([&] { tessera::create_item(text.string()); }, ErrorCode::kInvalidInput, "not a raster");
  expect_error([&] { tessera::create_item((dir.path() / "missing.tif").string()); }, ErrorCode::kInvalidInput,
               "missing.tif");
  const auto plain = make_tiff(dir.path() / "plain.tif", 4326, 0, 0, 1, 10, 10, false);
  expect_error([&] { tessera::create_item(plain.string()); }, ErrorCode::kInvalidInput, "no georeferencing");
  expect_error([&] { tessera::create_item("/vsimem/x.tif"); }, ErrorCode::kInvalidInput, "/vsi");
}

// Ingest reads rasters through the same href allow-list as the tile reader.
TEST(CreateItem, HrefsOutsideTheAllowListAreRefused) {
  TempDir dir;
  fs::create_directories(dir.path() / "inside");
  const auto inside = make_tiff(dir.path() / "inside" / "a.tif", 4326, 10, 46, 0.01, 10, 10, true);
  expect_error([] { tessera::create_item("https://example.com/a.tif"); }, ErrorCode::kInvalidInput,
               "not under an allowed URL prefix");
  expect_error([] { tessera::to_cog("https://example.com/a.tif", "/tmp/never.tif"); }, ErrorCode::kInvalidInput,
               "allowed URL prefix");
  expect_error([] { tessera::create_item("PG:dbname=x"); }, ErrorCode::kInvalidInput, "only local paths");
  tessera::ReaderConfig config;
  config.allowed_roots = {(dir.path() / "elsewhere").string()};
  tessera::configure(config);
  expect_error([&] { tessera::create_item(inside.string()); }, ErrorCode::kInvalidInput,
               "outside the allowed local folders");
  config.allowed_roots = {(dir.path() / "inside").string()};
  tessera::configure(config);
  EXPECT_EQ(tessera::create_item(inside.string())["type"], "Feature");
  tessera::configure({});
  EXPECT_FALSE(fs::exists("/tmp/never.tif"));
}

TEST(ToCog, LocalDestinationIsACog) {
  TempDir dir;
  const auto tiff = make_tiff(dir.path() / "in.tif", 32633, 500000, 5200000, 30, 600, 600);
  const auto cog = dir.path() / "out" / "scene.tif";
  tessera::to_cog(tiff.string(), cog.string());
  const json item = tessera::create_item(cog.string());
  EXPECT_EQ(item["assets"]["data"]["type"], "image/tiff; application=geotiff; profile=cloud-optimized");
  EXPECT_EQ(item["properties"]["proj:shape"], json::array({600, 600}));
  for (const auto& entry : fs::directory_iterator(cog.parent_path())) {
    EXPECT_EQ(entry.path().filename(), "scene.tif");  // no temporary file left behind
  }
  expect_error([&] { tessera::to_cog((dir.path() / "missing.tif").string(), cog.string()); }, ErrorCode::kInvalidInput,
               "missing.tif");
}

TEST(ToCog, S3Destination) {
  if (std::getenv("TESSERA_TEST_S3_ENDPOINT") == nullptr) {
    GTEST_SKIP() << "no S3 test server (scripts/test.sh starts one)";
  }
  TempDir dir;
  const tessera::StorageOptions options = {{"endpoint", std::getenv("TESSERA_TEST_S3_ENDPOINT")},
                                           {"access_key_id", std::getenv("TESSERA_TEST_S3_ACCESS_KEY")},
                                           {"secret_access_key", std::getenv("TESSERA_TEST_S3_SECRET_KEY")}};
  const std::string uri =
      fmt::format("s3://{}/cogs-{}/scene.tif", std::getenv("TESSERA_TEST_S3_BUCKET"), std::random_device{}());
  const auto tiff = make_tiff(dir.path() / "in.tif", 32633, 500000, 5200000, 30, 300, 300);
  tessera::to_cog(tiff.string(), uri, options);
  tessera::CreateItemOptions item_options;
  item_options.storage_options = options;
  const json item = tessera::create_item(uri, item_options);
  EXPECT_EQ(item["assets"]["data"]["href"], uri);
  EXPECT_EQ(item["assets"]["data"]["type"], "image/tiff; application=geotiff; profile=cloud-optimized");
}
