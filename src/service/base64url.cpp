#include "service/base64url.hpp"

#include <algorithm>

#include <openssl/evp.h>

namespace tessera::service {

bool is_base64url(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // One letter left over carries fewer than 8 bits: not an encoding.
  if (!is_base64url(text) || text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string standard(text);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  const std::size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::string bytes(standard.size() / 4 * 3, '\0');
  // OpenSSL decodes; it counts the padding as zero bytes, which are dropped.
  const int written =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                      reinterpret_cast<const unsigned char*>(standard.data()), static_cast<int>(standard.size()));
  if (written < 0 || static_cast<std::size_t>(written) < padding) {
    return std::nullopt;
  }
  bytes.resize(static_cast<std::size_t>(written) - padding);
  return bytes;
}

}  // namespace tessera::service
