#include "bindings.hpp"

PYBIND11_MODULE(_tessera, m) {
  m.doc() = "tessera native module; import the 'tessera' package instead.";
  tessera::python::bind_core(m);
  tessera::python::bind_storage(m);
  tessera::python::bind_environment(m);
  tessera::python::bind_catalog(m);
  // Classes are bound before the functions that take them, so signatures
  // (help() and the generated .pyi stubs) name tessera.Matcher, not the C++ type.
  tessera::python::bind_matching(m);
  tessera::python::bind_ingest(m);
  tessera::python::bind_tiling(m);
  tessera::python::bind_mosaic(m);
  tessera::python::bind_packaging(m);
  tessera::python::bind_geoprocessing(m);
  tessera::python::bind_service(m);
}
