// Pixel selection (unit) and mosaic tiles over both catalog backends.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include "catalog_fixtures.hpp"
#include "mosaic/pixel_selection.hpp"
#include "raster_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
using tessera::DataType;
using tessera::ErrorCode;
using tessera::ImageData;
using tessera::PixelSelection;
using tessera::mosaic::PixelSelector;
using tessera::testing::expect_error;

// A 2x2 single-band uint16 image; mask 0 where a value is 0.
ImageData image_of(std::array<std::uint16_t, 4> values, int bands = 1) {
  ImageData image(DataType::kUInt16, bands, 2, 2);
  for (int b = 0; b < bands; ++b) {
    for (int p = 0; p < 4; ++p) {
      image.band<std::uint16_t>(b)[p] = static_cast<std::uint16_t>(values[p] + (values[p] != 0 ? 100 * b : 0));
    }
  }
  for (int p = 0; p < 4; ++p) {
    image.mask()[p] = values[p] != 0 ? 255 : 0;
  }
  return image;
}

std::vector<double> band_values(const ImageData& image, int band = 0) {
  std::vector<double> values;
  for (std::size_t p = 0; p < image.pixel_count(); ++p) {
    switch (image.data_type()) {
      case DataType::kUInt8:
        values.push_back(image.band<std::uint8_t>(band)[p]);
        break;
      case DataType::kUInt16:
        values.push_back(image.band<std::uint16_t>(band)[p]);
        break;
      case DataType::kFloat64:
        values.push_back(image.band<double>(band)[p]);
        break;
      default:
        ADD_FAILURE() << "unexpected type";
    }
  }
  return values;
}

ImageData select(PixelSelection method, const std::vector<ImageData>& images) {
  PixelSelector selector(method, 2, 2);
  for (const auto& image : images) {
    selector.feed(image);
  }
  return *selector.result();
}

TEST(PixelSelection, FirstFillsGapsInOrderAndKnowsWhenFull) {
  PixelSelector selector(PixelSelection::kFirst, 2, 2);
  EXPECT_FALSE(selector.result().has_value());
  selector.feed(image_of({5, 0, 7, 0}));
  EXPECT_FALSE(selector.filled());
  selector.feed(image_of({1, 2, 3, 0}));
  EXPECT_FALSE(selector.filled());
  selector.feed(image_of({9, 9, 9, 4}));
  EXPECT_TRUE(selector.filled());
  const ImageData result = *selector.result();
  EXPECT_EQ(band_values(result), (std::vector<double>{5, 2, 7, 4}));
  EXPECT_EQ(result.data_type(), DataType::kUInt16);
}

TEST(PixelSelection, HighestLowestBandByBand) {
  const std::vector<ImageData> images = {image_of({5, 0, 7, 1}, 2), image_of({6, 3, 2, 0}, 2)};
  const ImageData highest = select(PixelSelection::kHighest, images);
  EXPECT_EQ(band_values(highest, 0), (std::vector<double>{6, 3, 7, 1}));
  EXPECT_EQ(band_values(highest, 1), (std::vector<double>{106, 103, 107, 101}));
  const ImageData lowest = select(PixelSelection::kLowest, images);
  EXPECT_EQ(band_values(lowest, 0), (std::vector<double>{5, 3, 2, 1}));
  for (std::size_t p = 0; p < 4; ++p) {
    EXPECT_EQ(highest.mask()[p], 255);
  }
}

TEST(PixelSelection, StatisticsOverTheItemsWithData) {
  const std::vector<ImageData> images = {image_of({10, 0, 1, 0}), image_of({20, 4, 2, 0}), image_of({31, 0, 4, 0}),
                                         image_of({41, 0, 3, 0})};
  const ImageData mean = select(PixelSelection::kMean, images);
  EXPECT_EQ(mean.data_type(), DataType::kUInt16);
  EXPECT_EQ(band_values(mean), (std::vector<double>{25, 4, 2, 0}));  // 25.5 and 2.5 truncated, as numpy's astype
  EXPECT_EQ(mean.mask()[3], 0);
  const ImageData median = select(PixelSelection::kMedian, images);
  EXPECT_EQ(band_values(median), (std::vector<double>{25, 4, 2, 0}));
  const ImageData stdev = select(PixelSelection::kStdev, images);
  EXPECT_EQ(stdev.data_type(), DataType::kFloat64);
  EXPECT_NEAR(band_values(stdev)[0], std::sqrt(135.25), 1e-12);  // population: (15.5² + 5.5²) * 2 / 4
  EXPECT_EQ(band_values(stdev)[1], 0);
  const ImageData count = select(PixelSelection::kCount, images);
  EXPECT_EQ(count.data_type(), DataType::kUInt8);
  EXPECT_EQ(band_values(count), (std::vector<double>{4, 1, 4, 0}));
  EXPECT_EQ(count.mask()[3], 255);  // a count is always defined
}

