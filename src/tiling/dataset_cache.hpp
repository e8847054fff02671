#pragma once

// Open GDAL datasets kept for reuse across reads. Internal header.

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <gdal_priv.h>

namespace tessera::tiling {

class DatasetCache;

// Exclusive use of one open dataset; gives it back to the cache when done.
// GDAL datasets are not thread-safe, so one lease is used by one thread.
class DatasetLease {
 public:
  DatasetLease(DatasetCache* cache, std::string path, int overview_level, GDALDatasetUniquePtr dataset);
  ~DatasetLease();
  DatasetLease(DatasetLease&&) noexcept = default;
  DatasetLease& operator=(DatasetLease&&) = delete;
  DatasetLease(const DatasetLease&) = delete;
  DatasetLease& operator=(const DatasetLease&) = delete;

  [[nodiscard]] GDALDataset& operator*() const noexcept { return *dataset_; }
  [[nodiscard]] GDALDataset* operator->() const noexcept { return dataset_.get(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  DatasetCache* cache_;
  std::string path_;
  int overview_level_;
  GDALDatasetUniquePtr dataset_;
};

// Idle datasets by GDAL path, least recently used dropped first beyond the
// capacity. Thread-safe.
class DatasetCache {
 public:
  static DatasetCache& instance();

  // An idle dataset for `path`, or a newly opened one (read-only, raster,
  // with only `drivers` allowed), or of its overview `overview_level` as a
  // dataset of its own. NotFound / InvalidInput / Io on failure, naming `href`.
  DatasetLease acquire(const std::string& path, std::string_view href, const std::vector<std::string>& drivers,
                       int overview_level = -1);
  // Closes every idle dataset and sets the capacity.
  void clear(std::size_t capacity);

 private:
  friend class DatasetLease;
  void release(std::string path, int overview_level, GDALDatasetUniquePtr dataset);

  struct Entry {
    std::string path;
    int overview_level;
    GDALDatasetUniquePtr dataset;
  };
  std::mutex mutex_;
  std::list<Entry> idle_;  // most recently used first
  std::size_t capacity_ = 64;
};

}  // namespace tessera::tiling
