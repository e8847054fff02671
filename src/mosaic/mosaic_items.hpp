#pragma once

// The items a mosaic tile reads: the mosaic's search restricted to the tile,
// the assets each item contributes, and reading one item through the data
// cache. Internal header.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/image.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "tiling/expression.hpp"

namespace tessera::mosaic {

// One asset band a mosaic reads: "<asset>_b<n>".
struct AssetBand {
  std::string asset;
  int band = 0;
};

// What every item contributes: the assets read, and the expression over
// their bands when there is one.
struct ItemPlan {
  std::vector<std::string> assets;
  std::optional<tiling::Expression> expression;
  std::vector<AssetBand> variables;  // aligned with expression->variables()
};

// An item a tile may read: its assets' hrefs and its footprint.
struct Candidate {
  std::string id;
  std::string collection;
  std::vector<double> bbox;                                // as the item has it; empty when absent
  std::vector<std::pair<std::string, std::string>> hrefs;  // (asset, href), in plan order
  std::string missing_asset;                               // the first asset the item lacks
  std::string geometry;                                    // GeoJSON text, "null" for none
};

struct ScanResult {
  std::vector<Candidate> candidates;
  bool capped = false;  // max_items_scanned left items unvisited
};

// Data-cache hits and misses of a tile's reads, counted from the pool threads.
struct CacheCounts {
  std::atomic<std::uint64_t> hits = 0;
  std::atomic<std::uint64_t> misses = 0;
};

// The assets and expression every item is read with; InvalidInput when there
// are none or the expression names something other than "<asset>_b<n>".
ItemPlan plan_items(const MosaicOptions& options, const ReadOptions& read);

// The items of `search` intersecting `geometry` (WGS84 GeoJSON), in the
// search's order, at most `max_items`.
ScanResult scan_items(Catalog& catalog, const nlohmann::json& search, const nlohmann::json& geometry,
                      const std::vector<std::string>& assets, std::size_t max_items);

// What assets_for_tile/point answer: each item with the hrefs it would be read from.
nlohmann::json describe_items(const ScanResult& scan);

// The tile's footprint as a WGS84 GeoJSON polygon.
nlohmann::json tile_geometry(const TileMatrixSet& tms, const Tile& tile);

// One asset of an item read onto the mosaic's grid (nullopt: no data there).
using AssetRead = std::function<std::optional<ImageData>(const std::string& href, const ReadOptions& read)>;

// An asset's tile through the data cache (hits and misses counted in `counts`).
std::optional<ImageData> cached_asset_tile(const std::string& href, const TileMatrixSet& tms, const Tile& tile,
                                           int tile_size, const ReadOptions& read, CacheCounts& counts);

// The item's assets read with `read_asset`, stacked into one image (bands
// "<asset>_b<n>", valid where every asset is), then the expression when
// there is one; nullopt when the item has no data on the grid. Throws when
// an asset is missing or unreadable.
std::optional<ImageData> read_item(const Candidate& candidate, const ItemPlan& plan, const ReadOptions& read,
                                   const AssetRead& read_asset);

}  // namespace tessera::mosaic
