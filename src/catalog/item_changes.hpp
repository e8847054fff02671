#pragma once

// The catalog's item change events (Catalog::item_changes): one row per
// insert, replace or delete of an item, written by a trigger in the
// transaction of the change. Internal header.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "tessera/catalog.hpp"

namespace tessera::catalog {

// The most changes one item_changes call returns.
inline constexpr std::size_t kMaxItemChangesPage = 10000;

// InvalidInput unless 1 <= limit <= kMaxItemChangesPage.
void check_item_changes_limit(std::size_t limit);

// A bbox from four nullable numbers (nullopt when any is missing).
std::optional<Bbox> item_change_bbox(std::optional<double> minx, std::optional<double> miny, std::optional<double> maxx,
                                     std::optional<double> maxy);

// SQLite: the table and one trigger per operation on `items`. The time is
// the statement's (julianday('now') is fixed for a statement), in
// microseconds since the epoch.
inline constexpr const char* kSqliteItemChangesDdl = R"sql(
CREATE TABLE IF NOT EXISTS item_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT NOT NULL,
  item_id TEXT NOT NULL,
  operation TEXT NOT NULL,  -- insert | replace | delete
  old_minx REAL, old_miny REAL, old_maxx REAL, old_maxy REAL,
  new_minx REAL, new_miny REAL, new_maxx REAL, new_maxy REAL,
  created_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS item_changes_created ON item_changes (created_us);
CREATE TRIGGER IF NOT EXISTS items_change_insert AFTER INSERT ON items BEGIN
  INSERT INTO item_changes (collection, item_id, operation, new_minx, new_miny, new_maxx, new_maxy, created_us)
  VALUES (NEW.collection, NEW.id, 'insert', NEW.minx, NEW.miny, NEW.maxx, NEW.maxy,
          CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;
CREATE TRIGGER IF NOT EXISTS items_change_replace AFTER UPDATE ON items BEGIN
  INSERT INTO item_changes (collection, item_id, operation, old_minx, old_miny, old_maxx, old_maxy,
                            new_minx, new_miny, new_maxx, new_maxy, created_us)
  VALUES (NEW.collection, NEW.id, 'replace', OLD.minx, OLD.miny, OLD.maxx, OLD.maxy,
          NEW.minx, NEW.miny, NEW.maxx, NEW.maxy, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;
CREATE TRIGGER IF NOT EXISTS items_change_delete AFTER DELETE ON items BEGIN
  INSERT INTO item_changes (collection, item_id, operation, old_minx, old_miny, old_maxx, old_maxy, created_us)
  VALUES (OLD.collection, OLD.id, 'delete', OLD.minx, OLD.miny, OLD.maxx, OLD.maxy,
          CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;
)sql";

inline constexpr const char* kSqliteItemChangesSelect =
    "SELECT id, collection, item_id, operation, old_minx, old_miny, old_maxx, old_maxy, new_minx, new_miny, "
    "new_maxx, new_maxy, created_us FROM item_changes WHERE id > ? ORDER BY id LIMIT ?";

// PgSTAC: tessera's table and a row trigger on pgstac's partitioned items
// table (PostgreSQL clones it onto every partition, also those made later,
// so COPY straight into a partition is recorded too). The bboxes are the
// geometry's envelope. pgstac upserts by deleting and inserting: a
// replacement made that way is a delete and an insert.
inline constexpr const char* kPgItemChangesTrigger = "tessera_item_changes";
inline constexpr std::array<const char*, 4> kPgItemChangesDdl = {
    "CREATE SCHEMA IF NOT EXISTS tessera",
    "CREATE TABLE IF NOT EXISTS tessera.item_changes (id bigserial PRIMARY KEY, collection text NOT NULL, "
    "item_id text NOT NULL, operation text NOT NULL, old_bbox float8[], new_bbox float8[], created_us bigint NOT "
    "NULL)",
    "CREATE INDEX IF NOT EXISTS item_changes_created ON tessera.item_changes (created_us)",
    R"sql(CREATE OR REPLACE FUNCTION tessera.record_item_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  now_us bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO tessera.item_changes (collection, item_id, operation, new_bbox, created_us)
    VALUES (NEW.collection, NEW.id, 'insert', ARRAY[ST_XMin(NEW.geometry), ST_YMin(NEW.geometry),
            ST_XMax(NEW.geometry), ST_YMax(NEW.geometry)], now_us);
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO tessera.item_changes (collection, item_id, operation, old_bbox, new_bbox, created_us)
    VALUES (NEW.collection, NEW.id, 'replace', ARRAY[ST_XMin(OLD.geometry), ST_YMin(OLD.geometry),
            ST_XMax(OLD.geometry), ST_YMax(OLD.geometry)], ARRAY[ST_XMin(NEW.geometry), ST_YMin(NEW.geometry),
            ST_XMax(NEW.geometry), ST_YMax(NEW.geometry)], now_us);
  ELSE
    INSERT INTO tessera.item_changes (collection, item_id, operation, old_bbox, created_us)
    VALUES (OLD.collection, OLD.id, 'delete', ARRAY[ST_XMin(OLD.geometry), ST_YMin(OLD.geometry),
            ST_XMax(OLD.geometry), ST_YMax(OLD.geometry)], now_us);
  END IF;
  RETURN NULL;
END $$)sql"};
inline constexpr const char* kPgItemChangesCreateTrigger =
    "CREATE TRIGGER tessera_item_changes AFTER INSERT OR UPDATE OR DELETE ON pgstac.items FOR EACH ROW EXECUTE "
    "FUNCTION tessera.record_item_change()";

inline constexpr const char* kPgItemChangesSelect =
    "SELECT id, collection, item_id, operation, old_bbox[1], old_bbox[2], old_bbox[3], old_bbox[4], new_bbox[1], "
    "new_bbox[2], new_bbox[3], new_bbox[4], created_us FROM tessera.item_changes WHERE id > $1 ORDER BY id LIMIT $2";

}  // namespace tessera::catalog
