#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "tessera/environment.hpp"

namespace tessera::python {

namespace {

ReaderConfig reader_config_from(const std::optional<std::vector<std::string>>& allowed_prefixes,
                                const std::optional<std::vector<std::string>>& allowed_roots,
                                const std::optional<StorageOptions>& storage_options,
                                const std::optional<std::vector<std::string>>& drivers, std::size_t dataset_cache_size,
                                std::size_t tile_cache_bytes,
                                const std::optional<std::vector<std::string>>& vector_drivers, int max_image_size,
                                std::size_t max_expression_length, std::size_t max_expression_depth,
                                std::size_t max_request_values, const std::optional<HrefSigner>& href_signer) {
  ReaderConfig config;
  // A Python signer runs with the GIL taken (pybind11's function wrapper
  // takes it), on the read threads: the reads release it while they wait.
  config.href_signer = href_signer.value_or(nullptr);
  config.allowed_prefixes = allowed_prefixes.value_or(std::vector<std::string>{});
  config.allowed_roots = allowed_roots.value_or(std::vector<std::string>{});
  config.storage_options = storage_options.value_or(StorageOptions{});
  if (drivers) {
    config.allowed_drivers = *drivers;
  }
  if (vector_drivers) {
    config.allowed_vector_drivers = *vector_drivers;
  }
  config.max_image_size = max_image_size;
  config.max_expression_length = max_expression_length;
  config.max_expression_depth = max_expression_depth;
  config.max_request_values = max_request_values;
  config.dataset_cache_size = dataset_cache_size;
  config.tile_cache_bytes = tile_cache_bytes;
  return config;
}

// The keyword arguments of reader_config_from, shared by every function that takes settings.
auto reader_config_args() {
  const ReaderConfig defaults;
  return std::make_tuple(
      py::arg("allowed_prefixes") = py::none(), py::arg("allowed_roots") = py::none(),
      py::arg("storage_options") = py::none(), py::arg("allowed_drivers") = py::none(),
      py::arg("dataset_cache_size") = defaults.dataset_cache_size,
      py::arg("tile_cache_bytes") = defaults.tile_cache_bytes, py::arg("allowed_vector_drivers") = py::none(),
      py::arg("max_image_size") = defaults.max_image_size,
      py::arg("max_expression_length") = defaults.max_expression_length,
      py::arg("max_expression_depth") = defaults.max_expression_depth,
      py::arg("max_request_values") = defaults.max_request_values, py::arg("href_signer") = py::none());
}

// reader_config_from followed by `then` on its result, with the same keyword arguments.
template <typename Then, typename... Args>
auto with_reader_config(ReaderConfig (*make)(Args...), Then then) {
  return [make, then](Args... args) { return then(make(args...)); };
}

// The scopes `with environment:` blocks opened on this thread, innermost last.
thread_local std::vector<std::unique_ptr<Environment::Scope>> open_scopes;

}  // namespace

void bind_environment(py::module_& m) {
  py::class_<ReaderConfig> config_class(m, "ReaderConfig",
                                        "The settings of an Environment: allow-lists, request limits, cache sizes.");
  std::apply(
      [&](const auto&... args) {
        config_class.def(py::init(&reader_config_from), args...);
        m.def("configure",
              with_reader_config(&reader_config_from, [](const ReaderConfig& config) { configure(config); }), args...,
              "Replaces the process default environment's settings.");
      },
      reader_config_args());
  config_class.def_readonly("allowed_prefixes", &ReaderConfig::allowed_prefixes)
      .def_readonly("allowed_roots", &ReaderConfig::allowed_roots)
      .def_readonly("storage_options", &ReaderConfig::storage_options)
      .def_readonly("allowed_drivers", &ReaderConfig::allowed_drivers)
      .def_readonly("allowed_vector_drivers", &ReaderConfig::allowed_vector_drivers)
      .def_readonly("dataset_cache_size", &ReaderConfig::dataset_cache_size)
      .def_readonly("tile_cache_bytes", &ReaderConfig::tile_cache_bytes)
      .def_readonly("max_image_size", &ReaderConfig::max_image_size)
      .def_readonly("max_expression_length", &ReaderConfig::max_expression_length)
      .def_readonly("max_expression_depth", &ReaderConfig::max_expression_depth)
      .def_readonly("max_request_values", &ReaderConfig::max_request_values)
      .def_readonly("href_signer", &ReaderConfig::href_signer);

  py::class_<Environment>(m, "Environment",
                          "Settings with their own caches and read threads; reads inside `with environment:` "
                          "use it, others the process default.")
      .def(py::init([](const std::optional<ReaderConfig>& config) {
             return std::make_unique<Environment>(config.value_or(ReaderConfig{}));
           }),
           py::arg("config") = py::none())
      .def(
          "configure", [](Environment& environment, const ReaderConfig& config) { environment.configure(config); },
          py::arg("config"))
      .def_property_readonly("config", &Environment::config)
      .def_static("default", &Environment::process_default, py::return_value_policy::reference,
                  "The process default environment (what configure() changes).")
      .def(
          "__enter__",
          [](Environment& environment) -> Environment& {
            open_scopes.push_back(std::make_unique<Environment::Scope>(environment));
            return environment;
          },
          py::return_value_policy::reference)
      .def("__exit__", [](Environment& /*environment*/, const py::args& /*exception*/) {
        if (!open_scopes.empty()) {
          open_scopes.pop_back();
        }
      });
}

}  // namespace tessera::python
