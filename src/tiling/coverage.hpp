#pragma once

// How much of each pixel of a grid a polygon covers: exactly (the fraction of
// the pixel's area inside the polygon, as exactextract defines it), or
// rio-tiler's estimate (an all-touched rasterization `cover_scale` times finer,
// summed per pixel). Internal header, offered to mosaic.

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <nlohmann/json.hpp>

#include "tessera/geometry.hpp"

namespace tessera::tiling {

// The most vertices a shape may have for coverage and feature reads.
inline constexpr std::size_t kMaxShapeVertices = 100'000;

// The geometry of a GeoJSON Feature, or a GeoJSON geometry; InvalidInput
// naming `what` when it is neither or is empty.
Geometry feature_geometry(const nlohmann::json& geojson, std::string_view what);

// A copy of `shape` reprojected from `from` to `to`; InvalidInput naming
// `what` when it cannot be.
std::unique_ptr<OGRGeometry> reprojected(const OGRGeometry& shape, const OGRSpatialReference& from,
                                         const OGRSpatialReference& to, std::string_view what);

// InvalidInput naming `what` unless `shape` is a Polygon or MultiPolygon of
// at most kMaxShapeVertices vertices.
void check_area_shape(const OGRGeometry& shape, std::string_view what);

// The fraction (0 to 1) of each pixel of a `width` x `height` grid over
// `bounds` that `shape` (a Polygon or MultiPolygon in the grid's CRS) covers,
// row by row from the top. Holes are subtracted; the parts of a MultiPolygon
// must not overlap (a valid MultiPolygon's do not). Exact up to rounding, in
// time proportional to the pixels plus the cells the boundary crosses.
std::vector<double> coverage_fractions(const OGRGeometry& shape, const Bbox& bounds, int width, int height);

// rio-tiler's get_coverage_array: the shape rasterized all-touched on a grid
// `cover_scale` times finer, the touched sub-pixels counted per pixel over
// cover_scale². InvalidInput when the finer grid exceeds the request budget.
std::vector<double> estimated_coverage(const OGRGeometry& shape, const Bbox& bounds, int width, int height,
                                       int cover_scale);

}  // namespace tessera::tiling
