#pragma once

// The catalog's outbox: events written by a load in the transaction of the
// item they are about (LoadOptions::outbox), claimed and acknowledged by
// their consumers (the matching module). One table per backend: in the
// SQLite file, and in tessera's own schema next to pgstac's (pgstac's schema
// is never altered).

#include <array>
#include <chrono>
#include <cstdint>

namespace tessera::catalog {

// Microseconds since the epoch on this machine's clock: event times and
// leases are compared with it.
inline std::int64_t outbox_now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An event can be claimed from visible_us on; a claim moves visible_us past
// its lease, an acknowledgement sets acked_us.
inline constexpr const char* kSqliteOutboxDdl = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  visible_us INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  acked_us INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (visible_us) WHERE acked_us IS NULL;
)sql";

inline constexpr const char* kSqliteOutboxInsert =
    "INSERT INTO outbox (kind, subject, payload, created_us, visible_us) VALUES (?, ?, ?, ?, ?)";

// One statement each: libpq's parameterised calls take one at a time.
inline constexpr std::array<const char*, 3> kPgOutboxDdl = {
    "CREATE SCHEMA IF NOT EXISTS tessera",
    "CREATE TABLE IF NOT EXISTS tessera.outbox (id bigserial PRIMARY KEY, kind text NOT NULL, subject text NOT NULL, "
    "payload jsonb NOT NULL, created_us bigint NOT NULL, visible_us bigint NOT NULL, deliveries integer NOT NULL "
    "DEFAULT 0, acked_us bigint)",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON tessera.outbox (visible_us) WHERE acked_us IS NULL"};

// $1: a JSON array of {"kind", "subject", "payload"}; $2: the time.
inline constexpr const char* kPgOutboxInsert =
    "INSERT INTO tessera.outbox (kind, subject, payload, created_us, visible_us) "
    "SELECT e.kind, e.subject, e.payload, $2::bigint, $2::bigint "
    "FROM jsonb_to_recordset($1::jsonb) AS e(kind text, subject text, payload jsonb)";

// DDL runs under this lock: CREATE ... IF NOT EXISTS races with itself.
inline constexpr const char* kPgSchemaLock = "SELECT pg_advisory_xact_lock(hashtext('tessera-schema'))";

}  // namespace tessera::catalog
