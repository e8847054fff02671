// Package jobs by boundary and processor names: a bounded queue and pool of
// worker threads (or an executor the host gives, such as a Dask cluster),
// duplicate submissions joined, recent jobs listed, cancellation.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "packaging/datapackage.hpp"
#include "packaging/definitions.hpp"
#include "packaging/job_record.hpp"
#include "tessera/log.hpp"
#include "tessera/packaging.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr const char* kStatuses[] = {"pending", "running", "completed", "failed", "cancelled"};

}  // namespace

struct PackageJobs::Impl {
  struct Job {
    std::string id;
    std::string key;  // boundary id and sorted processor names: what duplicates share
    std::string boundary_id;
    std::vector<std::string> processors;
    std::vector<DatasetDefinition> datasets;
    bool queued = false;    // waiting for a worker
    bool finished = false;  // its run on this pool ended (executor jobs: never set)
  };

  Impl(Packager& packager_in, PackageJobOptions options_in) : packager(packager_in), options(std::move(options_in)) {
    if (options.workers == 0 || options.parallelism == 0) {
      throw Error(ErrorCode::kInvalidInput, "PackageJobOptions: workers and parallelism must be at least 1");
    }
    if (!options.executor) {
      for (std::size_t i = 0; i < options.workers; ++i) {
        workers.emplace_back([this] { work(); });
      }
    }
  }

  ~Impl() {
    std::vector<std::shared_ptr<Job>> running;
    {
      const std::lock_guard lock(mutex);
      stopping = true;
      while (!queue.empty()) {
        cancel_queued(*queue.front());
        queue.pop_front();
      }
      for (const auto& entry : active) {
        if (!entry.second->finished && !options.executor) {
          running.push_back(entry.second);
        }
      }
    }
    for (const auto& job : running) {
      try {
        packager.cancel_job(job->id);
      } catch (const std::exception& error) {
        tessera::log(LogLevel::kWarning, fmt::format("package job {}: not cancelled: {}", job->id, error.what()));
      }
    }
    wake.notify_all();
    for (auto& worker : workers) {
      worker.join();
    }
  }

  void work() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) {
          return;
        }
        job = queue.front();
        queue.pop_front();
        job->queued = false;
      }
      BuildOptions build;
      build.job_id = job->id;
      build.parallelism = options.parallelism;
      build.lock_timeout = options.lock_timeout;
      build.storage_options = options.storage_options;
      try {
        packager.build(job->boundary_id, job->datasets, build);
      } catch (const std::exception& error) {
        // The job's record says how it ended; the log keeps the reason too.
        tessera::log(LogLevel::kInfo, error.what());
      }
      const std::lock_guard lock(mutex);
      job->finished = true;
      forget(*job);
    }
  }

  // Drops `job` from the jobs a submission can join (the caller holds the mutex).
  void forget(const Job& job) {
    const auto found = active.find(job.key);
    if (found != active.end() && found->second->id == job.id) {
      active.erase(found);
    }
  }

  // Records a job that never started as cancelled (the caller holds the mutex).
  void cancel_queued(Job& job) {
    job.queued = false;
    job.finished = true;
    forget(job);
    try {
      json record = packager.job_status(job.id);
      record["status"] = "cancelled";
      record["step"] = "cancelled";
      record["error"] = "the job was cancelled before it started";
      record["finished"] = packaging::now_rfc3339();
      for (auto& dataset : record["datasets"]) {
        dataset["status"] = "cancelled";
        dataset["step"] = "cancelled";
      }
      packaging::save_job_record(packager.storage(), record);
    } catch (const std::exception& error) {
      tessera::log(LogLevel::kWarning,
                   fmt::format("package job {}: status 'cancelled' not saved: {}", job.id, error.what()));
    }
  }

  // Whether `job` is pending or running (the caller holds the mutex). Its
  // record says so first: a pool job's record is final a moment before its
  // worker marks it finished, an executor's job is only known by its record.
  bool is_active(const Job& job) {
    if (job.finished) {
      return false;
    }
    try {
      return !packaging::is_finished(packager.job_status(job.id).value("status", ""));
    } catch (const Error&) {
      return false;
    }
  }

  Packager& packager;
  PackageJobOptions options;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::deque<std::shared_ptr<Job>> queue;
  std::deque<std::shared_ptr<Job>> history;            // newest last, at most options.history
  std::map<std::string, std::shared_ptr<Job>> active;  // by key: the job a duplicate joins
  std::vector<std::thread> workers;                    // last: started once the rest is set
};

PackageJobs::PackageJobs(Packager& packager, PackageJobOptions options)
    : impl_(std::make_unique<Impl>(packager, std::move(options))) {}

PackageJobs::~PackageJobs() = default;

