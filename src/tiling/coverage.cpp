// Coverage fractions of a polygon over a pixel grid.
//
// The exact fractions come from Green's theorem, one pass over the polygon's
// edges. In pixel units (u to the right, w upwards, row r spanning w in
// [r, r+1]) the area of the polygon P inside a column-c cell of row r is
//   -∮_∂P g_r(w) du,  g_r(w) = clamp(w - r, 0, 1),  u restricted to [c, c+1]
// with ∂P counter-clockwise (holes clockwise): on every vertical line the
// covered length of [r, r+1] is the sum over boundary crossings of ±g_r.
// An edge's piece within one column is therefore worth its full width to every
// row below it (added once per column, summed down the column afterwards —
// the rasterization of the interior) and a closed-form partial amount to the
// few rows it crosses: only the cells the boundary crosses get an exact area.

#include "tiling/coverage.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/tiling.hpp"
#include "tiling/raster_read.hpp"

namespace tessera::tiling {

namespace {

// ∫ clamp(t, 0, 1) dt from 0.
double integral_of_clamp(double t) {
  if (t <= 0) {
    return 0;
  }
  return t >= 1 ? t - 0.5 : t * t / 2;
}

// Fractions this close to 0 or 1 are rounding left over by the sums.
constexpr double kRoundingSlack = 1e-10;

class CoverageAccumulator {
 public:
  CoverageAccumulator(const Bbox& bounds, int width, int height)
      : bounds_(bounds),
        width_(width),
        height_(height),
        cell_width_((bounds.maxx - bounds.minx) / width),
        cell_height_((bounds.maxy - bounds.miny) / height),
        partial_(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0.0),
        below_(static_cast<std::size_t>(width) * (static_cast<std::size_t>(height) + 1), 0.0) {}

  // A ring, oriented so the covered side is on its left: `outer` rings count
  // positively, holes negatively.
  void add_ring(const OGRLinearRing& ring, bool outer) {
    const int count = ring.getNumPoints();
    if (count < 3) {
      return;
    }
    std::vector<double> u(static_cast<std::size_t>(count));
    std::vector<double> w(static_cast<std::size_t>(count));
    double twice_area = 0;
    for (int n = 0; n < count; ++n) {
      u[static_cast<std::size_t>(n)] = (ring.getX(n) - bounds_.minx) / cell_width_;
      w[static_cast<std::size_t>(n)] = (ring.getY(n) - bounds_.miny) / cell_height_;
      if (!std::isfinite(u[static_cast<std::size_t>(n)]) || !std::isfinite(w[static_cast<std::size_t>(n)])) {
        throw Error(ErrorCode::kInvalidInput, "coverage: the geometry has a coordinate that is not a finite number");
      }
    }
    for (std::size_t n = 0; n + 1 < u.size(); ++n) {
      twice_area += u[n] * w[n + 1] - u[n + 1] * w[n];
    }
    twice_area += u.back() * w.front() - u.front() * w.back();
    const bool counter_clockwise = twice_area > 0;
    const double sign = counter_clockwise == outer ? 1.0 : -1.0;
    for (std::size_t n = 0; n < u.size(); ++n) {
      const std::size_t next = n + 1 == u.size() ? 0 : n + 1;
      add_edge(u[n], w[n], u[next], w[next], sign);
    }
  }

  // The fractions, row-major from the top; the accumulator is spent.
  std::vector<double> fractions() {
    const auto rows = static_cast<std::size_t>(height_);
    for (std::size_t c = 0; c < static_cast<std::size_t>(width_); ++c) {
      const double* below = &below_[c * (rows + 1)];
      double full = 0;  // what the edges above row r give it whole
      for (std::size_t r = rows; r-- > 0;) {
        full += below[r + 1];
        double& fraction = partial_[(rows - 1 - r) * static_cast<std::size_t>(width_) + c];
        fraction += full;
        if (fraction < kRoundingSlack) {
          fraction = 0;
        } else if (fraction > 1 - kRoundingSlack) {
          fraction = 1;
        }
      }
    }
    below_.clear();
    return std::move(partial_);
  }

