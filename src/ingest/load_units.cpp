// Loads the units' items: collections first, then items de-duplicated (the
// newest copy wins), checked against the catalog's source records so an older
// copy never replaces a newer one, grouped by collection and loaded (one
// loader per collection, collections in parallel); then the loaded items'
// sources are recorded and ObjectRemoved events applied. Every outcome is
// attributed to its unit.
#include <future>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

#include "catalog/stac.hpp"
#include "ingest/ingest_internal.hpp"
#include "ingest/source_records.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::ingestion {

using nlohmann::json;

namespace {

// What the source records keep of an item's text: its properties.updated
// ("" when it has none) and its assets' file:checksum values by href (a JSON
// object, "" when no asset has one).
struct ItemFacts {
  std::string updated;
  std::string checksums;
};

ItemFacts item_facts(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element document;
  ItemFacts facts;
  if (parser.parse(text.data(), text.size()).get(document) != simdjson::SUCCESS) {
    return facts;
  }
  std::string_view updated;
  if (document.at_pointer("/properties/updated").get(updated) == simdjson::SUCCESS) {
    facts.updated = updated;
  }
  simdjson::dom::object assets;
  if (document["assets"].get(assets) == simdjson::SUCCESS) {
    json checksums = json::object();
    for (const auto field : assets) {
      std::string_view href;
      std::string_view checksum;
      if (field.value["href"].get(href) == simdjson::SUCCESS &&
          field.value["file:checksum"].get(checksum) == simdjson::SUCCESS) {
        checksums[std::string(href)] = std::string(checksum);
      }
    }
    if (!checksums.empty()) {
      facts.checksums = checksums.dump();
    }
  }
  return facts;
}

// What orders two copies of an item.
struct Version {
  std::string source;
  std::string sequencer;
  std::string updated;
};

// Why `incoming` is older than `existing`, or "" when it is not: for the same
// object, a lower event sequencer; else an earlier `updated`. Copies that
// cannot be ordered are not older (the later delivery wins).
std::string older_reason(const Version& incoming, const Version& existing) {
  if (!incoming.source.empty() && incoming.source == existing.source && !incoming.sequencer.empty() &&
      !existing.sequencer.empty()) {
    return compare_sequencers(incoming.sequencer, existing.sequencer) < 0
               ? fmt::format("an older event for {} (sequencer {} < {})", incoming.source, incoming.sequencer,
                             existing.sequencer)
               : std::string();
  }
  if (!incoming.updated.empty() && !existing.updated.empty()) {
    const auto in = parse_rfc3339_micros(incoming.updated);
    const auto ex = parse_rfc3339_micros(existing.updated);
    if (in && ex && *in < *ex) {
      return fmt::format("an older copy (updated {} < {})", incoming.updated, existing.updated);
    }
  }
  return {};
}

Version version_of(const SourceRecord& record) { return {record.source, record.sequencer, record.updated}; }

// The key-level record of an object's removal: kept apart from the items'
// records (no collection), so a late older creation event is recognised even
// when the removal found no items.
ItemKey removal_key(const std::string& uri) { return {std::string(), uri}; }

std::int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void upsert_collections(Catalog& catalog, std::vector<Unit>& units) {
  for (auto& unit : units) {
    for (const auto& text : unit.collections) {
      try {
        catalog.upsert_collection(json::parse(text));
      } catch (const Error& error) {
        unit.error += (unit.error.empty() ? "" : "; ") + fmt::format("collection: {}", error.what());
        unit.retryable = unit.retryable || error.code() == ErrorCode::kUnavailable;
      }
    }
  }
}

// Deletes or tombstones the items each removed object held, unless a newer
// event for the object loaded them; records the removals.
void apply_removals(Catalog& catalog, std::vector<Unit>& units, std::vector<IngestResult>& results,
                    SourceRecords* records, const IngestOptions& options) {
  for (std::size_t n = 0; n < units.size(); ++n) {
    for (const auto& removal : units[n].removals) {
      if (records == nullptr) {
        results[n].error = "ObjectRemoved: this catalog keeps no source records, so the items are unknown";
        continue;
      }
      std::vector<SourceRecord> changed;
      for (auto& record : records->from_source(removal.uri)) {
        if (!removal.sequencer.empty() && !record.sequencer.empty() &&
            compare_sequencers(record.sequencer, removal.sequencer) > 0) {
          continue;  // loaded by a newer event than this removal
        }
        try {
          if (options.tombstone_removed) {
            json item = catalog.get_item(record.collection, record.item_id);
            item["properties"]["tessera:removed"] = format_rfc3339_micros(now_micros());
            LoadOptions upsert;
            upsert.mode = LoadMode::kUpsert;
            const LoadReport report = catalog.load({item}, upsert);
            if (!report.failed.empty()) {
              throw Error(ErrorCode::kInvalidInput, report.failed.front().error);
            }
          } else {
            catalog.delete_item(record.collection, record.item_id);
          }
        } catch (const Error& error) {
          if (error.code() != ErrorCode::kNotFound) {
            results[n].failed.push_back({record.item_id, record.collection,
                                         fmt::format("removing the item of {}: {}", removal.uri, error.what()),
                                         error.code() == ErrorCode::kUnavailable});
            continue;
          }
        }
        ++results[n].removed;
        record.removed = true;
        record.sequencer = removal.sequencer;
        record.loaded_us = now_micros();
        changed.push_back(std::move(record));
      }
      // The object's removal marker keeps the newest removal's sequencer.
      const auto previous = records->find({removal_key(removal.uri)});
      if (!previous.empty() && !removal.sequencer.empty() &&
          compare_sequencers(previous.begin()->second.sequencer, removal.sequencer) > 0) {
        records->store(changed);
        continue;
      }
      SourceRecord marker;
      marker.item_id = removal.uri;
      marker.source = removal.uri;
      marker.sequencer = removal.sequencer;
      marker.etag = removal.etag;
      marker.loaded_us = now_micros();
      marker.removed = true;
      changed.push_back(std::move(marker));
      records->store(changed);
    }
  }
}

}  // namespace

