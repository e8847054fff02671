#pragma once

// The items a mosaic tile reads: the mosaic's search restricted to the tile,
// the assets each item contributes, and reading one item through the data
// cache. Internal header.

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/error.hpp"
#include "tessera/image.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "tiling/expression.hpp"

namespace tessera::mosaic {

// A band an expression variable reads from an item's stack of asset bands.
struct StackBand {
  std::string name;   // "<asset>_b<n>" (or the asset with asset_as_band); empty for `position`
  int position = -1;  // rio-tiler 9's "b<n>": the n-th band of the stack, 0-based
};

// What every item contributes: the assets read (with their bands), and the
// expression over the stack when there is one.
struct ItemPlan {
  std::vector<AssetSelection> assets;
  bool asset_as_band = false;
  std::optional<tiling::Expression> expression;
  std::vector<StackBand> variables;  // aligned with expression->variables()
};

// A band the request selects that an asset does not have (or an asset_as_band
// asset giving several): a request error, failing the tile or point rather
// than skipping the item (a mosaic's items share their assets' layout, so
// skipping would only hide the mistake).
class BandSelectionError : public Error {
 public:
  explicit BandSelectionError(const std::string& message) : Error(ErrorCode::kInvalidInput, message) {}
};

// Rethrows `error` when it is a BandSelectionError; otherwise returns.
void rethrow_band_selection_error(const std::exception_ptr& error);

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
// are none, the expression names no band, mixes "b<n>" with "<asset>_b<n>",
// or counts "b<n>" without assets to count them in.
ItemPlan plan_items(const MosaicOptions& options, const ReadOptions& read);

// The items of `search` intersecting `geometry` (WGS84 GeoJSON), in the
// search's order, at most `max_items`.
ScanResult scan_items(Catalog& catalog, const nlohmann::json& search, const nlohmann::json& geometry,
                      const std::vector<AssetSelection>& assets, std::size_t max_items);

// What assets_for_tile/point answer: each item with the hrefs it would be read from.
nlohmann::json describe_items(const ScanResult& scan);

// The tile's footprint as a WGS84 GeoJSON polygon.
nlohmann::json tile_geometry(const TileMatrixSet& tms, const Tile& tile);

// One asset of an item read onto the mosaic's grid (nullopt: no data there).
using AssetRead = std::function<std::optional<ImageData>(const std::string& href, const ReadOptions& read)>;

// An asset's tile through the data cache (hits and misses counted in `counts`).
std::optional<ImageData> cached_asset_tile(const std::string& href, const TileMatrixSet& tms, const Tile& tile,
                                           int tile_size, const ReadOptions& read, CacheCounts& counts);

// The item's assets read with `read_asset` (each with its selected bands),
// stacked into one image (bands "<asset>_b<n>", or the asset's name with
// asset_as_band; valid where every asset is), then the expression when there
// is one; nullopt when the item has no data on the grid. Throws when an asset
// is missing or unreadable; BandSelectionError when a selected band does not
// exist.
std::optional<ImageData> read_item(const Candidate& candidate, const ItemPlan& plan, const ReadOptions& read,
                                   const AssetRead& read_asset);

}  // namespace tessera::mosaic
