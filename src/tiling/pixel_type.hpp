#pragma once

// Calls a generic function with the C++ type of a DataType. Internal header.

#include <cstdint>

#include <gdal.h>

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

// The GDAL type of a DataType's values. Before GDAL 3.7 signed bytes are
// Byte bands marked PIXELTYPE=SIGNEDBYTE.
inline GDALDataType gdal_type(DataType type) {
  switch (type) {
    case DataType::kUInt8:
      return GDT_Byte;
    case DataType::kInt8:
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 7, 0)
      return GDT_Int8;
#else
      return GDT_Byte;
#endif
    case DataType::kUInt16:
      return GDT_UInt16;
    case DataType::kInt16:
      return GDT_Int16;
    case DataType::kUInt32:
      return GDT_UInt32;
    case DataType::kInt32:
      return GDT_Int32;
    case DataType::kFloat32:
      return GDT_Float32;
    case DataType::kFloat64:
      break;
  }
  return GDT_Float64;
}

// `function(values)` with a typed pointer to band `band` of `image`.
template <typename Function>
decltype(auto) with_band_values(const ImageData& image, int band, Function&& function) {
  return with_pixel_type(image.data_type(),
                         [&](auto tag) { return function(image.band<typename decltype(tag)::type>(band)); });
}

}  // namespace tessera::tiling
