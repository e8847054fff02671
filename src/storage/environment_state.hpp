#pragma once

// One configuration of an Environment: its settings and the parts modules
// build for them (open datasets, decoded tiles, S3 buckets, ...). A new
// configuration is a new state, so reads in flight keep the one they started
// with and no part outlives the settings it was built for. Internal header.

#include <memory>
#include <mutex>
#include <typeindex>
#include <unordered_map>

#include "tessera/environment.hpp"

namespace tessera::storage {

class EnvironmentState {
 public:
  // `config` must have passed validate_config.
  explicit EnvironmentState(ReaderConfig config) : config_(std::move(config)) {}

  [[nodiscard]] const ReaderConfig& config() const noexcept { return config_; }

  // This state's part of type T, made with T(config()) on first use. Parts
  // let modules above storage keep their caches here without storage
  // knowing their types.
  template <class T>
  [[nodiscard]] std::shared_ptr<T> part() const {
    const std::lock_guard lock(mutex_);
    std::shared_ptr<void>& slot = parts_[std::type_index(typeid(T))];
    if (!slot) {
      slot = std::make_shared<T>(config_);
    }
    return std::static_pointer_cast<T>(slot);
  }

 private:
  ReaderConfig config_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::type_index, std::shared_ptr<void>> parts_;
};

// The state of the environment current on this thread.
inline std::shared_ptr<const EnvironmentState> current_state() { return Environment::current().state(); }

}  // namespace tessera::storage
