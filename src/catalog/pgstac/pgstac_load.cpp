// The PgSTAC backend's half of the load pipeline (catalog/load_pipeline.hpp).
//
// Loading works as pypgstac's loader does, not through pgstac's staging
// tables (whose trigger dehydrates every row in PL/pgSQL): the preparation
// thread builds each item's row (content dehydrated against the collection's
// base item exactly as pgstac's content_slim would, EWKB geometry, pgstac's
// datetime columns) while the load thread writes the batch before:
// check_partition per (collection, partition) and a binary COPY.

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "catalog/load_pipeline.hpp"
#include "catalog/outbox_schema.hpp"
#include "catalog/pgstac/pgstac_catalog.hpp"
#include "catalog/pgstac/pgstac_rows.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::catalog::pgstac {

using nlohmann::json;

namespace {

// The JSON Schema of a queryable, as SQLite's queryables() reports it too.
json queryable_schema(const std::string& name, std::string_view json_type) {
  json schema = {{"type", json_type == "integer" ? "number" : json_type}};
  if (name == "start_datetime" || name == "end_datetime" || name == "created" || name == "updated") {
    schema["format"] = "date-time";
  }
  return schema;
}

// A collection as the loader needs it: its time partitioning and base item.
struct CollectionState {
  std::string partition_trunc;  // "", "year" or "month"
  std::shared_ptr<const BaseItem> base;

  [[nodiscard]] bool same_as(const CollectionState& other) const {
    return partition_trunc == other.partition_trunc && base->text == other.base->text && base->id == other.base->id;
  }
};
using CollectionStates = std::map<std::string, std::shared_ptr<const CollectionState>, std::less<>>;

constexpr const char* kCollectionStateSql =
    "SELECT c.id, coalesce(c.partition_trunc, ''), b.base_item_id::text, b.base_item::text "
    "FROM collections c, current_base_item(c.id) b";

CollectionStates read_collection_states(const Result& rows) {
  CollectionStates states;
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    auto state = std::make_shared<CollectionState>();
    state->partition_trunc = PQgetvalue(rows.get(), row, 1);
    std::optional<std::string> base_id;
    if (PQgetisnull(rows.get(), row, 2) == 0) {
      base_id = PQgetvalue(rows.get(), row, 2);
    }
    state->base = std::make_shared<BaseItem>(PQgetvalue(rows.get(), row, 3), std::move(base_id));
    states.emplace(PQgetvalue(rows.get(), row, 0), std::move(state));
  }
  return states;
}

// The collections of one load, read once and shared by its two threads.
class CollectionCache {
 public:
  explicit CollectionCache(PgPool& pool) : pool_(pool) {
    auto connection = pool_.acquire();
    states_ = read_collection_states(connection->exec(kCollectionStateSql));
  }

  // The collection's state, or null when it does not exist (asked once more
  // of the server, in case it was created during the load).
  std::shared_ptr<const CollectionState> get(const std::string& id) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = states_.find(id); it != states_.end()) {
        return it->second;
      }
      if (missing_.contains(id)) {
        return nullptr;
      }
    }
    auto connection = pool_.acquire();
    auto found = read_collection_states(connection->exec(std::string(kCollectionStateSql) + " WHERE c.id = $1", {id}));
    std::lock_guard lock(mutex_);
    if (found.empty()) {
      missing_.insert(id);
      return nullptr;
    }
    states_[id] = found.begin()->second;
    return found.begin()->second;
  }

  void put(const std::string& id, std::shared_ptr<const CollectionState> state) {
    std::lock_guard lock(mutex_);
    if (state) {
      states_[id] = std::move(state);
      missing_.erase(id);
    } else {
      states_.erase(id);
      missing_.insert(id);
    }
  }

 private:
  PgPool& pool_;
  std::mutex mutex_;
  CollectionStates states_;
  std::set<std::string, std::less<>> missing_;
};

// One item ready to write: validated, and its items row as a binary COPY tuple.
struct Row {
  PreparedItem item;
  std::shared_ptr<const CollectionState> state;  // what the row was built against
  std::string tuple;
  std::int32_t bucket = 0;  // its time partition: YYYY, YYYYMM, or 0 when unpartitioned
};

