// Exact coverage fractions of polygons over pixel grids, checked against
// shapes whose fractions are known and against GEOS's intersection areas.

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tessera/geometry.hpp"
#include "tessera/tiling.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
using tessera::Bbox;
using tessera::ErrorCode;

json polygon(std::initializer_list<json> rings) { return {{"type", "Polygon"}, {"coordinates", json(rings)}}; }

json ring(std::initializer_list<std::pair<double, double>> points) {
  json coordinates = json::array();
  for (const auto& [x, y] : points) {
    coordinates.push_back({x, y});
  }
  coordinates.push_back(coordinates.front());
  return coordinates;
}

json box_ring(double minx, double miny, double maxx, double maxy) {
  return ring({{minx, miny}, {maxx, miny}, {maxx, maxy}, {minx, maxy}});
}

// The fraction of the cell in column `column`, row `row` (from the top) of a 4x4 grid.
double at(const std::vector<double>& fractions, int column, int row) {
  return fractions[static_cast<std::size_t>(row * 4 + column)];
}

constexpr Bbox kGrid{0, 0, 4, 4};

TEST(Coverage, TriangleOverAFourByFourGrid) {
  // The diagonal x + y = 4 runs through cell corners: cells below it are
  // full, the cells it crosses half covered.
  const auto fractions = tessera::coverage_fractions(polygon({ring({{0, 0}, {4, 0}, {0, 4}})}), kGrid, 4, 4);
  for (int column = 0; column < 4; ++column) {
    for (int row = 0; row < 4; ++row) {
      const int from_bottom = 3 - row;
      const double expected = column + from_bottom < 3 ? 1.0 : column + from_bottom == 3 ? 0.5 : 0.0;
      EXPECT_DOUBLE_EQ(at(fractions, column, row), expected) << column << "," << row;
    }
  }
  EXPECT_DOUBLE_EQ(std::accumulate(fractions.begin(), fractions.end(), 0.0), 8.0);
  // Off the grid lines: a corner cell holds a quarter, the total is the area.
  const auto offset = tessera::coverage_fractions(polygon({ring({{0.5, 0.5}, {3.5, 0.5}, {0.5, 3.5}})}), kGrid, 4, 4);
  EXPECT_DOUBLE_EQ(at(offset, 0, 3), 0.25);
  EXPECT_NEAR(std::accumulate(offset.begin(), offset.end(), 0.0), 4.5, 1e-12);
  // Orientation does not matter.
  EXPECT_EQ(tessera::coverage_fractions(polygon({ring({{0.5, 0.5}, {0.5, 3.5}, {3.5, 0.5}})}), kGrid, 4, 4), offset);
}

TEST(Coverage, HolesAreSubtracted) {
  const auto fractions =
      tessera::coverage_fractions(polygon({box_ring(0, 0, 4, 4), box_ring(1.5, 1.5, 2.5, 2.5)}), kGrid, 4, 4);
  for (int column = 0; column < 4; ++column) {
    for (int row = 0; row < 4; ++row) {
      const bool centre = (column == 1 || column == 2) && (row == 1 || row == 2);
      EXPECT_DOUBLE_EQ(at(fractions, column, row), centre ? 0.75 : 1.0) << column << "," << row;
    }
  }
}

TEST(Coverage, MultiPolygonsAddTheirParts) {
  const json shape = {{"type", "MultiPolygon"},
                      {"coordinates", {{box_ring(0, 3, 1, 4)}, {box_ring(2.5, 0.5, 3.5, 1.5)}}}};
  const auto fractions = tessera::coverage_fractions(shape, kGrid, 4, 4);
  EXPECT_DOUBLE_EQ(at(fractions, 0, 0), 1.0);
  for (const auto& [column, row] : std::vector<std::pair<int, int>>{{2, 2}, {3, 2}, {2, 3}, {3, 3}}) {
    EXPECT_DOUBLE_EQ(at(fractions, column, row), 0.25) << column << "," << row;
  }
  EXPECT_DOUBLE_EQ(std::accumulate(fractions.begin(), fractions.end(), 0.0), 2.0);
  // A Feature of the shape is read the same.
  EXPECT_EQ(tessera::coverage_fractions({{"type", "Feature"}, {"properties", json::object()}, {"geometry", shape}},
                                        kGrid, 4, 4),
            fractions);
}

TEST(Coverage, ShapesPartlyOutsideTheGrid) {
  const auto fractions = tessera::coverage_fractions(polygon({box_ring(-2, -2, 1.5, 1.5)}), kGrid, 4, 4);
  EXPECT_DOUBLE_EQ(at(fractions, 0, 3), 1.0);
  EXPECT_DOUBLE_EQ(at(fractions, 1, 3), 0.5);
  EXPECT_DOUBLE_EQ(at(fractions, 0, 2), 0.5);
  EXPECT_DOUBLE_EQ(at(fractions, 1, 2), 0.25);
  EXPECT_DOUBLE_EQ(std::accumulate(fractions.begin(), fractions.end(), 0.0), 2.25);
  // Wholly outside, or around the whole grid.
  const auto outside = tessera::coverage_fractions(polygon({box_ring(5, 5, 6, 6)}), kGrid, 4, 4);
  EXPECT_DOUBLE_EQ(std::accumulate(outside.begin(), outside.end(), 0.0), 0.0);
  const auto around = tessera::coverage_fractions(polygon({box_ring(-10, -10, 10, 10)}), kGrid, 4, 4);
  EXPECT_DOUBLE_EQ(std::accumulate(around.begin(), around.end(), 0.0), 16.0);
}

