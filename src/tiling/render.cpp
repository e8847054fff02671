#include "tessera/render.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "core/enum_names.hpp"
#include "core/gdal_env.hpp"
#include "tessera/error.hpp"
#include "tiling/pixel_type.hpp"
#include "tiling/png_encode.hpp"

namespace tessera {

namespace {

enum class Format { kPng, kJpeg, kWebp, kGtiff, kNpy };

struct FormatInfo {
  std::string_view name;
  Format format;
  const char* driver;  // GDAL's; nullptr for PNG (png_encode.cpp) and NPY, written here
  std::string_view media_type;
};

// TiTiler's names and media types.
constexpr FormatInfo kFormats[] = {
    {"png", Format::kPng, nullptr, "image/png"},
    {"jpeg", Format::kJpeg, "JPEG", "image/jpeg"},
    {"jpg", Format::kJpeg, "JPEG", "image/jpeg"},
    {"webp", Format::kWebp, "WEBP", "image/webp"},
    {"tif", Format::kGtiff, "GTiff", "image/tiff; application=geotiff"},
    {"gtiff", Format::kGtiff, "GTiff", "image/tiff; application=geotiff"},
    {"npy", Format::kNpy, nullptr, "application/x-binary"},
};

const FormatInfo& find_format(std::string_view name) {
  for (const auto& info : kFormats) {
    if (info.name.size() == name.size() && std::equal(name.begin(), name.end(), info.name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return info;
    }
  }
  core::throw_unknown_name("image format", name, render_format_names());
}

using Range = std::pair<double, double>;

// rasterio's dtype_ranges, which rio-tiler rescales from when a format cannot
// hold the type.
Range type_range(DataType type) {
  switch (type) {
    case DataType::kUInt8:
      return {0, 255};
    case DataType::kInt8:
      return {-128, 127};
    case DataType::kUInt16:
      return {0, 65535};
    case DataType::kInt16:
      return {-32768, 32767};
    case DataType::kUInt32:
      return {0, 4294967295.0};
    case DataType::kInt32:
      return {-2147483648.0, 2147483647.0};
    case DataType::kFloat32:
      return {std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max()};
    case DataType::kFloat64:
      return {std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max()};
  }
  return {0, 255};
}

// A new image with `image`'s georeferencing, names, palette, warnings and mask.
ImageData like(const ImageData& image, DataType type, int bands) {
  ImageData out(type, bands, image.height(), image.width());
  out.bounds = image.bounds;
  out.crs_wkt = image.crs_wkt;
  out.band_names = image.band_names;
  out.palette = image.palette;
  out.warnings = image.warnings;
  std::memcpy(out.mask(), image.mask(), image.pixel_count());
  return out;
}

// rio-tiler's rescale_image: linear_rescale to 0-255 (values clipped to the
// range), no-data pixels set to 0, then the cast to uint8, which truncates.
// The arithmetic is done in double: rio-tiler (under numpy 2) subtracts the
// range's min in the source type, which overflows for int8/int16 and float32
// values far from the min (int16 0 over its type range gives 129 there, 127 here).
ImageData rescale_to_uint8(const ImageData& image, const std::vector<Range>& ranges) {
  ImageData out = like(image, DataType::kUInt8, image.band_count());
  const std::uint8_t* mask = image.mask();
  const std::size_t count = image.pixel_count();
  for (int band = 0; band < image.band_count(); ++band) {
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    const auto& range = ranges.size() == 1 ? ranges[0] : ranges[static_cast<std::size_t>(band)];
    const double min = range.first;
    const double max = range.second;
    std::uint8_t* values_out = out.band<std::uint8_t>(band);
    tiling::with_band_values(image, band, [&](const auto* values) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(values)>>;
      for (std::size_t i = 0; i < count; ++i) {
        if (mask[i] == 0) {
          values_out[i] = 0;
          continue;
        }
        double scaled = (std::clamp(static_cast<double>(values[i]), min, max) - min) / (max - min) * 255.0;
        if constexpr (std::is_same_v<T, float>) {
          // rio-tiler stores the result in the float32 array before the cast.
          scaled = static_cast<float>(scaled);
        }
        // NaN (a NaN pixel, or infinity over infinity for float64's range) casts to 0 in numpy.
        values_out[i] = scaled >= 0 ? static_cast<std::uint8_t>(scaled) : 0;
      }
    });
  }
  return out;
}

void check_options(const RenderOptions& options, const ImageData& image) {
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("jpeg_quality {} is not 1-100", options.jpeg_quality));
  }
  if (options.webp_quality < 1 || options.webp_quality > 100) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("webp_quality {} is not 1-100", options.webp_quality));
  }
  if (image.band_count() == 0 || image.pixel_count() == 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("cannot render an empty image ({} bands of {}x{} pixels)",
                                                      image.band_count(), image.width(), image.height()));
  }
  // rio-tiler quietly uses the first range when the count is wrong; a mistake
  // here is more likely a client bug than a wish.
  const std::size_t ranges = options.rescale.size();
  if (ranges > 1 && ranges != static_cast<std::size_t>(image.band_count())) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("rescale has {} ranges for an image of {} bands (give 1 or {})",
                                                      ranges, image.band_count(), image.band_count()));
  }
  for (std::size_t i = 0; i < ranges; ++i) {
    const auto [min, max] = options.rescale[i];
    if (!std::isfinite(min) || !std::isfinite(max) || !(min < max)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("rescale range {} [{}, {}] must be finite with min less than max", i + 1, min, max));
    }
  }
}

