#include <fstream>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "item_generator_flags.hpp"
#include "progress.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"

namespace tessera::cli {

void add_ingest_command(CLI::App& app) {
  struct Args {
    std::string catalog;
    std::vector<std::string> sources;
    std::string mode = "upsert";
    std::size_t batch_size = 500;
    std::string dead_letter;
    bool messages = false;
    bool quiet = false;
    GeneratorArgs generator;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "ingest", "Load items from files, folders, storage prefixes (file://, s3://) or queue messages");
  command->add_option("CATALOG", args->catalog, "Catalog URI")->required();
  command->add_option("SOURCES", args->sources, "Files, folders or prefixes; with --messages, files of messages")
      ->required();
  command->add_option("--mode", args->mode, "insert, ignore or upsert")->check(CLI::IsMember(load_mode_names()));
  command->add_option("--batch-size", args->batch_size, "Items per batch")->check(CLI::PositiveNumber);
  command->add_option("--dead-letter", args->dead_letter, "Where failures go: a storage URI/folder or a .ndjson file");
  command->add_flag("--messages", args->messages, "SOURCES are ndjson files of queue messages, one per line");
  command->add_flag("-q,--quiet", args->quiet, "No progress");
  add_generator_flags(command, args->generator);
  command->callback([args] {
    auto catalog = Catalog::open(args->catalog);
    IngestOptions options;
    options.mode = load_mode_from_name(args->mode);
    options.batch_size = args->batch_size;
    options.dead_letter = args->dead_letter;
    options.item_generator = generator_of(args->generator);
    ProgressBar bar("ingest", 0, !args->quiet);
    options.progress = [&bar](std::size_t done) { bar.update(done); };
    IngestReport report;
    if (args->messages) {
      std::vector<std::string> messages;
      for (const auto& file : args->sources) {
        std::ifstream input(file);
        if (!input) {
          throw Error(ErrorCode::kNotFound, "cannot open '" + file + "'");
        }
        for (std::string line; std::getline(input, line);) {
          if (line.find_first_not_of(" \t\r") != std::string::npos) {
            messages.push_back(line);
          }
        }
      }
      report = ingest_messages(*catalog, messages, options);
    } else {
      report = tessera::ingest(*catalog, args->sources, options);
    }
    bar.finish();
    for (const auto& result : report.results) {
      if (result.status == "failed") {
        std::cout << result.to_json().dump() << "\n";
      }
    }
    std::cerr << "loaded " << report.loaded << ", skipped " << report.skipped << ", failed " << report.failed
              << ", dead-lettered " << report.dead_lettered << " (" << report.results.size() << " sources)\n";
    if (report.failed > 0) {
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace tessera::cli
