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

std::string path_text(const py::handle& path) {
  return py::str(py::module_::import("os").attr("fspath")(path)).cast<std::string>();
}

}  // namespace

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
             const std::optional<StorageOptions>& storage_options) {
            BuildOptions options;
            options.job_id = job_id.value_or("");
            options.parallelism = parallelism;
            options.wait_for_locks = wait_for_locks;
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
          "Clip the datasets to the boundary and publish them; returns datapackage.json as a dict. progress(percent, "
          "step) is called as the job advances.")
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
          py::arg("job_id"));
}

}  // namespace tessera::python