// --- NPY ---------------------------------------------------------------------

std::string_view npy_type_code(DataType type) {
  switch (type) {
    case DataType::kUInt8:
      return "u1";
    case DataType::kInt8:
      return "i1";
    case DataType::kUInt16:
      return "u2";
    case DataType::kInt16:
      return "i2";
    case DataType::kUInt32:
      return "u4";
    case DataType::kInt32:
      return "i4";
    case DataType::kFloat32:
      return "f4";
    case DataType::kFloat64:
      return "f8";
  }
  return "u1";
}

// The header numpy.save writes (format version 1.0), byte for byte: the dict,
// room for the first axis to grow, space padding to a multiple of 64 and "\n".
std::string npy_header(DataType type, int bands, int height, int width) {
  const char order = data_type_size(type) == 1 ? '|' : (std::endian::native == std::endian::little ? '<' : '>');
  std::string dict = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': ({}, {}, {}), }}", order,
                                 npy_type_code(type), bands, height, width);
  constexpr std::size_t kGrowthAxisMaxDigits = 21;
  dict.append(kGrowthAxisMaxDigits - fmt::formatted_size("{}", bands), ' ');
  constexpr std::size_t kPrefix = 10;  // magic, version, header length
  constexpr std::size_t kAlign = 64;
  const std::size_t length = dict.size() + 1;  // with the "\n"
  const std::size_t padding = kAlign - (kPrefix + length) % kAlign;
  const std::size_t header_length = length + padding;
  std::string header("\x93NUMPY\x01\x00", 8);
  header += static_cast<char>(header_length & 0xff);
  header += static_cast<char>(header_length >> 8);
  header += dict;
  header.append(padding, ' ');
  header += '\n';
  return header;
}

template <typename Out, typename In>
void append_as(std::string& out, const In* values, std::size_t count) {
  if constexpr (std::is_same_v<Out, In>) {
    out.append(reinterpret_cast<const char*>(values), count * sizeof(In));
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      const auto value = static_cast<Out>(values[i]);
      out.append(reinterpret_cast<const char*>(&value), sizeof value);
    }
  }
}

