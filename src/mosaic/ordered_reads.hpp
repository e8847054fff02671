#pragma once

// Reads of a mosaic's items on the current environment's work pool, handed
// back in search order under the mosaic's caps: at most `max_reads` reads
// started, none after the deadline, and never more than one pool's worth
// ahead of the oldest result not yet taken (a slow read at the front must not
// let later reads run on unbounded: each would be one more read an early exit
// may not need, and one more result held until the front is taken). Tiles,
// points and statistics all read through it. Internal header.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/work_pool.hpp"
#include "tessera/environment.hpp"

namespace tessera::mosaic {

// What to do with the next item before it is read.
enum class Dispatch {
  kRead,
  kSkip,  // not needed (e.g. its footprint is already filled)
  kWait,  // reads in flight may make it unneeded: decide again when one ends
};

template <typename Result>
class OrderedReads {
 public:
  // Reads item n; nullopt when it has nothing there. Runs on a pool thread
  // under the caller's environment, possibly after the caller has returned
  // (so it must own what it uses); an exception fails that item only.
  using Read = std::function<std::optional<Result>(std::size_t n)>;
  // Decides about item n given the items being read now.
  using Decide = std::function<Dispatch(std::size_t n, const std::vector<std::size_t>& in_flight)>;

  struct Taken {
    std::size_t index = 0;
    std::optional<Result> result;  // nullopt: nothing there, or failed
    std::exception_ptr error;      // set when the read failed
  };

  OrderedReads(std::size_t count, Read read, std::size_t max_reads, std::chrono::steady_clock::time_point deadline,
               Decide decide = {})
      : environment_(Environment::current()),
        pool_(environment_.work_pool()),
        shared_(std::make_shared<Shared>()),
        read_(std::make_shared<const Read>(std::move(read))),
        decide_(std::move(decide)),
        count_(count),
        max_reads_(max_reads),
        deadline_(deadline) {
    shared_->states.assign(count, State::kWaiting);
    shared_->results.resize(count);
    shared_->errors.resize(count);
  }

  // The next item's outcome in order (skipped items are passed over), or
  // nullopt when every item is taken or a cap stopped the reads (stopped_by).
  // Reads still in flight when the caller stops taking finish on their own.
  std::optional<Taken> next() {
    std::unique_lock lock(shared_->mutex);
    for (;;) {
      while (next_taken_ < next_started_ && shared_->states[next_taken_] == State::kSkipped) {
        ++next_taken_;
      }
      if (next_taken_ < next_started_ && shared_->states[next_taken_] != State::kRunning) {
        const std::size_t n = next_taken_++;
        return Taken{n, std::move(shared_->results[n]), shared_->errors[n]};
      }
      if (next_taken_ == count_) {
        return std::nullopt;
      }
      if (!stopped_by_) {
        start_reads();
      }
      const auto running = running_reads();
      if (running.empty()) {
        if (next_taken_ == next_started_) {
          return std::nullopt;  // a cap stopped the reads and everything started is taken
        }
        continue;  // the front was skipped or finished: take it
      }
      if (shared_->changed.wait_until(lock, deadline_) == std::cv_status::timeout &&
          shared_->states[next_taken_] == State::kRunning) {
        stopped_by_ = "time_budget";
        return std::nullopt;
      }
    }
  }

  // Which cap stopped the reads ("max_items_read", "time_budget"), if any.
  [[nodiscard]] const std::optional<std::string>& stopped_by() const noexcept { return stopped_by_; }
  [[nodiscard]] std::size_t reads_started() const noexcept { return reads_started_; }
  // Items passed over by Dispatch::kSkip.
  [[nodiscard]] std::size_t skipped() const {
    const std::lock_guard lock(shared_->mutex);
    return static_cast<std::size_t>(std::count(shared_->states.begin(), shared_->states.end(), State::kSkipped));
  }

 private:
  enum class State { kWaiting, kRunning, kDone, kSkipped };

  // Shared with the reads in flight, which may outlive this object when a
  // cap stops the caller before they finish.
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<State> states;
    std::vector<std::optional<Result>> results;
    std::vector<std::exception_ptr> errors;
  };

  std::vector<std::size_t> running_reads() const {
    std::vector<std::size_t> running;
    for (std::size_t n = next_taken_; n < next_started_; ++n) {
      if (shared_->states[n] == State::kRunning) {
        running.push_back(n);
      }
    }
    return running;
  }

  // Starts reads in order while the caps allow; called with the lock held.
  void start_reads() {
    while (next_started_ < count_ && next_started_ - next_taken_ < pool_.thread_count()) {
      if (reads_started_ >= max_reads_) {
        stopped_by_ = "max_items_read";
        return;
      }
      if (std::chrono::steady_clock::now() >= deadline_) {
        stopped_by_ = "time_budget";
        return;
      }
      if (decide_) {
        const auto running = running_reads();
        const Dispatch dispatch = decide_(next_started_, running);
        if (dispatch == Dispatch::kSkip) {
          shared_->states[next_started_++] = State::kSkipped;
          continue;
        }
        if (dispatch == Dispatch::kWait && !running.empty()) {
          return;
        }
      }
      const std::size_t n = next_started_++;
      shared_->states[n] = State::kRunning;
      ++reads_started_;
      pool_.submit([shared = shared_, read = read_, n, &environment = environment_] {
        const Environment::Scope scope(environment);
        std::optional<Result> result;
        std::exception_ptr error;
        try {
          result = (*read)(n);
        } catch (...) {
          error = std::current_exception();
        }
        const std::lock_guard done(shared->mutex);
        shared->states[n] = State::kDone;
        shared->results[n] = std::move(result);
        shared->errors[n] = error;
        shared->changed.notify_all();
      });
    }
  }

  Environment& environment_;
  core::WorkPool& pool_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<const Read> read_;
  Decide decide_;
  std::size_t count_;
  std::size_t max_reads_;
  std::chrono::steady_clock::time_point deadline_;
  std::size_t next_taken_ = 0;
  std::size_t next_started_ = 0;
  std::size_t reads_started_ = 0;
  std::optional<std::string> stopped_by_;
};

}  // namespace tessera::mosaic
