#pragma once

// Fills a mosaic tile from item images with one of rio-tiler's
// pixel-selection methods. Internal header.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "tessera/image.hpp"
#include "tessera/mosaic.hpp"

namespace tessera::mosaic {

class PixelSelector {
 public:
  // `max_values`: the most values (pixels x bands, over every kept item
  // image for the stacking methods) the selector may hold.
  PixelSelector(PixelSelection method, int width, int height,
                std::size_t max_values = std::numeric_limits<std::size_t>::max());

  // Adds one item's image (same size as the tile; only read, never written,
  // so it may share cached buffers). InvalidInput when its band count
  // differs from the first image's.
  void feed(const ImageData& image);
  // InvalidInput (failing the whole request, unlike feed's per-item errors)
  // when keeping `image` would exceed max_values.
  void check_budget(const ImageData& image) const;
  // Every pixel has data (what lets "first" stop).
  [[nodiscard]] bool filled() const noexcept { return filled_count_ == mask_.size(); }
  // Which pixels have data so far (1/0), for skipping covered items.
  [[nodiscard]] const std::vector<std::uint8_t>& mask() const noexcept { return mask_; }
  [[nodiscard]] std::size_t fed() const noexcept { return fed_; }
  // The mosaic; nullopt when nothing was fed.
  [[nodiscard]] std::optional<ImageData> result() const;

 private:
  [[nodiscard]] bool stacks() const noexcept;
  void merge(const ImageData& image);
  [[nodiscard]] ImageData from_planes(int band_count) const;
  [[nodiscard]] ImageData reduce_stack() const;

  PixelSelection method_;
  int width_;
  int height_;
  std::size_t max_values_;
  int bands_ = 0;
  DataType type_ = DataType::kUInt8;
  std::size_t fed_ = 0;
  std::vector<std::vector<double>> planes_;  // the running mosaic, one plane per band
  std::vector<std::uint8_t> mask_;
  std::size_t filled_count_ = 0;
  std::vector<ImageData> stack_;  // mean, median, stdev, count
};

}  // namespace tessera::mosaic
