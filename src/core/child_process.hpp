#pragma once

// Runs a program as a child process: posix_spawn with the argument list as
// given (no shell), its own process group (killed whole after it exits or
// times out), input on stdin, stdout and stderr captured up to a limit each.
// Shared by the model runs of matching and the item generator of ingest.

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
  std::string input;          // written to stdin, which is then closed
  bool merge_stderr = false;  // stderr goes to `output` too
  double timeout_seconds = 60;
  std::size_t max_output_bytes = std::size_t{1} << 20;  // more is dropped (output_truncated)
  std::size_t max_error_bytes = std::size_t{64} << 10;
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

ChildProcessResult run_child_process(const ChildProcessRequest& request);

}  // namespace tessera::core
