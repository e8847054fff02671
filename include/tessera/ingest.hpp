#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/export.hpp"
#include "tessera/storage.hpp"

namespace tessera {

struct TESSERA_API IngestOptions {
  LoadMode mode = LoadMode::kUpsert;
  std::size_t batch_size = 500;
  // Where failures go, with the original message and the error, so they can
  // be replayed: a storage URI or folder (one JSON object per failure) or a
  // path ending in .ndjson (appended). Empty: failures are only reported.
  std::string dead_letter;
  // Settings for the storages items are fetched from (s3://...), as for
  // Storage::open; the AWS environment variables apply otherwise.
  StorageOptions storage_options;
  // Objects fetched at once from a storage prefix or for S3 events.
  std::size_t parallel_fetches = 16;
  // A queue message longer than this fails (unparsed) instead of loading.
  std::size_t max_message_bytes = std::size_t{1} << 20;
  // An object (from a storage prefix or an S3 event) larger than this fails
  // unread instead of being held in memory whole.
  std::size_t max_object_bytes = std::size_t{256} << 20;
  // Called with the number of items processed so far.
  std::function<void(std::size_t processed)> progress;
  // Events written with each item, as LoadOptions::outbox.
  OutboxHook outbox;
};

// What became of one source file/object or one queue message.
struct TESSERA_API IngestResult {
  std::string source;  // the path, object URI or "message N"
  std::string status;  // "loaded", "skipped", "failed", or "ignored" (s3:TestEvent)
  std::size_t loaded = 0;
  std::size_t skipped = 0;
  std::vector<LoadFailure> failed;  // per item
  std::string error;                // why the whole source failed (unreadable, malformed)

  [[nodiscard]] nlohmann::json to_json() const;
};

struct TESSERA_API IngestReport {
  std::size_t loaded = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;  // items and sources that failed
  std::size_t dead_lettered = 0;
  std::vector<IngestResult> results;

  [[nodiscard]] nlohmann::json to_json() const;
};

// Loads items from sources: ndjson / JSON (Item or FeatureCollection) files,
// local folders of such files (recursively), and storage prefixes
// (file://... or s3://bucket/prefix) of item JSON objects, fetched in
// parallel. Items are grouped by collection into batches; within a batch the
// newest copy of an id wins. Nothing is dropped silently: every failure is in
// the report and, when configured, in the dead-letter sink.
TESSERA_API IngestReport ingest(Catalog& catalog, const std::vector<std::string>& sources,
                                const IngestOptions& options = {});

// Loads queue messages: a STAC Item JSON body, an S3 event notification
// (Records[].s3.bucket.name / object.key, keys URL-decoded; s3:TestEvent is
// ignored), either of those in an SNS envelope (Type: Notification, Message),
// or a dead-letter record written by a previous run (replayed). One result
// per message, in order.
TESSERA_API IngestReport ingest_messages(Catalog& catalog, const std::vector<std::string>& messages,
                                         const IngestOptions& options = {});

}  // namespace tessera
