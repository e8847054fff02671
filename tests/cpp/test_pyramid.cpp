// Item change events on both catalog backends, and overview pyramids built
// from them: equality with fresh mosaics, incremental updates, reopening,
// hostile options, reads during updates.

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "catalog_fixtures.hpp"
#include "mosaic/pyramid_resample.hpp"
#include "raster_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/pyramid.hpp"
#include "tessera/service.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
using tessera::Bbox;
using tessera::DataType;
using tessera::ErrorCode;
using tessera::ImageData;
using tessera::ItemChange;
using tessera::ItemOperation;
using tessera::Pyramid;
using tessera::PyramidOptions;
using tessera::PyramidResampling;
using tessera::Tile;
using tessera::TileMatrixSet;
using tessera::testing::expect_error;

constexpr int kBaseZoom = 4;

// A z4 block of WebMercatorQuad tiles: columns x..x+size-1, rows y..y+size-1.
struct Block {
  std::int64_t x = 0;
  std::int64_t y = 0;
  std::int64_t size = 1;

  [[nodiscard]] Bbox xy_bounds() const {
    const auto tms = TileMatrixSet::web_mercator_quad();
    const Bbox first = tms.xy_bounds({kBaseZoom, x, y});
    const Bbox last = tms.xy_bounds({kBaseZoom, x + size - 1, y + size - 1});
    return {first.minx, last.miny, last.maxx, first.maxy};
  }
  [[nodiscard]] Bbox bounds() const {
    const auto tms = TileMatrixSet::web_mercator_quad();
    const Bbox first = tms.bounds({kBaseZoom, x, y});
    const Bbox last = tms.bounds({kBaseZoom, x + size - 1, y + size - 1});
    return {first.minx, last.miny, last.maxx, first.maxy};
  }
};

// A raster in EPSG:3857 filling `block` exactly with `value` (nodata 0):
// its edges fall on pixel edges at every zoom up to the base, so a pyramid
// of it is exact at every level, whatever its resampling.
std::string block_raster(const std::filesystem::path& path, const Block& block, std::uint8_t value) {
  const Bbox box = block.xy_bounds();
  const int pixels = static_cast<int>(64 * block.size);
  return tessera::testing::write_filled_raster(
      path, pixels, pixels, {box.minx, (box.maxx - box.minx) / pixels, 0, box.maxy, 0, (box.miny - box.maxy) / pixels},
      3857, value, 0);
}

json block_item(const std::string& id, const std::string& day, const std::string& href, const Block& block) {
  const Bbox box = block.bounds();
  json item = tessera::testing::make_item(id, "p", day + "T00:00:00Z", 0, 0);
  item["geometry"] = {{"type", "Polygon"},
                      {"coordinates",
                       {{{box.minx, box.miny},
                         {box.maxx, box.miny},
                         {box.maxx, box.maxy},
                         {box.minx, box.maxy},
                         {box.minx, box.miny}}}}};
  item["bbox"] = {box.minx, box.miny, box.maxx, box.maxy};
  item["assets"] = {{"data", {{"href", href}}}};
  return item;
}

// The base cells a bbox covers, as the pyramid maps a change to them.
std::size_t cells_under(const Bbox& bbox) {
  std::size_t cells = 0;
  for (const auto& range : TileMatrixSet::web_mercator_quad().tile_ranges(bbox, kBaseZoom)) {
    cells += static_cast<std::size_t>((range.max_x - range.min_x + 1) * (range.max_y - range.min_y + 1));
  }
  return cells;
}

// Values and mask equal pixel for pixel (uint8 tiles).
void expect_same_pixels(const ImageData& stored, const ImageData& fresh, const Tile& tile) {
  ASSERT_EQ(stored.data_type(), fresh.data_type());
  ASSERT_EQ(stored.band_count(), fresh.band_count());
  ASSERT_EQ(stored.pixel_count(), fresh.pixel_count());
  for (std::size_t p = 0; p < stored.pixel_count(); ++p) {
    ASSERT_EQ(stored.mask()[p], fresh.mask()[p]) << tile.z << "/" << tile.x << "/" << tile.y << " pixel " << p;
    if (fresh.mask()[p] != 0) {
      ASSERT_EQ(stored.band<std::uint8_t>(0)[p], fresh.band<std::uint8_t>(0)[p])
          << tile.z << "/" << tile.x << "/" << tile.y << " pixel " << p;
    }
  }
}

