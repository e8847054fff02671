// STAC Item validation as bulk loads run it: prepare_item() over the raw text
// (simdjson), and item_identity() that names a rejected item in reports.

#include <string>

#include "catalog/stac.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = tessera::fuzz::as_text(data, size);
  tessera::fuzz::accepted([&] { (void)tessera::catalog::item_identity(text); });
  tessera::fuzz::accepted([&] { (void)tessera::catalog::prepare_item(std::string(text)); });
  return 0;
}
