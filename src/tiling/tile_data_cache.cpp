#include "tiling/tile_data_cache.hpp"

#include "storage/environment_state.hpp"

#include <utility>

namespace tessera::tiling {

namespace {

std::size_t image_bytes(const ImageData& image) {
  return image.pixel_count() * (data_type_size(image.data_type()) * static_cast<std::size_t>(image.band_count()) + 1);
}

}  // namespace

std::optional<ImageData> TileDataCache::find(const std::string& key) {
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  if (found == index_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  entries_.splice(entries_.begin(), entries_, found->second);
  return found->second->image;
}

void TileDataCache::insert(const std::string& key, const ImageData& image) {
  const std::size_t bytes = image_bytes(image);
  const std::lock_guard lock(mutex_);
  if (bytes > capacity_bytes_ || index_.contains(key)) {
    return;
  }
  entries_.push_front({key, image, bytes});
  index_.emplace(key, entries_.begin());
  bytes_ += bytes;
  while (bytes_ > capacity_bytes_) {
    bytes_ -= entries_.back().bytes;
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
}

void TileDataCache::clear() {
  const std::lock_guard lock(mutex_);
  entries_.clear();
  index_.clear();
  bytes_ = 0;
  hits_ = 0;
  misses_ = 0;
}

TileCacheStats TileDataCache::stats() {
  const std::lock_guard lock(mutex_);
  return {hits_, misses_, entries_.size(), bytes_, capacity_bytes_};
}

std::shared_ptr<TileDataCache> current_tile_cache() { return storage::current_state()->part<TileDataCache>(); }

}  // namespace tessera::tiling

namespace tessera {

TileCacheStats tile_cache_stats() { return tiling::current_tile_cache()->stats(); }
void clear_tile_cache() { tiling::current_tile_cache()->clear(); }

}  // namespace tessera
