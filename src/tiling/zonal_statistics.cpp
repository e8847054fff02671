// Band statistics, plain or weighted by a shape's coverage of each pixel.

#include "tiling/zonal_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tiling/coverage.hpp"
#include "tiling/raster_read.hpp"

namespace tessera::tiling {

namespace {

// One band's pixels that count, with their weights (1 without a shape).
struct WeightedValues {
  std::vector<double> values;
  std::vector<double> weights;
};

// How the histogram and majority/minority count a pixel: once (rio-tiler),
// or by its weight (exactextract's coverage-weighted frequencies).
enum class Frequency { kPixels, kWeights };

// Statistics of one band with rio-tiler's definitions generalised to weights
// (with every weight 1 they are rio-tiler's unweighted ones): count = Σw,
// sum = Σvw, mean = sum/count, population std weighted, quantiles the first
// value whose cumulative weight reaches q·Σw (numpy searchsorted, "nearest
// rank" for unit weights), numpy's histogram.
BandStatistics band_statistics(std::string band, WeightedValues pixels, std::size_t pixel_count,
                               std::size_t coverage_pixels, const StatisticsOptions& options, Frequency frequency) {
  BandStatistics stats;
  stats.band = std::move(band);
  std::vector<std::size_t> order(pixels.values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return pixels.values[a] < pixels.values[b]; });
  std::vector<double> cumulative(order.size());
  std::map<double, double> frequencies;
  double total = 0;
  double sum = 0;
  for (std::size_t n = 0; n < order.size(); ++n) {
    const double value = pixels.values[order[n]];
    const double weight = pixels.weights[order[n]];
    total += weight;
    sum += value * weight;
    cumulative[n] = total;
    frequencies[value] += frequency == Frequency::kWeights ? weight : 1.0;
  }
  auto quantile = [&](double q) {
    const auto found = std::lower_bound(cumulative.begin(), cumulative.end(), q * total);
    const auto index = std::min<std::size_t>(static_cast<std::size_t>(found - cumulative.begin()), order.size() - 1);
    return pixels.values[order[index]];
  };
  stats.count = total;
  stats.sum = sum;
  if (!order.empty()) {
    const double mean = sum / total;
    double squares = 0;
    for (std::size_t n = 0; n < pixels.values.size(); ++n) {
      squares += pixels.weights[n] * (pixels.values[n] - mean) * (pixels.values[n] - mean);
    }
    // numpy's unique + index(max) picks the smallest value among ties.
    auto majority = frequencies.begin();
    auto minority = frequencies.begin();
    for (auto it = frequencies.begin(); it != frequencies.end(); ++it) {
      if (it->second > majority->second) {
        majority = it;
      }
      if (it->second < minority->second) {
        minority = it;
      }
    }
    stats.min = pixels.values[order.front()];
    stats.max = pixels.values[order.back()];
    stats.mean = mean;
    stats.std = std::sqrt(squares / total);
    stats.median = quantile(0.5);
    stats.majority = majority->first;
    stats.minority = minority->first;
  }
  stats.unique = frequencies.size();
  for (const double p : options.percentiles) {
    stats.percentiles.push_back(
        {p, order.empty() ? std::optional<double>() : std::optional<double>(quantile(p / 100))});
  }
  if (options.categorical) {
    for (const auto& [value, count] : frequencies) {
      stats.histogram_edges.push_back(value);
      stats.histogram_counts.push_back(count);
    }
  } else {
    double low = order.empty() ? 0 : *stats.min;
    double high = order.empty() ? 1 : *stats.max;
    if (options.histogram_range) {
      std::tie(low, high) = *options.histogram_range;
    }
    if (low == high) {  // numpy widens an empty range by half a unit each way
      low -= 0.5;
      high += 0.5;
    }
    const int bins = options.histogram_bins;
    stats.histogram_counts.assign(static_cast<std::size_t>(bins), 0);
    for (std::size_t n = 0; n < pixels.values.size(); ++n) {
      const double value = pixels.values[n];
      if (value < low || value > high) {
        continue;
      }
      const auto bin = std::min(static_cast<int>((value - low) / (high - low) * bins), bins - 1);
      stats.histogram_counts[static_cast<std::size_t>(bin)] +=
          frequency == Frequency::kWeights ? pixels.weights[n] : 1.0;
    }
    for (int n = 0; n <= bins; ++n) {
      stats.histogram_edges.push_back(low + (high - low) * n / bins);
    }
  }
  stats.valid_pixels = pixels.values.size();
  stats.masked_pixels = pixel_count - pixels.values.size();
  const double valid_share =
      coverage_pixels == 0
          ? 0
          : std::min(static_cast<double>(pixels.values.size()) / static_cast<double>(coverage_pixels), 1.0);
  stats.valid_percent = std::round(valid_share * 100 * 100) / 100;
  return stats;
}

// Statistics of every band; `coverage` (one weight per pixel, 0 leaves the
// pixel out) or every pixel weighing 1; `inside` (when set) leaves out the
// pixels it has 0 for.
std::vector<BandStatistics> weighted_statistics(const ImageData& image, std::optional<double> nodata,
                                                const StatisticsOptions& options, const std::vector<double>* coverage,
                                                const std::vector<std::uint8_t>* inside, Frequency frequency) {
  check_statistics_options(options);
  std::size_t coverage_pixels = image.pixel_count();
  if (coverage != nullptr) {
    coverage_pixels = static_cast<std::size_t>(
        std::count_if(coverage->begin(), coverage->end(), [](double weight) { return weight > 0; }));
  }
  // The image's mask keeps a pixel when any band has data; statistics are
  // per band, so each band's own nodata values are left out too (as in
  // rio-tiler's per-band masked arrays).
  std::vector<BandStatistics> result;
  for (int b = 0; b < image.band_count(); ++b) {
    WeightedValues pixels;
    for (std::size_t p = 0; p < image.pixel_count(); ++p) {
      const double weight = coverage != nullptr ? (*coverage)[p] : 1.0;
      const double value = value_at(image, b, p);
      if (weight > 0 && image.mask()[p] != 0 && (inside == nullptr || (*inside)[p] != 0) && std::isfinite(value) &&
          !(nodata && value == *nodata)) {
        pixels.values.push_back(value);
        pixels.weights.push_back(weight);
      }
    }
    result.push_back(band_statistics(image.band_names[static_cast<std::size_t>(b)], std::move(pixels),
                                     image.pixel_count(), coverage_pixels, options, frequency));
  }
  return result;
}

}  // namespace

