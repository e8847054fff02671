#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tessera/error.hpp"
#include "tessera/matching.hpp"

namespace tessera::cli {

namespace {

using nlohmann::json;

// The items of ITEM.json: one Item or a FeatureCollection.
std::vector<json> read_items(const std::string& path) {
  std::ifstream input(path);
  if (!input) {
    throw Error(ErrorCode::kNotFound, "cannot open '" + path + "'");
  }
  const json document = json::parse(input, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "'" + path + "' is not a JSON Item or FeatureCollection");
  }
  if (document.value("type", "") == "FeatureCollection") {
    if (!document.contains("features") || !document["features"].is_array()) {
      throw Error(ErrorCode::kInvalidInput, "'" + path + "': FeatureCollection has no 'features' list");
    }
    return document["features"].get<std::vector<json>>();
  }
  return {document};
}

}  // namespace

void add_matching_commands(CLI::App& app) {
  struct MatchArgs {
    std::string catalog;
    std::string item;
  };
  auto match_args = std::make_shared<MatchArgs>();
  auto* match = app.add_subcommand(
      "match", "The models and AOIs a STAC item meets (one JSON line per item: [{\"model\", \"aoi\"}])");
  match->add_option("CATALOG", match_args->catalog, "Catalog URI")->required();
  match->add_option("ITEM", match_args->item, "Item JSON file (an Item or a FeatureCollection)")->required();
  match->callback([match_args] {
    auto catalog = Catalog::open(match_args->catalog);
    const Matcher matcher(*catalog);
    for (const auto& matches : matcher.match_batch(read_items(match_args->item))) {
      json line = json::array();
      for (const auto& found : matches) {
        line.push_back(found.to_json());
      }
      std::cout << line.dump() << "\n";
    }
  });

  struct RunnerArgs {
    std::string catalog;
    std::size_t concurrency = 4;
    std::size_t max_runs = 0;
    double lease = 0;
    std::string work_dir;
  };
  auto runner_args = std::make_shared<RunnerArgs>();
  auto* runner = app.add_subcommand(
      "runner", "Execute the pending run requests with the models' commands; one JSON line per finished run");
  runner->add_option("CATALOG", runner_args->catalog, "Catalog URI")->required();
  runner->add_option("--concurrency", runner_args->concurrency, "Runs at once")->check(CLI::PositiveNumber);
  runner->add_option("--max-runs", runner_args->max_runs, "Stop after this many runs (0: all pending)");
  runner->add_option("--lease", runner_args->lease, "Seconds a claimed request is held (0: longest timeout + 60)")
      ->check(CLI::NonNegativeNumber);
  runner->add_option("--work-dir", runner_args->work_dir, "Folder for item JSON files of items without an href");
  runner->callback([runner_args] {
    auto catalog = Catalog::open(runner_args->catalog);
    Matcher matcher(*catalog);
    RunnerOptions options;
    options.concurrency = runner_args->concurrency;
    options.max_runs = runner_args->max_runs;
    options.lease_seconds = runner_args->lease;
    options.work_dir = runner_args->work_dir;
    for (const auto& record : Runner(matcher, options).run_pending()) {
      std::cout << record.dump() << "\n";
    }
  });
}

}  // namespace tessera::cli
