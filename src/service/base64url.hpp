#pragma once

// Strict base64url (RFC 4648 §5, unpadded as JOSE writes it). Internal header.

#include <optional>
#include <string>
#include <string_view>

namespace tessera::service {

// True when `text` is non-empty and only base64url letters (no padding).
bool is_base64url(std::string_view text) noexcept;

// The bytes `text` encodes, or nullopt when it is not strict base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace tessera::service