// The tile at zoom z over base tile (x, y).
Tile above(int z, std::int64_t x, std::int64_t y) { return {z, x >> (kBaseZoom - z), y >> (kBaseZoom - z)}; }

class PyramidBackends : public ::testing::TestWithParam<tessera::testing::CatalogBackend> {
 protected:
  void SetUp() override {
    catalog_ = GetParam().open(dir_.path());
    catalog_->upsert_collection(tessera::testing::make_collection("p"));
    tessera::clear_tile_cache();
    search_id_ = catalog_->register_search({{"collections", {"p"}}});
    options_.max_zoom = kBaseZoom;
    options_.mosaic.assets = {"data"};
  }

  std::string raster(const std::string& name, const Block& block, std::uint8_t value) {
    return block_raster(dir_.path() / (name + ".tif"), block, value);
  }

  void load(const std::vector<json>& items, tessera::LoadMode mode = tessera::LoadMode::kInsert) {
    tessera::LoadOptions options;
    options.mode = mode;
    const auto report = catalog_->load(items, options);
    ASSERT_EQ(report.loaded, items.size()) << report.to_json().dump();
  }

  [[nodiscard]] tessera::Mosaic fresh() const {
    return tessera::Mosaic::from_registered(*catalog_, search_id_, options_.mosaic);
  }

  tessera::testing::TempDir dir_;
  std::unique_ptr<tessera::Catalog> catalog_;
  std::string search_id_;
  PyramidOptions options_;
  const Block a_{8, 5, 1};
  const Block b_{8, 5, 2};
  const Block c_{12, 5, 1};
};

TEST_P(PyramidBackends, ItemChangesRecordEveryWriteWithItsFootprints) {
  const std::int64_t start = catalog_->last_item_change();
  load({block_item("a", "2024-01-03", raster("a", a_, 10), a_)});
  const Block moved{2, 9, 1};
  load({block_item("a", "2024-01-03", raster("a-moved", moved, 10), moved)}, tessera::LoadMode::kUpsert);
  catalog_->delete_item("p", "a");

  const std::vector<ItemChange> changes = catalog_->item_changes(start, 100);
  ASSERT_GE(changes.size(), 3U);
  EXPECT_EQ(changes.front().operation, ItemOperation::kInsert);
  EXPECT_EQ(changes.back().operation, ItemOperation::kDelete);
  bool old_seen = false;
  bool new_seen = false;
  for (std::size_t n = 0; n < changes.size(); ++n) {
    const ItemChange& change = changes[n];
    EXPECT_EQ(change.collection, "p");
    EXPECT_EQ(change.item_id, "a");
    EXPECT_GT(change.created_us, 0);
    if (n > 0) {
      EXPECT_GT(change.id, changes[n - 1].id);
    }
    for (const auto& bbox : {change.old_bbox, change.new_bbox}) {
      if (bbox) {
        old_seen = old_seen || bbox->intersects(a_.bounds());
        new_seen = new_seen || bbox->intersects(moved.bounds());
      }
    }
  }
  // The replacement names both footprints (SQLite as one "replace", PgSTAC's
  // delete-and-insert upsert as a delete and an insert).
  EXPECT_TRUE(old_seen && new_seen);
  ASSERT_TRUE(changes.back().old_bbox.has_value());
  EXPECT_FALSE(changes.back().new_bbox.has_value());
  EXPECT_NEAR(changes.back().old_bbox->minx, moved.bounds().minx, 1e-6);
  EXPECT_EQ(catalog_->last_item_change(), changes.back().id);
  EXPECT_EQ(changes.front().to_json()["operation"], "insert");

  EXPECT_EQ(catalog_->item_changes(start, 1).size(), 1U);
  EXPECT_TRUE(catalog_->item_changes(changes.back().id, 10).empty());
  expect_error([&] { static_cast<void>(catalog_->item_changes(start, 0)); }, ErrorCode::kInvalidInput, "limit");
  expect_error([&] { static_cast<void>(catalog_->item_changes(start, 10001)); }, ErrorCode::kInvalidInput, "limit");
  EXPECT_EQ(catalog_->prune_item_changes(std::chrono::hours(1)), 0U);
  EXPECT_GE(catalog_->prune_item_changes(std::chrono::seconds(0)), changes.size());
  EXPECT_TRUE(catalog_->item_changes(start, 100).empty());
}

