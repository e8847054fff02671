#include "catalog/stac.hpp"

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog {

using nlohmann::json;

namespace {

// Collects the context ("item 'x' (collection 'y')") once, for every message.
class Problems {
 public:
  explicit Problems(std::string context) : context_(std::move(context)) {}
  [[noreturn]] void fail(std::string_view field, std::string_view problem) const {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}: {}", context_, field, problem));
  }
  const json& require(const json& object, const char* field, json::value_t type, std::string_view type_name) const {
    const auto it = object.find(field);
    if (it == object.end()) {
      fail(field, "is missing");
    }
    if (it->type() != type) {
      fail(field, fmt::format("must be {}, got {}", type_name, it->type_name()));
    }
    return *it;
  }
  const std::string& require_string(const json& object, const char* field) const {
    const auto& value = require(object, field, json::value_t::string, "a string");
    if (value.get_ref<const std::string&>().empty()) {
      fail(field, "is empty");
    }
    // Ids are looked up through C strings (libpq, the C ABI): a NUL would cut them short.
    if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      fail(field, "contains a NUL character");
    }
    return value.get_ref<const std::string&>();
  }

 private:
  std::string context_;
};

std::string object_context(std::string_view kind, const json& object) {
  const auto id = object.is_object() ? object.find("id") : json::const_iterator();
  if (object.is_object() && id != object.end() && id->is_string()) {
    return fmt::format("{} '{}'", kind, printable_id(id->get<std::string>()));
  }
  return std::string(kind);
}

}  // namespace

std::string printable_id(std::string_view id) {
  std::string printable;
  printable.reserve(id.size());
  for (const char c : id) {
    if (c == '\0') {
      printable += "\\0";
    } else {
      printable.push_back(c);
    }
  }
  return printable;
}

void validate_collection(const json& collection) {
  if (!collection.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("collection: expected a JSON object, got {}", collection.type_name()));
  }
  const Problems problems(object_context("collection", collection));
  const auto& type = problems.require_string(collection, "type");
  if (type != "Collection") {
    problems.fail("type", fmt::format("must be 'Collection', got '{}'", type));
  }
  problems.require_string(collection, "stac_version");
  problems.require_string(collection, "id");
  problems.require(collection, "description", json::value_t::string, "a string");
  problems.require_string(collection, "license");
  problems.require(collection, "links", json::value_t::array, "an array");
  const auto& extent = problems.require(collection, "extent", json::value_t::object, "an object");
  const Problems extent_problems(object_context("collection", collection) + ": extent");
  const auto& spatial = extent_problems.require(extent, "spatial", json::value_t::object, "an object");
  const auto& bboxes = extent_problems.require(spatial, "bbox", json::value_t::array, "an array of bboxes");
  if (bboxes.empty()) {
    problems.fail("extent.spatial.bbox", "needs at least one bbox");
  }
  for (std::size_t i = 0; i < bboxes.size(); ++i) {
    try {
      (void)Bbox::from_json(bboxes[i], fmt::format("extent.spatial.bbox[{}]", i));
    } catch (const Error& error) {
      problems.fail("extent", error.what());
    }
  }
  const auto& temporal = extent_problems.require(extent, "temporal", json::value_t::object, "an object");
  const auto& intervals = extent_problems.require(temporal, "interval", json::value_t::array, "an array of intervals");
  if (intervals.empty()) {
    problems.fail("extent.temporal.interval", "needs at least one interval");
  }
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    const auto& interval = intervals[i];
    const std::string field = fmt::format("extent.temporal.interval[{}]", i);
    if (!interval.is_array() || interval.size() != 2) {
      problems.fail(field, "must be [start, end]");
    }
    for (const auto& end : interval) {
      if (!end.is_null() && !(end.is_string() && parse_rfc3339_micros(end.get_ref<const std::string&>()))) {
        problems.fail(field, fmt::format("{} is neither null nor an RFC 3339 date-time", end.dump()));
      }
    }
  }
}

std::optional<SearchableText> searchable_text(std::optional<std::string> title, std::optional<std::string> description,
                                              std::optional<std::string> keywords) {
  if (!description) {
    return std::nullopt;
  }
  return SearchableText{std::move(title).value_or(""), std::move(*description), std::move(keywords).value_or("")};
}

std::optional<SearchableText> searchable_text(const json& object) {
  auto value = [&object](const char* name) -> std::optional<std::string> {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
      return std::nullopt;
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  return searchable_text(value("title"), value("description"), value("keywords"));
}

}  // namespace tessera::catalog
