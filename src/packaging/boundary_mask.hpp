#pragma once

// The boundary burnt into a byte mask of a raster window. Internal header.

#include <vector>

#include "tessera/geometry.hpp"

namespace tessera::packaging {

// 255 where a pixel's centre lies inside `boundary` (in the window's CRS), or
// where the boundary touches the pixel with `all_touched`; 0 elsewhere.
// `transform` is the window's geotransform (north-up). The same pixels as
// GDALRasterizeGeometries (and gdalwarp's cutline) on the whole window, but
// the window is rasterized in strips of rows, each with only the part of the
// boundary that crosses it: GDAL's polygon fill visits every edge on every
// row, which a 100k-vertex boundary makes the slowest part of a clip.
std::vector<unsigned char> boundary_mask(const Geometry& boundary, const double transform[6], int width, int height,
                                         bool all_touched);

}  // namespace tessera::packaging