// The UTC year and month of an instant (days to civil date, H. Hinnant's algorithm).
std::pair<std::int64_t, int> year_month(std::int64_t micros) {
  constexpr std::int64_t kMicrosPerDay = 86'400'000'000;
  std::int64_t days = micros / kMicrosPerDay - (micros % kMicrosPerDay < 0 ? 1 : 0);
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month};
}

// Builds `row`'s tuple from its item and state. Throws InvalidInput for an
// item pgstac cannot store.
void build_row(Row& row) {
  const PreparedItem& item = row.item;
  if (item.geometry_wkb.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("item '{}' (collection '{}'): geometry: null is not supported by pgstac "
                            "(its items.geometry column is NOT NULL)",
                            item.id, item.collection));
  }
  thread_local JsonTree tree;
  thread_local std::string content;
  tree.parse(item.content);
  dehydrate_content(tree, *row.state->base, content);
  row.tuple.clear();
  append_item_tuple(row.tuple, item.id, item.geometry_wkb, item.collection, item.pgstac_datetime,
                    item.pgstac_end_datetime, content);
  row.bucket = 0;
  if (!row.state->partition_trunc.empty()) {
    const auto [year, month] = year_month(item.pgstac_datetime);
    row.bucket = static_cast<std::int32_t>(row.state->partition_trunc == "year" ? year : year * 100 + month);
  }
}

// What one load has done to a time partition's constraints.
struct PartitionState {
  int widened_exactly = 0;  // times check_partition widened them to a batch's range
  bool opened = false;      // widened to the partition's whole range, tightened at the end
};
// (collection, bucket) -> state; the partitions opened, to tighten after the load.
struct LoadPartitions {
  std::map<std::pair<std::string, std::int32_t>, PartitionState> states;
  std::set<std::string> opened;
};

