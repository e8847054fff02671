#pragma once

#include <functional>
#include <string>

#include <cpl_vsi.h>

#include "tessera/storage.hpp"

namespace tessera::storage {

// Storage on S3 or an S3-compatible server (MinIO, versitygw, ...) through
// GDAL's /vsis3/. Settings come from the options (endpoint, region,
// access_key_id, secret_access_key, session_token, https, path_style), else
// from the standard AWS environment variables, and are set for this bucket
// only (GDAL path-specific options). GDAL keeps one set of settings per
// bucket in a process: storages open on one bucket at a time must agree on
// them (Conflict otherwise), and settings are installed only while no
// storage uses the bucket, so no read ever runs with half of them. Objects
// appear whole when their upload completes: S3 never shows a partial object.
// Secrets are never logged.
class S3Storage final : public Storage {
 public:
  // `location` is "bucket" or "bucket/prefix" (what follows s3://). The
  // bucket name must be DNS-compatible (InvalidInput otherwise).
  S3Storage(const std::string& location, const StorageOptions& options);
  ~S3Storage() override;
  S3Storage(const S3Storage&) = delete;
  S3Storage& operator=(const S3Storage&) = delete;

  void put(std::string_view key, std::string_view data) override;
  bool put_if_absent(std::string_view key, std::string_view data) override;
  [[nodiscard]] bool create_if_absent_is_atomic() const noexcept override { return false; }
  void put_file(std::string_view key, const std::filesystem::path& source) override;
  std::string get(std::string_view key) override;
  std::string read_range(std::string_view key, std::uint64_t offset, std::uint64_t length) override;
  bool exists(std::string_view key) override;
  ObjectInfo stat(std::string_view key) override;
  std::vector<std::string> list(std::string_view prefix, bool recursive) override;
  // See storage::visit_objects.
  void visit(std::string_view prefix, const std::function<bool(const ObjectInfo&)>& visitor);
  void remove(std::string_view key) override;
  [[nodiscard]] std::string uri(std::string_view key) const override;
  [[nodiscard]] std::string root_uri() const override;
  [[nodiscard]] std::string gdal_path(std::string_view key) const override { return vsi_path(key); }

 private:
  // "/vsis3/bucket/prefix/key" after checking the key.
  [[nodiscard]] std::string vsi_path(std::string_view key) const;
  // Throws the error an S3 failure deserves: missing bucket, denied access
  // (bad credentials) and missing key are told apart.
  // `message` is what GDAL reported (its last error when empty).
  [[noreturn]] void throw_failure(std::string_view what, std::string_view key, std::string message = {}) const;
  // Fresh size and time of `key`'s object; NotFound when there is none.
  VSIStatBufL stat_object(std::string_view key, std::string_view what) const;
  // Forgets GDAL's cached listings and sizes under `path`, so another
  // process's writes are seen.
  void forget_cache(const std::string& path) const;

  std::string bucket_;
  std::string prefix_;  // "" or "a/b/" (with the trailing slash)
};

}  // namespace tessera::storage