TEST_P(PyramidBackends, EveryLevelEqualsAFreshMosaic) {
  load({block_item("a", "2024-01-03", raster("a", a_, 10), a_), block_item("b", "2024-01-02", raster("b", b_, 20), b_),
        block_item("c", "2024-01-01", raster("c", c_, 30), c_)});
  for (const auto resampling : {PyramidResampling::kAverage, PyramidResampling::kNearest}) {
    options_.resampling = resampling;
    const Pyramid pyramid = Pyramid::build(*catalog_, dir_.path() / "pyramids", search_id_, options_);
    const auto tms = TileMatrixSet::web_mercator_quad();
    for (int z = 0; z <= kBaseZoom; ++z) {
      for (const Block& block : {a_, b_, c_}) {
        const Tile tile = above(z, block.x + block.size - 1, block.y + block.size - 1);
        const ImageData stored = pyramid.tile(tile);
        EXPECT_EQ(stored.metadata["source"], "pyramid");
        expect_same_pixels(stored, fresh().tile(tms, tile), tile);
      }
    }
    expect_error([&] { static_cast<void>(pyramid.tile({kBaseZoom, 0, 0})); }, ErrorCode::kNotFound, "no item");
    expect_error([&] { static_cast<void>(pyramid.tile({kBaseZoom + 1, 0, 0})); }, ErrorCode::kInvalidInput, "max zoom");
    const json info = pyramid.info();
    ASSERT_EQ(info["levels"].size(), static_cast<std::size_t>(kBaseZoom + 1));
    EXPECT_EQ(info["levels"][kBaseZoom]["tiles"], 5);  // a (under b), b's four, c
    EXPECT_EQ(info["levels"][0]["tiles"], 1);
    EXPECT_EQ(info["built"]["cells_capped"], 0);  // every base tile read all it needed
    EXPECT_EQ(info["built"]["cursor"], pyramid.cursor());
  }
}

TEST_P(PyramidBackends, UpdatesRebuildOnlyTheCellsOfEachChange) {
  load({block_item("a", "2024-01-03", raster("a", a_, 10), a_), block_item("b", "2024-01-02", raster("b", b_, 20), b_),
        block_item("c", "2024-01-01", raster("c", c_, 30), c_)});
  const auto directory = dir_.path() / "pyramids";
  Pyramid pyramid = Pyramid::build(*catalog_, directory, search_id_, options_);
  const auto tms = TileMatrixSet::web_mercator_quad();
  EXPECT_EQ(pyramid.update().cells_rebuilt, 0U);  // nothing changed since the build

  // Insert: only the new item's cell and its ancestors.
  const Block d{3, 3, 1};
  load({block_item("d", "2024-01-04", raster("d", d, 40), d)});
  auto report = pyramid.update();
  EXPECT_EQ(report.cells_rebuilt, cells_under(d.bounds()));
  EXPECT_EQ(report.tiles_written, report.cells_rebuilt + static_cast<std::size_t>(kBaseZoom));
  EXPECT_EQ(pyramid.tile({kBaseZoom, 3, 3}).band<std::uint8_t>(0)[0], 40);
  expect_same_pixels(pyramid.tile({1, 0, 0}), fresh().tile(tms, {1, 0, 0}), {1, 0, 0});

  // Replace with a moved footprint: the old cells (now b's) and the new ones.
  const Block moved{13, 9, 1};
  load({block_item("a", "2024-01-03", raster("a-moved", moved, 50), moved)}, tessera::LoadMode::kUpsert);
  report = pyramid.update();
  EXPECT_EQ(report.cells_rebuilt, cells_under(a_.bounds()) + cells_under(moved.bounds()));
  EXPECT_EQ(pyramid.tile({kBaseZoom, 8, 5}).band<std::uint8_t>(0)[0], 20);
  EXPECT_EQ(pyramid.tile({kBaseZoom, 13, 9}).band<std::uint8_t>(0)[0], 50);
  for (const Tile& tile : {above(2, 8, 5), above(2, 13, 9), Tile{0, 0, 0}}) {
    expect_same_pixels(pyramid.tile(tile), fresh().tile(tms, tile), tile);
  }

  // Delete: the cells are cleared, and ancestors left without data with them.
  const std::int64_t before_delete = pyramid.cursor();
  catalog_->delete_item("p", "c");
  report = pyramid.update();
  EXPECT_EQ(report.cells_rebuilt, cells_under(c_.bounds()));
  EXPECT_GE(report.tiles_removed, 2U);  // the base tile and its parent at z3 (only c was there)
  expect_error([&] { static_cast<void>(pyramid.tile({kBaseZoom, 12, 5})); }, ErrorCode::kNotFound, "no item");
  expect_error([&] { static_cast<void>(pyramid.tile(above(3, 12, 5))); }, ErrorCode::kNotFound, "no item");
  EXPECT_GT(pyramid.cursor(), before_delete);

  // The cursor survives reopening: nothing is applied twice.
  const Pyramid reopened = Pyramid::open(*catalog_, directory, search_id_);
  EXPECT_EQ(reopened.cursor(), pyramid.cursor());
  EXPECT_EQ(reopened.options().to_json(), options_.to_json());
  EXPECT_EQ(Pyramid::open(*catalog_, directory, search_id_).update().cells_rebuilt, 0U);
  EXPECT_TRUE(Pyramid::exists(directory, search_id_));
  EXPECT_FALSE(Pyramid::exists(directory, "other"));
  expect_error([&] { static_cast<void>(Pyramid::open(*catalog_, directory, "other")); }, ErrorCode::kNotFound,
               "no pyramid");
}

