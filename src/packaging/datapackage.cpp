#include "packaging/datapackage.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/redact.hpp"
#include "tessera/datetime.hpp"

namespace tessera::packaging {

using nlohmann::json;

namespace {

constexpr const char* kProfile = "https://datapackage.org/profiles/2.0/datapackage.json";

json sources_of(const DatasetDefinition& dataset) {
  json sources = json::array();
  for (const auto& href : dataset.sources) {
    // Published: no presigned query string, password or host secret in it.
    json source = {{"title", dataset.title.empty() ? dataset.name : dataset.title},
                   {"path", core::redact_secrets(href)}};
    if (!dataset.citation.empty()) {
      source["citation"] = dataset.citation;
    }
    sources.push_back(std::move(source));
  }
  return sources;
}

void add_unique(json& list, const json& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(value);
  }
}

}  // namespace

std::string now_rfc3339() {
  return format_rfc3339(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

json resource_of(const DatasetDefinition& dataset, const ProcessedFile& file, const std::string& path,
                 std::uint64_t bytes, const std::string& sha256, std::size_t index, std::size_t count) {
  json resource = {
      {"name", count == 1 ? dataset.name : fmt::format("{}-{}", dataset.name, index + 1)},
      {"path", path},
      {"type", "file"},
      {"format", file.format},
      {"mediatype", file.media_type},
      {"bytes", bytes},
      {"hash", "sha256:" + sha256},
      {"sources", sources_of(dataset)},
      {"tessera:dataset", dataset.name},
      {"tessera:version", dataset.version},
  };
  if (!dataset.title.empty()) {
    resource["title"] = dataset.title;
  }
  if (!dataset.description.empty()) {
    resource["description"] = dataset.description;
  }
  if (!dataset.license.empty()) {
    resource["licenses"] = json::array({dataset.license});
  }
  if (!dataset.citation.empty()) {
    resource["tessera:citation"] = dataset.citation;
  }
  if (!file.crs.empty()) {
    resource["tessera:crs"] = file.crs;
  }
  if (file.bbox) {
    resource["tessera:bbox"] = file.bbox->to_json();
  }
  return resource;
}

json updated_package(const json& existing, const Boundary& boundary, const std::vector<std::string>& datasets,
                     const std::vector<json>& resources) {
  json package = existing.is_object() ? existing : json::object();
  json kept = json::array();
  for (const auto& resource : package.value("resources", json::array())) {
    const std::string dataset = resource.value("tessera:dataset", "");
    if (std::find(datasets.begin(), datasets.end(), dataset) == datasets.end()) {
      kept.push_back(resource);
    }
  }
  for (const auto& resource : resources) {
    kept.push_back(resource);
  }
  std::sort(kept.begin(), kept.end(),
            [](const json& a, const json& b) { return a.value("name", "") < b.value("name", ""); });
  json licenses = json::array();
  json sources = json::array();
  std::optional<Bbox> extent;
  for (const auto& resource : kept) {
    for (const auto& license : resource.value("licenses", json::array())) {
      add_unique(licenses, license);
    }
    for (const auto& source : resource.value("sources", json::array())) {
      add_unique(sources, source);
    }
    if (resource.contains("tessera:bbox")) {
      const Bbox box = Bbox::from_json(resource["tessera:bbox"]);
      extent = extent ? Bbox{std::min(extent->minx, box.minx), std::min(extent->miny, box.miny),
                             std::max(extent->maxx, box.maxx), std::max(extent->maxy, box.maxy)}
                      : box;
    }
  }
  package["$schema"] = kProfile;
  package["name"] = boundary.id;
  package["title"] = boundary.long_name.empty() ? boundary.name : boundary.long_name;
  package["created"] = now_rfc3339();
  package["resources"] = std::move(kept);
  if (!licenses.empty()) {
    package["licenses"] = std::move(licenses);
  }
  if (!sources.empty()) {
    package["sources"] = std::move(sources);
  }
  package["tessera:boundary"] = {
      {"id", boundary.id}, {"name", boundary.name}, {"bbox", boundary.geometry.bbox().to_json()}};
  if (extent) {
    package["tessera:bbox"] = extent->to_json();
  }
  package["tessera:crs"] = "EPSG:4326";  // of the bboxes; each resource names its own data's CRS
  return package;
}

}  // namespace tessera::packaging
