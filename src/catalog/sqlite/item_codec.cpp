#include "catalog/sqlite/item_codec.hpp"

#include <memory>

#include <fmt/format.h>
#include <zstd.h>

#include "tessera/error.hpp"

namespace tessera::catalog::sqlite {
namespace {

constexpr int kLevel = -1;

struct ContextDeleter {
  void operator()(ZSTD_CCtx* context) const noexcept { ZSTD_freeCCtx(context); }
  void operator()(ZSTD_DCtx* context) const noexcept { ZSTD_freeDCtx(context); }
};

ZSTD_CCtx* compressor() {
  thread_local std::unique_ptr<ZSTD_CCtx, ContextDeleter> context(ZSTD_createCCtx());
  return context.get();
}

ZSTD_DCtx* decompressor() {
  thread_local std::unique_ptr<ZSTD_DCtx, ContextDeleter> context(ZSTD_createDCtx());
  return context.get();
}

[[noreturn]] void corrupt(std::string_view why) {
  throw Error(ErrorCode::kIo, fmt::format("stored catalog item cannot be read ({}); the database is damaged", why));
}

}  // namespace

std::string compress_item(std::string_view json_text) {
  std::string out(ZSTD_compressBound(json_text.size()), '\0');
  const std::size_t size =
      ZSTD_compressCCtx(compressor(), out.data(), out.size(), json_text.data(), json_text.size(), kLevel);
  if (ZSTD_isError(size) != 0U) {
    throw Error(ErrorCode::kInternal, fmt::format("zstd compression failed: {}", ZSTD_getErrorName(size)));
  }
  out.resize(size);
  return out;
}

std::string decompress_item(std::string_view stored) {
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    corrupt("not a zstd frame");
  }
  std::string out(size, '\0');
  const std::size_t written = ZSTD_decompressDCtx(decompressor(), out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(written) != 0U || written != size) {
    corrupt(ZSTD_isError(written) != 0U ? ZSTD_getErrorName(written) : "short frame");
  }
  return out;
}

}  // namespace tessera::catalog::sqlite