TEST_P(PyramidBackends, TileReadsGoOnWhileUpdating) {
  load({block_item("b", "2024-01-02", raster("b", b_, 20), b_)});
  Pyramid pyramid = Pyramid::build(*catalog_, dir_.path() / "pyramids", search_id_, options_);
  std::atomic<bool> done = false;
  std::atomic<int> reads = 0;
  std::atomic<int> wrong = 0;
  std::vector<std::thread> readers;
  for (int n = 0; n < 3; ++n) {
    readers.emplace_back([&] {
      while (!done) {
        // Before the update b is there (20), after it a is on top (10).
        const auto value = pyramid.tile({kBaseZoom, 8, 5}).band<std::uint8_t>(0)[0];
        wrong += value == 20 || value == 10 ? 0 : 1;
        ++reads;
      }
    });
  }
  for (int round = 0; round < 3; ++round) {
    load({block_item("a", "2024-01-03", raster("a", a_, 10), a_)}, tessera::LoadMode::kUpsert);
    static_cast<void>(pyramid.update());
  }
  while (reads < 10) {
    std::this_thread::yield();
  }
  done = true;
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(pyramid.tile({kBaseZoom, 8, 5}).band<std::uint8_t>(0)[0], 10);
}

TEST_P(PyramidBackends, HostileOptionsAreRefusedBeforeBuilding) {
  const auto directory = dir_.path() / "pyramids";
  const auto refused = [&](PyramidOptions options, const std::string& fragment) {
    expect_error([&] { static_cast<void>(Pyramid::build(*catalog_, directory, search_id_, options)); },
                 ErrorCode::kInvalidInput, fragment);
  };
  PyramidOptions options = options_;
  options.max_zoom = 9;  // 262,144 base tiles
  refused(options, "maxzoom");
  options.max_zoom = 40;
  refused(options, "maxzoom");
  options = options_;
  options.tile_size = 17;
  refused(options, "tilesize");
  options.tile_size = 1 << 20;
  refused(options, "tilesize");
  options = options_;
  options.mosaic.assets.clear();
  refused(options, "assets");
  EXPECT_FALSE(std::filesystem::exists(directory / (search_id_ + ".pyramid")));
  expect_error([&] { static_cast<void>(Pyramid::build(*catalog_, directory, "../escape", options_)); },
               ErrorCode::kInvalidInput, "cannot name a pyramid");
  expect_error([&] { static_cast<void>(Pyramid::build(*catalog_, directory, "unknown", options_)); },
               ErrorCode::kNotFound);

  expect_error(
      [] {
        static_cast<void>(PyramidOptions::from_json({{"maxzom", 3}}));
      },
      ErrorCode::kInvalidInput, "maxzom");
  expect_error(
      [] {
        static_cast<void>(PyramidOptions::from_json({{"maxzoom", "3"}}));
      },
      ErrorCode::kInvalidInput, "maxzoom");
  expect_error(
      [] {
        static_cast<void>(PyramidOptions::from_json({{"resampling", "cubic"}}));
      },
      ErrorCode::kInvalidInput, "average");
  expect_error(
      [] {
        static_cast<void>(PyramidOptions::from_json({{"max_items_read", 0}}));
      },
      ErrorCode::kInvalidInput, "max_items_read");
  const PyramidOptions parsed =
      PyramidOptions::from_json({{"maxzoom", 5}, {"resampling", "nearest"}, {"assets", {"x"}}, {"method", "highest"}});
  EXPECT_EQ(PyramidOptions::from_json(parsed.to_json()).to_json(), parsed.to_json());

  // A file that is not a pyramid is not taken for one.
  std::filesystem::create_directories(directory);
  { auto other = tessera::Catalog::open("sqlite://" + (directory / "notapyramid.pyramid").string()); }
  expect_error([&] { static_cast<void>(Pyramid::open(*catalog_, directory, "notapyramid")); }, ErrorCode::kInvalidInput,
               "not a pyramid");
}

