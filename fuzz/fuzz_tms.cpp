// OGC TileMatrixSet 2.0 documents (custom TMS given by users), then what a
// tile request does with an accepted set, and the to_json() round trip.

#include "fuzz_support.hpp"
#include "tessera/tms.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tessera::fuzz::accepted([&] {
    const auto tms = tessera::TileMatrixSet::from_json_text(tessera::fuzz::as_text(data, size));
    const auto document = tms.to_json();
    if (!tessera::fuzz::accepted([&] { (void)tessera::TileMatrixSet::from_json(document); })) {
      tessera::fuzz::finding("to_json() of an accepted TMS rejected", document.dump().c_str());
    }
    const tessera::Tile first{tms.min_zoom(), 0, 0};
    (void)tms.xy_bounds(first);
    (void)tms.bounds(first);
    (void)tms.tile(10.0, 45.0, tms.min_zoom());
    (void)tms.tile_ranges(tessera::Bbox{-10, -10, 10, 10}, tms.min_zoom());
  });
  return 0;
}
