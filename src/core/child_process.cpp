#include "core/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "tessera/error.hpp"

extern char** environ;

namespace tessera::core {

namespace {

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

struct SpawnAttributes {
  posix_spawnattr_t attributes;
  SpawnAttributes() { posix_spawnattr_init(&attributes); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
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

// A pipe whose ends close on exec: {read end, write end}.
std::pair<int, int> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw Error(ErrorCode::kIo, fmt::format("pipe: {}", std::strerror(errno)));
  }
  return {fds[0], fds[1]};
}

// This process's ends never block: their owner polls.
void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

void ChildProcess::Fd::reset() {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

ChildProcess::ReadResult ChildProcess::read_some(int fd, std::string& into, std::size_t limit, std::size_t& kept,
                                                 bool& truncated) {
  char buffer[65536];  // a whole default pipe buffer at once
  for (;;) {
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return ReadResult::kNothing;
    }
    if (count <= 0) {
      return ReadResult::kEnd;
    }
    const std::size_t room = limit > kept ? limit - kept : 0;
    const auto size = static_cast<std::size_t>(count);
    const std::size_t taken = std::min(room, size);
    truncated = truncated || size > room;
    into.append(buffer, taken);
    kept += taken;
    return ReadResult::kData;
  }
}

ChildProcess::ChildProcess(const ChildProcessRequest& request)
    : input_text_(request.input),
      max_output_bytes_(request.max_output_bytes),
      max_error_bytes_(request.max_error_bytes) {
  if (request.argv.empty()) {
    throw Error(ErrorCode::kInvalidInput, "no command");
  }
  // The child's ends, closed here once it has them.
  Fd output_write;
  Fd error_write;
  Fd input_read;
  std::tie(output_pipe_.fd, output_write.fd) = make_pipe();
  set_nonblocking(output_pipe_.fd);
  if (!request.merge_stderr) {
    std::tie(error_pipe_.fd, error_write.fd) = make_pipe();
    set_nonblocking(error_pipe_.fd);
  }
  if (!input_text_.empty()) {
    std::tie(input_read.fd, input_pipe_.fd) = make_pipe();
    set_nonblocking(input_pipe_.fd);
  }
  SpawnActions actions;
  if (input_read.fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions.actions, input_read.fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions.actions, output_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions.actions, request.merge_stderr ? output_write.fd : error_write.fd,
                                   STDERR_FILENO);
  if (!request.work_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions.actions, request.work_dir.c_str());
  }
  SpawnAttributes attributes;
  // Its own process group, so ending it kills whatever it started too; no
  // blocked signals (a server blocks SIGINT/SIGTERM in its threads, and a
  // child would inherit the mask of the thread starting it).
  posix_spawnattr_setflags(&attributes.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes.attributes, 0);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes.attributes, &no_signals);
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
  started_ = std::chrono::steady_clock::now();
  deadline_ = started_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(request.timeout_seconds));
  const int spawned = program.empty() ? ENOENT
                                      : ::posix_spawn(&pid_, program.c_str(), &actions.actions, &attributes.attributes,
                                                      argv.data(), envp.data());
  if (spawned != 0) {
    pid_ = 0;
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("cannot start '{}': {}", request.argv[0], std::strerror(spawned)));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    end();
  }
}

bool ChildProcess::transfer(int wait_ms) {
  // Closed streams are -1, which poll passes over; with none left it only waits.
  pollfd fds[3] = {{output_pipe_.fd, POLLIN, 0}, {error_pipe_.fd, POLLIN, 0}, {input_pipe_.fd, POLLOUT, 0}};
  if (::poll(fds, 3, wait_ms) <= 0) {
    return false;
  }
  if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && read_output() == ReadResult::kEnd) {
    output_pipe_.reset();
  }
  if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && read_error() == ReadResult::kEnd) {
    error_pipe_.reset();
  }
  if ((fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
    const SigpipeBlock no_sigpipe;
    const ssize_t count = ::write(input_pipe_.fd, input_text_.data() + written_, input_text_.size() - written_);
    if (count > 0) {
      written_ += static_cast<std::size_t>(count);
    }
    // All written, or the child closed its stdin: it has what it takes.
    if (written_ == input_text_.size() || (count < 0 && errno != EAGAIN && errno != EINTR)) {
      input_pipe_.reset();
    }
  }
  return output_pipe_.fd >= 0 || error_pipe_.fd >= 0 || input_pipe_.fd >= 0;
}

bool ChildProcess::exited() const {
  if (exit_code_) {
    return true;
  }
  siginfo_t info{};
  int waited = 0;
  do {
    waited = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (waited < 0 && errno == EINTR);
  return waited < 0 || info.si_pid == pid_;
}

int ChildProcess::end() {
  if (exit_code_) {
    return *exit_code_;
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  rusage usage{};
  while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  cpu_seconds_ = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  input_pipe_.reset();
  // What the group wrote before it died: the pipes hold at most their
  // buffers now (a bounded number of reads, should something that left the
  // group still write).
  for (int read = 0; read < 64 && output_pipe_.fd >= 0; ++read) {
    const ReadResult got = read_output();
    if (got == ReadResult::kEnd) {
      output_pipe_.reset();
    } else if (got == ReadResult::kNothing) {
      break;
    }
  }
  for (int read = 0; read < 64 && error_pipe_.fd >= 0; ++read) {
    const ReadResult got = read_error();
    if (got == ReadResult::kEnd) {
      error_pipe_.reset();
    } else if (got == ReadResult::kNothing) {
      break;
    }
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  return *exit_code_;
}

ChildProcess::ReadResult ChildProcess::read_output() {
  return read_some(output_pipe_.fd, output_, max_output_bytes_, output_kept_, output_truncated_);
}

ChildProcess::ReadResult ChildProcess::read_error() {
  std::size_t kept = error_.size();  // the limit holds between two take_error()
  return read_some(error_pipe_.fd, error_, max_error_bytes_, kept, error_truncated_);
}

std::string ChildProcess::take_output() { return std::exchange(output_, {}); }

std::string ChildProcess::take_error() { return std::exchange(error_, {}); }

ChildProcessResult run_child_process(const ChildProcessRequest& request) {
  ChildProcessResult result;
  std::optional<ChildProcess> child;
  try {
    child.emplace(request);
  } catch (const Error& error) {
    result.start_error = error.what();
    return result;
  }
  // Until the child exits or the time is up. Short polls: a child that exits
  // while something it started keeps the output open is noticed within 50 ms.
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(child->deadline() - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = !child->exited();
      break;
    }
    const int wait_ms = static_cast<int>(std::min<std::int64_t>(left.count() + 1, 50));
    if (!child->transfer(wait_ms) && child->exited()) {
      break;
    }
  }
  // Whatever the run started dies with it, after a normal exit too.
  const int exit_code = child->end();
  if (!result.timed_out) {
    result.exit_code = exit_code;
  }
  result.output = child->take_output();
  result.output_truncated = child->output_truncated();
  result.error = child->error();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - child->started()).count();
  return result;
}

}  // namespace tessera::core