// Writes `rows` in the current transaction; returns what happened to them.
LoadReport write_rows(PgConnection& connection, const std::vector<Row*>& rows, LoadMode mode, CollectionCache& cache,
                      const std::map<std::pair<std::string, std::string>, json>& new_queryables,
                      LoadPartitions& load_partitions, bool lz4) {
  LoadReport written;
  // pgstac's partition maintenance reads the partitions of every collection:
  // two loaders at once failed here ("relation _items_N does not exist") even
  // on different collections. tessera's loaders take turns on this step.
  connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera-load'))");
  if (lz4) {
    // Item content is compressed as it is stored (TOAST): lz4 costs a
    // fraction of the default pglz's time, and every reader decompresses
    // either transparently.
    connection.exec("SET LOCAL default_toast_compression = lz4");
  }
  std::vector<Row*> send;
  send.reserve(rows.size());
  // The collections as they are now, held (FOR SHARE) until commit: a row
  // built against a base item that changed since is rebuilt.
  {
    json ids = json::array();
    for (const Row* row : rows) {
      if (ids.empty() || ids.back() != row->item.collection) {
        ids.push_back(row->item.collection);
      }
    }
    const CollectionStates current = read_collection_states(
        connection.exec(std::string(kCollectionStateSql) +
                            " WHERE c.id IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY c.id FOR SHARE OF c",
                        {ids.dump()}));
    for (Row* row : rows) {
      const auto it = current.find(row->item.collection);
      if (it == current.end()) {
        cache.put(row->item.collection, nullptr);
        written.failed.push_back(unknown_collection(row->item.id, row->item.collection));
        continue;
      }
      if (!row->state->same_as(*it->second)) {
        cache.put(row->item.collection, it->second);
        row->state = it->second;
        build_row(*row);
      }
      send.push_back(row);
    }
  }
  if (mode != LoadMode::kUpsert) {
    // One duplicate fails a whole COPY: find the existing ones first (in any
    // of the collection's partitions).
    std::map<std::string, json> ids_by_collection;
    for (const Row* row : send) {
      ids_by_collection[row->item.collection].push_back(row->item.id);
    }
    std::set<std::pair<std::string, std::string>> existing;
    for (const auto& [collection, ids] : ids_by_collection) {
      const Result found = connection.exec(
          "SELECT id FROM items WHERE collection = $1 AND id IN (SELECT jsonb_array_elements_text($2::jsonb))",
          {collection, ids.dump()});
      for (int row = 0; row < PQntuples(found.get()); ++row) {
        existing.emplace(collection, PQgetvalue(found.get(), row, 0));
      }
    }
    std::erase_if(send, [&](const Row* row) {
      if (!existing.contains({row->item.collection, row->item.id})) {
        return false;
      }
      if (mode == LoadMode::kIgnore) {
        ++written.skipped;
        written.skipped_items.emplace_back(row->item.collection, row->item.id);
      } else {
        written.failed.push_back({row->item.id, row->item.collection,
                                  fmt::format("item '{}' already exists in collection '{}' (load mode insert)",
                                              row->item.id, row->item.collection)});
      }
      return true;
    });
  }
  if (!send.empty()) {
    // Partitions first, as pgstac's staging trigger does: check_partition per
    // (collection, time partition), in that order, with the batch's ranges.
    struct Range {
      std::int64_t lo, hi, end_lo, end_hi;
    };
    std::map<std::pair<std::string_view, std::int32_t>, Range> partitions;
    for (const Row* row : send) {
      const auto dt = row->item.pgstac_datetime;
      const auto edt = row->item.pgstac_end_datetime;
      const auto [it, fresh] = partitions.try_emplace({row->item.collection, row->bucket}, Range{dt, dt, edt, edt});
      if (!fresh) {
        it->second = {std::min(it->second.lo, dt), std::max(it->second.hi, dt), std::min(it->second.end_lo, edt),
                      std::max(it->second.end_hi, edt)};
      }
    }
    // A partition whose constraints already hold the batch's range is left
    // alone (check_partition would return at once). Otherwise check_partition
    // widens them to the union, rebuilding and validating them: a scan of the
    // partition. A load in time order would do that every batch, so the
    // second time in a load the constraints are opened to the partition's
    // whole range instead, and tightened to the data once, after the load.
    std::map<std::pair<std::string_view, std::int32_t>, std::string> leaf;  // -> partition name
    for (const auto& [key, range] : partitions) {
      const std::string collection(key.first);
      const std::string dtrange =
          fmt::format("[{},{}]", format_rfc3339_micros(range.lo), format_rfc3339_micros(range.hi));
      const std::string edtrange =
          fmt::format("[{},{}]", format_rfc3339_micros(range.end_lo), format_rfc3339_micros(range.end_hi));
      const Result held = connection.exec(
          "SELECT ps.partition, m.constraint_dtrange @> $2::tstzrange AND m.constraint_edtrange @> $3::tstzrange "
          "FROM partition_stats ps JOIN LATERAL partition_catalog_meta(ps.partition) m ON TRUE "
          "WHERE ps.collection = $1 AND ps.partition_dtrange @> $2::tstzrange LIMIT 1",
          {collection, dtrange, edtrange});
      if (PQntuples(held.get()) == 1 && std::string_view(PQgetvalue(held.get(), 0, 1)) == "t") {
        leaf[key] = PQgetvalue(held.get(), 0, 0);
        continue;
      }
      PartitionState& state = load_partitions.states[{collection, key.second}];
      std::optional<std::string> name;
      if (state.opened || state.widened_exactly > 0) {
        name = connection.scalar(
            "SELECT check_partition($1, tstzrange(lower(p.partition_range), "
            "upper(p.partition_range) - interval '1 microsecond', '[]'), tstzrange('-infinity', 'infinity', '[]')) "
            "FROM partition_name($1, $2::timestamptz) p",
            {collection, format_rfc3339_micros(range.lo)});
        state.opened = true;
        if (name) {
          load_partitions.opened.insert(*name);
        }
      } else {
        name = connection.scalar("SELECT check_partition($1, $2::tstzrange, $3::tstzrange)",
                                 {collection, dtrange, edtrange});
        ++state.widened_exactly;
      }
      if (!name) {
        throw Error(ErrorCode::kInternal, fmt::format("check_partition returned no partition for '{}'", collection));
      }
      leaf[key] = *name;
    }
    std::vector<std::string_view> data;
    data.reserve(send.size() + 2);
    data.push_back(binary_copy_header());
    for (const Row* row : send) {
      data.push_back(row->tuple);
    }
    data.push_back(binary_copy_trailer());
    constexpr const char* kColumns = "(id, geometry, collection, datetime, end_datetime, content)";
    if (mode == LoadMode::kInsert) {
      // Straight into each leaf partition, as pypgstac does: a COPY into
      // items would also collect every row for its statement trigger, which
      // only records the partition's statistics; that is done here instead.
      std::map<std::string, std::vector<std::string_view>> by_leaf;
      for (const Row* row : send) {
        auto& part = by_leaf[leaf.at({row->item.collection, row->bucket})];
        if (part.empty()) {
          part.push_back(binary_copy_header());
        }
        part.push_back(row->tuple);
      }
      for (auto& [name, part] : by_leaf) {
        part.push_back(binary_copy_trailer());
        connection.copy_in(fmt::format("COPY \"{}\" {} FROM STDIN (FORMAT binary)", name, kColumns), part);
        connection.exec("SELECT update_partition_stats_q($1, true)", {name});
      }
      written.loaded += send.size();
    } else {
      connection.exec("CREATE TEMP TABLE tessera_items_load (LIKE items) ON COMMIT DROP");
      connection.copy_in(fmt::format("COPY tessera_items_load {} FROM STDIN (FORMAT binary)", kColumns), data);
      if (mode == LoadMode::kIgnore) {
        // Rows another writer added since the check above stay and count as skipped.
        const Result inserted = connection.exec(
            "INSERT INTO items SELECT * FROM tessera_items_load ON CONFLICT DO NOTHING "
            "RETURNING collection, id");
        std::set<std::pair<std::string, std::string>> stored;
        for (int row = 0; row < PQntuples(inserted.get()); ++row) {
          stored.emplace(PQgetvalue(inserted.get(), row, 0), PQgetvalue(inserted.get(), row, 1));
        }
        for (const Row* row : send) {
          if (stored.contains({row->item.collection, row->item.id})) {
            ++written.loaded;
          } else {
            ++written.skipped;
            written.skipped_items.emplace_back(row->item.collection, row->item.id);
          }
        }
      } else {
        // pgstac's own upsert (items_staging_upsert): existing rows that
        // differ are locked in a fixed order and deleted, in whichever
        // partition they are, then the new ones inserted.
        connection.exec(
            "WITH locked AS (SELECT o.collection, o.id FROM tessera_items_load s "
            "JOIN items o ON (o.id = s.id AND o.collection = s.collection) WHERE o IS DISTINCT FROM s "
            "ORDER BY o.collection, o.id FOR UPDATE OF o) "
            "DELETE FROM items i USING locked l WHERE i.collection = l.collection AND i.id = l.id");
        connection.exec("INSERT INTO items SELECT * FROM tessera_items_load ON CONFLICT DO NOTHING");
        written.loaded += send.size();
      }
    }
  }
  // Typed queryables, per collection, make pgstac compare and sort numbers as
  // numbers, and list each collection's own properties.
  // One INSERT for all of them: pgstac's statement trigger on queryables then
  // maintains each collection's partition indexes once, not once per
  // property (upsert_queryable is a statement per property, ~70 ms each).
  // Only names no queryable covers yet for the collection are added, so
  // nothing upsert_queryable would replace exists.
  if (!new_queryables.empty()) {
    json entries = json::array();
    for (const auto& [key, schema] : new_queryables) {
      entries.push_back({{"c", key.first}, {"n", key.second}, {"d", schema}});
    }
    connection.exec(
        "INSERT INTO queryables (name, definition, collection_ids) "
        "SELECT e.n, e.d, ARRAY[e.c] FROM jsonb_to_recordset($1::jsonb) AS e(c text, n text, d jsonb) "
        "WHERE NOT EXISTS (SELECT 1 FROM queryables q WHERE q.name = e.n "
        "AND (q.collection_ids IS NULL OR e.c = ANY (q.collection_ids)))",
        {entries.dump()});
  }
  return written;
}

