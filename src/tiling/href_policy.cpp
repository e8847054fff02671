#include "tiling/href_policy.hpp"

#include <map>
#include <mutex>

#include "storage/environment_state.hpp"
#include "storage/href_policy.hpp"

namespace tessera::tiling {

namespace {

// One Storage per bucket and environment state: opening one (re)applies the
// bucket's GDAL settings, which must not happen under a read in flight.
class S3Buckets {
 public:
  explicit S3Buckets(const ReaderConfig& config) : options_(config.storage_options) {}

  std::string gdal_path(const storage::CheckedHref& object) {
    const std::lock_guard lock(mutex_);
    auto found = buckets_.find(object.location);
    if (found == buckets_.end()) {
      found = buckets_.emplace(object.location, Storage::open(object.location, options_)).first;
    }
    return found->second->gdal_path(object.key);
  }

 private:
  StorageOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Storage>, std::less<>> buckets_;
};

}  // namespace

std::shared_ptr<const ReaderConfig> current_config() {
  auto state = storage::current_state();
  const ReaderConfig* config = &state->config();
  return {std::move(state), config};
}

std::string resolve_href(std::string_view href) {
  const storage::CheckedHref checked = storage::check_href(href);
  switch (checked.kind) {
    case storage::HrefKind::kHttp:
      return storage::http_gdal_path(checked);
    case storage::HrefKind::kS3:
      return storage::current_state()->part<S3Buckets>()->gdal_path(checked);
    case storage::HrefKind::kLocalPath:
      break;
  }
  return checked.location;
}

ExpressionLimits expression_limits() {
  const auto config = current_config();
  ExpressionLimits limits;
  limits.max_length = config->max_expression_length;
  limits.max_depth = config->max_expression_depth;
  return limits;
}

}  // namespace tessera::tiling
