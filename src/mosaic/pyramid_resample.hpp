#pragma once

// A pyramid's parent tiles made from their four children. Internal header.

#include <array>
#include <optional>

#include "tessera/image.hpp"
#include "tessera/pyramid.hpp"

namespace tessera::mosaic {

// The parent of four children `tile_size` pixels square (even), indexed
// [dy * 2 + dx] for the child at column 2x + dx, row 2y + dy; nullptr for a
// child with no data. The parent takes the data type, bands and band names
// of the first child there is; a child with another band count counts as
// no data, one of another type is converted (clamped to the parent's type).
// nullopt when no child has data.
std::optional<ImageData> parent_tile(const std::array<const ImageData*, 4>& children, int tile_size,
                                     PyramidResampling resampling);

}  // namespace tessera::mosaic
