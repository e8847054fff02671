#include "ingest/source_records.hpp"

#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/database.hpp"
#include "catalog/outbox_schema.hpp"
#include "tessera/error.hpp"

namespace tessera::ingestion {

using nlohmann::json;

namespace {

// The version of the ingest_sources table this code reads and writes. A
// database written by a newer tessera (a higher version) is refused rather
// than misread; older versions are upgraded. Version 2 added `checksums`.
constexpr int kSchemaVersion = 2;
constexpr const char* kComponent = "ingest_sources";

void check_version(std::optional<std::int64_t> stored) {
  if (stored && *stored > kSchemaVersion) {
    throw Error(ErrorCode::kUnsupported,
                fmt::format("the catalog's ingest source records are schema version {}, newer than this tessera's "
                            "({}): upgrade tessera",
                            *stored, kSchemaVersion));
  }
}

// Where a keyset page starts: after this (source, collection, item_id), or
// at it for the first page.
struct PageStart {
  std::string source;
  std::string collection;
  std::string item_id;
  bool first = true;
};

// SourceRecords::scan over keyset pages: `page_at` reads the (at most `page`)
// records from a start on, each page is visited with no connection held,
// until a short page.
void scan_pages(const std::string& prefix, std::size_t page,
                const std::function<std::vector<SourceRecord>(const PageStart&)>& page_at,
                const std::function<void(const std::vector<SourceRecord>&)>& visit) {
  PageStart start{prefix, "", "", true};
  while (true) {
    const std::vector<SourceRecord> records = page_at(start);
    if (records.empty()) {
      return;
    }
    start = {records.back().source, records.back().collection, records.back().item_id, false};
    visit(records);
    if (records.size() < page) {
      return;
    }
  }
}

// --- SQLite -------------------------------------------------------------------

using catalog::sqlite::Connection;
using catalog::sqlite::ConnectionPool;
using catalog::sqlite::Statement;
using catalog::sqlite::WriteTransaction;

constexpr const char* kSqliteSchema = R"sql(
CREATE TABLE IF NOT EXISTS tessera_schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ingest_sources (
  collection TEXT NOT NULL, item_id TEXT NOT NULL, source TEXT NOT NULL, etag TEXT NOT NULL,
  sequencer TEXT NOT NULL, updated TEXT NOT NULL, size INTEGER NOT NULL, modified_ms INTEGER NOT NULL,
  loaded_us INTEGER NOT NULL, removed INTEGER NOT NULL, seen TEXT NOT NULL DEFAULT '',
  checksums TEXT NOT NULL DEFAULT '', PRIMARY KEY (collection, item_id));
CREATE INDEX IF NOT EXISTS ingest_sources_source ON ingest_sources (source);
)sql";

constexpr const char* kColumns =
    "collection, item_id, source, etag, sequencer, updated, size, modified_ms, loaded_us, removed, checksums";

SourceRecord sqlite_record(const Statement& row) {
  SourceRecord record;
  record.collection = row.text(0);
  record.item_id = row.text(1);
  record.source = row.text(2);
  record.etag = row.text(3);
  record.sequencer = row.text(4);
  record.updated = row.text(5);
  record.size = row.int64(6);
  record.modified_ms = row.int64(7);
  record.loaded_us = row.int64(8);
  record.removed = row.int64(9) != 0;
  record.checksums = row.text(10);
  return record;
}

class SqliteRecords final : public SourceRecords {
 public:
  explicit SqliteRecords(ConnectionPool& pool) : pool_(pool) {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    connection->exec(kSqliteSchema);
    auto& version = connection->cached("SELECT version FROM tessera_schema_versions WHERE component = ?");
    version.bind(1, kComponent);
    const auto stored = version.step() ? std::optional<std::int64_t>(version.int64(0)) : std::nullopt;
    version.reset();
    check_version(stored);
    if (stored && *stored < 2) {
      connection->exec("ALTER TABLE ingest_sources ADD COLUMN checksums TEXT NOT NULL DEFAULT ''");
    }
    connection->cached("INSERT OR REPLACE INTO tessera_schema_versions (component, version) VALUES (?, ?)")
        .bind(1, kComponent)
        .bind(2, std::int64_t{kSchemaVersion})
        .run();
    transaction.commit();
  }

