#pragma once

#include <pybind11/pybind11.h>

namespace tessera::python {

namespace py = pybind11;

void bind_core(py::module_& m);
void bind_storage(py::module_& m);
void bind_catalog(py::module_& m);
void bind_ingest(py::module_& m);
void bind_tiling(py::module_& m);

}  // namespace tessera::python
