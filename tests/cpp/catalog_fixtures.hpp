#pragma once

// Small STAC objects for catalog tests, and the catalog backends the
// conformance-style suites run on.

#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"

namespace tessera::testing {

inline nlohmann::json make_collection(const std::string& id) {
  return {{"type", "Collection"},
          {"stac_version", "1.1.0"},
          {"id", id},
          {"description", "test collection " + id},
          {"license", "CC-BY-4.0"},
          {"links", nlohmann::json::array()},
          {"extent",
           {{"spatial", {{"bbox", nlohmann::json::array({nlohmann::json::array({-180, -90, 180, 90})})}}},
            {"temporal",
             {{"interval", nlohmann::json::array({nlohmann::json::array({"2020-01-01T00:00:00Z", nullptr})})}}}}}};
}

// A square item of side `size` degrees with its south-west corner at (x, y).
inline nlohmann::json make_item(const std::string& id, const std::string& collection, const std::string& datetime,
                                double x, double y, double size = 1.0,
                                nlohmann::json properties = nlohmann::json::object()) {
  properties["datetime"] = datetime;
  return {{"type", "Feature"},
          {"stac_version", "1.1.0"},
          {"id", id},
          {"collection", collection},
          {"geometry",
           {{"type", "Polygon"},
            {"coordinates", nlohmann::json::array({nlohmann::json::array(
                                {{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}, {x, y}})})}}},
          {"bbox", {x, y, x + size, y + size}},
          {"properties", properties},
          {"links", nlohmann::json::array()},
          {"assets", {{"data", {{"href", fmt::format("https://example.com/{}.tif", id)}}}}}};
}

// A backend a parameterized suite runs on: a name and how to open an empty
// catalog (in `scratch` when it is a file).
struct CatalogBackend {
  std::string name;
  std::function<std::unique_ptr<Catalog>(const std::filesystem::path& scratch)> open;
};

inline void PrintTo(const CatalogBackend& backend, std::ostream* out) { *out << backend.name; }

// `uri` (a postgresql:// URI) naming the database `database` instead.
inline std::string with_database(const std::string& uri, const std::string& database) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) {
    throw std::invalid_argument("TESSERA_TEST_PGSTAC_URL must be a postgresql:// URI, not '" + uri + "'");
  }
  const auto authority_end = uri.find_first_of("/?", scheme + 3);
  const auto query = authority_end == std::string::npos ? std::string::npos : uri.find('?', authority_end);
  return uri.substr(0, authority_end) + "/" + database + (query == std::string::npos ? "" : uri.substr(query));
}

// A pgstac database of this test process's own, on the cluster named by
// TESSERA_TEST_PGSTAC_URL (scripts/test.sh starts one): cloned on first use
// from the migrated template database scripts/pgstac_cluster.sh keeps
// (pgstac_template, or TESSERA_TEST_PGSTAC_TEMPLATE), dropped when the process
// exits. ctest runs every test in a process of its own, so tests running in
// parallel never share a pgstac database (pgstac's queryables, partitions and
// advisory locks are per database).
class PgstacTestDatabase {
 public:
  static const std::string& url() {
    static const PgstacTestDatabase database;
    return database.url_;
  }

  PgstacTestDatabase(const PgstacTestDatabase&) = delete;
  PgstacTestDatabase& operator=(const PgstacTestDatabase&) = delete;

 private:
  PgstacTestDatabase() : owner_(::getpid()) {
    const char* base = std::getenv("TESSERA_TEST_PGSTAC_URL");
    if (base == nullptr) {
      throw std::runtime_error("TESSERA_TEST_PGSTAC_URL is not set");
    }
    const char* template_name = std::getenv("TESSERA_TEST_PGSTAC_TEMPLATE");
    admin_ = with_database(base, "postgres");
    name_ = fmt::format("tessera_test_{}_{:08x}", owner_, std::random_device{}());
    execute(fmt::format(R"(CREATE DATABASE "{}" TEMPLATE "{}")", name_,
                        template_name != nullptr ? template_name : "pgstac_template"));
    url_ = with_database(base, name_);
  }
  ~PgstacTestDatabase() {
    if (::getpid() != owner_) {
      return;  // a forked child's exit: the database is its parent's
    }
    try {
      execute(fmt::format(R"(DROP DATABASE IF EXISTS "{}" WITH (FORCE))", name_));
    } catch (const std::exception& error) {
      std::fprintf(stderr, "the test's pgstac database is left behind: %s\n", error.what());
    }
  }

  void execute(const std::string& sql) const {
    for (int attempt = 1;; ++attempt) {
      PGconn* connection = PQconnectdb(admin_.c_str());
      std::string error;
      if (PQstatus(connection) != CONNECTION_OK) {
        error = PQerrorMessage(connection);
      } else {
        PGresult* result = PQexec(connection, sql.c_str());
        if (PQresultStatus(result) != PGRES_COMMAND_OK) {
          error = PQresultErrorMessage(result);
        }
        PQclear(result);
      }
      PQfinish(connection);
      if (error.empty()) {
        return;
      }
      // Someone connected to the template (scripts/pgstac_cluster.sh start
      // migrating it again): a clone waits 5 s for them, then fails.
      if (error.find("is being accessed by other users") != std::string::npos && attempt < 6) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      if (error.find("does not exist") != std::string::npos && sql.starts_with("CREATE")) {
        error += " (the pgstac test cluster lacks the template database: run scripts/pgstac_cluster.sh start again)";
      }
      throw std::runtime_error(sql + ": " + error);
    }
  }

  pid_t owner_;
  std::string admin_;
  std::string name_;
  std::string url_;
};

// The URI of this test process's pgstac database (see PgstacTestDatabase).
inline const std::string& pgstac_test_url() { return PgstacTestDatabase::url(); }

// This test process's pgstac database, emptied of collections so each test
// starts from none.
inline std::unique_ptr<Catalog> open_empty_pgstac() {
  auto catalog = Catalog::open(pgstac_test_url());
  for (const auto& collection : catalog->collections()) {
    catalog->delete_collection(collection["id"].get<std::string>(), true);
  }
  return catalog;
}

// An SQLite file catalog ("sqlite"), an in-memory one when asked
// ("sqlite_memory"), and PgSTAC when TESSERA_TEST_PGSTAC_URL is set.
inline std::vector<CatalogBackend> catalog_backends(bool with_memory = false) {
  std::vector<CatalogBackend> backends = {{"sqlite", [](const std::filesystem::path& scratch) {
                                             return Catalog::open("sqlite://" + (scratch / "catalog.db").string());
                                           }}};
  if (with_memory) {
    backends.push_back(
        {"sqlite_memory", [](const std::filesystem::path&) { return Catalog::open("sqlite://:memory:"); }});
  }
  if (std::getenv("TESSERA_TEST_PGSTAC_URL") != nullptr) {
    backends.push_back({"pgstac", [](const std::filesystem::path&) { return open_empty_pgstac(); }});
  }
  return backends;
}

}  // namespace tessera::testing