TEST(PixelSelection, LastBandDecidesAndIsDropped) {
  ImageData a = image_of({5, 6, 7, 8}, 2);
  ImageData b = image_of({9, 1, 9, 1}, 2);
  b.band<std::uint16_t>(1)[1] = 999;  // b wins pixel 1 on the last band only
  const ImageData high = select(PixelSelection::kLastBandHigh, {a, b});
  EXPECT_EQ(high.band_count(), 1);
  EXPECT_EQ(band_values(high), (std::vector<double>{9, 1, 9, 8}));
  const ImageData low = select(PixelSelection::kLastBandLow, {a, b});
  EXPECT_EQ(band_values(low), (std::vector<double>{5, 6, 7, 1}));
  PixelSelector one_band(PixelSelection::kLastBandHigh, 2, 2);
  expect_error([&] { one_band.feed(image_of({1, 1, 1, 1})); }, ErrorCode::kInvalidInput, "two bands");
}

TEST(PixelSelection, BandCountMustMatchTheFirstItem) {
  PixelSelector selector(PixelSelection::kFirst, 2, 2);
  selector.feed(image_of({1, 0, 0, 0}, 2));
  expect_error([&] { selector.feed(image_of({1, 1, 1, 1}, 3)); }, ErrorCode::kInvalidInput, "3 bands");
}

TEST(PixelSelection, NamesRoundTrip) {
  for (const char* name :
       {"first", "highest", "lowest", "mean", "median", "stdev", "count", "last-band-high", "last-band-low"}) {
    EXPECT_EQ(tessera::pixel_selection_name(tessera::pixel_selection_from_name(name)), name);
  }
  EXPECT_EQ(tessera::pixel_selection_from_name("lastbandhigh"), PixelSelection::kLastBandHigh);
  expect_error([] { tessera::pixel_selection_from_name("brightest"); }, ErrorCode::kInvalidInput, "brightest");
}

// --- Asset selections: TiTiler 2's text form and rio-tiler's JSON shape -----------------

TEST(AssetSelection, TextFormsAndTheirFaults) {
  using tessera::AssetSelection;
  EXPECT_EQ(tessera::asset_selection_from_text("B04"), AssetSelection("B04"));
  EXPECT_EQ(tessera::asset_selection_from_text("B04|bidx=3,1"), AssetSelection("B04", {3, 1}));
  EXPECT_EQ(tessera::asset_selection_text(AssetSelection("B04", {3, 1})), "B04|bidx=3,1");
  EXPECT_EQ(tessera::asset_selection_text(AssetSelection("B04")), "B04");
  const std::vector<std::pair<std::string, std::string>> faults = {
      {"", "asset name is empty"},
      {"|bidx=1", "asset name is empty"},
      {"B04|", "not key=value"},
      {"B04|bidx", "not key=value"},
      {"B04|bidx=", "no band index"},
      {"B04|bidx=0", "'0' is not an integer from 1"},
      {"B04|bidx=-1", "'-1' is not an integer from 1"},
      {"B04|bidx=a", "'a' is not an integer from 1"},
      {"B04|bidx=1,", "'' is not an integer from 1"},
      {"B04|bidx=1,,2", "'' is not an integer from 1"},
      {"B04|bidx=99999999999", "'99999999999' is not an integer from 1"},
      {"B04|indexes=1", "unknown option 'indexes' (supported: bidx)"},
      {"B04|bidx=1|bidx=2", "bidx is given twice"},
  };
  for (const auto& [text, message] : faults) {
    expect_error([&] { tessera::asset_selection_from_text(text); }, ErrorCode::kInvalidInput, message);
  }
  expect_error([] { tessera::asset_selection_from_text("B04|expression=b1*2"); }, ErrorCode::kUnsupported,
               "'expression' is not supported");
  expect_error([] { tessera::asset_selection_from_text("B04|bands=red"); }, ErrorCode::kUnsupported,
               "'bands' is not supported");
}