  std::map<ItemKey, SourceRecord> find(const std::vector<ItemKey>& items) override {
    std::map<ItemKey, SourceRecord> found;
    auto connection = pool_.acquire();
    auto& query =
        connection->cached(fmt::format("SELECT {} FROM ingest_sources WHERE collection = ? AND item_id = ?", kColumns));
    for (const auto& item : items) {
      query.bind(1, item.first).bind(2, item.second);
      if (query.step()) {
        found[item] = sqlite_record(query);
      }
      query.reset();
    }
    return found;
  }

  void store(const std::vector<SourceRecord>& records) override {
    if (records.empty()) {
      return;
    }
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& insert = connection->cached(
        fmt::format("INSERT INTO ingest_sources ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                    "(collection, item_id) DO UPDATE SET source = excluded.source, etag = excluded.etag, sequencer = "
                    "excluded.sequencer, updated = excluded.updated, size = excluded.size, modified_ms = "
                    "excluded.modified_ms, loaded_us = excluded.loaded_us, removed = excluded.removed, checksums = "
                    "excluded.checksums",
                    kColumns));
    for (const auto& record : records) {
      insert.bind(1, record.collection)
          .bind(2, record.item_id)
          .bind(3, record.source)
          .bind(4, record.etag)
          .bind(5, record.sequencer)
          .bind(6, record.updated)
          .bind(7, record.size)
          .bind(8, record.modified_ms)
          .bind(9, record.loaded_us)
          .bind(10, std::int64_t{record.removed ? 1 : 0})
          .bind(11, record.checksums)
          .run();
      insert.reset();
    }
    transaction.commit();
  }

  std::vector<SourceRecord> from_source(const std::string& source) override {
    std::vector<SourceRecord> records;
    auto connection = pool_.acquire();
    auto& query = connection->cached(fmt::format(
        "SELECT {} FROM ingest_sources WHERE source = ? AND removed = 0 ORDER BY collection, item_id", kColumns));
    query.bind(1, source);
    while (query.step()) {
      records.push_back(sqlite_record(query));
    }
    query.reset();
    return records;
  }

  void forget(const std::vector<ItemKey>& items) override {
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& remove = connection->cached("DELETE FROM ingest_sources WHERE collection = ? AND item_id = ?");
    for (const auto& item : items) {
      remove.bind(1, item.first).bind(2, item.second).run();
      remove.reset();
    }
    transaction.commit();
  }

  std::vector<SourceRecord> claim(const std::vector<std::string>& sources, const std::string& token) override {
    std::vector<SourceRecord> records;
    auto connection = pool_.acquire();
    WriteTransaction transaction(*connection);
    auto& mark = connection->cached(
        fmt::format("UPDATE ingest_sources SET seen = ? WHERE source = ? AND removed = 0 RETURNING {}", kColumns));
    for (const auto& source : sources) {
      mark.bind(1, token).bind(2, source);
      while (mark.step()) {
        records.push_back(sqlite_record(mark));
      }
      mark.reset();
    }
    transaction.commit();
    return records;
  }

  void scan(const std::string& prefix, const std::string& token, std::size_t page,
            const std::function<void(const std::vector<SourceRecord>&)>& visit) override {
    scan_pages(
        prefix, page,
        [&](const PageStart& after) {
          std::vector<SourceRecord> records;
          auto connection = pool_.acquire();
          auto& query = connection->cached(fmt::format(
              "SELECT {} FROM ingest_sources WHERE removed = 0 AND seen != ?6 AND substr(source, 1, length(?1)) = ?1 "
              "AND (source, collection, item_id) {} (?2, ?3, ?4) ORDER BY source, collection, item_id LIMIT ?5",
              kColumns, after.first ? ">=" : ">"));
          query.bind(1, prefix)
              .bind(2, after.source)
              .bind(3, after.collection)
              .bind(4, after.item_id)
              .bind(5, static_cast<std::int64_t>(page))
              .bind(6, token);
          while (query.step()) {
            records.push_back(sqlite_record(query));
          }
          query.reset();
          return records;
        },
        visit);
  }

