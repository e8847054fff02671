#pragma once

// The geoprocessing task records and their logs, in one SQLite file shared by
// every server process of a host (WAL; SQLite's locks order the writers): a
// task started by one process is polled, followed and paged through any.
// Internal header.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/sqlite/sqlite_db.hpp"

namespace tessera::service {

struct TaskRecord {
  std::string id;
  std::string service;
  std::string status;  // "pending" | "completed" | "failed"
  std::int64_t started_at_ms = 0;
  std::optional<double> duration_ms;
  std::string geometry_uri;
  nlohmann::json data;  // null until completed
  std::string error;
  bool cached = false;  // answered from the cache: not a run (rate limits, medians)
};

struct LogEntry {
  std::int64_t sequence = 0;
  std::int64_t time_ms = 0;
  std::string message;
};

class TaskStore {
 public:
  // Io when the file cannot be opened or made.
  explicit TaskStore(const std::string& path);

  // Records a pending task, unless `rate_limit` > 0 and the service already
  // started that many runs since `period_start_ms`: then nothing is written.
  // Returns the runs started in the period before this one (atomic across
  // processes: one write transaction).
  std::int64_t start(const TaskRecord& task, int rate_limit, std::int64_t period_start_ms);
  void finish(const std::string& id, const std::string& status, const nlohmann::json& data, const std::string& error,
              double duration_ms, double cost);
  [[nodiscard]] std::optional<TaskRecord> find(const std::string& id);
  void append_log(const std::string& id, std::string_view message);
  // At most `limit` entries after `after_sequence`, in order.
  [[nodiscard]] std::vector<LogEntry> logs(const std::string& id, std::size_t limit, std::int64_t after_sequence);
  // Medians of the durations (ms) and costs (CPU seconds) of the service's
  // last 100 finished runs; nullopt without any.
  [[nodiscard]] std::optional<std::pair<double, double>> medians(const std::string& service);
  // Runs of the service started since `period_start_ms`.
  [[nodiscard]] std::int64_t consumed(const std::string& service, std::int64_t period_start_ms);
  // Removes the tasks started before `before_ms` and their logs.
  std::size_t prune(std::int64_t before_ms);

 private:
  std::mutex mutex_;  // one connection, used by one thread at a time
  catalog::sqlite::Connection connection_;
};

}  // namespace tessera::service
