#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/export.hpp"

namespace tessera {

struct TESSERA_API ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t modified_unix_ms = 0;  // last modification, milliseconds since the epoch
};

// Backend settings by name (for S3: endpoint, region, ...); unknown names are
// InvalidInput so typos never pass silently.
using StorageOptions = std::map<std::string, std::string>;

// A flat namespace of keys ("a/b/c.tif") under a root URI. Keys use '/' and are
// relative to the root; keys that would escape the root are InvalidInput.
// Implementations are safe to use from several threads.
class TESSERA_API Storage {
 public:
  virtual ~Storage();

  // `file:///abs/dir` or `/abs/dir` (created if missing).
  static std::unique_ptr<Storage> open(std::string_view uri, const StorageOptions& options = {});

  // Writes are atomic: readers see the old object or the whole new one.
  virtual void put(std::string_view key, std::string_view data) = 0;
  virtual void put_file(std::string_view key, const std::filesystem::path& source) = 0;
  // Create-only write: stores `data` at `key` unless something is there, and
  // returns whether it did. Each backend's guarantee, from
  // create_if_absent_is_atomic():
  //  - local: atomic (link(2) of a complete temporary file): of racing
  //    writers, in any processes, exactly one wins;
  //  - S3: checked, written, then confirmed after a settling delay; two
  //    writers racing inside that window can both see the key free, so
  //    exclusion across hosts must come from a catalog lock.
  virtual bool put_if_absent(std::string_view key, std::string_view data) = 0;
  [[nodiscard]] virtual bool create_if_absent_is_atomic() const noexcept = 0;
  virtual std::string get(std::string_view key) = 0;
  // Up to `length` bytes from `offset` (fewer at the end of the object).
  virtual std::string read_range(std::string_view key, std::uint64_t offset, std::uint64_t length) = 0;
  virtual bool exists(std::string_view key) = 0;
  virtual ObjectInfo stat(std::string_view key) = 0;
  // Keys starting with `prefix`, sorted. Not recursive: keys directly below the
  // prefix's folder plus one "folder/" entry per sub-folder.
  virtual std::vector<std::string> list(std::string_view prefix = "", bool recursive = true) = 0;
  // NotFound when the key does not exist.
  virtual void remove(std::string_view key) = 0;

  // The absolute URI (href) of a key, usable by GDAL and by other tools.
  [[nodiscard]] virtual std::string uri(std::string_view key) const = 0;
  [[nodiscard]] virtual std::string root_uri() const = 0;
  // The name GDAL opens a key by (a file path, or /vsis3/... with this
  // storage's settings in force).
  [[nodiscard]] virtual std::string gdal_path(std::string_view key) const = 0;
};

// Checks a key's form (non-empty, relative, no "..", ".", "\\" or NUL, no empty
// segment) and throws InvalidInput naming it otherwise.
TESSERA_API void validate_storage_key(std::string_view key);

}  // namespace tessera
