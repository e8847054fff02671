// The asset selections of the tile routes: TiTiler 2's `assets=B04|bidx=1,2`
// text and rio-tiler's {"name", "indexes"} JSON. An accepted selection must
// survive its own text form unchanged (the service writes it into tile links
// and cache keys).

#include <string>

#include "fuzz_support.hpp"
#include "tessera/mosaic.hpp"

namespace {

void round_trips(const tessera::AssetSelection& selection) {
  const std::string text = tessera::asset_selection_text(selection);
  tessera::AssetSelection reread;
  try {
    reread = tessera::asset_selection_from_text(text);
  } catch (const tessera::Error& error) {
    tessera::fuzz::finding("the text of an accepted selection is refused", error.what());
  }
  if (!(reread == selection)) {
    tessera::fuzz::finding("asset selection text does not round-trip", text.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tessera::fuzz::accepted([&] { round_trips(tessera::asset_selection_from_text(tessera::fuzz::as_text(data, size))); });
  if (const auto json = tessera::fuzz::as_json(data, size)) {
    tessera::fuzz::accepted([&] { round_trips(tessera::asset_selection_from_json(*json)); });
  }
  return 0;
}
