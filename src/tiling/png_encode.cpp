// PNG files written here: the rows interleaved and filtered, compressed by
// libdeflate into one zlib stream, and framed in PNG's chunks.

#include "tiling/png_encode.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <libdeflate.h>

#include "tessera/error.hpp"
#include "tiling/raster_read.hpp"

namespace tessera::tiling {

namespace {

// zlib's level 6 is rio-tiler's PNG profile; libdeflate's 6 gives files of a
// like size (within a few percent either way) in a fraction of the time.
constexpr int kCompressionLevel = 6;
// IDAT chunks are split below PNG's 2^31 - 1 byte chunk limit.
constexpr std::size_t kMaxChunkBytes = std::size_t{1} << 30;

struct CompressorDeleter {
  void operator()(libdeflate_compressor* compressor) const noexcept { libdeflate_free_compressor(compressor); }
};

// One compressor per thread: it is not thread-safe, and making one costs
// more than compressing a small tile.
libdeflate_compressor& compressor() {
  thread_local const std::unique_ptr<libdeflate_compressor, CompressorDeleter> instance(
      libdeflate_alloc_compressor(kCompressionLevel));
  if (!instance) {
    throw Error(ErrorCode::kInternal, "libdeflate could not make a compressor (out of memory)");
  }
  return *instance;
}

// The mask (0-255) as a uint16 alpha: rio-tiler's linear_rescale to 0-65535, truncated.
const std::array<std::uint16_t, 256>& alpha16_table() {
  static const auto table = [] {
    std::array<std::uint16_t, 256> values{};
    for (std::size_t m = 0; m < values.size(); ++m) {
      values[m] = static_cast<std::uint16_t>(static_cast<double>(m) / 255.0 * 65535.0);
    }
    return values;
  }();
  return table;
}

void put_sample(std::uint8_t*& out, std::uint8_t value) { *out++ = value; }
void put_sample(std::uint8_t*& out, std::uint16_t value) {  // PNG's samples are big-endian
  *out++ = static_cast<std::uint8_t>(value >> 8);
  *out++ = static_cast<std::uint8_t>(value & 0xFF);
}

// Row `y` of the image as PNG holds it before filtering: each pixel's samples
// (the bands, then the alpha) side by side.
template <typename T>
void interleave_row(const ImageData& image, bool add_mask, int y, std::uint8_t* out) {
  const auto width = static_cast<std::size_t>(image.width());
  const std::size_t start = static_cast<std::size_t>(y) * width;
  std::array<const T*, 3> bands{};
  for (int b = 0; b < image.band_count(); ++b) {
    bands[static_cast<std::size_t>(b)] = image.band<T>(b) + start;
  }
  const std::uint8_t* mask = image.mask() + start;
  const auto band_count = static_cast<std::size_t>(image.band_count());
  for (std::size_t x = 0; x < width; ++x) {
    for (std::size_t b = 0; b < band_count; ++b) {
      put_sample(out, bands[b][x]);
    }
    if (add_mask) {
      if constexpr (std::is_same_v<T, std::uint16_t>) {
        put_sample(out, alpha16_table()[mask[x]]);
      } else {
        put_sample(out, mask[x]);
      }
    }
  }
}

// `row` filtered against `prior` (the row above, zeros for the first) with
// the predictor `predict(left, up, up_left)`, into `out`; returns the sum of
// the filtered bytes' magnitudes as signed values, the measure libpng's
// heuristic minimises. `bpp`: bytes per pixel.
template <typename Predict>
std::uint64_t filter_row(const std::uint8_t* row, const std::uint8_t* prior, std::size_t size, std::size_t bpp,
                         std::uint8_t* out, Predict predict) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const int left = i >= bpp ? row[i - bpp] : 0;
    const int up_left = i >= bpp ? prior[i - bpp] : 0;
    const auto value = static_cast<std::uint8_t>(row[i] - predict(left, prior[i], up_left));
    out[i] = value;
    sum += static_cast<std::uint64_t>(std::abs(static_cast<int>(static_cast<std::int8_t>(value))));
  }
  return sum;
}

int paeth(int left, int up, int up_left) {
  const int estimate = left + up - up_left;
  const int to_left = std::abs(estimate - left);
  const int to_up = std::abs(estimate - up);
  const int to_up_left = std::abs(estimate - up_left);
  if (to_left <= to_up && to_left <= to_up_left) {
    return left;
  }
  return to_up <= to_up_left ? up : up_left;
}

