#include "mosaic/pixel_selection.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tiling/pixel_type.hpp"

namespace tessera::mosaic {

namespace {

void to_doubles(const ImageData& image, int band, std::vector<double>& out) {
  out.resize(image.pixel_count());
  tiling::with_pixel_type(image.data_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* values = image.band<T>(band);
    std::transform(values, values + image.pixel_count(), out.begin(), [](T v) { return static_cast<double>(v); });
  });
}

// numpy's astype: floating values truncated toward zero into integer types.
void from_doubles(const std::vector<double>& values, ImageData& image, int band) {
  tiling::with_pixel_type(image.data_type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = image.band<T>(band);
    std::transform(values.begin(), values.end(), out, [](double v) { return static_cast<T>(v); });
  });
}

}  // namespace

PixelSelector::PixelSelector(PixelSelection method, int width, int height, std::size_t max_values)
    : method_(method),
      width_(width),
      height_(height),
      max_values_(max_values),
      mask_(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0) {}

bool PixelSelector::stacks() const noexcept {
  return method_ == PixelSelection::kMean || method_ == PixelSelection::kMedian || method_ == PixelSelection::kStdev ||
         method_ == PixelSelection::kCount;
}

void PixelSelector::check_budget(const ImageData& image) const {
  // The running planes, plus every image a stacking method keeps (and the
  // samples it reduces them to).
  const double kept = static_cast<double>(stacks() ? 2 * (stack_.size() + 1) + 1 : 1);
  if (kept * image.band_count() * static_cast<double>(mask_.size()) > static_cast<double>(max_values_)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("mosaic: {} item images of {} bands at {}x{} exceed the request budget of {} values "
                            "(ReaderConfig::max_request_values)",
                            fed_ + 1, image.band_count(), width_, height_, max_values_));
  }
}

void PixelSelector::feed(const ImageData& image) {
  if (image.width() != width_ || image.height() != height_) {
    throw Error(ErrorCode::kInternal, "mosaic: an item image does not match the tile size");
  }
  if (fed_ == 0) {
    bands_ = image.band_count();
    type_ = image.data_type();
    if ((method_ == PixelSelection::kLastBandHigh || method_ == PixelSelection::kLastBandLow) && bands_ < 2) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("pixel selection '{}' needs at least two bands (the last one decides)",
                              pixel_selection_name(method_)));
    }
    planes_.assign(static_cast<std::size_t>(bands_), std::vector<double>(mask_.size(), 0.0));
  } else if (image.band_count() != bands_) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("has {} bands where the mosaic's first item has {}", image.band_count(), bands_));
  }
  ++fed_;
  if (stacks()) {
    stack_.push_back(image);
  } else {
    merge(image);
  }
  const std::uint8_t* valid = image.mask();
  for (std::size_t p = 0; p < mask_.size(); ++p) {
    if (valid[p] != 0 && mask_[p] == 0) {
      mask_[p] = 1;
      ++filled_count_;
    }
  }
}

// first / highest / lowest / last band: rio-tiler's feed(), with one mask per
// pixel (where a pixel without data always takes the new item's values).
void PixelSelector::merge(const ImageData& image) {
  const std::uint8_t* valid = image.mask();
  std::vector<std::vector<double>> incoming(static_cast<std::size_t>(bands_));
  for (int b = 0; b < bands_; ++b) {
    to_doubles(image, b, incoming[static_cast<std::size_t>(b)]);
  }
  // `mask_` does not include this image yet: it says which pixels had data.
  const bool first_image = fed_ == 1;
  for (std::size_t p = 0; p < mask_.size(); ++p) {
    if (first_image) {
      for (int b = 0; b < bands_; ++b) {
        planes_[b][p] = incoming[b][p];
      }
      continue;
    }
    if (valid[p] == 0) {
      continue;
    }
    const bool had = mask_[p] != 0;
    switch (method_) {
      case PixelSelection::kFirst:
        if (!had) {
          for (int b = 0; b < bands_; ++b) planes_[b][p] = incoming[b][p];
        }
        break;
      case PixelSelection::kHighest:
      case PixelSelection::kLowest:
        for (int b = 0; b < bands_; ++b) {
          const bool better =
              method_ == PixelSelection::kHighest ? incoming[b][p] > planes_[b][p] : incoming[b][p] < planes_[b][p];
          if (!had || better) planes_[b][p] = incoming[b][p];
        }
        break;
      default: {
        const int last = bands_ - 1;
        const bool better = method_ == PixelSelection::kLastBandHigh ? incoming[last][p] > planes_[last][p]
                                                                     : incoming[last][p] < planes_[last][p];
        if (!had || better) {
          for (int b = 0; b < bands_; ++b) planes_[b][p] = incoming[b][p];
        }
      }
    }
  }
}

