#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "tessera/matching.hpp"

extern char** environ;

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
  std::vector<char*> argv;
  for (const auto& argument : request.command) {
    argv.push_back(const_cast<char*>(argument.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions.actions, &attributes.attributes, argv.data(), environ);
  write_end.reset();
  if (spawned != 0) {
    result.error = fmt::format("cannot start '{}': {}", request.command[0], std::strerror(spawned));
    return result;
  }
  const auto deadline = started + std::chrono::duration<double>(request.timeout_seconds);
  char buffer[8192];
  bool open = true;
  while (open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd poll_fd{read_end.fd, POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, static_cast<int>(std::min<std::int64_t>(left.count() + 1, 1000)));
    if (ready < 0 && errno != EINTR) {
      break;
    }
    if (ready <= 0) {
      continue;
    }
    const ssize_t count = ::read(read_end.fd, buffer, sizeof buffer);
    if (count <= 0) {
      open = count < 0 && errno == EINTR;
      continue;
    }
    const std::size_t room = log_limit_ > result.log.size() ? log_limit_ - result.log.size() : 0;
    result.log.append(buffer, std::min<std::size_t>(room, static_cast<std::size_t>(count)));
  }
  // The output is closed (or the time is up): wait for the exit, up to the deadline.
  if (result.timed_out) {
    ::kill(-pid, SIGKILL);
  }
  int status = 0;
  for (;;) {
    const pid_t waited = ::waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (waited == pid || (waited < 0 && errno != EINTR)) {
      break;
    }
    if (waited == 0 && std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
    } else if (waited == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (!result.timed_out) {
    // A signal is reported as shells do: 128 + its number.
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace tessera