// rio-tiler's render(img_format="NPY"): numpy.save of the bands with the mask
// appended as one more band; numpy.concatenate promotes both to a common type,
// which is the data's own except int8 (with uint8 it becomes int16).
std::string encode_npy(const ImageData& image, bool add_mask) {
  const DataType type = add_mask && image.data_type() == DataType::kInt8 ? DataType::kInt16 : image.data_type();
  const int bands = image.band_count() + (add_mask ? 1 : 0);
  const std::size_t count = image.pixel_count();
  std::string out = npy_header(type, bands, image.height(), image.width());
  out.reserve(out.size() + static_cast<std::size_t>(bands) * count * data_type_size(type));
  const auto append_band = [&](const auto* values) {
    switch (type) {
      case DataType::kUInt8:
        return append_as<std::uint8_t>(out, values, count);
      case DataType::kInt8:
        return append_as<std::int8_t>(out, values, count);
      case DataType::kUInt16:
        return append_as<std::uint16_t>(out, values, count);
      case DataType::kInt16:
        return append_as<std::int16_t>(out, values, count);
      case DataType::kUInt32:
        return append_as<std::uint32_t>(out, values, count);
      case DataType::kInt32:
        return append_as<std::int32_t>(out, values, count);
      case DataType::kFloat32:
        return append_as<float>(out, values, count);
      case DataType::kFloat64:
        return append_as<double>(out, values, count);
    }
  };
  for (int band = 0; band < image.band_count(); ++band) {
    tiling::with_band_values(image, band, append_band);
  }
  if (add_mask) {
    append_band(image.mask());
  }
  return out;
}

// --- GDAL encoders -------------------------------------------------------------

// A /vsimem/ file that is gone when this goes out of scope, whatever happens.
class MemFile {
 public:
  explicit MemFile(std::string_view extension)
      : path_(fmt::format("/vsimem/tessera-render/{}.{}", next_id_.fetch_add(1), extension)) {}
  ~MemFile() { VSIUnlink(path_.c_str()); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  // The file's bytes; the file is removed.
  std::string take() {
    vsi_l_offset size = 0;
    std::unique_ptr<GByte, decltype(&VSIFree)> buffer(VSIGetMemFileBuffer(path_.c_str(), &size, TRUE), &VSIFree);
    if (!buffer) {
      throw Error(ErrorCode::kInternal, fmt::format("the encoder wrote nothing to {}", path_));
    }
    return {reinterpret_cast<const char*>(buffer.get()), static_cast<std::size_t>(size)};
  }

 private:
  static inline std::atomic<std::uint64_t> next_id_{0};
  std::string path_;
};

// A MEM dataset whose bands are views of buffers owned elsewhere, so nothing
// is copied; GDAL only reads them (CreateCopy), so const buffers are safe.
class MemDataset {
 public:
  MemDataset(int width, int height) : width_(width), height_(height) {
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("MEM");
    if (driver == nullptr) {
      throw Error(ErrorCode::kInternal, "GDAL has no MEM driver");
    }
    dataset_.reset(driver->Create("", width, height, 0, GDT_Byte, nullptr));
    if (!dataset_) {
      gdal::throw_last_error(ErrorCode::kInternal, "creating an in-memory dataset");
    }
  }

  void add_band(GDALDataType type, const void* values, GDALColorInterp interpretation) {
    const int size = GDALGetDataTypeSizeBytes(type);
    CPLStringList options;
    options.SetNameValue("DATAPOINTER", fmt::format("{}", values).c_str());
    options.SetNameValue("PIXELOFFSET", fmt::format("{}", size).c_str());
    options.SetNameValue("LINEOFFSET", fmt::format("{}", static_cast<std::int64_t>(size) * width_).c_str());
    if (dataset_->AddBand(type, options.List()) != CE_None) {
      gdal::throw_last_error(ErrorCode::kInternal, "adding a band to an in-memory dataset");
    }
    dataset_->GetRasterBand(dataset_->GetRasterCount())->SetColorInterpretation(interpretation);
  }

