// tessera geoprocessing prune: the maintenance of the task file tessera serve
// --services keeps (docs/geoprocessing.md).

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tessera/geoprocessing.hpp"

namespace tessera::cli {

void add_geoprocessing_commands(CLI::App& app) {
  CLI::App* group = app.add_subcommand("geoprocessing", "Maintain the geoprocessing services' task records");
  group->require_subcommand(1);
  struct PruneArgs {
    std::string tasks;
    int retention_days = kGeoprocessingRetentionDays;
  };
  auto args = std::make_shared<PruneArgs>();
  CLI::App* prune = group->add_subcommand("prune", "Remove tasks and their logs older than the retention period");
  prune->add_option("--tasks", args->tasks, "The task file (tessera serve --geoprocessing-tasks)")->required();
  prune->add_option("--retention-days", args->retention_days, "Keep the tasks of this many days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  prune->callback([args] {
    const std::size_t removed = prune_geoprocessing_tasks(args->tasks, args->retention_days);
    std::cout << nlohmann::json{{"removed", removed}}.dump() << std::endl;
  });
}

}  // namespace tessera::cli