void check_statistics_options(const StatisticsOptions& options) {
  if (options.histogram_bins < 1 || options.histogram_bins > 10000) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("histogram_bins {} is out of range (1 to 10000)", options.histogram_bins));
  }
  for (const double p : options.percentiles) {
    if (!(p >= 0 && p <= 100)) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("percentile {} is out of range (0 to 100)", p));
    }
  }
  if (options.cover_scale && (*options.cover_scale < 1 || *options.cover_scale > 1000)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("cover_scale {} is out of range (1 to 1000)", *options.cover_scale));
  }
}

std::vector<BandStatistics> image_statistics(const ImageData& image, std::optional<double> nodata,
                                             const StatisticsOptions& options) {
  return weighted_statistics(image, nodata, options, nullptr, nullptr, Frequency::kPixels);
}

std::vector<BandStatistics> shape_statistics(const ImageData& image, const OGRGeometry& shape,
                                             std::optional<double> nodata, const StatisticsOptions& options) {
  check_statistics_options(options);
  if (!options.cover_scale) {
    const std::vector<double> coverage = coverage_fractions(shape, image.bounds, image.width(), image.height());
    return weighted_statistics(image, nodata, options, &coverage, nullptr, Frequency::kWeights);
  }
  // rio-tiler (7.9 to 9.4): the feature's image is masked outside the
  // pixels the shape touches (all-touched), and the estimate weighs the
  // pixels left.
  const std::vector<double> coverage =
      estimated_coverage(shape, image.bounds, image.width(), image.height(), *options.cover_scale);
  const std::vector<std::uint8_t> touched = rasterize(shape, image.bounds, image.width(), image.height(), true);
  return weighted_statistics(image, nodata, options, &coverage, &touched, Frequency::kPixels);
}

std::optional<double> statistics_nodata(const ReadOptions& read, std::optional<double> raster_nodata) {
  if (read.nodata) {
    return read.nodata;
  }
  return read.expression.empty() ? raster_nodata : std::nullopt;
}

}  // namespace tessera::tiling

namespace tessera {

std::vector<BandStatistics> image_statistics(const ImageData& image, const StatisticsOptions& statistics) {
  return tiling::image_statistics(image, std::nullopt, statistics);
}

}  // namespace tessera
