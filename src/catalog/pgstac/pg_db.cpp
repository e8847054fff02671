#include "catalog/pgstac/pg_db.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::catalog::pgstac {
namespace {

ErrorCode code_for_sqlstate(std::string_view state) {
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "40001" ||
      state == "40P01" || state == "55P03" || state == "57014") {
    return ErrorCode::kUnavailable;  // connection, shutdown, serialization, deadlock, lock or statement timeout
  }
  if (state == "23505") {
    return ErrorCode::kConflict;
  }
  if (state.starts_with("22") || state == "P0001" || state == "23502" || state == "23514") {
    return ErrorCode::kInvalidInput;  // data exceptions and pgstac's RAISE EXCEPTION
  }
  if (state == "P0002") {
    return ErrorCode::kNotFound;  // no_data_found (e.g. STRICT lookups)
  }
  if (state == "42501" || state == "28000" || state == "28P01") {
    return ErrorCode::kIo;  // privileges, authentication
  }
  return ErrorCode::kInternal;
}

std::string first_line(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  return std::string(message);
}

}  // namespace

PgConnection::PgConnection(const std::string& uri, const std::string& options) {
  // Defaults first, so the URI may override them: connecting gives up after
  // 10 s, and TCP keepalives plus a user timeout notice a server host that
  // vanished (network cut, power loss) within about a minute instead of the
  // kernel's two hours. The session options come last: tessera needs them.
  const char* keywords[] = {"connect_timeout",  "keepalives",
                            "keepalives_idle",  "keepalives_interval",
                            "keepalives_count", "tcp_user_timeout",
                            "application_name", "dbname",
                            "options",          nullptr};
  const char* values[] = {"10", "1", "30", "10", "3", "60000", "tessera", uri.c_str(), options.c_str(), nullptr};
  connection_ = PQconnectdbParams(keywords, values, 1);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    const std::string message = connection_ != nullptr ? first_line(PQerrorMessage(connection_)) : "out of memory";
    PQfinish(connection_);
    connection_ = nullptr;
    // The password, if any, is in the URI: never echo it.
    throw Error(ErrorCode::kUnavailable, fmt::format("cannot connect to the PgSTAC database: {}", message));
  }
  // Server notices (pgstac's partition maintenance is chatty) go to the log, not stderr.
  PQsetNoticeProcessor(
      connection_, [](void*, const char* message) { log(LogLevel::kDebug, first_line(message)); }, nullptr);
}

PgConnection::~PgConnection() { PQfinish(connection_); }

void PgConnection::fail(PGresult* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string message =
      first_line(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(connection_));
  const ErrorCode code = state != nullptr ? code_for_sqlstate(state)
                         : healthy()      ? ErrorCode::kInternal
                                          : ErrorCode::kUnavailable;
  PQclear(result);
  throw Error(code, fmt::format("{}: {}{}", what, message, code == ErrorCode::kUnavailable ? " (retryable)" : ""));
}

Result PgConnection::exec(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) {
    // libpq reads text parameters as C strings: one with a NUL would be cut
    // there and match another row ('a\0b' would find 'a').
    if (param && param->find('\0') != std::string::npos) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("a text value contains a NUL character: '{}'", param->substr(0, param->find('\0'))));
    }
    values.push_back(param ? param->c_str() : nullptr);
  }
  const std::string text(sql);
  PGresult* result = PQexecParams(connection_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                  nullptr, nullptr, 0);
  const auto status = PQresultStatus(result);
  if (result == nullptr || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
    fail(result, "PgSTAC query failed");
  }
  return Result(result);
}

std::optional<std::string> PgConnection::scalar(std::string_view sql, const std::vector<Param>& params) {
  const Result result = exec(sql, params);
  if (PQntuples(result.get()) == 0 || PQgetisnull(result.get(), 0, 0) != 0) {
    return std::nullopt;
  }
  return std::string(PQgetvalue(result.get(), 0, 0), static_cast<std::size_t>(PQgetlength(result.get(), 0, 0)));
}

void PgConnection::copy_in(std::string_view copy_sql, const std::vector<std::string_view>& rows) {
  const std::string text(copy_sql);
  PGresult* start = PQexec(connection_, text.c_str());
  if (PQresultStatus(start) != PGRES_COPY_IN) {
    fail(start, "PgSTAC COPY failed to start");
  }
  PQclear(start);
  for (const auto& row : rows) {
    if (PQputCopyData(connection_, row.data(), static_cast<int>(row.size())) != 1) {
      fail(nullptr, "PgSTAC COPY failed");
    }
  }
  if (PQputCopyEnd(connection_, nullptr) != 1) {
    fail(nullptr, "PgSTAC COPY failed to finish");
  }
  PGresult* result = PQgetResult(connection_);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    fail(result, "PgSTAC COPY failed");
  }
  PQclear(result);
  while ((result = PQgetResult(connection_)) != nullptr) {
    PQclear(result);
  }
}

std::string copy_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (const char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

void with_transaction(PgPool& pool, const std::function<void(PgConnection&)>& body, int attempts) {
  for (int attempt = 1;; ++attempt) {
    try {
      auto connection = pool.acquire();
      connection->exec("BEGIN");
      try {
        body(*connection);
        connection->exec("COMMIT");
        return;
      } catch (...) {
        connection->rollback();
        throw;
      }
    } catch (const Error& error) {
      if (!error.retryable() || attempt >= attempts) {
        throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    }
  }
}

}  // namespace tessera::catalog::pgstac
