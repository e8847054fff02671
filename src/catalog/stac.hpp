#pragma once

// The STAC model as the catalog backends need it: validation of Items and
// Collections with errors naming the object and the field, and the columns
// an item is indexed by. Shared by every backend so they accept and reject
// exactly the same objects.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/geometry.hpp"

namespace tessera::catalog {

// Throws InvalidInput "collection '<id>': <field>: <problem>".
void validate_collection(const nlohmann::json& collection);

// An id as error messages show it: a NUL becomes "\0" (a message is read
// through what(), a C string, which would end there).
std::string printable_id(std::string_view id);

// The texts free-text search reads from a STAC object (an item's properties,
// or a collection), as pgstac reads them: title, description and keywords,
// each a string as itself and any other value as its JSON text. An object
// without a description is never matched (pgstac's tsvector of a missing
// description is NULL), so it has no searchable text at all.
struct SearchableText {
  std::string title;
  std::string description;
  std::string keywords;
};
std::optional<SearchableText> searchable_text(const nlohmann::json& object);
// The same from the three values already read (a string as itself, another
// value as its JSON text, null or absent as nullopt), for other JSON readers.
std::optional<SearchableText> searchable_text(std::optional<std::string> title, std::optional<std::string> description,
                                              std::optional<std::string> keywords);

// An item after validation, with the values the backends index.
struct PreparedItem {
  std::string id;
  std::string collection;
  // pgstac's columns: datetime = datetime or start_datetime, end_datetime =
  // end_datetime or datetime, in microseconds since the epoch.
  std::int64_t datetime = 0;
  std::int64_t end_datetime = 0;
  // pgstac's own columns (its stac_daterange): start_datetime and
  // end_datetime when both are set, else datetime for both.
  std::int64_t pgstac_datetime = 0;
  std::int64_t pgstac_end_datetime = 0;
  std::optional<Bbox> bbox;  // 2D; absent for a null geometry
  std::string geometry_wkb;  // ISO WKB, empty for a null geometry
  std::string content;       // the item's JSON text, stored as given
  // What free-text search reads (title, description, keywords of the properties).
  std::optional<SearchableText> searchable_text;
  // Each property's name and JSON Schema type, for the queryables; left
  // empty when the caller already knows this item's property_signature.
  std::vector<std::pair<std::string, const char*>> property_types;
  // A hash of the collection and the property names and types: items from
  // one producer share it, so their queryables are gathered once.
  std::uint64_t property_signature = 0;
  // What LoadOptions::outbox returned for this item.
  std::vector<OutboxEvent> outbox_events;
};

// Validates a STAC Item given as JSON text (1.0, 1.1 and 1.0.0-beta/rc with
// the required fields) and extracts its indexed values. Bulk loads parse with
// simdjson: the text is read once and stored as it is. The known-collection
// check is the backend's. Throws InvalidInput
// "item '<id>' (collection '<c>'): <field>: <problem>".
// `known_signatures`, when given, holds property signatures the caller has
// seen; items with one of them skip listing property_types.
PreparedItem prepare_item(std::string&& text, const std::unordered_set<std::uint64_t>* known_signatures = nullptr);

// What a report names an item that failed validation by: its id and
// collection when the text has them, else empty strings.
std::pair<std::string, std::string> item_identity(std::string_view text);

}  // namespace tessera::catalog