 private:
  void add_edge(double u0, double w0, double u1, double w1, double sign) {
    if (u0 == u1) {
      return;  // vertical: no du
    }
    // Travelling towards +u takes the area under the edge away (-∮ g du).
    const double direction = u1 > u0 ? -sign : sign;
    const double lo = std::max(std::min(u0, u1), 0.0);
    const double hi = std::min(std::max(u0, u1), static_cast<double>(width_));
    if (!(lo < hi)) {
      return;
    }
    const double slope = (w1 - w0) / (u1 - u0);
    const int first = static_cast<int>(std::floor(lo));
    const int last = std::min(static_cast<int>(std::ceil(hi)) - 1, width_ - 1);
    for (int c = first; c <= last; ++c) {
      const double a = std::max(lo, static_cast<double>(c));
      const double b = std::min(hi, static_cast<double>(c) + 1);
      if (!(a < b)) {
        continue;
      }
      const double wa = w0 + (a - u0) * slope;
      const double wb = w0 + (b - u0) * slope;
      add_piece(c, b - a, wa, wb, direction);
    }
  }

  // An edge's piece over `length` of column c, from height wa to wb.
  void add_piece(int c, double length, double wa, double wb, double direction) {
    const double low = std::min(wa, wb);
    const double high = std::max(wa, wb);
    const auto rows = static_cast<std::size_t>(height_);
    // Rows wholly below the piece: each gets the piece's full width.
    const double whole = std::clamp(std::floor(low), 0.0, static_cast<double>(height_));
    below_[static_cast<std::size_t>(c) * (rows + 1) + static_cast<std::size_t>(whole)] += direction * length;
    const int top = std::min(static_cast<int>(std::ceil(high)) - 1, height_ - 1);
    for (int r = static_cast<int>(whole); r <= top; ++r) {
      double integral = 0;
      if (high - low < 1e-12) {
        integral = length * std::clamp(low - r, 0.0, 1.0);
      } else {
        integral = length / (wb - wa) * (integral_of_clamp(wb - r) - integral_of_clamp(wa - r));
      }
      partial_[(rows - 1 - static_cast<std::size_t>(r)) * static_cast<std::size_t>(width_) +
               static_cast<std::size_t>(c)] += direction * integral;
    }
  }

  Bbox bounds_;
  int width_;
  int height_;
  double cell_width_;
  double cell_height_;
  std::vector<double> partial_;  // row-major from the top, like the image
  // Per column c, below_[c * (height + 1) + k]: added whole to rows 0..k-1
  // (counted from the bottom).
  std::vector<double> below_;
};

void add_polygon(CoverageAccumulator& accumulator, const OGRPolygon& polygon) {
  if (polygon.getExteriorRing() == nullptr) {
    return;
  }
  accumulator.add_ring(*polygon.getExteriorRing(), true);
  for (int n = 0; n < polygon.getNumInteriorRings(); ++n) {
    accumulator.add_ring(*polygon.getInteriorRing(n), false);
  }
}

std::size_t vertex_count(const OGRPolygon& polygon) {
  std::size_t count = polygon.getExteriorRing() != nullptr ? polygon.getExteriorRing()->getNumPoints() : 0;
  for (int n = 0; n < polygon.getNumInteriorRings(); ++n) {
    count += static_cast<std::size_t>(polygon.getInteriorRing(n)->getNumPoints());
  }
  return count;
}

void check_grid(const Bbox& bounds, int width, int height) {
  check_image_size(width, height);
  if (!(bounds.maxx > bounds.minx) || !(bounds.maxy > bounds.miny)) {
    throw Error(ErrorCode::kInvalidInput, "coverage: the grid's bounds are empty");
  }
}

}  // namespace

Geometry feature_geometry(const nlohmann::json& geojson, std::string_view what) {
  const bool feature = geojson.is_object() && geojson.value("type", "") == "Feature";
  Geometry shape = Geometry::from_geojson(feature ? geojson.value("geometry", nlohmann::json()) : geojson, what);
  if (shape.is_empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: the geometry is empty", what));
  }
  return shape;
}

std::unique_ptr<OGRGeometry> reprojected(const OGRGeometry& shape, const OGRSpatialReference& from,
                                         const OGRSpatialReference& to, std::string_view what) {
  std::unique_ptr<OGRGeometry> copy(shape.clone());
  if (!from.IsSame(&to)) {
    std::unique_ptr<OGRCoordinateTransformation> transformation(OGRCreateCoordinateTransformation(&from, &to));
    if (!transformation || copy->transform(transformation.get()) != OGRERR_NONE) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{}: the geometry cannot be reprojected to the read's CRS", what));
    }
  }
  return copy;
}

