#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"

namespace tessera::python {

namespace {

using nlohmann::json;

// `assets`: None, or a list of names ("B04", "B04|bidx=1,2") and rio-tiler's
// {"name": "B04", "indexes": [1, 2]} dicts.
MosaicOptions mosaic_options(const py::object& assets, const std::optional<std::string>& expression, bool asset_as_band,
                             const std::string& method, std::size_t max_items_scanned, std::size_t max_items_read,
                             double time_budget, bool skip_covered) {
  if (!(time_budget > 0)) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: time_budget (seconds) must be positive");
  }
  MosaicOptions options;
  if (!assets.is_none()) {
    if (py::isinstance<py::str>(assets) || !py::isinstance<py::sequence>(assets)) {
      throw Error(ErrorCode::kInvalidInput, "mosaic: assets must be a list of names or {\"name\", \"indexes\"} dicts");
    }
    for (const py::handle asset : assets) {
      options.assets.push_back(asset_selection_from_json(to_json(py::reinterpret_borrow<py::object>(asset))));
    }
  }
  options.expression = expression.value_or("");
  options.asset_as_band = asset_as_band;
  options.method = pixel_selection_from_name(method);
  options.max_items_scanned = max_items_scanned;
  options.max_items_read = max_items_read;
  // Whole milliseconds, at least one.
  options.time_budget = std::chrono::milliseconds(std::max<std::int64_t>(1, std::llround(time_budget * 1000)));
  options.skip_covered = skip_covered;
  return options;
}

PartOptions part_options(const std::string& bbox_crs, const std::optional<std::string>& dst_crs, int max_size,
                         int width, int height) {
  return {bbox_crs, dst_crs.value_or(""), max_size, width, height};
}

}  // namespace

