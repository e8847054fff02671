#pragma once

// Open GDAL datasets kept for reuse across reads. Internal header.

#include <array>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "tessera/tiling.hpp"

namespace tessera::tiling {

class DatasetCache;

// What reads derive from one open dataset for one output CRS, kept with the
// dataset and filled on first use: a coordinate operation costs PROJ database
// look-ups, more than reading a whole tile, and the same few CRSs are asked
// for again and again.
struct CrsProjection {
  explicit CrsProjection(std::string wkt) : crs_wkt(std::move(wkt)) {}
  ~CrsProjection();
  CrsProjection(const CrsProjection&) = delete;
  CrsProjection& operator=(const CrsProjection&) = delete;

  std::string crs_wkt;
  std::optional<bool> same_crs;                                 // the dataset is already in this CRS
  std::optional<std::array<double, 6>> native_transform;        // the dataset's grid in this CRS
  std::unique_ptr<OGRCoordinateTransformation> to_dataset_crs;  // this CRS -> the dataset's
  std::optional<std::vector<std::pair<double, double>>> poles;  // where the poles are in this CRS
  void* pixel_transformer = nullptr;                            // GenImgProj: dataset pixels <-> this CRS (owned)
};

// An open dataset and what has been derived from it.
struct CachedDataset {
  GDALDatasetUniquePtr dataset;
  std::vector<std::unique_ptr<CrsProjection>> projections;  // most recently added last
};

// Exclusive use of one open dataset; gives it back to the cache when done.
// GDAL datasets are not thread-safe, so one lease is used by one thread.
class DatasetLease {
 public:
  DatasetLease(std::shared_ptr<DatasetCache> cache, std::string path, int overview_level, CachedDataset dataset);
  ~DatasetLease();
  DatasetLease(DatasetLease&&) noexcept = default;
  DatasetLease& operator=(DatasetLease&&) = delete;
  DatasetLease(const DatasetLease&) = delete;
  DatasetLease& operator=(const DatasetLease&) = delete;

  [[nodiscard]] GDALDataset& operator*() const noexcept { return *dataset_.dataset; }
  [[nodiscard]] GDALDataset* operator->() const noexcept { return dataset_.dataset.get(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  // The derived state for output CRS `crs_wkt` (created empty on first use).
  [[nodiscard]] CrsProjection& projection(const std::string& crs_wkt);

 private:
  std::shared_ptr<DatasetCache> cache_;
  std::string path_;
  int overview_level_;
  CachedDataset dataset_;
};

// Idle datasets by GDAL path, least recently used dropped first beyond the
// capacity; one per environment state (storage/environment_state.hpp), so
// settings never see datasets opened under others. Thread-safe.
class DatasetCache : public std::enable_shared_from_this<DatasetCache> {
 public:
  explicit DatasetCache(const ReaderConfig& config)
      : capacity_(config.dataset_cache_size), drivers_(config.allowed_drivers) {}

  // An idle dataset for `path`, or a newly opened one (read-only, raster,
  // with only the allowed drivers), or of its overview `overview_level` as a
  // dataset of its own. NotFound / InvalidInput / Io on failure, naming `href`.
  DatasetLease acquire(const std::string& path, std::string_view href, int overview_level = -1);

 private:
  friend class DatasetLease;
  void release(std::string path, int overview_level, CachedDataset dataset);

  struct Entry {
    std::string path;
    int overview_level;
    CachedDataset dataset;
  };
  std::mutex mutex_;
  std::list<Entry> idle_;  // most recently used first
  std::size_t capacity_;
  std::vector<std::string> drivers_;
};

// DatasetCache::acquire on the current environment's cache.
DatasetLease acquire_dataset(const std::string& path, std::string_view href, int overview_level = -1);

}  // namespace tessera::tiling
