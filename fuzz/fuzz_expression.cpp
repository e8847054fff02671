// Band-math expressions (tiling's expression= parameter): parse, then
// evaluate accepted ones over a few pixels with awkward values.

#include <cmath>
#include <limits>
#include <vector>

#include "fuzz_support.hpp"
#include "tiling/expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tessera::fuzz::accepted([&] {
    const auto expression = tessera::tiling::Expression::parse(tessera::fuzz::as_text(data, size));
    const std::vector<double> pixels = {
        0.0,   -1.0, 1e308, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        255.0, 0.5};
    const std::vector<const double*> inputs(expression.variables().size(), pixels.data());
    std::vector<std::vector<double>> results(expression.output_count(), std::vector<double>(pixels.size()));
    std::vector<double*> outputs;
    for (auto& result : results) {
      outputs.push_back(result.data());
    }
    expression.evaluate(inputs, pixels.size(), outputs);
  });
  return 0;
}
