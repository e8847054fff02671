#pragma once

// Hrefs to the names GDAL opens, and files written whole to a local path or a
// storage URI. Internal header, shared by the modules that read and write
// rasters and vector files (ingest, packaging).

#include <filesystem>
#include <memory>
#include <string>

#include <gdal_priv.h>

#include "tessera/storage.hpp"

namespace tessera::storage {

// Where GDAL reads an href from; `storage` keeps an S3 bucket's settings in
// force while the path is in use.
struct GdalSource {
  std::string gdal_path;
  std::unique_ptr<Storage> storage;
};

// A local path, file://, s3:// (with `options`) or http(s):// href (read
// through /vsicurl/), after the current environment's allow-lists (href_policy.hpp)
// accepted it: InvalidInput for hrefs outside the allow-list and for GDAL
// syntax (/vsi paths, connection strings), which is not an href.
GdalSource resolve_gdal_source(const std::string& href, const StorageOptions& options);

// Opens `source` (from `href`) read-only as a raster (GDAL_OF_RASTER) or
// vector (GDAL_OF_VECTOR) dataset with the drivers the current environment allows;
// InvalidInput naming the href and the drivers when none of them reads it
// (or it does not exist).
GDALDatasetUniquePtr open_href_dataset(const GdalSource& source, std::string_view href, unsigned int kind);

// A file written at a temporary local path and then published whole at its
// destination (a local path, file:// or s3:// URI): renamed next to a local
// destination, uploaded in one PUT to S3. Readers never see a partial file;
// the temporary file is removed when the output is dropped uncommitted.
class StagedOutput {
 public:
  StagedOutput(std::string destination, StorageOptions options, std::string_view extension);
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return temp_; }
  // Publishes the file; returns its size in bytes.
  std::uint64_t commit();

 private:
  std::string destination_;
  StorageOptions options_;
  bool remote_ = false;
  std::filesystem::path local_destination_;
  std::filesystem::path temp_;
};

}  // namespace tessera::storage
