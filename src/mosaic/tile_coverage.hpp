#pragma once

// Which items a "first" mosaic grid (a tile or a part) need not read: those
// whose footprint touches only pixels already filled, or about to be filled
// by reads in flight. Internal header.

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
  // The grid: `width` x `height` pixels over `bounds` in `crs`.
  TileCoverage(const std::vector<Candidate>& candidates, const Crs& crs, const Bbox& bounds, int width, int height);
  ~TileCoverage();
  TileCoverage(const TileCoverage&) = delete;
  TileCoverage& operator=(const TileCoverage&) = delete;

  // kSkip when every pixel item n's footprint touches is set in `filled`
  // (the grid's mask so far); kWait when the unfilled ones are all touched
  // by items in flight; kRead otherwise, and for the first item and items
  // whose footprint is unknown (a footprint past the projection's domain).
  Dispatch decide(std::size_t n, const std::vector<std::uint8_t>& filled, const std::vector<std::size_t>& in_flight);

 private:
  // Pixels of the grid item n's footprint touches (all-touched), empty when unknown.
  const std::vector<std::uint8_t>& footprint(std::size_t n);

  const std::vector<Candidate>& candidates_;
  Bbox bounds_;
  int width_;
  int height_;
  std::string crs_wkt_;
  std::shared_ptr<FootprintTransformers> transformers_;
  std::unique_ptr<Transformer> to_grid_;
  std::vector<std::vector<std::uint8_t>> footprints_;
  std::vector<bool> footprint_known_;
};

}  // namespace tessera::mosaic
