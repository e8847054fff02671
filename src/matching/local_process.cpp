#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/matching.hpp"

namespace tessera {

using nlohmann::json;

namespace {

// Closes a file descriptor once.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int owned) : fd(owned) {}
  Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
};

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

struct SpawnAttributes {
  posix_spawnattr_t attributes;
  SpawnAttributes() { posix_spawnattr_init(&attributes); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes); }
};

// `name` on the PATH of `environment` (the runner's allow-listed PATH), or "".
std::string find_on_path(const std::string& name, const std::vector<std::string>& environment) {
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& variable : environment) {
    if (variable.rfind("PATH=", 0) == 0) {
      path = variable.substr(5);
    }
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string folder = end > start ? path.substr(start, end - start) : std::string(".");
    const std::string candidate = folder + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

// A child process and what is known of it.
struct Job {
  pid_t pid = 0;
  Fd output;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point deadline;
  std::size_t logged = 0;  // bytes of output kept so far
};

}  // namespace

RunExecutor::~RunExecutor() = default;

json RunStatus::to_json() const {
  return {{"state", run_state_name(state)}, {"exit_code", exit_code}, {"error", error}, {"seconds", seconds}};
}

struct LocalProcessExecutor::Impl {
  std::size_t log_limit;
  std::mutex mutex;
  std::map<std::string, Job> jobs;
  std::uint64_t next_job = 1;

  // Output the child wrote since the last call, up to the job's share of the limit.
  static void drain(Job& job, std::size_t limit, std::string& log) {
    char buffer[8192];
    for (;;) {
      const ssize_t count = ::read(job.output.fd, buffer, sizeof buffer);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        return;  // nothing more for now (EAGAIN), or the pipe is closed
      }
      const std::size_t room = limit > job.logged ? limit - job.logged : 0;
      const std::size_t kept = std::min<std::size_t>(room, static_cast<std::size_t>(count));
      log.append(buffer, kept);
      job.logged += kept;
    }
  }

  // Whatever the run started dies with it: the whole process group. Returns the wait status.
  static int end(Job& job) {
    ::kill(-job.pid, SIGKILL);
    int status = 0;
    while (::waitpid(job.pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

  static bool exited(const Job& job) {
    siginfo_t info{};
    int waited = 0;
    do {
      // Without reaping: the pid (the group's id) must stay taken until the group is killed.
      waited = ::waitid(P_PID, static_cast<id_t>(job.pid), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (waited < 0 && errno == EINTR);
    return waited < 0 || info.si_pid == job.pid;
  }
};

LocalProcessExecutor::LocalProcessExecutor(std::size_t log_limit_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->log_limit = log_limit_bytes;
}

LocalProcessExecutor::~LocalProcessExecutor() {
  for (auto& [id, job] : impl_->jobs) {
    Impl::end(job);
  }
}

std::string LocalProcessExecutor::submit(const RunRequest& request) {
  if (request.command.empty()) {
    throw Error(ErrorCode::kInvalidInput, "the model has no command");
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw Error(ErrorCode::kIo, fmt::format("pipe: {}", std::strerror(errno)));
  }
  Fd read_end{pipe_fds[0]};
  Fd write_end{pipe_fds[1]};
  // The runner polls: reads never block.
  ::fcntl(read_end.fd, F_SETFL, ::fcntl(read_end.fd, F_GETFL) | O_NONBLOCK);
  SpawnActions actions;
  // stdout and stderr both go to the pipe; stdin is closed.
  posix_spawn_file_actions_adddup2(&actions.actions, write_end.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions.actions, write_end.fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  SpawnAttributes attributes;
  // Its own process group, so a timeout kills whatever it started too.
  posix_spawnattr_setflags(&attributes.attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes.attributes, 0);
  if (!request.work_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions.actions, request.work_dir.c_str());
  }
  std::vector<char*> argv;
  for (const auto& argument : request.command) {
    argv.push_back(const_cast<char*>(argument.c_str()));
  }
  argv.push_back(nullptr);
  // Only the variables the request names: never the host's credentials.
  std::vector<char*> envp;
  for (const auto& variable : request.environment) {
    envp.push_back(const_cast<char*>(variable.c_str()));
  }
  envp.push_back(nullptr);
  // The program is looked up on the request's PATH, not the host's.
  std::string program = request.command[0];
  if (program.find('/') == std::string::npos) {
    program = find_on_path(program, request.environment);
  }
  Job job;
  const int spawned = program.empty() ? ENOENT
                                      : ::posix_spawn(&job.pid, program.c_str(), &actions.actions,
                                                      &attributes.attributes, argv.data(), envp.data());
  write_end.reset();
  if (spawned != 0) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("cannot start '{}': {}", request.command[0], std::strerror(spawned)));
  }
  job.output.fd = std::exchange(read_end.fd, -1);
  job.started = std::chrono::steady_clock::now();
  job.deadline = job.started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(request.timeout_seconds));
  std::lock_guard lock(impl_->mutex);
  std::string id = fmt::format("local-{}-{}", ::getpid(), impl_->next_job++);
  impl_->jobs.emplace(id, std::move(job));
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
  Job& job = found->second;
  Impl::drain(job, impl_->log_limit, status.log);
  const auto now = std::chrono::steady_clock::now();
  status.seconds = std::chrono::duration<double>(now - job.started).count();
  const bool done = Impl::exited(job);
  if (!done && now < job.deadline) {
    status.state = RunState::kRunning;
    return status;
  }
  const int wait_status = Impl::end(job);
  Impl::drain(job, impl_->log_limit, status.log);  // what the group wrote before it died
  if (!done) {
    status.state = RunState::kTimedOut;
  } else {
    // A signal is reported as shells do: 128 + its number.
    status.exit_code = WIFEXITED(wait_status)     ? WEXITSTATUS(wait_status)
                       : WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
                                                  : -1;
    status.state = status.exit_code == 0 ? RunState::kSucceeded : RunState::kFailed;
  }
  impl_->jobs.erase(found);
  return status;
}

void LocalProcessExecutor::cancel(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  const auto found = impl_->jobs.find(id);
  if (found != impl_->jobs.end()) {
    Impl::end(found->second);
    impl_->jobs.erase(found);
  }
}

}  // namespace tessera
