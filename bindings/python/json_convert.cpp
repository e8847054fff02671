#include "json_convert.hpp"

#include <string>

#include "tessera/error.hpp"

namespace tessera::python {
namespace {

// Deeper nesting than any STAC object needs: a guard against runaway recursion.
constexpr int kMaxDepth = 200;

nlohmann::json convert(const py::handle& object, int depth) {
  if (depth > kMaxDepth) {
    throw Error(ErrorCode::kInvalidInput, "object is nested too deeply to convert to JSON");
  }
  if (object.is_none()) {
    return nullptr;
  }
  if (py::isinstance<py::bool_>(object)) {
    return object.cast<bool>();
  }
  if (py::isinstance<py::int_>(object)) {
    try {
      return object.cast<std::int64_t>();
    } catch (const py::cast_error&) {
      return object.cast<std::uint64_t>();
    }
  }
  if (py::isinstance<py::float_>(object)) {
    return object.cast<double>();
  }
  if (py::isinstance<py::str>(object)) {
    return object.cast<std::string>();
  }
  if (py::isinstance<py::dict>(object)) {
    nlohmann::json result = nlohmann::json::object();
    for (const auto& [key, value] : object.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key)) {
        throw Error(ErrorCode::kInvalidInput,
                    "JSON object keys must be str, got " + std::string(py::str(py::type::of(key).attr("__name__"))));
      }
      result[key.cast<std::string>()] = convert(value, depth + 1);
    }
    return result;
  }
  if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
    nlohmann::json result = nlohmann::json::array();
    for (const auto& value : object) {
      result.push_back(convert(value, depth + 1));
    }
    return result;
  }
  throw Error(ErrorCode::kInvalidInput,
              "cannot convert " + std::string(py::str(py::type::of(object).attr("__name__"))) + " to JSON");
}

}  // namespace

nlohmann::json to_json(const py::handle& object) { return convert(object, 0); }

py::object from_json(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(value.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(value.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list list(value.size());
      for (std::size_t n = 0; n < value.size(); ++n) {
        list[n] = from_json(value[n]);
      }
      return list;
    }
    case nlohmann::json::value_t::object: {
      py::dict dict;
      for (const auto& [key, member] : value.items()) {
        dict[py::str(key)] = from_json(member);
      }
      return dict;
    }
    default:
      return py::none();
  }
}

}  // namespace tessera::python
