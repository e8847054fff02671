#include "core/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace tessera::core {

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

// A child that stops reading its stdin makes a write fail with EPIPE instead
// of raising SIGPIPE: the signal is blocked in this thread while it writes
// and a pending one is consumed before the mask comes back.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeBlock() {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &now) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t previous_{};
};

// `name` on the PATH of `environment`, or "".
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

std::vector<std::string> current_environment() {
  std::vector<std::string> variables;
  for (char** variable = environ; variable != nullptr && *variable != nullptr; ++variable) {
    variables.emplace_back(*variable);
  }
  return variables;
}

// Reads what is there into `into`, keeping at most `limit` bytes. False at
// the end of the stream.
bool drain(int fd, std::string& into, std::size_t limit, bool& truncated) {
  char buffer[8192];
  for (;;) {
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count <= 0) {
      return false;
    }
    const std::size_t room = limit > into.size() ? limit - into.size() : 0;
    const auto size = static_cast<std::size_t>(count);
    truncated = truncated || size > room;
    into.append(buffer, std::min(room, size));
    return true;
  }
}

}  // namespace

ChildProcessResult run_child_process(const ChildProcessRequest& request) {
  ChildProcessResult result;
  const auto started = std::chrono::steady_clock::now();
  if (request.argv.empty()) {
    result.start_error = "no command";
    return result;
  }
  int output_fds[2];
  int error_fds[2];
  int input_fds[2];
  if (::pipe2(output_fds, O_CLOEXEC) != 0) {
    result.start_error = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  Fd output_read{output_fds[0]};
  Fd output_write{output_fds[1]};
  if (::pipe2(error_fds, O_CLOEXEC) != 0) {
    result.start_error = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  Fd error_read{error_fds[0]};
  Fd error_write{error_fds[1]};
  if (::pipe2(input_fds, O_CLOEXEC) != 0) {
    result.start_error = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  Fd input_read{input_fds[0]};
  Fd input_write{input_fds[1]};
  SpawnActions actions;
  posix_spawn_file_actions_adddup2(&actions.actions, input_read.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions.actions, output_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions.actions, request.merge_stderr ? output_write.fd : error_write.fd,
                                   STDERR_FILENO);
  SpawnAttributes attributes;
  // Its own process group, so a timeout kills whatever it started too.
  posix_spawnattr_setflags(&attributes.attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes.attributes, 0);
  if (!request.work_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions.actions, request.work_dir.c_str());
  }
  std::vector<char*> argv;
  for (const auto& argument : request.argv) {
    argv.push_back(const_cast<char*>(argument.c_str()));
  }
  argv.push_back(nullptr);
  const std::vector<std::string> environment = request.environment ? *request.environment : current_environment();
  std::vector<char*> envp;
  for (const auto& variable : environment) {
    envp.push_back(const_cast<char*>(variable.c_str()));
  }
  envp.push_back(nullptr);
  // The program is looked up on the child's PATH, not necessarily the host's.
  std::string program = request.argv[0];
  if (program.find('/') == std::string::npos) {
    program = find_on_path(program, environment);
  }
  pid_t pid = 0;
  const int spawned = program.empty() ? ENOENT
                                      : ::posix_spawn(&pid, program.c_str(), &actions.actions, &attributes.attributes,
                                                      argv.data(), envp.data());
  output_write.reset();
  error_write.reset();
  input_read.reset();
  if (spawned != 0) {
    result.start_error = fmt::format("cannot start '{}': {}", request.argv[0], std::strerror(spawned));
    return result;
  }
  ::fcntl(input_write.fd, F_SETFL, ::fcntl(input_write.fd, F_GETFL) | O_NONBLOCK);
  std::size_t written = 0;
  if (request.input.empty()) {
    input_write.reset();
  }
  SigpipeBlock no_sigpipe;
  const auto deadline = started + std::chrono::duration<double>(request.timeout_seconds);
  bool error_truncated = false;
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
    pollfd fds[3] = {{output_read.fd, POLLIN, 0}, {error_read.fd, POLLIN, 0}, {input_write.fd, POLLOUT, 0}};
    const int ready = ::poll(fds, 3, wait_ms);
    if (ready > 0) {
      if ((fds[0].revents & (POLLIN | POLLHUP)) != 0 &&
          !drain(output_read.fd, result.output, request.max_output_bytes, result.output_truncated)) {
        output_read.reset();
      }
      if ((fds[1].revents & (POLLIN | POLLHUP)) != 0 &&
          !drain(error_read.fd, result.error, request.max_error_bytes, error_truncated)) {
        error_read.reset();
      }
      if ((fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
        const ssize_t count = ::write(input_write.fd, request.input.data() + written, request.input.size() - written);
        if (count > 0) {
          written += static_cast<std::size_t>(count);
        }
        // All written, or the child closed its stdin: it has what it takes.
        if (written == request.input.size() || (count < 0 && errno != EAGAIN && errno != EINTR)) {
          input_write.reset();
        }
      }
      if (output_read.fd >= 0 || error_read.fd >= 0 || input_write.fd >= 0) {
        continue;
      }
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
  for (Fd* stream : {&output_read, &error_read}) {
    std::string& into = stream == &output_read ? result.output : result.error;
    const std::size_t limit = stream == &output_read ? request.max_output_bytes : request.max_error_bytes;
    bool& truncated = stream == &output_read ? result.output_truncated : error_truncated;
    pollfd poll_fd{stream->fd, POLLIN, 0};
    while (stream->fd >= 0 && ::poll(&poll_fd, 1, 0) > 0 && (poll_fd.revents & POLLIN) != 0 &&
           drain(stream->fd, into, limit, truncated)) {
    }
  }
  if (!result.timed_out) {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace tessera::core