std::optional<ImageData> PixelSelector::result() const {
  if (fed_ == 0) {
    return std::nullopt;
  }
  if (stacks()) {
    return reduce_stack();
  }
  const bool drops_last = method_ == PixelSelection::kLastBandHigh || method_ == PixelSelection::kLastBandLow;
  return from_planes(drops_last ? bands_ - 1 : bands_);
}

ImageData PixelSelector::from_planes(int band_count) const {
  ImageData image(type_, band_count, height_, width_);
  for (int b = 0; b < band_count; ++b) {
    from_doubles(planes_[b], image, b);
  }
  std::transform(mask_.begin(), mask_.end(), image.mask(), [](std::uint8_t v) { return v != 0 ? 255 : 0; });
  return image;
}

// mean / median / stdev / count over the items with data at each pixel (numpy.ma).
ImageData PixelSelector::reduce_stack() const {
  const std::size_t pixels = mask_.size();
  if (method_ == PixelSelection::kCount) {
    const bool small = stack_.size() < 256;
    ImageData image(small ? DataType::kUInt8 : DataType::kInt32, 1, height_, width_);
    std::vector<double> counts(pixels, 0.0);
    for (const auto& item : stack_) {
      for (std::size_t p = 0; p < pixels; ++p) {
        counts[p] += item.mask()[p] != 0 ? 1 : 0;
      }
    }
    from_doubles(counts, image, 0);
    std::fill_n(image.mask(), pixels, 255);  // a count is always defined
    return image;
  }
  ImageData image(method_ == PixelSelection::kStdev ? DataType::kFloat64 : type_, bands_, height_, width_);
  std::vector<std::vector<double>> values(stack_.size());
  std::vector<double> out(pixels, 0.0);
  std::vector<double> samples;
  for (int b = 0; b < bands_; ++b) {
    for (std::size_t n = 0; n < stack_.size(); ++n) {
      to_doubles(stack_[n], b, values[n]);
    }
    for (std::size_t p = 0; p < pixels; ++p) {
      samples.clear();
      for (std::size_t n = 0; n < stack_.size(); ++n) {
        if (stack_[n].mask()[p] != 0) {
          samples.push_back(values[n][p]);
        }
      }
      if (samples.empty()) {
        out[p] = 0;
        continue;
      }
      double mean = 0;
      for (const double v : samples) mean += v;
      mean /= static_cast<double>(samples.size());
      if (method_ == PixelSelection::kMean) {
        out[p] = mean;
      } else if (method_ == PixelSelection::kStdev) {
        double sum = 0;
        for (const double v : samples) sum += (v - mean) * (v - mean);
        out[p] = std::sqrt(sum / static_cast<double>(samples.size()));
      } else {
        std::sort(samples.begin(), samples.end());
        const std::size_t middle = samples.size() / 2;
        out[p] = samples.size() % 2 == 1 ? samples[middle] : (samples[middle - 1] + samples[middle]) / 2;
      }
    }
    from_doubles(out, image, b);
  }
  std::transform(mask_.begin(), mask_.end(), image.mask(), [](std::uint8_t v) { return v != 0 ? 255 : 0; });
  return image;
}

}  // namespace tessera::mosaic