TEST(AssetSelection, JsonShapesAndTheirFaults) {
  using tessera::AssetSelection;
  EXPECT_EQ(tessera::asset_selection_from_json("B04|bidx=2"), AssetSelection("B04", {2}));
  EXPECT_EQ(tessera::asset_selection_from_json(json{{"name", "B04"}, {"indexes", {1, 3}}}),
            AssetSelection("B04", {1, 3}));
  EXPECT_EQ(tessera::asset_selection_from_json(json{{"name", "B04"}}), AssetSelection("B04"));
  const std::vector<std::pair<json, std::string>> faults = {
      {json(5), "not number"},
      {json::array({"B04"}), "not array"},
      {json{{"indexes", {1}}}, "\"name\" is required"},
      {json{{"name", ""}}, "name: must be a non-empty string"},
      {json{{"name", 4}}, "name: must be a non-empty string"},
      {json{{"name", "a"}, {"indexes", "1"}}, "indexes: must be a list of integers"},
      {json{{"name", "a"}, {"indexes", {0}}}, "0 is not a band index"},
      {json{{"name", "a"}, {"indexes", {1.5}}}, "1.5 is not a band index"},
      {json{{"name", "a"}, {"indexes", {4294967297LL}}}, "4294967297 is not a band index"},
      {json{{"name", "a"}, {"bidx", {1}}}, "unknown key 'bidx' (known: name, indexes)"},
  };
  for (const auto& [value, message] : faults) {
    expect_error([&] { tessera::asset_selection_from_json(value); }, ErrorCode::kInvalidInput, message);
  }
}

// --- Mosaic tiles over both backends --------------------------------------------------

// The WebMercatorQuad tile 10/545/361 (around 11.6E, 48.1N) and a raster in
// EPSG:3857 covering its left or right half (128 x 256 pixels) with `value`.
constexpr int kZ = 10;
constexpr std::int64_t kX = 545;
constexpr std::int64_t kY = 361;

std::string half_raster(const std::filesystem::path& path, bool left, std::uint8_t value) {
  const tessera::Bbox tile = tessera::TileMatrixSet::web_mercator_quad().xy_bounds({kZ, kX, kY});
  const double middle = (tile.minx + tile.maxx) / 2;
  return tessera::testing::write_filled_raster(
      path, 128, 256,
      {left ? tile.minx : middle, (tile.maxx - tile.minx) / 256, 0, tile.maxy, 0, (tile.miny - tile.maxy) / 256}, 3857,
      value, 0);
}

json half_item(const std::string& id, const std::string& day, const std::string& href, bool left) {
  const tessera::Bbox box = tessera::TileMatrixSet::web_mercator_quad().bounds({kZ, kX, kY});
  const double middle = (box.minx + box.maxx) / 2;
  const double west = left ? box.minx : middle;
  const double east = left ? middle : box.maxx;
  json item = tessera::testing::make_item(id, "m", day + "T00:00:00Z", 0, 0);
  item["geometry"] = {
      {"type", "Polygon"},
      {"coordinates", {{{west, box.miny}, {east, box.miny}, {east, box.maxy}, {west, box.maxy}, {west, box.miny}}}}};
  item["bbox"] = {west, box.miny, east, box.maxy};
  item["assets"] = {{"data", {{"href", href}}}};
  return item;
}

class MosaicBackends : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  void SetUp() override {
    catalog_ = GetParam().open(dir_.path());
    catalog_->upsert_collection(tessera::testing::make_collection("m"));
    tessera::clear_tile_cache();
  }

  tessera::testing::TempDir dir_;
  std::unique_ptr<tessera::Catalog> catalog_;
};

TEST_P(MosaicBackends, HalvesCachesCapsAndFailures) {
  const auto left = half_raster(dir_.path() / "left.tif", true, 7);
  const auto right = half_raster(dir_.path() / "right.tif", false, 9);
  const auto report =
      catalog_->load({half_item("left", "2024-01-03", left, true), half_item("right", "2024-01-02", right, false),
                      half_item("broken", "2024-01-04", (dir_.path() / "gone.tif").string(), false)});
  ASSERT_EQ(report.loaded, 3U) << report.to_json().dump();
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const std::string id = catalog_->register_search({{"collections", {"m"}}});
  const auto mosaic = tessera::Mosaic::from_registered(*catalog_, id, options);

  const ImageData image = mosaic.tile(tms, {kZ, kX, kY});
  EXPECT_EQ(image.assets, (std::vector<std::string>{"left", "right"}));
  EXPECT_EQ(image.band<std::uint8_t>(0)[10], 7);
  EXPECT_EQ(image.band<std::uint8_t>(0)[200], 9);
  for (std::size_t p = 0; p < image.pixel_count(); ++p) {
    ASSERT_EQ(image.mask()[p], 255) << p;
  }
  ASSERT_EQ(image.metadata["failed"].size(), 1U);
  EXPECT_EQ(image.metadata["failed"][0]["id"], "broken");
  EXPECT_EQ(image.metadata["cache"]["misses"], 3);

  const ImageData again = mosaic.tile(tms, {kZ, kX, kY});
  EXPECT_EQ(again.metadata["cache"]["hits"], 2);  // the failed read is not cached
  EXPECT_GE(tessera::tile_cache_stats().hits, 2U);

  options.max_items_read = 2;
  const ImageData capped = tessera::Mosaic(*catalog_, {{"collections", {"m"}}}, options).tile(tms, {kZ, kX, kY});
  EXPECT_EQ(capped.metadata["stopped_by"], "max_items_read");
  EXPECT_EQ(capped.assets, (std::vector<std::string>{"left"}));

  const json listed = mosaic.assets_for_tile(tms, {kZ, kX, kY});
  ASSERT_EQ(listed.size(), 3U);
  EXPECT_EQ(listed[0]["id"], "broken");
  EXPECT_EQ(listed[1]["assets"]["data"], left);
  expect_error([&] { static_cast<void>(mosaic.tile(tms, {kZ, kX + 3, kY})); }, ErrorCode::kNotFound, "no item");
}