TEST_P(PyramidBackends, ServesOnlyWhatItStores) {
  load({block_item("a", "2024-01-03", raster("a", a_, 10), a_)});
  const Pyramid pyramid = Pyramid::build(*catalog_, dir_.path() / "pyramids", search_id_, options_);
  const auto tms = TileMatrixSet::web_mercator_quad();
  const tessera::MosaicOptions mosaic = options_.mosaic;
  EXPECT_TRUE(pyramid.serves(tms, {3, 4, 2}, 256, mosaic));
  EXPECT_FALSE(pyramid.serves(tms, {5, 16, 10}, 256, mosaic));  // above the base level
  EXPECT_FALSE(pyramid.serves(tms, {3, 4, 2}, 512, mosaic));
  EXPECT_FALSE(pyramid.serves(TileMatrixSet::world_crs84_quad(), {3, 4, 2}, 256, mosaic));
  tessera::MosaicOptions other = mosaic;
  other.method = tessera::PixelSelection::kHighest;
  EXPECT_FALSE(pyramid.serves(tms, {3, 4, 2}, 256, other));
  other = mosaic;
  other.max_items_read = 3;  // caps do not change the pixels
  EXPECT_TRUE(pyramid.serves(tms, {3, 4, 2}, 256, other));
  tessera::ReadOptions read;
  read.nodata = 5;
  EXPECT_FALSE(pyramid.serves(tms, {3, 4, 2}, 256, mosaic, read));
  read = {};
  read.resampling = tessera::Resampling::kBilinear;
  EXPECT_FALSE(pyramid.serves(tms, {3, 4, 2}, 256, mosaic, read));
}

INSTANTIATE_TEST_SUITE_P(Backends, PyramidBackends, ::testing::ValuesIn(tessera::testing::catalog_backends()),
                         [](const auto& backend) { return backend.param.name; });

// The resampling of parents, on its own.
TEST(PyramidResample, AverageOfValidPixelsAndNearestPicksTheLowerRight) {
  ImageData child(DataType::kUInt16, 1, 4, 4);
  // The 2x2 block at the top left: 10, 11 / 13 (no data), 14.
  child.band<std::uint16_t>(0)[0] = 10;
  child.band<std::uint16_t>(0)[1] = 11;
  child.band<std::uint16_t>(0)[4] = 13;
  child.band<std::uint16_t>(0)[5] = 14;
  child.mask()[0] = child.mask()[1] = child.mask()[5] = 255;
  const auto average =
      tessera::mosaic::parent_tile({&child, nullptr, nullptr, nullptr}, 4, PyramidResampling::kAverage);
  ASSERT_TRUE(average.has_value());
  EXPECT_EQ(average->band<std::uint16_t>(0)[0], 12);  // (10 + 11 + 14) / 3 = 11.67, rounded
  EXPECT_EQ(average->mask()[0], 255);
  EXPECT_EQ(average->mask()[1], 0);  // the rest of the child is no data
  EXPECT_EQ(average->mask()[2], 0);  // no child on the right
  const auto nearest =
      tessera::mosaic::parent_tile({&child, nullptr, nullptr, nullptr}, 4, PyramidResampling::kNearest);
  ASSERT_TRUE(nearest.has_value());
  EXPECT_EQ(nearest->band<std::uint16_t>(0)[0], 14);
  EXPECT_FALSE(
      tessera::mosaic::parent_tile({nullptr, nullptr, nullptr, nullptr}, 4, PyramidResampling::kAverage).has_value());
}

}  // namespace

