#pragma once

// Dynamic mosaics: tiles built from every catalog item a search matches, as
// titiler-pgstac serves them, with early exit and a cache of decoded data.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/export.hpp"
#include "tessera/image.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tessera {

// How overlapping items fill a pixel (rio-tiler's pixel-selection methods).
enum class PixelSelection {
  kFirst,         // the first item in search order with data; stops once every pixel is filled
  kHighest,       // the highest value, band by band
  kLowest,        // the lowest value, band by band
  kMean,          // mean of the items with data, in the first item's data type
  kMedian,        // median of the items with data, in the first item's data type
  kStdev,         // population standard deviation (float64)
  kCount,         // how many items have data (one uint8 band; int32 from 256 items on)
  kLastBandHigh,  // the item whose last band is highest (that band is dropped from the output)
  kLastBandLow,   // the item whose last band is lowest (that band is dropped from the output)
};
// "first", "highest", "lowest", "mean", "median", "stdev", "count",
// "last-band-high", "last-band-low" (TiTiler's "lastbandhigh"/"lastbandlow" too).
TESSERA_API PixelSelection pixel_selection_from_name(std::string_view name);
TESSERA_API std::string_view pixel_selection_name(PixelSelection method) noexcept;
// The canonical names, in enum order (not the TiTiler spellings).
TESSERA_API std::vector<std::string> pixel_selection_names();

// One asset read from every item and the bands taken from it: rio-tiler's
// AssetWithOptions {"name", "indexes"}, TiTiler 2's `assets=B04|bidx=1,2`.
struct TESSERA_API AssetSelection {
  AssetSelection() = default;
  // Implicit: a bare name reads the asset's bands as ReadOptions::indexes says.
  AssetSelection(std::string asset, std::vector<int> band_indexes = {})  // NOLINT(google-explicit-constructor)
      : name(std::move(asset)), indexes(std::move(band_indexes)) {}
  AssetSelection(const char* asset) : name(asset) {}  // NOLINT(google-explicit-constructor): `assets = {"B04"}`

  std::string name;
  // 1-based band indexes of this asset; empty: ReadOptions::indexes, else
  // every band but alpha.
  std::vector<int> indexes;

  friend bool operator==(const AssetSelection&, const AssetSelection&) = default;
};
// TiTiler 2's text form "<asset>[|bidx=<i>,<j>...]": a name alone, or with
// its band indexes. InvalidInput naming what is wrong: an empty name, an
// option without '=', a key other than bidx (TiTiler's per-asset
// "expression" and "bands" are refused as unsupported), a repeated key, an
// index that is not an integer from 1.
TESSERA_API AssetSelection asset_selection_from_text(std::string_view text);
// rio-tiler's shape in JSON: the text form as a string, or an object
// {"name": "B04", "indexes": [1, 2]} (what the C ABI and Python take).
// InvalidInput naming the fault (another type, an unknown key, an index that
// is not an integer from 1).
TESSERA_API AssetSelection asset_selection_from_json(const nlohmann::json& value);
// The text form back ("B04|bidx=1,2", or the bare name).
TESSERA_API std::string asset_selection_text(const AssetSelection& selection);

struct TESSERA_API MosaicOptions {
  // Assets read from every item, their bands stacked in this order and named
  // "<asset>_b<index>" (the asset's own band index, as rio-tiler 9's band
  // descriptions and rio-tiler 7's band names). May be empty when
  // `expression` names "<asset>_b<n>" bands.
  std::vector<AssetSelection> assets;
  // Band math over the bands read. Two spellings: rio-tiler 9's "b<n>", the
  // n-th band of the stack `assets` make ("(b2 - b1) / (b2 + b1)"); or
  // rio-tiler 7's "<asset>_b<n>" ("(B08_b1 - B04_b1) / (B08_b1 + B04_b1)"),
  // which names the assets itself (`assets` is then not read), and with
  // `asset_as_band` an asset's name alone ("(B08 - B04) / (B08 + B04)"; the
  // band `assets` selects for it when it lists the asset).
  std::string expression;
  // Each asset gives one band, named after the asset (an asset giving more
  // is InvalidInput).
  bool asset_as_band = false;
  PixelSelection method = PixelSelection::kFirst;
  // Caps per tile: items taken from the search, items read, wall time. A cap
  // that stops a tile early is named in the tile's metadata["stopped_by"].
  std::size_t max_items_scanned = 1000;
  std::size_t max_items_read = 100;
  std::chrono::milliseconds time_budget{5000};
  // Items whose footprint lies wholly on pixels already filled are not
  // opened (method "first").
  bool skip_covered = true;
};

// Statistics over a mosaic (Mosaic::statistics): per band, and the items used.
struct TESSERA_API MosaicStatistics {
  std::vector<BandStatistics> bands;
  std::vector<std::string> assets;
};

