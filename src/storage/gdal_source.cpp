#include "storage/gdal_source.hpp"

#include <unistd.h>

#include <random>

#include <fmt/format.h>

#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace fs = std::filesystem;

namespace tessera::storage {

GdalSource resolve_gdal_source(const std::string& href, const StorageOptions& options) {
  if (href.starts_with("s3://")) {
    const std::size_t slash = href.find('/', 5);
    if (slash == std::string::npos) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' names a bucket, not an object", href));
    }
    GdalSource source;
    source.storage = Storage::open(href.substr(0, slash), options);
    source.gdal_path = source.storage->gdal_path(percent_decode(href.substr(slash + 1)));
    return source;
  }
  if (href.starts_with("https://") || href.starts_with("http://")) {
    return {"/vsicurl/" + href, nullptr};
  }
  if (href.starts_with("file://")) {
    return {parse_uri(href).path, nullptr};
  }
  if (href.starts_with("/vsi")) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}': raw GDAL /vsi paths are not accepted as hrefs", href));
  }
  return {href, nullptr};
}

StagedOutput::StagedOutput(std::string destination, StorageOptions options, std::string_view extension)
    : destination_(std::move(destination)), options_(std::move(options)) {
  remote_ = destination_.find("://") != std::string::npos && !destination_.starts_with("file://");
  if (!remote_) {
    local_destination_ = destination_.starts_with("file://") ? parse_uri(destination_).path : destination_;
  }
  // Next to a local destination, so the rename is atomic; else in the temp folder before an upload.
  const fs::path folder = remote_ ? fs::temp_directory_path() : fs::absolute(local_destination_).parent_path();
  fs::create_directories(folder);
  temp_ = folder / fmt::format(".tessera-{}-{:x}{}", ::getpid(), std::random_device{}(), extension);
}

StagedOutput::~StagedOutput() {
  std::error_code ignored;
  fs::remove(temp_, ignored);
}

std::uint64_t StagedOutput::commit() {
  const std::uint64_t bytes = fs::file_size(temp_);
  if (remote_) {
    const std::size_t slash = destination_.rfind('/');
    Storage::open(destination_.substr(0, slash), destination_.starts_with("s3://") ? options_ : StorageOptions{})
        ->put_file(destination_.substr(slash + 1), temp_);
    fs::remove(temp_);
  } else {
    fs::rename(temp_, local_destination_);
  }
  return bytes;
}

}  // namespace tessera::storage
