#include "mosaic/work_pool.hpp"

#include <algorithm>

namespace tessera::mosaic {

WorkPool& WorkPool::instance() {
  // Never destroyed: its threads wait for work until the process ends.
  static WorkPool* const pool = new WorkPool();
  return *pool;
}

// Reads mostly wait on storage, so twice the cores keeps them busy; 4 at
// least, 16 at most.
WorkPool::WorkPool()
    : thread_count_(std::clamp<std::size_t>(2 * std::max(1U, std::thread::hardware_concurrency()), 4, 16)) {
  for (std::size_t n = 0; n < thread_count_; ++n) {
    threads_.emplace_back([this] { run(); });
  }
}

void WorkPool::submit(std::function<void()> task) {
  {
    const std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void WorkPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return !tasks_.empty(); });
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace tessera::mosaic