// The outbox events of the rows `written` reports neither failed nor skipped,
// in the transaction that wrote them.
void write_outbox_events(PgConnection& connection, const std::vector<Row*>& rows, const LoadReport& written) {
  std::set<std::pair<std::string_view, std::string_view>> not_written;
  for (const auto& failure : written.failed) {
    not_written.emplace(failure.collection, failure.id);
  }
  for (const auto& [collection, id] : written.skipped_items) {
    not_written.emplace(collection, id);
  }
  json events = json::array();
  for (const Row* row : rows) {
    if (row->item.outbox_events.empty() || not_written.contains({row->item.collection, row->item.id})) {
      continue;
    }
    for (const auto& event : row->item.outbox_events) {
      events.push_back({{"kind", event.kind}, {"subject", event.subject}, {"payload", json::parse(event.payload)}});
    }
  }
  if (!events.empty()) {
    connection.exec(kPgOutboxInsert, {events.dump(), std::to_string(outbox_now_micros())});
  }
}

// (collection, property) -> JSON Schema of the queryables a batch adds.
using NewQueryables = std::map<std::pair<std::string, std::string>, json>;

class PgstacLoad;

// A batch's rows, built on the preparation thread.
class PgstacBatch final : public LoadBatch {
 public:
  PgstacBatch(PgstacLoad& load, std::size_t items) : load_(load) { rows_.reserve(items); }
  std::optional<LoadFailure> add(PreparedItem&& item) override;
  LoadReport write() override;

