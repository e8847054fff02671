#pragma once

// Decoded per-item tile data kept across mosaic tiles, so a re-styled tile or
// a neighbouring mosaic sharing items does not read again. Internal header.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "tessera/image.hpp"
#include "tessera/tiling.hpp"

namespace tessera::tiling {

// One per environment state (storage/environment_state.hpp). Thread-safe.
class TileDataCache {
 public:
  explicit TileDataCache(const ReaderConfig& config) : capacity_bytes_(config.tile_cache_bytes) {}

  // A copy sharing the cached buffers (never written to), counting a hit or a miss.
  std::optional<ImageData> find(const std::string& key);
  void insert(const std::string& key, const ImageData& image);
  // Drops everything and resets the counters.
  void clear();
  TileCacheStats stats();

 private:
  struct Entry {
    std::string key;
    ImageData image;
    std::size_t bytes;
  };
  std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::size_t bytes_ = 0;
  std::size_t capacity_bytes_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

// The current environment's cache.
std::shared_ptr<TileDataCache> current_tile_cache();

}  // namespace tessera::tiling
