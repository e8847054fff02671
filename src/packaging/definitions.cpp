// Dataset definitions and boundaries: parsing with errors that name the field,
// and their JSON forms.

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "packaging/definitions.hpp"
#include "tessera/packaging.hpp"

namespace tessera {

using nlohmann::json;

namespace {

std::string required_string(const json& object, const char* field, std::string_view where) {
  if (!object.contains(field) || !object[field].is_string() || object[field].get<std::string>().empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: required, a non-empty string", where, field));
  }
  return object[field].get<std::string>();
}

std::string optional_string(const json& object, const char* field, std::string_view where) {
  if (!object.contains(field) || object[field].is_null()) {
    return {};
  }
  if (!object[field].is_string()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: expected a string", where, field));
  }
  return object[field].get<std::string>();
}

// Names and versions become storage key segments and Data Package names.
void check_segment(const std::string& value, std::string_view where, const char* field, bool lower_case) {
  const bool valid = std::all_of(value.begin(), value.end(), [&](unsigned char c) {
    return std::isdigit(c) || std::islower(c) || (!lower_case && std::isupper(c)) || c == '-' || c == '_' || c == '.';
  });
  if (!valid || value == "." || value == "..") {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: '{}' may only hold {}letters, digits, '-', '_' and '.'",
                                                      where, field, value, lower_case ? "lower-case " : ""));
  }
}

}  // namespace

DatasetDefinition DatasetDefinition::from_json(const json& definition, std::string_view where) {
  if (!definition.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected a JSON object", where));
  }
  DatasetDefinition parsed;
  parsed.name = required_string(definition, "name", where);
  check_segment(parsed.name, where, "name", true);
  parsed.version = required_string(definition, "version", where);
  check_segment(parsed.version, where, "version", false);
  parsed.title = optional_string(definition, "title", where);
  parsed.description = optional_string(definition, "description", where);
  parsed.citation = optional_string(definition, "citation", where);
  if (definition.contains("license")) {
    const json& license = definition["license"];
    if (!license.is_object() || (!license.contains("name") && !license.contains("path"))) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{}.license: expected an object with a name or path (and a title)", where));
    }
    for (const char* field : {"name", "path", "title"}) {
      optional_string(license, field, fmt::format("{}.license", where));
    }
    parsed.license = license;
  }
  if (!definition.contains("sources") || !definition["sources"].is_array() || definition["sources"].empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}.sources: required, a non-empty array of hrefs", where));
  }
  for (std::size_t i = 0; i < definition["sources"].size(); ++i) {
    const json& source = definition["sources"][i];
    if (!source.is_string() || source.get<std::string>().empty()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.sources[{}]: expected a non-empty href", where, i));
    }
    parsed.sources.push_back(source.get<std::string>());
  }
  parsed.type = required_string(definition, "type", where);
  if (parsed.type != "raster" && parsed.type != "vector") {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}.type: '{}' is not a dataset type (raster, vector)", where, parsed.type));
  }
  parsed.format = optional_string(definition, "format", where);
  if (parsed.format.empty()) {
    parsed.format = parsed.type == "raster" ? "COG" : "GPKG";
  } else if (parsed.format == "GeoPackage" && parsed.type == "vector") {
    parsed.format = "GPKG";  // GDAL's name for it
  }
  const bool format_fits = parsed.type == "raster" ? parsed.format == "COG"
                                                   : (parsed.format == "GPKG" || parsed.format == "FlatGeobuf" ||
                                                      parsed.format == "GeoJSON");
  if (!format_fits) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}.format: '{}' is not an output format for {} datasets ({})", where, parsed.format,
                            parsed.type, parsed.type == "raster" ? "COG" : "GPKG (GeoPackage), FlatGeobuf, GeoJSON"));
  }
  if (definition.contains("options")) {
    if (!definition["options"].is_object()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.options: expected an object", where));
    }
    parsed.options = definition["options"];
    if (parsed.options.contains("all_touched") && !parsed.options["all_touched"].is_boolean()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.options.all_touched: expected true or false", where));
    }
  }
  parsed.processor = optional_string(definition, "processor", where);
  if (parsed.processor.empty()) {
    parsed.processor = parsed.type;
  }
  for (const auto& member : definition.items()) {
    const std::string& field = member.key();
    static const char* const kKnown[] = {"name",    "version", "title",  "description", "license",  "citation",
                                         "sources", "type",    "format", "options",     "processor"};
    if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* known) { return field == known; })) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: unknown field", where, field));
    }
  }
  return parsed;
}

json DatasetDefinition::to_json() const {
  json definition = {{"name", name},         {"version", version},    {"title", title}, {"description", description},
                     {"citation", citation}, {"sources", sources},    {"type", type},   {"format", format},
                     {"options", options},   {"processor", processor}};
  // No license is an empty object here, which from_json() rejects: leave it
  // out so the document reads back (processors get it and may pass it on).
  if (!license.empty()) {
    definition["license"] = license;
  }
  return definition;
}

json ClipResult::to_json() const {
  json result = {{"destination", destination}, {"bytes", bytes},           {"crs", crs},
                 {"bbox", bbox.to_json()},     {"media_type", media_type}, {"format", format}};
  if (width > 0) {
    result["width"] = width;
    result["height"] = height;
  } else {
    result["features"] = features;
  }
  return result;
}

json Boundary::to_json() const {
  return {{"type", "Feature"},
          {"id", id},
          {"properties", {{"name", name}, {"long_name", long_name}}},
          {"bbox", geometry.bbox().to_json()},
          {"geometry", geometry.to_geojson()}};
}

Boundary Boundary::from_json(const json& feature) {
  Boundary boundary;
  boundary.id = feature.at("id").get<std::string>();
  boundary.name = feature.at("properties").at("name").get<std::string>();
  boundary.long_name = feature.at("properties").value("long_name", boundary.name);
  boundary.geometry = Geometry::from_geojson(feature.at("geometry"), "boundary");
  return boundary;
}

namespace packaging {

std::string slug(std::string_view name) {
  std::string text;
  for (const unsigned char c : name) {
    if (std::isalnum(c)) {
      text += static_cast<char>(std::tolower(c));
    } else if (!text.empty() && text.back() != '-') {
      text += '-';
    }
  }
  while (!text.empty() && text.back() == '-') {
    text.pop_back();
  }
  return text;
}

}  // namespace packaging

}  // namespace tessera
