#include "tiling/href_policy.hpp"

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "core/gdal_env.hpp"
#include "storage/href_policy.hpp"
#include "tessera/error.hpp"
#include "tiling/dataset_cache.hpp"
#include "tiling/tile_data_cache.hpp"

namespace tessera::tiling {

namespace {

struct State {
  std::mutex mutex;
  std::shared_ptr<const ReaderConfig> config = std::make_shared<ReaderConfig>();
  // One Storage per bucket: opening one (re)applies the bucket's GDAL
  // settings, which must not happen under a read in flight.
  std::map<std::string, std::unique_ptr<Storage>, std::less<>> buckets;
};

State& state() {
  static State instance;
  return instance;
}

std::string resolve_s3(const storage::CheckedHref& object, const ReaderConfig& config, State& shared) {
  const std::lock_guard lock(shared.mutex);
  auto found = shared.buckets.find(object.location);
  if (found == shared.buckets.end()) {
    found = shared.buckets.emplace(object.location, Storage::open(object.location, config.storage_options)).first;
  }
  return found->second->gdal_path(object.key);
}

}  // namespace

std::shared_ptr<const ReaderConfig> current_config() {
  State& shared = state();
  const std::lock_guard lock(shared.mutex);
  return shared.config;
}

std::string resolve_href(std::string_view href) {
  const storage::CheckedHref checked = storage::check_href(href);
  switch (checked.kind) {
    case storage::HrefKind::kHttp:
      return "/vsicurl/" + checked.location;
    case storage::HrefKind::kS3:
      return resolve_s3(checked, *current_config(), state());
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

namespace tessera {

void configure(const ReaderConfig& config) {
  if (config.max_image_size < 1 || config.max_expression_length < 1 || config.max_expression_depth < 1 ||
      config.max_request_values < 1) {
    throw Error(
        ErrorCode::kInvalidInput,
        "ReaderConfig: max_image_size, max_expression_length, max_expression_depth and max_request_values must be "
        "positive");
  }
  storage::set_href_policy(
      {config.allowed_prefixes, config.allowed_roots, config.allowed_drivers, config.allowed_vector_drivers});
  gdal::ensure_initialized();
  auto& shared = tiling::state();
  {
    const std::lock_guard lock(shared.mutex);
    shared.config = std::make_shared<const ReaderConfig>(config);
    shared.buckets.clear();
  }
  tiling::DatasetCache::instance().clear(config.dataset_cache_size);
  // Cached pixels may come from hrefs the new allow-list refuses.
  tiling::TileDataCache::instance().reset(config.tile_cache_bytes);
}

ReaderConfig reader_config() { return *tiling::current_config(); }

}  // namespace tessera
