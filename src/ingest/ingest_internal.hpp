#pragma once

// Pieces of the ingest pipeline shared by its files. Internal header.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tessera/ingest.hpp"

namespace tessera::ingestion {

// One file, object or message, and the item texts it holds.
struct Unit {
  std::string source;   // path, URI or "message N"
  std::string message;  // the original message (messages only), for the dead-letter sink
  std::vector<std::string> items;
  std::vector<std::string> fetch;  // object URIs whose items belong to this unit
  std::string error;               // why (part of) the unit could not be read
  bool ignored = false;            // a message with nothing to load (s3:TestEvent, removals)
  std::map<std::pair<std::string, std::string>, std::string> failed_texts;  // for dead letters
};

// The item texts of a file or object: a FeatureCollection, an Item, an array
// of Items, or ndjson.
std::vector<std::string> split_items(std::string_view content);

// Reads objects by URI, one Storage per bucket/folder, from several threads.
class Fetcher {
 public:
  Fetcher(const StorageOptions& options, std::size_t max_object_bytes);
  // InvalidInput for an object larger than max_object_bytes.
  std::string get(const std::string& uri);

 private:
  Storage& storage_for(const std::string& root);
  StorageOptions options_;
  std::size_t max_object_bytes_;
  std::map<std::string, std::unique_ptr<Storage>> storages_;
  std::mutex mutex_;
};

// Fetches every unit's objects, `parallel` at a time.
void fetch_all(std::vector<Unit>& units, Fetcher& fetcher, std::size_t parallel);

// Loads the units' items and attributes each outcome to its unit.
IngestReport load_units(Catalog& catalog, std::vector<Unit>& units, const IngestOptions& options);

// A queue message as a unit: an Item or FeatureCollection body, an S3 event
// (objects to fetch), an SNS envelope around either, or a dead-letter record.
Unit unit_of_message(const std::string& message, std::string label);

}  // namespace tessera::ingestion