  // The mask as GDAL's per-dataset mask band (0 or 255).
  void set_mask(const std::uint8_t* mask) {
    if (dataset_->CreateMaskBand(GMF_PER_DATASET) != CE_None) {
      gdal::throw_last_error(ErrorCode::kInternal, "adding a mask to an in-memory dataset");
    }
    const std::size_t count = static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_);
    std::vector<std::uint8_t> binary(count);
    std::transform(mask, mask + count, binary.begin(), [](std::uint8_t m) { return m != 0 ? 255 : 0; });
    if (dataset_->GetRasterBand(1)->GetMaskBand()->RasterIO(GF_Write, 0, 0, width_, height_, binary.data(), width_,
                                                            height_, GDT_Byte, 0, 0, nullptr) != CE_None) {
      gdal::throw_last_error(ErrorCode::kInternal, "writing the mask of an in-memory dataset");
    }
  }

  // rasterio's from_bounds transform, and the CRS; left out when unknown
  // (or when the bounds are not west < east and south < north).
  void set_georeferencing(const ImageData& image) {
    const Bbox& box = image.bounds;
    if (box.maxx > box.minx && box.maxy > box.miny) {
      const double pixel_width = (box.maxx - box.minx) / width_;
      const double pixel_height = (box.maxy - box.miny) / height_;
      double transform[6] = {box.minx, pixel_width, 0, box.maxy, 0, -pixel_height};
      dataset_->SetGeoTransform(transform);
    }
    if (!image.crs_wkt.empty()) {
      OGRSpatialReference srs;
      if (srs.SetFromUserInput(image.crs_wkt.c_str(), OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS) !=
          OGRERR_NONE) {
        throw Error(ErrorCode::kInvalidInput, "the image's CRS is not a CRS GDAL understands");
      }
      dataset_->SetSpatialRef(&srs);
    }
  }

  [[nodiscard]] GDALDataset* get() const noexcept { return dataset_.get(); }

 private:
  int width_;
  int height_;
  GDALDatasetUniquePtr dataset_;
};

std::string encode_with_gdal(const ImageData& image, const FormatInfo& format, const RenderOptions& options) {
  const int bands = image.band_count();
  const bool uint8 = image.data_type() == DataType::kUInt8;
  const GDALDataType type = tiling::gdal_type(image.data_type());
  const bool gray_or_rgb = bands == 1 || bands == 3;
  const GDALColorInterp first_interpretation = bands == 1 ? GCI_GrayIndex : (bands == 3 ? GCI_RedBand : GCI_Undefined);
  const auto interpretation = [&](int band) {
    return gray_or_rgb ? static_cast<GDALColorInterp>(first_interpretation + band) : GCI_Undefined;
  };

  MemDataset source(image.width(), image.height());
  CPLStringList creation;
  switch (format.format) {
    case Format::kJpeg:
      for (int band = 0; band < bands; ++band) {
        source.add_band(type, image.band_data(band), interpretation(band));
      }
      break;
    case Format::kWebp:
      // WEBP holds RGB(A) only: a single band is repeated, as rio-tiler does.
      for (int band = 0; band < 3; ++band) {
        source.add_band(type, image.band_data(bands == 1 ? 0 : band), static_cast<GDALColorInterp>(GCI_RedBand + band));
      }
      break;
    case Format::kGtiff:
      for (int band = 0; band < bands; ++band) {
        source.add_band(type, image.band_data(band), uint8 ? interpretation(band) : GCI_Undefined);
      }
      source.set_georeferencing(image);
      break;
    case Format::kPng:
    case Format::kNpy:
      throw Error(ErrorCode::kInternal, fmt::format("{} is not encoded through GDAL", format.name));
  }

  if (options.add_mask) {
    switch (format.format) {
      case Format::kWebp:
        source.add_band(GDT_Byte, image.mask(), GCI_AlphaBand);
        break;
      case Format::kGtiff:
        // rio-tiler appends the mask (0/255) as an alpha band of the data type.
        // GDAL (and so rasterio) takes an alpha band as the mask only for uint8,
        // and for uint16 scaled down from 0-65535 (255 reads back as 1, nearly
        // transparent); other types get an internal mask, which every reader sees.
        if (uint8) {
          source.add_band(GDT_Byte, image.mask(), GCI_AlphaBand);
        } else {
          source.set_mask(image.mask());
        }
        break;
      case Format::kJpeg:  // rio-tiler drops the mask for JPEG
      case Format::kPng:
      case Format::kNpy:
        break;
    }
  }

  switch (format.format) {
    case Format::kJpeg:
      creation.SetNameValue("QUALITY", fmt::format("{}", options.jpeg_quality).c_str());
      break;
    case Format::kWebp:
      creation.SetNameValue("QUALITY", fmt::format("{}", options.webp_quality).c_str());
      break;
    case Format::kGtiff:
      if (image.data_type() == DataType::kInt8 && type == GDT_Byte) {
        creation.SetNameValue("PIXELTYPE", "SIGNEDBYTE");  // GDAL before 3.7 has no Int8 type
      }
      break;
    case Format::kPng:
    case Format::kNpy:
      break;
  }

  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(format.driver);
  if (driver == nullptr) {
    throw Error(ErrorCode::kUnsupported, fmt::format("this GDAL build has no {} driver", format.driver));
  }
  // Only the image itself is wanted: no .aux.xml beside it, and the GeoTIFF
  // mask inside the file rather than in a .msk one (GDAL < 3.9's default).
  const CPLConfigOptionSetter no_pam("GDAL_PAM_ENABLED", "NO", false);
  const CPLConfigOptionSetter internal_mask("GDAL_TIFF_INTERNAL_MASK", "YES", false);
  MemFile file(format.name);
  CPLErrorReset();
  GDALDatasetUniquePtr encoded(
      driver->CreateCopy(file.path().c_str(), source.get(), FALSE, creation.List(), nullptr, nullptr));
  if (!encoded) {
    gdal::throw_last_error(ErrorCode::kInternal,
                           fmt::format("encoding {} band(s) of {}x{} {} as {}", bands, image.width(), image.height(),
                                       data_type_name(image.data_type()), format.name));
  }
  encoded.reset();  // flushes the file
  return file.take();
}

}  // namespace

