#include "tiling/dataset_cache.hpp"

#include <cpl_string.h>
#include <fmt/format.h>
#include <gdal_alg.h>

#include "core/gdal_env.hpp"
#include "storage/environment_state.hpp"
#include "tessera/error.hpp"

namespace tessera::tiling {

namespace {
// A handful of output CRSs per dataset covers real use (the TMS CRS, WGS84,
// the odd part read); beyond that the oldest is rebuilt when asked again.
constexpr std::size_t kMaxProjectionsPerDataset = 8;
}  // namespace

CrsProjection::~CrsProjection() {
  if (pixel_transformer != nullptr) {
    GDALDestroyGenImgProjTransformer(pixel_transformer);
  }
}

DatasetLease::DatasetLease(std::shared_ptr<DatasetCache> cache, std::string path, int overview_level,
                           CachedDataset dataset)
    : cache_(std::move(cache)), path_(std::move(path)), overview_level_(overview_level), dataset_(std::move(dataset)) {}

DatasetLease::~DatasetLease() {
  if (dataset_.dataset) {
    cache_->release(std::move(path_), overview_level_, std::move(dataset_));
  }
}

CrsProjection& DatasetLease::projection(const std::string& crs_wkt) {
  auto& projections = dataset_.projections;
  for (auto& projection : projections) {
    if (projection->crs_wkt == crs_wkt) {
      return *projection;
    }
  }
  if (projections.size() >= kMaxProjectionsPerDataset) {
    projections.erase(projections.begin());
  }
  return *projections.emplace_back(std::make_unique<CrsProjection>(crs_wkt));
}

DatasetLease DatasetCache::acquire(const std::string& path, std::string_view href, int overview_level) {
  {
    const std::lock_guard lock(mutex_);
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->path == path && it->overview_level == overview_level) {
        CachedDataset dataset = std::move(it->dataset);
        idle_.erase(it);
        return {shared_from_this(), path, overview_level, std::move(dataset)};
      }
    }
  }
  gdal::ensure_initialized();
  std::vector<const char*> driver_names;
  for (const auto& name : drivers_) {
    driver_names.push_back(name.c_str());
  }
  driver_names.push_back(nullptr);
  CPLStringList open_options;
  if (overview_level >= 0) {
    open_options.SetNameValue("OVERVIEW_LEVEL", std::to_string(overview_level).c_str());
  }
  CPLErrorReset();
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(),
                                                 GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                                                 driver_names.data(), open_options.List(), nullptr));
  if (!dataset) {
    const std::string reason = gdal::last_error_message();
    const bool missing = CPLGetLastErrorNo() == CPLE_OpenFailed && reason.find("No such file") != std::string::npos;
    VSIStatBufL stat;
    const bool exists = VSIStatExL(path.c_str(), &stat, VSI_STAT_EXISTS_FLAG) == 0;
    if (missing || !exists) {
      throw Error(ErrorCode::kNotFound, fmt::format("raster '{}' does not exist", href));
    }
    throw Error(ErrorCode::kInvalidInput, fmt::format("raster '{}' cannot be read: {}", href,
                                                      reason.empty() ? "not a raster format tessera reads" : reason));
  }
  return {shared_from_this(), path, overview_level, CachedDataset{std::move(dataset), {}}};
}

void DatasetCache::release(std::string path, int overview_level, CachedDataset dataset) {
  CachedDataset evicted;
  const std::lock_guard lock(mutex_);
  idle_.push_front({std::move(path), overview_level, std::move(dataset)});
  if (idle_.size() > capacity_) {
    // `evicted` is declared before the lock, so it closes after the lock is released.
    evicted = std::move(idle_.back().dataset);
    idle_.pop_back();
  }
}

DatasetLease acquire_dataset(const std::string& path, std::string_view href, int overview_level) {
  return storage::current_state()->part<DatasetCache>()->acquire(path, href, overview_level);
}

}  // namespace tessera::tiling
