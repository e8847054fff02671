#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "tessera/error.hpp"
#include "tessera/storage.hpp"

namespace tessera::python {

void bind_storage(py::module_& m) {
  using gil_release = py::call_guard<py::gil_scoped_release>;

  py::class_<Storage>(m, "Storage",
                      "Objects under a root URI (file:///dir or /dir). Keys are relative and cannot leave the root.")
      .def_static(
          "open",
          [](const std::string& uri, const std::optional<StorageOptions>& options) {
            return Storage::open(uri, options.value_or(StorageOptions{}));
          },
          py::arg("uri"), py::arg("options") = py::none(), gil_release())
      .def(
          "put",
          [](Storage& self, const std::string& key, const py::buffer& data) {
            // Reads straight from the caller's buffer (bytes, bytearray, memoryview): no copy.
            const py::buffer_info info = data.request();
            if (info.ndim > 1 && info.strides.back() != info.itemsize) {
              throw Error(ErrorCode::kInvalidInput, "put: data must be a contiguous buffer");
            }
            const std::string_view bytes(static_cast<const char*>(info.ptr),
                                         static_cast<std::size_t>(info.size * info.itemsize));
            py::gil_scoped_release release;
            self.put(key, bytes);
          },
          py::arg("key"), py::arg("data"), "Write bytes to key atomically.")
      .def("put_file", &Storage::put_file, py::arg("key"), py::arg("path"), gil_release(),
           "Copy a local file to key atomically.")
      .def(
          "get",
          [](Storage& self, const std::string& key) {
            std::string data;
            {
              py::gil_scoped_release release;
              data = self.get(key);
            }
            return py::bytes(data);
          },
          py::arg("key"))
      .def(
          "read_range",
          [](Storage& self, const std::string& key, std::uint64_t offset, std::uint64_t length) {
            std::string data;
            {
              py::gil_scoped_release release;
              data = self.read_range(key, offset, length);
            }
            return py::bytes(data);
          },
          py::arg("key"), py::arg("offset"), py::arg("length"))
      .def("exists", &Storage::exists, py::arg("key"), gil_release())
      .def(
          "stat",
          [](Storage& self, const std::string& key) {
            ObjectInfo info;
            {
              py::gil_scoped_release release;
              info = self.stat(key);
            }
            py::dict result;
            result["key"] = info.key;
            result["size"] = info.size;
            result["modified_unix_ms"] = info.modified_unix_ms;
            return result;
          },
          py::arg("key"))
      .def("list", &Storage::list, py::arg("prefix") = "", py::arg("recursive") = true, gil_release(),
           "Sorted keys starting with prefix; recursive=False lists one level, sub-folders ending in '/'.")
      .def("delete", &Storage::remove, py::arg("key"), gil_release())
      .def("uri", &Storage::uri, py::arg("key"))
      .def_property_readonly("root_uri", &Storage::root_uri)
      .def("__repr__", [](const Storage& self) { return "<tessera.Storage " + self.root_uri() + ">"; });
}

}  // namespace tessera::python
