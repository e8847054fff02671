// Registered searches in the SQLite catalog's `searches` table.

#include <chrono>

#include <fmt/format.h>

#include "catalog/sqlite/sqlite_catalog.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::sqlite {

using nlohmann::json;

namespace {

std::string now_rfc3339() {
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  return format_rfc3339_micros(now.time_since_epoch().count());
}

json search_row(const Statement& row) {
  return {{"id", std::string(row.text(0))},
          {"search", json::parse(row.text(1))},
          {"metadata", json::parse(row.text(2))},
          {"lastused", std::string(row.text(3))},
          {"usecount", row.int64(4)}};
}

constexpr const char* kSelectSearch = "SELECT hash, search, metadata, lastused, usecount FROM searches";

}  // namespace

std::string SqliteCatalog::store_search(const std::string& id, const json& search, const json& metadata) {
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  auto& upsert = connection->cached(
      "INSERT INTO searches (hash, search, metadata, lastused, usecount) VALUES (?, ?, ?, ?, 1) "
      "ON CONFLICT (hash) DO UPDATE SET lastused = excluded.lastused, usecount = usecount + 1");
  upsert.bind(1, id).bind(2, search.dump()).bind(3, metadata.dump()).bind(4, now_rfc3339());
  upsert.step();
  upsert.reset();
  transaction.commit();
  return id;
}

json SqliteCatalog::registered_search(std::string_view id) {
  auto connection = pool_->acquire();
  auto& select = connection->cached(fmt::format("{} WHERE hash = ?", kSelectSearch));
  select.bind(1, id);
  if (!select.step()) {
    select.reset();
    throw Error(ErrorCode::kNotFound, fmt::format("no registered search '{}'", id));
  }
  json found = search_row(select);
  select.reset();
  return found;
}

json SqliteCatalog::registered_searches() {
  auto connection = pool_->acquire();
  auto& select = connection->cached(fmt::format("{} ORDER BY lastused DESC, hash", kSelectSearch));
  json all = json::array();
  while (select.step()) {
    all.push_back(search_row(select));
  }
  select.reset();
  return all;
}

}  // namespace tessera::catalog::sqlite
