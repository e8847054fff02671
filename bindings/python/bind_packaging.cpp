#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "python_callable.hpp"
#include "tessera/error.hpp"
#include "tessera/packaging.hpp"

namespace tessera::python {
namespace {

// Python processors subclass tessera.Processor and override
// process(context: dict) -> list[dict].
class PyProcessor : public Processor {
 public:
  std::vector<ProcessedFile> process(const ProcessorContext& context) override {
    py::gil_scoped_acquire gil;
    const py::function override = py::get_override(static_cast<const Processor*>(this), "process");
    if (!override) {
      throw Error(ErrorCode::kUnsupported, "a tessera.Processor subclass must define process(context)");
    }
    nlohmann::json files;
    try {
      const nlohmann::json argument = {{"boundary", context.boundary.to_json()},
                                       {"dataset", context.dataset.to_json()},
                                       {"output_dir", context.output_dir.string()},
                                       {"storage_options", context.storage_options}};
      files = to_json(override(from_json(argument)));
    } catch (py::error_already_set& error) {
      rethrow_as_error(error);
    }
    if (!files.is_array()) {
      throw Error(ErrorCode::kInvalidInput, "Processor.process must return a list of dicts");
    }
    std::vector<ProcessedFile> processed;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const nlohmann::json& file = files[i];
      if (!file.is_object() || !file.contains("file") || !file["file"].is_string()) {
        throw Error(ErrorCode::kInvalidInput,
                    "Processor.process result[" + std::to_string(i) + "]: expected a dict with a 'file' name");
      }
      ProcessedFile entry{file["file"].get<std::string>(), file.value("format", ""), file.value("media_type", ""),
                          file.value("crs", ""), std::nullopt};
      if (file.contains("bbox")) {
        entry.bbox = Bbox::from_json(file["bbox"], "Processor.process result bbox");
      }
      processed.push_back(std::move(entry));
    }
    return processed;
  }
};

// A GeoJSON geometry, or the geometry of a Feature.
Geometry boundary_geometry(const py::handle& geometry) {
  nlohmann::json value = to_json(geometry);
  if (value.is_object() && value.value("type", "") == "Feature") {
    value = value.value("geometry", nlohmann::json());
  }
  return Geometry::from_geojson(value, "geometry");
}

ClipOptions clip_options(bool all_touched, const std::optional<std::string>& format,
                         const std::optional<StorageOptions>& storage_options) {
  ClipOptions options;
  options.all_touched = all_touched;
  options.format = format.value_or("");
  options.storage_options = storage_options.value_or(StorageOptions{});
  return options;
}

constexpr double kDefaultLockTimeoutSeconds = 1800.0;

// Seconds from Python as milliseconds; InvalidInput for a negative or absurd value.
std::chrono::milliseconds seconds_of(double seconds, const char* name) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 7 * 24 * 3600.0) {
    throw Error(ErrorCode::kInvalidInput, std::string(name) + ": expected seconds from 0 to a week");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

std::string path_text(const py::handle& path) {
  return py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
}

}  // namespace

std::function<void(const nlohmann::json&)> package_executor(const py::object& callable) {
  auto held = hold(callable);
  return [held](const nlohmann::json& job) {
    py::gil_scoped_acquire gil;
    try {
      (*held)(from_json(job));
    } catch (py::error_already_set& error) {
      rethrow_as_error(error);
    }
  };
}

