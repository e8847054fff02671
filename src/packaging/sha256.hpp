#pragma once

// SHA-256 digests (OpenSSL) as lower-case hex, for Data Package hashes and cache keys.

#include <filesystem>
#include <string>
#include <string_view>

namespace tessera::packaging {

std::string sha256_hex(std::string_view data);
// Streams the file; Io when it cannot be read.
std::string sha256_hex_of_file(const std::filesystem::path& path);

}  // namespace tessera::packaging
