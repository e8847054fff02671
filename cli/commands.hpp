#pragma once

#include <CLI/CLI.hpp>

namespace tessera::cli {

// Each area adds its subcommand to the app; the callbacks run the command.
void add_storage_command(CLI::App& app);
// collection, load and search.
void add_catalog_commands(CLI::App& app);
// ingest.
void add_ingest_command(CLI::App& app);
// model, aoi, match and runner.
void add_matching_commands(CLI::App& app);
// tile, preview, info, point and statistics.
void add_tiling_commands(CLI::App& app);
// package.
void add_packaging_command(CLI::App& app);

}  // namespace tessera::cli
