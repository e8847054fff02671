#include "packaging/boundary_mask.hpp"

#include <algorithm>
#include <cmath>

#include <cpl_string.h>
#include <gdal_alg.h>
#include <ogr_geometry.h>

#include "packaging/boundary_projection.hpp"
#include "packaging/mem_raster.hpp"

namespace tessera::packaging {

namespace {

constexpr int kStripRows = 64;

struct Point {
  double x;
  double y;
};
using Ring = std::vector<Point>;
struct RingWithBounds {
  Ring points;
  double miny;
  double maxy;
};
using Polygon = std::vector<RingWithBounds>;

std::vector<Polygon> polygons_of(const Geometry& boundary) {
  OGRMultiPolygon parts;
  append_polygons(*boundary.ogr(), parts);
  std::vector<Polygon> polygons;
  for (const auto* polygon : parts) {
    Polygon rings;
    for (const auto* ring : *polygon) {
      RingWithBounds copy{{}, HUGE_VAL, -HUGE_VAL};
      copy.points.reserve(static_cast<std::size_t>(ring->getNumPoints()));
      for (const auto& point : *ring) {
        copy.points.push_back({point.getX(), point.getY()});
        copy.miny = std::min(copy.miny, point.getY());
        copy.maxy = std::max(copy.maxy, point.getY());
      }
      rings.push_back(std::move(copy));
    }
    polygons.push_back(std::move(rings));
  }
  return polygons;
}

// Sutherland-Hodgman against one horizontal line: keeps the side where
// `inside(y)` holds. The cut adds horizontal edges only, which no scanline
// through pixel centres of the strip crosses.
template <typename Inside>
Ring clip_ring(const Ring& ring, double line, Inside inside) {
  Ring out;
  if (ring.empty()) {
    return out;
  }
  out.reserve(ring.size() + 4);
  Point previous = ring.back();
  bool previous_in = inside(previous.y);
  for (const Point& point : ring) {
    const bool point_in = inside(point.y);
    if (point_in != previous_in) {
      const double t = (line - previous.y) / (point.y - previous.y);
      out.push_back({previous.x + t * (point.x - previous.x), line});
    }
    if (point_in) {
      out.push_back(point);
    }
    previous = point;
    previous_in = point_in;
  }
  return out;
}

// The part of the polygons between `bottom` and `top` (map y), as an OGR multipolygon.
OGRMultiPolygon strip_of(const std::vector<Polygon>& polygons, double bottom, double top) {
  OGRMultiPolygon strip;
  for (const auto& polygon : polygons) {
    OGRPolygon piece;
    for (const auto& ring : polygon) {
      if (ring.maxy < bottom || ring.miny > top) {
        continue;
      }
      Ring cut = ring.points;
      if (ring.miny < bottom) {
        cut = clip_ring(cut, bottom, [bottom](double y) { return y >= bottom; });
      }
      if (ring.maxy > top) {
        cut = clip_ring(cut, top, [top](double y) { return y <= top; });
      }
      if (cut.size() < 3) {
        continue;
      }
      auto* linear = new OGRLinearRing();
      linear->setNumPoints(static_cast<int>(cut.size() + 1), FALSE);
      for (std::size_t i = 0; i < cut.size(); ++i) {
        linear->setPoint(static_cast<int>(i), cut[i].x, cut[i].y);
      }
      linear->setPoint(static_cast<int>(cut.size()), cut[0].x, cut[0].y);
      piece.addRingDirectly(linear);
    }
    if (!piece.IsEmpty()) {
      strip.addGeometry(&piece);
    }
  }
  return strip;
}

void rasterize(OGRGeometry& geometry, unsigned char* rows, const double transform[6], int width, int height,
               bool all_touched) {
  GDALDatasetUniquePtr dataset = create_mem(width, height);
  add_band_over(*dataset, GDT_Byte, rows);
  dataset->SetGeoTransform(const_cast<double*>(transform));
  int band_list[] = {1};
  double burn[] = {255.0};
  OGRGeometryH handle = OGRGeometry::ToHandle(&geometry);
  CPLStringList options;
  if (all_touched) {
    options.SetNameValue("ALL_TOUCHED", "TRUE");
  }
  gdal::ErrorCapture errors;
  if (GDALRasterizeGeometries(GDALDataset::ToHandle(dataset.get()), 1, band_list, 1, &handle, nullptr, nullptr, burn,
                              options.List(), nullptr, nullptr) != CE_None) {
    throw Error(ErrorCode::kInternal, "rasterizing the boundary failed: " + errors.messages());
  }
}

}  // namespace

std::vector<unsigned char> boundary_mask(const Geometry& boundary, const double transform[6], int width, int height,
                                         bool all_touched) {
  std::vector<unsigned char> mask(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0);
  const std::vector<Polygon> polygons = polygons_of(boundary);
  for (int top_row = 0; top_row < height; top_row += kStripRows) {
    const int rows = std::min(kStripRows, height - top_row);
    const double strip_transform[6] = {transform[0], transform[1], 0.0, transform[3] + top_row * transform[5],
                                       0.0,          transform[5]};
    const double y_a = strip_transform[3];
    const double y_b = strip_transform[3] + rows * transform[5];
    OGRMultiPolygon strip = strip_of(polygons, std::min(y_a, y_b), std::max(y_a, y_b));
    if (!strip.IsEmpty()) {
      rasterize(strip, mask.data() + static_cast<std::size_t>(top_row) * static_cast<std::size_t>(width),
                strip_transform, width, rows, all_touched);
    }
  }
  return mask;
}

}  // namespace tessera::packaging
