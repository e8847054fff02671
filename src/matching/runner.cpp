#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <thread>

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

// The item as the model's last argument: its href when the model takes
// hrefs and the policy allows it, else the path of its JSON text in the
// run's folder.
std::string item_argument(Matcher& matcher, const json& model, const json& run, const std::filesystem::path& folder) {
  const json& href = run["href"];
  if (model.value("item_argument", "href") == "href" && href.is_string() &&
      passable_href(href.get_ref<const std::string&>())) {
    return href.get<std::string>();
  }
  // A file whose name no id can steer.
  const std::filesystem::path path = folder / "item.json";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << matcher.catalog().get_item(run["collection"].get<std::string>(), run["item"].get<std::string>()).dump();
  if (!file.flush()) {
    throw Error(ErrorCode::kIo, fmt::format("runner: cannot write {}", path.string()));
  }
  return path.string();
}

// A run this runner has submitted (or picked up) and polls.
struct ActiveRun {
  json run;
  std::int64_t request = 0;  // the run_requested event, acknowledged when the run ends
  std::string job;
  std::unique_ptr<RunFolder> folder;
  std::string log;    // what this runner saw of its output, for the returned record
  std::string token;  // the run's callback token, never stored
};

// `text` without the run's callback token: its log is readable by anyone who may read runs.
std::string without_token(std::string text, const std::string& token) {
  if (token.empty()) {
    return text;
  }
  for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.replace(at, token.size(), core::kRedacted);
  }
  return text;
}

// One run_pending or serve call: claims requests into free slots, submits
// them, polls the jobs.
class RunLoop {
 public:
  RunLoop(Matcher& matcher, const RunnerOptions& options, RunExecutor& executor)
      : matcher_(matcher),
        options_(options),
        executor_(executor),
        work_dir_(options.work_dir.empty() ? std::filesystem::temp_directory_path() / "tessera-runner"
                                           : std::filesystem::path(options.work_dir)) {}

  ~RunLoop() {
    // Runs still going when the loop stops (serve): their jobs are stopped
    // and their requests left for another runner to pick up after the lease.
    for (ActiveRun& active : active_) {
      if (!active.job.empty()) {
        try {
          executor_.cancel(active.job);
        } catch (const std::exception& error) {
          log(LogLevel::kWarning, fmt::format("runner: cancelling {}: {}", active.job, error.what()));
        }
      }
    }
  }

  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;

  // Claims and submits what the free slots allow; the number claimed.
  std::size_t fill() {
    std::size_t slots = options_.concurrency > active_.size() ? options_.concurrency - active_.size() : 0;
    if (options_.max_runs > 0) {
      slots = std::min(slots, options_.max_runs - std::min(options_.max_runs, claimed_));
    }
    std::size_t claimed = 0;
    // Model by model, never more of a model's requests leased at once (by
    // any runner, in any process) than its concurrency: a request stays
    // leased, unacknowledged, until its run ends.
    for (const json& model : slots > 0 ? matcher_.models() : json::array()) {
      if (claimed == slots) {
        break;
      }
      EventQuery query;
      query.kind = std::string(kRunRequested);
      query.model = model["id"].get<std::string>();
      query.claim = true;
      query.max_leased = model["runner"]["concurrency"].get<std::size_t>();
      query.limit = std::min(slots - claimed, query.max_leased);
      query.lease_seconds =
          options_.lease_seconds > 0 ? options_.lease_seconds : model["runner"]["timeout"].get<double>() + 60;
      for (const MatchEvent& event : matcher_.events(query)) {
        ++claimed;
        start(event);
      }
    }
    claimed_ += claimed;
    return claimed;
  }

  // Asks each job how it is; records transitions and ends. The number of runs that ended.
  std::size_t poll() {
    std::size_t ended = 0;
    for (auto it = active_.begin(); it != active_.end();) {
      if (step(*it)) {
        it = active_.erase(it);
        ++ended;
      } else {
        ++it;
      }
    }
    return ended;
  }

  [[nodiscard]] bool idle() const noexcept { return active_.empty(); }
  [[nodiscard]] bool exhausted() const noexcept { return options_.max_runs > 0 && claimed_ >= options_.max_runs; }
  json& records() noexcept { return records_; }

