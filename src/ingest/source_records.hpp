#pragma once

// Where each ingested item came from, kept in the catalog's database next to
// the items (SQLite: a table in the file; PgSTAC: tessera's own schema):
// the object, what the object was when loaded (ETag, size, time), the S3
// event sequencer that delivered it and the item's `updated`. The loader
// orders deliveries by it (an older copy never overwrites a newer one),
// removals find the items an object held, and reconcile compares it with
// storage. Internal header.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/catalog.hpp"

namespace tessera::ingestion {

struct SourceRecord {
  std::string collection;
  std::string item_id;
  std::string source;             // object URI; "" for an item that came in a queue message's body
  std::string etag;               // the S3 event's eTag, "" when unknown
  std::string sequencer;          // the S3 event's sequencer, "" when unknown
  std::string updated;            // the item's properties.updated, "" when it has none
  std::string checksums;          // its assets' file:checksum by href (a JSON object), "" when none has one
  std::int64_t size = -1;         // the object's size when loaded, -1 when unknown
  std::int64_t modified_ms = -1;  // the object's modification time when loaded, -1 when unknown
  std::int64_t loaded_us = 0;
  // The object was removed and the item deleted or tombstoned; the record
  // stays so an older event for the object cannot bring the item back.
  bool removed = false;
};

using ItemKey = std::pair<std::string, std::string>;  // (collection, id)

class SourceRecords {
 public:
  // The records of `catalog`'s database (tables created on first use,
  // schema-versioned); nullptr for a catalog without a database (a remote
  // STAC API). Unsupported when the database holds a newer schema version.
  static std::unique_ptr<SourceRecords> open(Catalog& catalog);
  virtual ~SourceRecords() = default;

  // The records of these items, those that have one.
  virtual std::map<ItemKey, SourceRecord> find(const std::vector<ItemKey>& items) = 0;
  // Writes (replaces) these records; a reconcile run's mark stays.
  virtual void store(const std::vector<SourceRecord>& records) = 0;
  // The live (not removed) records whose source is `source`.
  virtual std::vector<SourceRecord> from_source(const std::string& source) = 0;
  // Drops the records of these items.
  virtual void forget(const std::vector<ItemKey>& items) = 0;
  // The live records of these sources, marked as seen by the reconcile run
  // `token` (so scan can pass them over).
  virtual std::vector<SourceRecord> claim(const std::vector<std::string>& sources, const std::string& token) = 0;
  // Every live record whose source starts with `prefix` and that the run
  // `token` did not claim, in (source, collection, id) order, `page` at a
  // time: `visit` gets each page.
  virtual void scan(const std::string& prefix, const std::string& token, std::size_t page,
                    const std::function<void(const std::vector<SourceRecord>&)>& visit) = 0;
};

}  // namespace tessera::ingestion
