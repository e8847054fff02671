// CQL2-Text filters: the lexer and parser (text_to_json), the full parse with
// geometry construction (parse_text), and evaluation of accepted filters.

#include "cql2_fuzz_item.hpp"
#include "fuzz_support.hpp"
#include "tessera/cql2.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = tessera::fuzz::as_text(data, size);
  tessera::fuzz::accepted([&] {
    const auto json = tessera::cql2::text_to_json(text);
    const auto expr = tessera::cql2::parse_json(json);
    (void)tessera::cql2::evaluate(expr, tessera::fuzz::cql2_item());
  });
  return 0;
}
