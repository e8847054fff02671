#pragma once

// Small STAC objects for catalog tests, and the catalog backends the
// conformance-style suites run on.

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
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

// The pgstac database named by TESSERA_TEST_PGSTAC_URL (scripts/test.sh
// starts one), emptied of collections so each test starts from none.
inline std::unique_ptr<Catalog> open_empty_pgstac() {
  auto catalog = Catalog::open(std::getenv("TESSERA_TEST_PGSTAC_URL"));
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
