#pragma once

// Named locks that keep two jobs from producing the same outputs at once.
// Internal header.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tessera/catalog.hpp"
#include "tessera/storage.hpp"

namespace tessera::packaging {

class Locks {
 public:
  virtual ~Locks() = default;
  // True when `owner` now holds `name`; false while another owner holds it.
  virtual bool try_acquire(const std::string& name, const std::string& owner) = 0;
  virtual void release(const std::string& name, const std::string& owner) = 0;
  // Extends `owner`'s hold for another lease; Conflict when the hold was
  // lost (taken over, or the catalog session holding it is gone).
  virtual void renew(const std::string& name, const std::string& owner) = 0;
  // How long a hold lasts unless renewed.
  [[nodiscard]] virtual std::chrono::seconds lease() const noexcept = 0;
};

// Holds a lock taken with try_acquire and renews it every quarter lease on a
// thread of its own until dropped (then releases it). A lost hold is
// remembered: check() throws it (Unavailable, retryable), so the holder
// stops at its next step instead of working on unlocked.
class HeldLock {
 public:
  HeldLock(Locks& locks, std::string name, std::string owner);
  ~HeldLock();
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;
  void check() const;

 private:
  Locks& locks_;
  std::string name_;
  std::string owner_;
  mutable std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::optional<std::string> lost_;
  std::thread heartbeat_;
};

// Markers under ".tessera/locks/" on the storage: created exclusively
// (O_EXCL) on a local storage; on S3 written and read back, which is exact
// within a process and best effort between processes (give the packager a
// catalog there). A marker whose process is gone (same host) or whose lease
// ran out is taken over, so a crashed job can be re-run.
std::unique_ptr<Locks> storage_locks(Storage& storage, std::chrono::seconds lease);

// Locks in the catalog backend (Catalog::try_lock): a row in a SQLite write
// transaction, a PostgreSQL advisory lock.
std::unique_ptr<Locks> catalog_locks(Catalog& catalog, std::chrono::seconds lease);

// Tries `locks` every `poll` until it is taken (true) or `timeout` passes
// (false). `between_tries` (when set) runs before each wait and may throw to
// stop waiting (a cancelled job).
bool acquire_waiting(Locks& locks, const std::string& name, const std::string& owner, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll, const std::function<void()>& between_tries = {});

// The identity of this process ("host:pid") and a fresh random owner token.
std::string new_owner_token();

}  // namespace tessera::packaging
