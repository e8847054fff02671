#pragma once

// The in-memory index over AOIs: a GEOS STR-tree over each AOI's parts for
// the prefilter, prepared geometries for the exact test, then the AOI's other
// rules. Not thread-safe: the Matcher serialises access.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "matching/definitions.hpp"
#include "matching/geos_handles.hpp"
#include "matching/spectrum.hpp"
#include "tessera/geometry.hpp"
#include "tessera/matching.hpp"

namespace tessera::matching {

// What the rules read from an item, read once per item.
struct ItemFacts {
  const nlohmann::json* item = nullptr;
  std::string collection;
  std::optional<std::int64_t> start;  // µs: start_datetime or datetime
  std::optional<std::int64_t> end;    // µs: end_datetime or datetime
  std::optional<double> cloud_cover;
  ItemSpectrum spectrum;
  Geometry geometry;
};

// InvalidInput naming the item for a missing/invalid geometry or malformed band metadata.
ItemFacts read_item(const nlohmann::json& item);

struct Envelope {
  double minx = 0, miny = 0, maxx = 0, maxy = 0;
  [[nodiscard]] bool intersects(const Envelope& other) const noexcept {
    return minx <= other.maxx && other.minx <= maxx && miny <= other.maxy && other.miny <= maxy;
  }
  [[nodiscard]] bool contains(const Envelope& other) const noexcept {
    return minx <= other.minx && other.maxx <= maxx && miny <= other.miny && other.maxy <= maxy;
  }
};

class AoiIndex {
 public:
  AoiIndex();
  ~AoiIndex();
  AoiIndex(const AoiIndex&) = delete;
  AoiIndex& operator=(const AoiIndex&) = delete;

  // Adds or replaces (same id) an AOI.
  void add(const Aoi& aoi);
  // False when no AOI has this id.
  bool remove(const std::string& id);
  void clear();
  [[nodiscard]] std::size_t size() const noexcept { return by_id_.size(); }

  // The AOIs the item meets, ordered by (model, aoi).
  std::vector<Match> match(const ItemFacts& item);

 private:
  struct Entry;
  // The item's geometry in GEOS, prepared on first need.
  struct ItemGeometry {
    GeosGeometry geometry;
    GeosPrepared prepared;
    Envelope envelope;
    bool is_rectangle = false;
    std::string id;
  };
  void rebuild();
  [[nodiscard]] bool meets(const Entry& entry, const ItemFacts& item, ItemGeometry& geometry) const;
  [[nodiscard]] bool geometry_meets(const Entry& entry, ItemGeometry& geometry) const;

  // Declared first so it is destroyed last: every handle below belongs to it.
  GeosContext context_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::unordered_map<std::string, std::size_t> by_id_;  // id -> position in entries_
  GeosTree tree_;
  std::size_t indexed_ = 0;  // entries_[0, indexed_) are in tree_; later ones are scanned
  std::size_t removed_ = 0;  // entries marked removed, dropped at the next rebuild
};

}  // namespace tessera::matching
