#include "tessera/image.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/enum_names.hpp"
#include "tessera/error.hpp"

namespace tessera {

namespace {

constexpr core::EnumName<DataType> kDataTypeNames[] = {
    {DataType::kUInt8, "uint8"},     {DataType::kInt8, "int8"},       {DataType::kUInt16, "uint16"},
    {DataType::kInt16, "int16"},     {DataType::kUInt32, "uint32"},   {DataType::kInt32, "int32"},
    {DataType::kFloat32, "float32"}, {DataType::kFloat64, "float64"},
};
constexpr core::NameTable<DataType> kDataTypes{"data type", kDataTypeNames};
static_assert(kDataTypes.covers(DataType::kUInt8, DataType::kFloat64));

}  // namespace

std::string_view data_type_name(DataType type) noexcept { return kDataTypes.name(type); }

DataType data_type_from_name(std::string_view name) { return kDataTypes.from_name(name); }

std::vector<std::string> data_type_names() { return kDataTypes.names(); }

std::size_t data_type_size(DataType type) noexcept {
  switch (type) {
    case DataType::kUInt8:
    case DataType::kInt8:
      return 1;
    case DataType::kUInt16:
    case DataType::kInt16:
      return 2;
    case DataType::kUInt32:
    case DataType::kInt32:
    case DataType::kFloat32:
      return 4;
    case DataType::kFloat64:
      return 8;
  }
  return 1;
}

ImageData::ImageData(DataType type, int bands, int height, int width)
    : type_(type), bands_(bands), height_(height), width_(width) {
  if (bands < 0 || height < 0 || width < 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("image size {}x{}x{} is negative", bands, height, width));
  }
  const std::size_t values = pixel_count() * static_cast<std::size_t>(bands);
  // Value-initialised: zeros, and an all-invalid mask.
  data_ = std::shared_ptr<std::byte[]>(new std::byte[std::max<std::size_t>(1, values * data_type_size(type))]());
  mask_ = std::shared_ptr<std::uint8_t[]>(new std::uint8_t[std::max<std::size_t>(1, pixel_count())]());
}

std::byte* ImageData::band_data(int band) noexcept {
  return data_.get() + static_cast<std::size_t>(band) * pixel_count() * data_type_size(type_);
}

const std::byte* ImageData::band_data(int band) const noexcept {
  return data_.get() + static_cast<std::size_t>(band) * pixel_count() * data_type_size(type_);
}

}  // namespace tessera
