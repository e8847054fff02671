#pragma once

// Band statistics of an image, optionally weighted by how much of each pixel
// a shape covers (zonal statistics): exact coverage fractions by default
// (exactextract's definitions), rio-tiler's estimate when
// StatisticsOptions::cover_scale is set. Internal header, offered to mosaic.

#include <optional>
#include <vector>

#include <ogr_geometry.h>

#include "tessera/image.hpp"
#include "tessera/tiling.hpp"

namespace tessera::tiling {

// InvalidInput naming the option (histogram_bins, percentiles, cover_scale).
void check_statistics_options(const StatisticsOptions& options);

// Per band, over the valid pixels (mask set, finite, not `nodata`), with
// rio-tiler's definitions; every pixel weighs 1.
std::vector<BandStatistics> image_statistics(const ImageData& image, std::optional<double> nodata,
                                             const StatisticsOptions& options);

// Per band over the pixels `shape` (a Polygon or MultiPolygon in the image's
// CRS) covers. Exact (cover_scale unset): every pixel the shape overlaps
// counts with the fraction of its area inside the shape as weight (count,
// sum, mean, std, quantiles, histogram, majority/minority); min/max over
// the pixels it overlaps. With cover_scale: rio-tiler's feature statistics
// (the pixels the shape touches, weighted by the estimate; histogram and
// majority/minority count pixels).
std::vector<BandStatistics> shape_statistics(const ImageData& image, const OGRGeometry& shape,
                                             std::optional<double> nodata, const StatisticsOptions& options);

// The image's nodata for statistics: `read.nodata`, else the raster's own
// (not with an expression, whose outputs are new values).
std::optional<double> statistics_nodata(const ReadOptions& read, std::optional<double> raster_nodata);

}  // namespace tessera::tiling
