#pragma once

// The STAC API Transaction extensions (items and collections) and the bulk
// item upsert, as operations on a Catalog: the routes (stac_api.cpp) check
// the caller and build the answers. Internal header.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"

namespace tessera::service {

// A write body's media type decides how a PATCH applies: RFC 7396 merge
// patch (application/merge-patch+json, and application/json as STAC API
// clients send it) or RFC 6902 JSON Patch (application/json-patch+json).
enum class PatchKind { kMerge, kJsonPatch };
PatchKind patch_kind_of(const std::string* content_type);

class StacTransactions {
 public:
  explicit StacTransactions(Catalog& catalog) : catalog_(catalog) {}

  // POST /collections/{c}/items with an Item: its id. Conflict when the item
  // exists; InvalidInput naming what is wrong with it.
  std::string create_item(std::string_view collection, nlohmann::json item) const;
  // POST /collections/{c}/items with a FeatureCollection: every item
  // inserted or reported, as Catalog::load does.
  LoadReport create_items(std::string_view collection, nlohmann::json feature_collection) const;
  // POST /collections/{c}/bulk_items: {"items": {id: item} | [item],
  // "method": "insert" | "upsert"}.
  LoadReport bulk_items(std::string_view collection, nlohmann::json body) const;
  // PUT: replaces an existing item (NotFound otherwise).
  void replace_item(std::string_view collection, std::string_view id, nlohmann::json item) const;
  void patch_item(std::string_view collection, std::string_view id, const nlohmann::json& patch, PatchKind kind) const;
  // Deleting an item that is not there succeeds: DELETE is idempotent.
  void delete_item(std::string_view collection, std::string_view id) const;

  std::string create_collection(nlohmann::json collection) const;
  void replace_collection(std::string_view id, nlohmann::json collection) const;
  void patch_collection(std::string_view id, const nlohmann::json& patch, PatchKind kind) const;
  // Deletes the collection and its items, as pgstac does.
  void delete_collection(std::string_view id) const;

 private:
  // The item stored as one write: InvalidInput/Conflict from its load failure.
  void write_item(const nlohmann::json& item, LoadMode mode) const;

  Catalog& catalog_;
};

}  // namespace tessera::service
