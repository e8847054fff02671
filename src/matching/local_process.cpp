#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "core/child_process.hpp"
#include "tessera/error.hpp"
#include "tessera/matching.hpp"

namespace tessera {

using nlohmann::json;

RunExecutor::~RunExecutor() = default;

json RunStatus::to_json() const {
  return {{"state", run_state_name(state)}, {"exit_code", exit_code}, {"error", error}, {"seconds", seconds}};
}

struct LocalProcessExecutor::Impl {
  std::size_t log_limit;
  std::mutex mutex;
  // Destroying a child ends its process group.
  std::map<std::string, std::unique_ptr<core::ChildProcess>> jobs;
  std::uint64_t next_job = 1;
};

LocalProcessExecutor::LocalProcessExecutor(std::size_t log_limit_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->log_limit = log_limit_bytes;
}

LocalProcessExecutor::~LocalProcessExecutor() = default;

std::string LocalProcessExecutor::submit(const RunRequest& request) {
  if (request.command.empty()) {
    throw Error(ErrorCode::kInvalidInput, "the model has no command");
  }
  core::ChildProcessRequest child;
  child.argv = request.command;
  // Only the variables the request names, never the host's credentials; the
  // program is looked up on the request's PATH, not the host's.
  child.environment = request.environment;
  child.work_dir = request.work_dir;
  // stdout and stderr both make the log; stdin is /dev/null.
  child.merge_stderr = true;
  child.timeout_seconds = request.timeout_seconds;
  child.max_output_bytes = impl_->log_limit;
  auto process = std::make_unique<core::ChildProcess>(child);
  std::lock_guard lock(impl_->mutex);
  std::string id = fmt::format("local-{}-{}", ::getpid(), impl_->next_job++);
  impl_->jobs.emplace(id, std::move(process));
  return id;
}

RunStatus LocalProcessExecutor::status(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  RunStatus status;
  const auto found = impl_->jobs.find(id);
  if (found == impl_->jobs.end()) {
    status.state = RunState::kFailed;
    status.error =
        fmt::format("job '{}' is not one of this runner's processes (the runner that started it is gone)", id);
    return status;
  }
  core::ChildProcess& process = *found->second;
  // Output the child wrote since the last call, within the job's log limit.
  process.transfer(0);
  status.log = process.take_output();
  const auto now = std::chrono::steady_clock::now();
  status.seconds = std::chrono::duration<double>(now - process.started()).count();
  const bool done = process.exited();
  if (!done && now < process.deadline()) {
    status.state = RunState::kRunning;
    return status;
  }
  const int exit_code = process.end();
  status.log += process.take_output();  // what the group wrote before it died
  if (!done) {
    status.state = RunState::kTimedOut;
  } else {
    status.exit_code = exit_code;
    status.state = exit_code == 0 ? RunState::kSucceeded : RunState::kFailed;
  }
  impl_->jobs.erase(found);
  return status;
}

void LocalProcessExecutor::cancel(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  const auto found = impl_->jobs.find(id);
  if (found != impl_->jobs.end()) {
    impl_->jobs.erase(found);  // ends its process group
  }
}

}  // namespace tessera
