#include "service/geoprocessing_command.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "core/child_process.hpp"
#include "service/bounded_json.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;

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
  core::ChildProcessRequest request;
  request.argv = argv;
  request.input = input.dump();
  request.timeout_seconds = timeout_seconds;
  // One byte past the limit tells output over it from output at it.
  request.max_output_bytes = limits.max_output_bytes + 1;
  request.max_error_bytes = std::max<std::size_t>(limits.max_log_bytes, 4096);
  std::optional<core::ChildProcess> child;
  try {
    child.emplace(request);
  } catch (const Error& error) {
    throw Error(ErrorCode::kIo, fmt::format("command: {}", error.what()));
  }
  LogLines log(context, limits.max_log_bytes);
  const auto check_output = [&] {
    if (child->output_truncated()) {
      throw Error(ErrorCode::kIo,
                  fmt::format("command: '{}' wrote more than {} bytes", argv.front(), limits.max_output_bytes));
    }
  };
  // Until it exits (or the time is up, or the task is abandoned: the child's
  // whole group is killed as it goes out of scope), its stderr streamed into
  // the task's log; polls of at most 100 ms keep the checks timely.
  while (!child->exited()) {
    if (context.cancelled() || std::chrono::steady_clock::now() >= child->deadline()) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("command: '{}' did not finish within {} s", argv.front(), timeout_seconds));
    }
    child->transfer(100);
    log.add(child->take_error());
    check_output();
  }
  const int exit_code = child->end();
  log.add(child->take_error());
  log.flush();
  context.add_cpu_seconds(child->cpu_seconds());
  check_output();
  if (exit_code != 0) {
    // A signal is reported as shells do: 128 + its number.
    const std::string how = exit_code > 128 ? fmt::format("was killed by signal {}", exit_code - 128)
                                            : fmt::format("exited with status {}", exit_code);
    throw Error(ErrorCode::kIo, log.last().empty()
                                    ? fmt::format("command: '{}' {}", argv.front(), how)
                                    : fmt::format("command: '{}' {}: {}", argv.front(), how, log.last()));
  }
  json result = parse_bounded_json(child->take_output());
  if (result.is_discarded()) {
    throw Error(ErrorCode::kIo, fmt::format("command: '{}' did not write JSON (nested at most {} deep) on stdout",
                                            argv.front(), kMaxJsonDepth));
  }
  return result;
}

}  // namespace tessera::service
