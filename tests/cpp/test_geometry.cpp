#include <cmath>

#include <gtest/gtest.h>

#include "tessera/geometry.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Bbox;
using tessera::Crs;
using tessera::ErrorCode;
using tessera::Geometry;
using tessera::testing::expect_error;

namespace {

json square(double minx, double miny, double maxx, double maxy) {
  return {{"type", "Polygon"},
          {"coordinates", {{{minx, miny}, {maxx, miny}, {maxx, maxy}, {minx, maxy}, {minx, miny}}}}};
}

}  // namespace

TEST(GeoJson, RoundTripsEveryGeometryType) {
  const json inputs[] = {
      json::parse(R"({"type":"Point","coordinates":[1.5,2.5]})"),
      json::parse(R"({"type":"Point","coordinates":[1.5,2.5,3.5]})"),
      json::parse(R"({"type":"LineString","coordinates":[[0,0],[1,1]]})"),
      square(0, 0, 1, 1),
      json::parse(R"({"type":"MultiPoint","coordinates":[[0,0],[1,1]]})"),
      json::parse(R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3]]]})"),
      json::parse(R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]})"),
      json::parse(R"({"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[0,0]}]})"),
  };
  for (const auto& input : inputs) {
    EXPECT_EQ(Geometry::from_geojson(input).to_geojson(), input) << input.dump();
  }
}

TEST(GeoJson, StructuralErrorsNameThePath) {
  expect_error([] { Geometry::from_geojson(json::parse(R"({"coordinates":[0,0]})")); }, ErrorCode::kInvalidInput,
               "geometry.type");
  expect_error([] { Geometry::from_geojson(json::parse(R"({"type":"Blob","coordinates":[0,0]})")); },
               ErrorCode::kInvalidInput, "unknown geometry type 'Blob'");
  expect_error([] { Geometry::from_geojson(json::parse(R"({"type":"Point","coordinates":[0,"x"]})")); },
               ErrorCode::kInvalidInput, "geometry.coordinates[1]");
  expect_error(
      [] { Geometry::from_geojson(json::parse(R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})")); },
      ErrorCode::kInvalidInput, "not closed");
  expect_error(
      [] { Geometry::from_geojson(json::parse(R"({"type":"LineString","coordinates":[[0,0]]})"), "item.geometry"); },
      ErrorCode::kInvalidInput, "item.geometry.coordinates: needs at least 2");
  expect_error([] { Geometry::from_geojson(json::parse(R"({"type":"Polygon"})")); }, ErrorCode::kInvalidInput,
               "geometry.coordinates: missing");
}

TEST(Geometry, BboxAndPredicates) {
  const auto a = Geometry::from_geojson(square(0, 0, 2, 2));
  const auto b = Geometry::from_geojson(square(1, 1, 3, 3));
  const auto c = Geometry::from_geojson(square(5, 5, 6, 6));
  const Bbox box = a.bbox();
  EXPECT_DOUBLE_EQ(box.minx, 0);
  EXPECT_DOUBLE_EQ(box.maxy, 2);
  EXPECT_TRUE(a.intersects(b));
  EXPECT_FALSE(a.intersects(c));
  EXPECT_TRUE(a.disjoint(c));
  EXPECT_TRUE(Geometry::from_geojson(square(0, 0, 4, 4)).contains(a));
  EXPECT_TRUE(a.within(Geometry::from_geojson(square(-1, -1, 4, 4))));
  EXPECT_DOUBLE_EQ(a.intersection(b).area(), 1.0);
  EXPECT_DOUBLE_EQ(a.difference(b).area(), 3.0);
  EXPECT_EQ(Geometry::from_wkt("POINT (1 2)").to_geojson(), json::parse(R"({"type":"Point","coordinates":[1.0,2.0]})"));
  expect_error([] { Geometry::from_wkt("POINT (1"); }, ErrorCode::kInvalidInput, "invalid WKT");
}

TEST(Geometry, ValidityReportsGeosReason) {
  const auto bowtie =
      Geometry::from_geojson(json::parse(R"({"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,2],[0,0]]]})"));
  const auto validity = bowtie.validity();
  EXPECT_FALSE(validity.valid);
  EXPECT_NE(validity.reason.find("Self-intersection"), std::string::npos) << validity.reason;
  EXPECT_TRUE(bowtie.make_valid().validity().valid);
  EXPECT_TRUE(Geometry::from_geojson(square(0, 0, 1, 1)).validity().valid);
}

TEST(Bbox, AntimeridianAware) {
  const Bbox across{170, -10, -170, 10};
  EXPECT_TRUE(across.crosses_antimeridian());
  EXPECT_TRUE(across.intersects(Bbox{175, 0, 176, 1}));
  EXPECT_TRUE(across.intersects(Bbox{-175, 0, -174, 1}));
  EXPECT_FALSE(across.intersects(Bbox{0, 0, 1, 1}));
  EXPECT_TRUE(across.contains(Bbox{-179, -1, -171, 1}));
  EXPECT_FALSE(across.contains(Bbox{160, -1, 175, 1}));
  EXPECT_EQ(Geometry::from_bbox(across).type_name(), "MultiPolygon");
  EXPECT_EQ(Bbox::from_json(json::array({1, 2, 0, 3, 4, 10})).maxy, 4);
  expect_error([] { (void)Bbox::from_json(json::array({0, 5, 1, 4})); }, ErrorCode::kInvalidInput, "south");
  expect_error([] { (void)Bbox::from_json(json::array({0, 5, 1})); }, ErrorCode::kInvalidInput, "4 or 6");
}

TEST(Crs, ReadsEpsgWktAndProjJson) {
  const auto utm = Crs::from_user_input("EPSG:32633");
  EXPECT_EQ(utm.authority_code(), "EPSG:32633");
  EXPECT_FALSE(utm.is_geographic());
  const auto from_wkt = Crs::from_user_input(utm.to_wkt());
  EXPECT_TRUE(from_wkt.same_as(utm));
  const auto from_projjson = Crs::from_user_input(utm.to_projjson());
  EXPECT_TRUE(from_projjson.same_as(utm));
  EXPECT_TRUE(Crs::wgs84().is_geographic());
  expect_error([] { Crs::from_user_input("EPSG:999999"); }, ErrorCode::kInvalidInput, "EPSG:999999");
  expect_error([] { Crs::from_user_input(""); }, ErrorCode::kInvalidInput, "CRS");
}

TEST(Transformer, ReprojectsPointsBoxesAndGeometriesLonLatOrder) {
  const tessera::Transformer to_utm(Crs::wgs84(), Crs::from_epsg(32633));
  double x = 15.0;
  double y = 0.0;
  to_utm.transform(&x, &y, 1);
  EXPECT_NEAR(x, 500000.0, 1e-6);
  EXPECT_NEAR(y, 0.0, 1e-6);
  const auto box = to_utm.transform_bbox(Bbox{14.5, 45, 15.5, 46});
  EXPECT_LT(box.minx, 500000);
  EXPECT_GT(box.maxx, 500000);
  const auto point = Geometry::from_wkt("POINT (15 0)").transformed(Crs::wgs84(), Crs::from_epsg(3857));
  EXPECT_NEAR(point.bbox().minx, 1669792.36, 0.01);
}