// The options checked as Mosaic's constructor checks them, without a
// catalog: positive caps, assets or an expression over them that parses and
// names bands in one of its two spellings. InvalidInput saying what is wrong.
TESSERA_API void check_mosaic_options(const MosaicOptions& options);

// A mosaic over a catalog search. The catalog must outlive the mosaic.
// tile() may be called from several threads at once.
class TESSERA_API Mosaic {
 public:
  // `search` is a request as Catalog::search takes it (its order decides
  // which item comes first; default datetime descending).
  Mosaic(Catalog& catalog, nlohmann::json search, MosaicOptions options = {});
  // The search registered under `search_id` (Catalog::register_search); NotFound.
  static Mosaic from_registered(Catalog& catalog, std::string_view search_id, MosaicOptions options = {});

  [[nodiscard]] const nlohmann::json& search() const noexcept { return search_; }
  [[nodiscard]] const MosaicOptions& options() const noexcept { return options_; }

  // The names of the assets every item is read with under `read`: those an
  // expression names ("<asset>_b<n>"; read.expression, else the mosaic's),
  // else the mosaic's assets. InvalidInput when there are none or the
  // expression does not parse.
  [[nodiscard]] std::vector<std::string> assets_read(const ReadOptions& read = {}) const;

  // The tile z/x/y of `tms` built from the items intersecting it. The image's
  // `assets` lists the items used and `metadata` how the tile was built; an
  // item that cannot be read is skipped and listed in metadata["failed"] and
  // `warnings`. NotFound when no item has data there; Io when every item
  // read failed. `read` sets resampling, nodata, unscale and buffer (its
  // indexes apply to each asset without indexes of its own; its expression,
  // when set, replaces the mosaic's). An index beyond an asset's bands, or a
  // "b<n>" beyond the stack, is InvalidInput naming the asset and its band
  // count (a request error: the tile fails, the item is not skipped).
  [[nodiscard]] ImageData tile(const TileMatrixSet& tms, const Tile& tile, int tile_size = 256,
                               const ReadOptions& read = {}) const;

  // The area `bbox` (in part.bbox_crs) on a grid in part.dst_crs (default:
  // part.bbox_crs) of part.width x part.height pixels (one of them set: the
  // other keeps the box's aspect), else part.max_size on the longest side;
  // built like a tile from the items intersecting it, each read onto that
  // grid. InvalidInput when width, height and max_size are all 0 (a mosaic
  // has no native resolution); otherwise as tile().
  [[nodiscard]] ImageData part(const Bbox& bbox, const PartOptions& part = {}, const ReadOptions& read = {}) const;
  // The part over a GeoJSON Feature's or geometry's bounding box (in
  // part.bbox_crs), pixels the shape does not touch masked (rio-tiler's
  // mosaic feature: all-touched).
  [[nodiscard]] ImageData feature(const nlohmann::json& geojson, const PartOptions& part = {},
                                  const ReadOptions& read = {}) const;
  // The part over `bounds` (WGS84), else the union of the bounding boxes of
  // the items the search matches (at most max_items_scanned of them), in
  // part.dst_crs (default WGS84), part.max_size on the longest side.
  // NotFound when the search matches no item with a bbox.
  [[nodiscard]] ImageData preview(const std::optional<Bbox>& bounds = std::nullopt, const PartOptions& part = {},
                                  const ReadOptions& read = {}) const;
  // Statistics of the pixels a GeoJSON Feature or Polygon/MultiPolygon
  // geometry (in part.bbox_crs) covers, over the part of its bounding box:
  // exact coverage-weighted by default (see StatisticsOptions::cover_scale).
  [[nodiscard]] MosaicStatistics statistics(const nlohmann::json& geojson, const StatisticsOptions& statistics = {},
                                            const PartOptions& part = {}, const ReadOptions& read = {}) const;

  // The items (id, collection, bbox, the selected assets with their hrefs) the
  // tile would read, in order, up to max_items_scanned.
  [[nodiscard]] nlohmann::json assets_for_tile(const TileMatrixSet& tms, const Tile& tile) const;
  // The same for the items whose footprint contains a WGS84 point.
  [[nodiscard]] nlohmann::json assets_for_point(double lon, double lat) const;
  // The values at a WGS84 point of every item under it, for each of the
  // mosaic's assets, in search order: {"coordinates": [lon, lat], "values":
  // [{"id", "collection", "values": [v | null], "band_names": ["<asset>_b1", ...]}]}
  // (each asset's bands as its selection or read.indexes say; named after the
  // asset with asset_as_band).
  // Bounded like a tile: at most max_items_read items, and the time budget
  // covers the scan and the reads ("stopped_by" names a cap that cut it short).
  // InvalidInput when the mosaic has no assets (an expression alone is not read here).
  [[nodiscard]] nlohmann::json point(double lon, double lat, const ReadOptions& read = {}) const;

 private:
  Catalog* catalog_;
  nlohmann::json search_;
  MosaicOptions options_;
};

}  // namespace tessera