// A part is built like a tile on a grid of its own: where the grids align it
// holds the tiles' pixels, stitched.
TEST_P(MosaicBackends, PartsEqualTheStitchedTilesWhereGridsAlign) {
  const auto left = half_raster(dir_.path() / "left.tif", true, 7);
  const auto right = half_raster(dir_.path() / "right.tif", false, 9);
  ASSERT_EQ(
      catalog_->load({half_item("left", "2024-01-03", left, true), half_item("right", "2024-01-02", right, false)})
          .loaded,
      2U);
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const tessera::Mosaic mosaic(*catalog_, {{"collections", {"m"}}}, options);
  const tessera::Bbox first = tms.xy_bounds({kZ, kX, kY});
  const tessera::Bbox second = tms.xy_bounds({kZ, kX + 1, kY});
  tessera::PartOptions grid;
  grid.bbox_crs = "EPSG:3857";
  grid.width = 512;
  grid.height = 256;
  const ImageData part = mosaic.part({first.minx, first.miny, second.maxx, first.maxy}, grid);
  const ImageData tile = mosaic.tile(tms, {kZ, kX, kY});
  ASSERT_EQ(part.width(), 512);
  ASSERT_EQ(part.height(), 256);
  EXPECT_EQ(part.assets, (std::vector<std::string>{"left", "right"}));
  for (int row = 0; row < 256; ++row) {
    for (int column = 0; column < 512; ++column) {
      const std::size_t p = static_cast<std::size_t>(row) * 512 + static_cast<std::size_t>(column);
      if (column < 256) {
        const std::size_t t = static_cast<std::size_t>(row) * 256 + static_cast<std::size_t>(column);
        ASSERT_EQ(part.mask()[p], tile.mask()[t]) << row << "," << column;
        ASSERT_EQ(part.band<std::uint8_t>(0)[p], tile.band<std::uint8_t>(0)[t]) << row << "," << column;
      } else {
        ASSERT_EQ(part.mask()[p], 0) << row << "," << column;  // the second tile has no item
      }
    }
  }
  // The preview spans the items' bboxes; max_size sizes the longest side.
  tessera::PartOptions preview;
  preview.max_size = 64;
  const ImageData whole = mosaic.preview(std::nullopt, preview);
  EXPECT_EQ(std::max(whole.width(), whole.height()), 64);
  EXPECT_EQ(whole.assets.size(), 2U);
}

