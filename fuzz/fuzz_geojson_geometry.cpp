// The strict GeoJSON geometry reader (search intersects, AOIs, sketches), and
// what is done with an accepted geometry: bbox, validity, GeoJSON and WKT out.

#include "fuzz_support.hpp"
#include "tessera/geometry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto geojson = tessera::fuzz::as_json(data, size);
  if (!geojson) {
    return 0;
  }
  tessera::fuzz::accepted([&] {
    const auto geometry = tessera::Geometry::from_geojson(*geojson);
    (void)geometry.to_geojson();
    (void)geometry.to_wkt();
    (void)geometry.is_empty();
    (void)geometry.bbox();
    (void)geometry.validity();
  });
  return 0;
}
