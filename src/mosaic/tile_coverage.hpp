#pragma once

// Which items a "first" mosaic tile need not read: those whose footprint
// touches only pixels already filled, or about to be filled by reads in
// flight. Internal header.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mosaic/mosaic_items.hpp"
#include "mosaic/ordered_reads.hpp"
#include "tessera/geometry.hpp"
#include "tessera/tms.hpp"

namespace tessera::mosaic {

class FootprintTransformers;

class TileCoverage {
 public:
  TileCoverage(const std::vector<Candidate>& candidates, const TileMatrixSet& tms, const Tile& tile, int tile_size);
  ~TileCoverage();
  TileCoverage(const TileCoverage&) = delete;
  TileCoverage& operator=(const TileCoverage&) = delete;

  // kSkip when every pixel item n's footprint touches is set in `filled`
  // (the tile's mask so far); kWait when the unfilled ones are all touched
  // by items in flight; kRead otherwise, and for the first item and items
  // whose footprint is unknown (a footprint past the projection's domain).
  Dispatch decide(std::size_t n, const std::vector<std::uint8_t>& filled, const std::vector<std::size_t>& in_flight);

 private:
  // Pixels of the tile item n's footprint touches (all-touched), empty when unknown.
  const std::vector<std::uint8_t>& footprint(std::size_t n);

  const std::vector<Candidate>& candidates_;
  Bbox bounds_;
  int tile_size_;
  std::string tms_wkt_;
  std::shared_ptr<FootprintTransformers> transformers_;
  std::unique_ptr<Transformer> to_tms_;
  std::vector<std::vector<std::uint8_t>> footprints_;
  std::vector<bool> footprint_known_;
};

}  // namespace tessera::mosaic