// Feature statistics over a mosaic: exact, so the count is the polygon's area
// in pixels even off the pixel grid, and the mean weighs both halves by area.
TEST_P(MosaicBackends, FeatureStatisticsAreCoverageWeighted) {
  const auto left = half_raster(dir_.path() / "left.tif", true, 7);
  const auto right = half_raster(dir_.path() / "right.tif", false, 9);
  ASSERT_EQ(
      catalog_->load({half_item("left", "2024-01-03", left, true), half_item("right", "2024-01-02", right, false)})
          .loaded,
      2U);
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const tessera::Mosaic mosaic(*catalog_, {{"collections", {"m"}}}, options);
  const tessera::Bbox tile = tessera::TileMatrixSet::web_mercator_quad().xy_bounds({kZ, kX, kY});
  const double pixel = (tile.maxx - tile.minx) / 256;
  const double middle = (tile.minx + tile.maxx) / 2;
  // 40.3 pixels left of the middle, 20.3 right of it, 30.6 high, inside the tile.
  const double west = middle - 40.3 * pixel;
  const double east = middle + 20.3 * pixel;
  const double south = tile.miny + 100.2 * pixel;
  const double north = south + 30.6 * pixel;
  const json feature = {
      {"type", "Feature"},
      {"properties", json::object()},
      {"geometry",
       {{"type", "Polygon"},
        {"coordinates", {{{west, south}, {east, south}, {east, north}, {west, north}, {west, south}}}}}}};
  tessera::PartOptions grid;
  grid.bbox_crs = "EPSG:3857";
  grid.width = 256;
  grid.height = 256;
  // Specks at two corners of the tile make the shape's bbox, so the grid of the part, the tile.
  const json framed = {{"type", "Feature"},
                       {"properties", json::object()},
                       {"geometry",
                        {{"type", "MultiPolygon"},
                         {"coordinates",
                          {feature["geometry"]["coordinates"],
                           {{{tile.minx, tile.miny},
                             {tile.minx + pixel / 1e6, tile.miny},
                             {tile.minx, tile.miny + pixel / 1e6},
                             {tile.minx, tile.miny}}},
                           {{{tile.maxx, tile.maxy},
                             {tile.maxx - pixel / 1e6, tile.maxy},
                             {tile.maxx, tile.maxy - pixel / 1e6},
                             {tile.maxx, tile.maxy}}}}}}}};
  const tessera::MosaicStatistics stats = mosaic.statistics(framed, {}, grid);
  ASSERT_EQ(stats.bands.size(), 1U);
  const tessera::BandStatistics& band = stats.bands[0];
  EXPECT_EQ(band.band, "data_b1");
  EXPECT_NEAR(band.count, 60.6 * 30.6, 1e-6);
  EXPECT_NEAR(*band.mean, (7 * 40.3 + 9 * 20.3) / 60.6, 1e-9);
  EXPECT_EQ(*band.min, 7);
  EXPECT_EQ(*band.max, 9);
  EXPECT_EQ(stats.assets, (std::vector<std::string>{"left", "right"}));
  // rio-tiler's way on request: the pixels the shape touches (and maybe the
  // corner specks), weighed by an estimate.
  tessera::StatisticsOptions estimate;
  estimate.cover_scale = 10;
  const tessera::BandStatistics touched_pixels = mosaic.statistics(framed, estimate, grid).bands[0];
  EXPECT_GE(touched_pixels.valid_pixels, 62U * 31U);
  EXPECT_LE(touched_pixels.valid_pixels, 62U * 31U + 2U);
  EXPECT_NE(touched_pixels.count, band.count);
  // The feature image masks the pixels the shape does not touch.
  const ImageData image = mosaic.feature(framed, grid);
  // 62 x 31 pixels touched by the rectangle, and the corner specks (GDAL's
  // all-touched may skip a shape that small).
  const auto touched = std::count(image.mask(), image.mask() + image.pixel_count(), 255);
  EXPECT_GE(touched, 62 * 31);
  EXPECT_LE(touched, 62 * 31 + 2);
}

TEST_P(MosaicBackends, HostilePartsAreRefused) {
  const auto left = half_raster(dir_.path() / "left.tif", true, 7);
  ASSERT_EQ(catalog_->load({half_item("left", "2024-01-03", left, true)}).loaded, 1U);
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const tessera::Mosaic mosaic(*catalog_, {{"collections", {"m"}}}, options);
  const tessera::Bbox box = tessera::TileMatrixSet::web_mercator_quad().bounds({kZ, kX, kY});
  tessera::PartOptions part;
  part.max_size = 0;
  expect_error([&] { static_cast<void>(mosaic.part(box, part)); }, ErrorCode::kInvalidInput, "native resolution");
  part.width = 100000;
  expect_error([&] { static_cast<void>(mosaic.part(box, part)); }, ErrorCode::kInvalidInput, "image size");
  part = {};
  part.bbox_crs = "/etc/passwd";  // never read from a file
  expect_error([&] { static_cast<void>(mosaic.part(box, part)); }, ErrorCode::kInvalidInput, "bbox CRS");
  part = {};
  expect_error(
      [&] {
        static_cast<void>(mosaic.part({box.maxx, box.miny, box.minx, box.maxy}, part));
      },
      ErrorCode::kInvalidInput, "empty");
  expect_error(
      [&] {
        static_cast<void>(mosaic.part({0, 0, std::numeric_limits<double>::infinity(), 1}, part));
      },
      ErrorCode::kInvalidInput, "finite");
  // An extreme aspect ratio must not overflow the other side.
  part.width = 8000;
  expect_error(
      [&] {
        static_cast<void>(mosaic.part({box.minx, box.miny, box.minx + 1e-9, box.maxy}, part));
      },
      ErrorCode::kInvalidInput, "image size");
  expect_error(
      [&] {
        static_cast<void>(mosaic.statistics({{"type", "Point"}, {"coordinates", {11.6, 48.1}}}));
      },
      ErrorCode::kInvalidInput, "Polygon or MultiPolygon");
  expect_error(
      [&] {
        static_cast<void>(mosaic.feature({{"type", "Polygon"}, {"coordinates", 3}}));
      },
      ErrorCode::kInvalidInput, "feature");
  tessera::ReadOptions read;
  read.buffer = 2;
  expect_error([&] { static_cast<void>(mosaic.part(box, {}, read)); }, ErrorCode::kInvalidInput, "buffer");
}

