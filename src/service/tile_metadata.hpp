#pragma once

// What a tile source says about itself in the OGC forms TiTiler serves: the
// tile matrix sets (/tileMatrixSets, OGC API Tiles' tiling schemes), the
// tilesets of a source (/tiles, /tiles/{tileMatrixSetId}: bounds and the
// tile ranges of each zoom) and the WMTS 1.0 RESTful GetCapabilities
// document (/WMTSCapabilities.xml), for every source the tile routes serve
// (one raster, a registered search, a collection, an item). Internal header.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "tessera/geometry.hpp"
#include "tessera/service.hpp"
#include "tessera/tms.hpp"

namespace tessera::service {

// A tile source as these documents describe it.
struct TileSourceMetadata {
  std::string url;    // the source's public URL: its tiles are at {url}/tiles/{tms}/{z}/{x}/{y}
  std::string title;  // the WMTS layers' names start with it
  Bbox bounds;        // WGS84 (lon/lat)
  // The zoom range of the source in a tile matrix set (e.g. from a raster's
  // resolution); unset: the whole set's.
  std::function<std::pair<int, int>(const TileMatrixSet&)> zooms;
  // The source's renders (name -> STAC render object): WMTS layers besides
  // the one the request's own parameters describe.
  nlohmann::json renders = nlohmann::json::object();
  // Whether the request's parameters alone can draw a tile (a mosaic needs
  // assets or an expression; a raster needs nothing more): the WMTS document
  // then has a "default" layer with them.
  bool request_draws = true;
};

// GET /tileMatrixSets: every tile matrix set the routes accept by name, with
// a link to its definition.
nlohmann::json tile_matrix_set_list(const HttpRequest& request);
// GET /tileMatrixSets/{id}: the OGC TMS 2.0 document; 404 for an unknown id.
nlohmann::json tile_matrix_set_document(std::string_view id);

// GET {source}/tiles: one tileset per tile matrix set.
nlohmann::json tileset_list(const HttpRequest& request, const TileSourceMetadata& source);
// GET {source}/tiles/{tms}: the tileset with its tile ranges per zoom
// (minzoom/maxzoom parameters override the source's range).
nlohmann::json tileset(const HttpRequest& request, const TileSourceMetadata& source, const TileMatrixSet& tms);

// GET {source}/WMTSCapabilities.xml: a layer per tile matrix set and render
// (and for the request's own parameters), as TiTiler writes them
// (tile_format, use_epsg, zooms=<tms>::<min>,<max>). 400 when no layer can be
// drawn.
std::string wmts_capabilities(const HttpRequest& request, const TileSourceMetadata& source);

}  // namespace tessera::service