json PackageJobs::submit(std::string_view boundary_name, const std::vector<std::string>& processors) {
  if (processors.empty()) {
    throw Error(ErrorCode::kInvalidInput, "processors: name at least one processor (\"<dataset>/<version>\")");
  }
  const Boundary boundary = impl_->packager.boundary(boundary_name);
  auto job = std::make_shared<Impl::Job>();
  job->boundary_id = boundary.id;
  job->processors = processors;
  job->datasets = impl_->packager.processor_definitions(processors);
  std::vector<std::string> sorted = processors;
  std::sort(sorted.begin(), sorted.end());
  job->key = boundary.id;
  for (const auto& name : sorted) {
    job->key += "|" + name;
  }
  {
    const std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      throw Error(ErrorCode::kUnavailable, "package jobs: shutting down");
    }
    if (const auto found = impl_->active.find(job->key);
        found != impl_->active.end() && impl_->is_active(*found->second)) {
      const json record = impl_->packager.job_status(found->second->id);
      return {{"id", found->second->id}, {"status", record.value("status", "pending")}, {"duplicate", true}};
    }
    if (!impl_->options.executor && impl_->queue.size() >= impl_->options.max_queued) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("package jobs: {} jobs are waiting already; submit again later", impl_->queue.size()));
    }
    job->id = packaging::new_job_id();
    // The record exists from now on, so status() answers for a queued job.
    const packaging::JobRecord record(impl_->packager.storage(), job->id, boundary.id, job->datasets);
    impl_->active[job->key] = job;
    impl_->history.push_back(job);
    // What is not remembered cannot be joined either: `active` stays as bounded as the history.
    while (impl_->history.size() > std::max<std::size_t>(1, impl_->options.history)) {
      impl_->forget(*impl_->history.front());
      impl_->history.pop_front();
    }
    if (!impl_->options.executor) {
      job->queued = true;
      impl_->queue.push_back(job);
      impl_->wake.notify_one();
      return {{"id", job->id}, {"status", "pending"}, {"duplicate", false}};
    }
  }
  json handed = {{"id", job->id},
                 {"boundary", job->boundary_id},
                 {"processors", job->processors},
                 {"datasets", json::array()},
                 {"parallelism", impl_->options.parallelism},
                 {"lock_timeout_ms", impl_->options.lock_timeout.count()}};
  for (const auto& dataset : job->datasets) {
    handed["datasets"].push_back(dataset.to_json());
  }
  try {
    impl_->options.executor(handed);
  } catch (const std::exception& error) {
    const std::lock_guard lock(impl_->mutex);
    impl_->forget(*job);
    json record = impl_->packager.job_status(job->id);
    record["status"] = "failed";
    record["error"] = fmt::format("the executor did not take the job: {}", error.what());
    record["finished"] = packaging::now_rfc3339();
    packaging::save_job_record(impl_->packager.storage(), record);
    throw;
  }
  return {{"id", job->id}, {"status", "pending"}, {"duplicate", false}};
}

json PackageJobs::status(std::string_view id) { return impl_->packager.job_status(id); }

json PackageJobs::list(const PackageJobFilter& filter) {
  if (!filter.status.empty() &&
      std::none_of(std::begin(kStatuses), std::end(kStatuses), [&](const char* s) { return filter.status == s; })) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("status: '{}' is not a job status (pending, running, completed, failed, cancelled)",
                            filter.status));
  }
  const std::string boundary = filter.boundary.empty() ? std::string() : packaging::slug(filter.boundary);
  std::vector<std::string> ids;
  {
    const std::lock_guard lock(impl_->mutex);
    for (auto job = impl_->history.rbegin(); job != impl_->history.rend(); ++job) {
      if (boundary.empty() || (*job)->boundary_id == boundary) {
        ids.push_back((*job)->id);
      }
    }
  }
  json jobs = json::array();
  for (const auto& id : ids) {
    if (jobs.size() >= filter.limit) {
      break;
    }
    json record;
    try {
      record = impl_->packager.job_status(id);
    } catch (const Error& error) {
      if (error.code() != ErrorCode::kNotFound) {
        throw;
      }
      continue;  // removed from the storage since
    }
    if (filter.status.empty() || record.value("status", "") == filter.status) {
      jobs.push_back(std::move(record));
    }
  }
  return jobs;
}

json PackageJobs::cancel(std::string_view id) {
  {
    const std::lock_guard lock(impl_->mutex);
    const auto queued = std::find_if(impl_->queue.begin(), impl_->queue.end(),
                                     [&](const std::shared_ptr<Impl::Job>& job) { return job->id == id; });
    if (queued != impl_->queue.end()) {
      impl_->cancel_queued(**queued);
      impl_->queue.erase(queued);
      return impl_->packager.job_status(id);
    }
  }
  return impl_->packager.cancel_job(id);
}

}  // namespace tessera
