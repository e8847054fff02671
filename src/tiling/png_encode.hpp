#pragma once

// PNG written here rather than through GDAL's driver (libpng and zlib at
// level 6), which was most of a tile's time: rows filtered as libpng chooses
// them (the filter with the least sum of absolute differences, per row) and
// compressed in one call by libdeflate, several times faster than zlib for a
// like size (BENCHMARKS.md, tiling). Internal header.

#include <string>

#include "tessera/image.hpp"

namespace tessera::tiling {

// The image (uint8 or uint16; 1 band: grey, 3 bands: RGB) as a PNG of the
// same bit depth, with an alpha channel from the mask when `add_mask`: the
// mask itself for uint8, scaled to 0-65535 and truncated for uint16 (rio-
// tiler's linear_rescale). InvalidInput for another type or band count, and
// when the samples exceed ReaderConfig::max_request_values (checked before
// the encoder allocates anything).
std::string encode_png(const ImageData& image, bool add_mask);

}  // namespace tessera::tiling
