#include "ingest/dead_letter.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::ingestion {

using nlohmann::json;

namespace {

// The message that replays a failed object: an S3-style event naming it.
std::string object_event(const std::string& uri) {
  const std::size_t slash = uri.find('/', 5);
  return json{{"Records", json::array({{{"s3",
                                         {{"bucket", {{"name", uri.substr(5, slash - 5)}}},
                                          {"object", {{"key", uri.substr(slash + 1)}}}}}}})}}
      .dump();
}

}  // namespace

std::size_t write_dead_letters(const std::string& sink, const StorageOptions& storage_options,
                               const std::vector<Unit>& units, const std::vector<IngestResult>& results) {
  std::vector<json> records;
  for (std::size_t n = 0; n < units.size(); ++n) {
    const Unit& unit = units[n];
    const IngestResult& result = results[n];
    if (result.status != "failed") {
      continue;
    }
    const bool from_message = unit.source.starts_with("message ");
    if (from_message || !result.error.empty()) {
      // A message (or an object that could not be read) is replayed whole.
      std::string error = result.error;
      for (const auto& failure : result.failed) {
        error += (error.empty() ? "" : "; ") + failure.error;
      }
      json message = nullptr;
      if (from_message) {
        message = unit.message;
      } else if (!unit.fetch.empty() && unit.fetch.front().starts_with("s3://")) {
        message = object_event(unit.fetch.front());
      }
      records.push_back({{"tessera_dead_letter", 1}, {"source", unit.source}, {"error", error}, {"message", message}});
      continue;
    }
    for (const auto& failure : result.failed) {
      const auto text = unit.failed_texts.find({failure.collection, failure.id});
      records.push_back({{"tessera_dead_letter", 1},
                         {"source", unit.source},
                         {"error", failure.error},
                         {"message", text != unit.failed_texts.end() ? json(text->second) : json(nullptr)}});
    }
  }
  if (records.empty()) {
    return 0;
  }
  if (sink.ends_with(".ndjson") && sink.find("://") == std::string::npos) {
    std::filesystem::create_directories(std::filesystem::path(sink).parent_path());
    std::ofstream out(sink, std::ios::app);
    for (const auto& record : records) {
      out << record.dump() << '\n';
    }
    out.flush();
    if (!out) {
      throw Error(ErrorCode::kIo, fmt::format("cannot append dead letters to '{}'", sink));
    }
    return records.size();
  }
  static std::atomic<unsigned> counter{0};
  auto storage = Storage::open(sink, sink.starts_with("s3://") ? storage_options : StorageOptions{});
  const auto stamp =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const auto& record : records) {
    storage->put(fmt::format("{}-{}-{}.json", stamp, ::getpid(), counter++), record.dump());
  }
  return records.size();
}

}  // namespace tessera::ingestion
