#include "catalog/stac_api/area_cache.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tessera::catalog::stac_api {

namespace {

// Cells of the area grid are 360 / 2^level degrees wide; past this level
// (about 2 cm) a smaller search is not worth a smaller area.
constexpr int kMaxLevel = 30;
// An area is at least this many times the search's extent: a mosaic tile
// and its neighbours, a few rows and columns of a viewport, share it.
constexpr double kAreaPerExtent = 8.0;

}  // namespace

std::optional<Bbox> enclosing_area(const Bbox& envelope) {
  if (envelope.crosses_antimeridian() || !std::isfinite(envelope.minx) || !std::isfinite(envelope.miny) ||
      !std::isfinite(envelope.maxx) || !std::isfinite(envelope.maxy)) {
    return std::nullopt;
  }
  const double extent = std::max(envelope.maxx - envelope.minx, envelope.maxy - envelope.miny);
  int level = kMaxLevel;
  if (extent > 0) {
    level = std::clamp(static_cast<int>(std::floor(std::log2(360.0 / (kAreaPerExtent * extent)))), 0, kMaxLevel);
  }
  const double cell = std::ldexp(360.0, -level);
  return Bbox{std::max(-180.0, std::floor(envelope.minx / cell) * cell),
              std::max(-90.0, std::floor(envelope.miny / cell) * cell),
              std::min(180.0, std::ceil(envelope.maxx / cell) * cell),
              std::min(90.0, std::ceil(envelope.maxy / cell) * cell)};
}

AreaCache::AreaCache(std::chrono::milliseconds ttl, std::size_t max_bytes) : ttl_(ttl), max_bytes_(max_bytes) {}

std::shared_ptr<const AreaItems> AreaCache::items(const std::string& key, const Bbox& area, const Fetch& fetch) {
  const std::string full_key = fmt::format("{}\n{},{},{},{}", key, area.minx, area.miny, area.maxx, area.maxy);
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    auto& slot = entries_[full_key];
    if (!slot) {
      slot = std::make_shared<Entry>();
      order_.push_back(full_key);
    }
    entry = slot;
  }
  // Callers of one area wait here for the first to fetch it.
  std::lock_guard fill(entry->fill);
  const auto now = std::chrono::steady_clock::now();
  bool fresh = false;
  {
    std::lock_guard lock(mutex_);
    fresh = entry->filled && now < entry->expires;
  }
  if (fresh) {
    return entry->items;
  }
  std::optional<AreaItems> fetched = fetch(area);
  entry->items = fetched ? std::make_shared<const AreaItems>(std::move(*fetched)) : nullptr;
  std::lock_guard lock(mutex_);
  entry->filled = true;
  entry->expires = now + ttl_;
  const auto kept = entries_.find(full_key);
  if (kept != entries_.end() && kept->second == entry) {  // not dropped by clear() meanwhile
    bytes_ -= entry->counted;
    entry->counted = entry->items ? entry->items->bytes : 0;
    bytes_ += entry->counted;
    evict_locked(full_key);
  }
  return entry->items;
}

void AreaCache::evict_locked(const std::string& keep) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = order_.begin(); it != order_.end();) {
    const auto entry = entries_.find(*it);
    const bool expired = entry->second->filled && entry->second->expires <= now;
    // Oldest first until the cache fits; expired entries whatever the size.
    if (*it != keep && (expired || bytes_ > max_bytes_)) {
      bytes_ -= entry->second->counted;
      entries_.erase(entry);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
}

void AreaCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  order_.clear();
  bytes_ = 0;
}

}  // namespace tessera::catalog::stac_api
