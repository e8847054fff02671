#pragma once

// The seam the catalog offers the modules above it that keep tables of their
// own in the catalog's database (matching's models, AOIs and predictions):
// the backend's connection pool, reached through Catalog::database() instead
// of casts to the backend classes. Internal header.

#include "catalog/pgstac/pg_db.hpp"
#include "catalog/sqlite/sqlite_db.hpp"

namespace tessera::catalog {

// Exactly one pool is set for a database-backed catalog.
struct Database {
  sqlite::ConnectionPool* sqlite = nullptr;
  pgstac::PgPool* postgres = nullptr;
};

}  // namespace tessera::catalog
