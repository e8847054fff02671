#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "environment_options.hpp"
#include "item_generator_flags.hpp"
#include "progress.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"

namespace tessera::cli {

namespace {

// Set by SIGTERM/SIGINT: the loader finishes its batches and exits 0, the
// way a service manager stops it.
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void request_stop(int /*signal*/) { stop_signal = 1; }

}  // namespace

namespace {

void add_loader(CLI::App& app) {
  struct Args {
    std::string catalog;
    std::string queue;
    std::string dead_letter_queue;
    std::size_t batch_size = 500;
    double batch_window = 5;
    std::size_t max_receive_count = 5;
    std::size_t concurrency = 1;
    bool until_empty = false;
    int wait_seconds = 20;
    int visibility_timeout = 60;
    std::string endpoint;
    std::string region;
    std::string mode = "upsert";
    std::string dead_letter;
    bool tombstone = false;
    bool quiet = false;
    GeneratorArgs generator;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "loader",
      "Load items from an SQS queue (item JSON, S3 events, SNS envelopes) as a long-running service; every "
      "flag can also be set by the TESSERA_* variable named in its help, and the flag wins");
  command->add_option("--catalog", args->catalog, "Catalog URI")->required();
  command->add_option("--queue", args->queue, "SQS queue URL")->required();
  command->add_option("--dead-letter-queue", args->dead_letter_queue,
                      "SQS queue URL for messages that fail for good (the reason in message attributes)");
  command->add_option("--batch-size", args->batch_size, "Messages loaded together")->check(CLI::Range(1, 100000));
  command->add_option("--batch-window", args->batch_window, "Seconds spent filling a batch after its first message")
      ->check(CLI::Range(0.0, 3600.0));
  command->add_option("--max-receive-count", args->max_receive_count,
                      "Messages received more often go to the dead-letter queue unloaded (0: no limit)");
  command->add_option("--concurrency", args->concurrency, "Batches received and loaded at once")
      ->check(CLI::Range(1, 64));
  command->add_flag("--until-empty", args->until_empty, "Exit once a long poll finds the queue empty");
  command->add_option("--wait-seconds", args->wait_seconds, "Long-poll wait")->check(CLI::Range(1, 20));
  command
      ->add_option("--visibility-timeout", args->visibility_timeout,
                   "Seconds a batch's messages stay invisible, renewed while it loads")
      ->check(CLI::Range(10, 43200));
  command
      ->add_option("--endpoint", args->endpoint,
                   "SQS endpoint URL (default: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, the queue URL's host)")
      ->envname("TESSERA_QUEUE_ENDPOINT");
  command->add_option("--region", args->region, "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)")
      ->envname("TESSERA_QUEUE_REGION");
  command->add_option("--mode", args->mode, "insert, ignore or upsert")->check(CLI::IsMember(load_mode_names()));
  command->add_option("--dead-letter", args->dead_letter,
                      "Without a dead-letter queue: where failures go (storage URI/folder or .ndjson file)");
  command->add_flag("--tombstone", args->tombstone,
                    "ObjectRemoved events mark the items (tessera:removed) instead of deleting them");
  command->add_flag("-q,--quiet", args->quiet, "No per-batch lines on stderr");
  add_generator_flags(command, args->generator);
  add_environment_variables(*command);
  command->callback([args] {
    auto catalog = Catalog::open(args->catalog);
    LoaderOptions options;
    options.queue_url = args->queue;
    options.dead_letter_queue_url = args->dead_letter_queue;
    options.batch_size = args->batch_size;
    options.batch_window_seconds = args->batch_window;
    options.max_receive_count = args->max_receive_count;
    options.concurrency = args->concurrency;
    options.until_empty = args->until_empty;
    options.wait_seconds = args->wait_seconds;
    options.visibility_timeout_seconds = args->visibility_timeout;
    if (!args->endpoint.empty()) {
      options.queue_options["endpoint"] = args->endpoint;
    }
    if (!args->region.empty()) {
      options.queue_options["region"] = args->region;
    }
    options.ingest.mode = load_mode_from_name(args->mode);
    options.ingest.batch_size = args->batch_size;
    options.ingest.dead_letter = args->dead_letter;
    options.ingest.tombstone_removed = args->tombstone;
    options.ingest.item_generator = generator_of(args->generator);
    std::signal(SIGTERM, request_stop);
    std::signal(SIGINT, request_stop);
    options.stop = [] { return stop_signal != 0; };
    if (!args->quiet) {
      options.on_batch = [](const nlohmann::json& batch) { std::cerr << "batch " << batch.dump() << "\n"; };
    }
    const LoaderReport report = run_loader(*catalog, options);
    std::cout << report.to_json().dump() << "\n";
  });
}

// tessera validate CATALOG [FILES...]: the checks of a load, writing nothing.
void add_validate(CLI::App& app) {
  struct Args {
    std::string catalog;
    std::vector<std::string> files;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "validate", "Check items as a load would (structure, geometry, dates, an existing collection) without writing");
  command->add_option("CATALOG", args->catalog, "Catalog URI")->required();
  command->add_option("FILES", args->files,
                      "Files holding an Item, a FeatureCollection, a JSON array of Items or ndjson (- or none: stdin)");
  command->callback([args] {
    auto catalog = Catalog::open(args->catalog);
    std::vector<std::string> files = args->files.empty() ? std::vector<std::string>{"-"} : args->files;
    std::size_t invalid = 0;
    for (const auto& file : files) {
      std::string text;
      if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), {});
      } else {
        std::ifstream input(file, std::ios::binary);
        if (!input) {
          throw Error(ErrorCode::kNotFound, "cannot open '" + file + "'");
        }
        text.assign(std::istreambuf_iterator<char>(input), {});
      }
      const ValidationReport report = validate(*catalog, text);
      for (const auto& result : report.results) {
        if (!result.valid()) {
          std::cout << nlohmann::json{{"file", file},
                                      {"id", result.id},
                                      {"collection", result.collection},
                                      {"error", result.error}}
                           .dump()
                    << "\n";
        }
      }
      std::cerr << file << ": " << report.valid << " valid, " << report.invalid << " invalid\n";
      invalid += report.invalid;
    }
    if (invalid > 0) {
      throw CLI::RuntimeError(2);
    }
  });
}

