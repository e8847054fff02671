#include "service/geoprocessing_tasks.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace tessera::service {

namespace {

using nlohmann::json;

constexpr int kBusyTimeoutMs = 10000;

constexpr std::string_view kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS geoprocessing_tasks (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms REAL,
  cost REAL,
  geometry_uri TEXT NOT NULL DEFAULT '',
  data TEXT,
  error TEXT NOT NULL DEFAULT '',
  cached INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS geoprocessing_tasks_by_service ON geoprocessing_tasks (service, started_at);
CREATE INDEX IF NOT EXISTS geoprocessing_tasks_by_start ON geoprocessing_tasks (started_at);
CREATE TABLE IF NOT EXISTS geoprocessing_task_logs (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS geoprocessing_task_logs_by_task ON geoprocessing_task_logs (task_id, sequence);
)sql";

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

}  // namespace

TaskStore::TaskStore(const std::string& path)
    : connection_(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kBusyTimeoutMs) {
  connection_.exec(kSchema);
}

std::int64_t TaskStore::start(const TaskRecord& task, int rate_limit, std::int64_t period_start_ms) {
  const std::lock_guard lock(mutex_);
  catalog::sqlite::WriteTransaction transaction(connection_);
  auto count = connection_.prepare(
      "SELECT count(*) FROM geoprocessing_tasks WHERE service = ?1 AND started_at >= ?2 AND cached = 0");
  count.bind(1, task.service).bind(2, period_start_ms);
  count.step();
  const std::int64_t consumed = count.int64(0);
  if (rate_limit > 0 && consumed >= rate_limit) {
    return consumed;
  }
  connection_
      .prepare(
          "INSERT INTO geoprocessing_tasks (id, service, status, started_at, geometry_uri, cached) VALUES (?1, ?2, ?3, "
          "?4, ?5, ?6)")
      .bind(1, task.id)
      .bind(2, task.service)
      .bind(3, task.status)
      .bind(4, task.started_at_ms)
      .bind(5, task.geometry_uri)
      .bind(6, std::int64_t{task.cached ? 1 : 0})
      .run();
  transaction.commit();
  return consumed;
}

void TaskStore::finish(const std::string& id, const std::string& status, const json& data, const std::string& error,
                       double duration_ms, double cost) {
  const std::lock_guard lock(mutex_);
  auto update = connection_.prepare(
      "UPDATE geoprocessing_tasks SET status = ?2, data = ?3, error = ?4, duration_ms = ?5, cost = ?6 WHERE id = ?1");
  update.bind(1, id).bind(2, status);
  // A callable's strings may not be UTF-8: replaced, so the task is still recorded.
  const std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  if (data.is_null()) {
    update.bind_null(3);
  } else {
    update.bind(3, text);
  }
  update.bind(4, error).bind(5, duration_ms).bind(6, cost).run();
}

std::optional<TaskRecord> TaskStore::find(const std::string& id) {
  const std::lock_guard lock(mutex_);
  auto select = connection_.prepare(
      "SELECT service, status, started_at, duration_ms, geometry_uri, data, error FROM geoprocessing_tasks "
      "WHERE id = ?1");
  select.bind(1, id);
  if (!select.step()) {
    return std::nullopt;
  }
  TaskRecord task;
  task.id = id;
  task.service = std::string(select.text(0));
  task.status = std::string(select.text(1));
  task.started_at_ms = select.int64(2);
  if (!select.is_null(3)) {
    task.duration_ms = select.real(3);
  }
  task.geometry_uri = std::string(select.text(4));
  if (!select.is_null(5)) {
    task.data = json::parse(select.text(5));
  }
  task.error = std::string(select.text(6));
  return task;
}

void TaskStore::append_log(const std::string& id, std::string_view message) {
  const std::lock_guard lock(mutex_);
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  connection_.prepare("INSERT INTO geoprocessing_task_logs (task_id, time_ms, message) VALUES (?1, ?2, ?3)")
      .bind(1, id)
      .bind(2, static_cast<std::int64_t>(now))
      .bind(3, message)
      .run();
}

std::vector<LogEntry> TaskStore::logs(const std::string& id, std::size_t limit, std::int64_t after_sequence) {
  const std::lock_guard lock(mutex_);
  auto select = connection_.prepare(
      "SELECT sequence, time_ms, message FROM geoprocessing_task_logs WHERE task_id = ?1 AND sequence > ?2 "
      "ORDER BY sequence LIMIT ?3");
  select.bind(1, id).bind(2, after_sequence).bind(3, static_cast<std::int64_t>(limit));
  std::vector<LogEntry> entries;
  while (select.step()) {
    entries.push_back({select.int64(0), select.int64(1), std::string(select.text(2))});
  }
  return entries;
}

std::optional<std::pair<double, double>> TaskStore::medians(const std::string& service) {
  const std::lock_guard lock(mutex_);
  auto select = connection_.prepare(
      "SELECT duration_ms, coalesce(cost, 0) FROM geoprocessing_tasks WHERE service = ?1 AND duration_ms IS NOT NULL "
      "AND cached = 0 "
      "ORDER BY started_at DESC LIMIT 100");
  select.bind(1, service);
  std::vector<double> durations;
  std::vector<double> costs;
  while (select.step()) {
    durations.push_back(select.real(0));
    costs.push_back(select.real(1));
  }
  if (durations.empty()) {
    return std::nullopt;
  }
  return std::pair{median(std::move(durations)), median(std::move(costs))};
}

std::int64_t TaskStore::consumed(const std::string& service, std::int64_t period_start_ms) {
  const std::lock_guard lock(mutex_);
  auto count = connection_.prepare(
      "SELECT count(*) FROM geoprocessing_tasks WHERE service = ?1 AND started_at >= ?2 AND cached = 0");
  count.bind(1, service).bind(2, period_start_ms);
  count.step();
  return count.int64(0);
}

std::size_t TaskStore::prune(std::int64_t before_ms) {
  const std::lock_guard lock(mutex_);
  catalog::sqlite::WriteTransaction transaction(connection_);
  connection_
      .prepare(
          "DELETE FROM geoprocessing_task_logs WHERE task_id IN (SELECT id FROM geoprocessing_tasks WHERE started_at "
          "< ?1)")
      .bind(1, before_ms)
      .run();
  connection_.prepare("DELETE FROM geoprocessing_tasks WHERE started_at < ?1").bind(1, before_ms).run();
  const auto removed = static_cast<std::size_t>(connection_.changes());
  transaction.commit();
  return removed;
}

}  // namespace tessera::service
