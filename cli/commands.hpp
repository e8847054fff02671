#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tessera/catalog.hpp"

namespace tessera::cli {

// "a, b, c": the names an option takes, as the library lists them (its
// <enum>_names() functions), for --help texts.
inline std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) {
    text += (text.empty() ? "" : ", ") + name;
  }
  return text;
}

// The run-token key in `path` (at least 32 bytes; a trailing newline is not
// part of it): tessera serve and a tessera runner of another process share it.
inline std::string read_callback_key(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error("cannot read the callback key file " + path);
  }
  std::string key((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
    key.pop_back();
  }
  return key;
}

// Each area adds its subcommand to the app; the callbacks run the command.
void add_storage_command(CLI::App& app);
// collection, load and search.
void add_catalog_commands(CLI::App& app);
// ingest.
void add_ingest_command(CLI::App& app);
// loader (the queue loader service), validate and reconcile.
void add_loader_commands(CLI::App& app);
// model, aoi, match and runner.
void add_matching_commands(CLI::App& app);
// tile, preview, info, point and statistics.
void add_tiling_commands(CLI::App& app);
// package.
void add_packaging_command(CLI::App& app);
// pyramid build, update and info.
void add_pyramid_commands(CLI::App& app);
// serve: the service over HTTP.
void add_serve_command(CLI::App& app);
// geoprocessing prune.
void add_geoprocessing_commands(CLI::App& app);

}  // namespace tessera::cli
