#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tessera/matching.hpp"

namespace tessera {

namespace {

// Closes a file descriptor once.
struct Fd {
  int fd = -1;
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

}  // namespace

RunExecutor::~RunExecutor() = default;

RunResult LocalProcessExecutor::execute(const RunRequest& request) {
  RunResult result;
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (request.command.empty()) {
    result.error = "the model has no command";
    return result;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  Fd read_end{pipe_fds[0]};
  Fd write_end{pipe_fds[1]};
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
  pid_t pid = 0;
  const int spawned = program.empty() ? ENOENT
                                      : ::posix_spawn(&pid, program.c_str(), &actions.actions, &attributes.attributes,
                                                      argv.data(), envp.data());
  write_end.reset();
  if (spawned != 0) {
    result.error = fmt::format("cannot start '{}': {}", request.command[0], std::strerror(spawned));
    return result;
  }
  const auto deadline = started + std::chrono::duration<double>(request.timeout_seconds);
  char buffer[8192];
  bool open = true;
  // Whether the child has exited, without reaping it: its pid (the group's id)
  // must stay taken until the group is killed below.
  const auto exited = [&] {
    siginfo_t info{};
    int waited = 0;
    do {
      waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (waited < 0 && errno == EINTR);
    return waited < 0 || info.si_pid == pid;
  };
  const auto drain = [&] {
    for (;;) {
      const ssize_t count = ::read(read_end.fd, buffer, sizeof buffer);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        return false;
      }
      const std::size_t room = log_limit_ > result.log.size() ? log_limit_ - result.log.size() : 0;
      result.log.append(buffer, std::min<std::size_t>(room, static_cast<std::size_t>(count)));
      return true;
    }
  };
  // Until the child exits or the time is up. Short polls: a child that exits
  // while something it started keeps the output open is noticed within 50 ms.
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = !exited();
      break;
    }
    const int wait_ms = static_cast<int>(std::min<std::int64_t>(left.count() + 1, 50));
    if (open) {
      pollfd poll_fd{read_end.fd, POLLIN, 0};
      const int ready = ::poll(&poll_fd, 1, wait_ms);
      if (ready > 0) {
        open = drain();
        continue;
      }
    } else {
      ::poll(nullptr, 0, wait_ms);
    }
    if (exited()) {
      break;
    }
  }
  // Whatever the run started dies with it: the whole process group, on a
  // timeout and after a normal exit alike.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // What the group wrote before it died.
  pollfd poll_fd{read_end.fd, POLLIN, 0};
  while (::poll(&poll_fd, 1, 0) > 0 && (poll_fd.revents & POLLIN) != 0 && drain()) {
  }
  if (!result.timed_out) {
    // A signal is reported as shells do: 128 + its number.
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace tessera
