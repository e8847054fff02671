#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "progress.hpp"
#include "tessera/error.hpp"
#include "tessera/packaging.hpp"
#include "tessera/tiling.hpp"

namespace tessera::cli {

namespace {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream input(path);
  if (!input) {
    throw Error(ErrorCode::kNotFound, "cannot open '" + path + "'");
  }
  std::stringstream text;
  text << input.rdbuf();
  nlohmann::json value = nlohmann::json::parse(text.str(), nullptr, false);
  if (value.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, "'" + path + "' is not valid JSON");
  }
  return value;
}

}  // namespace

void add_packaging_command(CLI::App& app) {
  struct Args {
    std::string storage;
    std::string boundaries;
    std::string boundary;
    std::string datasets;
    std::string name_field = "name";
    std::string long_name_field;
    std::string catalog;
    std::string job_id;
    std::vector<std::string> allowed_prefixes;
    std::size_t parallelism = 2;
    bool no_wait = false;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "package", "Clip datasets to a boundary and publish them as a Frictionless data package on a storage");
  command->add_option("STORAGE", args->storage, "Storage URI the package is written to")->required();
  command->add_option("--boundaries", args->boundaries,
                      "OGR source of boundaries to add first (GeoJSON, GeoPackage, Shapefile, 'PG:...')");
  command->add_option("--name-field", args->name_field, "Field of --boundaries holding the name");
  command->add_option("--long-name-field", args->long_name_field, "Field of --boundaries holding the long name");
  command->add_option("--boundary", args->boundary, "Name or id of the boundary to package")->required();
  command->add_option("--datasets", args->datasets, "JSON file: an array of dataset definitions")->required();
  command->add_option("--catalog", args->catalog, "Catalog URI (locks are taken there when given)");
  command->add_option("--job-id", args->job_id, "Id of the job (default: random)");
  command->add_option("--parallelism", args->parallelism, "Datasets processed at once")->check(CLI::PositiveNumber);
  command->add_option("--allowed-prefix", args->allowed_prefixes,
                      "URL prefix http(s) dataset sources may start with (repeatable; none by default)");
  command->add_flag("--no-wait", args->no_wait, "Report datasets another job is building instead of waiting");
  command->add_flag("-q,--quiet", args->quiet, "No progress");
  command->callback([args] {
    ReaderConfig config = reader_config();
    config.allowed_prefixes = args->allowed_prefixes;
    configure(config);
    auto storage = Storage::open(args->storage);
    std::unique_ptr<Catalog> catalog = args->catalog.empty() ? nullptr : Catalog::open(args->catalog);
    Packager packager(*storage, catalog.get());
    if (!args->boundaries.empty()) {
      BoundaryLoadOptions load;
      load.name_field = args->name_field;
      load.long_name_field = args->long_name_field;
      const auto added = packager.add_boundaries(args->boundaries, load);
      std::cerr << "added " << added.size() << " boundaries\n";
    }
    BuildOptions options;
    options.job_id = args->job_id;
    options.parallelism = args->parallelism;
    options.wait_for_locks = !args->no_wait;
    ProgressBar bar("package", 100, !args->quiet, "%");
    std::mutex bar_mutex;
    options.progress = [&](double percent, const std::string& step) {
      const std::lock_guard lock(bar_mutex);
      bar.update(static_cast<std::size_t>(percent), step);
    };
    nlohmann::json package;
    try {
      package = packager.build(args->boundary, read_json_file(args->datasets), options);
    } catch (const Error&) {
      bar.finish();  // the error goes on a line of its own
      throw;
    }
    bar.finish();
    std::cout << package.dump(2) << "\n";
  });
}

}  // namespace tessera::cli