// Every cell of a star with a hole over a grid of non-square pixels equals
// GEOS's area of the shape's intersection with that cell.
TEST(Coverage, EveryCellMatchesTheExactIntersectionArea) {
  constexpr double kPi = 3.14159265358979323846;
  std::vector<std::pair<double, double>> outer;
  std::vector<std::pair<double, double>> inner;
  for (int n = 0; n < 23; ++n) {
    const double angle = 2 * kPi * n / 23;
    const double radius = n % 2 == 0 ? 47.0 : 21.5;
    outer.emplace_back(500 + radius * std::cos(angle) * 1.3, 300 + radius * std::sin(angle));
    inner.emplace_back(500 + 6.1 * std::cos(-angle), 300 + 6.1 * std::sin(-angle));
  }
  json outer_ring = json::array();
  json inner_ring = json::array();
  for (const auto& [x, y] : outer) {
    outer_ring.push_back({x, y});
  }
  for (const auto& [x, y] : inner) {
    inner_ring.push_back({x, y});
  }
  outer_ring.push_back(outer_ring.front());
  inner_ring.push_back(inner_ring.front());
  const json shape = polygon({outer_ring, inner_ring});
  const Bbox grid{430.3, 240.1, 570.9, 360.7};
  const int width = 37;
  const int height = 29;
  const auto fractions = tessera::coverage_fractions(shape, grid, width, height);
  const tessera::Geometry geometry = tessera::Geometry::from_geojson(shape);
  const double cell_width = (grid.maxx - grid.minx) / width;
  const double cell_height = (grid.maxy - grid.miny) / height;
  double total = 0;
  for (int row = 0; row < height; ++row) {
    for (int column = 0; column < width; ++column) {
      const Bbox cell{grid.minx + column * cell_width, grid.maxy - (row + 1) * cell_height,
                      grid.minx + (column + 1) * cell_width, grid.maxy - row * cell_height};
      const double expected =
          geometry.intersection(tessera::Geometry::from_bbox(cell)).area() / (cell_width * cell_height);
      ASSERT_NEAR(fractions[static_cast<std::size_t>(row * width + column)], expected, 1e-9) << column << "," << row;
      total += fractions[static_cast<std::size_t>(row * width + column)];
    }
  }
  EXPECT_NEAR(total * cell_width * cell_height, geometry.area(), 1e-6);
}

TEST(Coverage, RioTilersEstimateIsAvailableByCoverScale) {
  const json triangle = polygon({ring({{0.5, 0.5}, {3.5, 0.5}, {0.5, 3.5}})});
  const auto exact = tessera::coverage_fractions(triangle, kGrid, 4, 4);
  const auto estimate = tessera::coverage_fractions(triangle, kGrid, 4, 4, 10);
  for (std::size_t p = 0; p < exact.size(); ++p) {
    EXPECT_NEAR(estimate[p], exact[p], 0.2) << p;
  }
  EXPECT_NE(estimate, exact);  // all-touched at 10x over-counts the edge cells
}

TEST(Coverage, HostileShapesAndGridsAreRefused) {
  using tessera::testing::expect_error;
  const json square = polygon({box_ring(0, 0, 1, 1)});
  expect_error(
      [&] {
        static_cast<void>(tessera::coverage_fractions({{"type", "Point"}, {"coordinates", {1, 1}}}, kGrid, 4, 4));
      },
      ErrorCode::kInvalidInput, "Polygon or MultiPolygon");
  expect_error(
      [&] {
        static_cast<void>(tessera::coverage_fractions({{"type", "Polygon"}}, kGrid, 4, 4));
      },
      ErrorCode::kInvalidInput, "coverage");
  expect_error([&] { static_cast<void>(tessera::coverage_fractions(square, kGrid, 0, 4)); }, ErrorCode::kInvalidInput,
               "image size");
  expect_error([&] { static_cast<void>(tessera::coverage_fractions(square, kGrid, 100000, 100000)); },
               ErrorCode::kInvalidInput, "image size");
  expect_error(
      [&] {
        static_cast<void>(tessera::coverage_fractions(square, {1, 1, 1, 2}, 4, 4));
      },
      ErrorCode::kInvalidInput, "empty");
  expect_error([&] { static_cast<void>(tessera::coverage_fractions(square, kGrid, 4, 4, 0)); },
               ErrorCode::kInvalidInput, "cover_scale");
  // The finer grid of the estimate is bounded by the request budget.
  expect_error([&] { static_cast<void>(tessera::coverage_fractions(square, kGrid, 8000, 8000, 1000)); },
               ErrorCode::kInvalidInput, "max_request_values");
  json many = json::array();
  for (int n = 0; n < 100001; ++n) {
    const double angle = 6.283185307179586 * n / 100001;
    many.push_back({2 + std::cos(angle), 2 + std::sin(angle)});
  }
  many.push_back(many.front());
  expect_error([&] { static_cast<void>(tessera::coverage_fractions(polygon({many}), kGrid, 4, 4)); },
               ErrorCode::kInvalidInput, "100000 allowed");
}

}  // namespace