// Point values of every item under a point, in search order, within the
// mosaic's caps.
TEST_P(MosaicBackends, PointValuesAreBoundedLikeTiles) {
  const auto left = half_raster(dir_.path() / "left.tif", true, 7);
  const auto again = half_raster(dir_.path() / "again.tif", true, 5);
  ASSERT_EQ(catalog_->load({half_item("left", "2024-01-03", left, true), half_item("again", "2024-01-02", again, true)})
                .loaded,
            2U);
  const tessera::Bbox box = tessera::TileMatrixSet::web_mercator_quad().bounds({kZ, kX, kY});
  const double lon = box.minx + (box.maxx - box.minx) / 4;
  const double lat = (box.miny + box.maxy) / 2;
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const json all = tessera::Mosaic(*catalog_, {{"collections", {"m"}}}, options).point(lon, lat);
  ASSERT_EQ(all["values"].size(), 2U) << all;
  EXPECT_EQ(all["values"][0]["id"], "left");
  EXPECT_EQ(all["values"][0]["values"], json::array({7.0}));
  EXPECT_EQ(all["values"][0]["band_names"], json::array({"data_b1"}));
  EXPECT_EQ(all["values"][1]["values"], json::array({5.0}));
  EXPECT_FALSE(all.contains("stopped_by"));
  options.max_items_read = 1;
  const json capped = tessera::Mosaic(*catalog_, {{"collections", {"m"}}}, options).point(lon, lat);
  EXPECT_EQ(capped["values"].size(), 1U);
  EXPECT_EQ(capped["stopped_by"], "max_items_read");
  options.assets.clear();
  options.expression = "data_b1 * 2";
  expect_error(
      [&] {
        static_cast<void>(tessera::Mosaic(*catalog_, {{"collections", {"m"}}}, options).point(lon, lat));
      },
      ErrorCode::kInvalidInput, "assets");
}

// Hostile reads are refused before anything is sized by them: a buffer of
// 20,000 pixels once allocated ~1.6 GB before the size check.
TEST_P(MosaicBackends, HostileReadsAreRefusedBeforeAllocation) {
  const auto left = half_raster(dir_.path() / "left.tif", true, 7);
  ASSERT_EQ(catalog_->load({half_item("left", "2024-01-03", left, true)}).loaded, 1U);
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const tessera::Mosaic mosaic(*catalog_, {{"collections", {"m"}}}, options);
  tessera::ReadOptions read;
  for (const double buffer : {20000.0, 45000.0, 1e300, std::numeric_limits<double>::infinity(), -2.0}) {
    read.buffer = buffer;
    expect_error(
        [&] {
          static_cast<void>(mosaic.tile(tms, {kZ, kX, kY}, 256, read));
        },
        ErrorCode::kInvalidInput, "buffer");
  }
  read.buffer = 0;
  // A stacking method keeps every item image: the request budget bounds them.
  ASSERT_EQ(catalog_->load({half_item("again", "2024-01-04", left, true)}).loaded, 1U);
  tessera::ReaderConfig budget = tessera::reader_config();
  budget.max_request_values = 256 * 256 * 4;
  tessera::configure(budget);
  options.method = tessera::PixelSelection::kMean;
  expect_error(
      [&] {
        static_cast<void>(tessera::Mosaic(*catalog_, {{"collections", {"m"}}}, options).tile(tms, {kZ, kX, kY}));
      },
      ErrorCode::kInvalidInput, "max_request_values");
  tessera::configure(tessera::ReaderConfig{});
  EXPECT_EQ(tessera::Mosaic(*catalog_, {{"collections", {"m"}}}, options).tile(tms, {kZ, kX, kY}).assets.size(), 2U);
  read.expression = "1";
  expect_error(
      [&] {
        static_cast<void>(mosaic.tile(tms, {kZ, kX, kY}, 256, read));
      },
      ErrorCode::kInvalidInput, "assets");
}

