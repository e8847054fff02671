#pragma once

// RAII over libpq: connections, results, a small pool that reconnects after
// the server restarts, and SQLSTATE-aware errors (deadlocks, serialization
// failures and lost connections are retryable Unavailable errors).

#include <libpq-fe.h>

#include "catalog/connection_pool.hpp"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::catalog::pgstac {

struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// A query parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

class PgConnection {
 public:
  // `uri` is a libpq URI or conninfo; `options` are libpq "options" (-c ...).
  PgConnection(const std::string& uri, const std::string& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs a statement with text parameters; throws tessera::Error on failure.
  Result exec(std::string_view sql, const std::vector<Param>& params = {});
  // The first column of the first row, or nullopt when NULL or no row.
  std::optional<std::string> scalar(std::string_view sql, const std::vector<Param>& params = {});
  // COPY ... FROM STDIN with one text-format row per entry.
  void copy_in(std::string_view copy_sql, const std::vector<std::string_view>& rows);

  [[nodiscard]] bool healthy() const { return PQstatus(connection_) == CONNECTION_OK; }
  // Best effort: a failed rollback leaves the connection unhealthy, which the pool drops.
  void rollback() noexcept {
    if (healthy()) {
      PQclear(PQexec(connection_, "ROLLBACK"));
    }
  }

 private:
  [[noreturn]] void fail(PGresult* result, std::string_view what);
  PGconn* connection_ = nullptr;
};

using PgPool = ConnectionPool<PgConnection>;

// Escapes text for one field of COPY's text format.
std::string copy_escape(std::string_view text);

// Runs `body` in BEGIN/COMMIT, retrying with backoff while it fails with a
// retryable error (deadlock, serialization failure, lost connection).
void with_transaction(PgPool& pool, const std::function<void(PgConnection&)>& body, int attempts = 5);

}  // namespace tessera::catalog::pgstac
