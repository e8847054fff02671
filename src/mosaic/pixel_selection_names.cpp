// Names of the pixel-selection methods, as rio-tiler and TiTiler spell them.

#include <string>
#include <vector>

#include "core/enum_names.hpp"
#include "tessera/mosaic.hpp"

namespace tessera {

namespace {

constexpr core::EnumName<PixelSelection> kMethodNames[] = {
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
// TiTiler's spellings.
constexpr core::EnumName<PixelSelection> kMethodAliases[] = {
    {PixelSelection::kLastBandHigh, "lastbandhigh"},
    {PixelSelection::kLastBandLow, "lastbandlow"},
};
constexpr core::NameTable<PixelSelection> kMethods{"pixel selection", kMethodNames, kMethodAliases};
static_assert(kMethods.covers(PixelSelection::kFirst, PixelSelection::kLastBandLow));

}  // namespace

PixelSelection pixel_selection_from_name(std::string_view name) { return kMethods.from_name(name); }

std::string_view pixel_selection_name(PixelSelection method) noexcept { return kMethods.name(method); }

std::vector<std::string> pixel_selection_names() { return kMethods.names(); }

}  // namespace tessera
