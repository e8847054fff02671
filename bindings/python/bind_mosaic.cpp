#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/pyramid.hpp"

namespace tessera::python {

namespace {

using nlohmann::json;

MosaicOptions mosaic_options(const std::optional<std::vector<std::string>>& assets,
                             const std::optional<std::string>& expression, const std::string& method,
                             std::size_t max_items_scanned, std::size_t max_items_read, double time_budget,
                             bool skip_covered) {
  if (!(time_budget > 0)) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: time_budget (seconds) must be positive");
  }
  MosaicOptions options;
  options.assets = assets.value_or(std::vector<std::string>{});
  options.expression = expression.value_or("");
  options.method = pixel_selection_from_name(method);
  options.max_items_scanned = max_items_scanned;
  options.max_items_read = max_items_read;
  // Whole milliseconds, at least one.
  options.time_budget = std::chrono::milliseconds(std::max<std::int64_t>(1, std::llround(time_budget * 1000)));
  options.skip_covered = skip_covered;
  return options;
}

}  // namespace

void bind_mosaic(py::module_& m) {
  const MosaicOptions defaults;
  py::class_<Mosaic>(m, "Mosaic", "Tiles built from every catalog item a search matches (the catalog must stay open).")
      .def(py::init([](Catalog& catalog, const py::object& search,
                       const std::optional<std::vector<std::string>>& assets, const std::string& method,
                       const std::optional<std::string>& expression, std::size_t max_items_scanned,
                       std::size_t max_items_read, double time_budget, bool skip_covered) {
             const json request = search.is_none() ? json::object() : to_json(search);
             const MosaicOptions options = mosaic_options(assets, expression, method, max_items_scanned, max_items_read,
                                                          time_budget, skip_covered);
             py::gil_scoped_release release;
             return Mosaic(catalog, request, options);
           }),
           py::keep_alive<1, 2>(), py::arg("catalog"), py::arg("search"), py::arg("assets") = py::none(),
           py::arg("method") = "first", py::arg("expression") = py::none(),
           py::arg("max_items_scanned") = defaults.max_items_scanned,
           py::arg("max_items_read") = defaults.max_items_read,
           py::arg("time_budget") = static_cast<double>(defaults.time_budget.count()) / 1000,
           py::arg("skip_covered") = defaults.skip_covered)
      .def_static(
          "from_registered",
          [](Catalog& catalog, const std::string& search_id, const std::optional<std::vector<std::string>>& assets,
             const std::string& method, const std::optional<std::string>& expression, std::size_t max_items_scanned,
             std::size_t max_items_read, double time_budget, bool skip_covered) {
            const MosaicOptions options = mosaic_options(assets, expression, method, max_items_scanned, max_items_read,
                                                         time_budget, skip_covered);
            py::gil_scoped_release release;
            return Mosaic::from_registered(catalog, search_id, options);
          },
          py::keep_alive<0, 1>(), py::arg("catalog"), py::arg("search_id"), py::arg("assets") = py::none(),
          py::arg("method") = "first", py::arg("expression") = py::none(),
          py::arg("max_items_scanned") = defaults.max_items_scanned,
          py::arg("max_items_read") = defaults.max_items_read,
          py::arg("time_budget") = static_cast<double>(defaults.time_budget.count()) / 1000,
          py::arg("skip_covered") = defaults.skip_covered)
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

  py::class_<Pyramid>(m, "Pyramid",
                      "The low zooms of a registered search's mosaic as stored tiles, kept current from the "
                      "catalog's item changes (the catalog must stay open).")
      .def_static(
          "build",
          [](Catalog& catalog, const std::string& directory, const std::string& search_id, const py::kwargs& options) {
            const PyramidOptions parsed = PyramidOptions::from_json(to_json(options));
            py::gil_scoped_release release;
            return Pyramid::build(catalog, directory, search_id, parsed);
          },
          py::keep_alive<0, 1>(), py::arg("catalog"), py::arg("directory"), py::arg("search_id"),
          "Build (or rebuild) the pyramid of a registered search in `directory`. Options: tms, maxzoom (6), "
          "tilesize (256), resampling ('average' | 'nearest'), assets, expression, method, max_items_scanned, "
          "max_items_read, time_budget_ms, skip_covered.")
      .def_static(
          "open",
          [](Catalog& catalog, const std::string& directory, const std::string& search_id) {
            py::gil_scoped_release release;
            return Pyramid::open(catalog, directory, search_id);
          },
          py::keep_alive<0, 1>(), py::arg("catalog"), py::arg("directory"), py::arg("search_id"),
          "The pyramid stored for a registered search (NotFound when there is none).")
      .def_static(
          "exists",
          [](const std::string& directory, const std::string& search_id) {
            return Pyramid::exists(directory, search_id);
          },
          py::arg("directory"), py::arg("search_id"))
      .def(
          "update",
          [](Pyramid& pyramid) {
            json report;
            {
              py::gil_scoped_release release;
              report = pyramid.update().to_json();
            }
            return from_json(report);
          },
          "Apply the item changes after the cursor: {cursor, changes, cells_rebuilt, cells_capped, tiles_written, "
          "tiles_removed}.")
      .def(
          "info",
          [](const Pyramid& pyramid) {
            json info;
            {
              py::gil_scoped_release release;
              info = pyramid.info();
            }
            return from_json(info);
          },
          "{search_id, path, options, cursor, built, levels: [{z, tiles, bytes}]}.")
      .def_property_readonly("search_id", &Pyramid::search_id)
      .def_property_readonly("options", [](const Pyramid& pyramid) { return from_json(pyramid.options().to_json()); })
      .def_property_readonly("cursor",
                             [](const Pyramid& pyramid) {
                               py::gil_scoped_release release;
                               return pyramid.cursor();
                             })
      .def(
          "tile",
          [](const Pyramid& pyramid, const py::object& x, const py::object& y, const py::object& z) {
            const Tile tile = tile_from(x, y, z);
            py::gil_scoped_release release;
            return pyramid.tile(tile);
          },
          py::arg("x"), py::arg("y") = py::none(), py::arg("z") = py::none(),
          "The stored tile (x, y, z) (or a Tile) as an ImageData; NotFound when no item has data there.");

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
