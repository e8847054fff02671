#include "service/transactions.hpp"

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

// The object `body` as a STAC object of `type` that belongs at `collection`
// / `id`: members naming another place are refused, missing ones filled in.
void place(json& object, std::string_view what, std::string_view member, std::string_view expected) {
  if (!object.is_object()) {
    bad_request(fmt::format("request body: expected a {} object", what));
  }
  const auto it = object.find(member);
  if (it == object.end() || it->is_null()) {
    object[std::string(member)] = expected;
  } else if (!it->is_string() || it->get_ref<const std::string&>() != expected) {
    bad_request(fmt::format("request body: {} '{}' is {} but the URL names '{}'", what, member, it->dump(), expected));
  }
}

// Links are the server's to give (it serves its own on every answer): a
// written object without them gets an empty list, as STAC API clients
// (stac-api-validator's test item among them) send none.
void default_links(json& object) {
  if (object.is_object() && !object.contains("links")) {
    object["links"] = json::array();
  }
}

json patched(json target, const json& patch, PatchKind kind) {
  if (kind == PatchKind::kMerge) {
    if (!patch.is_object()) {
      bad_request("request body: a merge patch must be a JSON object");
    }
    target.merge_patch(patch);
    return target;
  }
  if (!patch.is_array()) {
    bad_request("request body: a JSON Patch must be an array of operations");
  }
  try {
    return target.patch(patch);
  } catch (const json::exception& error) {
    bad_request(fmt::format("request body: the JSON Patch does not apply ({})", error.what()));
  }
}

bool item_exists(Catalog& catalog, std::string_view collection, std::string_view id) {
  try {
    static_cast<void>(catalog.get_item(collection, id));
    return true;
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kNotFound) {
      return false;
    }
    throw;
  }
}

LoadReport load_into(Catalog& catalog, std::string_view collection, std::vector<json> items, LoadMode mode) {
  static_cast<void>(catalog.get_collection(collection));  // NotFound for an unknown collection
  for (auto& item : items) {
    if (item.is_object()) {
      place(item, "item", "collection", collection);
      default_links(item);
    }
  }
  LoadOptions options;
  options.mode = mode;
  return catalog.load(items, options);
}

}  // namespace

PatchKind patch_kind_of(const std::string* content_type) {
  if (content_type != nullptr) {
    const std::string_view media = std::string_view(*content_type).substr(0, content_type->find(';'));
    if (equals_ignoring_case(media, "application/json-patch+json")) {
      return PatchKind::kJsonPatch;
    }
  }
  return PatchKind::kMerge;
}

void StacTransactions::write_item(const json& item, LoadMode mode) const {
  LoadOptions options;
  options.mode = mode;
  const LoadReport report = catalog_.load({item}, options);
  if (report.failed.empty()) {
    return;
  }
  const LoadFailure& failure = report.failed.front();
  if (failure.retryable) {
    throw Error(ErrorCode::kUnavailable, failure.error);
  }
  if (mode == LoadMode::kInsert &&
      item_exists(catalog_, item["collection"].get<std::string>(), item.value("id", std::string()))) {
    throw Error(ErrorCode::kConflict, failure.error);
  }
  bad_request(failure.error);
}

std::string StacTransactions::create_item(std::string_view collection, json item) const {
  static_cast<void>(catalog_.get_collection(collection));  // NotFound for an unknown collection
  place(item, "item", "collection", collection);
  default_links(item);
  if (!item.contains("id") || !item["id"].is_string()) {
    bad_request("request body: the item has no string 'id'");
  }
  write_item(item, LoadMode::kInsert);
  return item["id"].get<std::string>();
}

LoadReport StacTransactions::create_items(std::string_view collection, json feature_collection) const {
  auto features = feature_collection.find("features");
  if (features == feature_collection.end() || !features->is_array()) {
    bad_request("request body: a FeatureCollection needs a 'features' array");
  }
  return load_into(catalog_, collection, features->get<std::vector<json>>(), LoadMode::kInsert);
}

LoadReport StacTransactions::bulk_items(std::string_view collection, json body) const {
  if (!body.is_object() || !body.contains("items")) {
    bad_request("request body: expected {\"items\": {id: item, ...}, \"method\": \"insert\" | \"upsert\"}");
  }
  LoadMode mode = LoadMode::kInsert;
  if (const auto method = body.find("method"); method != body.end()) {
    if (!method->is_string() || (*method != "insert" && *method != "upsert")) {
      bad_request("request body: 'method' must be \"insert\" or \"upsert\"");
    }
    mode = *method == "upsert" ? LoadMode::kUpsert : LoadMode::kInsert;
  }
  std::vector<json> items;
  json& listed = body["items"];
  if (listed.is_object()) {
    for (auto& [key, item] : listed.items()) {
      if (item.is_object()) {
        place(item, "item", "id", key);
      }
      items.push_back(std::move(item));
    }
  } else if (listed.is_array()) {
    items = listed.get<std::vector<json>>();
  } else {
    bad_request("request body: 'items' must be an object of id: item or an array of items");
  }
  return load_into(catalog_, collection, std::move(items), mode);
}

void StacTransactions::replace_item(std::string_view collection, std::string_view id, json item) const {
  place(item, "item", "collection", collection);
  place(item, "item", "id", id);
  default_links(item);
  static_cast<void>(catalog_.get_item(collection, id));  // NotFound when there is nothing to replace
  write_item(item, LoadMode::kUpsert);
}

void StacTransactions::patch_item(std::string_view collection, std::string_view id, const json& patch,
                                  PatchKind kind) const {
  json item = patched(catalog_.get_item(collection, id), patch, kind);
  place(item, "item", "collection", collection);
  place(item, "item", "id", id);
  write_item(item, LoadMode::kUpsert);
}

void StacTransactions::delete_item(std::string_view collection, std::string_view id) const {
  try {
    catalog_.delete_item(collection, id);
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kNotFound) {
      throw;
    }
  }
}

std::string StacTransactions::create_collection(json collection) const {
  if (!collection.is_object() || !collection.contains("id") || !collection["id"].is_string()) {
    bad_request("request body: expected a collection object with a string 'id'");
  }
  default_links(collection);
  catalog_.create_collection(collection);
  return collection["id"].get<std::string>();
}

void StacTransactions::replace_collection(std::string_view id, json collection) const {
  place(collection, "collection", "id", id);
  default_links(collection);
  catalog_.update_collection(collection);
}

void StacTransactions::patch_collection(std::string_view id, const json& patch, PatchKind kind) const {
  json collection = patched(catalog_.get_collection(id), patch, kind);
  place(collection, "collection", "id", id);
  catalog_.update_collection(collection);
}

void StacTransactions::delete_collection(std::string_view id) const { catalog_.delete_collection(id, true); }

}  // namespace tessera::service
