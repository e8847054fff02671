#pragma once

// RAII wrappers over the SQLite C API and a small connection pool.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "catalog/connection_pool.hpp"

namespace tessera::catalog::sqlite {

// Throws tessera::Error for a failed SQLite call: SQLITE_BUSY/LOCKED become a
// retryable Unavailable, a full disk or I/O error Io, the rest Internal.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  // Without a copy: `text`/`bytes` must stay valid until the statement is reset.
  Statement& bind_static(int index, std::string_view text);
  Statement& bind_blob_static(int index, std::string_view bytes);
  // Steps once: true while a row is available.
  bool step();
  // Steps to completion, expecting no rows.
  void run();
  void reset();

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] std::string_view text(int column) const;
  [[nodiscard]] std::string_view blob(int column) const;
  [[nodiscard]] int column_type(int column) const;
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Connection;
struct QueryableTypes;  // sqlite_query.hpp

// Interrupts the connection's statements past `deadline` for its lifetime
// (SQLite's progress handler): they fail with a retryable Unavailable.
class StatementDeadline {
 public:
  StatementDeadline(Connection& connection, std::chrono::steady_clock::time_point deadline);
  ~StatementDeadline();
  StatementDeadline(const StatementDeadline&) = delete;
  StatementDeadline& operator=(const StatementDeadline&) = delete;

 private:
  sqlite3* db_;
  std::chrono::steady_clock::time_point deadline_;
};

class Connection {
 public:
  Connection(const std::string& path, int flags, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(db_, sql); }
  // A cached prepared statement (reset before it is handed out).
  Statement& cached(const std::string& sql);
  [[nodiscard]] sqlite3* get() const noexcept { return db_; }
  [[nodiscard]] int changes() const { return sqlite3_changes(db_); }
  // A local database connection does not go away under its user.
  [[nodiscard]] static bool healthy() noexcept { return true; }
  // Changes whenever a change to the database is committed, by this
  // connection or any other (also in other processes): PRAGMA data_version
  // and this connection's own row changes.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> data_version();

  // The queryable types a search last read on this connection, valid while
  // data_version() still returns `queryable_types_version`.
  std::shared_ptr<const QueryableTypes> queryable_types;
  std::pair<std::int64_t, std::int64_t> queryable_types_version{-1, -1};

 private:
  sqlite3* db_ = nullptr;
  std::vector<std::pair<std::string, std::unique_ptr<Statement>>> cache_;
};

using ConnectionPool = catalog::ConnectionPool<Connection>;

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed.
class WriteTransaction {
 public:
  explicit WriteTransaction(Connection& connection);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool done_ = false;
};

}  // namespace tessera::catalog::sqlite
