// The matching rules and the AOI index, on an in-memory catalog: bands and
// GSD, geometry (antimeridian, poles, other CRSs), the optional constraints,
// bad input, and the index against a brute-force check.
#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "matching_fixtures.hpp"
#include "tessera/geometry.hpp"
#include "tessera/matching.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::Geometry;
using tessera::Match;
using tessera::Matcher;
using tessera::testing::expect_error;
using tessera::testing::make_aoi;
using tessera::testing::make_imagery;
using tessera::testing::make_item;
using tessera::testing::make_model;
using tessera::testing::square;

namespace {

class MatchingRules : public ::testing::Test {
 protected:
  MatchingRules() : catalog_(Catalog::open(":memory:")), matcher_(*catalog_) {
    model_ = matcher_.add_model(make_model("rules"));
  }

  std::vector<std::string> aois_matching(const json& item) {
    std::vector<std::string> ids;
    for (const Match& match : matcher_.match(item)) {
      ids.push_back(match.aoi);
    }
    return ids;
  }

  std::unique_ptr<Catalog> catalog_;
  Matcher matcher_;
  std::string model_;
};

using Ids = std::vector<std::string>;

TEST_F(MatchingRules, GsdAndEoBandsAtItemLevel) {
  auto aoi = make_aoi(model_, square(10, 10, 5));
  aoi["id"] = "a";
  matcher_.add_aoi(aoi);
  EXPECT_EQ(aois_matching(make_imagery("s2", "c", 11, 11)), Ids{"a"});
  // 60 m imagery is coarser than the 30 m the AOI accepts.
  EXPECT_EQ(aois_matching(make_imagery("coarse", "c", 11, 11, 1.0, 60.0)), Ids{});
  // Outside the AOI.
  EXPECT_EQ(aois_matching(make_imagery("far", "c", 40, 40)), Ids{});
  // A required wavelength no band covers (SWIR 1.6 µm).
  auto swir = make_aoi(model_, square(10, 10, 5), 30, {1.61});
  swir["id"] = "swir";
  matcher_.add_aoi(swir);
  EXPECT_EQ(aois_matching(make_imagery("s2", "c", 11, 11)), Ids{"a"});
}

TEST_F(MatchingRules, Stac11BandsInAssetsWithAssetGsd) {
  auto aoi = make_aoi(model_, square(0, 0, 10), 20, {0.56});
  aoi["id"] = "green";
  matcher_.add_aoi(aoi);
  json item = make_item("landsat", "c", "2024-01-01T00:00:00Z", 1, 1);
  item["assets"]["green"] = {
      {"href", "https://example.com/g.tif"},
      {"gsd", 15},
      {"bands", {{{"name", "B3"}, {"eo:center_wavelength", 0.56}, {"eo:full_width_half_max", 0.06}}}}};
  EXPECT_EQ(aois_matching(item), Ids{"green"});
  // The same band at 30 m: too coarse, even with a finer item-level gsd elsewhere.
  item["assets"]["green"]["gsd"] = 30;
  item["properties"]["gsd"] = 5;
  EXPECT_EQ(aois_matching(item), Ids{});
  // A band's own gsd wins over its asset's.
  item["assets"]["green"]["bands"][0]["gsd"] = 10;
  EXPECT_EQ(aois_matching(item), Ids{"green"});
}

TEST_F(MatchingRules, CommonNameOnlyUsesTheEoRange) {
  auto aoi = make_aoi(model_, square(0, 0, 10), 30, {0.95});
  aoi["id"] = "nir";
  matcher_.add_aoi(aoi);
  json item = make_item("named", "c", "2024-01-01T00:00:00Z", 1, 1, 1, {{"gsd", 10}});
  item["assets"]["nir"] = {{"href", "https://example.com/n.tif"}, {"eo:bands", {{{"common_name", "nir"}}}}};
  EXPECT_EQ(aois_matching(item), Ids{"nir"});  // nir is 0.75-1.00 µm
  item["assets"]["nir"]["eo:bands"][0]["common_name"] = "nir08";
  EXPECT_EQ(aois_matching(item), Ids{});  // nir08 is 0.75-0.90 µm
}

TEST_F(MatchingRules, ItemsWithoutBandsNeverMeetWavelengthRequirements) {
  auto needs_bands = make_aoi(model_, square(0, 0, 10));
  needs_bands["id"] = "bands";
  matcher_.add_aoi(needs_bands);
  auto any_bands = make_aoi(model_, square(0, 0, 10), 30, json::array());
  any_bands["id"] = "gsd-only";
  matcher_.add_aoi(any_bands);
  const json plain = make_item("plain", "c", "2024-01-01T00:00:00Z", 1, 1, 1, {{"gsd", 10}});
  EXPECT_EQ(aois_matching(plain), Ids{"gsd-only"});
  // No GSD anywhere: not even the AOI without wavelengths can be satisfied.
  EXPECT_EQ(aois_matching(make_item("nogsd", "c", "2024-01-01T00:00:00Z", 1, 1)), Ids{});
}

TEST_F(MatchingRules, MalformedBandMetadataNamesTheField) {
  matcher_.add_aoi(make_aoi(model_, square(0, 0, 10)));
  json item = make_imagery("bad", "c", 1, 1);
  item["properties"]["eo:bands"][1]["center_wavelength"] = "0.8";
  expect_error([&] { (void)matcher_.match(item); }, ErrorCode::kInvalidInput,
               "item 'bad': properties.eo:bands[1].center_wavelength: must be a positive number");
  item = make_imagery("bad2", "c", 1, 1);
  item["assets"]["data"]["bands"] = "red";
  expect_error([&] { (void)matcher_.match(item); }, ErrorCode::kInvalidInput, "assets.data.bands: must be an array");
}

TEST_F(MatchingRules, OptionalConstraints) {
  auto aoi = make_aoi(model_, square(0, 0, 10));
  aoi["id"] = "strict";
  aoi["collections"] = {"sentinel-2"};
  aoi["datetime"] = "2024-04-01T00:00:00Z/2024-06-01T00:00:00Z";
  aoi["max_cloud_cover"] = 20;
  aoi["filter"] = "platform = 'sentinel-2a'";
  matcher_.add_aoi(aoi);
  json item = make_imagery("s2", "sentinel-2", 1, 1);
  item["properties"]["platform"] = "sentinel-2a";
  EXPECT_EQ(aois_matching(item), Ids{"strict"});
  json other = item;
  other["collection"] = "landsat";
  EXPECT_EQ(aois_matching(other), Ids{});
  other = item;
  other["properties"]["datetime"] = "2024-07-01T00:00:00Z";
  EXPECT_EQ(aois_matching(other), Ids{});
  other = item;
  other["properties"]["eo:cloud_cover"] = 55;
  EXPECT_EQ(aois_matching(other), Ids{});
  other = item;
  other["properties"].erase("eo:cloud_cover");  // unknown cloud cover does not pass a limit
  EXPECT_EQ(aois_matching(other), Ids{});
  other = item;
  other["properties"]["platform"] = "sentinel-2b";
  EXPECT_EQ(aois_matching(other), Ids{});
}

TEST_F(MatchingRules, AntimeridianAoiIsSplitAndMatchesBothSides) {
  // Given with longitudes past 180: stored as two polygons either side of it.
  json geometry = {{"type", "Polygon"},
                   {"coordinates", {{{175, -20}, {185, -20}, {185, -10}, {175, -10}, {175, -20}}}}};
  auto aoi = make_aoi(model_, geometry);
  aoi["id"] = "fiji";
  matcher_.add_aoi(aoi);
  EXPECT_EQ(matcher_.get_aoi("fiji")["geometry"]["type"], "MultiPolygon");
  EXPECT_EQ(aois_matching(make_imagery("east", "c", 178, -15, 0.5)), Ids{"fiji"});
  EXPECT_EQ(aois_matching(make_imagery("west", "c", -179, -15, 0.5)), Ids{"fiji"});
  EXPECT_EQ(aois_matching(make_imagery("beyond", "c", -170, -15, 0.5)), Ids{});
  EXPECT_EQ(aois_matching(make_imagery("greenwich", "c", 0, -15, 0.5)), Ids{});
}

TEST_F(MatchingRules, PolarAoiInAnotherCrs) {
  // 1000 km around the north pole in NSIDC polar stereographic (EPSG:3413).
  auto aoi = make_aoi(model_, square(-1000000, -1000000, 2000000));
  aoi["id"] = "arctic";
  aoi["crs"] = "EPSG:3413";
  matcher_.add_aoi(aoi);
  EXPECT_EQ(aois_matching(make_imagery("north", "c", 100, 85, 1)), Ids{"arctic"});
  EXPECT_EQ(aois_matching(make_imagery("north-west", "c", -120, 88, 1)), Ids{"arctic"});
  EXPECT_EQ(aois_matching(make_imagery("south", "c", 100, 60, 1)), Ids{});
  const json stored = matcher_.get_aoi("arctic");
  const auto box = Geometry::from_geojson(stored["geometry"]).bbox();
  EXPECT_NEAR(box.maxy, 90.0, 1e-6);
}

TEST_F(MatchingRules, OrderIsByModelThenAoiAndRemovalTakesEffect) {
  const std::string second = matcher_.add_model(make_model("second"));
  for (const auto& [model, id] :
       std::vector<std::pair<std::string, std::string>>{{second, "z"}, {model_, "m"}, {second, "b"}, {model_, "a"}}) {
    auto aoi = make_aoi(model, square(0, 0, 10));
    aoi["id"] = id;
    matcher_.add_aoi(aoi);
  }
  std::vector<Match> expected = {{model_, "a"}, {model_, "m"}, {second, "b"}, {second, "z"}};
  std::sort(expected.begin(), expected.end(),
            [](const Match& a, const Match& b) { return std::tie(a.model, a.aoi) < std::tie(b.model, b.aoi); });
  EXPECT_EQ(matcher_.match(make_imagery("i", "c", 1, 1)), expected);
  matcher_.remove_aoi("m");
  expected.erase(std::find(expected.begin(), expected.end(), Match{model_, "m"}));
  EXPECT_EQ(matcher_.match(make_imagery("i", "c", 1, 1)), expected);
  expect_error([&] { matcher_.remove_aoi("m"); }, ErrorCode::kNotFound, "aoi 'm' not found");
}

TEST_F(MatchingRules, BadAoisNameTheField) {
  json bowtie = {{"type", "Polygon"}, {"coordinates", {{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}}};
  expect_error([&] { matcher_.add_aoi(make_aoi(model_, bowtie)); }, ErrorCode::kInvalidInput, "geometry: is not valid");
  json empty = {{"type", "Polygon"}, {"coordinates", json::array()}};
  expect_error([&] { matcher_.add_aoi(make_aoi(model_, empty)); }, ErrorCode::kInvalidInput, "geometry");
  expect_error([&] { matcher_.add_aoi(make_aoi(model_, square(0, 0, 1), 0)); }, ErrorCode::kInvalidInput,
               "resolution: required");
  expect_error(
      [&] {
        matcher_.add_aoi(make_aoi(model_, square(0, 0, 1), 10, {0.665, 20}));
      },
      ErrorCode::kInvalidInput, "wavelengths[1]: must be a wavelength in µm between 0.2 and 15");
  expect_error([&] { matcher_.add_aoi(make_aoi("nobody", square(0, 0, 1))); }, ErrorCode::kNotFound,
               "model 'nobody' not found");
  auto bad_crs = make_aoi(model_, square(0, 0, 1));
  bad_crs["crs"] = "EPSG:999999";
  expect_error([&] { matcher_.add_aoi(bad_crs); }, ErrorCode::kInvalidInput, "crs");
  auto bad_filter = make_aoi(model_, square(0, 0, 1));
  bad_filter["filter"] = "platform = ";
  expect_error([&] { matcher_.add_aoi(bad_filter); }, ErrorCode::kInvalidInput, "CQL2 text");
  expect_error(
      [&] {
        matcher_.add_model({{"name", "x"}, {"command", json::array()}});
      },
      ErrorCode::kInvalidInput, "command: required");
  expect_error(
      [&] {
        matcher_.add_model({{"name", "x"}, {"command", {"a"}}, {"runner", {{"timeout", -1}}}});
      },
      ErrorCode::kInvalidInput, "runner.timeout");
}

// The index (incremental adds, removals, rebuilds) agrees with a brute-force
// evaluation of every AOI against every item.
TEST_F(MatchingRules, IndexAgreesWithBruteForce) {
  std::mt19937 random(7);
  std::uniform_real_distribution<double> lon(-180, 170), lat(-80, 70), size(0.5, 12), resolution(5, 40);
  struct Reference {
    std::string id;
    Geometry geometry;
    double resolution;
  };
  std::vector<Reference> references;
  // Squares and 100-vertex circles (large AOIs take the prepared-geometry path).
  const auto circle = [](double x, double y, double radius) {
    json ring = json::array();
    for (int v = 0; v < 100; ++v) {
      ring.push_back({x + radius * std::cos(v * 2 * M_PI / 100), y + radius * std::sin(v * 2 * M_PI / 100)});
    }
    ring.push_back(ring.front());
    return json{{"type", "Polygon"}, {"coordinates", {ring}}};
  };
  for (int n = 0; n < 1500; ++n) {
    const json geometry = n % 3 == 0 ? circle(lon(random), lat(random), size(random) / 2)
                                     : square(lon(random), lat(random), size(random));
    auto aoi = make_aoi(model_, geometry, resolution(random), json::array());
    aoi["id"] = fmt::format("aoi{:05}", n);
    matcher_.add_aoi(aoi);
    references.push_back({aoi["id"], Geometry::from_geojson(geometry), aoi["resolution"]});
    if (n % 7 == 3) {  // removals both before and after the tree is built
      matcher_.remove_aoi(references.back().id);
      references.pop_back();
    }
    if (n == 700) {
      (void)matcher_.match(make_imagery("warm", "c", 0, 0));  // builds the tree mid-way
    }
  }
  std::size_t total = 0;
  for (int n = 0; n < 300; ++n) {
    json item =
        make_imagery(fmt::format("i{}", n), "c", lon(random), lat(random), size(random) / 2, resolution(random));
    if (n % 2 == 1) {  // a triangle: not an axis-aligned rectangle
      auto& ring = item["geometry"]["coordinates"][0];
      ring.erase(ring.begin() + 2);
    }
    const Geometry footprint = Geometry::from_geojson(item["geometry"]);
    const double gsd = item["properties"]["gsd"];
    Ids expected;
    for (const auto& reference : references) {
      if (gsd <= reference.resolution && reference.geometry.intersects(footprint)) {
        expected.push_back(reference.id);
      }
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(aois_matching(item), expected) << item["id"];
    total += expected.size();
  }
  EXPECT_GT(total, 100U);  // the sample exercises real matches
  // match_batch gives the same answers.
  std::vector<json> items;
  for (int n = 0; n < 50; ++n) {
    items.push_back(make_imagery(fmt::format("b{}", n), "c", lon(random), lat(random), 3));
  }
  const auto batch = matcher_.match_batch(items);
  ASSERT_EQ(batch.size(), items.size());
  for (std::size_t n = 0; n < items.size(); ++n) {
    EXPECT_EQ(batch[n], matcher_.match(items[n]));
  }
}

}  // namespace