// A three-band uint8 raster over the whole tile, every band and pixel with
// its own value (1..250, nodata 0 nowhere), so band mix-ups show.
std::string three_band_raster(const std::filesystem::path& path) {
  const tessera::Bbox tile = tessera::TileMatrixSet::web_mercator_quad().xy_bounds({kZ, kX, kY});
  GDALAllRegister();
  GDALDatasetUniquePtr dataset(
      GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), 256, 256, 3, GDT_Byte, nullptr));
  std::array<double, 6> grid = {tile.minx, (tile.maxx - tile.minx) / 256, 0, tile.maxy,
                                0,         (tile.miny - tile.maxy) / 256};
  dataset->SetGeoTransform(grid.data());
  OGRSpatialReference crs;
  crs.importFromEPSG(3857);
  dataset->SetSpatialRef(&crs);
  for (int band = 1; band <= 3; ++band) {
    std::vector<std::uint8_t> values(256 * 256);
    for (std::size_t p = 0; p < values.size(); ++p) {
      values[p] = static_cast<std::uint8_t>(1 + (p * 7 + static_cast<std::size_t>(band) * 61) % 250);
    }
    EXPECT_EQ(dataset->GetRasterBand(band)->RasterIO(GF_Write, 0, 0, 256, 256, values.data(), 256, 256, GDT_Byte, 0, 0),
              CE_None);
  }
  return path.string();
}

// An item over the whole tile with a three-band asset "rgb" and a one-band asset "data".
json two_asset_item(const std::string& rgb, const std::string& data) {
  json item = half_item("both", "2024-01-05", data, true);
  const tessera::Bbox box = tessera::TileMatrixSet::web_mercator_quad().bounds({kZ, kX, kY});
  item["geometry"] = {{"type", "Polygon"},
                      {"coordinates",
                       {{{box.minx, box.miny},
                         {box.maxx, box.miny},
                         {box.maxx, box.maxy},
                         {box.minx, box.maxy},
                         {box.minx, box.miny}}}}};
  item["bbox"] = {box.minx, box.miny, box.maxx, box.maxy};
  item["assets"] = {{"rgb", {{"href", rgb}}}, {"data", {{"href", data}}}};
  return item;
}

// One band of a COG read alone, as doubles.
std::vector<double> single_band(const std::string& href, int band) {
  tessera::ReadOptions read;
  read.indexes = {band};
  return band_values(tessera::read_tile(href, tessera::TileMatrixSet::web_mercator_quad(), {kZ, kX, kY}, 256, read));
}

// Per-asset band selections read exactly the pixels of those bands read
// singly, named "<asset>_b<index>"; both expression spellings agree.
TEST_P(MosaicBackends, PerAssetBandsEqualTheBandsReadSingly) {
  const auto rgb = three_band_raster(dir_.path() / "rgb.tif");
  const auto data = half_raster(dir_.path() / "data.tif", true, 7);
  ASSERT_EQ(catalog_->load({two_asset_item(rgb, data)}).loaded, 1U);
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  const json search = {{"collections", {"m"}}};
  tessera::MosaicOptions options;
  options.assets = {{"rgb", {3, 1}}, {"rgb", {2}}};
  const ImageData stacked = tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY});
  EXPECT_EQ(stacked.band_names, (std::vector<std::string>{"rgb_b3", "rgb_b1", "rgb_b2"}));
  EXPECT_EQ(band_values(stacked, 0), single_band(rgb, 3));
  EXPECT_EQ(band_values(stacked, 1), single_band(rgb, 1));
  EXPECT_EQ(band_values(stacked, 2), single_band(rgb, 2));
  EXPECT_NE(band_values(stacked, 0), band_values(stacked, 1));

  // One asset, one band: the fast path names it the same way.
  options.assets = {{"rgb", {2}}};
  const ImageData one = tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY});
  EXPECT_EQ(one.band_names, (std::vector<std::string>{"rgb_b2"}));
  EXPECT_EQ(band_values(one), single_band(rgb, 2));

  // rio-tiler 9's b<n> counts the stack; rio-tiler 7's <asset>_b<n> names bands.
  std::vector<double> difference;
  const auto third = single_band(rgb, 3);
  const auto first = single_band(rgb, 1);
  for (std::size_t p = 0; p < third.size(); ++p) {
    difference.push_back(third[p] - first[p]);
  }
  options.assets = {{"rgb", {3}}, {"rgb", {1}}};
  options.expression = "b1 - b2";
  EXPECT_EQ(band_values(tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY})), difference);
  options.assets.clear();
  options.expression = "rgb_b3 - rgb_b1";
  EXPECT_EQ(band_values(tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY})), difference);

  // asset_as_band: one band per asset, named after it; 1.x expressions name assets.
  options.asset_as_band = true;
  options.assets = {{"rgb", {3}}, "data"};
  options.expression.clear();
  const ImageData as_bands = tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY});
  EXPECT_EQ(as_bands.band_names, (std::vector<std::string>{"rgb", "data"}));
  EXPECT_EQ(band_values(as_bands, 0).at(10), third.at(10));  // "data" covers the left half only
  EXPECT_EQ(band_values(as_bands, 1).at(10), 7.0);
  options.assets = {"data"};
  options.expression = "data * 2";
  const auto doubled = band_values(tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY}));
  EXPECT_EQ(doubled.at(10), 14.0);

  // Point values follow the same selections and names.
  const tessera::Bbox box = tms.bounds({kZ, kX, kY});
  options = {};
  options.assets = {{"rgb", {2, 3}}, "data"};
  const json point = tessera::Mosaic(*catalog_, search, options)
                         .point(box.minx + (box.maxx - box.minx) / 8, (box.miny + box.maxy) / 2);
  ASSERT_EQ(point["values"].size(), 1U) << point;
  EXPECT_EQ(point["values"][0]["band_names"], json::array({"rgb_b2", "rgb_b3", "data_b1"}));
  options.asset_as_band = true;
  options.assets = {{"rgb", {2}}, "data"};
  EXPECT_EQ(tessera::Mosaic(*catalog_, search, options)
                .point(box.minx + (box.maxx - box.minx) / 8, (box.miny + box.maxy) / 2)["values"][0]["band_names"],
            json::array({"rgb", "data"}));
}

