#pragma once

// The STAC render extension (v2.0.0) as the tile routes read it, and the
// links from the STAC API's items and collections to the tile routes (what
// eoAPI's TiTiler extension adds): a collection's renders, their preset
// query parameters, and the decoration of served items and collections.
// Internal header.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

// A collection's renders: its own "renders" object, else renders derived
// from its "item_assets" when the choice is unambiguous (an asset named
// "visual"; else the only GeoTIFF/COG or JPEG 2000 asset with a data or
// visual role), else an empty object.
nlohmann::json renders_of(const nlohmann::json& collection);

// A render's fields as the tile routes' query parameters: assets (repeated),
// expression, rescale (one "min,max" per pair), nodata, colormap_name,
// colormap (JSON text), color_formula, resampling, and minmax_zoom as
// minzoom and maxzoom. Other fields (title, tilematrixsets) are not parameters.
std::vector<std::pair<std::string, std::string>> render_parameters(const nlohmann::json& render);

// `request` with the parameters of the render its `render_id` names among
// `renders` added as presets: a preset is left out when the request gives a
// parameter of its group itself ({assets, expression}, {colormap,
// colormap_name}, each other name alone), so explicit parameters win.
// Without render_id, `request` unchanged; BadParameter("render_id") when
// `renders` has no such render.
HttpRequest with_render(const HttpRequest& request, const nlohmann::json& renders);

// Adds the tile links to items and collections served by the STAC API: for
// each render a collection's items can be drawn with, a `tilejson` link on
// the item (its /collections/{c}/items/{i}/WebMercatorQuad/tilejson.json with
// the render's parameters); without renders, one for an item asset named
// "visual". Collections get their derived `renders` (when they have none)
// and a `tiles` link per render to their mosaic's TileJSON. One object per
// request: each collection's renders are read from the catalog once.
class TileLinks {
 public:
  TileLinks(Catalog& catalog, std::string base) : catalog_(catalog), base_(std::move(base)) {}

  void add_to_item(nlohmann::json& item);
  void add_to_collection(nlohmann::json& collection) const;

 private:
  const nlohmann::json& renders_for(const std::string& collection_id);

  Catalog& catalog_;
  std::string base_;
  std::map<std::string, nlohmann::json> renders_by_collection_;
};

}  // namespace tessera::service
