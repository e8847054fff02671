#pragma once

// Calls a generic function with the C++ type of a DataType. Internal header.

#include <cstdint>

#include "tessera/image.hpp"

namespace tessera::tiling {

template <typename T>
struct TypeTag {
  using type = T;
};

// `function(TypeTag<T>{})` for the C++ type T that holds `type`'s values.
template <typename Function>
decltype(auto) with_pixel_type(DataType type, Function&& function) {
  switch (type) {
    case DataType::kUInt8:
      return function(TypeTag<std::uint8_t>{});
    case DataType::kInt8:
      return function(TypeTag<std::int8_t>{});
    case DataType::kUInt16:
      return function(TypeTag<std::uint16_t>{});
    case DataType::kInt16:
      return function(TypeTag<std::int16_t>{});
    case DataType::kUInt32:
      return function(TypeTag<std::uint32_t>{});
    case DataType::kInt32:
      return function(TypeTag<std::int32_t>{});
    case DataType::kFloat32:
      return function(TypeTag<float>{});
    case DataType::kFloat64:
      break;
  }
  return function(TypeTag<double>{});
}

// `function(values)` with a typed pointer to band `band` of `image`.
template <typename Function>
decltype(auto) with_band_values(const ImageData& image, int band, Function&& function) {
  return with_pixel_type(image.data_type(),
                         [&](auto tag) { return function(image.band<typename decltype(tag)::type>(band)); });
}

}  // namespace tessera::tiling
