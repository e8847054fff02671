#pragma once

// The STAC model as the catalog backends need it: validation of Items and
// Collections with errors naming the object and the field, and the columns
// an item is indexed by. Shared by every backend so they accept and reject
// exactly the same objects.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/geometry.hpp"

namespace tessera::catalog {

// Throws InvalidInput "collection '<id>': <field>: <problem>".
void validate_collection(const nlohmann::json& collection);

// An item after validation, with the values the backends index.
struct PreparedItem {
  std::string id;
  std::string collection;
  // pgstac's columns: datetime = datetime or start_datetime, end_datetime =
  // end_datetime or datetime, in microseconds since the epoch.
  std::int64_t datetime = 0;
  std::int64_t end_datetime = 0;
  std::optional<Bbox> bbox;              // 2D; absent for a null geometry
  std::string geometry_wkb;              // ISO WKB, empty for a null geometry
  std::string content;                   // the item's JSON text, exactly as stored
  const nlohmann::json* item = nullptr;  // the source object (valid during the load)
};

// Validates a STAC Item (1.0, 1.1 and 1.0.0-beta/rc with the required
// fields) and extracts its indexed values. The known-collection check is the
// backend's. Throws InvalidInput "item '<id>' (collection '<c>'): <field>: <problem>".
PreparedItem prepare_item(const nlohmann::json& item);

// Best-effort id/collection of an item that failed validation, for reports.
std::string item_id_of(const nlohmann::json& item);
std::string item_collection_of(const nlohmann::json& item);

// The JSON type name of a property value as JSON Schema calls it
// ("string", "number", "integer", "boolean", "array", "object", "null").
std::string json_schema_type(const nlohmann::json& value);

}  // namespace tessera::catalog
