#include "mosaic/pyramid_resample.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "tiling/pixel_type.hpp"

namespace tessera::mosaic {

namespace {

// One band of a child as doubles, whatever its type.
std::vector<double> band_values(const ImageData& image, int band) {
  std::vector<double> values(image.pixel_count());
  tiling::with_pixel_type(image.data_type(), [&]<typename T>(tiling::TypeTag<T>) {
    const T* source = image.band<T>(band);
    std::transform(source, source + values.size(), values.begin(), [](T value) { return static_cast<double>(value); });
  });
  return values;
}

// `value` in T: integers rounded half away from zero and clamped to T's range.
template <typename T>
T stored_value(double value) {
  if constexpr (std::is_integral_v<T>) {
    const double rounded = std::round(value);
    return static_cast<T>(std::clamp(rounded, static_cast<double>(std::numeric_limits<T>::lowest()),
                                     static_cast<double>(std::numeric_limits<T>::max())));
  } else {
    return static_cast<T>(value);
  }
}

}  // namespace

std::optional<ImageData> parent_tile(const std::array<const ImageData*, 4>& children, int tile_size,
                                     PyramidResampling resampling) {
  const auto first = std::find_if(children.begin(), children.end(), [](const ImageData* c) { return c != nullptr; });
  if (first == children.end()) {
    return std::nullopt;
  }
  const ImageData& model = **first;
  ImageData parent(model.data_type(), model.band_count(), tile_size, tile_size);
  parent.band_names = model.band_names;
  const int half = tile_size / 2;
  const auto size = static_cast<std::size_t>(tile_size);
  bool any_valid = false;
  for (int quadrant = 0; quadrant < 4; ++quadrant) {
    const ImageData* child = children[static_cast<std::size_t>(quadrant)];
    if (child == nullptr || child->band_count() != parent.band_count() || child->width() != tile_size ||
        child->height() != tile_size) {
      continue;
    }
    const int column0 = (quadrant % 2) * half;
    const int row0 = (quadrant / 2) * half;
    const std::uint8_t* mask = child->mask();
    // The parent's mask over this quadrant first: it is the same for every band.
    for (int row = 0; row < half; ++row) {
      for (int column = 0; column < half; ++column) {
        const std::size_t top = static_cast<std::size_t>(2 * row) * size + static_cast<std::size_t>(2 * column);
        const std::size_t bottom = top + size;
        const bool valid = resampling == PyramidResampling::kNearest
                               ? mask[bottom + 1] != 0
                               : (mask[top] | mask[top + 1] | mask[bottom] | mask[bottom + 1]) != 0;
        parent.mask()[static_cast<std::size_t>(row0 + row) * size + static_cast<std::size_t>(column0 + column)] =
            valid ? 255 : 0;
        any_valid = any_valid || valid;
      }
    }
    for (int band = 0; band < parent.band_count(); ++band) {
      const std::vector<double> values = band_values(*child, band);
      tiling::with_pixel_type(parent.data_type(), [&]<typename T>(tiling::TypeTag<T>) {
        T* out = parent.band<T>(band);
        for (int row = 0; row < half; ++row) {
          for (int column = 0; column < half; ++column) {
            const std::size_t top = static_cast<std::size_t>(2 * row) * size + static_cast<std::size_t>(2 * column);
            const std::size_t bottom = top + size;
            double value = 0;
            if (resampling == PyramidResampling::kNearest) {
              value = values[bottom + 1];
            } else {
              double sum = 0;
              int count = 0;
              for (const std::size_t at : {top, top + 1, bottom, bottom + 1}) {
                if (mask[at] != 0) {
                  sum += values[at];
                  ++count;
                }
              }
              value = count > 0 ? sum / count : 0.0;
            }
            out[static_cast<std::size_t>(row0 + row) * size + static_cast<std::size_t>(column0 + column)] =
                stored_value<T>(value);
          }
        }
      });
    }
  }
  if (!any_valid) {
    return std::nullopt;
  }
  return parent;
}

}  // namespace tessera::mosaic
