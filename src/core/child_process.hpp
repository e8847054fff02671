#pragma once

// Runs programs as child processes: posix_spawn with the argument list as
// given (no shell), in their own process group (killed whole when the child
// ends), input on stdin, stdout and stderr captured up to a limit each.
// ChildProcess is the started child, polled by its owner (matching's
// LocalProcessExecutor keeps one per run); run_child_process runs one to
// its end (ingest's item command); the geoprocessing command services
// stream a child's stderr into their task logs.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace tessera::core {

struct ChildProcessRequest {
  std::vector<std::string> argv;  // argv[0] is looked up on the environment's PATH when it has no '/'
  // The child's whole environment ("NAME=value"); none: this process's.
  std::optional<std::vector<std::string>> environment;
  std::string work_dir;       // "": this process's working directory
  std::string input;          // written to stdin, which is then closed ("": stdin is /dev/null)
  bool merge_stderr = false;  // stderr goes to the output too
  double timeout_seconds = 60;
  std::size_t max_output_bytes = std::size_t{1} << 20;  // more is dropped (output_truncated)
  std::size_t max_error_bytes = std::size_t{64} << 10;
};

// A started child. Nothing blocks: transfer() moves what is ready between
// the pipes and the buffers, exited() looks without reaping, end() kills the
// group and reaps. Destroying a child that has not ended ends it. Not
// thread-safe: its owner serialises the calls.
class ChildProcess {
 public:
  // Starts request.argv. Throws Error: InvalidInput when the program cannot
  // be started (not found, not executable), Io when no pipe can be made.
  explicit ChildProcess(const ChildProcessRequest& request);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits up to `wait_ms` for a stream to be ready, then writes what it can
  // of the input and reads what the child wrote. False when nothing was ready
  // or every stream is closed: the moment to look whether it has exited.
  bool transfer(int wait_ms);
  // Whether the child has exited. It is not reaped: its pid, the group's id,
  // stays taken until end() kills the group.
  [[nodiscard]] bool exited() const;
  // Kills the whole process group (what the child started dies with it),
  // reaps the child and reads what the group wrote before it died. The exit
  // code, a signal as shells report it (128 + its number). Once only: later
  // calls return the same code.
  int end();

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::chrono::steady_clock::time_point started() const { return started_; }
  [[nodiscard]] std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  // The output (with stderr when merged) read since the last take_output().
  std::string take_output();
  [[nodiscard]] bool output_truncated() const { return output_truncated_; }
  // stderr (when not merged), as read so far (since the last take_error()).
  [[nodiscard]] const std::string& error() const { return error_; }
  // stderr read since the last call, for owners that stream it (a task's
  // log): at most max_error_bytes between two calls.
  std::string take_error();
  // CPU time (user + system) the child used, known once it ended.
  [[nodiscard]] double cpu_seconds() const { return cpu_seconds_; }

 private:
  // A file descriptor, closed once.
  struct Fd {
    int fd = -1;
    Fd() = default;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset();
  };

  enum class ReadResult { kData, kNothing, kEnd };
  // One read of what `fd` holds into `into`, keeping at most `limit` bytes
  // in all (`kept` counts them; more sets `truncated`).
  static ReadResult read_some(int fd, std::string& into, std::size_t limit, std::size_t& kept, bool& truncated);
  ReadResult read_output();
  ReadResult read_error();

  pid_t pid_ = 0;
  Fd input_pipe_;  // the write end of the child's stdin, while input is left
  Fd output_pipe_;
  Fd error_pipe_;  // none when stderr is merged
  std::string input_text_;
  std::size_t written_ = 0;
  std::string output_;
  std::size_t output_kept_ = 0;  // bytes of output kept, taken or not
  std::size_t max_output_bytes_ = 0;
  bool output_truncated_ = false;
  std::string error_;
  std::size_t max_error_bytes_ = 0;
  bool error_truncated_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<int> exit_code_;  // once ended
  double cpu_seconds_ = 0;
};

struct ChildProcessResult {
  std::string start_error;  // why the program could not start; "" once it ran
  int exit_code = -1;       // a signal as shells report it: 128 + its number; -1 when it timed out
  bool timed_out = false;
  std::string output;
  std::string error;
  bool output_truncated = false;
  double seconds = 0;
};

// Runs the request to its end or its timeout.
ChildProcessResult run_child_process(const ChildProcessRequest& request);

}  // namespace tessera::core
