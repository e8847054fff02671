#pragma once

// The catalog conformance suite's fixtures, shared by its two parts:
// CatalogReadConformance (searches, items, collections, queryables,
// registered searches, locks: what a read-only catalog answers too; the
// cases in test_catalog_read_conformance.cpp, run on the local backends by
// tessera_tests and on a remote STAC API by stac_api_catalog_tests) and
// CatalogLocalConformance (local backends only, test_catalog.cpp): writes
// (loads, upserts, deletes, indexes) and prev tokens, which a remote catalog
// has only when its server links the previous page (tessera serve does not).

#include <libpq-fe.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "test_support.hpp"

namespace tessera::testing {

inline std::vector<std::string> ids_of(const nlohmann::json& result) {
  std::vector<std::string> ids;
  for (const auto& feature : result["features"]) {
    ids.push_back(feature["id"].get<std::string>());
  }
  return ids;
}

inline std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// pgstac's own search(body) on the test process's pgstac database: the ids it returns.
inline std::vector<std::string> pgstac_search_ids(const nlohmann::json& body) {
  PGconn* connection = PQconnectdb(pgstac_test_url().c_str());
  std::vector<std::string> ids;
  const std::string text = body.dump();
  const char* values[] = {text.c_str()};
  PGresult* result = PQexecParams(connection, "SELECT search($1::jsonb)", 1, nullptr, values, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
  const std::string error = ok ? "" : PQresultErrorMessage(result);
  nlohmann::json page = ok ? nlohmann::json::parse(PQgetvalue(result, 0, 0)) : nlohmann::json();
  PQclear(result);
  PQfinish(connection);
  if (!ok) {
    throw std::runtime_error("pgstac search(" + text + "): " + error);
  }
  for (const auto& feature : page["features"]) {
    ids.push_back(feature["id"].get<std::string>());
  }
  return ids;
}

inline void pgstac_exec(const std::string& sql) {
  PGconn* connection = PQconnectdb(pgstac_test_url().c_str());
  PGresult* result = PQexec(connection, sql.c_str());
  const auto status = PQresultStatus(result);
  const std::string error = PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(connection);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + error);
  }
}

// The standard items, loaded into `catalog`: a 4x3 grid of 1-degree squares
// in collection "a" (days 1..12 of January 2021, cloud cover 0..55), plus a
// few special ones in "b".
inline void load_standard_items(Catalog& catalog) {
  using nlohmann::json;
  catalog.upsert_collection(make_collection("a"));
  catalog.upsert_collection(make_collection("b"));
  std::vector<json> items;
  for (int n = 0; n < 12; ++n) {
    json properties = {{"eo:cloud_cover", n * 5},
                       {"platform", n % 2 == 0 ? "sentinel-2a" : "sentinel-2b"},
                       {"keywords", n % 3 == 0 ? json::array({"x", "y"}) : json::array({"y"})}};
    if (n == 11) {
      properties.erase("eo:cloud_cover");
    }
    items.push_back(make_item(fmt::format("a{:02d}", n), "a", fmt::format("2021-01-{:02d}T10:00:00Z", n + 1),
                              10 + n % 4, 40 + n / 4, 1.0, properties));
  }
  // A range item overlapping February.
  json range = make_item("b-range", "b", "2021-01-01T00:00:00Z", 0, 0);
  range["properties"]["datetime"] = nullptr;
  range["properties"]["start_datetime"] = "2021-01-20T00:00:00Z";
  range["properties"]["end_datetime"] = "2021-02-10T00:00:00Z";
  items.push_back(range);
  // An item crossing the antimeridian, as a MultiPolygon split at 180.
  json across = make_item("b-antimeridian", "b", "2021-03-01T00:00:00Z", 0, 0);
  across["geometry"] = {{"type", "MultiPolygon"},
                        {"coordinates",
                         {{{{179, -1}, {180, -1}, {180, 1}, {179, 1}, {179, -1}}},
                          {{{-180, -1}, {-179, -1}, {-179, 1}, {-180, 1}, {-180, -1}}}}}};
  across["bbox"] = {179, -1, -179, 1};
  items.push_back(across);
  // A thin diagonal triangle whose bbox covers (20..30, 20..30) but whose
  // geometry stays near the diagonal.
  json diagonal = make_item("b-diagonal", "b", "2021-04-01T00:00:00Z", 20, 20, 10);
  diagonal["geometry"]["coordinates"] = {{{20, 20}, {30, 30}, {29.5, 30}, {20, 20}}};
  items.push_back(diagonal);
  const auto report = catalog.load(items);
  ASSERT_EQ(report.loaded, items.size()) << report.to_json().dump(2);
}