 private:
  PgstacLoad& load_;
  std::vector<Row> rows_;
};

// One load: the collections and queryables it knows, the partitions whose
// constraints it opened.
class PgstacLoad final : public LoadWriter {
 public:
  PgstacLoad(PgPool& pool, const LoadOptions& options) : pool_(pool), mode_(options.mode), collections_(pool) {
    auto connection = pool_.acquire();
    // The server can compress with lz4 (PostgreSQL 14+ built with it).
    lz4_ = connection
               ->scalar("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)")
               .has_value();
    const Result names = connection->exec(
        "SELECT c.id, q.name FROM queryables q JOIN collections c "
        "ON q.collection_ids IS NULL OR c.id = ANY (q.collection_ids)");
    for (int row = 0; row < PQntuples(names.get()); ++row) {
      known_queryables_.emplace(PQgetvalue(names.get(), row, 0), PQgetvalue(names.get(), row, 1));
    }
    if (options.outbox) {
      with_transaction(pool_, [](PgConnection& outbox) {
        outbox.exec(kPgSchemaLock);
        for (const char* statement : kPgOutboxDdl) {
          outbox.exec(statement);
        }
      });
    }
  }

  std::unique_ptr<LoadBatch> new_batch(std::size_t items) override {
    return std::make_unique<PgstacBatch>(*this, items);
  }

  // Preparation thread: the collection's state, or null when it does not exist.
  std::shared_ptr<const CollectionState> collection(const std::string& id) { return collections_.get(id); }

  // Load thread: writes one batch's rows.
  LoadReport write(std::vector<Row>& rows) {
    // Within a batch, insert keeps the first copy of an id (the others fail),
    // ignore keeps the first (the others are skipped), upsert the last.
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> chosen;
    std::vector<bool> write(rows.size(), false);
    LoadReport report;
    for (std::size_t n = 0; n < rows.size(); ++n) {
      const PreparedItem& item = rows[n].item;
      const auto [it, fresh] =
          chosen.emplace(std::pair<std::string_view, std::string_view>(item.collection, item.id), n);
      if (fresh) {
        write[n] = true;
      } else if (mode_ == LoadMode::kUpsert) {
        write[it->second] = false;
        ++report.loaded;  // replaced by a later copy in the same batch
        it->second = n;
        write[n] = true;
      } else if (mode_ == LoadMode::kIgnore) {
        ++report.skipped;
        report.skipped_items.emplace_back(item.collection, item.id);
      } else {
        report.failed.push_back(
            {item.id, item.collection,
             fmt::format("item '{}' already exists in collection '{}' (load mode insert)", item.id, item.collection)});
      }
    }
    NewQueryables new_queryables;
    std::vector<Row*> to_write;
    for (std::size_t n = 0; n < rows.size(); ++n) {
      if (!write[n]) {
        continue;
      }
      to_write.push_back(&rows[n]);
      for (const auto& [name, type] : rows[n].item.property_types) {
        if (!known_queryables_.contains({rows[n].item.collection, name}) && std::string_view(type) != "null") {
          new_queryables.emplace(std::make_pair(rows[n].item.collection, name), queryable_schema(name, type));
        }
      }
    }
    write_part(to_write, new_queryables, report);
    return report;
  }

