// The processor registry and the JSON form of its entries: a dataset
// definition with processor metadata beside it.

#include "packaging/processor_registry.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr const char* kMetadataFields[] = {"author", "long_title", "summary", "origin_url", "formats"};

std::string metadata_string(const json& entry, const char* field, std::string_view where) {
  if (!entry.contains(field) || entry[field].is_null()) {
    return {};
  }
  if (!entry[field].is_string()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: expected a string", where, field));
  }
  return entry[field].get<std::string>();
}

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

}  // namespace

std::string RegisteredProcessor::name() const { return dataset.name + "/" + dataset.version; }

json RegisteredProcessor::metadata_json() const {
  json license = {{"name", nullptr}, {"title", nullptr}, {"path", nullptr}};
  for (const char* field : {"name", "title", "path"}) {
    if (dataset.license.contains(field)) {
      license[field] = dataset.license[field];
    }
  }
  return {{"name", name()},
          {"dataset", dataset.name},
          {"version", dataset.version},
          {"description", text_or_null(dataset.description)},
          {"author", text_or_null(metadata.author)},
          {"title", text_or_null(dataset.title)},
          {"long_title", text_or_null(metadata.long_title)},
          {"summary", text_or_null(metadata.summary)},
          {"citation", text_or_null(dataset.citation)},
          {"license", license},
          {"origin_url", text_or_null(metadata.origin_url)},
          {"formats", metadata.formats.empty() ? std::vector<std::string>{dataset.format} : metadata.formats}};
}

RegisteredProcessor RegisteredProcessor::from_json(const json& entry, std::string_view where) {
  if (!entry.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected a JSON object", where));
  }
  RegisteredProcessor parsed;
  parsed.metadata.author = metadata_string(entry, "author", where);
  parsed.metadata.long_title = metadata_string(entry, "long_title", where);
  parsed.metadata.summary = metadata_string(entry, "summary", where);
  parsed.metadata.origin_url = metadata_string(entry, "origin_url", where);
  // Shown as a link on the package pages: a web address, never script.
  if (!parsed.metadata.origin_url.empty() && !parsed.metadata.origin_url.starts_with("https://") &&
      !parsed.metadata.origin_url.starts_with("http://")) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}.origin_url: '{}' is not an http(s) URL", where, parsed.metadata.origin_url));
  }
  if (entry.contains("formats") && !entry["formats"].is_null()) {
    const json& formats = entry["formats"];
    if (!formats.is_array() ||
        !std::all_of(formats.begin(), formats.end(), [](const json& f) { return f.is_string() && !f.empty(); })) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.formats: expected an array of format names", where));
    }
    parsed.metadata.formats = formats.get<std::vector<std::string>>();
  }
  json definition = entry;
  for (const char* field : kMetadataFields) {
    definition.erase(field);
  }
  parsed.dataset = DatasetDefinition::from_json(definition, where);
  return parsed;
}

namespace packaging {

void check_processor_name(std::string_view name, std::string_view where) {
  const auto slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == name.size() ||
      name.find('/', slash + 1) != std::string_view::npos) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: '{}' is not a processor name (\"<dataset>/<version>\")", where, name));
  }
}

void ProcessorRegistry::add(RegisteredProcessor processor) {
  std::string name = processor.name();
  const std::lock_guard lock(mutex_);
  processors_.insert_or_assign(std::move(name), std::move(processor));
}

json ProcessorRegistry::add_json(const json& entries) {
  if (!entries.is_array()) {
    throw Error(ErrorCode::kInvalidInput, "processors: expected an array of dataset definitions with metadata");
  }
  std::vector<RegisteredProcessor> parsed;
  parsed.reserve(entries.size());
  json names = json::array();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    parsed.push_back(RegisteredProcessor::from_json(entries[i], fmt::format("processors[{}]", i)));
    for (std::size_t j = 0; j + 1 < parsed.size(); ++j) {
      if (parsed[j].name() == parsed.back().name()) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("processors[{}]: '{}' is also processors[{}]", i, parsed.back().name(), j));
      }
    }
    names.push_back(parsed.back().name());
  }
  for (auto& processor : parsed) {
    add(std::move(processor));
  }
  return names;
}

json ProcessorRegistry::list() const {
  const std::lock_guard lock(mutex_);
  json list = json::array();
  for (const auto& entry : processors_) {
    list.push_back(entry.second.metadata_json());
  }
  return list;
}

RegisteredProcessor ProcessorRegistry::get(std::string_view name) const {
  const std::lock_guard lock(mutex_);
  const auto found = processors_.find(name);
  if (found == processors_.end()) {
    std::string known;
    for (const auto& entry : processors_) {
      known += (known.empty() ? "" : ", ") + entry.first;
    }
    throw Error(ErrorCode::kNotFound,
                fmt::format("processor '{}' is not registered (registered: {})", name, known.empty() ? "none" : known));
  }
  return found->second;
}

std::vector<DatasetDefinition> ProcessorRegistry::definitions(const std::vector<std::string>& names) const {
  std::vector<DatasetDefinition> definitions;
  definitions.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string where = fmt::format("processors[{}]", i);
    check_processor_name(names[i], where);
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
        names.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: '{}' is named twice", where, names[i]));
    }
    definitions.push_back(get(names[i]).dataset);
  }
  return definitions;
}

}  // namespace packaging

}  // namespace tessera
