#include "python_callable.hpp"

#include <string>

#include "tessera/error.hpp"

namespace tessera::python {

std::shared_ptr<py::object> hold(py::object object) {
  return std::shared_ptr<py::object>(new py::object(std::move(object)), [](py::object* held) {
    if (Py_IsInitialized() != 0) {
      py::gil_scoped_acquire gil;
      delete held;
    }
  });
}

void rethrow_as_error(py::error_already_set& error) {
  const py::object base = py::module_::import("tessera._errors").attr("Error");
  if (error.matches(base)) {
    const std::string code = py::str(error.value().attr("code"));
    ErrorCode value = ErrorCode::kInternal;
    try {
      value = error_code_from_name(code);
    } catch (const Error&) {
      // A code tessera does not know stays an internal error.
    }
    throw Error(value, py::str(error.value()));
  }
  throw Error(ErrorCode::kInternal, error.what());
}

}  // namespace tessera::python
