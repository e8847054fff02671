#include <fmt/format.h>
#include <gdal.h>
#include <proj.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "tessera/version.hpp"

namespace tessera {

const char* version() noexcept { return TESSERA_VERSION_STRING; }

nlohmann::json dependency_versions() {
  const PJ_INFO proj = proj_info();
  return {
      {"tessera", TESSERA_VERSION_STRING},
      {"gdal", GDALVersionInfo("RELEASE_NAME")},
      {"proj", proj.version},
      {"sqlite", sqlite3_libversion()},
      {"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
      {"nlohmann_json",
       fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH)},
  };
}

}  // namespace tessera
