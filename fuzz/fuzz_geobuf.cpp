// The geobuf decoder (geoprocessing's geometryUri documents): any bytes are
// decoded or refused as InvalidInput, within the coordinate budget.

#include "fuzz_support.hpp"
#include "tessera/geoprocessing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tessera::fuzz::accepted([&] { (void)tessera::decode_geobuf(bytes, 100'000).dump(); });
  return 0;
}
