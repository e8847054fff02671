// PNG encoding time and size: tessera::render (libdeflate, src/tiling/png_encode.cpp)
// against GDAL's PNG driver at ZLEVEL 6 (libpng and zlib), the encoder render()
// used before, on the same pixels. Built with -DTESSERA_BUILD_BENCH=ON:
//
//   build/<preset>/bench/png_bench [milliseconds per case, default 2000]
//
// The tiles are 256x256 like the tiling benchmark's: gradients, smooth noise at
// several scales, field-like patches and sensor noise, a no-data corner (the
// mask as alpha). Cases: one uint8 band (the tiling benchmark's rescaled
// tile), three uint8 bands, one uint16 band (16-bit PNG).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <fmt/format.h>
#include <gdal_priv.h>

#include "tessera/render.hpp"

namespace {

using tessera::DataType;
using tessera::ImageData;

constexpr int kSize = 256;

// Terrain-like values in 0..1 for band `band`.
std::vector<double> field(int band, std::mt19937& random) {
  std::normal_distribution<double> sensor(0, 0.01);
  std::vector<double> values(static_cast<std::size_t>(kSize) * kSize);
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) {
      const double gradient = 0.3 + 0.2 * x / kSize + 0.1 * y / kSize;
      const double smooth = 0.12 * std::sin(x / 37.0 + band) * std::cos(y / 29.0) + 0.05 * std::sin((x + 2 * y) / 7.0);
      const double patch = ((x / 48 + y / 40 + band) % 3) * 0.06;
      values[static_cast<std::size_t>(y) * kSize + static_cast<std::size_t>(x)] =
          std::clamp(gradient + smooth + patch + sensor(random), 0.0, 1.0);
    }
  }
  return values;
}

ImageData tile(DataType type, int bands) {
  std::mt19937 random(7);
  ImageData image(type, bands, kSize, kSize);
  for (int b = 0; b < bands; ++b) {
    const std::vector<double> values = field(b, random);
    for (std::size_t p = 0; p < values.size(); ++p) {
      if (type == DataType::kUInt16) {
        image.band<std::uint16_t>(b)[p] = static_cast<std::uint16_t>(values[p] * 10000);
      } else {
        image.band<std::uint8_t>(b)[p] = static_cast<std::uint8_t>(values[p] * 255);
      }
    }
  }
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) {
      image.mask()[static_cast<std::size_t>(y) * kSize + static_cast<std::size_t>(x)] = x + y < 70 ? 0 : 255;
    }
  }
  return image;
}

// What render() did before: a MEM dataset over the bands and the alpha, copied
// by GDAL's PNG driver at ZLEVEL 6 into /vsimem.
std::string gdal_png(const ImageData& image) {
  const bool wide = image.data_type() == DataType::kUInt16;
  const GDALDataType type = wide ? GDT_UInt16 : GDT_Byte;
  std::vector<std::uint16_t> alpha16;
  GDALDatasetUniquePtr source(
      GetGDALDriverManager()->GetDriverByName("MEM")->Create("", image.width(), image.height(), 0, type, nullptr));
  const auto add = [&](const void* data) {
    CPLStringList options;
    options.SetNameValue("DATAPOINTER", fmt::format("{}", data).c_str());
    source->AddBand(type, options.List());
  };
  for (int b = 0; b < image.band_count(); ++b) {
    add(image.band_data(b));
  }
  if (wide) {
    for (std::size_t p = 0; p < image.pixel_count(); ++p) {
      alpha16.push_back(static_cast<std::uint16_t>(image.mask()[p] / 255.0 * 65535.0));
    }
    add(alpha16.data());
  } else {
    add(image.mask());
  }
  source->GetRasterBand(image.band_count() + 1)->SetColorInterpretation(GCI_AlphaBand);
  CPLStringList creation;
  creation.SetNameValue("ZLEVEL", "6");
  const char* path = "/vsimem/png_bench.png";
  GDALDatasetUniquePtr(GetGDALDriverManager()->GetDriverByName("PNG")->CreateCopy(path, source.get(), FALSE,
                                                                                  creation.List(), nullptr, nullptr));
  vsi_l_offset size = 0;
  GByte* bytes = VSIGetMemFileBuffer(path, &size, TRUE);
  std::string png(reinterpret_cast<const char*>(bytes), size);
  VSIFree(bytes);
  return png;
}

struct Timing {
  double milliseconds = 0;
  std::size_t bytes = 0;
};

// The median of rounds of ~budget/5 ms each, after one untimed encode.
Timing timed(const std::function<std::string()>& encode, int budget_ms) {
  const std::size_t bytes = encode().size();
  std::vector<double> rounds;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    int count = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(budget_ms / 5) || count == 0) {
      static_cast<void>(encode());
      ++count;
    }
    rounds.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
                     count);
  }
  std::sort(rounds.begin(), rounds.end());
  return {rounds[2], bytes};
}

}  // namespace

int main(int argc, char** argv) {
  const int budget_ms = argc > 1 ? std::atoi(argv[1]) : 2000;
  GDALAllRegister();
  std::printf(
      "| tile (256x256, with alpha) | GDAL PNG driver, ZLEVEL 6: ms | bytes | tessera render: ms | bytes | "
      "speed-up | size change |\n|---|---|---|---|---|---|---|\n");
  for (const auto& [name, type, bands] :
       {std::tuple{"1 band uint8", DataType::kUInt8, 1}, std::tuple{"3 bands uint8", DataType::kUInt8, 3},
        std::tuple{"1 band uint16", DataType::kUInt16, 1}}) {
    const ImageData image = tile(type, bands);
    const Timing before = timed([&] { return gdal_png(image); }, budget_ms);
    const Timing after = timed([&] { return tessera::render(image); }, budget_ms);
    std::printf("| %s | %.2f | %zu | %.2f | %zu | %.1fx | %+.1f%% |\n", name, before.milliseconds, before.bytes,
                after.milliseconds, after.bytes, before.milliseconds / after.milliseconds,
                100.0 * (static_cast<double>(after.bytes) / static_cast<double>(before.bytes) - 1));
  }
  return 0;
}