void check_area_shape(const OGRGeometry& shape, std::string_view what) {
  const OGRwkbGeometryType type = wkbFlatten(shape.getGeometryType());
  std::size_t vertices = 0;
  if (type == wkbPolygon) {
    vertices = vertex_count(*shape.toPolygon());
  } else if (type == wkbMultiPolygon) {
    for (const OGRPolygon* polygon : *shape.toMultiPolygon()) {
      vertices += vertex_count(*polygon);
    }
  } else {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: a Polygon or MultiPolygon is needed, not a {}", what, shape.getGeometryName()));
  }
  if (vertices > kMaxShapeVertices) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: the geometry has {} vertices, more than the {} allowed",
                                                      what, vertices, kMaxShapeVertices));
  }
}

std::vector<double> coverage_fractions(const OGRGeometry& shape, const Bbox& bounds, int width, int height) {
  check_area_shape(shape, "coverage");
  check_grid(bounds, width, height);
  check_request_values(2.0 * width * height, fmt::format("the coverage of a {}x{} grid", width, height));
  CoverageAccumulator accumulator(bounds, width, height);
  if (wkbFlatten(shape.getGeometryType()) == wkbPolygon) {
    add_polygon(accumulator, *shape.toPolygon());
  } else {
    for (const OGRPolygon* polygon : *shape.toMultiPolygon()) {
      add_polygon(accumulator, *polygon);
    }
  }
  return accumulator.fractions();
}

std::vector<double> estimated_coverage(const OGRGeometry& shape, const Bbox& bounds, int width, int height,
                                       int cover_scale) {
  check_area_shape(shape, "coverage");
  check_grid(bounds, width, height);
  if (cover_scale < 1 || cover_scale > 1000) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("cover_scale {} is out of range (1 to 1000)", cover_scale));
  }
  const double fine_values = static_cast<double>(width) * cover_scale * static_cast<double>(height) * cover_scale;
  check_request_values(fine_values, fmt::format("a coverage estimate at cover_scale {}", cover_scale));
  const int fine_width = width * cover_scale;
  const std::vector<std::uint8_t> fine = rasterize(shape, bounds, fine_width, height * cover_scale, true);
  std::vector<double> result(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0.0);
  const double per_pixel = static_cast<double>(cover_scale) * cover_scale;
  for (std::size_t row = 0; row < static_cast<std::size_t>(height) * cover_scale; ++row) {
    const std::size_t out_row = row / static_cast<std::size_t>(cover_scale);
    for (std::size_t column = 0; column < static_cast<std::size_t>(fine_width); ++column) {
      if (fine[row * static_cast<std::size_t>(fine_width) + column] != 0) {
        result[out_row * static_cast<std::size_t>(width) + column / static_cast<std::size_t>(cover_scale)] +=
            1 / per_pixel;
      }
    }
  }
  return result;
}

}  // namespace tessera::tiling

namespace tessera {

std::vector<double> coverage_fractions(const nlohmann::json& geojson, const Bbox& bounds, int width, int height,
                                       std::optional<int> cover_scale) {
  const Geometry shape = tiling::feature_geometry(geojson, "coverage");
  return cover_scale ? tiling::estimated_coverage(*shape.ogr(), bounds, width, height, *cover_scale)
                     : tiling::coverage_fractions(*shape.ogr(), bounds, width, height);
}

}  // namespace tessera
