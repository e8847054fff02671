#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/export.hpp"
#include "tessera/storage.hpp"

namespace tessera {

// Raw uploads become items: what makes a STAC Item of an object that is not
// item JSON but a raster (an S3 event for scene.tif, a .tif under a prefix
// being ingested or reconciled). A "stac-in, stac-out" step: every generator
// gets the object's URI and an item-like JSON (type Feature, an id from the
// file name, the collection below, a "data" asset whose href is the object)
// and returns an Item (or a FeatureCollection / JSON array of Items), which
// is then loaded like any other, with the object recorded as its source.
struct TESSERA_API ItemGeneratorOptions {
  enum class Kind {
    kNone,      // raster objects fail ("no item generator configured")
    kBuiltIn,   // create_item, after to_cog into cog_prefix when that is set
    kCommand,   // `command` run without a shell: the item-like JSON on stdin, the item on stdout
    kCallable,  // `callable`
  };
  Kind kind = Kind::kNone;
  // The generated items' collection (in the item-like JSON; the built-in
  // generator requires it).
  std::string collection;
  // Built-in: where the COGs go (a storage URI or folder; <id>.tif below it).
  // "": the item's asset is the object itself. Objects under this prefix are
  // never generated from (a COG written there would trigger its own event).
  std::string cog_prefix;
  bool statistics = false;  // built-in: per-band statistics (reads the data)
  // Command: the program and its arguments (argv; the object URI is appended
  // as the last argument). It inherits this process's environment.
  std::vector<std::string> command;
  double timeout_seconds = 300;                          // command: killed after this (a retryable failure)
  std::size_t max_output_bytes = std::size_t{16} << 20;  // command: a longer stdout fails the object
  // Callable: (object URI, item-like JSON) -> Item JSON. Called from the
  // loader's threads, several at once.
  std::function<nlohmann::json(const std::string& uri, const nlohmann::json& item_like)> callable;
  // Which objects are rasters: these extensions (lower case, with the dot),
  // or, for a key with no extension, TIFF / BigTIFF / JPEG 2000 leading bytes.
  std::vector<std::string> raster_extensions = {".tif", ".tiff", ".jp2", ".img", ".nc", ".h5", ".hdf", ".grib2"};

  // Reads {"kind": "builtin" | "command" | "none", "collection", "cog_prefix",
  // "statistics", "command": [...], "timeout_seconds", "max_output_bytes",
  // "raster_extensions": [...]}; InvalidInput names a bad member.
  static ItemGeneratorOptions from_json(const nlohmann::json& options);
};

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
  // What an ObjectRemoved event does to the items its object held: delete
  // them (false), or keep them marked with a "tessera:removed" property
  // holding the removal time (true).
  bool tombstone_removed = false;
  // What makes items of raster objects (none by default).
  ItemGeneratorOptions item_generator;
};

// What became of one source file/object or one queue message.
struct TESSERA_API IngestResult {
  std::string source;  // the path, object URI or "message N"
  std::string status;  // "loaded", "skipped", "failed", or "ignored" (s3:TestEvent)
  std::size_t loaded = 0;
  std::size_t skipped = 0;          // superseded, unchanged, or older than the stored copy
  std::size_t removed = 0;          // items deleted or tombstoned for ObjectRemoved events
  std::vector<LoadFailure> failed;  // per item
  std::string error;                // why the whole source failed (unreadable, malformed)
  // The failure is transient (storage or database unreachable, busy): trying
  // the source again later may work. A queue loader leaves such messages for
  // redelivery and dead-letters the others.
  bool retryable = false;

  [[nodiscard]] nlohmann::json to_json() const;
};

struct TESSERA_API IngestReport {
  std::size_t loaded = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;  // items and sources that failed
  std::size_t removed = 0;
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
// or a dead-letter record written by a previous run (replayed), or a STAC
// Collection (upserted). One result per message, in order.
//
// Order: the catalog records where each item came from (the object, its S3
// event sequencer, the item's `updated`), and an older copy never replaces a
// newer one: for the same object the event with the lower sequencer is the
// older, else the item with the earlier `updated`. ObjectRemoved events
// delete (or tombstone) the items their object held, unless a newer event
// for the object loaded them.
TESSERA_API IngestReport ingest_messages(Catalog& catalog, const std::vector<std::string>& messages,
                                         const IngestOptions& options = {});

// What validate() found of one item.
struct TESSERA_API ItemValidation {
  std::string id;          // "" when the item has no readable id
  std::string collection;  // "" when it names none
  std::string error;       // "" for a valid item

  [[nodiscard]] bool valid() const noexcept { return error.empty(); }
};

struct TESSERA_API ValidationReport {
  std::size_t valid = 0;
  std::size_t invalid = 0;
  std::vector<ItemValidation> results;  // one per item, in order