// Every row, preceded by its filter type (0 none, 1 sub, 2 up, 3 average,
// 4 paeth): the one whose bytes sum least, as libpng chooses.
template <typename T>
std::vector<std::uint8_t> filtered_rows(const ImageData& image, bool add_mask, std::size_t bpp) {
  const std::size_t size = static_cast<std::size_t>(image.width()) * bpp;
  std::vector<std::uint8_t> filtered(static_cast<std::size_t>(image.height()) * (size + 1));
  // The row, the row above, and the four filtered candidates.
  std::vector<std::uint8_t> work(6 * size);
  std::uint8_t* row = work.data();
  std::uint8_t* prior = row + size;  // zeros: the first row has none above
  std::array<std::uint8_t*, 4> candidates{prior + size, prior + 2 * size, prior + 3 * size, prior + 4 * size};
  for (int y = 0; y < image.height(); ++y) {
    interleave_row<T>(image, add_mask, y, row);
    std::array<std::uint64_t, 5> sums{};
    for (std::size_t i = 0; i < size; ++i) {
      sums[0] += static_cast<std::uint64_t>(std::abs(static_cast<int>(static_cast<std::int8_t>(row[i]))));
    }
    sums[1] = filter_row(row, prior, size, bpp, candidates[0], [](int left, int, int) { return left; });
    sums[2] = filter_row(row, prior, size, bpp, candidates[1], [](int, int up, int) { return up; });
    sums[3] = filter_row(row, prior, size, bpp, candidates[2], [](int left, int up, int) { return (left + up) / 2; });
    sums[4] = filter_row(row, prior, size, bpp, candidates[3], paeth);
    std::size_t best = 0;
    for (std::size_t filter = 1; filter < sums.size(); ++filter) {
      best = sums[filter] < sums[best] ? filter : best;
    }
    std::uint8_t* out = filtered.data() + static_cast<std::size_t>(y) * (size + 1);
    out[0] = static_cast<std::uint8_t>(best);
    std::memcpy(out + 1, best == 0 ? row : candidates[best - 1], size);
    std::swap(row, prior);
  }
  return filtered;
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xFF);
  }
}

// A chunk: length, type, data, and the CRC-32 of type and data.
void put_chunk(std::string& out, const char (&type)[5], const std::uint8_t* data, std::size_t size) {
  put_u32(out, static_cast<std::uint32_t>(size));
  out.append(type, 4);
  if (size > 0) {
    out.append(reinterpret_cast<const char*>(data), size);
  }
  std::uint32_t crc = libdeflate_crc32(0, type, 4);
  crc = libdeflate_crc32(crc, data, size);
  put_u32(out, crc);
}

}  // namespace

std::string encode_png(const ImageData& image, bool add_mask) {
  const DataType type = image.data_type();
  const int bands = image.band_count();
  if ((type != DataType::kUInt8 && type != DataType::kUInt16) || (bands != 1 && bands != 3) ||
      image.pixel_count() == 0) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("PNG holds 1 or 3 bands of uint8 or uint16, not {} band(s) of {}x{} {}", bands,
                            image.width(), image.height(), data_type_name(type)));
  }
  const std::size_t channels = static_cast<std::size_t>(bands) + (add_mask ? 1 : 0);
  // Bounds what follows: the rows and the compressed stream are each about
  // the size of the samples.
  check_request_values(static_cast<double>(image.pixel_count()) * static_cast<double>(channels), "a PNG encoding");
  const std::size_t bpp = channels * (type == DataType::kUInt16 ? 2 : 1);
  const std::vector<std::uint8_t> rows = type == DataType::kUInt16 ? filtered_rows<std::uint16_t>(image, add_mask, bpp)
                                                                   : filtered_rows<std::uint8_t>(image, add_mask, bpp);

  libdeflate_compressor& deflate = compressor();
  std::vector<std::uint8_t> compressed(libdeflate_zlib_compress_bound(&deflate, rows.size()));
  const std::size_t compressed_size =
      libdeflate_zlib_compress(&deflate, rows.data(), rows.size(), compressed.data(), compressed.size());
  if (compressed_size == 0) {
    throw Error(ErrorCode::kInternal, "libdeflate could not compress the PNG rows into its own bound");
  }

  std::string png("\x89PNG\r\n\x1a\n", 8);
  png.reserve(8 + 25 + compressed_size + 12 * (compressed_size / kMaxChunkBytes + 1) + 12);
  std::array<std::uint8_t, 13> header{};
  for (int i = 0; i < 4; ++i) {
    header[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(static_cast<std::uint32_t>(image.width()) >> (24 - 8 * i));
    header[static_cast<std::size_t>(4 + i)] =
        static_cast<std::uint8_t>(static_cast<std::uint32_t>(image.height()) >> (24 - 8 * i));
  }
  header[8] = type == DataType::kUInt16 ? 16 : 8;                                    // bit depth
  header[9] = static_cast<std::uint8_t>((bands == 3 ? 2 : 0) | (add_mask ? 4 : 0));  // grey/RGB, + alpha
  // Compression, filter method and interlace stay 0 (deflate, adaptive, none).
  put_chunk(png, "IHDR", header.data(), header.size());
  for (std::size_t offset = 0; offset < compressed_size; offset += kMaxChunkBytes) {
    put_chunk(png, "IDAT", compressed.data() + offset, std::min(kMaxChunkBytes, compressed_size - offset));
  }
  put_chunk(png, "IEND", nullptr, 0);
  return png;
}

}  // namespace tessera::tiling
