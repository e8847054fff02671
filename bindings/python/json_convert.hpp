#pragma once

// Python objects <-> nlohmann::json, for the areas that speak JSON (dicts in
// Python). Conversions need the GIL; do them before releasing it.

#include <pybind11/pybind11.h>
#include <nlohmann/json.hpp>

namespace tessera::python {

namespace py = pybind11;

// dict/list/tuple/str/int/float/bool/None (and os.PathLike as str); anything
// else is InvalidInput naming its type.
nlohmann::json to_json(const py::handle& object);
py::object from_json(const nlohmann::json& value);

}  // namespace tessera::python
