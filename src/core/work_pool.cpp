#include "core/work_pool.hpp"

#include <algorithm>

namespace tessera::core {

WorkPool::WorkPool() {
  const std::size_t count = std::clamp<std::size_t>(2 * std::max(1U, std::thread::hardware_concurrency()), 4, 16);
  for (std::size_t n = 0; n < count; ++n) {
    threads_.emplace_back([this] { run(); });
  }
}

WorkPool::~WorkPool() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    tasks_.clear();
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    thread.join();
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
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) {
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace tessera::core
