#pragma once

// Decoded per-item tile data kept across mosaic tiles, so a re-styled tile or
// a neighbouring mosaic sharing items does not read again. Internal header.

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "tessera/image.hpp"
#include "tessera/tiling.hpp"

namespace tessera::tiling {

class TileDataCache {
 public:
  static TileDataCache& instance();

  // A copy sharing the cached buffers (never written to), counting a hit or a miss.
  std::optional<ImageData> find(const std::string& key);
  void insert(const std::string& key, const ImageData& image);
  // Drops everything, resets the counters and sets the byte budget.
  void reset(std::size_t capacity_bytes);
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
  std::size_t capacity_bytes_ = ReaderConfig{}.tile_cache_bytes;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace tessera::tiling
