#include "tessera/environment.hpp"

#include <mutex>

#include <fmt/format.h>

#include "core/gdal_env.hpp"
#include "core/work_pool.hpp"
#include "storage/environment_state.hpp"
#include "tessera/error.hpp"

namespace tessera {

namespace {

void validate_config(const ReaderConfig& config) {
  if (config.max_image_size < 1 || config.max_expression_length < 1 || config.max_expression_depth < 1 ||
      config.max_request_values < 1) {
    throw Error(
        ErrorCode::kInvalidInput,
        "ReaderConfig: max_image_size, max_expression_length, max_expression_depth and max_request_values must be "
        "positive");
  }
  for (const auto& prefix : config.allowed_prefixes) {
    if (!prefix.starts_with("http://") && !prefix.starts_with("https://")) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("allowed prefix '{}' must start with http:// or https://", prefix));
    }
    // A bare host prefix would also allow "https://example.com.evil.org".
    if (prefix.find('/', prefix.find("://") + 3) == std::string::npos) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("allowed prefix '{}' must end the host with '/' (e.g. '{}/')", prefix, prefix));
    }
  }
}

std::shared_ptr<const storage::EnvironmentState> make_state(const ReaderConfig& config) {
  validate_config(config);
  return std::make_shared<const storage::EnvironmentState>(config);
}

thread_local Environment* current_environment = nullptr;

}  // namespace

struct Environment::Impl {
  mutable std::mutex mutex;
  std::shared_ptr<const storage::EnvironmentState> state;
  // Made on first use: a host's environments that never read start no threads.
  mutable std::once_flag pool_made;
  mutable std::unique_ptr<core::WorkPool> pool;
};

Environment::Environment(const ReaderConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->state = make_state(config);
  gdal::ensure_initialized();
}

Environment::~Environment() {
  // Reads still running (a capped mosaic tile does not wait for its last
  // ones) finish while the settings they run under are still there.
  impl_->pool.reset();
}

void Environment::configure(const ReaderConfig& config) {
  auto state = make_state(config);
  const std::lock_guard lock(impl_->mutex);
  impl_->state = std::move(state);
}

ReaderConfig Environment::config() const { return state()->config(); }

std::shared_ptr<const storage::EnvironmentState> Environment::state() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->state;
}

core::WorkPool& Environment::work_pool() const {
  std::call_once(impl_->pool_made, [this] { impl_->pool = std::make_unique<core::WorkPool>(); });
  return *impl_->pool;
}

Environment& Environment::process_default() {
  // Never destroyed: closing GDAL datasets from a static destructor at exit
  // runs after PROJ's own statics are gone, and its threads wait for work
  // until the process ends.
  static Environment* const environment = new Environment();
  return *environment;
}

Environment& Environment::current() {
  return current_environment != nullptr ? *current_environment : process_default();
}

Environment::Scope::Scope(Environment& environment) noexcept : previous_(current_environment) {
  current_environment = &environment;
}

Environment::Scope::~Scope() { current_environment = previous_; }

void configure(const ReaderConfig& config) { Environment::process_default().configure(config); }

ReaderConfig reader_config() { return Environment::current().config(); }

}  // namespace tessera