std::string render(const ImageData& image, const RenderOptions& options) {
  const FormatInfo& format = find_format(options.format);
  check_options(options, image);

  // TiTiler's order: rescale, then the colormap, then what the format needs.
  ImageData current = image;
  if (!options.rescale.empty()) {
    current = rescale_to_uint8(current, options.rescale);
  }
  std::optional<Colormap> palette;
  const Colormap* colormap = options.colormap ? &*options.colormap : nullptr;
  if (colormap == nullptr && options.use_palette && !current.palette.empty()) {
    palette = Colormap::from_palette(current.palette);
    colormap = &*palette;
  }
  if (colormap != nullptr) {
    current = colormap->apply(current);
  } else {
    // rio-tiler's ImageData.render: types the format cannot hold are rescaled
    // from the type's range (rio-tiler prefers the dataset statistics when a
    // reader attached them; ImageData carries none).
    const DataType type = current.data_type();
    const bool fits = type == DataType::kUInt8 || (format.format == Format::kPng && type == DataType::kUInt16);
    const bool needs_8_bits =
        format.format == Format::kPng || format.format == Format::kJpeg || format.format == Format::kWebp;
    if (needs_8_bits && !fits) {
      current = rescale_to_uint8(current, {type_range(type)});
    }
  }

  if (format.format == Format::kNpy) {
    return encode_npy(current, options.add_mask);
  }
  if (format.format != Format::kGtiff && current.band_count() != 1 && current.band_count() != 3) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{} takes 1 or 3 bands (gray or RGB), but the image has {}; select bands or "
                            "use an expression, or render as tif or npy",
                            format.name, current.band_count()));
  }
  if (format.format == Format::kPng) {
    return tiling::encode_png(current, options.add_mask);
  }
  gdal::ensure_initialized();
  return encode_with_gdal(current, format, options);
}

std::string_view render_media_type(std::string_view format) { return find_format(format).media_type; }

std::vector<std::string> render_format_names() {
  std::vector<std::string> names;
  for (const auto& info : kFormats) {
    names.emplace_back(info.name);
  }
  return names;
}

}  // namespace tessera
