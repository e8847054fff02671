// Environments side by side in one process: each with its own allow-lists,
// limits and caches, made current per thread, while the process default
// stays as configure() set it.
#include <array>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "catalog_fixtures.hpp"
#include "raster_fixtures.hpp"
#include "tessera/environment.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/tiling.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using tessera::Environment;
using tessera::ErrorCode;
using tessera::ReaderConfig;
using tessera::testing::expect_error;
using tessera::testing::TempDir;

namespace {

// A 256 x 256 WGS84 raster of `value` over lon 11..12, lat 48..49.
std::string write_raster(const fs::path& path, std::uint8_t value) {
  return tessera::testing::write_filled_raster(path, 256, 256, {11, 1.0 / 256, 0, 49, 0, -1.0 / 256}, 4326, value);
}

ReaderConfig inside(const fs::path& root, int max_image_size) {
  ReaderConfig config;
  config.allowed_roots = {root.string()};
  config.max_image_size = max_image_size;
  return config;
}

struct TwoFolders {
  TwoFolders() {
    fs::create_directories(scratch.path() / "public");
    fs::create_directories(scratch.path() / "internal");
    public_raster = write_raster(scratch.path() / "public" / "p.tif", 3);
    internal_raster = write_raster(scratch.path() / "internal" / "i.tif", 9);
  }
  TempDir scratch;
  std::string public_raster;
  std::string internal_raster;
};

}  // namespace

TEST(Environment, TwoEnvironmentsSideBySideKeepTheirOwnAllowListsAndLimits) {
  tessera::configure({});
  const TwoFolders data;
  Environment public_service(inside(data.scratch.path() / "public", 64));
  Environment internal_service(inside(data.scratch.path() / "internal", 1024));
  const tessera::Bbox area{11.2, 48.2, 11.8, 48.8};

  // Each thread serves one audience, at the same time, many times over.
  std::atomic<int> failures{0};
  auto serve = [&](Environment& environment, const std::string& own, const std::string& other, int size) {
    const Environment::Scope scope(environment);
    for (int n = 0; n < 40; ++n) {
      try {
        if (tessera::raster_info(own).width != 256) {
          ++failures;
        }
        tessera::PartOptions part;
        part.width = size;
        part.height = size;
        if (tessera::read_part(own, area, part).width() != size) {
          ++failures;
        }
      } catch (const std::exception&) {
        ++failures;
      }
      try {
        static_cast<void>(tessera::raster_info(other));
        ++failures;  // the other audience's folder must stay closed
      } catch (const tessera::Error& error) {
        if (error.code() != ErrorCode::kInvalidInput) {
          ++failures;
        }
      }
    }
  };
  std::thread public_thread(serve, std::ref(public_service), data.public_raster, data.internal_raster, 64);
  std::thread internal_thread(serve, std::ref(internal_service), data.internal_raster, data.public_raster, 512);
  public_thread.join();
  internal_thread.join();
  EXPECT_EQ(failures.load(), 0);

  // Limits are the environment's: 512 pixels pass internally, not publicly.
  tessera::PartOptions large;
  large.width = 512;
  large.height = 512;
  {
    const Environment::Scope scope(public_service);
    EXPECT_EQ(tessera::reader_config().max_image_size, 64);
    expect_error([&] { static_cast<void>(tessera::read_part(data.public_raster, area, large)); },
                 ErrorCode::kInvalidInput);
  }
  {
    const Environment::Scope scope(internal_service);
    EXPECT_EQ(tessera::read_part(data.internal_raster, area, large).width(), 512);
  }
  // The process default is untouched: no roots, so both folders are open.
  EXPECT_EQ(tessera::reader_config().allowed_roots.size(), 0U);
  EXPECT_EQ(tessera::raster_info(data.public_raster).width, 256);
  EXPECT_EQ(tessera::raster_info(data.internal_raster).width, 256);
}

TEST(Environment, ScopesNestAndReconfiguringSwapsTheAllowList) {
  const TwoFolders data;
  Environment environment(inside(data.scratch.path() / "public", 1024));
  {
    const Environment::Scope outer(environment);
    EXPECT_EQ(&Environment::current(), &environment);
    {
      Environment other(inside(data.scratch.path() / "internal", 1024));
      const Environment::Scope inner(other);
      EXPECT_EQ(&Environment::current(), &other);
      EXPECT_EQ(tessera::raster_info(data.internal_raster).width, 256);
    }
    EXPECT_EQ(&Environment::current(), &environment);
    EXPECT_EQ(tessera::raster_info(data.public_raster).width, 256);
    environment.configure(inside(data.scratch.path() / "internal", 1024));
    expect_error([&] { static_cast<void>(tessera::raster_info(data.public_raster)); }, ErrorCode::kInvalidInput,
                 "outside the allowed");
    EXPECT_EQ(tessera::raster_info(data.internal_raster).width, 256);
  }
  EXPECT_EQ(&Environment::current(), &Environment::process_default());
}

TEST(Environment, SettingsAreCheckedWhenMade) {
  ReaderConfig config;
  config.allowed_prefixes = {"https://example.com"};
  expect_error([&] { Environment bad(config); }, ErrorCode::kInvalidInput, "must end the host with '/'");
  config.allowed_prefixes = {"ftp://example.com/"};
  expect_error([&] { Environment bad(config); }, ErrorCode::kInvalidInput, "http");
  config.allowed_prefixes.clear();
  config.max_image_size = 0;
  Environment good;
  expect_error([&] { good.configure(config); }, ErrorCode::kInvalidInput, "positive");
  EXPECT_EQ(good.config().max_image_size, tessera::kMaxImageSize);  // a refused change changes nothing
}

TEST(Environment, MosaicReadsRunUnderTheCallersEnvironmentWithItsOwnCache) {
  const TwoFolders data;
  auto catalog = tessera::Catalog::open(":memory:");
  catalog->upsert_collection(tessera::testing::make_collection("m"));
  nlohmann::json item = tessera::testing::make_item("p", "m", "2024-01-01T00:00:00Z", 11, 48);
  item["assets"]["data"]["href"] = data.public_raster;
  ASSERT_EQ(catalog->load({item}).loaded, 1U);
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const tessera::Mosaic mosaic(*catalog, {{"collections", {"m"}}}, options);
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  const tessera::Tile tile = tms.tile(11.5, 48.5, 9);

  Environment public_service(inside(data.scratch.path() / "public", 1024));
  Environment internal_service(inside(data.scratch.path() / "internal", 1024));
  {
    const Environment::Scope scope(public_service);
    EXPECT_EQ(mosaic.tile(tms, tile).assets, std::vector<std::string>{"p"});
    EXPECT_EQ(tessera::tile_cache_stats().entries, 1U);
  }
  {
    // The pool threads read under the caller's environment: the public
    // folder is closed here, and the public cache is not this one's.
    const Environment::Scope scope(internal_service);
    EXPECT_EQ(tessera::tile_cache_stats().entries, 0U);
    expect_error([&] { static_cast<void>(mosaic.tile(tms, tile)); }, ErrorCode::kIo, "outside the allowed");
    EXPECT_EQ(tessera::tile_cache_stats().hits, 0U);
  }
}
