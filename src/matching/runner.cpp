#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/log.hpp"
#include "tessera/matching.hpp"

namespace tessera {

using nlohmann::json;

namespace {

// At most `limit` holders per model at once.
class ModelSlots {
 public:
  void acquire(const std::string& model, std::int64_t limit) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return running_[model] < limit; });
    ++running_[model];
  }
  void release(const std::string& model) {
    {
      std::lock_guard lock(mutex_);
      --running_[model];
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::int64_t> running_;
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
}

json Runner::run_pending() {
  double lease = options_.lease_seconds;
  if (lease == 0) {
    // A claim must outlive the longest run it may start.
    double longest = 0;
    for (const json& model : matcher_.models()) {
      longest = std::max(longest, model["runner"]["timeout"].get<double>());
    }
    lease = longest + 60;
  }
  const std::filesystem::path work_dir = options_.work_dir.empty()
                                             ? std::filesystem::temp_directory_path() / "tessera-runner"
                                             : std::filesystem::path(options_.work_dir);
  json records = json::array();
  ModelSlots slots;
  std::size_t started = 0;
  for (;;) {
    std::size_t wave = options_.concurrency;
    if (options_.max_runs > 0) {
      wave = std::min(wave, options_.max_runs - started);
    }
    if (wave == 0) {
      break;
    }
    EventQuery query;
    query.kind = std::string(kRunRequested);
    query.claim = true;
    query.limit = wave;
    query.lease_seconds = lease;
    const std::vector<MatchEvent> claimed = matcher_.events(query);
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
        std::int64_t limit = 1;
        try {
          const json model = matcher_.get_model(request.model);
          request.command = model["command"].get<std::vector<std::string>>();
          request.timeout_seconds = model["runner"]["timeout"].get<double>();
          limit = model["runner"]["concurrency"].get<std::int64_t>();
          const json& href = event.payload["href"];
          if (href.is_string()) {
            request.command.push_back(href.get<std::string>());
          } else {
            // No href: the item's JSON text in a file.
            const std::filesystem::path folder = work_dir / request.collection;
            std::filesystem::create_directories(folder);
            const std::filesystem::path path = folder / (request.item + ".json");
            std::ofstream(path) << matcher_.catalog().get_item(request.collection, request.item).dump();
            request.command.push_back(path.string());
          }
          slots.acquire(request.model, limit);
          try {
            result = executor_->execute(request);
          } catch (const std::exception& error) {
            result.error = error.what();
          }
          slots.release(request.model);
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
                       {"error", result.error},
                       {"log", result.log},
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