// A band the selection names that the asset lacks fails the request, naming
// the asset and its band count; malformed expressions fail before any read.
TEST_P(MosaicBackends, BandSelectionFaultsNameTheAssetAndItsBands) {
  const auto rgb = three_band_raster(dir_.path() / "rgb.tif");
  const auto data = half_raster(dir_.path() / "data.tif", true, 7);
  ASSERT_EQ(catalog_->load({two_asset_item(rgb, data)}).loaded, 1U);
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  const json search = {{"collections", {"m"}}};
  const auto tile_of = [&](const tessera::MosaicOptions& options) {
    return [&, options] { static_cast<void>(tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY})); };
  };
  tessera::MosaicOptions options;
  options.assets = {"data", {"rgb", {1, 4}}};
  expect_error(tile_of(options), ErrorCode::kInvalidInput, "asset 'rgb' has 3 band(s): band 4 does not exist");
  expect_error(tile_of(options), ErrorCode::kInvalidInput, "band 4");  // also once the good bands are cached
  tessera::ReadOptions read;
  read.indexes = {5};
  options.assets = {"rgb"};
  expect_error(
      [&] {
        static_cast<void>(tessera::Mosaic(*catalog_, search, options).tile(tms, {kZ, kX, kY}, 256, read));
      },
      ErrorCode::kInvalidInput, "asset 'rgb' has 3 band(s)");
  options.assets = {{"rgb", {1}}, "data"};
  options.expression = "b1 + b3";
  expect_error(tile_of(options), ErrorCode::kInvalidInput,
               "b3 is beyond the 2 band(s) the assets give (rgb_b1, data_b1)");
  options.asset_as_band = true;
  options.assets = {"rgb"};
  options.expression.clear();
  expect_error(tile_of(options), ErrorCode::kInvalidInput, "asset_as_band: asset 'rgb' gives 3 bands, not one");
  options.asset_as_band = false;
  options.assets = {{"rgb", {1}}};
  options.expression = "b1 + rgb_b1";
  expect_error([&] { tessera::check_mosaic_options(options); }, ErrorCode::kInvalidInput, "'b1' is not an asset band");
  options.assets.clear();
  options.expression = "b1 * 2";
  expect_error([&] { tessera::check_mosaic_options(options); }, ErrorCode::kInvalidInput, "name the assets");
  options.expression = "2";
  expect_error([&] { tessera::check_mosaic_options(options); }, ErrorCode::kInvalidInput, "names no band");
  options.assets = {{"rgb", {9}}};
  options.expression.clear();
  const tessera::Bbox box = tms.bounds({kZ, kX, kY});
  expect_error(
      [&] {
        static_cast<void>(
            tessera::Mosaic(*catalog_, search, options).point(box.minx + 1e-4, (box.miny + box.maxy) / 2));
      },
      ErrorCode::kInvalidInput, "asset 'rgb'");
}

INSTANTIATE_TEST_SUITE_P(Backends, MosaicBackends, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& backend) { return backend.param.name; });

}  // namespace