namespace {

tessera::HttpRequest tile_request(const std::string& search_id, const Tile& tile,
                                  std::vector<std::pair<std::string, std::string>> query) {
  tessera::HttpRequest request;
  request.path = fmt::format("/searches/{}/tiles/WebMercatorQuad/{}/{}/{}.png", search_id, tile.z, tile.x, tile.y);
  request.query = std::move(query);
  request.headers = {{"Host", "tiles.test"}};
  return request;
}

TEST_P(PyramidBackends, ServiceAnswersMatchingTilesFromThePyramid) {
  load(
      {block_item("a", "2024-01-03", raster("a", a_, 10), a_), block_item("b", "2024-01-02", raster("b", b_, 20), b_)});
  const auto directory = dir_.path() / "pyramids";
  static_cast<void>(Pyramid::build(*catalog_, directory, search_id_, options_));
  tessera::ServiceOptions with_pyramids;
  with_pyramids.pyramid_dir = directory.string();
  const tessera::Service service(*catalog_, with_pyramids);
  const tessera::Service live(*catalog_);
  const auto answer = [&](const tessera::Service& on, const Tile& tile,
                          std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<std::pair<std::string, std::string>> query = {{"assets", "data"}, {"rescale", "0,50"}};
    query.insert(query.end(), extra.begin(), extra.end());
    return on.handle(tile_request(search_id_, tile, query));
  };
  const auto source_of = [](const tessera::HttpResponse& response) {
    const std::string* source = response.header("X-Tessera-Source");
    return source != nullptr ? *source : std::string("none");
  };

  const Tile low = above(2, 8, 5);
  const auto stored = answer(service, low, {});
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(source_of(stored), "pyramid");
  const auto read = answer(live, low, {});
  EXPECT_EQ(source_of(read), "mosaic");
  EXPECT_EQ(stored.body, read.body);  // the same pixels rendered the same way

  EXPECT_EQ(source_of(answer(service, low, {{"nodata", "20"}})), "mosaic");
  EXPECT_EQ(source_of(answer(service, low, {{"pixel_selection", "highest"}})), "mosaic");
  EXPECT_EQ(source_of(answer(service, {5, 16, 10}, {})), "mosaic");
  EXPECT_EQ(answer(service, above(2, 0, 0), {}).status, 404);  // no data there, from the pyramid too

  // A damaged pyramid leaves the search served from its items.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(directory / (search_id_ + ".pyramid" + suffix));
  }
  std::ofstream(directory / (search_id_ + ".pyramid")) << "not a pyramid, not even an SQLite file";
  const auto fallback = answer(service, low, {});
  ASSERT_EQ(fallback.status, 200) << fallback.body;
  EXPECT_EQ(source_of(fallback), "mosaic");
  EXPECT_EQ(fallback.body, read.body);
}

}  // namespace

namespace {

// Items written by other clients through pgstac's own functions (as pypgstac
// and stac-fastapi-pgstac do) are recorded too: the trigger is on pgstac's table.
TEST(PgstacItemChanges, WritesByOtherClientsAreRecorded) {
  if (std::getenv("TESSERA_TEST_PGSTAC_URL") == nullptr) {
    GTEST_SKIP() << "TESSERA_TEST_PGSTAC_URL is not set";
  }
  const auto catalog = tessera::testing::open_empty_pgstac();
  catalog->upsert_collection(tessera::testing::make_collection("other"));
  const std::int64_t start = catalog->last_item_change();
  const auto run = [](const std::string& sql, const std::string& argument) {
    PGconn* connection = PQconnectdb(tessera::testing::pgstac_test_url().c_str());
    const char* values[] = {argument.c_str()};
    PGresult* result = PQexecParams(connection, sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0);
    const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK || PQresultStatus(result) == PGRES_COMMAND_OK;
    const std::string error = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(connection);
    ASSERT_TRUE(ok) << sql << ": " << error;
  };
  run("SELECT pgstac.create_item($1::jsonb)",
      tessera::testing::make_item("outside", "other", "2024-01-01T00:00:00Z", 3, 4).dump());
  run("SELECT pgstac.delete_item($1, 'other')", "outside");
  const std::vector<ItemChange> changes = catalog->item_changes(start, 10);
  ASSERT_EQ(changes.size(), 2U);
  EXPECT_EQ(changes[0].operation, ItemOperation::kInsert);
  ASSERT_TRUE(changes[0].new_bbox.has_value());
  EXPECT_NEAR(changes[0].new_bbox->minx, 3, 1e-9);
  EXPECT_NEAR(changes[0].new_bbox->maxy, 5, 1e-9);
  EXPECT_EQ(changes[1].operation, ItemOperation::kDelete);
  EXPECT_EQ(changes[1].item_id, "outside");
}

}  // namespace