  void finish(const LoadReport& /*report*/) override {
    // Partitions whose constraints were opened get them fitted to their data
    // (and their observed ranges recorded), as pypgstac does after each chunk.
    // The items are committed: a failure here is only logged.
    for (const auto& name : partitions_.opened) {
      try {
        with_transaction(pool_, [&](PgConnection& connection) {
          connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera-load'))");
          connection.exec("SELECT update_partition_stats_q($1)", {name});
        });
      } catch (const Error& error) {
        log(LogLevel::kWarning,
            fmt::format("pgstac partition {}: statistics not updated ({}); run update_partition_stats", name,
                        error.what()));
      }
    }
  }

 private:
  // Writes `part` in one transaction. A part the server refuses is split
  // until the items it refuses are alone, so one bad item never costs the
  // good ones of its batch.
  void write_part(const std::vector<Row*>& part, const NewQueryables& new_queryables, LoadReport& report) {
    if (part.empty()) {
      return;
    }
    try {
      LoadReport written;
      with_transaction(pool_, [&](PgConnection& connection) {
        written = write_rows(connection, part, mode_, collections_, new_queryables, partitions_, lz4_);
        write_outbox_events(connection, part, written);
      });
      report.merge(written);
      for (const auto& [key, schema] : new_queryables) {
        known_queryables_.insert(key);
      }
    } catch (const Error& error) {
      // Only what an item can cause (bad data, a duplicate) is worth a split.
      const bool item_error = error.code() == ErrorCode::kInvalidInput || error.code() == ErrorCode::kConflict;
      if (!item_error || part.size() == 1) {
        const char* what = part.size() == 1 ? "not written" : "batch not written";
        for (const Row* row : part) {
          report.failed.push_back({row->item.id, row->item.collection,
                                   fmt::format("item '{}': {}: {}", row->item.id, what, error.what()),
                                   error.retryable()});
        }
        return;
      }
      const auto half = part.begin() + static_cast<std::ptrdiff_t>(part.size() / 2);
      write_part(std::vector<Row*>(part.begin(), half), new_queryables, report);
      write_part(std::vector<Row*>(half, part.end()), new_queryables, report);
    }
  }

  PgPool& pool_;
  LoadMode mode_;
  // Read once, shared by the load's two threads.
  CollectionCache collections_;
  std::set<std::pair<std::string, std::string>> known_queryables_;  // (collection, property)
  bool lz4_ = false;
  LoadPartitions partitions_;
};

std::optional<LoadFailure> PgstacBatch::add(PreparedItem&& item) {
  auto state = load_.collection(item.collection);
  if (!state) {
    return unknown_collection(item.id, item.collection);
  }
  Row row;
  row.item = std::move(item);
  row.state = std::move(state);
  try {
    build_row(row);
  } catch (const Error&) {
    item = std::move(row.item);  // the pipeline names the failure by it
    throw;
  }
  rows_.push_back(std::move(row));
  return std::nullopt;
}

LoadReport PgstacBatch::write() { return load_.write(rows_); }

}  // namespace

std::unique_ptr<LoadWriter> PgstacCatalog::load_writer(const LoadOptions& options) {
  return std::make_unique<PgstacLoad>(*pool_, options);
}

}  // namespace tessera::catalog::pgstac
