// The shapes of feature reads and exact statistics (POST feature and
// statistics bodies): the GeoJSON reader of the tiling module and the exact
// coverage fractions of a small grid over the shape's box, each of which must
// lie in [0, 1] when the shape is valid (an invalid one, e.g. a bow-tie, is
// read but its fractions are only defined up to its self-overlaps).

#include <vector>

#include "fuzz_support.hpp"
#include "tessera/tiling.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto geojson = tessera::fuzz::as_json(data, size);
  if (!geojson) {
    return 0;
  }
  tessera::fuzz::accepted([&] {
    const bool feature = geojson->is_object() && geojson->contains("geometry");
    const auto shape = tessera::Geometry::from_geojson(feature ? (*geojson)["geometry"] : *geojson);
    constexpr int kSide = 16;
    const std::vector<double> fractions =
        tessera::coverage_fractions(*geojson, shape.bbox(), kSide, kSide, std::nullopt);
    if (!shape.validity().valid) {
      return;
    }
    if (fractions.size() != static_cast<std::size_t>(kSide * kSide)) {
      tessera::fuzz::finding("coverage_fractions", "not one fraction per pixel");
    }
    for (const double fraction : fractions) {
      if (!(fraction >= -1e-9 && fraction <= 1 + 1e-9)) {
        tessera::fuzz::finding("coverage_fractions", "a fraction outside [0, 1]");
      }
    }
  });
  return 0;
}
