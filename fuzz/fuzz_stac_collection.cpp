// STAC Collection validation (create_collection/update_collection input).

#include "catalog/stac.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto collection = tessera::fuzz::as_json(data, size)) {
    tessera::fuzz::accepted([&] { tessera::catalog::validate_collection(*collection); });
  }
  return 0;
}
