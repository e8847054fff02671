// Colormaps and image rendering, checked against rio-tiler's behaviour (the
// expected numbers in the rio-tiler tests come from rio-tiler 7.9.6).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <cpl_vsi.h>
#include <fmt/format.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include "tessera/colormap.hpp"
#include "tessera/environment.hpp"
#include "tessera/render.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::Colormap;
using tessera::DataType;
using tessera::ErrorCode;
using tessera::ImageData;
using tessera::PaletteEntry;
using tessera::RenderOptions;
using tessera::testing::expect_error;

namespace {

// A one-row image of `values` (band after band), every pixel valid unless `mask` says otherwise.
template <typename T>
ImageData row_image(DataType type, int bands, const std::vector<T>& values,
                    const std::vector<std::uint8_t>& mask = {}) {
  const int width = static_cast<int>(values.size()) / bands;
  ImageData image(type, bands, 1, width);
  std::memcpy(image.band_data(0), values.data(), values.size() * sizeof(T));
  for (int i = 0; i < width; ++i) {
    image.mask()[i] = mask.empty() ? 255 : mask[static_cast<std::size_t>(i)];
  }
  return image;
}

std::vector<int> rgba(const PaletteEntry& color) { return {color.r, color.g, color.b, color.a}; }

// Encoded bytes opened with GDAL from /vsimem.
class Decoded {
 public:
  explicit Decoded(std::string bytes) : bytes_(std::move(bytes)) {
    static std::atomic<int> next{0};
    path_ = fmt::format("/vsimem/test_render/{}", next++);
    GDALAllRegister();
    VSIFCloseL(VSIFileFromMemBuffer(path_.c_str(), reinterpret_cast<GByte*>(bytes_.data()), bytes_.size(), FALSE));
    dataset_.reset(GDALDataset::Open(path_.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  }
  ~Decoded() {
    dataset_.reset();
    VSIUnlink(path_.c_str());
  }
  Decoded(const Decoded&) = delete;
  Decoded& operator=(const Decoded&) = delete;

  GDALDataset& dataset() { return *dataset_; }
  [[nodiscard]] bool ok() const { return dataset_ != nullptr; }
  [[nodiscard]] std::string driver() const { return dataset_->GetDriver()->GetDescription(); }
  int bands() { return dataset_->GetRasterCount(); }

  // Band `band` (1-based) as doubles.
  std::vector<double> band(int band) {
    std::vector<double> values(static_cast<std::size_t>(dataset_->GetRasterXSize()) * dataset_->GetRasterYSize());
    EXPECT_EQ(dataset_->GetRasterBand(band)->RasterIO(
                  GF_Read, 0, 0, dataset_->GetRasterXSize(), dataset_->GetRasterYSize(), values.data(),
                  dataset_->GetRasterXSize(), dataset_->GetRasterYSize(), GDT_Float64, 0, 0, nullptr),
              CE_None);
    return values;
  }
  // GDAL's mask of band 1 (0 or 255), whatever carries it.
  std::vector<double> mask() {
    std::vector<double> values(static_cast<std::size_t>(dataset_->GetRasterXSize()) * dataset_->GetRasterYSize());
    EXPECT_EQ(dataset_->GetRasterBand(1)->GetMaskBand()->RasterIO(
                  GF_Read, 0, 0, dataset_->GetRasterXSize(), dataset_->GetRasterYSize(), values.data(),
                  dataset_->GetRasterXSize(), dataset_->GetRasterYSize(), GDT_Float64, 0, 0, nullptr),
              CE_None);
    return values;
  }

 private:
  std::string bytes_;
  std::string path_;
  GDALDatasetUniquePtr dataset_;
};

std::string render_as(const ImageData& image, const std::string& format, RenderOptions options = {}) {
  options.format = format;
  return tessera::render(image, options);
}

// A parsed .npy file (format 1.0).
struct Npy {
  std::string header;  // the dict text, padding included
  std::string data;
};

Npy parse_npy(const std::string& bytes) {
  EXPECT_GE(bytes.size(), 10U);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + length) % 64, 0U);
  EXPECT_EQ(bytes[10 + length - 1], '\n');
  return {bytes.substr(10, length), bytes.substr(10 + length)};
}

template <typename T>
std::vector<T> npy_values(const Npy& npy) {
  std::vector<T> values(npy.data.size() / sizeof(T));
  std::memcpy(values.data(), npy.data.data(), values.size() * sizeof(T));
  return values;
}

}  // namespace

// --- named colormaps ------------------------------------------------------------

