#include "tessera/storage.hpp"

#include <fmt/format.h>

#include "storage/local_storage.hpp"
#include "storage/s3_storage.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace tessera {

Storage::~Storage() = default;

void validate_storage_key(std::string_view key) {
  if (key.empty()) {
    throw Error(ErrorCode::kInvalidInput, "storage key is empty");
  }
  if (key.front() == '/') {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("storage key '{}' is absolute; keys are relative to the root", key));
  }
  if (key.find('\0') != std::string_view::npos || key.find('\\') != std::string_view::npos) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("storage key '{}' contains a NUL or backslash", key));
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view segment = key.substr(start, end - start);
    if (segment == "..") {
      throw Error(ErrorCode::kInvalidInput, fmt::format("storage key '{}' escapes the root with '..'", key));
    }
    if (segment.empty() || segment == ".") {
      throw Error(ErrorCode::kInvalidInput, fmt::format("storage key '{}' has an empty or '.' segment", key));
    }
    start = end + 1;
  }
}

std::unique_ptr<Storage> Storage::open(std::string_view uri, const StorageOptions& options) {
  const auto parsed = storage::parse_uri(uri);
  if (parsed.scheme == "file") {
    if (!options.empty()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("local storage takes no options, got '{}'", options.begin()->first));
    }
    return std::make_unique<storage::LocalStorage>(parsed.path);
  }
  if (parsed.scheme == "s3") {
    return std::make_unique<storage::S3Storage>(parsed.path, options);
  }
  throw Error(ErrorCode::kUnsupported,
              fmt::format("storage URI scheme '{}' is not supported: '{}'", parsed.scheme, uri));
}

}  // namespace tessera
