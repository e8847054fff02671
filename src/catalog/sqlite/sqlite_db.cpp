#include "catalog/sqlite/sqlite_db.hpp"

#include <limits>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::catalog::sqlite {

void throw_sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kInternal;
  std::string hint;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    code = ErrorCode::kUnavailable;
    hint = " (another process or thread holds the catalog's write lock; retry later)";
  } else if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN ||
             primary == SQLITE_READONLY || primary == SQLITE_PERM) {
    code = ErrorCode::kIo;
  } else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    code = ErrorCode::kIo;
    hint = " (the catalog file is damaged or not a tessera catalog)";
  } else if (primary == SQLITE_INTERRUPT) {
    code = ErrorCode::kUnavailable;
    hint = " (the query ran past its time limit: CatalogOptions::statement_timeout_ms or the caller's budget)";
  } else if (primary == SQLITE_CONSTRAINT) {
    code = ErrorCode::kConflict;
  } else if (primary == SQLITE_TOOBIG || primary == SQLITE_RANGE) {
    code = ErrorCode::kInvalidInput;
  }
  throw Error(code, fmt::format("{}: {}{}", what, message, hint));
}

// --- Statement ---------------------------------------------------------------

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  const int rc =
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    throw_sqlite_error(db, rc, "preparing a catalog query");
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }

namespace {
void check_bind(sqlite3* db, int rc) {
  if (rc != SQLITE_OK) {
    throw_sqlite_error(db, rc, "binding a query parameter");
  }
}
}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(db_, sqlite3_bind_int64(stmt_, index, value));
  return *this;
}
Statement& Statement::bind(int index, double value) {
  check_bind(db_, sqlite3_bind_double(stmt_, index, value));
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  check_bind(db_, sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  check_bind(db_, sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  return *this;
}
Statement& Statement::bind_static(int index, std::string_view text) {
  check_bind(db_, sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
  return *this;
}
Statement& Statement::bind_blob_static(int index, std::string_view bytes) {
  check_bind(db_, sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC));
  return *this;
}
Statement& Statement::bind_null(int index) {
  check_bind(db_, sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  // sqlite3_step leaves the statement needing a reset before it can run again.
  sqlite3_reset(stmt_);
  throw_sqlite_error(db_, rc, "running a catalog query");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }
int Statement::column_type(int column) const { return sqlite3_column_type(stmt_, column); }

std::string_view Statement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return data == nullptr ? std::string_view() : std::string_view(data, sqlite3_column_bytes(stmt_, column));
}

std::string_view Statement::blob(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  return data == nullptr ? std::string_view() : std::string_view(data, sqlite3_column_bytes(stmt_, column));
}

// --- StatementDeadline ----------------------------------------------------------

StatementDeadline::StatementDeadline(Connection& connection, std::chrono::steady_clock::time_point deadline)
    : db_(connection.get()), deadline_(deadline) {
  // Every 100,000 virtual-machine instructions (well under a millisecond of
  // work): checking every 1,000 slowed counting searches by a third at 1M
  // items (BENCHMARKS.md).
  sqlite3_progress_handler(
      db_, 100000,
      [](void* self) -> int {
        return std::chrono::steady_clock::now() > static_cast<StatementDeadline*>(self)->deadline_ ? 1 : 0;
      },
      this);
}

StatementDeadline::~StatementDeadline() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }

// --- Connection ---------------------------------------------------------------

Connection::Connection(const std::string& path, int flags, int busy_timeout_ms) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(ErrorCode::kIo, fmt::format("cannot open catalog database '{}': {}", path, message));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Connection::~Connection() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

void Connection::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    sqlite3_free(message);
    throw_sqlite_error(db_, rc, "running catalog SQL");
  }
}

Statement& Connection::cached(const std::string& sql) {
  for (auto& [text, statement] : cache_) {
    if (text == sql) {
      statement->reset();
      return *statement;
    }
  }
  cache_.emplace_back(sql, std::make_unique<Statement>(db_, sql));
  return *cache_.back().second;
}

std::pair<std::int64_t, std::int64_t> Connection::data_version() {
  auto& pragma = cached("PRAGMA data_version");
  pragma.step();
  const std::int64_t version = pragma.int64(0);
  pragma.reset();
  return {version, sqlite3_total_changes64(db_)};
}

// --- WriteTransaction -------------------------------------------------------------

WriteTransaction::WriteTransaction(Connection& connection) : connection_(connection) {
  connection_.cached("BEGIN IMMEDIATE").run();
}

WriteTransaction::~WriteTransaction() {
  if (!done_) {
    sqlite3_exec(connection_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void WriteTransaction::commit() {
  connection_.cached("COMMIT").run();
  done_ = true;
}

}  // namespace tessera::catalog::sqlite
