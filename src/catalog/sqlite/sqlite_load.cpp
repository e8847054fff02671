// The SQLite backend's half of the load pipeline (catalog/load_pipeline.hpp):
// items are compressed on the preparation thread, and each batch is written
// in one transaction on the load thread's connection.

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "catalog/load_pipeline.hpp"
#include "catalog/outbox_schema.hpp"
#include "catalog/sqlite/item_codec.hpp"
#include "catalog/sqlite/sqlite_catalog.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::catalog::sqlite {

namespace {

// Page cache of the loading connection (KiB): index pages of a large
// catalog outgrow the default cache and turn every insert into random reads.
constexpr int kLoadCacheKib = 512 * 1024;

// WAL pages after which the loading connection checkpoints (SQLite's default
// is 1,000). Every batch rewrites index pages all over the (collection, id)
// and id indexes and the R*Tree (ids do not arrive in order), and each commit
// appends every page it dirtied to the WAL; a checkpoint copies each page
// once however many commits rewrote it, so a larger WAL (up to 1 GiB with
// 16 KiB pages) saves most of the database-file writes of a large load.
constexpr int kLoadCheckpointPages = 65536;

// Loads of at least this many items refresh the query planner's statistics.
constexpr std::size_t kAnalyzeAfterItems = 10000;

constexpr const char* kInsertItem =
    "INSERT INTO items (collection, id, datetime, end_datetime, minx, miny, maxx, maxy, geometry, content) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertItemIgnoring =
    "INSERT INTO items (collection, id, datetime, end_datetime, minx, miny, maxx, maxy, geometry, content) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO NOTHING";
constexpr const char* kReplaceItem =
    "UPDATE items SET collection = ?1, id = ?2, datetime = ?3, end_datetime = ?4, minx = ?5, miny = ?6, maxx = ?7, "
    "maxy = ?8, geometry = ?9, content = ?10 WHERE collection = ?1 AND id = ?2 RETURNING rowid";

// Binds an item to the ten parameters the insert and replace statements share.
// The prepared item outlives the statement step: bound without copying.
void bind_item(Statement& statement, const PreparedItem& item) {
  statement.bind_static(1, item.collection).bind_static(2, item.id).bind(3, item.datetime).bind(4, item.end_datetime);
  if (item.bbox) {
    statement.bind(5, item.bbox->minx).bind(6, item.bbox->miny).bind(7, item.bbox->maxx).bind(8, item.bbox->maxy);
    statement.bind_blob_static(9, item.geometry_wkb);
  } else {
    for (int column = 5; column <= 9; ++column) {
      statement.bind_null(column);
    }
  }
  statement.bind_blob_static(10, item.content);
}

// (collection, property, JSON Schema type) triples for the queryables table.
using PropertyTypes = std::set<std::tuple<std::string, std::string, std::string>>;

// Writes one batch in one transaction (items and the queryables they add);
// any failure rolls back and reports the whole batch.
LoadReport write_items(Connection& connection, const std::vector<const PreparedItem*>& batch,
                       const PropertyTypes& properties, LoadMode mode) {
  LoadReport report;
  try {
    WriteTransaction transaction(connection);
    // Plain inserts (no RETURNING, which costs SQLite a result buffer per
    // row): the new rowid comes from sqlite3_last_insert_rowid, and an upsert
    // replaces in place only when the insert meets an existing item.
    auto& insert = connection.cached(mode == LoadMode::kIgnore ? kInsertItemIgnoring : kInsertItem);
    auto& replace = connection.cached(kReplaceItem);
    auto& index =
        connection.cached("INSERT OR REPLACE INTO items_rtree (id, minx, maxx, miny, maxy) VALUES (?, ?, ?, ?, ?)");
    auto& unindex = connection.cached("DELETE FROM items_rtree WHERE id = ?");
    auto& queryable = connection.cached("INSERT OR IGNORE INTO queryables (collection, name, type) VALUES (?, ?, ?)");
    const std::int64_t now = outbox_now_micros();
    for (const PreparedItem* item : batch) {
      insert.reset();
      bind_item(insert, *item);
      std::int64_t rowid = 0;
      try {
        insert.run();
        if (connection.changes() == 0) {
          ++report.skipped;  // ignore mode kept the existing item
          report.skipped_items.emplace_back(item->collection, item->id);
          continue;
        }
        rowid = sqlite3_last_insert_rowid(connection.get());
      } catch (const Error& error) {
        if (error.code() != ErrorCode::kConflict) {
          throw;
        }
        if (mode != LoadMode::kUpsert) {
          report.failed.push_back({item->id, item->collection,
                                   fmt::format("item '{}' already exists in collection '{}' (load mode insert)",
                                               item->id, item->collection)});
          continue;
        }
        replace.reset();
        bind_item(replace, *item);
        replace.step();
        rowid = replace.int64(0);
        replace.reset();
      }
      if (item->bbox) {
        // Items crossing the antimeridian cover the whole longitude range in
        // the index; the exact test sorts them out.
        const bool crosses = item->bbox->crosses_antimeridian();
        index.reset();
        index.bind(1, rowid)
            .bind(2, crosses ? -180.0 : item->bbox->minx)
            .bind(3, crosses ? 180.0 : item->bbox->maxx)
            .bind(4, item->bbox->miny)
            .bind(5, item->bbox->maxy)
            .run();
      } else if (mode == LoadMode::kUpsert) {
        unindex.reset();
        unindex.bind(1, rowid).run();
      }
      write_item_text(connection, rowid, item->searchable_text);
      for (const auto& event : item->outbox_events) {
        auto& enqueue = connection.cached(kSqliteOutboxInsert);
        enqueue.bind(1, event.kind).bind(2, event.subject).bind(3, event.payload).bind(4, now).bind(5, now).run();
      }
      ++report.loaded;
    }
    for (const auto& [collection, name, type] : properties) {
      queryable.reset();
      queryable.bind(1, collection).bind(2, name).bind(3, type).run();
    }
    transaction.commit();
  } catch (const Error& error) {
    // The batch rolled back as a whole: every item in it is reported, none lost silently.
    report = LoadReport{};
    for (const PreparedItem* item : batch) {
      report.failed.push_back(
          {item->id, item->collection, fmt::format("batch not written: {}", error.what()), error.retryable()});
    }
  }
  return report;
}

class SqliteLoad;

// A batch's items, compressed, and the property types they bring.
class SqliteBatch final : public LoadBatch {
 public:
  SqliteBatch(SqliteLoad& load, std::size_t items) : load_(load) { items_.reserve(items); }

