#pragma once

// A bounded pool of database connections for the catalog backends. A caller
// holds a connection for the length of one call; idle connections that lost
// their server (Connection::healthy() false) are dropped, so the next call
// connects afresh.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace tessera::catalog {

template <typename Connection>
class ConnectionPool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;
  ConnectionPool(Factory factory, std::size_t capacity) : factory_(std::move(factory)), capacity_(capacity) {}

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    ~Lease() { pool_.release(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection* operator->() const noexcept { return connection_.get(); }
    Connection& operator*() const noexcept { return *connection_; }

   private:
    ConnectionPool& pool_;
    std::unique_ptr<Connection> connection_;
  };

  // Waits while `capacity` connections are in use.
  Lease acquire() {
    std::unique_lock lock(mutex_);
    for (;;) {
      while (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        if (connection->healthy()) {
          return Lease(*this, std::move(connection));
        }
        --created_;
      }
      if (created_ < capacity_) {
        ++created_;
        lock.unlock();
        try {
          return Lease(*this, factory_());
        } catch (...) {
          lock.lock();
          --created_;
          throw;
        }
      }
      available_.wait(lock);
    }
  }

 private:
  void release(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    if (connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      --created_;
    }
    available_.notify_one();
  }

  Factory factory_;
  std::size_t capacity_;
  std::size_t created_ = 0;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace tessera::catalog
