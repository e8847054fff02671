#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "tessera/ingest.hpp"

namespace tessera::cli {

// The item generator's flags (what makes items of raster objects), shared by
// ingest, loader and reconcile.
struct GeneratorArgs {
  std::string kind = "none";
  std::string collection;
  std::string cog_prefix;
  std::string command;
  double timeout = 300;
  bool statistics = false;
};

// --item-generator, --item-collection, --cog-prefix, --item-command,
// --item-command-timeout and --item-statistics, stored in `args`.
void add_generator_flags(CLI::App* command, GeneratorArgs& args);

// The options the flags say; InvalidInput naming a bad one.
ItemGeneratorOptions generator_of(const GeneratorArgs& args);

}  // namespace tessera::cli