  [[nodiscard]] const std::unordered_set<std::uint64_t>* known_signatures() const override { return &signatures_; }

  std::optional<LoadFailure> add(PreparedItem&& item) override {
    item.content = compress_item(item.content);
    // Each batch gathers its own queryables, so they commit with its items.
    if (signatures_.insert(item.property_signature).second) {
      for (const auto& [name, type] : item.property_types) {
        properties_.emplace(item.collection, name, type);
      }
    }
    items_.push_back(std::move(item));
    return std::nullopt;
  }

  LoadReport write() override;

 private:
  SqliteLoad& load_;
  std::vector<PreparedItem> items_;
  std::unordered_set<std::uint64_t> signatures_;
  PropertyTypes properties_;
};

// One load on one connection, held for the whole load.
class SqliteLoad final : public LoadWriter {
 public:
  SqliteLoad(ConnectionPool& pool, const LoadOptions& options) : connection_(pool.acquire()), mode_(options.mode) {
    refresh_collections();
    if (options.outbox) {
      connection_->exec(kSqliteOutboxDdl);
    }
    connection_->exec(
        fmt::format("PRAGMA cache_size=-{}; PRAGMA wal_autocheckpoint={}", kLoadCacheKib, kLoadCheckpointPages));
  }
  SqliteLoad(const SqliteLoad&) = delete;
  SqliteLoad& operator=(const SqliteLoad&) = delete;
  // The connection goes back to the pool with its usual cache and checkpoint
  // interval, also after a load that threw.
  ~SqliteLoad() override {
    sqlite3_exec(connection_->get(), kDefaultReadPragmas, nullptr, nullptr, nullptr);
    sqlite3_exec(connection_->get(), "PRAGMA wal_autocheckpoint=1000", nullptr, nullptr, nullptr);
  }

  std::unique_ptr<LoadBatch> new_batch(std::size_t items) override {
    return std::make_unique<SqliteBatch>(*this, items);
  }

  // Items of collections the catalog lacks fail; the others are written.
  LoadReport write(const std::vector<PreparedItem>& items, const PropertyTypes& properties) {
    LoadReport report;
    std::vector<const PreparedItem*> accepted;
    accepted.reserve(items.size());
    for (const auto& item : items) {
      if (!known_collections_.contains(item.collection)) {
        refresh_collections();  // created since the load began?
      }
      if (known_collections_.contains(item.collection)) {
        accepted.push_back(&item);
      } else {
        report.failed.push_back(unknown_collection(item.id, item.collection));
      }
    }
    report.merge(write_items(*connection_, accepted, properties, mode_));
    return report;
  }

  void finish(const LoadReport& report) override {
    // Fresh statistics keep the planner choosing the right index once the
    // catalog has grown; bounded so it costs milliseconds, not a scan.
    if (report.loaded >= kAnalyzeAfterItems) {
      connection_->exec("PRAGMA analysis_limit=1000; ANALYZE");
    }
    // What the load left in the WAL goes to the database now, as part of the
    // load, not in the next writer's commit. PASSIVE: never waits for readers.
    // The items are committed either way: a checkpoint that fails (a full
    // disk) leaves them in the WAL, where readers find them and the next
    // checkpoint takes them, so it fails nothing.
    try {
      connection_->exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (const Error& error) {
      log(LogLevel::kWarning, fmt::format("catalog load: WAL checkpoint deferred ({})", error.what()));
    }
  }

 private:
  void refresh_collections() {
    auto& select = connection_->cached("SELECT id FROM collections");
    while (select.step()) {
      known_collections_.emplace(select.text(0));
    }
  }

  ConnectionPool::Lease connection_;
  LoadMode mode_;
  std::set<std::string, std::less<>> known_collections_;
};

LoadReport SqliteBatch::write() { return load_.write(items_, properties_); }

}  // namespace

std::unique_ptr<LoadWriter> SqliteCatalog::load_writer(const LoadOptions& options) {
  return std::make_unique<SqliteLoad>(*pool_, options);
}

}  // namespace tessera::catalog::sqlite
