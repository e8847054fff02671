#include "packaging/locks.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::packaging {

using nlohmann::json;

namespace {

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Names held by this process, so threads of one process exclude each other
// exactly whatever the storage.
class HeldNames {
 public:
  bool insert(const std::string& name) {
    const std::lock_guard lock(mutex_);
    return names_.insert(name).second;
  }
  void erase(const std::string& name) {
    const std::lock_guard lock(mutex_);
    names_.erase(name);
  }

 private:
  std::mutex mutex_;
  std::set<std::string> names_;
};

HeldNames& held_names() {
  static HeldNames names;
  return names;
}

class StorageLocks final : public Locks {
 public:
  StorageLocks(Storage& storage, std::chrono::seconds lease) : storage_(storage), lease_(lease) {}

  bool try_acquire(const std::string& name, const std::string& owner) override {
    const std::string process_name = storage_.root_uri() + "#" + name;
    if (!held_names().insert(process_name)) {
      return false;
    }
    try {
      if (take_marker(key_of(name), owner)) {
        return true;
      }
    } catch (...) {
      held_names().erase(process_name);
      throw;
    }
    held_names().erase(process_name);
    return false;
  }

  void renew(const std::string& name, const std::string& owner) override {
    const std::string key = key_of(name);
    bool held = false;
    try {
      held = json::parse(storage_.get(key)).value("owner", "") == owner;
    } catch (const Error& error) {
      if (error.code() != ErrorCode::kNotFound) {
        throw;
      }
    } catch (const json::exception&) {
    }
    if (!held) {
      throw Error(ErrorCode::kConflict,
                  fmt::format("lock '{}' was lost (its marker {} was taken over)", name, storage_.uri(key)));
    }
    storage_.put(key, marker(owner));
  }

  [[nodiscard]] std::chrono::seconds lease() const noexcept override { return lease_; }

  void release(const std::string& name, const std::string& owner) override {
    const std::string key = key_of(name);
    try {
      if (storage_.exists(key) && json::parse(storage_.get(key)).value("owner", "") == owner) {
        storage_.remove(key);
      }
    } catch (const std::exception& error) {
      tessera::log(LogLevel::kWarning, fmt::format("releasing lock '{}': {}", name, error.what()));
    }
    held_names().erase(storage_.root_uri() + "#" + name);
  }

 private:
  static std::string key_of(const std::string& name) { return ".tessera/locks/" + name + ".json"; }

  std::string marker(const std::string& owner) const {
    return json{{"owner", owner},
                {"host", host_name()},
                {"pid", ::getpid()},
                {"acquired_unix_ms", now_ms()},
                {"expires_unix_ms", now_ms() + lease_.count() * 1000}}
        .dump();
  }

  // A marker left by a process that is gone, or past its lease.
  bool stale(const std::string& key) {
    json held;
    try {
      held = json::parse(storage_.get(key));
    } catch (const Error& error) {
      return error.code() == ErrorCode::kNotFound;
    } catch (const json::exception&) {
      return true;  // a marker that is not JSON was never written by a lock holder
    }
    if (held.value("expires_unix_ms", std::int64_t{0}) < now_ms()) {
      return true;
    }
    const auto pid = held.value("pid", 0);
    if (held.value("host", "") != host_name() || pid <= 0) {
      return false;
    }
    // This process's own marker: held_names() already keeps its threads
    // apart, so the marker is one whose release failed (the storage was
    // unreachable then) and would otherwise block this process until the
    // lease ends.
    if (pid == ::getpid()) {
      return true;
    }
    return ::kill(pid, 0) != 0 && errno == ESRCH;
  }

  bool take_marker(const std::string& key, const std::string& owner) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (storage_.put_if_absent(key, marker(owner))) {
        return true;
      }
      if (!stale(key)) {
        return false;
      }
      tessera::log(LogLevel::kWarning, fmt::format("taking over stale lock '{}'", key));
      try {
        storage_.remove(key);
      } catch (const Error& error) {
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
      }
    }
    return false;
  }

  Storage& storage_;
  std::chrono::seconds lease_;
};

class CatalogLocks final : public Locks {
 public:
  CatalogLocks(Catalog& catalog, std::chrono::seconds lease) : catalog_(catalog), lease_(lease) {}

  bool try_acquire(const std::string& name, const std::string& owner) override {
    return catalog_.try_lock("tessera-package:" + name, owner, lease_);
  }
  void renew(const std::string& name, const std::string& owner) override {
    catalog_.renew_lock("tessera-package:" + name, owner, lease_);
  }

  [[nodiscard]] std::chrono::seconds lease() const noexcept override { return lease_; }

  void release(const std::string& name, const std::string& owner) override {
    try {
      catalog_.unlock("tessera-package:" + name, owner);
    } catch (const std::exception& error) {
      tessera::log(LogLevel::kWarning, fmt::format("releasing lock '{}': {}", name, error.what()));
    }
  }

 private:
  Catalog& catalog_;
  std::chrono::seconds lease_;
};

}  // namespace

HeldLock::HeldLock(Locks& locks, std::string name, std::string owner)
    : locks_(locks), name_(std::move(name)), owner_(std::move(owner)) {
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(locks_.lease()) / 4;
  heartbeat_ = std::thread([this, interval] {
    std::unique_lock lock(mutex_);
    while (!stop_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      std::optional<std::string> failure;
      try {
        locks_.renew(name_, owner_);
      } catch (const Error& error) {
        // Unreachable storage may come back before the lease ends: only a
        // hold that is gone (Conflict) stops the holder.
        if (error.code() == ErrorCode::kConflict) {
          failure = error.what();
        } else {
          tessera::log(LogLevel::kWarning, fmt::format("renewing lock '{}': {}", name_, error.what()));
        }
      } catch (const std::exception& error) {
        tessera::log(LogLevel::kWarning, fmt::format("renewing lock '{}': {}", name_, error.what()));
      }
      lock.lock();
      if (failure) {
        lost_ = std::move(failure);
        return;
      }
    }
  });
}

HeldLock::~HeldLock() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  heartbeat_.join();
  locks_.release(name_, owner_);
}

void HeldLock::check() const {
  const std::lock_guard lock(mutex_);
  if (lost_) {
    // Retryable: a re-run takes the lock again.
    throw Error(ErrorCode::kUnavailable, *lost_);
  }
}

std::unique_ptr<Locks> catalog_locks(Catalog& catalog, std::chrono::seconds lease) {
  return std::make_unique<CatalogLocks>(catalog, lease);
}

std::unique_ptr<Locks> storage_locks(Storage& storage, std::chrono::seconds lease) {
  return std::make_unique<StorageLocks>(storage, lease);
}

bool acquire_waiting(Locks& locks, const std::string& name, const std::string& owner, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll, const std::function<void()>& between_tries) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!locks.try_acquire(name, owner)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    if (between_tries) {
      between_tries();
    }
    std::this_thread::sleep_for(poll);
  }
  return true;
}

std::string new_owner_token() {
  std::random_device random;
  return fmt::format("{}:{}:{:08x}{:08x}", host_name(), ::getpid(), random(), random());
}

}  // namespace tessera::packaging
