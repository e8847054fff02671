#pragma once

// Overview pyramids: the low zooms of a registered search's mosaic kept as
// stored tiles (raw values and mask, compressed, in one SQLite file per
// search), built once and then kept current from the catalog's item change
// events, so a z3 tile over thousands of items is one stored read.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/export.hpp"
#include "tessera/image.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tessera {

// How a parent tile is made from its four children (each parent pixel from
// the 2x2 child pixels under it).
enum class PyramidResampling {
  kAverage,  // the mean of the valid child pixels (integers rounded half away from zero); valid if any is
  kNearest,  // the lower-right child pixel (GDAL's nearest for a halving), valid as it is: categorical data
};
// "average" | "nearest".
TESSERA_API PyramidResampling pyramid_resampling_from_name(std::string_view name);
TESSERA_API std::string_view pyramid_resampling_name(PyramidResampling resampling) noexcept;
TESSERA_API std::vector<std::string> pyramid_resampling_names();

// The most tiles the base level's tile matrix may have (a pyramid to zoom 8
// of WebMercatorQuad has 65,536): larger max zooms are refused before
// anything is built.
inline constexpr std::int64_t kMaxPyramidBaseTiles = 65536;

struct TESSERA_API PyramidOptions {
  std::string tms = "WebMercatorQuad";  // a built-in set whose every zoom halves the one before (quadtree)
  int max_zoom = 6;                     // the base level, built from the items; levels below from it
  int tile_size = 256;                  // pixels per side of the stored tiles (16..1024)
  PyramidResampling resampling = PyramidResampling::kAverage;
  // What the base tiles are read with: assets, expression, pixel selection
  // and the caps of each base tile (as Mosaic::tile).
  MosaicOptions mosaic;

  // {"tms", "maxzoom", "tilesize", "resampling", "assets", "expression",
  //  "method", "max_items_scanned", "max_items_read", "time_budget_ms", "skip_covered"}.
  [[nodiscard]] nlohmann::json to_json() const;
  // The same keys, each optional; InvalidInput names an unknown key or bad value.
  static PyramidOptions from_json(const nlohmann::json& options);
};

// What build() and update() did.
struct TESSERA_API PyramidUpdate {
  std::int64_t cursor = 0;        // the last item change the pyramid holds
  std::size_t changes = 0;        // item change events read
  std::size_t cells_rebuilt = 0;  // base tiles read again from the items
  std::size_t cells_capped = 0;   // of those, tiles a cap stopped early (MosaicOptions): raise the caps
  std::size_t tiles_written = 0;  // tiles stored, every level
  std::size_t tiles_removed = 0;  // tiles deleted because no item has data there any more

  // {"cursor", "changes", "cells_rebuilt", "cells_capped", "tiles_written", "tiles_removed"}.
  [[nodiscard]] nlohmann::json to_json() const;
};

// The pyramid of one registered search, stored in `<directory>/<search id>.pyramid`.
// The catalog must outlive it. tile() may be called from several threads
// while another thread (or process) runs update(): readers see the tiles
// as they were before or after an update, never half of one.
class TESSERA_API Pyramid {
 public:
  // Builds the pyramid of registered search `search_id` from its items and
  // replaces any pyramid stored for it. The cursor starts at the catalog's
  // newest item change taken before the items are read, so changes made
  // during the build are applied by the next update(). NotFound for an
  // unknown search; InvalidInput for bad options (a base level above
  // kMaxPyramidBaseTiles tiles is refused before any read).
  static Pyramid build(Catalog& catalog, const std::filesystem::path& directory, std::string_view search_id,
                       const PyramidOptions& options = {});
  // The pyramid stored for `search_id`; NotFound when there is none.
  static Pyramid open(Catalog& catalog, const std::filesystem::path& directory, std::string_view search_id);
  // Whether a pyramid is stored for `search_id` (InvalidInput for an id that
  // cannot name a file).
  static bool exists(const std::filesystem::path& directory, std::string_view search_id);

  // Applies the item changes after the cursor: the base tiles under each
  // change's old and new bbox are read again from the items, their ancestors
  // rebuilt, and the cursor advanced, all in one transaction.
  PyramidUpdate update();

  [[nodiscard]] const std::string& search_id() const noexcept;
  [[nodiscard]] const PyramidOptions& options() const noexcept;
  [[nodiscard]] const TileMatrixSet& tms() const noexcept;
  // The last item change applied.
  [[nodiscard]] std::int64_t cursor() const;
  // {"search_id", "path", "options", "cursor", "built" (what the build did, as
  // PyramidUpdate::to_json), "levels": [{"z", "tiles", "bytes"}]}.
  [[nodiscard]] nlohmann::json info() const;

  // Whether a mosaic tile asked for with these parameters is the pyramid's
  // to answer: the same tile matrix set and tile size, a zoom up to
  // max_zoom, the assets, expression and method the pyramid stores, and
  // read options that change nothing (no indexes, nodata, unscale, buffer or
  // expression of their own). Otherwise the live mosaic must answer.
  [[nodiscard]] bool serves(const TileMatrixSet& tms, const Tile& tile, int tile_size, const MosaicOptions& mosaic,
                            const ReadOptions& read = {}) const;
  // The stored tile z/x/y (z <= max_zoom): its values and mask, with
  // metadata {"source": "pyramid", "pyramid_maxzoom"}. NotFound when no item
  // has data there; InvalidInput for a tile outside the pyramid.
  [[nodiscard]] ImageData tile(const Tile& tile) const;

 private:
  struct State;
  explicit Pyramid(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace tessera
