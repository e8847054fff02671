#pragma once

// The bounded set of threads mosaic reads run on, shared by every tile being
// built in the process, so many concurrent tiles never start more reads at
// once than it has threads. Internal header.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::mosaic {

class WorkPool {
 public:
  static WorkPool& instance();
  // Runs `task` on a pool thread; tasks must not throw.
  void submit(std::function<void()> task);
  [[nodiscard]] std::size_t thread_count() const noexcept { return thread_count_; }

 private:
  WorkPool();
  void run();

  std::size_t thread_count_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
};

}  // namespace tessera::mosaic
