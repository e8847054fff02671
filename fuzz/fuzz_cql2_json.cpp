// CQL2-JSON filters: parse_json(), then what callers do with a parsed filter
// (canonical JSON, property list, evaluation), and the round trip: the
// canonical JSON of an accepted filter must be accepted again.

#include "cql2_fuzz_item.hpp"
#include "fuzz_support.hpp"
#include "tessera/cql2.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto filter = tessera::fuzz::as_json(data, size);
  if (!filter) {
    return 0;
  }
  tessera::fuzz::accepted([&] {
    const auto expr = tessera::cql2::parse_json(*filter);
    const auto canonical = tessera::cql2::to_json(expr);
    (void)tessera::cql2::properties(expr);
    (void)tessera::cql2::evaluate(expr, tessera::fuzz::cql2_item());
    if (!tessera::fuzz::accepted([&] { (void)tessera::cql2::parse_json(canonical); })) {
      tessera::fuzz::finding("canonical CQL2-JSON rejected", canonical.dump().c_str());
    }
  });
  return 0;
}