  // {"valid", "invalid", "results": [{"id", "collection", "valid", "error"?}]}.
  [[nodiscard]] nlohmann::json to_json() const;
};

// The most items one validate() call takes.
inline constexpr std::size_t kMaxValidateItems = 10000;

// Checks items as a load would (STAC Item structure, geometry, bbox, dates,
// an id and a collection that exists in `catalog`) and writes nothing: an
// upload API can refuse bad items before they reach the queue. `items` is an
// Item, a FeatureCollection, a JSON array of Items or ndjson. InvalidInput
// when it is none of those or holds more than kMaxValidateItems items.
TESSERA_API ValidationReport validate(Catalog& catalog, std::string_view items);

// Drift between storage and catalog (see reconcile).
struct TESSERA_API ReconcileOptions {
  // Load the missing and stale objects (upsert) and delete the orphaned items.
  bool fix = false;
  // Settings for an s3:// prefix, as for Storage::open.
  StorageOptions storage_options;
  // How fix loads (mode, limits, outbox); its storage_options are replaced by the above.
  IngestOptions ingest;
  // Objects compared with the catalog in one round trip.
  std::size_t page_size = 1000;
  // Called after each page with the number of objects listed so far.
  std::function<void(std::size_t objects)> progress;
  // Called with each finding as it is found: {"kind": "missing" | "orphaned"
  // | "stale", "object", "collection", "id", "reason"?}.
  std::function<void(const nlohmann::json& finding)> on_finding;
  // Findings kept in the report (all of them reach on_finding).
  std::size_t max_findings = 10000;
};

struct TESSERA_API ReconcileReport {
  std::size_t objects = 0;               // item objects listed under the prefix
  std::size_t missing = 0;               // items in an object, absent from the catalog
  std::size_t orphaned = 0;              // items recorded from an object that is gone
  std::size_t stale = 0;                 // items whose object changed since they were loaded
  std::size_t loaded = 0;                // by fix
  std::size_t deleted = 0;               // by fix
  std::vector<nlohmann::json> findings;  // the first max_findings
  bool findings_truncated = false;

  // {"objects", "missing", "orphaned", "stale", "loaded", "deleted", "findings", "findings_truncated"}.
  [[nodiscard]] nlohmann::json to_json() const;
};

// Compares the item objects under `storage_prefix` (file path, file:// or
// s3://bucket/prefix; .json/.geojson/.ndjson objects) with the catalog's
// items recorded as loaded from that prefix: missing (an object's item is not
// in the catalog, by id), orphaned (an item recorded from an object that is
// gone), stale (the object's size or time changed since it was loaded). The
// listing streams: objects are compared a page at a time, never all held.
// Unsupported for a catalog without source records (a remote STAC API).
TESSERA_API ReconcileReport reconcile(Catalog& catalog, std::string_view storage_prefix,
                                      const ReconcileOptions& options = {});

// A queue loader: long-polls an SQS queue (AWS SQS API; any compatible
// server) and loads what its messages hold (everything ingest_messages
// reads; SNS envelopes from SNS->SQS fan-out are unwrapped), a batch at a
// time. While a batch loads, its messages' visibility is extended. Then it
// deletes exactly the messages whose items were stored (or that had nothing
// to store), leaves those that failed for a transient reason to be delivered
// again, and moves to the dead-letter queue, with the reason attached (message
// attributes tessera_error and tessera_source), those that failed for good (bad
// JSON, an invalid item, an unknown collection) and those received more than
// max_receive_count times. Loading is idempotent (upsert, ordered by the source
// records), so a message delivered twice, or a loader killed mid-batch, stores
// every item exactly once.
struct TESSERA_API LoaderOptions {
  std::string queue_url;
  // Where messages that fail for good go. Empty: they go to ingest.dead_letter
  // when that is set (and are deleted), else they stay on the queue, for its
  // own redrive policy.
  std::string dead_letter_queue_url;
  std::size_t batch_size = 500;  // messages loaded together (1..100000)
  // Longest time spent filling a batch once its first message arrived.
  double batch_window_seconds = 5;
  // A message received more often than this goes to the dead-letter queue
  // unloaded; 0: no limit.
  std::size_t max_receive_count = 5;
  // Batches received and loaded at once (1..64).
  std::size_t concurrency = 1;
  // Return once a long poll finds the queue empty.
  bool until_empty = false;
  int wait_seconds = 20;                // long-poll wait (1..20)
  int visibility_timeout_seconds = 60;  // held while a batch loads, renewed every third of it (10..43200)
  // endpoint, region, access_key_id, secret_access_key, session_token; the
  // AWS variables otherwise (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL,
  // AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, ...).
  std::map<std::string, std::string> queue_options;
  // How messages are read and loaded (mode, S3 settings, limits, outbox,
  // tombstones). Its progress callback is not used.
  IngestOptions ingest;
  // Polled between batches: returning true makes the loader return once its
  // current batches are done.
  std::function<bool()> stop;
  // Called after each batch with its summary (the LoaderReport of that batch, as JSON).
  std::function<void(const nlohmann::json& batch)> on_batch;

  // Reads the options from JSON: the members above by name (queue_options
  // an object of strings), plus the ingest settings mode, dead_letter,
  // storage_options (an object of strings), max_message_bytes,
  // max_object_bytes, parallel_fetches, tombstone_removed and item_generator
  // (an object, as ItemGeneratorOptions::from_json). InvalidInput
  // names an unknown member or a value of the wrong type.
  static LoaderOptions from_json(const nlohmann::json& options);
};

struct TESSERA_API LoaderReport {
  std::size_t batches = 0;
  std::size_t received = 0;       // messages
  std::size_t deleted = 0;        // messages done with (stored, nothing to store, or dead-lettered)
  std::size_t retried = 0;        // messages left for redelivery
  std::size_t dead_lettered = 0;  // messages sent to the dead-letter queue or sink
  std::size_t loaded = 0;         // items
  std::size_t skipped = 0;
  std::size_t removed = 0;
  std::size_t failed = 0;

  // {"batches", "received", "deleted", "retried", "dead_lettered", "loaded", "skipped", "removed", "failed"}.
  [[nodiscard]] nlohmann::json to_json() const;
  void merge(const LoaderReport& other);
};

// Runs the loader until `stop` says so or, with until_empty, the queue is
// empty. InvalidInput for bad options, NotFound for a missing queue.
TESSERA_API LoaderReport run_loader(Catalog& catalog, const LoaderOptions& options);

}  // namespace tessera
