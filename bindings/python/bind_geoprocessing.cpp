// Geoprocessing services from Python: a registry of Python callables (run
// with the GIL taken only while they run), commands and built-ins, served by
// tessera.Service (its `geoprocessing` option), and the built-ins as calls.

#include "bind_geoprocessing.hpp"

#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "python_callable.hpp"
#include "tessera/error.hpp"

namespace tessera::python {

GeoprocessingRegistry& PythonRegistry::for_adding() const {
  if (served) {
    throw Error(ErrorCode::kInvalidInput,
                "GeoprocessingRegistry: a Service serves this registry: services cannot be added any more");
  }
  return *registry;
}

GeoprocessingOptions PythonGeoprocessingOptions::serve() const {
  GeoprocessingOptions served = options;
  registry->served = true;
  served.registry = registry->registry;
  return served;
}

namespace {

// The second argument of a Python service: its run's context, usable while
// the run lasts (a reference kept beyond it raises instead of dangling).
class PythonContext {
 public:
  explicit PythonContext(const GeoprocessingContext* context) : context_(context) {}
  void log(const std::string& message) const { live().log(message); }
  [[nodiscard]] bool cancelled() const { return live().cancelled(); }
  void end() noexcept { context_ = nullptr; }

 private:
  [[nodiscard]] const GeoprocessingContext& live() const {
    if (context_ == nullptr) {
      throw Error(ErrorCode::kInvalidInput, "GeoprocessingContext: the service's run has ended");
    }
    return *context_;
  }
  const GeoprocessingContext* context_;
};

// A Python callable as a service: the GIL is taken for the call only.
GeoprocessingFunction python_service(py::function function) {
  return [held = hold(std::move(function))](const nlohmann::json& sketch, const GeoprocessingContext& context) {
    py::gil_scoped_acquire gil;
    py::object python_context = py::cast(PythonContext(&context));
    auto* raw = python_context.cast<PythonContext*>();
    struct EndRun {
      PythonContext* context;
      ~EndRun() { context->end(); }
    } end_run{raw};
    try {
      return to_json((*held)(from_json(sketch), python_context));
    } catch (py::error_already_set& error) {
      rethrow_as_error(error);
    }
  };
}

GeoprocessingServiceInfo info_of(const py::dict& info) {
  return GeoprocessingServiceInfo::from_json(to_json(info), "info");
}

py::list services_of(const PythonRegistry& self) {
  py::list services;
  for (const auto& info : self.registry->services()) {
    services.append(from_json(info.to_json()));
  }
  return services;
}

}  // namespace

void bind_geoprocessing(py::module_& m) {
  py::class_<PythonContext>(m, "GeoprocessingContext",
                            "What a Python geoprocessing service gets besides the sketch: its task's log and whether "
                            "the run was abandoned (timed out). Valid while the service runs.")
      .def("log", &PythonContext::log, py::arg("message"), py::call_guard<py::gil_scoped_release>(),
           "Appends a line to the task's log (GET {location}/logs).")
      .def_property_readonly("cancelled", &PythonContext::cancelled,
                             "True once the run was abandoned (its timeout passed): long work should stop.");

  py::class_<PythonRegistry, std::shared_ptr<PythonRegistry>>(
      m, "GeoprocessingRegistry",
      "Geoprocessing and preprocessing services with SeaSketch's metadata (docs/geoprocessing.md): Python "
      "callables, command-line programs and the built-ins. Served by tessera.Service(geoprocessing="
      "tessera.GeoprocessingOptions(registry, ...)); no service can be added once it is served.")
      .def(py::init<>())
      .def_static(
          "from_file",
          [](const std::string& path) {
            auto result = std::make_shared<PythonRegistry>();
            py::gil_scoped_release release;
            *result->registry = GeoprocessingRegistry::from_file(path);
            return result;
          },
          py::arg("path"), "The services of a definitions file (tessera serve --services).")
      .def(
          "add_function",
          [](const PythonRegistry& self, const py::dict& info, py::function function) {
            self.for_adding().add_function(info_of(info), python_service(std::move(function)));
          },
          py::arg("info"), py::arg("function"),
          "A Python service: function(sketch: dict, context: GeoprocessingContext) returns the task's data "
          "(JSON-like); raising fails the task with the exception's message. It runs on a worker thread with "
          "the GIL. info: the metadata under SeaSketch's names (endpoint, title, executionMode, usesAttributes, "
          "timeout, restrictedAccess, issAllowList, rateLimit, rateLimitPeriod, ...).")
      .def(
          "add_command",
          [](const PythonRegistry& self, const py::dict& info, std::vector<std::string> argv,
             std::size_t max_output_bytes, std::size_t max_log_bytes) {
            self.for_adding().add_command(info_of(info), std::move(argv), {max_output_bytes, max_log_bytes});
          },
          py::arg("info"), py::arg("argv"), py::kw_only(),
          py::arg("max_output_bytes") = CommandLimits{}.max_output_bytes,
          py::arg("max_log_bytes") = CommandLimits{}.max_log_bytes,
          "A program run without a shell: the sketch as JSON on stdin, the task's data as JSON on stdout, stderr "
          "lines in the task's log; killed after the service's timeout.")
      .def(
          "add_builtin",
          [](const PythonRegistry& self, const py::dict& info, const std::string& builtin, const py::dict& parameters) {
            self.for_adding().add_builtin(info_of(info), builtin, to_json(parameters));
          },
          py::arg("info"), py::arg("builtin"), py::arg("parameters"),
          "A built-in: 'zonal_statistics' ({'rasters': [hrefs], 'categorical': bool}), 'overlap' ({'layers': "
          "[sources], 'attribute': name}) or 'preprocess' ({'studyArea', 'forbidden', 'shoreline'}).")
      .def(
          "add_definitions",
          [](const PythonRegistry& self, const py::list& definitions, const std::string& base_dir) {
            self.for_adding().add_definitions(to_json(definitions), base_dir);
          },
          py::arg("definitions"), py::arg("base_dir") = std::string{},
          "The services of a definitions list (what tessera serve --services reads); relative command paths and "
          "sources are taken from base_dir when given.")
      .def("services", &services_of, "The services' metadata, in registration order.")
      .def("__contains__",
           [](const PythonRegistry& self, const std::string& endpoint) { return self.registry->contains(endpoint); })
      .def(
          "run",
          [](const PythonRegistry& self, const std::string& endpoint, const py::dict& sketch) {
            const nlohmann::json input = to_json(sketch);
            std::vector<std::string> lines;
            nlohmann::json data;
            {
              py::gil_scoped_release release;
              const GeoprocessingContext context([&lines](std::string_view line) { lines.emplace_back(line); },
                                                 nullptr);
              data = self.registry->run(endpoint, input, context);
            }
            py::dict result;
            result["data"] = from_json(data);
            result["log"] = py::cast(lines);
            return result;
          },
          py::arg("endpoint"), py::arg("sketch"),
          "Runs a service on this thread (the GIL released but for Python services): {'data': its result, "
          "'log': [the lines it logged]}. NotFound for an unknown endpoint; the service's failure as raised.");

  const GeoprocessingOptions defaults;
  py::class_<PythonGeoprocessingOptions>(m, "GeoprocessingOptions",
                                         "How tessera.Service serves a GeoprocessingRegistry under /geoprocessing/.")
      .def(py::init([](std::shared_ptr<PythonRegistry> registry, const std::string& tasks_path,
                       const std::string& title, const std::string& storage, const StorageOptions& storage_options,
                       int async_workers, const std::vector<std::string>& geometry_uri_prefixes,
                       bool allow_loopback_geometry_uri, std::size_t max_geometry_bytes) {
             if (!registry) {
               throw Error(ErrorCode::kInvalidInput, "GeoprocessingOptions: registry is required");
             }
             return PythonGeoprocessingOptions{std::move(registry),
                                               {.title = title,
                                                .storage = storage,
                                                .storage_options = storage_options,
                                                .tasks_path = tasks_path,
                                                .async_workers = async_workers,
                                                .geometry_uri_prefixes = geometry_uri_prefixes,
                                                .allow_loopback_geometry_uri = allow_loopback_geometry_uri,
                                                .max_geometry_bytes = max_geometry_bytes}};
           }),
           py::arg("registry"), py::arg("tasks_path"), py::kw_only(), py::arg("title") = defaults.title,
           py::arg("storage") = std::string{}, py::arg("storage_options") = StorageOptions{},
           py::arg("async_workers") = defaults.async_workers,
           py::arg("geometry_uri_prefixes") = std::vector<std::string>{},
           py::arg("allow_loopback_geometry_uri") = false, py::arg("max_geometry_bytes") = defaults.max_geometry_bytes,
           "registry: the services; tasks_path: the SQLite file of the tasks and logs (shared by every server "
           "process of the host); storage: where results of requests with a cacheKey are kept (folder or s3://; "
           "empty: no cache); geometry_uri_prefixes: the https:// prefixes a request's geometryUri may start "
           "with; allow_loopback_geometry_uri: also http://127.0.0.1 and http://localhost (tests).");

  m.def(
      "zonal_statistics",
      [](const py::dict& sketch, const std::vector<std::string>& rasters, bool categorical) {
        const nlohmann::json input = to_json(sketch);
        nlohmann::json result;
        {
          py::gil_scoped_release release;
          result = zonal_statistics(input, rasters, categorical);
        }
        return from_json(result);
      },
      py::arg("sketch"), py::arg("rasters"), py::arg("categorical") = false,
      "Exact zonal statistics of each raster over the sketch's polygons (WGS84), read window by window: per band "
      "count, sum, mean, min, max, coverage_fraction, area and, categorical, per class {count, frac, area} "
      "(exactextract's definitions). {'rasters': [{'href', 'bands': [...]}]}.");
}

}  // namespace tessera::python