void bind_mosaic(py::module_& m) {
  const MosaicOptions defaults;
  py::class_<Mosaic>(m, "Mosaic", "Tiles built from every catalog item a search matches (the catalog must stay open).")
      .def(py::init([](Catalog& catalog, const py::object& search, const py::object& assets, const std::string& method,
                       const std::optional<std::string>& expression, std::size_t max_items_scanned,
                       std::size_t max_items_read, double time_budget, bool skip_covered, bool asset_as_band) {
             const json request = search.is_none() ? json::object() : to_json(search);
             const MosaicOptions options = mosaic_options(assets, expression, asset_as_band, method, max_items_scanned,
                                                          max_items_read, time_budget, skip_covered);
             py::gil_scoped_release release;
             return Mosaic(catalog, request, options);
           }),
           py::keep_alive<1, 2>(), py::arg("catalog"), py::arg("search"), py::arg("assets") = py::none(),
           py::arg("method") = "first", py::arg("expression") = py::none(),
           py::arg("max_items_scanned") = defaults.max_items_scanned,
           py::arg("max_items_read") = defaults.max_items_read,
           py::arg("time_budget") = static_cast<double>(defaults.time_budget.count()) / 1000,
           py::arg("skip_covered") = defaults.skip_covered, py::arg("asset_as_band") = defaults.asset_as_band)
      .def_static(
          "from_registered",
          [](Catalog& catalog, const std::string& search_id, const py::object& assets, const std::string& method,
             const std::optional<std::string>& expression, std::size_t max_items_scanned, std::size_t max_items_read,
             double time_budget, bool skip_covered, bool asset_as_band) {
            const MosaicOptions options = mosaic_options(assets, expression, asset_as_band, method, max_items_scanned,
                                                         max_items_read, time_budget, skip_covered);
            py::gil_scoped_release release;
            return Mosaic::from_registered(catalog, search_id, options);
          },
          py::keep_alive<0, 1>(), py::arg("catalog"), py::arg("search_id"), py::arg("assets") = py::none(),
          py::arg("method") = "first", py::arg("expression") = py::none(),
          py::arg("max_items_scanned") = defaults.max_items_scanned,
          py::arg("max_items_read") = defaults.max_items_read,
          py::arg("time_budget") = static_cast<double>(defaults.time_budget.count()) / 1000,
          py::arg("skip_covered") = defaults.skip_covered, py::arg("asset_as_band") = defaults.asset_as_band)
      .def_property_readonly("search", [](const Mosaic& mosaic) { return from_json(mosaic.search()); })
      .def(
          "tile",
          [](const Mosaic& mosaic, const py::object& x, const py::object& y, const py::object& z, const py::object& tms,
             int tilesize, const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
             const std::string& resampling, const std::optional<double>& nodata, const std::string& reproject,
             bool unscale, double buffer) {
            const Tile tile = tile_from(x, y, z);
            const TileMatrixSet matrix_set = tms_from(tms);
            const ReadOptions options =
                read_options(indexes, expression, resampling, reproject, nodata, unscale, buffer);
            py::gil_scoped_release release;
            return mosaic.tile(matrix_set, tile, tilesize, options);
          },
          py::arg("x"), py::arg("y") = py::none(), py::arg("z") = py::none(), py::arg("tms") = "WebMercatorQuad",
          py::arg("tilesize") = 256, py::arg("indexes") = py::none(), py::arg("expression") = py::none(),
          py::arg("resampling") = "nearest", py::arg("nodata") = py::none(), py::arg("reproject") = "nearest",
          py::arg("unscale") = false, py::arg("buffer") = 0.0,
          "The tile (x, y, z) (or a Tile) as an ImageData; .assets lists the items used, .metadata how the tile was "
          "built.")
      .def(
          "assets_for_tile",
          [](const Mosaic& mosaic, const py::object& x, const py::object& y, const py::object& z,
             const py::object& tms) {
            const Tile tile = tile_from(x, y, z);
            const TileMatrixSet matrix_set = tms_from(tms);
            json items;
            {
              py::gil_scoped_release release;
              items = mosaic.assets_for_tile(matrix_set, tile);
            }
            return from_json(items);
          },
          py::arg("x"), py::arg("y") = py::none(), py::arg("z") = py::none(), py::arg("tms") = "WebMercatorQuad")
      .def(
          "point",
          [](const Mosaic& mosaic, double lon, double lat, const std::optional<std::vector<int>>& indexes,
             const std::string& resampling, const std::optional<double>& nodata, bool unscale) {
            const ReadOptions options = read_options(indexes, std::nullopt, resampling, "nearest", nodata, unscale, 0);
            json values;
            {
              py::gil_scoped_release release;
              values = mosaic.point(lon, lat, options);
            }
            return from_json(values);
          },
          py::arg("lon"), py::arg("lat"), py::arg("indexes") = py::none(), py::arg("resampling") = "nearest",
          py::arg("nodata") = py::none(), py::arg("unscale") = false,
          "Values of every item under a WGS84 point for each asset, in search order, within the mosaic's caps.")
      .def(
          "part",
          [](const Mosaic& mosaic, const std::vector<double>& bbox, const std::string& bbox_crs,
             const std::optional<std::string>& dst_crs, int max_size, int width, int height,
             const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
             const std::string& resampling, const std::optional<double>& nodata, const std::string& reproject,
             bool unscale) {
            if (bbox.size() != 4) {
              throw Error(ErrorCode::kInvalidInput, "part: bbox must be [minx, miny, maxx, maxy]");
            }
            const PartOptions part = part_options(bbox_crs, dst_crs, max_size, width, height);
            const ReadOptions options = read_options(indexes, expression, resampling, reproject, nodata, unscale, 0);
            py::gil_scoped_release release;
            return mosaic.part({bbox[0], bbox[1], bbox[2], bbox[3]}, part, options);
          },
          py::arg("bbox"), py::arg("bbox_crs") = "EPSG:4326", py::arg("dst_crs") = py::none(),
          py::arg("max_size") = 1024, py::arg("width") = 0, py::arg("height") = 0, py::arg("indexes") = py::none(),
          py::arg("expression") = py::none(), py::arg("resampling") = "nearest", py::arg("nodata") = py::none(),
          py::arg("reproject") = "nearest", py::arg("unscale") = false,
          "The area bbox on a grid in dst_crs (default bbox_crs) of width x height pixels, else max_size on the "
          "longest side, built like a tile (an ImageData with .assets and .metadata).")
      .def(
          "feature",
          [](const Mosaic& mosaic, const py::object& geojson, const std::string& shape_crs,
             const std::optional<std::string>& dst_crs, int max_size, int width, int height,
             const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
             const std::string& resampling, const std::optional<double>& nodata) {
            const PartOptions part = part_options(shape_crs, dst_crs, max_size, width, height);
            const ReadOptions options = read_options(indexes, expression, resampling, "nearest", nodata, false, 0);
            const json shape = to_json(geojson);
            py::gil_scoped_release release;
            return mosaic.feature(shape, part, options);
          },
          py::arg("geojson"), py::arg("shape_crs") = "EPSG:4326", py::arg("dst_crs") = py::none(),
          py::arg("max_size") = 1024, py::arg("width") = 0, py::arg("height") = 0, py::arg("indexes") = py::none(),
          py::arg("expression") = py::none(), py::arg("resampling") = "nearest", py::arg("nodata") = py::none(),
          "The part over a GeoJSON Feature's or geometry's bounding box, the pixels it does not touch masked.")
      .def(
          "preview",
          [](const Mosaic& mosaic, const std::optional<std::vector<double>>& bounds,
             const std::optional<std::string>& dst_crs, int max_size, int width, int height,
             const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
             const std::string& resampling, const std::optional<double>& nodata) {
            std::optional<Bbox> box;
            if (bounds) {
              if (bounds->size() != 4) {
                throw Error(ErrorCode::kInvalidInput, "preview: bounds must be [minx, miny, maxx, maxy]");
              }
              box = Bbox{(*bounds)[0], (*bounds)[1], (*bounds)[2], (*bounds)[3]};
            }
            const PartOptions part = part_options("EPSG:4326", dst_crs, max_size, width, height);
            const ReadOptions options = read_options(indexes, expression, resampling, "nearest", nodata, false, 0);
            py::gil_scoped_release release;
            return mosaic.preview(box, part, options);
          },
          py::arg("bounds") = py::none(), py::arg("dst_crs") = py::none(), py::arg("max_size") = 1024,
          py::arg("width") = 0, py::arg("height") = 0, py::arg("indexes") = py::none(),
          py::arg("expression") = py::none(), py::arg("resampling") = "nearest", py::arg("nodata") = py::none(),
          "The part over bounds (WGS84), else over the union of the bboxes of the items the search matches.")
      .def(
          "statistics",
          [](const Mosaic& mosaic, const py::object& geojson, const std::string& shape_crs,
             const std::optional<std::string>& dst_crs, int max_size, int width, int height,
             const std::vector<double>& percentiles, int bins,
             const std::optional<std::pair<double, double>>& histogram_range, bool categorical,
             std::optional<int> cover_scale, const std::optional<std::vector<int>>& indexes,
             const std::optional<std::string>& expression, const std::optional<double>& nodata) {
            const StatisticsOptions statistics =
                statistics_options(max_size, percentiles, bins, histogram_range, categorical, cover_scale);
            const PartOptions part = part_options(shape_crs, dst_crs, max_size, width, height);
            const ReadOptions options = read_options(indexes, expression, "nearest", "nearest", nodata, false, 0);
            const json shape = to_json(geojson);
            json result;
            {
              py::gil_scoped_release release;
              const MosaicStatistics computed = mosaic.statistics(shape, statistics, part, options);
              result = {{"statistics", to_json(computed.bands)}, {"assets", computed.assets}};
            }
            return from_json(result);
          },
          py::arg("geojson"), py::arg("shape_crs") = "EPSG:4326", py::arg("dst_crs") = py::none(),
          py::arg("max_size") = 1024, py::arg("width") = 0, py::arg("height") = 0,
          py::arg("percentiles") = std::vector<double>{2, 98}, py::arg("bins") = 10,
          py::arg("histogram_range") = py::none(), py::arg("categorical") = false, py::arg("cover_scale") = py::none(),
          py::arg("indexes") = py::none(), py::arg("expression") = py::none(), py::arg("nodata") = py::none(),
          "{'statistics': {band: {...}}, 'assets': [item ids]} of the pixels a GeoJSON Feature or (Multi)Polygon "
          "covers, exact coverage-weighted (cover_scale: rio-tiler's estimate).")
      .def(
          "assets_for_point",
          [](const Mosaic& mosaic, double lon, double lat) {
            json items;
            {
              py::gil_scoped_release release;
              items = mosaic.assets_for_point(lon, lat);
            }
            return from_json(items);
          },
          py::arg("lon"), py::arg("lat"));

  m.def(
      "tile_cache_stats",
      [] {
        const TileCacheStats stats = tile_cache_stats();
        py::dict result;
        result["hits"] = stats.hits;
        result["misses"] = stats.misses;
        result["entries"] = stats.entries;
        result["bytes"] = stats.bytes;
        result["capacity_bytes"] = stats.capacity_bytes;
        return result;
      },
      "Hits, misses, entries and bytes of the mosaic data cache.");
  m.def("clear_tile_cache", &clear_tile_cache, "Drop every cached tile and reset the counters.");
}

}  // namespace tessera::python
