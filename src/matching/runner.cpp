#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include <fmt/format.h>

#include "core/redact.hpp"
#include "storage/href_policy.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"
#include "tessera/matching.hpp"

namespace tessera {

using nlohmann::json;

namespace {

// The host variables every model gets, whatever its definition says.
constexpr std::array<const char*, 4> kAllowedHostVariables = {"PATH", "HOME", "LANG", "TMPDIR"};

// The child's environment: the allow-list, the host variables the model
// names in inherit_env, then the model's own env (which wins).
std::vector<std::string> model_environment(const json& model) {
  std::map<std::string, std::string> variables;
  const auto inherit = [&](const std::string& name) {
    if (const char* value = std::getenv(name.c_str())) {
      variables[name] = value;
    }
  };
  for (const char* name : kAllowedHostVariables) {
    inherit(name);
  }
  const json inherited = model.value("inherit_env", json::array());
  for (const json& name : inherited) {
    inherit(name.get<std::string>());
  }
  const json own = model.value("env", json::object());
  for (const auto& [name, value] : own.items()) {
    variables[name] = value.get<std::string>();
  }
  std::vector<std::string> environment;
  environment.reserve(variables.size());
  for (const auto& [name, value] : variables) {
    environment.push_back(name + "=" + value);
  }
  return environment;
}

// A folder only this process's user can enter, removed with the run.
class RunFolder {
 public:
  explicit RunFolder(const std::filesystem::path& parent) {
    std::filesystem::create_directories(parent);
    std::string pattern = (parent / "run-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorCode::kIo,
                  fmt::format("runner: cannot make a run folder in {}: {}", parent.string(), std::strerror(errno)));
    }
    path_ = pattern;  // mkdtemp makes it with mode 0700
  }
  ~RunFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// What an event keeps of a run's output, whatever the executor returned.
constexpr std::size_t kStoredLogLimit = 1 << 20;

std::string capped_log(std::string log) {
  if (log.size() > kStoredLogLimit) {
    log.resize(kStoredLogLimit);
    log += "\n[log truncated]";
  }
  return log;
}

// Whether an item's href may be a model's last argument: one the href policy
// allows, and never one a program could take for an option.
bool passable_href(const std::string& href) {
  if (href.empty() || href.front() == '-') {
    return false;
  }
  try {
    static_cast<void>(storage::check_href(href));
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

Runner::Runner(Matcher& matcher, RunnerOptions options, std::shared_ptr<RunExecutor> executor)
    : matcher_(matcher),
      options_(std::move(options)),
      executor_(executor ? std::move(executor) : std::make_shared<LocalProcessExecutor>()) {
  if (options_.concurrency == 0) {
    throw Error(ErrorCode::kInvalidInput, "runner: concurrency must be at least 1");
  }
  if (options_.lease_seconds < 0) {
    throw Error(ErrorCode::kInvalidInput, "runner: lease_seconds must not be negative");
  }
}

json Runner::run_pending() {
  const std::filesystem::path work_dir = options_.work_dir.empty()
                                             ? std::filesystem::temp_directory_path() / "tessera-runner"
                                             : std::filesystem::path(options_.work_dir);
  json records = json::array();
  std::size_t started = 0;
  for (;;) {
    std::size_t wave = options_.concurrency;
    if (options_.max_runs > 0) {
      wave = std::min(wave, options_.max_runs - started);
    }
    if (wave == 0) {
      break;
    }
    // Model by model, never more of a model's requests leased at once (by
    // any runner, in any process) than its concurrency: every claimed run
    // starts at once, so a lease only has to outlive the run itself.
    std::vector<MatchEvent> claimed;
    for (const json& model : matcher_.models()) {
      if (claimed.size() == wave) {
        break;
      }
      EventQuery query;
      query.kind = std::string(kRunRequested);
      query.model = model["id"].get<std::string>();
      query.claim = true;
      query.max_leased = model["runner"]["concurrency"].get<std::size_t>();
      query.limit = std::min(wave - claimed.size(), query.max_leased);
      query.lease_seconds =
          options_.lease_seconds > 0 ? options_.lease_seconds : model["runner"]["timeout"].get<double>() + 60;
      for (MatchEvent& event : matcher_.events(query)) {
        claimed.push_back(std::move(event));
      }
    }
    if (claimed.empty()) {
      break;
    }
    started += claimed.size();
    std::vector<std::future<json>> runs;
    for (const MatchEvent& event : claimed) {
      runs.push_back(std::async(std::launch::async, [&, event] {
        RunRequest request;
        request.event_id = event.id;
        request.model = event.model;
        request.aoi = event.payload.value("aoi", "");
        request.collection = event.payload.value("collection", "");
        request.item = event.payload.value("item", "");
        RunResult result;
        try {
          const json model = matcher_.get_model(request.model);
          request.command = model["command"].get<std::vector<std::string>>();
          request.timeout_seconds = model["runner"]["timeout"].get<double>();
          request.environment = model_environment(model);
          const RunFolder folder(work_dir);
          request.work_dir = folder.path().string();
          const json& href = event.payload["href"];
          if (href.is_string() && passable_href(href.get_ref<const std::string&>())) {
            request.command.push_back(href.get<std::string>());
          } else {
            // No usable href: the item's JSON text in a file whose name no id can steer.
            const std::filesystem::path path = folder.path() / "item.json";
            std::ofstream file(path, std::ios::binary | std::ios::trunc);
            file << matcher_.catalog().get_item(request.collection, request.item).dump();
            if (!file.flush()) {
              throw Error(ErrorCode::kIo, fmt::format("runner: cannot write {}", path.string()));
            }
            request.command.push_back(path.string());
          }
          try {
            result = executor_->execute(request);
          } catch (const std::exception& error) {
            result.error = error.what();
          }
        } catch (const std::exception& error) {
          result.error = error.what();
        }
        json record = {{"request", event.id},
                       {"model", request.model},
                       {"aoi", request.aoi},
                       {"collection", request.collection},
                       {"item", request.item},
                       {"command", request.command},
                       {"exit_code", result.exit_code},
                       {"timed_out", result.timed_out},
                       {"error", core::redact_secrets(result.error)},
                       {"log", core::redact_secrets(capped_log(std::move(result.log)))},
                       {"seconds", result.seconds}};
        const std::string_view kind = result.succeeded() ? kRunSucceeded : kRunFailed;
        record["event"] = matcher_.emit(kind, request.model, record);
        record["kind"] = kind;
        // Acknowledged only once the outcome is recorded: a crash before this
        // line gets the request delivered again.
        matcher_.ack(event.id);
        return record;
      }));
    }
    for (auto& run : runs) {
      records.push_back(run.get());
    }
  }
  return records;
}

}  // namespace tessera