 private:
  ConnectionPool& pool_;
};

// --- PostgreSQL (pgstac's database, tessera's schema) ----------------------------------------

using catalog::pgstac::PgConnection;
using catalog::pgstac::PgPool;
using catalog::pgstac::Result;
using catalog::pgstac::with_transaction;

constexpr std::array<const char*, 3> kPgSchema = {
    "CREATE TABLE IF NOT EXISTS tessera.schema_versions (component text PRIMARY KEY, version integer NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tessera.ingest_sources (collection text NOT NULL, item_id text NOT NULL, source text "
    "NOT NULL, etag text NOT NULL, sequencer text NOT NULL, updated text NOT NULL, size bigint NOT NULL, "
    "modified_ms bigint NOT NULL, loaded_us bigint NOT NULL, removed boolean NOT NULL, seen text NOT NULL DEFAULT "
    "'', checksums text NOT NULL DEFAULT '', PRIMARY KEY (collection, item_id))",
    "CREATE INDEX IF NOT EXISTS ingest_sources_source ON tessera.ingest_sources (source text_pattern_ops)"};

std::vector<SourceRecord> pg_records(const Result& result) {
  std::vector<SourceRecord> records;
  const int rows = PQntuples(result.get());
  for (int row = 0; row < rows; ++row) {
    const auto text = [&](int column) { return std::string(PQgetvalue(result.get(), row, column)); };
    SourceRecord record;
    record.collection = text(0);
    record.item_id = text(1);
    record.source = text(2);
    record.etag = text(3);
    record.sequencer = text(4);
    record.updated = text(5);
    record.size = std::stoll(text(6));
    record.modified_ms = std::stoll(text(7));
    record.loaded_us = std::stoll(text(8));
    record.removed = text(9) == "t";
    record.checksums = text(10);
    records.push_back(std::move(record));
  }
  return records;
}

json keys_json(const std::vector<ItemKey>& items) {
  json list = json::array();
  for (const auto& item : items) {
    list.push_back({{"c", item.first}, {"i", item.second}});
  }
  return list;
}

class PgRecords final : public SourceRecords {
 public:
  explicit PgRecords(PgPool& pool) : pool_(pool) {
    with_transaction(pool_, [](PgConnection& connection) {
      connection.exec(catalog::kPgSchemaLock);
      connection.exec("CREATE SCHEMA IF NOT EXISTS tessera");
      for (const char* statement : kPgSchema) {
        connection.exec(statement);
      }
      const auto stored =
          connection.scalar("SELECT version FROM tessera.schema_versions WHERE component = $1", {kComponent});
      const auto version = stored ? std::optional<std::int64_t>(std::stoll(*stored)) : std::nullopt;
      check_version(version);
      if (version && *version < 2) {
        connection.exec(
            "ALTER TABLE tessera.ingest_sources ADD COLUMN IF NOT EXISTS checksums text NOT NULL DEFAULT ''");
      }
      connection.exec(
          "INSERT INTO tessera.schema_versions (component, version) VALUES ($1, $2) ON CONFLICT (component) DO "
          "UPDATE SET version = excluded.version",
          {kComponent, std::to_string(kSchemaVersion)});
    });
  }

  std::map<ItemKey, SourceRecord> find(const std::vector<ItemKey>& items) override {
    std::map<ItemKey, SourceRecord> found;
    if (items.empty()) {
      return found;
    }
    auto connection = pool_.acquire();
    const Result result = connection->exec(
        fmt::format("SELECT s.collection, s.item_id, s.source, s.etag, s.sequencer, s.updated, s.size, s.modified_ms, "
                    "s.loaded_us, s.removed, s.checksums FROM jsonb_to_recordset($1::jsonb) AS k(c text, i text) JOIN "
                    "tessera.ingest_sources s ON s.collection = k.c AND s.item_id = k.i"),
        {keys_json(items).dump()});
    for (auto& record : pg_records(result)) {
      ItemKey key{record.collection, record.item_id};
      found.emplace(std::move(key), std::move(record));
    }
    return found;
  }

