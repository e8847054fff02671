#pragma once

// Registered-search ids as pgstac computes them (its search_hash function),
// so a search registered through either backend has one id, and one that
// titiler-pgstac can find. Internal header.

#include <string>

#include <nlohmann/json.hpp>

namespace tessera::catalog {

// The text PostgreSQL prints for `value` cast to jsonb: object keys shorter
// first then bytewise, ", " and ": " separators, numbers in plain decimal.
std::string jsonb_text(const nlohmann::json& value);

// The search as stored for registration: validated, without the members
// pgstac leaves out of the hash (token, limit, context, includes, excludes),
// null members dropped and a CQL2-text filter given as CQL2-JSON.
nlohmann::json registrable_search(const nlohmann::json& request);

// pgstac's search_hash(search, metadata): md5 of the two jsonb texts.
std::string search_hash(const nlohmann::json& search, const nlohmann::json& metadata);

}  // namespace tessera::catalog
