// The ingest pipeline: sources and queue messages become units (one file,
// object or message each) holding item texts; items are de-duplicated (the
// newest copy wins), grouped by collection, loaded in batches (collections in
// parallel, one loader each), and every outcome is attributed back to its
// unit. Failures go to the dead-letter sink with what is needed to replay them.
#include "tessera/ingest.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

#include "catalog/stac.hpp"
#include "ingest/dead_letter.hpp"
#include "ingest/ingest_internal.hpp"
#include "ingest/item_generator.hpp"
#include "ingest/source_records.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace fs = std::filesystem;

namespace tessera {

using nlohmann::json;

json IngestResult::to_json() const {
  json failures = json::array();
  for (const auto& failure : failed) {
    failures.push_back({{"id", failure.id},
                        {"collection", failure.collection},
                        {"error", failure.error},
                        {"retryable", failure.retryable}});
  }
  json result = {{"source", source},   {"status", status},   {"loaded", loaded},
                 {"skipped", skipped}, {"removed", removed}, {"failed", failures}};
  if (!error.empty()) {
    result["error"] = error;
    result["retryable"] = retryable;
  }
  return result;
}

json IngestReport::to_json() const {
  json list = json::array();
  for (const auto& result : results) {
    list.push_back(result.to_json());
  }
  return {{"loaded", loaded},
          {"skipped", skipped},
          {"failed", failed},
          {"removed", removed},
          {"dead_lettered", dead_lettered},
          {"results", list}};
}

namespace ingestion {

std::vector<std::string> split_items(std::string_view content) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element document;
  std::vector<std::string> items;
  if (parser.parse(content.data(), content.size()).get(document) == simdjson::SUCCESS) {
    std::string_view type;
    if (document.is_object() && document["type"].get(type) == simdjson::SUCCESS && type == "FeatureCollection") {
      simdjson::dom::array features;
      if (document["features"].get(features) != simdjson::SUCCESS) {
        throw Error(ErrorCode::kInvalidInput, "FeatureCollection has no 'features' array");
      }
      for (const auto feature : features) {
        items.push_back(simdjson::minify(feature));
      }
      return items;
    }
    simdjson::dom::array elements;
    if (document.get_array().get(elements) == simdjson::SUCCESS) {
      for (const auto element : elements) {
        items.push_back(simdjson::minify(element));
      }
      return items;
    }
    items.emplace_back(content);
    return items;
  }
  // Not one JSON document: ndjson, one item per non-blank line.
  std::size_t start = 0;
  while (start < content.size()) {
    const std::size_t end = std::min(content.find('\n', start), content.size());
    const std::string_view line = content.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      items.emplace_back(line);
    }
    start = end + 1;
  }
  return items;
}

Fetcher::Fetcher(const StorageOptions& options, std::size_t max_object_bytes)
    : options_(options), max_object_bytes_(max_object_bytes) {}

std::pair<Storage*, std::string> Fetcher::locate(const std::string& uri) {
  const std::size_t separator = uri.find("://");
  const std::size_t slash = uri.rfind('/');
  if (separator == std::string::npos || slash == std::string::npos || slash <= separator + 3) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' is not an object URI", uri));
  }
  return {&storage_for(uri.substr(0, slash)), uri.substr(slash + 1)};
}

std::string Fetcher::get(const std::string& uri, ObjectInfo* info) {
  const auto [storage, key] = locate(uri);
  // An event may name any object: one too large to hold is refused unread.
  const ObjectInfo stat = storage->stat(key);
  if (stat.size > max_object_bytes_) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("object of {} bytes is larger than max_object_bytes ({})", stat.size, max_object_bytes_));
  }
  if (info != nullptr) {
    *info = stat;
  }
  return storage->get(key);
}

ObjectInfo Fetcher::stat(const std::string& uri) {
  const auto [storage, key] = locate(uri);
  return storage->stat(key);
}

std::string Fetcher::head(const std::string& uri, std::size_t bytes) {
  const auto [storage, key] = locate(uri);
  const ObjectInfo info = storage->stat(key);
  return info.size == 0 ? std::string() : storage->read_range(key, 0, std::min<std::uint64_t>(bytes, info.size));
}

