#pragma once

// Python callables kept and called by C++ from any thread (packaging's
// processors, geoprocessing's services). Need the GIL where noted.

#include <memory>

#include <pybind11/pybind11.h>

namespace tessera::python {

namespace py = pybind11;

// A Python object kept alive by C++ and released under the GIL, whichever
// thread drops it last.
std::shared_ptr<py::object> hold(py::object object);

// Python's exception as a tessera::Error: a tessera.Error keeps its code
// (so a plugin's NotFound still means "not found"), anything else is
// Internal with its message. Called with the GIL held.
[[noreturn]] void rethrow_as_error(py::error_already_set& error);

}  // namespace tessera::python
