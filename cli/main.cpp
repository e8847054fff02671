#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "tessera/tessera.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tessera: STAC catalog, ingest, matching, tiling and packaging for Earth-observation data"};
  app.set_version_flag("--version", std::string("tessera ") + tessera::version());
  app.require_subcommand(1);
  tessera::cli::add_storage_command(app);
  tessera::cli::add_catalog_commands(app);
  tessera::cli::add_ingest_command(app);
  tessera::cli::add_loader_commands(app);
  tessera::cli::add_matching_commands(app);
  tessera::cli::add_tiling_commands(app);
  tessera::cli::add_packaging_command(app);
  tessera::cli::add_pyramid_commands(app);
  tessera::cli::add_serve_command(app);
  tessera::cli::add_geoprocessing_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const tessera::Error& error) {
    std::cerr << "tessera: " << tessera::error_code_name(error.code()) << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