  void store(const std::vector<SourceRecord>& records) override {
    if (records.empty()) {
      return;
    }
    json rows = json::array();
    for (const auto& record : records) {
      rows.push_back({{"collection", record.collection},
                      {"item_id", record.item_id},
                      {"source", record.source},
                      {"etag", record.etag},
                      {"sequencer", record.sequencer},
                      {"updated", record.updated},
                      {"size", record.size},
                      {"modified_ms", record.modified_ms},
                      {"loaded_us", record.loaded_us},
                      {"removed", record.removed},
                      {"checksums", record.checksums}});
    }
    with_transaction(pool_, [&](PgConnection& connection) {
      // Rows in a stable order: concurrent loaders lock them in the same order, so never deadlock.
      connection.exec(
          fmt::format("INSERT INTO tessera.ingest_sources ({0}) SELECT {0} FROM jsonb_to_recordset($1::jsonb) AS "
                      "r(collection text, item_id text, source text, etag text, sequencer text, updated text, size "
                      "bigint, modified_ms bigint, loaded_us bigint, removed boolean, checksums text) ORDER BY "
                      "collection, item_id "
                      "ON CONFLICT (collection, item_id) DO UPDATE SET source = excluded.source, etag = "
                      "excluded.etag, sequencer = excluded.sequencer, updated = excluded.updated, size = "
                      "excluded.size, modified_ms = excluded.modified_ms, loaded_us = excluded.loaded_us, removed = "
                      "excluded.removed, checksums = excluded.checksums",
                      kColumns),
          {rows.dump()});
    });
  }

  std::vector<SourceRecord> from_source(const std::string& source) override {
    auto connection = pool_.acquire();
    return pg_records(connection->exec(
        fmt::format("SELECT {} FROM tessera.ingest_sources WHERE source = $1 AND NOT removed ORDER BY collection, "
                    "item_id",
                    kColumns),
        {source}));
  }

  void forget(const std::vector<ItemKey>& items) override {
    if (items.empty()) {
      return;
    }
    with_transaction(pool_, [&](PgConnection& connection) {
      connection.exec(
          "DELETE FROM tessera.ingest_sources s USING jsonb_to_recordset($1::jsonb) AS k(c text, i text) WHERE "
          "s.collection = k.c AND s.item_id = k.i",
          {keys_json(items).dump()});
    });
  }

  std::vector<SourceRecord> claim(const std::vector<std::string>& sources, const std::string& token) override {
    if (sources.empty()) {
      return {};
    }
    std::vector<SourceRecord> records;
    with_transaction(pool_, [&](PgConnection& connection) {
      records = pg_records(connection.exec(
          fmt::format("UPDATE tessera.ingest_sources SET seen = $2 WHERE source = ANY(SELECT jsonb_array_elements_text("
                      "$1::jsonb)) AND NOT removed RETURNING {}",
                      kColumns),
          {json(sources).dump(), token}));
    });
    return records;
  }

  void scan(const std::string& prefix, const std::string& token, std::size_t page,
            const std::function<void(const std::vector<SourceRecord>&)>& visit) override {
    scan_pages(
        prefix, page,
        [&](const PageStart& after) {
          auto connection = pool_.acquire();
          return pg_records(connection->exec(
              fmt::format("SELECT {} FROM tessera.ingest_sources WHERE NOT removed AND seen <> $6 AND "
                          "left(source, length($1)) = $1 AND (source, collection, item_id) {} ($2, $3, $4) ORDER BY "
                          "source, collection, item_id LIMIT $5",
                          kColumns, after.first ? ">=" : ">"),
              {prefix, after.source, after.collection, after.item_id, std::to_string(page), token}));
        },
        visit);
  }

 private:
  PgPool& pool_;
};

}  // namespace

std::unique_ptr<SourceRecords> SourceRecords::open(Catalog& catalog) {
  const catalog::Database* database = catalog.database();
  if (database == nullptr) {
    return nullptr;
  }
  if (database->sqlite != nullptr) {
    return std::make_unique<SqliteRecords>(*database->sqlite);
  }
  return std::make_unique<PgRecords>(*database->postgres);
}

}  // namespace tessera::ingestion