void bind_packaging(py::module_& m) {
  m.def(
      "clip_raster",
      [](const py::object& src, const py::object& geometry, const py::object& dst, bool all_touched,
         const std::optional<StorageOptions>& storage_options) {
        const Geometry boundary = boundary_geometry(geometry);
        const std::string source = path_text(src);
        const std::string destination = path_text(dst);
        const ClipOptions options = clip_options(all_touched, std::nullopt, storage_options);
        ClipResult result;
        {
          py::gil_scoped_release release;
          result = clip_raster(source, boundary, destination, options);
        }
        return from_json(result.to_json());
      },
      py::arg("src"), py::arg("geometry"), py::arg("dst"), py::arg("all_touched") = false,
      py::arg("storage_options") = py::none(),
      "Clip a raster exactly to a WGS84 GeoJSON geometry, written as a COG in the source grid. Raises NotFound "
      "'no data for this boundary' when the geometry covers none of the raster.");
  m.def(
      "clip_vector",
      [](const py::object& src, const py::object& geometry, const py::object& dst,
         const std::optional<std::string>& format, const std::optional<StorageOptions>& storage_options) {
        const Geometry boundary = boundary_geometry(geometry);
        const std::string source = path_text(src);
        const std::string destination = path_text(dst);
        const ClipOptions options = clip_options(false, format, storage_options);
        ClipResult result;
        {
          py::gil_scoped_release release;
          result = clip_vector(source, boundary, destination, options);
        }
        return from_json(result.to_json());
      },
      py::arg("src"), py::arg("geometry"), py::arg("dst"), py::arg("format") = py::none(),
      py::arg("storage_options") = py::none(),
      "Clip the features of a vector source to a WGS84 GeoJSON geometry (GPKG, FlatGeobuf or GeoJSON output).");
  m.def(
      "preprocess_sketch",
      [](const py::object& sketch, const py::object& clip_to, const py::object& erase, bool keep_largest,
         double max_area_km2, std::size_t max_vertices, const optional_ref<Storage>& cache,
         const std::optional<std::string>& cache_key) {
        SketchOptions options;
        // A dict is GeoJSON; a str or path is an OGR source read within the sketch's bbox.
        auto reference = [](const py::object& value, std::optional<nlohmann::json>& geojson, std::string& source) {
          if (value.is_none()) {
            return;
          }
          if (py::isinstance<py::dict>(value)) {
            geojson = to_json(value);
          } else {
            source = path_text(value);
          }
        };
        reference(clip_to, options.clip_to, options.clip_to_source);
        reference(erase, options.erase, options.erase_source);
        options.keep_largest = keep_largest;
        options.max_area_km2 = max_area_km2;
        options.max_vertices = max_vertices;
        options.cache = pointer_of(cache);
        options.cache_key = cache_key.value_or("");
        const nlohmann::json input = to_json(sketch);
        nlohmann::json result;
        {
          py::gil_scoped_release release;
          result = preprocess_sketch(input, options);
        }
        return from_json(result);
      },
      py::arg("sketch"), py::arg("clip_to") = py::none(), py::arg("erase") = py::none(),
      py::arg("keep_largest") = false, py::arg("max_area_km2") = SketchOptions{}.max_area_km2,
      py::arg("max_vertices") = SketchOptions{}.max_vertices, py::arg("cache") = py::none(),
      py::arg("cache_key") = py::none(),
      "Validate a user-drawn Polygon/MultiPolygon and clip it to clip_to / erase `erase` (GeoJSON dicts, or OGR "
      "sources read within the sketch's bbox). Returns {geometry, bbox, area_km2, key, cached}.");

  py::class_<Processor, PyProcessor, std::shared_ptr<Processor>>(
      m, "Processor",
      "Base class of custom package processors: override process(context) -> list of {file, format, media_type, "
      "crs, bbox}; context has boundary, dataset, output_dir and storage_options. Raise tessera.NotFound for "
      "'no data for this boundary'.")
      .def(py::init<>());

  py::class_<Packager>(m, "Packager",
                       "Builds Frictionless data packages of datasets clipped to boundaries on a storage.")
      .def(py::init([](Storage& storage, const optional_ref<Catalog>& catalog) {
             return std::make_unique<Packager>(storage, pointer_of(catalog));
           }),
           py::arg("storage"), py::arg("catalog") = py::none(), py::keep_alive<1, 2>(), py::keep_alive<1, 3>())
      .def(
          "add_boundaries",
          [](Packager& self, const py::object& source, const std::string& name_field,
             const std::optional<std::string>& long_name_field, const std::optional<std::string>& layer) {
            BoundaryLoadOptions options;
            options.name_field = name_field;
            options.long_name_field = long_name_field.value_or("");
            options.layer = layer.value_or("");
            const std::string path = path_text(source);
            nlohmann::json added;
            {
              py::gil_scoped_release release;
              added = self.add_boundaries(path, options);
            }
            return from_json(added);
          },
          py::arg("source"), py::arg("name_field") = "name", py::arg("long_name_field") = py::none(),
          py::arg("layer") = py::none(),
          "Load boundaries from an OGR source (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, 'PG:...').")
      .def(
          "boundaries",
          [](Packager& self) {
            nlohmann::json list;
            {
              py::gil_scoped_release release;
              list = self.boundaries();
            }
            return from_json(list);
          },
          "The stored boundaries: [{id, name, long_name, bbox}].")
      .def(
          "register_processor",
          [](Packager& self, const std::string& name, const py::object& processor) {
            if (!py::isinstance<Processor>(processor)) {
              throw Error(ErrorCode::kInvalidInput,
                          "register_processor: '" + name + "' must be a tessera.Processor subclass instance");
            }
            auto* native = processor.cast<Processor*>();
            // The C++ side shares the Python object's lifetime.
            auto keeper = hold(processor);
            self.register_processor(name, std::shared_ptr<Processor>(keeper, native));
          },
          py::arg("name"), py::arg("processor"))
      .def(
          "build",
          [](Packager& self, const std::string& boundary, const py::object& datasets, const py::object& progress,
             const std::optional<std::string>& job_id, std::size_t parallelism, bool wait_for_locks,
             const std::optional<StorageOptions>& storage_options, double lock_timeout) {
            BuildOptions options;
            options.job_id = job_id.value_or("");
            options.parallelism = parallelism;
            options.wait_for_locks = wait_for_locks;
            options.lock_timeout = seconds_of(lock_timeout, "lock_timeout");
            options.storage_options = storage_options.value_or(StorageOptions{});
            if (!progress.is_none()) {
              auto callback = hold(progress);
              options.progress = [callback](double percent, const std::string& step) {
                py::gil_scoped_acquire gil;
                try {
                  (*callback)(percent, step);
                } catch (py::error_already_set& error) {
                  error.discard_as_unraisable("tessera package progress callback");
                }
              };
            }
            const nlohmann::json definitions = to_json(datasets);
            nlohmann::json package;
            {
              py::gil_scoped_release release;
              package = self.build(boundary, definitions, options);
            }
            return from_json(package);
          },
          py::arg("boundary_name"), py::arg("datasets"), py::arg("progress") = py::none(),
          py::arg("job_id") = py::none(), py::arg("parallelism") = BuildOptions{}.parallelism,
          py::arg("wait_for_locks") = true, py::arg("storage_options") = py::none(),
          py::arg("lock_timeout") = kDefaultLockTimeoutSeconds,
          "Clip the datasets to the boundary and publish them; returns datapackage.json as a dict. progress(percent, "
          "step) is called as the job advances; lock_timeout: seconds to wait for another job's lock.")
      .def(
          "job_status",
          [](Packager& self, const std::string& job_id) {
            nlohmann::json status;
            {
              py::gil_scoped_release release;
              status = self.job_status(job_id);
            }
            return from_json(status);
          },
          py::arg("job_id"))
      .def(
          "cancel_job",
          [](Packager& self, const std::string& job_id) {
            nlohmann::json status;
            {
              py::gil_scoped_release release;
              status = self.cancel_job(job_id);
            }
            return from_json(status);
          },
          py::arg("job_id"),
          "Ask a job (of any process sharing the storage) to stop at its next step; returns its status.")
      .def(
          "add_boundaries_geojson",
          [](Packager& self, const py::object& features, const std::string& name_field,
             const std::optional<std::string>& long_name_field) {
            BoundaryLoadOptions options;
            options.name_field = name_field;
            options.long_name_field = long_name_field.value_or("");
            const nlohmann::json input = to_json(features);
            nlohmann::json added;
            {
              py::gil_scoped_release release;
              added = self.add_boundaries_geojson(input, options);
            }
            return from_json(added);
          },
          py::arg("features"), py::arg("name_field") = "name", py::arg("long_name_field") = py::none(),
          "Add boundaries from a GeoJSON FeatureCollection or Feature (a dict, WGS84).")
      .def(
          "add_processor",
          [](Packager& self, const py::object& entry) {
            RegisteredProcessor processor = RegisteredProcessor::from_json(to_json(entry));
            const std::string name = processor.name();
            self.add_processor(std::move(processor));
            return name;
          },
          py::arg("entry"),
          "Register a processor: a dataset definition with metadata (author, long_title, summary, origin_url, "
          "formats) beside it. Returns its name, '<dataset>/<version>'.")
      .def(
          "add_processors",
          [](Packager& self, const py::object& entries) { return from_json(self.add_processors(to_json(entries))); },
          py::arg("entries"), "Register processors (a list of add_processor entries); returns their names.")
      .def(
          "processors", [](Packager& self) { return from_json(self.processors()); },
          "The processor registry: [{name, dataset, version, description, author, title, long_title, summary, "
          "citation, license, origin_url, formats}].")
      .def(
          "processor",
          [](Packager& self, const std::string& dataset, const std::string& version) {
            return from_json(self.processor(dataset, version).metadata_json());
          },
          py::arg("dataset"), py::arg("version"));

  // Joining the workers may wait for Python processors, which need the GIL.
  struct ReleasingDelete {
    void operator()(PackageJobs* jobs) const {
      if (Py_IsInitialized() != 0 && PyGILState_Check() != 0) {
        py::gil_scoped_release release;
        delete jobs;
      } else {
        delete jobs;
      }
    }
  };
  const PackageJobOptions job_defaults;
  py::class_<PackageJobs, std::unique_ptr<PackageJobs, ReleasingDelete>>(
      m, "PackageJobs",
      "Package jobs by boundary and processor names on a pool of worker threads (or handed to `executor`, e.g. a "
      "Dask cluster): submit, status, list, cancel. A submission of the same boundary and processors while such "
      "a job runs joins it.")
      .def(py::init([](Packager& packager, std::size_t workers, std::size_t max_queued, std::size_t history,
                       std::size_t parallelism, double lock_timeout,
                       const std::optional<StorageOptions>& storage_options, const py::object& executor) {
             PackageJobOptions options;
             options.workers = workers;
             options.max_queued = max_queued;
             options.history = history;
             options.parallelism = parallelism;
             options.lock_timeout = seconds_of(lock_timeout, "lock_timeout");
             options.storage_options = storage_options.value_or(StorageOptions{});
             if (!executor.is_none()) {
               options.executor = package_executor(executor);
             }
             return std::unique_ptr<PackageJobs, ReleasingDelete>(new PackageJobs(packager, std::move(options)));
           }),
           py::arg("packager"), py::kw_only(), py::arg("workers") = job_defaults.workers,
           py::arg("max_queued") = job_defaults.max_queued, py::arg("history") = job_defaults.history,
           py::arg("parallelism") = job_defaults.parallelism, py::arg("lock_timeout") = kDefaultLockTimeoutSeconds,
           py::arg("storage_options") = py::none(), py::arg("executor") = py::none(), py::keep_alive<1, 2>())
      .def(
          "submit",
          [](PackageJobs& self, const std::string& boundary, const std::vector<std::string>& processors) {
            nlohmann::json submitted;
            {
              py::gil_scoped_release release;
              submitted = self.submit(boundary, processors);
            }
            return from_json(submitted);
          },
          py::arg("boundary"), py::arg("processors"),
          "Start (or join) the job building these processors ('<dataset>/<version>') for the boundary: {id, "
          "status, duplicate}.")
      .def(
          "status",
          [](PackageJobs& self, const std::string& id) {
            nlohmann::json status;
            {
              py::gil_scoped_release release;
              status = self.status(id);
            }
            return from_json(status);
          },
          py::arg("job_id"))
      .def(
          "list",
          [](PackageJobs& self, const std::optional<std::string>& status, const std::optional<std::string>& boundary,
             std::size_t limit) {
            PackageJobFilter filter;
            filter.status = status.value_or("");
            filter.boundary = boundary.value_or("");
            filter.limit = limit;
            nlohmann::json jobs;
            {
              py::gil_scoped_release release;
              jobs = self.list(filter);
            }
            return from_json(jobs);
          },
          py::kw_only(), py::arg("status") = py::none(), py::arg("boundary") = py::none(),
          py::arg("limit") = PackageJobFilter{}.limit, "Recent jobs, newest first.")
      .def(
          "cancel",
          [](PackageJobs& self, const std::string& id) {
            nlohmann::json status;
            {
              py::gil_scoped_release release;
              status = self.cancel(id);
            }
            return from_json(status);
          },
          py::arg("job_id"), "Cancel a queued job at once, a running one at its next step; returns its status.");
}

}  // namespace tessera::python
