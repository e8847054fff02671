#pragma once

// The remote catalog's area cache: a spatial search (a mosaic's tile) is
// answered from the items of an enclosing area, fetched from the server once
// (all its pages, in the server's order) and kept for a TTL, so the tiles of
// a viewport cost a handful of searches instead of one each. Internal header.

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tessera/geometry.hpp"

namespace tessera::catalog::stac_api {

// One item of an area: its text and its geometry, parsed once for the
// intersection tests of every search the area answers.
struct AreaItem {
  std::string text;
  Bbox envelope;
  std::shared_ptr<const Geometry> geometry;  // null for an item without one
};

struct AreaItems {
  std::vector<AreaItem> items;  // in the server's order
  std::size_t bytes = 0;
};

// The area (WGS84) that answers a search over `envelope`: the envelope
// snapped outwards to a grid of cells about eight times its size, so the
// tiles of a viewport share a few areas. nullopt for an envelope crossing
// the antimeridian.
std::optional<Bbox> enclosing_area(const Bbox& envelope);

class AreaCache {
 public:
  AreaCache(std::chrono::milliseconds ttl, std::size_t max_bytes);

  // All items of the area, or nullopt when it holds more than an area may
  // (a quarter of the cache): its searches then go to the server.
  using Fetch = std::function<std::optional<AreaItems>(const Bbox& area)>;

  // The items of `area` for the searches whose other members are `key`:
  // cached, or fetched once by `fetch` while other callers wait for it.
  std::shared_ptr<const AreaItems> items(const std::string& key, const Bbox& area, const Fetch& fetch);
  // The byte budget of one area.
  [[nodiscard]] std::size_t max_area_bytes() const noexcept { return max_bytes_ / 4; }
  void clear();

 private:
  struct Entry {
    std::mutex fill;                         // held while the area is fetched
    std::shared_ptr<const AreaItems> items;  // under `fill`; null when the area is too large to cache
    // Under the cache's mutex:
    bool filled = false;
    std::chrono::steady_clock::time_point expires;
    std::size_t counted = 0;  // bytes counted in bytes_
  };
  // Drops expired entries, then the oldest until the cache fits, all but `keep`.
  void evict_locked(const std::string& keep);

  std::chrono::milliseconds ttl_;
  std::size_t max_bytes_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::list<std::string> order_;  // keys, oldest first
  std::size_t bytes_ = 0;
};

}  // namespace tessera::catalog::stac_api
