#include "matching/predictions.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "matching/definitions.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

using nlohmann::json;

namespace {

[[noreturn]] void invalid(const json& item, std::string_view field, std::string_view problem) {
  const std::string id = item.contains("id") && item["id"].is_string() ? item["id"].get<std::string>() : "";
  throw Error(ErrorCode::kInvalidInput, fmt::format("label item '{}': {}: {}", id, field, problem));
}

bool is_categorical(const json& properties) {
  const auto tasks = properties.find("label:tasks");
  if (tasks == properties.end() || !tasks->is_array()) {
    return false;
  }
  return std::any_of(tasks->begin(), tasks->end(),
                     [](const json& task) { return task == "classification" || task == "segmentation"; });
}

}  // namespace

void validate_label_item(json& item) {
  if (!item.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "label item: must be a JSON object (a STAC Item)");
  }
  if (!item.contains("id") || !item["id"].is_string() || item["id"].get_ref<const std::string&>().empty()) {
    invalid(item, "id", "required, a non-empty string");
  }
  if (!item.contains("properties") || !item["properties"].is_object()) {
    invalid(item, "properties", "required, an object");
  }
  const json& properties = item["properties"];
  const auto label_properties = properties.find("label:properties");
  if (label_properties == properties.end()) {
    invalid(item, "properties.label:properties", "required (an array of property names, or null for raster labels)");
  }
  if (!label_properties->is_null() &&
      (!label_properties->is_array() ||
       !std::all_of(label_properties->begin(), label_properties->end(), [](const json& p) { return p.is_string(); }))) {
    invalid(item, "properties.label:properties", "must be an array of property names or null");
  }
  const auto description = properties.find("label:description");
  if (description == properties.end() || !description->is_string() ||
      description->get_ref<const std::string&>().empty()) {
    invalid(item, "properties.label:description", "required, a non-empty string");
  }
  const auto type = properties.find("label:type");
  if (type == properties.end() || (*type != "vector" && *type != "raster")) {
    invalid(item, "properties.label:type", "required, \"vector\" or \"raster\"");
  }
  const auto classes = properties.find("label:classes");
  if (classes != properties.end()) {
    if (!classes->is_array()) {
      invalid(item, "properties.label:classes", "must be an array of {name, classes}");
    }
    for (std::size_t n = 0; n < classes->size(); ++n) {
      const json& entry = (*classes)[n];
      if (!entry.is_object() || !entry.contains("classes") || !entry["classes"].is_array() ||
          (entry.contains("name") && !entry["name"].is_string() && !entry["name"].is_null())) {
        invalid(item, fmt::format("properties.label:classes[{}]", n),
                "must be {\"name\": property or null, \"classes\": [values]}");
      }
    }
  } else if (is_categorical(properties)) {
    invalid(item, "properties.label:classes", "required for classification/segmentation labels");
  }
  const auto links = item.find("links");
  const bool has_source =
      links != item.end() && links->is_array() && std::any_of(links->begin(), links->end(), [](const json& link) {
        return link.is_object() && link.value("rel", "") == "source" && link.contains("href") &&
               link["href"].is_string();
      });
  if (!has_source) {
    invalid(item, "links", "a link with rel \"source\" to the imagery item is required");
  }
  json& extensions = item["stac_extensions"];
  if (!extensions.is_array()) {
    extensions = json::array();
  }
  const bool listed = std::any_of(extensions.begin(), extensions.end(), [](const json& url) {
    return url.is_string() &&
           url.get_ref<const std::string&>().find("stac-extensions.github.io/label/") != std::string::npos;
  });
  if (!listed) {
    extensions.push_back(kLabelExtension);
  }
}

std::string predictions_collection(std::string_view model) { return fmt::format("{}-predictions", model); }

void ensure_predictions_collection(Catalog& catalog, const std::string& collection, std::string_view model) {
  try {
    catalog.get_collection(collection);
    return;
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kNotFound) {
      throw;
    }
  }
  const json definition = {{"type", "Collection"},
                           {"stac_version", "1.0.0"},
                           {"stac_extensions", json::array({kLabelExtension})},
                           {"id", collection},
                           {"description", fmt::format("Predictions of model '{}'", model)},
                           {"license", "other"},
                           {"extent",
                            {{"spatial", {{"bbox", json::array({json::array({-180, -90, 180, 90})})}}},
                             {"temporal", {{"interval", json::array({json::array({nullptr, nullptr})})}}}}},
                           {"links", json::array()}};
  try {
    catalog.create_collection(definition);
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kConflict) {  // created meanwhile by another writer
      throw;
    }
  }
}

json prediction_record(const json& item, std::string_view model, std::string_view aoi, std::int64_t created_us) {
  json source = nullptr;
  for (const json& link : item["links"]) {
    if (link.is_object() && link.value("rel", "") == "source") {
      source = link["href"];
      break;
    }
  }
  // The results: the first asset (by key), else the label item itself.
  json uri = nullptr;
  if (item.contains("assets") && item["assets"].is_object()) {
    for (const auto& [key, asset] : item["assets"].items()) {
      if (asset.is_object() && asset.contains("href")) {
        uri = asset["href"];
        break;
      }
    }
  }
  // Class counts from label:overviews [{property_key, counts: [{name, count}]}].
  json classes = json::object();
  const json& properties = item["properties"];
  if (properties.contains("label:overviews") && properties["label:overviews"].is_array()) {
    for (const json& overview : properties["label:overviews"]) {
      if (!overview.is_object() || !overview.contains("counts") || !overview["counts"].is_array()) {
        continue;
      }
      for (const json& count : overview["counts"]) {
        if (count.is_object() && count.contains("name") && count.contains("count") && count["count"].is_number()) {
          const std::string name = count["name"].is_string() ? count["name"].get<std::string>() : count["name"].dump();
          classes[name] = classes.value(name, 0.0) + count["count"].get<double>();
        }
      }
    }
  }
  return {{"id", new_id()},     {"model", model},   {"aoi", aoi}, {"collection", item["collection"]},
          {"item", item["id"]}, {"source", source}, {"uri", uri}, {"created", format_rfc3339_micros(created_us)},
          {"classes", classes}};
}

json summarize(std::string_view model, const std::vector<json>& predictions) {
  json by_aoi = json::object();
  json classes = json::object();
  json latest = nullptr;
  const auto add_classes = [](json& into, const json& counts) {
    for (const auto& [name, count] : counts.items()) {
      into[name] = into.value(name, 0.0) + count.get<double>();
    }
  };
  for (const json& prediction : predictions) {  // oldest first
    const std::string aoi = prediction["aoi"].get<std::string>();
    json& entry = by_aoi[aoi];
    if (entry.is_null()) {
      entry = {{"predictions", 0}, {"latest", nullptr}, {"classes", json::object()}};
    }
    entry["predictions"] = entry["predictions"].get<std::int64_t>() + 1;
    entry["latest"] = prediction;
    add_classes(entry["classes"], prediction["classes"]);
    add_classes(classes, prediction["classes"]);
    latest = prediction;
  }
  return {{"model", model},
          {"predictions", predictions.size()},
          {"latest", latest},
          {"by_aoi", by_aoi},
          {"classes", classes}};
}

}  // namespace tessera::matching