 private:
  void start(const MatchEvent& event) {
    ActiveRun active;
    active.request = event.id;
    try {
      active.run = matcher_.open_run(event);
    } catch (const std::exception& error) {
      // A request that names no run (malformed payload): recorded as failed and done with.
      record({{"request", event.id}, {"model", event.model}, {"error", core::redact_secrets(error.what())}}, kRunFailed,
             "");
      matcher_.emit(kRunFailed, event.model, records_.back());
      matcher_.ack(event.id);
      return;
    }
    const std::string id = active.run["id"].get<std::string>();
    const RunState state = run_state_from_name(active.run["state"].get<std::string>());
    if (run_state_is_final(state)) {
      matcher_.ack(event.id);  // ended before a runner crashed (or cancelled before it started)
      return;
    }
    if (state != RunState::kRequested && active.run["job"].is_string()) {
      // Delivered again after a runner stopped: poll the job it submitted.
      active.job = active.run["job"].get<std::string>();
      active_.push_back(std::move(active));
      return;
    }
    try {
      const json model = matcher_.get_model(event.model);
      RunRequest request;
      request.run_id = id;
      request.event_id = event.id;
      request.model = event.model;
      request.aoi = active.run["aoi"].get<std::string>();
      request.collection = active.run["collection"].get<std::string>();
      request.item = active.run["item"].get<std::string>();
      request.command = model["command"].get<std::vector<std::string>>();
      request.timeout_seconds = model["runner"]["timeout"].get<double>();
      request.executor = model.value("executor", json::object());
      request.environment = model_environment(model);
      request.environment.push_back("TESSERA_RUN_ID=" + id);
      if (options_.callback) {
        json described = active.run;
        described["timeout"] = request.timeout_seconds;  // how long its token must live
        auto [url, token] = options_.callback(described);
        request.environment.push_back("TESSERA_CALLBACK_URL=" + url);
        request.environment.push_back("TESSERA_CALLBACK_TOKEN=" + token);
        active.token = std::move(token);
      }
      active.folder = std::make_unique<RunFolder>(work_dir_);
      request.work_dir = active.folder->path().string();
      request.command.push_back(item_argument(matcher_, model, active.run, active.folder->path()));
      active.job = executor_.submit(request);
      if (auto submitted =
              matcher_.transition_run(id, RunState::kSubmitted, {{"job", active.job}, {"command", request.command}})) {
        active.run = std::move(*submitted);
      }
      active_.push_back(std::move(active));
    } catch (const std::exception& error) {
      finish(active, RunState::kFailed, {{"error", core::redact_secrets(error.what())}});
    }
  }

  // True when the run has ended.
  bool step(ActiveRun& active) {
    const std::string id = active.run["id"].get<std::string>();
    const json stored = matcher_.get_run(id);
    if (stored["state"] == run_state_name(RunState::kCancelled)) {
      try {
        executor_.cancel(active.job);
      } catch (const std::exception& error) {
        // The run is cancelled whatever the executor says; its job may run on.
        log(LogLevel::kWarning,
            fmt::format("runner: cancelling job {} of run {}: {}", active.job, id, core::redact_secrets(error.what())));
      }
      active.run = stored;
      record(active.run, kRunCancelled, active.log);
      matcher_.ack(active.request);
      return true;
    }
    RunStatus status;
    try {
      status = executor_.status(active.job);
    } catch (const std::exception& error) {
      status.state = RunState::kFailed;
      status.error = error.what();
    }
    if (!status.log.empty()) {
      const std::string text = without_token(std::move(status.log), active.token);
      matcher_.append_run_log(id, text);
      active.log = capped_log(active.log + core::redact_secrets(text));
    }
    if (!run_state_is_final(status.state)) {
      if (status.state == RunState::kRunning && stored["state"] == run_state_name(RunState::kSubmitted)) {
        if (auto running = matcher_.transition_run(id, RunState::kRunning)) {
          active.run = std::move(*running);
        }
      }
      return false;
    }
    finish(active, status.state,
           {{"exit_code", status.exit_code},
            {"timed_out", status.state == RunState::kTimedOut},
            {"error", core::redact_secrets(status.error)},
            {"seconds", status.seconds}});
    return true;
  }

  void finish(ActiveRun& active, RunState state, const json& changes) {
    const std::string id = active.run["id"].get<std::string>();
    // Nullopt when the run ended meanwhile (the model reported success through its callback).
    auto ended = matcher_.transition_run(id, state, changes);
    active.run = ended ? std::move(*ended) : matcher_.get_run(id);
    record(active.run, transition_kind(active.run["state"].get<std::string>()), active.log);
    // Acknowledged only once the outcome is recorded: a crash before this
    // line gets the request delivered again.
    matcher_.ack(active.request);
    active.folder.reset();
  }

  static std::string_view transition_kind(const std::string& state) {
    const RunState value = run_state_from_name(state);
    return value == RunState::kSucceeded   ? kRunSucceeded
           : value == RunState::kTimedOut  ? kRunTimedOut
           : value == RunState::kCancelled ? kRunCancelled
                                           : kRunFailed;
  }

  void record(json run, std::string_view kind, const std::string& log) {
    run["kind"] = kind;
    run["log"] = log;
    records_.push_back(std::move(run));
  }

  Matcher& matcher_;
  const RunnerOptions& options_;
  RunExecutor& executor_;
  std::filesystem::path work_dir_;
  std::list<ActiveRun> active_;
  std::size_t claimed_ = 0;
  json records_ = json::array();
};

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
  if (!(options_.poll_seconds > 0) || options_.poll_seconds > 60) {
    throw Error(ErrorCode::kInvalidInput, "runner: poll_seconds must be more than 0 and at most 60");
  }
}

json Runner::run_pending() {
  RunLoop loop(matcher_, options_, *executor_);
  for (;;) {
    const std::size_t claimed = loop.exhausted() ? 0 : loop.fill();
    // A run that just ended frees its model's slot: claim again before giving up.
    const std::size_t ended = loop.poll();
    if (claimed == 0 && ended == 0 && loop.idle()) {
      break;
    }
    if (!loop.idle()) {
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_seconds));
    }
  }
  return std::move(loop.records());
}

void Runner::serve(const std::atomic<bool>& stop) {
  RunLoop loop(matcher_, options_, *executor_);
  while (!stop.load()) {
    try {
      loop.fill();
      loop.poll();
    } catch (const std::exception& error) {
      // A database that is busy or away for a moment: the next poll tries again.
      log(LogLevel::kWarning, fmt::format("runner: {}", core::redact_secrets(error.what())));
    }
    loop.records() = json::array();  // nobody reads them: the runs and their events hold it all
    std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_seconds));
  }
}

}  // namespace tessera
