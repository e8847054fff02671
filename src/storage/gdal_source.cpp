#include "storage/gdal_source.hpp"

#include <unistd.h>

#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/gdal_env.hpp"
#include "storage/environment_state.hpp"
#include "storage/href_policy.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace fs = std::filesystem;

namespace tessera::storage {

GdalSource resolve_gdal_source(const std::string& href, const StorageOptions& options) {
  const CheckedHref checked = check_href(href);
  switch (checked.kind) {
    case HrefKind::kHttp:
      return {http_gdal_path(checked), nullptr};
    case HrefKind::kS3: {
      GdalSource source;
      source.storage = Storage::open(checked.location, options);
      source.gdal_path = source.storage->gdal_path(checked.key);
      return source;
    }
    case HrefKind::kLocalPath:
      break;
  }
  return {checked.location, nullptr};
}

GDALDatasetUniquePtr open_href_dataset(const GdalSource& source, std::string_view href, unsigned int kind) {
  gdal::ensure_initialized();
  const auto state = current_state();
  const auto& drivers =
      kind == GDAL_OF_VECTOR ? state->config().allowed_vector_drivers : state->config().allowed_drivers;
  std::vector<const char*> names;
  for (const auto& name : drivers) {
    names.push_back(name.c_str());
  }
  names.push_back(nullptr);
  gdal::ErrorCapture errors;
  GDALDatasetUniquePtr dataset(
      GDALDataset::Open(source.gdal_path.c_str(), kind | GDAL_OF_READONLY, names.data(), nullptr, nullptr));
  if (dataset) {
    return dataset;
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("'{}' is not a {} GDAL can read (allowed drivers: {}){}{}", href,
                          kind == GDAL_OF_VECTOR ? "vector source" : "raster", fmt::join(drivers, ", "),
                          errors.messages().empty() ? "" : ": ", errors.messages()));
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
