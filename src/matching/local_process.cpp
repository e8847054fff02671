#include "core/child_process.hpp"
#include "tessera/matching.hpp"

namespace tessera {

RunExecutor::~RunExecutor() = default;

RunResult LocalProcessExecutor::execute(const RunRequest& request) {
  RunResult result;
  if (request.command.empty()) {
    result.error = "the model has no command";
    return result;
  }
  core::ChildProcessRequest child;
  child.argv = request.command;
  // Only the variables the request names: never the host's credentials; the
  // program is looked up on the request's PATH, not the host's.
  child.environment = request.environment;
  child.work_dir = request.work_dir;
  child.merge_stderr = true;
  child.timeout_seconds = request.timeout_seconds;
  child.max_output_bytes = log_limit_;
  core::ChildProcessResult ran = core::run_child_process(child);
  result.error = std::move(ran.start_error);
  result.exit_code = ran.exit_code;
  result.timed_out = ran.timed_out;
  result.log = std::move(ran.output);
  result.seconds = ran.seconds;
  return result;
}

}  // namespace tessera
