#include "service/geoprocessing_command.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "service/bounded_json.hpp"
#include "tessera/error.hpp"

extern char** environ;

namespace tessera::service {

namespace {

using nlohmann::json;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  int* out() noexcept { return &fd_; }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw Error(ErrorCode::kIo, fmt::format("command: cannot make a pipe: {}", std::strerror(errno)));
    }
    *read.out() = fds[0];
    *write.out() = fds[1];
  }
};

// The child's process group gets SIGKILL and is reaped (once).
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() { kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void kill() noexcept {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      (void)reap(true);
    }
  }
  // Reaps the child: its exit status, once it has exited (`block`: waiting
  // for it), else nullopt; its CPU seconds in `cpu`.
  std::optional<int> reap(bool block, double* cpu = nullptr) noexcept {
    int status = 0;
    rusage usage{};
    pid_t reaped = 0;
    while ((reaped = ::wait4(pid_, &status, block ? 0 : WNOHANG, &usage)) < 0 && errno == EINTR) {
    }
    if (reaped == 0) {
      return std::nullopt;
    }
    pid_ = -1;
    if (cpu != nullptr) {
      *cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    }
    return status;
  }

 private:
  pid_t pid_;
};

// SIGPIPE (writing the sketch to a program that closed its stdin) is blocked
// on this thread while the program runs, and a pending one is taken before
// the thread's mask is restored: write() then fails with EPIPE instead.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeBlock() {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &now) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_;
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Sends complete stderr lines to the task's log, keeping at most `budget` bytes.
class LogLines {
 public:
  LogLines(const GeoprocessingContext& context, std::size_t budget) : context_(context), budget_(budget) {}
  void add(std::string_view bytes) {
    for (const char c : bytes) {
      if (c == '\n') {
        flush();
      } else if (pending_.size() < budget_) {
        pending_ += c;
      }
    }
  }
  void flush() {
    if (!pending_.empty()) {
      last_ = pending_;
      if (budget_ > 0) {
        context_.log(pending_);
        budget_ = pending_.size() >= budget_ ? 0 : budget_ - pending_.size();
      }
      pending_.clear();
    }
  }
  [[nodiscard]] const std::string& last() const noexcept { return last_; }

 private:
  const GeoprocessingContext& context_;
  std::size_t budget_;
  std::string pending_;
  std::string last_;
};

}  // namespace

json run_command(const std::vector<std::string>& argv, const json& input, double timeout_seconds,
                 const CommandLimits& limits, const GeoprocessingContext& context) {
  if (argv.empty() || argv.front().empty()) {
    throw Error(ErrorCode::kInvalidInput, "command: no program to run");
  }
  Pipe in;
  Pipe out;
  Pipe err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // A group of its own, so a timeout kills what it started too; default
  // signal handling (the server blocks SIGINT/SIGTERM in its threads).
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    throw Error(ErrorCode::kIo, fmt::format("command: cannot start '{}': {}", argv.front(), std::strerror(spawned)));
  }
  const SigpipeBlock no_sigpipe;
  Child child(pid);
  in.read.reset();
  out.write.reset();
  err.write.reset();
  set_nonblocking(in.write.get());
  set_nonblocking(out.read.get());
  set_nonblocking(err.read.get());

  const std::string request = input.dump();
  std::size_t written = 0;
  std::string output;
  LogLines log(context, limits.max_log_bytes);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  if (request.empty()) {
    in.write.reset();
  }
  const auto check_time = [&] {
    if (context.cancelled() || std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("command: '{}' did not finish within {} s", argv.front(), timeout_seconds));
    }
  };
  while (out.read.get() >= 0 || err.read.get() >= 0) {
    check_time();
    pollfd fds[3];
    nfds_t count = 0;
    const auto watch = [&](Fd& fd, short events) {
      if (fd.get() >= 0) {
        fds[count++] = {fd.get(), events, 0};
      }
    };
    watch(in.write, POLLOUT);
    watch(out.read, POLLIN);
    watch(err.read, POLLIN);
    // Wake at least every 100 ms to check the deadline and cancellation.
    if (::poll(fds, count, 100) < 0 && errno != EINTR) {
      throw Error(ErrorCode::kIo, fmt::format("command: poll failed: {}", std::strerror(errno)));
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      if (fds[i].fd == in.write.get()) {
        const ssize_t n = ::write(in.write.get(), request.data() + written, request.size() - written);
        if (n > 0) {
          written += static_cast<std::size_t>(n);
        }
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == request.size()) {
          in.write.reset();  // done, or the program closed its stdin
        }
        continue;
      }
      char buffer[65536];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        continue;
      }
      const bool is_out = fds[i].fd == out.read.get();
      if (n <= 0) {
        (is_out ? out.read : err.read).reset();
        continue;
      }
      if (is_out) {
        if (output.size() + static_cast<std::size_t>(n) > limits.max_output_bytes) {
          throw Error(ErrorCode::kIo,
                      fmt::format("command: '{}' wrote more than {} bytes", argv.front(), limits.max_output_bytes));
        }
        output.append(buffer, static_cast<std::size_t>(n));
      } else {
        log.add({buffer, static_cast<std::size_t>(n)});
      }
    }
  }
  log.flush();
  // Its output is closed, but it may still run: it is waited for until the
  // deadline too.
  double cpu = 0;
  std::optional<int> exited;
  while (!(exited = child.reap(false, &cpu))) {
    check_time();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int status = *exited;
  context.add_cpu_seconds(cpu);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                              : fmt::format("was killed by signal {}", WTERMSIG(status));
    throw Error(ErrorCode::kIo, log.last().empty()
                                    ? fmt::format("command: '{}' {}", argv.front(), how)
                                    : fmt::format("command: '{}' {}: {}", argv.front(), how, log.last()));
  }
  json result = parse_bounded_json(output);
  if (result.is_discarded()) {
    throw Error(ErrorCode::kIo, fmt::format("command: '{}' did not write JSON (nested at most {} deep) on stdout",
                                            argv.front(), kMaxJsonDepth));
  }
  return result;
}

}  // namespace tessera::service
