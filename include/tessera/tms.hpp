#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/geometry.hpp"

namespace tessera {

// A tile of a tile matrix set: zoom level (the tile matrix id), column x
// (eastwards) and row y (away from the matrix's corner of origin: southwards
// for topLeft, northwards for bottomLeft).
struct TESSERA_API Tile {
  int z = 0;
  std::int64_t x = 0;
  std::int64_t y = 0;

  friend bool operator==(const Tile&, const Tile&) = default;
};

// The tiles min_x..max_x by min_y..max_y (bounds included) of zoom z.
struct TESSERA_API TileRange {
  int z = 0;
  std::int64_t min_x = 0;
  std::int64_t min_y = 0;
  std::int64_t max_x = 0;
  std::int64_t max_y = 0;

  friend bool operator==(const TileRange&, const TileRange&) = default;
};

// One zoom level of a tile matrix set (OGC TMS 2.0 "tileMatrix").
struct TESSERA_API TileMatrix {
  std::string id;  // the zoom level as text, e.g. "12"
  double scale_denominator = 0;
  double cell_size = 0;  // CRS units per pixel
  // The corner of origin in x/y (east/north) order, whatever the CRS's axis order.
  double origin_x = 0;
  double origin_y = 0;
  int tile_width = 0;
  int tile_height = 0;
  std::int64_t matrix_width = 0;
  std::int64_t matrix_height = 0;
  bool origin_bottom_left = false;  // cornerOfOrigin "bottomLeft": row 0 is the southernmost
};

// How zoom_for_resolution rounds a resolution that falls between two zoom
// levels (GDAL's COG driver ZOOM_LEVEL_STRATEGY, as in morecantile).
enum class ZoomStrategy {
  kAuto,   // the closer of the two levels
  kLower,  // the coarser level
  kUpper,  // the finer level
};

// An OGC Two Dimensional Tile Matrix Set 2.0, with the semantics and numbers
// of morecantile (the tiling used by rio-tiler and TiTiler). Zoom levels are
// the tile matrix ids, which must be consecutive integers. Longitudes and
// latitudes are WGS84, in x/y order (morecantile uses the CRS's own datum,
// e.g. ETRS89 for EPSG:3035: the same numbers wherever PROJ equates the two).
// Cheap to copy; copies share the reprojection state, and every method may be
// called from any thread.
class TESSERA_API TileMatrixSet {
 public:
  // Reads a TMS 2.0 document. Problems are InvalidInput naming the member
  // (e.g. "tileMatrices[3].cellSize"); TMS 1.0 documents, MD_ReferenceSystem
  // CRSs and variable matrix widths are Unsupported.
  static TileMatrixSet from_json(const nlohmann::json& document);
  static TileMatrixSet from_json_text(std::string_view text);

  // The OGC's WebMercatorQuad (EPSG:3857, zoom 0..24) and WorldCRS84Quad
  // (OGC:CRS84, zoom 0..23, two tiles at zoom 0), number for number.
  static TileMatrixSet web_mercator_quad();
  static TileMatrixSet world_crs84_quad();

  // A quad tree over `extent` (in the CRS's x/y order), as
  // morecantile.TileMatrixSet.custom with its defaults: at zoom 0 one square
  // tile from the extent's top-left corner whose side is the extent's longer
  // side; each level halves the cell size and doubles the tiles in each
  // direction. 0 <= min_zoom <= max_zoom <= 30.
  static TileMatrixSet custom(const Crs& crs, const Bbox& extent, int min_zoom, int max_zoom, int tile_size = 256,
                              std::string id = "");

  // A built-in set by id, or "EPSG:<code>": custom() over that CRS's area of
  // use, zoom 0..24, with the name as id. NotFound for other names.
  static TileMatrixSet from_name(std::string_view name);
  static std::vector<std::string> builtin_names();

  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  [[nodiscard]] const Crs& crs() const noexcept { return crs_; }
  [[nodiscard]] int min_zoom() const noexcept { return min_zoom_; }
  [[nodiscard]] int max_zoom() const noexcept { return min_zoom_ + static_cast<int>(matrices_.size()) - 1; }
  // InvalidInput for a zoom outside the set, naming the valid range.
  [[nodiscard]] const TileMatrix& matrix(int z) const;
  // The TMS 2.0 document: from_json(to_json()) gives the same set.
  [[nodiscard]] nlohmann::json to_json() const;

