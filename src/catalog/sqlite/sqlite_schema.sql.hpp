#pragma once

// The SQLite catalog schema. `PRAGMA user_version` records its version.
namespace tessera::catalog::sqlite {

inline constexpr int kSchemaVersion = 4;  // 2: searches; 3: free-text indexes; 4: item changes (item_changes.hpp)

// The schema version that added the free-text indexes: a catalog older than
// it has them filled from its items and collections when it is opened.
inline constexpr int kFreeTextSchemaVersion = 3;

inline constexpr const char* kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS collections (
  id TEXT PRIMARY KEY,
  content TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS items (
  rowid INTEGER PRIMARY KEY,
  collection TEXT NOT NULL,       -- a collections.id (checked by tessera on load)
  id TEXT NOT NULL,
  datetime INTEGER NOT NULL,      -- microseconds: datetime or start_datetime
  end_datetime INTEGER NOT NULL,  -- microseconds: end_datetime or datetime
  minx REAL, miny REAL, maxx REAL, maxy REAL,  -- bbox; minx > maxx crosses the antimeridian
  geometry BLOB,                  -- ISO WKB, NULL for items without geometry
  content BLOB NOT NULL,          -- the item's JSON text as loaded, zstd-compressed
  UNIQUE (collection, id)
);
CREATE INDEX IF NOT EXISTS items_datetime ON items (datetime, collection, id);
CREATE INDEX IF NOT EXISTS items_collection_datetime ON items (collection, datetime, id);
CREATE INDEX IF NOT EXISTS items_id ON items (id);

-- One entry per item with a geometry; items crossing the antimeridian span
-- the whole longitude range here and are tested exactly afterwards.
CREATE VIRTUAL TABLE IF NOT EXISTS items_rtree USING rtree (id, minx, maxx, miny, maxy);

-- Which properties (with their JSON types) each collection's items carry.
CREATE TABLE IF NOT EXISTS queryables (
  collection TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  PRIMARY KEY (collection, name, type)
) WITHOUT ROWID;

-- Free-text search (q): the description, title and keywords of each item
-- (rowid = items.rowid) and collection that has a description, as one text
-- (free_text.hpp: fts5_document); the porter stemmer approximates
-- PostgreSQL's english stemming.
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5 (text, tokenize = 'porter unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS collections_fts USING fts5 (id UNINDEXED, text, tokenize = 'porter unicode61');

-- Registered searches (mosaics), keyed by pgstac's search hash.
CREATE TABLE IF NOT EXISTS searches (
  hash TEXT PRIMARY KEY,
  search TEXT NOT NULL,      -- JSON
  metadata TEXT NOT NULL,    -- JSON object
  lastused TEXT NOT NULL,    -- RFC 3339 UTC
  usecount INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

}  // namespace tessera::catalog::sqlite
