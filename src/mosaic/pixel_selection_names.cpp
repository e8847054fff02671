// Names of the pixel-selection methods, as rio-tiler and TiTiler spell them.

#include <string>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"

namespace tessera {

namespace {

constexpr std::pair<PixelSelection, std::string_view> kMethodNames[] = {
    {PixelSelection::kFirst, "first"},
    {PixelSelection::kHighest, "highest"},
    {PixelSelection::kLowest, "lowest"},
    {PixelSelection::kMean, "mean"},
    {PixelSelection::kMedian, "median"},
    {PixelSelection::kStdev, "stdev"},
    {PixelSelection::kCount, "count"},
    {PixelSelection::kLastBandHigh, "last-band-high"},
    {PixelSelection::kLastBandLow, "last-band-low"},
};

}  // namespace

PixelSelection pixel_selection_from_name(std::string_view name) {
  if (name == "lastbandhigh") {
    return PixelSelection::kLastBandHigh;
  }
  if (name == "lastbandlow") {
    return PixelSelection::kLastBandLow;
  }
  for (const auto& [method, text] : kMethodNames) {
    if (text == name) {
      return method;
    }
  }
  std::string known;
  for (const auto& [method, text] : kMethodNames) {
    known += known.empty() ? std::string(text) : ", " + std::string(text);
  }
  throw Error(ErrorCode::kInvalidInput, fmt::format("unknown pixel selection '{}' (one of: {})", name, known));
}

std::string_view pixel_selection_name(PixelSelection method) noexcept {
  for (const auto& [value, text] : kMethodNames) {
    if (value == method) {
      return text;
    }
  }
  return "unknown";
}

}  // namespace tessera
