#pragma once

// Pieces of the ingest pipeline shared by its files. Internal header.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tessera/ingest.hpp"

namespace tessera::ingestion {

// What an S3 event record tells of one object: its URI and, when the event
// carries them, the event's sequencer (orders the events of one key) and the
// object's ETag.
struct ObjectEvent {
  std::string uri;
  std::string sequencer;
  std::string etag;
};

// One file, object or message, and the item texts it holds.
struct Unit {
  std::string source;   // path, URI or "message N"
  std::string message;  // the original message (messages only), for the dead-letter sink
  std::vector<std::string> items;
  // Parallel to `items`: the index in `fetch` of the object each came from,
  // or kNoObject for an item in the message body or a local file.
  std::vector<std::size_t> item_objects;
  std::vector<std::string> fetch;        // object URIs whose items belong to this unit
  std::vector<ObjectEvent> events;       // parallel to `fetch` for S3 events (else empty)
  std::vector<ObjectInfo> fetched;       // parallel to `fetch` once fetched: size and time
  std::vector<ObjectEvent> removals;     // ObjectRemoved records
  std::vector<std::string> collections;  // STAC Collection bodies, upserted before the items
  std::string error;                     // why (part of) the unit could not be read
  // The error is transient (storage unreachable, throttled): a queue loader
  // leaves the message for redelivery instead of dead-lettering it.
  bool retryable = false;
  bool ignored = false;  // a message with nothing to load (s3:TestEvent, the generator's own COGs)
  std::map<std::pair<std::string, std::string>, std::string> failed_texts;  // for dead letters
};

inline constexpr std::size_t kNoObject = static_cast<std::size_t>(-1);

// The item texts of a file or object: a FeatureCollection, an Item, an array
// of Items, or ndjson.
std::vector<std::string> split_items(std::string_view content);

// Reads objects by URI, one Storage per bucket/folder, from several threads.
class Fetcher {
 public:
  Fetcher(const StorageOptions& options, std::size_t max_object_bytes);
  // InvalidInput for an object larger than max_object_bytes. `info` gets
  // the object's size and modification time.
  std::string get(const std::string& uri, ObjectInfo* info = nullptr);
  ObjectInfo stat(const std::string& uri);
  // The first `bytes` bytes of the object (fewer when it is shorter).
  std::string head(const std::string& uri, std::size_t bytes);

 private:
  // The storage of the object's folder and the object's key in it.
  std::pair<Storage*, std::string> locate(const std::string& uri);
  Storage& storage_for(const std::string& root);
  StorageOptions options_;
  std::size_t max_object_bytes_;
  std::map<std::string, std::unique_ptr<Storage>> storages_;
  std::mutex mutex_;
};

// Fetches every unit's objects, options.parallel_fetches at a time; rasters
// go through options.item_generator instead of being read.
void fetch_all(std::vector<Unit>& units, Fetcher& fetcher, const IngestOptions& options);

class SourceRecords;

// Upserts the units' collections, loads their items and applies their
// removals, ordering copies by `records` (nullptr: a catalog without source
// records, where later copies simply win), and attributes each outcome to its
// unit. A failure of the whole load (database down) is thrown.
IngestReport load_units(Catalog& catalog, std::vector<Unit>& units, const IngestOptions& options,
                        SourceRecords* records);

// An S3 event sequencer: 1 to 64 hexadecimal digits.
bool valid_sequencer(std::string_view sequencer);
// <0, 0, >0 as hexadecimal sequencer `a` is older than, as old as, or newer than `b`.
int compare_sequencers(std::string_view a, std::string_view b);

// A queue message as a unit: an Item or FeatureCollection body, an S3 event
// (objects to fetch), an SNS envelope around either, or a dead-letter record.
Unit unit_of_message(const std::string& message, std::string label);

}  // namespace tessera::ingestion
