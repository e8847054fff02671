# Every third-party dependency, found through its CMake target. All come from
# Debian packages (scripts/setup.sh installs them); nothing is vendored.
find_package(Threads REQUIRED)
find_package(GDAL CONFIG REQUIRED)          # GDAL::GDAL
find_package(PROJ CONFIG REQUIRED)          # PROJ::proj
find_package(GEOS CONFIG REQUIRED)          # GEOS::geos_c (matching's AOI index)
find_package(SQLite3 REQUIRED)              # SQLite::SQLite3
find_package(PostgreSQL REQUIRED)           # PostgreSQL::PostgreSQL
find_package(fmt CONFIG REQUIRED)           # fmt::fmt
find_package(nlohmann_json CONFIG REQUIRED) # nlohmann_json::nlohmann_json
find_package(simdjson CONFIG REQUIRED)      # simdjson::simdjson (bulk-load parsing)
find_package(zstd CONFIG REQUIRED)          # zstd::libzstd_shared (stored items)
find_package(cpp-jwt CONFIG REQUIRED)       # cpp-jwt::cpp-jwt (header-only: the service's bearer tokens)
find_package(CURL REQUIRED)                 # CURL::libcurl (the catalog over a remote STAC API)
find_package(LibXml2 REQUIRED)              # LibXml2::LibXml2 (the service's WMTS capabilities)
find_package(OpenSSL REQUIRED COMPONENTS Crypto) # OpenSSL::Crypto (md5 of registered searches, as pgstac; SHA-256 of package files)
# libdeflate ships no CMake config in Debian 12 (1.14): its pkg-config file.
find_package(PkgConfig REQUIRED)
pkg_check_modules(libdeflate REQUIRED IMPORTED_TARGET libdeflate) # PkgConfig::libdeflate (tiling's PNG encoder)
# protozero (header-only, Debian libprotozero-dev): geoprocessing's geobuf decoder.
find_path(PROTOZERO_INCLUDE_DIR protozero/pbf_reader.hpp REQUIRED)
if(TESSERA_BUILD_CLI)
  find_package(CLI11 CONFIG REQUIRED)       # CLI11::CLI11
endif()
if(TESSERA_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)       # GTest::gtest_main
endif()
