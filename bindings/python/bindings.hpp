#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tessera::python {

namespace py = pybind11;

void bind_core(py::module_& m);
void bind_storage(py::module_& m);
void bind_environment(py::module_& m);
void bind_catalog(py::module_& m);
void bind_ingest(py::module_& m);
void bind_tiling(py::module_& m);
void bind_matching(py::module_& m);
void bind_mosaic(py::module_& m);
void bind_packaging(py::module_& m);
void bind_geoprocessing(py::module_& m);
void bind_service(py::module_& m);

// An optional bound object: shown as `T | None` in signatures and the type
// stubs (a raw pointer defaulting to None shows as `T = None`, an implicit
// Optional that type checkers reject). Needs <pybind11/stl.h> where bound.
template <typename T>
using optional_ref = std::optional<std::reference_wrapper<T>>;

template <typename T>
T* pointer_of(const optional_ref<T>& object) {
  return object ? &object->get() : nullptr;
}

// A tile addressed as morecantile and rio-tiler do: (x, y, z), or a Tile (or
// any (x, y, z) sequence) in place of x with y and z left out.
Tile tile_from(const py::object& x_or_tile, const py::object& y, const py::object& z);

// A TileMatrixSet from a name, a TileMatrixSet or an OGC TileMatrixSet dict.
TileMatrixSet tms_from(const py::object& tms);
ReadOptions read_options(const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
                         const std::string& resampling, const std::string& reproject,
                         const std::optional<double>& nodata, bool unscale, double buffer);
// StatisticsOptions from the keyword arguments statistics functions share.
StatisticsOptions statistics_options(int max_size, const std::vector<double>& percentiles, int bins,
                                     const std::optional<std::pair<double, double>>& histogram_range, bool categorical,
                                     std::optional<int> cover_scale);

// A Python callable as PackageJobOptions::executor: called with the job as a
// dict under the GIL; a tessera.Error it raises keeps its code.
std::function<void(const nlohmann::json&)> package_executor(const py::object& callable);

// Catalog.load: a path, a FeatureCollection or Item dict, or any iterable of
// Item dicts (consumed a batch at a time, so generators stream).
py::dict load_items(Catalog& catalog, const py::object& source, const LoadOptions& options);

// What Service.runner_callback() hands to Runner(callback=...): the
// callback of RunnerOptions, opaque to Python (it mints run tokens).
struct RunnerCallback {
  std::function<std::pair<std::string, std::string>(const nlohmann::json& run)> callback;
};

}  // namespace tessera::python