  // The tile's extent in the set's CRS (x/y order). InvalidInput for a tile
  // outside the set.
  [[nodiscard]] Bbox xy_bounds(const Tile& tile) const;
  // The WGS84 longitudes/latitudes of the tile's upper-left and lower-right
  // corners (as morecantile's bounds: the corners, not the densified envelope).
  [[nodiscard]] Bbox bounds(const Tile& tile) const;
  // The tile containing a WGS84 point. Points beyond the set's extent give
  // the nearest tile on its edge; a point on a tile edge belongs to the tile
  // east/south of it (for topLeft origins). InvalidInput for a latitude
  // beyond ±90 or a point the CRS cannot express.
  [[nodiscard]] Tile tile(double lon, double lat, int z) const;
  // The tiles covering a WGS84 bbox, clamped to the set's extent, as
  // morecantile's tiles(): a bbox that only touches a tile edge does not
  // reach into the next tile. A bbox crossing the antimeridian (minx > maxx)
  // gives two ranges, the western hemisphere part first.
  [[nodiscard]] std::vector<TileRange> tile_ranges(const Bbox& wgs84_bbox, int z) const;
  [[nodiscard]] bool tile_exists(const Tile& tile) const noexcept;
  // InvalidInput "tile 3/9/2 is outside WebMercatorQuad (zoom 3: x 0..7, y 0..7)".
  void check_tile(const Tile& tile) const;

  // The cell size of zoom z in CRS units.
  [[nodiscard]] double resolution(int z) const { return matrix(z).cell_size; }
  // The zoom level for a resolution in CRS units (morecantile zoom_for_res).
  [[nodiscard]] int zoom_for_resolution(double resolution, ZoomStrategy strategy = ZoomStrategy::kAuto) const;

 private:
  struct Projection;

  TileMatrixSet(std::string id, Crs crs, nlohmann::json crs_member, nlohmann::json metadata, bool axes_inverted,
                std::vector<TileMatrix> matrices, int min_zoom);
  Projection& projection() const;
  [[nodiscard]] std::string name() const;
  [[nodiscard]] Bbox extent() const;

  std::string id_;
  Crs crs_;
  nlohmann::json crs_member_;  // the document's "crs", written back by to_json
  nlohmann::json metadata_;    // id, title, description, keywords, uri, orderedAxes, wellKnownScaleSet, boundingBox
  bool axes_inverted_;         // pointOfOrigin is northing first in the document
  std::vector<TileMatrix> matrices_;
  int min_zoom_;
  std::shared_ptr<Projection> projection_;
};

// The zoom levels at which a raster is worth showing, computed as rio-tiler
// does for a dataset (minzoom/maxzoom of its readers): the raster's pixel size
// in the set's CRS (GDAL's suggested warp output when the CRSs differ) gives
// the max zoom; the pixel size at the first power-of-two reduction whose
// smaller side fits in one tile gives the min zoom (rio-tiler assumes such
// overviews whether or not the file has them, so the file's own overviews
// do not matter).
struct TESSERA_API ZoomRange {
  int min_zoom = 0;
  int max_zoom = 0;

  friend bool operator==(const ZoomRange&, const ZoomRange&) = default;
};

// `geotransform` is GDAL's: {origin x, pixel width, row rotation, origin y,
// column rotation, pixel height}. InvalidInput when the raster cannot be
// placed in the set's CRS (where rio-tiler warns and falls back to the set's
// own zoom range).
TESSERA_API ZoomRange zoom_range_for_raster(const TileMatrixSet& tms, const Crs& raster_crs,
                                            const std::array<double, 6>& geotransform, int width, int height);

}  // namespace tessera