TEST(Colormap, NamesIncludeRioTilersCommonMapsAndTheirReverses) {
  const auto names = Colormap::names();
  for (const std::string name :
       {"viridis", "plasma", "inferno", "magma", "cividis", "greys", "terrain", "rdylgn", "spectral"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_NE(std::find(names.begin(), names.end(), name + "_r"), names.end()) << name;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(Colormap, NamedTablesMatchRioTiler) {
  const Colormap viridis = Colormap::named("viridis");
  EXPECT_EQ(viridis.kind(), Colormap::Kind::kTable);
  ASSERT_EQ(viridis.entries().size(), 256U);
  // rio-tiler: apply_cmap([0, 1, 2, 127, 128, 255], cmap.get("viridis")).
  EXPECT_EQ(rgba(viridis.entries()[0].color), (std::vector<int>{68, 1, 84, 255}));
  EXPECT_EQ(rgba(viridis.entries()[1].color), (std::vector<int>{68, 2, 85, 255}));
  EXPECT_EQ(rgba(viridis.entries()[127].color), (std::vector<int>{32, 143, 140, 255}));
  EXPECT_EQ(rgba(viridis.entries()[255].color), (std::vector<int>{253, 231, 36, 255}));
  const Colormap terrain_r = Colormap::named("terrain_r");
  EXPECT_EQ(rgba(terrain_r.entries()[1].color), (std::vector<int>{253, 252, 252, 255}));
  EXPECT_EQ(rgba(terrain_r.entries()[128].color), (std::vector<int>{253, 254, 152, 255}));
  EXPECT_EQ(rgba(terrain_r.entries()[255].color), (std::vector<int>{51, 51, 153, 255}));
}

TEST(Colormap, NamesAreCaseInsensitiveAndUnknownOnesAreRejected) {
  EXPECT_EQ(Colormap::named("VIRIDIS").to_json(), Colormap::named("viridis").to_json());
  EXPECT_EQ(Colormap::named("RdYlGn_R").to_json(), Colormap::named("rdylgn_r").to_json());
  expect_error([] { (void)Colormap::named("nope"); }, ErrorCode::kInvalidInput, "unknown colormap 'nope'");
}

TEST(Colormap, ReversedMapsAreTheReverse) {
  for (const auto& name : Colormap::names()) {
    if (name.ends_with("_r")) {
      continue;
    }
    const auto forward = Colormap::named(name).entries();
    const auto reversed = Colormap::named(name + "_r").entries();
    // rio-tiler sampled matplotlib's reversed maps, which for segmented maps
    // (terrain, rdylgn, ...) round a few channels differently by 1.
    for (std::size_t i = 0; i < 256; ++i) {
      const auto a = rgba(forward[255 - i].color);
      const auto b = rgba(reversed[i].color);
      for (std::size_t c = 0; c < 4; ++c) {
        EXPECT_LE(std::abs(a[c] - b[c]), 1) << name << " entry " << i;
      }
    }
  }
  // Listed maps reverse exactly.
  const auto viridis = Colormap::named("viridis").entries();
  const auto viridis_r = Colormap::named("viridis_r").entries();
  for (std::size_t i = 0; i < 256; ++i) {
    EXPECT_EQ(rgba(viridis[255 - i].color), rgba(viridis_r[i].color));
  }
}

// --- user colormaps ---------------------------------------------------------------

TEST(Colormap, FromJsonWith256ValuesIsATable) {
  json object = json::object();
  for (int i = 0; i < 256; ++i) {
    object[std::to_string(i)] = {i, 255 - i, 0};
  }
  const Colormap colormap = Colormap::from_json(object);
  EXPECT_EQ(colormap.kind(), Colormap::Kind::kTable);
  EXPECT_EQ(rgba(colormap.entries()[10].color), (std::vector<int>{10, 245, 0, 255}));
  EXPECT_EQ(Colormap::from_json(colormap.to_json()).to_json(), colormap.to_json());

  // 256 values that are not 0..255 are discrete, as in rio-tiler.
  object.erase("0");
  object["-1"] = {1, 2, 3};
  EXPECT_EQ(Colormap::from_json(object).kind(), Colormap::Kind::kDiscrete);
}

TEST(Colormap, DiscreteValuesAreLookedUpExactly) {
  const Colormap colormap = Colormap::from_json(
      json::parse(R"({"-1": [255, 0, 0], "0.5": [0, 255, 0, 128], "3": "#00f", "1000": "#01020304"})"));
  EXPECT_EQ(colormap.kind(), Colormap::Kind::kDiscrete);
  ASSERT_EQ(colormap.entries().size(), 4U);
  EXPECT_EQ(colormap.entries()[0].value, -1);
  EXPECT_EQ(rgba(colormap.entries()[2].color), (std::vector<int>{0, 0, 255, 255}));
  EXPECT_EQ(rgba(colormap.entries()[3].color), (std::vector<int>{1, 2, 3, 4}));

  const float nan = std::numeric_limits<float>::quiet_NaN();
  const ImageData rgb =
      colormap.apply(row_image<float>(DataType::kFloat32, 1, {-1.0F, 0.5F, 0.25F, 3.0F, nan, 1000.0F}));
  ASSERT_EQ(rgb.band_count(), 3);
  EXPECT_EQ(rgb.data_type(), DataType::kUInt8);
  const std::vector<int> red(rgb.band<std::uint8_t>(0), rgb.band<std::uint8_t>(0) + 6);
  const std::vector<int> green(rgb.band<std::uint8_t>(1), rgb.band<std::uint8_t>(1) + 6);
  const std::vector<int> blue(rgb.band<std::uint8_t>(2), rgb.band<std::uint8_t>(2) + 6);
  const std::vector<int> alpha(rgb.mask(), rgb.mask() + 6);
  EXPECT_EQ(red, (std::vector<int>{255, 0, 0, 0, 0, 1}));
  EXPECT_EQ(green, (std::vector<int>{0, 255, 0, 0, 0, 2}));
  EXPECT_EQ(blue, (std::vector<int>{0, 0, 0, 255, 0, 3}));
  EXPECT_EQ(alpha, (std::vector<int>{255, 128, 0, 255, 0, 4}));  // absent values and NaN are transparent

  const ImageData from_ints = colormap.apply(row_image<std::int16_t>(DataType::kInt16, 1, {-1, 0, 3}));
  EXPECT_EQ(std::vector<int>(from_ints.mask(), from_ints.mask() + 3), (std::vector<int>{255, 0, 255}));
}

TEST(Colormap, IntervalsIncludeMinExcludeMaxAndLaterOnesWin) {
  const Colormap colormap = Colormap::from_json(
      json::parse(R"([[[0, 10], [255, 0, 0]], [[10, 20], [0, 255, 0, 128]], [[15, 16.5], [0, 0, 255, 255]]])"));
  EXPECT_EQ(colormap.kind(), Colormap::Kind::kIntervals);
  ASSERT_EQ(colormap.intervals().size(), 3U);
  EXPECT_EQ(colormap.intervals()[2].max, 16.5);
  const ImageData rgb =
      colormap.apply(row_image<double>(DataType::kFloat64, 1, {-0.1, 0, 9.999, 10, 15.5, 16.5, 20, 25}));
  const std::vector<int> red(rgb.band<std::uint8_t>(0), rgb.band<std::uint8_t>(0) + 8);
  const std::vector<int> blue(rgb.band<std::uint8_t>(2), rgb.band<std::uint8_t>(2) + 8);
  const std::vector<int> alpha(rgb.mask(), rgb.mask() + 8);
  EXPECT_EQ(red, (std::vector<int>{0, 255, 255, 0, 0, 0, 0, 0}));
  EXPECT_EQ(blue, (std::vector<int>{0, 0, 0, 0, 255, 0, 0, 0}));
  EXPECT_EQ(alpha, (std::vector<int>{0, 255, 255, 128, 255, 128, 0, 0}));
  EXPECT_EQ(Colormap::from_json(colormap.to_json()).to_json(), colormap.to_json());
  EXPECT_EQ(colormap.to_json()[2], json::parse("[[15.0, 16.5], [0, 0, 255, 255]]"));
}

TEST(Colormap, ToJsonRoundTripsDiscreteKeys) {
  const Colormap colormap = Colormap::from_json(json::parse(R"({"-2": [1, 2, 3], "0.1": [4, 5, 6, 7]})"));
  const json expected = json::parse(R"({"-2": [1, 2, 3, 255], "0.1": [4, 5, 6, 7]})");
  EXPECT_EQ(colormap.to_json(), expected);
  EXPECT_EQ(Colormap::from_json(expected).to_json(), expected);
}

TEST(Colormap, BadJsonIsRejectedWithWhereAndWhat) {
  const auto rejects = [](const char* text, const std::string& fragment) {
    expect_error([&] { (void)Colormap::from_json(json::parse(text)); }, ErrorCode::kInvalidInput, fragment);
  };
  rejects(R"("viridis")", "JSON object");
  rejects(R"({})", "colormap is empty");
  rejects(R"([])", "colormap is empty");
  rejects(R"({"abc": [1, 2, 3]})", "colormap[\"abc\"]: the key 'abc' is not a finite number");
  rejects(R"({"nan": [1, 2, 3]})", "not a finite number");
  rejects(R"({"1": [1, 2]})", "colormap[\"1\"]: a colour is [r, g, b]");
  rejects(R"({"1": [1, 2, 300]})", "colormap[\"1\"]: colour component 3 is 300");
  rejects(R"({"1": [1, 2, 3.5]})", "component 3 is 3.5");
  rejects(R"({"1": [1, "x", 3]})", "component 2");
  rejects(R"({"1": "#12"})", "colour '#12' is not #rgb");
  rejects(R"({"1": "red"})", "colour 'red'");
  rejects(R"({"1": [1, 2, 3], "1.0": [1, 2, 3]})", "two keys are the value 1");
  rejects(R"([[0, 1, 2]])", "colormap[0]: an interval entry is [[min, max], colour]");
  rejects(R"([[0, 1]])", "colormap[0][0]: an interval is [min, max] (numbers), got 0");
  rejects(R"([[[0, 1], [1, 2, 3]], [[0], [1, 2, 3]]])", "colormap[1][0]: an interval is [min, max]");
  rejects(R"([[[2, 1], [1, 2, 3]]])", "colormap[0][0]: interval [2, 1] is empty");
  rejects(R"([[[0, 1], [1, 2, -3]]])", "colormap[0][1]: colour component 3 is -3");
}

TEST(Colormap, FromPaletteIsATableOnlyWith256Entries) {
  const Colormap small = Colormap::from_palette({{1, 2, 3, 255}, {4, 5, 6, 0}});
  EXPECT_EQ(small.kind(), Colormap::Kind::kDiscrete);
  EXPECT_EQ(small.to_json(), json::parse(R"({"0": [1, 2, 3, 255], "1": [4, 5, 6, 0]})"));
  const ImageData rgb = small.apply(row_image<std::uint8_t>(DataType::kUInt8, 1, {0, 1, 2}));
  EXPECT_EQ(std::vector<int>(rgb.band<std::uint8_t>(0), rgb.band<std::uint8_t>(0) + 3), (std::vector<int>{1, 4, 0}));
  EXPECT_EQ(std::vector<int>(rgb.mask(), rgb.mask() + 3), (std::vector<int>{255, 0, 0}));

  EXPECT_EQ(Colormap::from_palette(std::vector<PaletteEntry>(256)).kind(), Colormap::Kind::kTable);
  expect_error([] { (void)Colormap::from_palette({}); }, ErrorCode::kInvalidInput, "palette is empty");
}

TEST(Colormap, ApplyCombinesAlphaWithTheMaskAndKeepsGeoreferencing) {
  const Colormap colormap = Colormap::from_json(json::parse(R"({"1": [10, 20, 30, 255], "2": [40, 50, 60, 100]})"));
  ImageData image = row_image<std::uint8_t>(DataType::kUInt8, 1, {1, 1, 2, 2}, {255, 0, 255, 0});
  image.bounds = {0, 0, 4, 1};
  image.crs_wkt = "EPSG:4326";
  const ImageData rgb = colormap.apply(image);
  EXPECT_EQ(std::vector<int>(rgb.mask(), rgb.mask() + 4), (std::vector<int>{255, 0, 100, 0}));
  EXPECT_EQ(std::vector<int>(rgb.band<std::uint8_t>(0), rgb.band<std::uint8_t>(0) + 4),
            (std::vector<int>{10, 10, 40, 40}));  // colours are kept under the mask, as in rio-tiler
  EXPECT_EQ(rgb.bounds.maxx, 4);
  EXPECT_EQ(rgb.crs_wkt, "EPSG:4326");
  EXPECT_EQ(rgb.band_names, (std::vector<std::string>{"b1", "b2", "b3"}));

  expect_error([&] { (void)colormap.apply(ImageData(DataType::kUInt8, 2, 1, 1)); }, ErrorCode::kInvalidInput,
               "single band, but the image has 2");
}

TEST(Colormap, TablesIndexOtherTypesAfterNumpysUint8Cast) {
  const Colormap grey = Colormap::from_palette([] {
    std::vector<PaletteEntry> palette(256);
    for (int i = 0; i < 256; ++i) {
      palette[static_cast<std::size_t>(i)] = {static_cast<std::uint8_t>(i), 0, 0, 255};
    }
    return palette;
  }());
  const ImageData ints = grey.apply(row_image<std::int16_t>(DataType::kInt16, 1, {300, -1, 5}));
  EXPECT_EQ(std::vector<int>(ints.band<std::uint8_t>(0), ints.band<std::uint8_t>(0) + 3),
            (std::vector<int>{44, 255, 5}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const ImageData floats = grey.apply(row_image<float>(DataType::kFloat32, 1, {3.7F, -1.7F, 300.7F, nan, 3e9F}));
  EXPECT_EQ(std::vector<int>(floats.band<std::uint8_t>(0), floats.band<std::uint8_t>(0) + 5),
            (std::vector<int>{3, 255, 44, 0, 0}));
}

// --- render: formats --------------------------------------------------------------

TEST(Render, PngOfOneUint8BandIsGreyWithTheMaskAsAlpha) {
  const ImageData image = row_image<std::uint8_t>(DataType::kUInt8, 1, {0, 10, 200, 255}, {255, 0, 255, 255});
  Decoded png(tessera::render(image));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.driver(), "PNG");
  EXPECT_EQ(png.dataset().GetRasterXSize(), 4);
  EXPECT_EQ(png.dataset().GetRasterYSize(), 1);
  ASSERT_EQ(png.bands(), 2);
  EXPECT_EQ(png.dataset().GetRasterBand(2)->GetColorInterpretation(), GCI_AlphaBand);
  EXPECT_EQ(png.band(1), (std::vector<double>{0, 10, 200, 255}));
  EXPECT_EQ(png.band(2), (std::vector<double>{255, 0, 255, 255}));

  RenderOptions no_mask;
  no_mask.add_mask = false;
  Decoded raw(render_as(image, "PNG", no_mask));
  EXPECT_EQ(raw.bands(), 1);
}

TEST(Render, PngOfThreeBandsIsRgba) {
  const ImageData image = row_image<std::uint8_t>(DataType::kUInt8, 3, {1, 2, 3, 4, 5, 6}, {255, 0});
  Decoded png(render_as(image, "png"));
  ASSERT_EQ(png.bands(), 4);
  EXPECT_EQ(png.band(1), (std::vector<double>{1, 2}));
  EXPECT_EQ(png.band(3), (std::vector<double>{5, 6}));
  EXPECT_EQ(png.band(4), (std::vector<double>{255, 0}));
  EXPECT_EQ(png.mask(), (std::vector<double>{255, 0}));
}

TEST(Render, PngKeepsUint16AndScalesTheAlphaToIt) {
  // rio-tiler: PNG of uint16 [0, 100, 1000, 2500, 65535] with pixel 2 masked.
  const ImageData image =
      row_image<std::uint16_t>(DataType::kUInt16, 1, {0, 100, 1000, 2500, 65535}, {255, 0, 255, 255, 255});
  Decoded png(render_as(image, "png"));
  ASSERT_EQ(png.bands(), 2);
  EXPECT_EQ(png.dataset().GetRasterBand(1)->GetRasterDataType(), GDT_UInt16);
  EXPECT_EQ(png.band(1), (std::vector<double>{0, 100, 1000, 2500, 65535}));
  EXPECT_EQ(png.band(2), (std::vector<double>{65535, 0, 65535, 65535, 65535}));
}

// rasterio's dtype ranges, which render() rescales types PNG cannot hold from.
std::pair<double, double> range_of(DataType type) {
  switch (type) {
    case DataType::kInt8:
      return {-128, 127};
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
    case DataType::kUInt16:
      return {0, 65535};
    case DataType::kUInt8:
      break;
  }
  return {0, 255};
}

// A `width` x `height` image of `type` whose every sample differs from its
// neighbours (spread over the type's range, a smaller one for floats), with
// a mask of 0, 128 and 255.
ImageData varied_image(DataType type, int bands, int width, int height) {
  ImageData image(type, bands, height, width);
  const auto [low, high] =
      type == DataType::kFloat32 || type == DataType::kFloat64 ? std::pair{-1e4, 1e4} : range_of(type);
  for (int b = 0; b < bands; ++b) {
    for (std::size_t p = 0; p < image.pixel_count(); ++p) {
      const double value =
          low + (high - low) * static_cast<double>((p * 37 + static_cast<std::size_t>(b) * 101) % 1000) / 999;
      switch (type) {
        case DataType::kUInt8:
          image.band<std::uint8_t>(b)[p] = static_cast<std::uint8_t>(value);
          break;
        case DataType::kInt8:
          image.band<std::int8_t>(b)[p] = static_cast<std::int8_t>(value);
          break;
        case DataType::kUInt16:
          image.band<std::uint16_t>(b)[p] = static_cast<std::uint16_t>(value);
          break;
        case DataType::kInt16:
          image.band<std::int16_t>(b)[p] = static_cast<std::int16_t>(value);
          break;
        case DataType::kUInt32:
          image.band<std::uint32_t>(b)[p] = static_cast<std::uint32_t>(value);
          break;
        case DataType::kInt32:
          image.band<std::int32_t>(b)[p] = static_cast<std::int32_t>(value);
          break;
        case DataType::kFloat32:
          image.band<float>(b)[p] = static_cast<float>(value);
          break;
        case DataType::kFloat64:
          image.band<double>(b)[p] = value;
          break;
      }
    }
  }
  for (std::size_t p = 0; p < image.pixel_count(); ++p) {
    image.mask()[p] = p % 7 == 0 ? 0 : (p % 11 == 0 ? 128 : 255);
  }
  return image;
}

// The PNG written by tessera (libdeflate) decodes, with GDAL's libpng, to the
// pixels the image holds: every type render() takes (uint8 and uint16 kept,
// the others rescaled to uint8 as a GeoTIFF of the explicit rescale shows),
// one or three bands, with and without the mask as alpha.
TEST(Render, PngDecodesToTheSamePixelsForEveryTypeAndBandCount) {
  for (const DataType type : {DataType::kUInt8, DataType::kInt8, DataType::kUInt16, DataType::kInt16, DataType::kUInt32,
                              DataType::kInt32, DataType::kFloat32, DataType::kFloat64}) {
    for (const int bands : {1, 3}) {
      for (const bool add_mask : {true, false}) {
        SCOPED_TRACE(fmt::format("{} band(s) of {}, mask {}", bands, tessera::data_type_name(type), add_mask));
        const ImageData image = varied_image(type, bands, 37, 23);
        RenderOptions options;
        options.add_mask = add_mask;
        Decoded png(render_as(image, "png", options));
        ASSERT_TRUE(png.ok());
        ASSERT_EQ(png.bands(), bands + (add_mask ? 1 : 0));
        const bool wide = type == DataType::kUInt16;
        EXPECT_EQ(png.dataset().GetRasterBand(1)->GetRasterDataType(), wide ? GDT_UInt16 : GDT_Byte);
        const bool native = type == DataType::kUInt8 || wide;
        RenderOptions rescaled;
        rescaled.rescale = {range_of(type)};
        rescaled.add_mask = false;
        Decoded expected(render_as(image, "tif", native ? RenderOptions{} : rescaled));
        for (int b = 1; b <= bands; ++b) {
          EXPECT_EQ(png.band(b), expected.band(b)) << "band " << b;
        }
        if (add_mask) {
          std::vector<double> alpha;
          for (std::size_t p = 0; p < image.pixel_count(); ++p) {
            alpha.push_back(wide ? std::floor(image.mask()[p] / 255.0 * 65535.0) : image.mask()[p]);
          }
          EXPECT_EQ(png.band(bands + 1), alpha);
          EXPECT_EQ(png.dataset().GetRasterBand(bands + 1)->GetColorInterpretation(), GCI_AlphaBand);
        }
      }
    }
  }
}

// Odd shapes round-trip; the encoder's memory is bounded by the request
// budget, checked before it allocates.
TEST(Render, PngOfOddShapesAndBeyondTheBudget) {
  for (const auto& [width, height] : {std::pair{1, 1}, std::pair{4099, 1}, std::pair{1, 4099}, std::pair{257, 3}}) {
    const ImageData image = varied_image(DataType::kUInt16, 3, width, height);
    Decoded png(render_as(image, "png"));
    ASSERT_TRUE(png.ok()) << width << "x" << height;
    EXPECT_EQ(png.dataset().GetRasterXSize(), width);
    EXPECT_EQ(png.dataset().GetRasterYSize(), height);
    const std::vector<double> first = png.band(1);
    EXPECT_EQ(first.back(), image.band<std::uint16_t>(0)[image.pixel_count() - 1]);
  }
  tessera::ReaderConfig budget = tessera::reader_config();
  budget.max_request_values = 64 * 64 * 4 - 1;
  tessera::configure(budget);
  const ImageData rgb = varied_image(DataType::kUInt8, 3, 64, 64);
  expect_error([&] { (void)render_as(rgb, "png"); }, ErrorCode::kInvalidInput, "max_request_values");
  RenderOptions no_mask;
  no_mask.add_mask = false;
  EXPECT_TRUE(Decoded(render_as(rgb, "png", no_mask)).ok());  // 3 values a pixel fit
  tessera::configure(tessera::ReaderConfig{});
}

TEST(Render, JpegHasNoAlphaAndHonoursTheQuality) {
  ImageData image(DataType::kUInt8, 3, 16, 16);
  for (int band = 0; band < 3; ++band) {
    std::memset(image.band_data(band), 60 * (band + 1), image.pixel_count());
  }
  std::memset(image.mask(), 255, image.pixel_count());
  for (const std::string format : {"jpeg", "jpg", "JPEG"}) {
    Decoded jpeg(render_as(image, format));
    ASSERT_TRUE(jpeg.ok()) << format;
    EXPECT_EQ(jpeg.driver(), "JPEG");
    ASSERT_EQ(jpeg.bands(), 3);
    EXPECT_NEAR(jpeg.band(1)[0], 60, 2);
    EXPECT_NEAR(jpeg.band(3)[100], 180, 2);
  }
  // A noisy image, so that the quality changes the size.
  for (std::size_t i = 0; i < image.pixel_count(); ++i) {
    image.band<std::uint8_t>(0)[i] = static_cast<std::uint8_t>(i * 37 % 251);
  }
  RenderOptions low;
  low.jpeg_quality = 10;
  RenderOptions high;
  high.jpeg_quality = 100;
  EXPECT_LT(render_as(image, "jpeg", low).size(), render_as(image, "jpeg", high).size());
}

TEST(Render, WebpRepeatsOneBandAsRgbAndAddsAlpha) {
  ImageData image(DataType::kUInt8, 1, 16, 16);
  std::memset(image.band_data(0), 90, image.pixel_count());
  std::memset(image.mask(), 255, image.pixel_count() / 2);
  Decoded webp(render_as(image, "webp"));
  ASSERT_TRUE(webp.ok());
  EXPECT_EQ(webp.driver(), "WEBP");
  ASSERT_EQ(webp.bands(), 4);
  EXPECT_NEAR(webp.band(1)[0], 90, 3);
  EXPECT_NEAR(webp.band(3)[0], 90, 3);
  const auto alpha = webp.band(4);
  EXPECT_EQ(alpha[0], 255);
  EXPECT_EQ(alpha[image.pixel_count() - 1], 0);

  RenderOptions no_mask;
  no_mask.add_mask = false;
  EXPECT_EQ(Decoded(render_as(image, "webp", no_mask)).bands(), 3);
}

TEST(Render, GeoTiffOfUint8HasAnAlphaBandAndTheGeoreferencing) {
  ImageData image = row_image<std::uint8_t>(DataType::kUInt8, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {255, 0, 255});
  image.bounds = {10, 40, 13, 41};
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  char* wkt = nullptr;
  wgs84.exportToWkt(&wkt);
  image.crs_wkt = wkt;
  CPLFree(wkt);

  for (const std::string format : {"tif", "gtiff", "GTiff"}) {
    Decoded tiff(render_as(image, format));
    ASSERT_TRUE(tiff.ok()) << format;
    EXPECT_EQ(tiff.driver(), "GTiff");
    ASSERT_EQ(tiff.bands(), 4);
    EXPECT_EQ(tiff.dataset().GetRasterBand(1)->GetColorInterpretation(), GCI_RedBand);
    EXPECT_EQ(tiff.dataset().GetRasterBand(4)->GetColorInterpretation(), GCI_AlphaBand);
    EXPECT_EQ(tiff.band(2), (std::vector<double>{4, 5, 6}));
    EXPECT_EQ(tiff.band(4), (std::vector<double>{255, 0, 255}));
    EXPECT_EQ(tiff.mask(), (std::vector<double>{255, 0, 255}));
    double transform[6];
    ASSERT_EQ(tiff.dataset().GetGeoTransform(transform), CE_None);
    EXPECT_DOUBLE_EQ(transform[0], 10);
    EXPECT_DOUBLE_EQ(transform[1], 1);
    EXPECT_DOUBLE_EQ(transform[3], 41);
    EXPECT_DOUBLE_EQ(transform[5], -1);
    ASSERT_NE(tiff.dataset().GetSpatialRef(), nullptr);
    EXPECT_STREQ(tiff.dataset().GetSpatialRef()->GetAuthorityCode(nullptr), "4326");
  }
}

TEST(Render, GeoTiffKeepsOtherTypesWithAnInternalMask) {
  ImageData image = row_image<float>(DataType::kFloat32, 2, {1.5F, -2.25F, 1e30F, 4, 5, 6}, {255, 0, 255});
  image.bounds = {0, 0, 300, 100};
  image.crs_wkt = "EPSG:3857";
  const std::string bytes = render_as(image, "tif");
  Decoded tiff(bytes);
  ASSERT_EQ(tiff.bands(), 2);
  EXPECT_EQ(tiff.dataset().GetRasterBand(1)->GetRasterDataType(), GDT_Float32);
  EXPECT_EQ(tiff.band(1), (std::vector<double>{1.5, -2.25, static_cast<double>(1e30F)}));
  EXPECT_EQ(tiff.band(2), (std::vector<double>{4, 5, 6}));
  EXPECT_EQ(tiff.dataset().GetRasterBand(1)->GetMaskFlags(), GMF_PER_DATASET);
  EXPECT_EQ(tiff.mask(), (std::vector<double>{255, 0, 255}));
  double transform[6];
  ASSERT_EQ(tiff.dataset().GetGeoTransform(transform), CE_None);
  EXPECT_DOUBLE_EQ(transform[1], 100);
  EXPECT_STREQ(tiff.dataset().GetSpatialRef()->GetAuthorityCode(nullptr), "3857");

  // Signed bytes stay signed.
  Decoded int8(render_as(row_image<std::int8_t>(DataType::kInt8, 1, {-5, 7}), "tif"));
  ASSERT_EQ(int8.bands(), 1);
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 7, 0)
  EXPECT_EQ(int8.band(1), (std::vector<double>{-5, 7}));
#else
  EXPECT_STREQ(int8.dataset().GetRasterBand(1)->GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE"), "SIGNEDBYTE");
#endif
  EXPECT_EQ(int8.mask(), (std::vector<double>{255, 255}));

  // No georeferencing when the image has none.
  Decoded plain(render_as(row_image<std::uint16_t>(DataType::kUInt16, 1, {1, 2}), "tif"));
  double unused[6];
  EXPECT_NE(plain.dataset().GetGeoTransform(unused), CE_None);
  EXPECT_EQ(plain.dataset().GetSpatialRef(), nullptr);
}

TEST(Render, NpyIsNumpySaveOfTheBandsAndTheMask) {
  const ImageData image = row_image<float>(DataType::kFloat32, 2, {1.5F, 2, 3, 4, 5, 6}, {255, 0, 255});
  const Npy npy = parse_npy(render_as(image, "NPY"));
  // numpy.save(numpy.zeros((3, 1, 3), "float32")), padding included.
  EXPECT_EQ(npy.header, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 3), }" + std::string(55, ' ') + "\n");
  EXPECT_EQ(npy_values<float>(npy), (std::vector<float>{1.5F, 2, 3, 4, 5, 6, 255, 0, 255}));

  RenderOptions no_mask;
  no_mask.add_mask = false;
  const Npy data_only = parse_npy(render_as(image, "npy", no_mask));
  EXPECT_NE(data_only.header.find("'shape': (2, 1, 3)"), std::string::npos);
  EXPECT_EQ(npy_values<float>(data_only).size(), 6U);

  // numpy promotes int8 and the uint8 mask to int16.
  const Npy int8 = parse_npy(render_as(row_image<std::int8_t>(DataType::kInt8, 1, {-5, 7}), "npy"));
  EXPECT_NE(int8.header.find("'descr': '<i2'"), std::string::npos);
  EXPECT_EQ(npy_values<std::int16_t>(int8), (std::vector<std::int16_t>{-5, 7, 255, 255}));

  const Npy bytes = parse_npy(render_as(row_image<std::uint8_t>(DataType::kUInt8, 1, {9}), "npy"));
  EXPECT_NE(bytes.header.find("'descr': '|u1'"), std::string::npos);
  EXPECT_EQ(bytes.data, std::string("\x09\xff", 2));
}

// --- render: rescale and type conversion ----------------------------------------------

TEST(Render, RescaleClipsAndTruncatesLikeRioTiler) {
  // rio-tiler: ImageData(float32 values).rescale(in_range=((0, 1),)).
  const std::vector<float> values = {0.2F, 0.6F, 1.0F / 3, 0.999F, -0.5F, 1.5F, 0.1F, 0.7F};
  RenderOptions options;
  options.rescale = {{0, 1}};
  const Npy npy = parse_npy(render_as(row_image<float>(DataType::kFloat32, 1, values), "npy", options));
  EXPECT_NE(npy.header.find("'descr': '|u1'"), std::string::npos);
  const auto out = npy_values<std::uint8_t>(npy);
  EXPECT_EQ(std::vector<int>(out.begin(), out.begin() + 8), (std::vector<int>{51, 153, 85, 254, 0, 255, 25, 178}));
}

TEST(Render, RescaleTakesOneRangeOrOnePerBandAndZeroesNoData) {
  const ImageData image =
      row_image<std::int16_t>(DataType::kInt16, 3, {0, 50, 100, 0, 50, 100, -10, 0, 10}, {255, 255, 0});
  RenderOptions one;
  one.rescale = {{0, 100}};
  Decoded shared(render_as(image, "png", one));
  ASSERT_EQ(shared.bands(), 4);
  EXPECT_EQ(shared.band(1), (std::vector<double>{0, 127, 0}));  // masked -> 0
  EXPECT_EQ(shared.band(3), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(shared.band(4), (std::vector<double>{255, 255, 0}));

  RenderOptions per_band;
  per_band.rescale = {{0, 100}, {0, 50}, {-10, 10}};
  Decoded separate(render_as(image, "png", per_band));
  EXPECT_EQ(separate.band(2), (std::vector<double>{0, 255, 0}));
  EXPECT_EQ(separate.band(3), (std::vector<double>{0, 127, 0}));

  RenderOptions wrong;
  wrong.rescale = {{0, 1}, {0, 1}};
  expect_error([&] { (void)render_as(image, "png", wrong); }, ErrorCode::kInvalidInput,
               "rescale has 2 ranges for an image of 3 bands");
  RenderOptions empty;
  empty.rescale = {{5, 5}};
  expect_error([&] { (void)render_as(image, "png", empty); }, ErrorCode::kInvalidInput,
               "rescale range 1 [5, 5] must be finite with min less than max");
  RenderOptions not_finite;
  not_finite.rescale = {{0, std::numeric_limits<double>::infinity()}};
  expect_error([&] { (void)render_as(image, "png", not_finite); }, ErrorCode::kInvalidInput, "rescale range 1");
}

TEST(Render, TypesAFormatCannotHoldAreRescaledFromTheirTypeRange) {
  // int16 over its full range; rio-tiler (numpy 2) overflows on the
  // subtraction and gives [0, 127, 129, 129, 0] (see render.cpp).
  Decoded ints(render_as(row_image<std::int16_t>(DataType::kInt16, 1, {-32768, -1, 0, 100, 32767}), "png"));
  EXPECT_EQ(ints.dataset().GetRasterBand(1)->GetRasterDataType(), GDT_Byte);
  EXPECT_EQ(ints.band(1), (std::vector<double>{0, 127, 127, 127, 255}));

  // float32 over its full range: everything ordinary lands on 127, as in rio-tiler.
  Decoded floats(render_as(row_image<float>(DataType::kFloat32, 1, {-1e30F, -1, 0, 100}), "png"));
  EXPECT_EQ(floats.band(1), (std::vector<double>{127, 127, 127, 127}));

  // uint16 fits PNG but not JPEG; uint32 fits neither (rio-tiler: all 0 here).
  const ImageData words = row_image<std::uint16_t>(DataType::kUInt16, 1, {0, 257, 65535});
  EXPECT_EQ(Decoded(render_as(words, "png")).dataset().GetRasterBand(1)->GetRasterDataType(), GDT_UInt16);
  const Npy u32 = parse_npy(render_as(row_image<std::uint32_t>(DataType::kUInt32, 1, {0, 1, 65535}), "npy"));
  EXPECT_NE(u32.header.find("'descr': '<u4'"), std::string::npos);  // NPY keeps the type
  Decoded big(render_as(row_image<std::uint32_t>(DataType::kUInt32, 1, {0, 1, 65535, 4294967295U}), "png"));
  EXPECT_EQ(big.band(1), (std::vector<double>{0, 0, 0, 255}));

  // No-data pixels become 0 in the conversion.
  Decoded masked(render_as(row_image<std::int16_t>(DataType::kInt16, 1, {32767, 32767}, {255, 0}), "png"));
  EXPECT_EQ(masked.band(1), (std::vector<double>{255, 0}));
}

// --- render: colormaps -----------------------------------------------------------------

TEST(Render, ColormapGivesRgbaWithTheMaskAndColourAlphaCombined) {
  RenderOptions options;
  options.colormap = Colormap::named("viridis");
  const ImageData image = row_image<std::uint8_t>(DataType::kUInt8, 1, {0, 255, 127}, {255, 255, 0});
  Decoded png(render_as(image, "png", options));
  ASSERT_EQ(png.bands(), 4);
  EXPECT_EQ(png.band(1), (std::vector<double>{68, 253, 32}));
  EXPECT_EQ(png.band(2), (std::vector<double>{1, 231, 143}));
  EXPECT_EQ(png.band(4), (std::vector<double>{255, 255, 0}));

  options.colormap = Colormap::from_json(json::parse(R"({"0": [1, 2, 3, 100]})"));
  Decoded partial(render_as(image, "png", options));
  EXPECT_EQ(partial.band(4), (std::vector<double>{100, 0, 0}));

  // Without the mask rio-tiler drops the colormap's alpha too.
  options.add_mask = false;
  EXPECT_EQ(Decoded(render_as(image, "png", options)).bands(), 3);
  const Npy npy = parse_npy(render_as(image, "npy", options));
  EXPECT_NE(npy.header.find("'shape': (3, 1, 3)"), std::string::npos);
}

TEST(Render, RescaleComesBeforeTheColormap) {
  RenderOptions options;
  options.rescale = {{0, 1000}};
  options.colormap = Colormap::named("viridis");
  Decoded png(render_as(row_image<float>(DataType::kFloat32, 1, {0, 1000, 500}), "png", options));
  EXPECT_EQ(png.band(1), (std::vector<double>{68, 253, 32}));  // 500 -> 127
}

TEST(Render, PaletteIsUsedWhenAskedAndNoColormapIsGiven) {
  ImageData image = row_image<std::uint8_t>(DataType::kUInt8, 1, {0, 1, 2});
  image.palette = {{255, 0, 0, 255}, {0, 0, 255, 255}};
  EXPECT_EQ(Decoded(tessera::render(image)).bands(), 2);  // ignored by default
  RenderOptions options;
  options.use_palette = true;
  Decoded png(render_as(image, "png", options));
  ASSERT_EQ(png.bands(), 4);
  EXPECT_EQ(png.band(1), (std::vector<double>{255, 0, 0}));
  EXPECT_EQ(png.band(3), (std::vector<double>{0, 255, 0}));
  EXPECT_EQ(png.band(4), (std::vector<double>{255, 255, 0}));  // 2 is not in the palette
  options.colormap = Colormap::named("greys");
  EXPECT_EQ(Decoded(render_as(image, "png", options)).band(1)[0], 255);  // greys[0] is white

  ImageData no_palette = row_image<std::uint8_t>(DataType::kUInt8, 1, {0});
  options.colormap.reset();
  EXPECT_EQ(Decoded(render_as(no_palette, "png", options)).bands(), 2);
}

// --- render: errors ----------------------------------------------------------------------

TEST(Render, RejectsWhatItCannotRender) {
  const ImageData one = row_image<std::uint8_t>(DataType::kUInt8, 1, {1});
  expect_error([&] { (void)render_as(one, "bmp"); }, ErrorCode::kInvalidInput,
               "unknown image format 'bmp' (one of: png, jpeg, jpg, webp, tif, gtiff, npy)");
  RenderOptions colormap;
  colormap.colormap = Colormap::named("viridis");
  expect_error(
      [&] {
        (void)render_as(row_image<std::uint8_t>(DataType::kUInt8, 3, {1, 2, 3}), "png", colormap);
      },
      ErrorCode::kInvalidInput, "a colormap applies to a single band, but the image has 3");
  const ImageData two = row_image<std::uint8_t>(DataType::kUInt8, 2, {1, 2});
  for (const char* format : {"png", "jpeg", "webp"}) {
    expect_error([&] { (void)render_as(two, format); }, ErrorCode::kInvalidInput, "takes 1 or 3 bands");
  }
  EXPECT_EQ(Decoded(render_as(two, "tif")).bands(), 3);
  expect_error([] { (void)tessera::render(ImageData(DataType::kUInt8, 1, 0, 5)); }, ErrorCode::kInvalidInput,
               "empty image");
  RenderOptions quality;
  quality.jpeg_quality = 0;
  expect_error([&] { (void)tessera::render(one, quality); }, ErrorCode::kInvalidInput, "jpeg_quality 0");
  ImageData bad_crs = one;
  bad_crs.crs_wkt = "not a crs";
  expect_error([&] { (void)render_as(bad_crs, "tif"); }, ErrorCode::kInvalidInput, "CRS");
}

TEST(Render, MediaTypes) {
  EXPECT_EQ(tessera::render_media_type("png"), "image/png");
  EXPECT_EQ(tessera::render_media_type("JPG"), "image/jpeg");
  EXPECT_EQ(tessera::render_media_type("webp"), "image/webp");
  EXPECT_EQ(tessera::render_media_type("tif"), "image/tiff; application=geotiff");
  EXPECT_EQ(tessera::render_media_type("npy"), "application/x-binary");
  expect_error([] { (void)tessera::render_media_type("gif"); }, ErrorCode::kInvalidInput, "unknown image format");
}

TEST(Render, LeavesNothingBehindInVsimem) {
  const ImageData image = row_image<float>(DataType::kFloat32, 1, {1, 2}, {255, 0});
  for (const char* format : {"png", "jpeg", "webp", "tif"}) {
    (void)render_as(image, format);
  }
  char** files = VSIReadDir("/vsimem/tessera-render");
  EXPECT_EQ(CSLCount(files), 0) << (files != nullptr ? files[0] : "");
  CSLDestroy(files);
}
