// Ingest benchmark (issue 5): N item JSON objects in an S3-compatible server,
// ingested into a catalog, against the same items loaded from a local ndjson
// file (the ceiling).
//
//   scripts/s3_server.sh start /tmp/tessera-s3-bench 57072
//   ingest_bench --ndjson /tmp/tessera-bench/items-100000.ndjson --items 10000 \
//                --endpoint http://127.0.0.1:57072 [--pgstac postgresql://...]
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "tessera/catalog.hpp"
#include "tessera/ingest.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<tessera::Catalog> fresh_catalog(const std::string& uri) {
  auto catalog = tessera::Catalog::open(uri);
  for (const auto& existing : catalog->collections()) {
    catalog->delete_collection(existing["id"].get<std::string>(), true);
  }
  for (const char* id : tessera::bench::kCollections) {
    catalog->upsert_collection(tessera::bench::collection_json(id));
  }
  return catalog;
}

template <typename Body>
double seconds(Body&& body) {
  const auto start = Clock::now();
  body();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string ndjson;
  std::size_t count = 10000;
  std::string endpoint;
  std::string bucket = "tessera-test";
  std::string pgstac;
  for (int n = 1; n + 1 < argc; n += 2) {
    const std::string arg = argv[n];
    const std::string value = argv[n + 1];
    if (arg == "--ndjson") {
      ndjson = value;
    } else if (arg == "--items") {
      count = std::stoul(value);
    } else if (arg == "--endpoint") {
      endpoint = value;
    } else if (arg == "--bucket") {
      bucket = value;
    } else if (arg == "--pgstac") {
      pgstac = value;
    }
  }
  if (ndjson.empty() || endpoint.empty()) {
    std::cerr << "usage: ingest_bench --ndjson FILE --endpoint URL [--items N] [--bucket B] [--pgstac URI]\n";
    return 2;
  }
  const tessera::StorageOptions options = {
      {"endpoint", endpoint}, {"access_key_id", "tessera"}, {"secret_access_key", "tessera-secret"}};
  std::vector<std::string> lines;
  {
    std::ifstream input(ndjson);
    for (std::string line; lines.size() < count && std::getline(input, line);) {
      lines.push_back(line);
    }
  }
  const fs::path local = fs::temp_directory_path() / fmt::format("tessera-ingest-bench-{}.ndjson", count);
  {
    std::ofstream out(local);
    for (const auto& line : lines) {
      out << line << '\n';
    }
  }
  const std::string prefix = fmt::format("s3://{}/ingest-bench-{}", bucket, std::random_device{}());
  auto storage = tessera::Storage::open(prefix, options);
  const double upload = seconds([&] {
    std::vector<std::future<void>> workers;
    for (int worker = 0; worker < 16; ++worker) {
      workers.push_back(std::async(std::launch::async, [&, worker] {
        for (std::size_t n = static_cast<std::size_t>(worker); n < lines.size(); n += 16) {
          storage->put(fmt::format("items/{:06d}.json", n), lines[n]);
        }
      }));
    }
    for (auto& task : workers) {
      task.get();
    }
  });
  json report = {{"items", lines.size()}, {"upload_seconds", upload}};
  std::vector<std::pair<std::string, std::string>> targets = {{"sqlite", "sqlite://:memory:"}};
  if (!pgstac.empty()) {
    targets.emplace_back("pgstac", pgstac);
  }
  for (const auto& [name, uri] : targets) {
    auto catalog = fresh_catalog(uri);
    tessera::LoadOptions load_options;
    load_options.mode = tessera::LoadMode::kUpsert;
    load_options.batch_size = 1000;
    tessera::LoadReport local_report;
    const double local_seconds = seconds([&] { local_report = catalog->load_file(local, load_options); });
    catalog = fresh_catalog(uri);
    tessera::IngestOptions ingest_options;
    ingest_options.storage_options = options;
    ingest_options.batch_size = 1000;
    ingest_options.parallel_fetches = 32;
    tessera::IngestReport s3_report;
    const double s3_seconds =
        seconds([&] { s3_report = tessera::ingest(*catalog, {prefix + "/items"}, ingest_options); });
    report[name] = {{"local_file_items_per_second", static_cast<double>(local_report.loaded) / local_seconds},
                    {"s3_items_per_second", static_cast<double>(s3_report.loaded) / s3_seconds},
                    {"ratio", local_seconds / s3_seconds},
                    {"s3_loaded", s3_report.loaded},
                    {"s3_failed", s3_report.failed}};
    std::cerr << name << ": " << report[name].dump() << "\n";
  }
  std::cout << report.dump(2) << std::endl;
  fs::remove(local);
  return 0;
}