// The orders the paging cases walk the standard items in, four a page (null: the default).
inline const nlohmann::json kPagingOrders[] = {nullptr, "+platform", "-eo:cloud_cover", "id"};

// Every page of `request` on `catalog`, by the next tokens alone (the limit
// rides along in them).
inline std::vector<nlohmann::json> pages_of(Catalog& catalog, const nlohmann::json& request) {
  std::vector<nlohmann::json> pages = {catalog.search(request)};
  while (pages.back().contains("next")) {
    pages.push_back(catalog.search({{"token", pages.back()["next"]}}));
  }
  return pages;
}

// The catalog a read-only case searches and the one it loads its items
// into: the same local catalog, or a local catalog (`store`) and a remote
// one reading it through a server (`serving`, kept up while the case runs).
// Members go in reverse order: the remote catalog, its server, the store.
struct CatalogUnderTest {
  std::unique_ptr<Catalog> store;
  std::shared_ptr<void> serving;
  std::unique_ptr<Catalog> remote;

  Catalog& searched() { return remote ? *remote : *store; }
};

// A backend the read-only cases run on. `stored_in` names the backend
// holding the items (the local backend's name, also behind a remote
// catalog): what pgstac answers differently depends on it.
struct ReadCatalogBackend {
  std::string name;
  std::string stored_in;
  std::function<CatalogUnderTest(const std::filesystem::path& scratch)> open;
};

inline void PrintTo(const ReadCatalogBackend& backend, std::ostream* out) { *out << backend.name; }

// The local backends, each searched directly.
inline std::vector<ReadCatalogBackend> local_read_backends(bool with_memory = false) {
  std::vector<ReadCatalogBackend> backends;
  for (const auto& backend : catalog_backends(with_memory)) {
    backends.push_back({backend.name, backend.name, [open = backend.open](const std::filesystem::path& scratch) {
                          return CatalogUnderTest{open(scratch), nullptr, nullptr};
                        }});
  }
  return backends;
}

class CatalogReadConformance : public ::testing::TestWithParam<ReadCatalogBackend> {
 protected:
  void SetUp() override {
    under_test_ = GetParam().open(scratch_.path());
    catalog_ = &under_test_.searched();
  }

  void load_standard_items() { tessera::testing::load_standard_items(store()); }
  // Where the case's items are written (the catalog searched, unless it is remote).
  Catalog& store() { return *under_test_.store; }
  [[nodiscard]] bool stored_in_pgstac() const { return GetParam().stored_in == "pgstac"; }
  nlohmann::json search(const nlohmann::json& request) { return catalog_->search(request); }

  TempDir scratch_;
  CatalogUnderTest under_test_;
  Catalog* catalog_ = nullptr;
};

class CatalogLocalConformance : public ::testing::TestWithParam<CatalogBackend> {
 protected:
  void SetUp() override { catalog_ = GetParam().open(scratch_.path()); }

  void load_standard_items() { tessera::testing::load_standard_items(*catalog_); }
  nlohmann::json search(const nlohmann::json& request) { return catalog_->search(request); }

  TempDir scratch_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace tessera::testing
