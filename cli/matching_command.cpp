#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "environment_options.hpp"
#include "tessera/error.hpp"
#include "tessera/geoprocessing.hpp"
#include "tessera/matching.hpp"
#include "tessera/service.hpp"

namespace tessera::cli {

namespace {

using nlohmann::json;

json read_object(const std::string& path, const char* what) {
  std::ifstream input(path);
  if (!input) {
    throw Error(ErrorCode::kNotFound, "cannot open '" + path + "'");
  }
  json document = json::parse(input, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "'" + path + "' is not a JSON " + what);
  }
  return document;
}

// The items of ITEM.json: one Item or a FeatureCollection.
std::vector<json> read_items(const std::string& path) {
  const json document = read_object(path, "Item or FeatureCollection");
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
  // Models and AOIs: add from JSON files (the new id is printed), list, remove.
  struct DefinitionArgs {
    std::string catalog;
    std::string argument;
  };
  for (const bool is_model : {true, false}) {
    const char* noun = is_model ? "model" : "aoi";
    auto* group = app.add_subcommand(noun, is_model ? "Register and list models" : "Register, list and remove AOIs");
    group->require_subcommand(1);
    auto add_args = std::make_shared<DefinitionArgs>();
    auto* add = group->add_subcommand("add", is_model ? "Register a model from a JSON file; prints its id"
                                                      : "Register an AOI from a JSON file; prints its id");
    add->add_option("CATALOG", add_args->catalog, "Catalog URI")->required();
    add->add_option("FILE", add_args->argument, "JSON file")->required()->check(CLI::ExistingFile);
    add->callback([add_args, is_model] {
      auto catalog = Catalog::open(add_args->catalog);
      Matcher matcher(*catalog);
      const json definition = read_object(add_args->argument, is_model ? "model" : "AOI");
      std::cout << (is_model ? matcher.add_model(definition) : matcher.add_aoi(definition)) << "\n";
    });
    auto ls_args = std::make_shared<DefinitionArgs>();
    auto* ls = group->add_subcommand("ls", "One JSON line per definition, ordered by id");
    ls->add_option("CATALOG", ls_args->catalog, "Catalog URI")->required();
    ls->callback([ls_args, is_model] {
      auto catalog = Catalog::open(ls_args->catalog);
      const Matcher matcher(*catalog);
      for (const auto& definition : is_model ? matcher.models() : matcher.aois()) {
        std::cout << definition.dump() << "\n";
      }
    });
    if (!is_model) {
      auto rm_args = std::make_shared<DefinitionArgs>();
      auto* rm = group->add_subcommand("rm", "Remove an AOI");
      rm->add_option("CATALOG", rm_args->catalog, "Catalog URI")->required();
      rm->add_option("ID", rm_args->argument, "AOI id")->required();
      rm->callback([rm_args] {
        auto catalog = Catalog::open(rm_args->catalog);
        Matcher(*catalog).remove_aoi(rm_args->argument);
      });
    }
  }

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

  struct MaintenanceArgs {
    std::string catalog;
    std::string geoprocessing_tasks;
    double older_than_days = 30;
  };
  auto maintenance_args = std::make_shared<MaintenanceArgs>();
  auto* maintenance = app.add_subcommand(
      "maintenance",
      "Retention: delete acknowledged events, ended runs and their logs (CATALOG) and geoprocessing tasks and their "
      "logs (--geoprocessing-tasks) older than an age; nothing pending is deleted");
  maintenance->add_option("CATALOG", maintenance_args->catalog, "Catalog URI");
  maintenance->add_option("--geoprocessing-tasks", maintenance_args->geoprocessing_tasks,
                          "The task file of tessera serve --geoprocessing-tasks");
  maintenance->add_option("--older-than-days", maintenance_args->older_than_days, "Age (days) of what is deleted")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 36500.0));
  maintenance->callback([maintenance_args] {
    if (maintenance_args->catalog.empty() && maintenance_args->geoprocessing_tasks.empty()) {
      throw Error(ErrorCode::kInvalidInput, "maintenance: give a CATALOG, --geoprocessing-tasks FILE or both");
    }
    json pruned = json::object();
    if (!maintenance_args->catalog.empty()) {
      auto catalog = Catalog::open(maintenance_args->catalog);
      Matcher matcher(*catalog);
      const auto age = std::chrono::seconds(static_cast<std::int64_t>(maintenance_args->older_than_days * 86400));
      pruned = matcher.prune(age);
    }
    if (!maintenance_args->geoprocessing_tasks.empty()) {
      // The task store keeps whole days, at least one.
      const int days = std::max(1, static_cast<int>(std::ceil(maintenance_args->older_than_days)));
      pruned["geoprocessing_tasks"] = prune_geoprocessing_tasks(maintenance_args->geoprocessing_tasks, days);
    }
    std::cout << pruned.dump() << "\n";
  });

  struct RunnerArgs {
    std::string catalog;
    std::size_t concurrency = 4;
    std::size_t max_runs = 0;
    double lease = 0;
    std::string work_dir;
    std::string serve_url;
    std::string callback_key_file;
    bool follow = false;
    std::string command_executor;
  };
  auto runner_args = std::make_shared<RunnerArgs>();
  auto* runner = app.add_subcommand(
      "runner", "Execute the pending run requests with the models' commands; one JSON line per finished run");
  runner->add_option("CATALOG", runner_args->catalog, "Catalog URI")->required()->envname("TESSERA_CATALOG");
  runner->add_option("--concurrency", runner_args->concurrency, "Runs at once")->check(CLI::Range(1, 1024));
  runner->add_option("--max-runs", runner_args->max_runs, "Stop after this many runs (0: all pending)");
  runner->add_option("--lease", runner_args->lease, "Seconds a claimed request is held (0: longest timeout + 60)")
      ->check(CLI::Range(0.0, 7.0 * 86400));
  runner->add_option("--work-dir", runner_args->work_dir, "Folder for item JSON files of items without an href");
  runner->add_option("--serve-url", runner_args->serve_url,
                     "Base URL of the `tessera serve --models` models report to: each run gets TESSERA_CALLBACK_URL "
                     "and TESSERA_CALLBACK_TOKEN (needs --callback-key-file, the server's key)");
  runner->add_option("--callback-key-file", runner_args->callback_key_file,
                     "File holding the key the server signs run tokens with (tessera serve --callback-key-file)");
  runner->add_flag("--follow", runner_args->follow, "Keep running requests as they come, until SIGINT/SIGTERM");
  runner->add_option("--command-executor", runner_args->command_executor,
                     "JSON file {submit, status, cancel, command_timeout?}: run through a batch system's commands "
                     "instead of local processes (docs/matching.md)");
  // A long-running service (--follow) in containers: every flag from TESSERA_*.
  add_environment_variables(*runner);
  runner->callback([runner_args] {
    auto catalog = Catalog::open(runner_args->catalog);
    Matcher matcher(*catalog);
    RunnerOptions options;
    options.concurrency = runner_args->concurrency;
    options.max_runs = runner_args->max_runs;
    options.lease_seconds = runner_args->lease;
    options.work_dir = runner_args->work_dir;
    if (runner_args->serve_url.empty() != runner_args->callback_key_file.empty()) {
      throw Error(ErrorCode::kInvalidInput, "runner: --serve-url and --callback-key-file go together");
    }
    if (!runner_args->serve_url.empty()) {
      std::string base = runner_args->serve_url;
      while (!base.empty() && base.back() == '/') {
        base.pop_back();
      }
      options.callback = RunTokens(read_callback_key(runner_args->callback_key_file)).runner_callback(base);
    }
    std::shared_ptr<RunExecutor> executor;
    if (!runner_args->command_executor.empty()) {
      std::ifstream file(runner_args->command_executor);
      const json settings = json::parse(file, nullptr, false);
      if (settings.is_discarded()) {
        throw Error(ErrorCode::kInvalidInput,
                    "runner: --command-executor " + runner_args->command_executor + " is not a readable JSON file");
      }
      executor = std::make_shared<CommandExecutor>(CommandExecutorOptions::from_json(settings));
    }
    if (runner_args->follow) {
      static std::atomic<bool> stop{false};
      std::signal(SIGINT, [](int) { stop = true; });
      std::signal(SIGTERM, [](int) { stop = true; });
      Runner(matcher, options, executor).serve(stop);
      return;
    }
    for (const auto& record : Runner(matcher, options, executor).run_pending()) {
      std::cout << record.dump() << "\n";
    }
  });
}

}  // namespace tessera::cli
