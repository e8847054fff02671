// CommandExecutor: a batch system's submit/status/cancel commands, run as
// child processes of the runner (through LocalProcessExecutor, so they are
// spawned without a shell and killed at their timeout).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "core/redact.hpp"
#include "tessera/error.hpp"
#include "tessera/matching.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tessera {

using nlohmann::json;

namespace {

std::vector<std::string> command_field(const json& settings, const char* name, bool required) {
  const auto found = settings.find(name);
  if (found == settings.end()) {
    if (required) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("command executor: {}: required, an argument list", name));
    }
    return {};
  }
  if (!found->is_array() || found->empty() ||
      !std::all_of(found->begin(), found->end(), [](const json& part) { return part.is_string(); })) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("command executor: {}: must be a non-empty array of strings", name));
  }
  return found->get<std::vector<std::string>>();
}

// `text` with every "{name}" of `values` replaced.
std::string substituted(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{" + name + "}";
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

// The {executor.NAME} placeholders of `text` filled from the model's settings.
std::string with_executor_settings(std::string text, const json& settings) {
  constexpr std::string_view kPrefix = "{executor.";
  for (std::size_t at = text.find(kPrefix); at != std::string::npos; at = text.find(kPrefix, at)) {
    const std::size_t end = text.find('}', at);
    if (end == std::string::npos) {
      break;
    }
    const std::string name = text.substr(at + kPrefix.size(), end - at - kPrefix.size());
    const auto found = settings.find(name);
    if (found == settings.end() || !(found->is_string() || found->is_number())) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("command executor: the model's executor settings have no string or number '{}'", name));
    }
    const std::string value = found->is_string() ? found->get<std::string>() : found->dump();
    text.replace(at, end + 1 - at, value);
    at += value.size();
  }
  return text;
}

std::vector<std::string> host_environment() {
  std::vector<std::string> variables;
  for (char** variable = environ; variable != nullptr && *variable != nullptr; ++variable) {
    variables.emplace_back(*variable);
  }
  return variables;
}

std::string first_line(const std::string& text) {
  std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) {
    return {};
  }
  const std::size_t end = text.find_first_of("\r\n", start);
  std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  return line;
}

}  // namespace

CommandExecutorOptions CommandExecutorOptions::from_json(const json& settings) {
  if (!settings.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "command executor: settings must be an object {submit, status, cancel}");
  }
  CommandExecutorOptions options;
  options.submit = command_field(settings, "submit", true);
  options.status = command_field(settings, "status", true);
  options.cancel = command_field(settings, "cancel", true);
  if (settings.contains("command_timeout")) {
    const json& timeout = settings["command_timeout"];
    if (!timeout.is_number() || !(timeout.get<double>() > 0)) {
      throw Error(ErrorCode::kInvalidInput, "command executor: command_timeout: must be a positive number of seconds");
    }
    options.command_timeout_seconds = timeout.get<double>();
  }
  return options;
}

CommandExecutor::CommandExecutor(CommandExecutorOptions options) : options_(std::move(options)) {
  for (const auto* command : {&options_.submit, &options_.status, &options_.cancel}) {
    if (command->empty()) {
      throw Error(ErrorCode::kInvalidInput, "command executor: submit, status and cancel commands are required");
    }
  }
  if (!(options_.command_timeout_seconds > 0)) {
    throw Error(ErrorCode::kInvalidInput, "command executor: command_timeout_seconds must be positive");
  }
}

CommandExecutor::~CommandExecutor() = default;

std::string CommandExecutor::run(const std::vector<std::string>& command, const std::string& where,
                                 const std::string& work_dir) {
  RunRequest request;
  request.command = command;
  request.environment = host_environment();
  request.timeout_seconds = options_.command_timeout_seconds;
  request.work_dir = work_dir;
  const std::string job = processes_.submit(request);
  std::string output;
  for (;;) {
    RunStatus status = processes_.status(job);
    output += status.log;
    if (status.state == RunState::kSucceeded) {
      return output;
    }
    if (run_state_is_final(status.state)) {
      throw Error(
          ErrorCode::kIo,
          core::redact_secrets(fmt::format(
              "command executor: the {} command ({}) {}: {}", where, command[0],
              status.state == RunState::kTimedOut ? "timed out" : fmt::format("exited with {}", status.exit_code),
              output.substr(0, 2000))));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string CommandExecutor::submit(const RunRequest& request) {
  json environment = json::object();
  for (const std::string& variable : request.environment) {
    const std::size_t equals = variable.find('=');
    environment[variable.substr(0, equals)] = equals == std::string::npos ? "" : variable.substr(equals + 1);
  }
  const std::map<std::string, std::string> values = {
      {"run", request.run_id},
      {"model", request.model},
      {"aoi", request.aoi},
      {"collection", request.collection},
      {"item", request.item},
      {"timeout", fmt::format("{}", request.timeout_seconds)},
      {"work_dir", request.work_dir},
      {"item_argument", request.command.empty() ? std::string() : request.command.back()},
      {"command_json", json(request.command).dump()},
      {"environment_json", environment.dump()}};
  std::vector<std::string> command;
  for (const std::string& part : options_.submit) {
    if (part == "{command}") {
      command.insert(command.end(), request.command.begin(), request.command.end());
    } else {
      command.push_back(with_executor_settings(substituted(part, values), request.executor));
    }
  }
  const std::string job = first_line(run(command, "submit", request.work_dir));
  if (job.empty()) {
    throw Error(ErrorCode::kIo, "command executor: the submit command printed no job id");
  }
  return job;
}

RunStatus CommandExecutor::status(const std::string& job) {
  std::vector<std::string> command;
  for (const std::string& part : options_.status) {
    command.push_back(substituted(part, {{"job", job}}));
  }
  const std::string output = run(command, "status", {});
  RunStatus status;
  const std::string line = first_line(output);
  const json answer = json::parse(output, nullptr, false);
  if (answer.is_object()) {
    if (!answer.contains("state") || !answer["state"].is_string()) {
      throw Error(ErrorCode::kIo, fmt::format("command executor: the status of job '{}' has no \"state\"", job));
    }
    status.state = run_state_from_name(answer["state"].get<std::string>());
    status.exit_code = answer.value("exit_code", -1);
    status.log = answer.value("log", "");
    status.error = answer.value("error", "");
    status.seconds = answer.value("seconds", 0.0);
  } else {
    status.state = run_state_from_name(line);
    status.exit_code = status.state == RunState::kSucceeded ? 0 : -1;
  }
  return status;
}

void CommandExecutor::cancel(const std::string& job) {
  std::vector<std::string> command;
  for (const std::string& part : options_.cancel) {
    command.push_back(substituted(part, {{"job", job}}));
  }
  run(command, "cancel", {});
}

}  // namespace tessera
