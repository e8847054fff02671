#include "storage/uri.hpp"

#include <cctype>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::storage {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      const int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("bad percent-escape at offset {} in '{}'", i, text));
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string percent_encode_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '%' || c == '#' || c == '?') {
      out += fmt::format("%{:02X}", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

ParsedUri parse_uri(std::string_view uri) {
  if (uri.empty()) {
    throw Error(ErrorCode::kInvalidInput, "storage URI is empty");
  }
  if (uri.front() == '/') {
    return {"file", std::string(uri)};
  }
  const std::size_t separator = uri.find("://");
  if (separator == std::string_view::npos || separator == 0) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("storage URI '{}' is neither an absolute path nor scheme://...", uri));
  }
  std::string scheme(uri.substr(0, separator));
  for (auto& c : scheme) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const std::string_view rest = uri.substr(separator + 3);
  if (scheme == "file") {
    // file:///abs/path (empty authority) or file://localhost/abs/path.
    std::string_view path = rest;
    if (path.starts_with("localhost/")) {
      path.remove_prefix(9);
    }
    if (path.empty() || path.front() != '/') {
      throw Error(ErrorCode::kInvalidInput, fmt::format("file URI '{}' must name an absolute path (file:///dir)", uri));
    }
    return {scheme, percent_decode(path)};
  }
  if (rest.empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("storage URI '{}' has nothing after '://'", uri));
  }
  return {scheme, std::string(rest)};
}

}  // namespace tessera::storage