Storage& Fetcher::storage_for(const std::string& root) {
  std::lock_guard lock(mutex_);
  auto& storage = storages_[root];
  if (!storage) {
    storage = Storage::open(root, root.starts_with("s3://") ? options_ : StorageOptions{});
  }
  return *storage;
}

void fetch_all(std::vector<Unit>& units, Fetcher& fetcher, const IngestOptions& options) {
  std::vector<std::size_t> pending;
  for (std::size_t n = 0; n < units.size(); ++n) {
    if (units[n].fetched.size() < units[n].fetch.size()) {  // local item files were read already
      pending.push_back(n);
    }
  }
  const ItemGeneratorOptions& generator = options.item_generator;
  const bool generating = generator.kind != ItemGeneratorOptions::Kind::kNone;
  // Reads one object's items, or has the generator make them of a raster.
  // Whether the object was one of the generator's own COGs (nothing to load).
  const auto fetch_object = [&](Unit& unit, std::size_t object) {
    const std::string& uri = unit.fetch[object];
    if (is_generated_cog(uri, generator)) {
      return true;
    }
    std::vector<std::string> items;
    if (is_raster_name(uri, generator) ||
        (generating && has_no_extension(uri) && has_raster_signature(fetcher.head(uri, kSignatureBytes)))) {
      unit.fetched[object] = fetcher.stat(uri);
      items = generate_items(uri, static_cast<std::int64_t>(unit.fetched[object].size), options);
    } else {
      items = split_items(fetcher.get(uri, &unit.fetched[object]));
    }
    for (auto& item : items) {
      unit.items.push_back(std::move(item));
      unit.item_objects.push_back(object);
    }
    return false;
  };
  const std::size_t width = std::max<std::size_t>(options.parallel_fetches, 1);
  for (std::size_t start = 0; start < pending.size(); start += width) {
    std::vector<std::future<void>> running;
    for (std::size_t k = start; k < std::min(pending.size(), start + width); ++k) {
      Unit& unit = units[pending[k]];
      running.push_back(std::async(std::launch::async, [&unit, &fetch_object] {
        unit.item_objects.resize(unit.items.size(), kNoObject);
        unit.fetched.resize(unit.fetch.size());
        std::size_t cogs = 0;
        for (std::size_t object = 0; object < unit.fetch.size(); ++object) {
          try {
            cogs += fetch_object(unit, object) ? 1 : 0;
          } catch (const Error& error) {
            unit.error += (unit.error.empty() ? "" : "; ") + fmt::format("{}: {}", unit.fetch[object], error.what());
            // Storage that is down or busy may answer later; a missing or malformed object will not.
            unit.retryable =
                unit.retryable || error.code() == ErrorCode::kUnavailable || error.code() == ErrorCode::kIo;
          }
        }
        if (cogs == unit.fetch.size() && unit.removals.empty() && unit.collections.empty() && unit.items.empty()) {
          unit.ignored = true;  // only the generator's own outputs
        }
      }));
    }
    for (auto& task : running) {
      task.get();
    }
  }
}

}  // namespace ingestion