IngestReport load_units(Catalog& catalog, std::vector<Unit>& units, const IngestOptions& options,
                        SourceRecords* records) {
  upsert_collections(catalog, units);
  // One copy per (collection, id): the newest of the batch.
  struct Entry {
    std::size_t unit;
    std::size_t object;
    std::string text;
    Version version;
    std::string checksums;
  };
  std::map<ItemKey, Entry> newest;
  std::vector<IngestResult> results(units.size());
  // Copies of the texts, kept only when failures are to be dead-lettered.
  const bool keep_texts = !options.dead_letter.empty();
  std::map<ItemKey, std::string> copies;
  for (std::size_t n = 0; n < units.size(); ++n) {
    Unit& unit = units[n];
    results[n].source = unit.source;
    results[n].error = unit.error;
    unit.item_objects.resize(unit.items.size(), kNoObject);
    for (std::size_t k = 0; k < unit.items.size(); ++k) {
      std::string& text = unit.items[k];
      auto identity = catalog::item_identity(text);
      if (identity.second.empty() || identity.first.empty()) {
        // Without an id and collection the item cannot be tracked through a
        // batch: validate it alone for the precise reason.
        std::string reason = "item has no id or collection";
        try {
          (void)catalog::prepare_item(std::string(text));
        } catch (const Error& error) {
          reason = error.what();
        }
        results[n].failed.push_back({identity.first, identity.second, reason});
        if (keep_texts) {
          unit.failed_texts[{identity.second, identity.first}] = text;
        }
        continue;
      }
      const std::size_t object = unit.item_objects[k];
      Version version;
      if (object != kNoObject) {
        version.source = unit.fetch[object];
        version.sequencer = object < unit.events.size() ? unit.events[object].sequencer : std::string();
      }
      ItemFacts facts = item_facts(text);
      version.updated = std::move(facts.updated);
      ItemKey key{std::move(identity.second), std::move(identity.first)};
      if (keep_texts) {
        copies[key] = text;
      }
      auto it = newest.find(key);
      if (it == newest.end()) {
        newest.emplace(std::move(key),
                       Entry{n, object, std::move(text), std::move(version), std::move(facts.checksums)});
      } else if (!older_reason(version, it->second.version).empty()) {
        ++results[n].skipped;  // an older copy than one already in the batch
      } else {
        ++results[it->second.unit].skipped;  // superseded by a newer copy
        it->second = Entry{n, object, std::move(text), std::move(version), std::move(facts.checksums)};
      }
    }
  }
  // Copies older than what the catalog holds are skipped.
  if (records != nullptr && !newest.empty()) {
    std::vector<ItemKey> keys;
    keys.reserve(newest.size());
    for (const auto& [key, entry] : newest) {
      keys.push_back(key);
      if (!entry.version.sequencer.empty()) {
        keys.push_back(removal_key(entry.version.source));
      }
    }
    const auto stored = records->find(keys);
    for (auto it = newest.begin(); it != newest.end();) {
      std::string reason;
      if (const auto record = stored.find(it->first); record != stored.end()) {
        reason = older_reason(it->second.version, version_of(record->second));
      }
      if (reason.empty() && !it->second.version.sequencer.empty()) {
        if (const auto removal = stored.find(removal_key(it->second.version.source)); removal != stored.end()) {
          reason = older_reason(it->second.version, version_of(removal->second));
        }
      }
      if (reason.empty()) {
        ++it;
        continue;
      }
      ++results[it->second.unit].skipped;
      it = newest.erase(it);
    }
  }
  // One loader per collection, collections in parallel.
  std::map<std::string, std::vector<std::string>> texts;
  std::map<ItemKey, std::size_t> owner;
  for (auto& [key, entry] : newest) {
    owner[key] = entry.unit;
    texts[key.first].push_back(std::move(entry.text));
  }
  std::mutex progress_mutex;
  std::size_t processed = 0;
  std::vector<std::future<LoadReport>> loads;
  for (auto& [collection, items] : texts) {
    loads.push_back(std::async(std::launch::async, [&, items = std::move(items)]() mutable {
      LoadOptions load_options;
      load_options.mode = options.mode;
      load_options.batch_size = options.batch_size;
      load_options.outbox = options.outbox;
      const std::size_t count = items.size();
      LoadReport report = catalog.load_texts(std::move(items), load_options);
      if (options.progress) {
        std::lock_guard lock(progress_mutex);
        processed += count;
        options.progress(processed);
      }
      return report;
    }));
  }
  std::map<std::size_t, std::size_t> sent;
  for (const auto& [key, unit] : owner) {
    ++sent[unit];
  }
  std::map<std::size_t, std::size_t> not_loaded;
  std::set<ItemKey> stored_items;
  for (const auto& [key, unit] : owner) {
    stored_items.insert(key);
  }
  // Every load is waited for before anything is rethrown: a task still
  // running must not outlive what it references.
  std::vector<LoadReport> reports;
  std::exception_ptr first_error;
  for (auto& load : loads) {
    try {
      reports.push_back(load.get());
    } catch (...) {
      first_error = first_error ? first_error : std::current_exception();
    }
  }
  if (first_error) {
    std::rethrow_exception(first_error);
  }
  for (const auto& report : reports) {
    for (const auto& failure : report.failed) {
      const auto it = owner.find({failure.collection, failure.id});
      const std::size_t unit = it != owner.end() ? it->second : 0;
      results[unit].failed.push_back(failure);
      ++not_loaded[unit];
      stored_items.erase({failure.collection, failure.id});
      if (const auto copy = copies.find({failure.collection, failure.id}); copy != copies.end()) {
        units[unit].failed_texts[copy->first] = copy->second;
      }
    }
    for (const auto& skipped : report.skipped_items) {
      const auto it = owner.find(skipped);
      if (it != owner.end()) {
        ++results[it->second].skipped;
        ++not_loaded[it->second];
      }
      stored_items.erase(skipped);
    }
  }
  if (records != nullptr) {
    std::vector<SourceRecord> loaded;
    const std::int64_t now = now_micros();
    for (const auto& key : stored_items) {
      const Entry& entry = newest.at(key);
      SourceRecord record;
      record.collection = key.first;
      record.item_id = key.second;
      record.source = entry.version.source;
      record.sequencer = entry.version.sequencer;
      record.updated = entry.version.updated;
      record.checksums = entry.checksums;
      record.loaded_us = now;
      const Unit& unit = units[entry.unit];
      if (entry.object != kNoObject) {
        if (entry.object < unit.events.size()) {
          record.etag = unit.events[entry.object].etag;
        }
        if (entry.object < unit.fetched.size()) {
          record.size = static_cast<std::int64_t>(unit.fetched[entry.object].size);
          record.modified_ms = unit.fetched[entry.object].modified_unix_ms;
        }
      }
      loaded.push_back(std::move(record));
    }
    records->store(loaded);
  }
  apply_removals(catalog, units, results, records, options);
  IngestReport report;
  for (std::size_t n = 0; n < units.size(); ++n) {
    IngestResult& result = results[n];
    result.loaded = sent[n] - not_loaded[n];
    result.retryable = units[n].retryable;
    for (const auto& failure : result.failed) {
      result.retryable = result.retryable || failure.retryable;
    }
    if (units[n].ignored) {
      result.status = "ignored";
    } else if (!result.error.empty() || !result.failed.empty()) {
      result.status = "failed";
    } else if (result.loaded == 0 && result.skipped > 0) {
      result.status = "skipped";
    } else {
      result.status = "loaded";
    }
    report.loaded += result.loaded;
    report.skipped += result.skipped;
    report.removed += result.removed;
    report.failed += result.failed.size() + (result.error.empty() ? 0 : 1);
  }
  report.results = std::move(results);
  return report;
}

}  // namespace tessera::ingestion
