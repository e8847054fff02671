#pragma once

// RAII wrappers over the SQLite C API and a small connection pool.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

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

 private:
  sqlite3* db_ = nullptr;
  std::vector<std::pair<std::string, std::unique_ptr<Statement>>> cache_;
};

// Hands out connections to one database, at most `capacity` at a time.
// Each thread takes one for the duration of a call.
class ConnectionPool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;
  ConnectionPool(Factory factory, std::size_t capacity);

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection* operator->() const noexcept { return connection_.get(); }
    Connection& operator*() const noexcept { return *connection_; }

   private:
    ConnectionPool& pool_;
    std::unique_ptr<Connection> connection_;
  };

  Lease acquire();

 private:
  Factory factory_;
  std::size_t capacity_;
  std::size_t created_ = 0;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mutex mutex_;
  std::condition_variable available_;
};

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