// tessera reconcile --catalog URI STORAGE_PREFIX [--fix]: drift between storage and catalog.
void add_reconcile(CLI::App& app) {
  struct Args {
    std::string catalog;
    std::string prefix;
    bool fix = false;
    bool quiet = false;
    GeneratorArgs generator;
  };
  auto args = std::make_shared<Args>();
  auto* command = app.add_subcommand(
      "reconcile",
      "Compare the item objects under a storage prefix with the catalog: missing, orphaned and stale "
      "items (ndjson on stdout), a summary on stderr; exit 2 when drift is left");
  command->add_option("--catalog", args->catalog, "Catalog URI")->required();
  command->add_option("STORAGE_PREFIX", args->prefix, "A folder, file:// or s3://bucket/prefix")->required();
  command->add_flag("--fix", args->fix, "Load the missing and stale objects, delete the orphaned items");
  command->add_flag("-q,--quiet", args->quiet, "No progress");
  add_generator_flags(command, args->generator);
  add_environment_variables(*command);
  command->callback([args] {
    auto catalog = Catalog::open(args->catalog);
    ReconcileOptions options;
    options.fix = args->fix;
    options.ingest.item_generator = generator_of(args->generator);
    options.max_findings = 0;  // every finding is printed as found
    options.on_finding = [](const nlohmann::json& finding) { std::cout << finding.dump() << "\n"; };
    ProgressBar bar("reconcile", 0, !args->quiet);
    options.progress = [&bar](std::size_t objects) { bar.update(objects); };
    const ReconcileReport report = reconcile(*catalog, args->prefix, options);
    bar.finish();
    std::cerr << "objects " << report.objects << ", missing " << report.missing << ", orphaned " << report.orphaned
              << ", stale " << report.stale;
    if (args->fix) {
      std::cerr << "; loaded " << report.loaded << ", deleted " << report.deleted;
    }
    std::cerr << "\n";
    if (!args->fix && report.missing + report.orphaned + report.stale > 0) {
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace

void add_loader_commands(CLI::App& app) {
  add_loader(app);
  add_validate(app);
  add_reconcile(app);
}

}  // namespace tessera::cli
