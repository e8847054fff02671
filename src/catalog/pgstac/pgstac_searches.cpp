// Registered searches in pgstac's own `searches` table, written through its
// search_query() so titiler-pgstac and tessera share them.

#include <fmt/format.h>

#include "catalog/pgstac/pgstac_catalog.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::pgstac {

using nlohmann::json;

namespace {

constexpr std::string_view kSelectSearch =
    "SELECT hash, search::text, metadata::text, (extract(epoch FROM lastused) * 1000000)::bigint, usecount "
    "FROM searches";

json search_rows(const Result& rows) {
  json all = json::array();
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    const auto value = [&](int column) { return std::string(PQgetvalue(rows.get(), row, column)); };
    all.push_back({{"id", value(0)},
                   {"search", json::parse(value(1))},
                   {"metadata", json::parse(value(2))},
                   {"lastused", format_rfc3339_micros(std::stoll(value(3)))},
                   {"usecount", std::stoll(value(4))}});
  }
  return all;
}

}  // namespace

std::string PgstacCatalog::store_search(const std::string& id, const json& search, const json& metadata) {
  std::string stored;
  with_transaction(*pool_, [&](PgConnection& connection) {
    stored = connection
                 .scalar("SELECT hash FROM search_query($1::jsonb, false, $2::jsonb)", {search.dump(), metadata.dump()})
                 .value_or(id);
  });
  return stored;
}

json PgstacCatalog::registered_search(std::string_view id) {
  auto connection = pool_->acquire();
  json found = search_rows(connection->exec(fmt::format("{} WHERE hash = $1", kSelectSearch), {std::string(id)}));
  if (found.empty()) {
    throw Error(ErrorCode::kNotFound, fmt::format("no registered search '{}'", id));
  }
  return std::move(found[0]);
}

json PgstacCatalog::registered_searches() {
  auto connection = pool_->acquire();
  return search_rows(connection->exec(fmt::format("{} ORDER BY lastused DESC, hash", kSelectSearch)));
}

}  // namespace tessera::catalog::pgstac
