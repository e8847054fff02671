#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/geometry.hpp"

namespace tessera {

// Pixel types a raster band can hold (GDAL's, minus complex types).
enum class DataType : int { kUInt8, kInt8, kUInt16, kInt16, kUInt32, kInt32, kFloat32, kFloat64 };

// "uint8", "int16", "float32", ... (numpy's names).
TESSERA_API std::string_view data_type_name(DataType type) noexcept;
// InvalidInput naming the accepted names for a name that is not one of them.
TESSERA_API DataType data_type_from_name(std::string_view name);
TESSERA_API std::vector<std::string> data_type_names();
TESSERA_API std::size_t data_type_size(DataType type) noexcept;

// One entry of a raster's internal palette (GDAL colour table).
struct TESSERA_API PaletteEntry {
  std::uint8_t r = 0, g = 0, b = 0, a = 255;
};

// Pixels read from a raster: `bands` x `height` x `width` values of one data
// type, band-major and contiguous (numpy's C order), plus one validity mask
// of `height` x `width` bytes (255 = valid, 0 = no data). The buffers are
// shared, so copies are cheap and Python arrays can view them without copying.
class TESSERA_API ImageData {
 public:
  ImageData() = default;
  // Zero-filled values and an all-invalid mask.
  ImageData(DataType type, int bands, int height, int width);

  [[nodiscard]] DataType data_type() const noexcept { return type_; }
  [[nodiscard]] int band_count() const noexcept { return bands_; }
  [[nodiscard]] int height() const noexcept { return height_; }
  [[nodiscard]] int width() const noexcept { return width_; }
  [[nodiscard]] std::size_t pixel_count() const noexcept {
    return static_cast<std::size_t>(height_) * static_cast<std::size_t>(width_);
  }

  // Values of band `band` (0-based), `pixel_count()` of them.
  [[nodiscard]] std::byte* band_data(int band) noexcept;
  [[nodiscard]] const std::byte* band_data(int band) const noexcept;
  template <typename T>
  [[nodiscard]] T* band(int band) noexcept {
    return reinterpret_cast<T*>(band_data(band));
  }
  template <typename T>
  [[nodiscard]] const T* band(int band) const noexcept {
    return reinterpret_cast<const T*>(band_data(band));
  }
  [[nodiscard]] std::uint8_t* mask() noexcept { return mask_.get(); }
  [[nodiscard]] const std::uint8_t* mask() const noexcept { return mask_.get(); }

  // The owners of the buffers, for views that must keep them alive.
  [[nodiscard]] const std::shared_ptr<std::byte[]>& data_owner() const noexcept { return data_; }
  [[nodiscard]] const std::shared_ptr<std::uint8_t[]>& mask_owner() const noexcept { return mask_; }

  // Georeferencing of the pixel grid: bounds in `crs_wkt` (empty when unknown).
  Bbox bounds;
  std::string crs_wkt;
  // "b1", "b2", ... or the expression of each output band.
  std::vector<std::string> band_names;
  // The source's colour table when it has one (used by render's palette mode).
  std::vector<PaletteEntry> palette;
  // Items/assets that failed while building a mosaic tile, and similar notes.
  std::vector<std::string> warnings;
  // Mosaic tiles: the items whose pixels the image holds, in the order used.
  std::vector<std::string> assets;
  // Mosaic tiles: how the tile was built (items scanned and read, what
  // stopped it early, which items failed, data-cache hits and misses).
  nlohmann::json metadata = nlohmann::json::object();

 private:
  DataType type_ = DataType::kUInt8;
  int bands_ = 0;
  int height_ = 0;
  int width_ = 0;
  std::shared_ptr<std::byte[]> data_;
  std::shared_ptr<std::uint8_t[]> mask_;
};

}  // namespace tessera
