#pragma once

// A bounded set of threads that reads run on, so many concurrent requests
// never start more reads at once than it has threads. Each Environment owns
// one. Internal header.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::core {

class WorkPool {
 public:
  // Reads mostly wait on storage, so twice the cores keeps them busy; 4 at
  // least, 16 at most.
  WorkPool();
  // Waits for the running tasks; queued ones are dropped (their owners wait
  // for them, so none are left when a pool is destroyed).
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Runs `task` on a pool thread; tasks must not throw.
  void submit(std::function<void()> task);
  [[nodiscard]] std::size_t thread_count() const noexcept { return threads_.size(); }

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tessera::core
