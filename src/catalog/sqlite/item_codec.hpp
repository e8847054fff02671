#pragma once

// How the SQLite backend stores an item: its JSON text compressed with zstd
// (level 1: items shrink about 4x, which is what bulk loads are bound by),
// and how SQL reads single properties back out of it.

#include <string>
#include <string_view>

namespace tessera::catalog::sqlite {

std::string compress_item(std::string_view json_text);
// Io error when the bytes are not a compressed item (a damaged database).
std::string decompress_item(std::string_view stored);

}  // namespace tessera::catalog::sqlite
