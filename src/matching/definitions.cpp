#include "matching/definitions.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <fmt/format.h>

#include "matching/spectrum.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

using nlohmann::json;

namespace {

[[noreturn]] void invalid(std::string_view what, std::string_view field, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}: {}", what, field, problem));
}

std::string now_text() {
  return format_rfc3339_micros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string id_of(const json& object, std::string_view what) {
  const auto it = object.find("id");
  if (it == object.end() || it->is_null()) {
    return new_id();
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    invalid(what, "id", "must be a non-empty string");
  }
  return it->get<std::string>();
}

// The number at `key` of `object` (one of `aliases` may stand for it).
std::optional<double> number_at(const json& object, std::initializer_list<const char*> keys, std::string_view what) {
  for (const char* key : keys) {
    const auto it = object.find(key);
    if (it != object.end() && !it->is_null()) {
      if (!it->is_number()) {
        invalid(what, key, "must be a number");
      }
      return it->get<double>();
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> window_end(const std::string& text, std::string_view what) {
  if (text.empty() || text == "..") {
    return std::nullopt;
  }
  if (auto micros = parse_rfc3339_micros(text)) {
    return micros;
  }
  if (auto micros = parse_date_micros(text)) {
    return micros;
  }
  invalid(what, "datetime", fmt::format("'{}' is not an RFC 3339 date-time, a date or '..'", text));
}

// POSIX portable names: letters, digits and '_', not starting with a digit.
void check_variable_name(const std::string& what, const std::string& field, const std::string& name) {
  const bool valid = !name.empty() && name.size() <= 256 && std::isdigit(static_cast<unsigned char>(name[0])) == 0 &&
                     std::all_of(name.begin(), name.end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
  if (!valid) {
    invalid(what, field, fmt::format("'{}' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name));
  }
  // The runner's own: a model's definition could otherwise point its callback elsewhere.
  if (name == "TESSERA_RUN_ID" || name == "TESSERA_CALLBACK_URL" || name == "TESSERA_CALLBACK_TOKEN") {
    invalid(what, field, fmt::format("'{}' is set by the runner", name));
  }
}

}  // namespace

std::string new_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", random(), random());
}

json normalize_model(const json& model, const json* existing) {
  if (!model.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "model: must be a JSON object");
  }
  const std::string id = existing != nullptr ? existing->at("id").get<std::string>() : id_of(model, "model");
  const std::string what = fmt::format("model '{}'", id);
  const auto name = model.find("name");
  if (name == model.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    invalid(what, "name", "required, a non-empty string");
  }
  const auto description = model.find("description");
  if (description != model.end() && !description->is_string() && !description->is_null()) {
    invalid(what, "description", "must be a string");
  }
  const auto command = model.find("command");
  if (command == model.end() || !command->is_array() || command->empty()) {
    invalid(what, "command", "required, a non-empty array of strings (program and arguments)");
  }
  for (std::size_t n = 0; n < command->size(); ++n) {
    if (!(*command)[n].is_string() || (n == 0 && (*command)[n].get_ref<const std::string&>().empty())) {
      invalid(what, fmt::format("command[{}]", n), "must be a string (the program a non-empty one)");
    }
  }
  // Runner settings nested under "runner", or at the top level.
  const json& runner = model.contains("runner") && model["runner"].is_object() ? model["runner"] : model;
  if (model.contains("runner") && !model["runner"].is_object()) {
    invalid(what, "runner", "must be an object {timeout, concurrency}");
  }
  const double timeout = number_at(runner, {"timeout", "timeout_seconds"}, what + ": runner").value_or(3600.0);
  if (!(timeout > 0)) {
    invalid(what, "runner.timeout", "must be a positive number of seconds");
  }
  const double concurrency = number_at(runner, {"concurrency"}, what + ": runner").value_or(1.0);
  if (concurrency < 1 || concurrency != static_cast<double>(static_cast<std::int64_t>(concurrency))) {
    invalid(what, "runner.concurrency", "must be a whole number of at least 1");
  }
  // The child's environment beyond the runner's allow-list: variables the
  // model sets, and host variables it names (nothing else of the host's reaches it).
  const json env = model.value("env", json::object());
  if (!env.is_object()) {
    invalid(what, "env", "must be an object of variable names to string values");
  }
  for (const auto& [variable, value] : env.items()) {
    check_variable_name(what, "env", variable);
    if (!value.is_string() || value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      invalid(what, fmt::format("env.{}", variable), "must be a string without NUL");
    }
  }
  const json inherit = model.value("inherit_env", json::array());
  if (!inherit.is_array()) {
    invalid(what, "inherit_env", "must be an array of host variable names");
  }
  for (std::size_t n = 0; n < inherit.size(); ++n) {
    if (!inherit[n].is_string()) {
      invalid(what, fmt::format("inherit_env[{}]", n), "must be a variable name");
    }
    check_variable_name(what, fmt::format("inherit_env[{}]", n), inherit[n].get_ref<const std::string&>());
  }
  // What a batch executor needs (job queue, definition, image, resources):
  // the model's to state, the executor's to read.
  const json executor = model.value("executor", json::object());
  if (!executor.is_object()) {
    invalid(what, "executor", "must be an object (the executor's settings: queue, job definition, image, ...)");
  }
  const std::string item_argument = model.value("item_argument", json("href")).is_string()
                                        ? model.value("item_argument", std::string("href"))
                                        : std::string();
  if (item_argument != "href" && item_argument != "file") {
    invalid(what, "item_argument",
            "must be \"href\" (the item's href when allowed, else its JSON file) or \"file\" (always the file)");
  }
  const std::string now = now_text();
  return {{"id", id},
          {"name", *name},
          {"description", description != model.end() && description->is_string() ? *description : json("")},
          {"command", *command},
          {"env", env},
          {"inherit_env", inherit},
          {"executor", executor},
          {"item_argument", item_argument},
          {"runner", {{"timeout", timeout}, {"concurrency", static_cast<std::int64_t>(concurrency)}}},
          {"created", existing != nullptr ? existing->at("created") : json(now)},
          {"updated", now}};
}

Aoi parse_aoi(const json& aoi) {
  if (!aoi.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "aoi: must be a JSON object");
  }
  Aoi result;
  AoiRule& rule = result.rule;
  rule.id = id_of(aoi, "aoi");
  const std::string what = fmt::format("aoi '{}'", rule.id);
  const auto model = aoi.contains("model") ? aoi.find("model") : aoi.find("model_id");
  if (model == aoi.end() || !model->is_string() || model->get_ref<const std::string&>().empty()) {
    invalid(what, "model", "required, the id of a registered model");
  }
  rule.model = model->get<std::string>();

  // Geometry: GeoJSON in `crs` (or the geometry's legacy "crs" member), stored in WGS84.
  const auto geometry = aoi.find("geometry");
  if (geometry == aoi.end() || !geometry->is_object()) {
    invalid(what, "geometry", "required, a GeoJSON Polygon or MultiPolygon");
  }
  json geojson = *geometry;
  std::string crs = aoi.value("crs", std::string());
  if (geojson.contains("crs")) {
    const json& member = geojson["crs"];
    if (crs.empty() && member.is_object() && member.contains("properties") && member["properties"].contains("name") &&
        member["properties"]["name"].is_string()) {
      crs = member["properties"]["name"].get<std::string>();
    }
    geojson.erase("crs");
  }
  Geometry given = Geometry::from_geojson(geojson, what + ": geometry");
  const std::string type = given.type_name();
  if (type != "Polygon" && type != "MultiPolygon") {
    invalid(what, "geometry", fmt::format("must be a Polygon or MultiPolygon, got {}", type));
  }
  if (given.is_empty()) {
    invalid(what, "geometry", "is empty");
  }
  if (const Validity validity = given.validity(); !validity.valid) {
    invalid(what, "geometry", fmt::format("is not valid ({})", validity.reason));
  }
  try {
    result.geometry = given.to_wgs84(crs.empty() ? Crs::wgs84() : Crs::from_user_input(crs));
  } catch (const Error& error) {
    invalid(what, crs.empty() ? "geometry" : "crs", error.what());
  }
  if (const Validity validity = result.geometry.validity(); !validity.valid) {
    result.geometry = result.geometry.make_valid();
  }

  const auto resolution = number_at(aoi, {"resolution", "target_resolution"}, what);
  if (!resolution || !(*resolution > 0)) {
    invalid(what, "resolution", "required, the largest acceptable ground sample distance in metres (> 0)");
  }
  rule.resolution = *resolution;

  const auto wavelengths = aoi.contains("wavelengths") ? aoi.find("wavelengths") : aoi.find("required_wavelengths");
  if (wavelengths != aoi.end() && !wavelengths->is_null()) {
    if (!wavelengths->is_array()) {
      invalid(what, "wavelengths", "must be an array of wavelengths in µm");
    }
    for (std::size_t n = 0; n < wavelengths->size(); ++n) {
      const json& value = (*wavelengths)[n];
      if (!value.is_number() || value.get<double>() < kMinWavelength || value.get<double>() > kMaxWavelength) {
        invalid(what, fmt::format("wavelengths[{}]", n),
                fmt::format("must be a wavelength in µm between {} and {}, got {}", kMinWavelength, kMaxWavelength,
                            value.dump()));
      }
      rule.wavelengths.push_back(value.get<double>());
    }
  }

  if (const auto collections = aoi.find("collections"); collections != aoi.end() && !collections->is_null()) {
    if (!collections->is_array()) {
      invalid(what, "collections", "must be an array of collection ids");
    }
    for (const json& collection : *collections) {
      if (!collection.is_string()) {
        invalid(what, "collections", "must be an array of collection ids (strings)");
      }
      rule.collections.push_back(collection.get<std::string>());
    }
    std::sort(rule.collections.begin(), rule.collections.end());
  }

  std::string window;
  if (const auto datetime = aoi.find("datetime"); datetime != aoi.end() && !datetime->is_null()) {
    if (datetime->is_string()) {
      window = datetime->get<std::string>();
    } else if (datetime->is_array() && datetime->size() == 2) {
      const auto end_text = [&](const json& value) {
        if (value.is_null()) {
          return std::string("..");
        }
        if (!value.is_string()) {
          invalid(what, "datetime", "must be \"start/end\" or [start, end] (RFC 3339, '..' or null for open)");
        }
        return value.get<std::string>();
      };
      window = end_text((*datetime)[0]) + "/" + end_text((*datetime)[1]);
    } else {
      invalid(what, "datetime", "must be \"start/end\" or [start, end] (RFC 3339, '..' or null for open)");
    }
    const auto slash = window.find('/');
    if (slash == std::string::npos) {
      rule.start = rule.end = window_end(window, what);
    } else {
      rule.start = window_end(window.substr(0, slash), what);
      rule.end = window_end(window.substr(slash + 1), what);
    }
    if (rule.start && rule.end && *rule.start > *rule.end) {
      invalid(what, "datetime", "the window ends before it starts");
    }
  }

  rule.max_cloud_cover = number_at(aoi, {"max_cloud_cover"}, what);
  if (rule.max_cloud_cover && (*rule.max_cloud_cover < 0 || *rule.max_cloud_cover > 100)) {
    invalid(what, "max_cloud_cover", "must be a percentage between 0 and 100");
  }

  json filter_json;
  if (const auto filter = aoi.find("filter"); filter != aoi.end() && !filter->is_null()) {
    try {
      rule.filter =
          filter->is_string() ? cql2::parse_text(filter->get<std::string>()) : cql2::parse_json(*filter, "filter");
    } catch (const Error& error) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", what, error.what()));
    }
    filter_json = cql2::to_json(*rule.filter);
  }

  result.stored = {{"id", rule.id},
                   {"model", rule.model},
                   {"geometry", result.geometry.to_geojson()},
                   {"resolution", rule.resolution},
                   {"wavelengths", rule.wavelengths},
                   {"collections", rule.collections},
                   {"datetime", window.empty() ? json(nullptr) : json(window)},
                   {"max_cloud_cover", rule.max_cloud_cover ? json(*rule.max_cloud_cover) : json(nullptr)},
                   {"filter", filter_json},
                   {"created", aoi.contains("created") ? aoi["created"] : json(now_text())}};
  return result;
}

}  // namespace tessera::matching
