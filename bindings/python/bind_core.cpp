#include <memory>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "tessera/tessera.hpp"

namespace tessera::python {
namespace {

// The class tessera._errors gives for the error's code name (every class
// carries its code, so no second table of names lives here).
void raise_python_error(const Error& error) {
  py::object cls =
      py::module_::import("tessera._errors").attr("error_class")(std::string(error_code_name(error.code())));
  py::object instance = cls(error.what());
  PyErr_SetObject(cls.ptr(), instance.ptr());
}

void set_python_log_callback(const py::object& callback, const std::string& min_level) {
  const LogLevel level = log_level_from_name(min_level);
  if (callback.is_none()) {
    set_log_callback(nullptr);
    return;
  }
  // The callback may run on any thread, so it takes the GIL itself and owns
  // its reference to the Python callable through a GIL-aware deleter.
  auto holder = std::shared_ptr<py::object>(new py::object(callback), [](py::object* object) {
    if (Py_IsInitialized() != 0) {
      py::gil_scoped_acquire gil;
      delete object;
    }
  });
  set_log_callback(
      [holder](LogLevel message_level, std::string_view message) {
        if (Py_IsInitialized() == 0) {
          return;
        }
        py::gil_scoped_acquire gil;
        try {
          (*holder)(std::string(log_level_name(message_level)), std::string(message));
        } catch (py::error_already_set& error) {
          error.discard_as_unraisable("tessera log callback");
        }
      },
      level);
}

}  // namespace

void bind_core(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) {
        std::rethrow_exception(pointer);
      }
    } catch (const Error& error) {
      raise_python_error(error);
    }
  });
  m.attr("__version__") = version();
  m.def(
      "dependency_versions",
      [] {
        py::dict versions;
        const auto all = dependency_versions();
        for (const auto& [name, value] : all.items()) {
          versions[py::str(name)] = value.get<std::string>();
        }
        return versions;
      },
      "Versions of tessera and the libraries it was built on.");
  m.def("set_log_callback", &set_python_log_callback, py::arg("callback"), py::arg("min_level") = "info",
        "Route tessera's log messages to callback(level: str, message: str); None restores the default.");
  m.def("error_code_names", &error_code_names,
        "The error codes' names (\"invalid_input\", \"not_found\", ...): each tessera.Error subclass's code.");
}

}  // namespace tessera::python