namespace {

bool is_item_file(const fs::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".json" || extension == ".ndjson" || extension == ".geojson";
}

// A raster the item generator makes an item of (only when one is configured:
// without one, a folder's or prefix's rasters are not sources).
bool is_generator_input(std::string_view name, const IngestOptions& options) {
  return options.item_generator.kind != ItemGeneratorOptions::Kind::kNone &&
         ingestion::is_raster_name(name, options.item_generator);
}

std::vector<ingestion::Unit> units_of_sources(const std::vector<std::string>& sources, const IngestOptions& options) {
  std::vector<ingestion::Unit> units;
  for (const auto& source : sources) {
    if (source.find("://") != std::string::npos && !source.starts_with("file://")) {
      if (is_item_file(source) || ingestion::is_raster_name(source, options.item_generator)) {
        // One object, named as a file would be, is read alone like a file
        // given directly (a task per object is how distributed runs share work).
        ingestion::Unit unit;
        unit.source = source;
        unit.fetch.push_back(source);
        units.push_back(std::move(unit));
        continue;
      }
      // A storage prefix: every item file below it, fetched in parallel.
      auto storage = Storage::open(source, source.starts_with("s3://") ? options.storage_options : StorageOptions{});
      const auto keys = storage->list("", true);
      for (const auto& key : keys) {
        if (is_item_file(key) || is_generator_input(key, options)) {
          ingestion::Unit unit;
          unit.source = storage->uri(key);
          unit.fetch.push_back(
              fmt::format("{}/{}", source.ends_with("/") ? source.substr(0, source.size() - 1) : source, key));
          units.push_back(std::move(unit));
        }
      }
      if (keys.empty()) {
        ingestion::Unit unit;
        unit.source = source;
        unit.error = "no item files under this prefix";
        units.push_back(std::move(unit));
      }
      continue;
    }
    const fs::path path = source.starts_with("file://") ? storage::parse_uri(source).path : source;
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
        if (entry.is_regular_file() &&
            (is_item_file(entry.path()) || is_generator_input(entry.path().string(), options))) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(path);
    }
    for (const auto& file : files) {
      ingestion::Unit unit;
      unit.source = file.string();
      if (ingestion::is_raster_name(file.string(), options.item_generator)) {
        // Not read here: the fetch runs the item generator on it.
        std::error_code absolute_error;
        unit.fetch.push_back("file://" + fs::absolute(file, absolute_error).lexically_normal().string());
        units.push_back(std::move(unit));
        continue;
      }
      std::ifstream input(file, std::ios::binary);
      if (!input) {
        unit.error = fmt::format("cannot open '{}'", file.string());
      } else {
        try {
          unit.items = ingestion::split_items(std::string(std::istreambuf_iterator<char>(input), {}));
          // The file is the items' source object (for ordering and reconcile).
          // Size and time as LocalStorage::stat reads them, so reconcile compares like with like.
          std::error_code absolute_error;
          const fs::path absolute = fs::absolute(file, absolute_error).lexically_normal();
          struct stat status {};
          ObjectInfo info;
          info.key = absolute.string();
          if (::stat(file.c_str(), &status) == 0) {
            info.size = static_cast<std::uint64_t>(status.st_size);
            info.modified_unix_ms =
                static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1000 + status.st_mtim.tv_nsec / 1000000;
          }
          unit.fetch.push_back("file://" + absolute.string());
          unit.fetched.push_back(info);
          unit.item_objects.assign(unit.items.size(), 0);
        } catch (const Error& error) {
          unit.error = error.what();
        }
      }
      units.push_back(std::move(unit));
    }
  }
  return units;
}

IngestReport finish(Catalog& catalog, std::vector<ingestion::Unit>& units, const IngestOptions& options) {
  ingestion::Fetcher fetcher(options.storage_options, options.max_object_bytes);
  ingestion::fetch_all(units, fetcher, options);
  const auto records = ingestion::SourceRecords::open(catalog);
  IngestReport report = ingestion::load_units(catalog, units, options, records.get());
  if (!options.dead_letter.empty()) {
    report.dead_lettered =
        ingestion::write_dead_letters(options.dead_letter, options.storage_options, units, report.results);
  }
  return report;
}

}  // namespace

IngestReport ingest(Catalog& catalog, const std::vector<std::string>& sources, const IngestOptions& options) {
  if (options.batch_size == 0) {
    throw Error(ErrorCode::kInvalidInput, "ingest: batch_size must be at least 1");
  }
  std::vector<ingestion::Unit> units = units_of_sources(sources, options);
  return finish(catalog, units, options);
}

IngestReport ingest_messages(Catalog& catalog, const std::vector<std::string>& messages, const IngestOptions& options) {
  if (options.batch_size == 0) {
    throw Error(ErrorCode::kInvalidInput, "ingest: batch_size must be at least 1");
  }
  std::vector<ingestion::Unit> units;
  units.reserve(messages.size());
  for (std::size_t n = 0; n < messages.size(); ++n) {
    if (messages[n].size() > options.max_message_bytes) {
      // Not parsed; kept whole for the dead-letter sink, as every failure is.
      ingestion::Unit unit;
      unit.source = fmt::format("message {}", n);
      unit.message = messages[n];
      unit.error = fmt::format("message of {} bytes is larger than max_message_bytes ({})", messages[n].size(),
                               options.max_message_bytes);
      units.push_back(std::move(unit));
      continue;
    }
    units.push_back(ingestion::unit_of_message(messages[n], fmt::format("message {}", n)));
  }
  return finish(catalog, units, options);
}

}  // namespace tessera
