#include "tiling/href_policy.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>

#include <cpl_vsi.h>
#include <fmt/format.h>

#include "core/gdal_env.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"
#include "tiling/dataset_cache.hpp"
#include "tiling/tile_data_cache.hpp"

namespace tessera::tiling {

namespace fs = std::filesystem;

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

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

// GDAL reads special meaning into /vsi prefixes and into a few other name
// forms (connection strings, inline XML); none may come from a request.
void refuse_gdal_syntax(std::string_view href) {
  if (href.empty()) {
    throw Error(ErrorCode::kInvalidInput, "href is empty");
  }
  for (const char c : href) {
    if (static_cast<unsigned char>(c) < 0x20) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' contains a control character", href));
    }
  }
  std::string lowered(href);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lowered.find("/vsi") != std::string::npos) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("href '{}': GDAL /vsi prefixes are not accepted in hrefs; use a path or URL", href));
  }
  if (lowered.front() == '<') {
    throw Error(ErrorCode::kInvalidInput, "href is inline XML, not a path or URL");
  }
}

std::string resolve_local(std::string_view path_text, const ReaderConfig& config) {
  std::error_code error;
  const fs::path absolute = fs::absolute(fs::path(path_text), error);
  if (error) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' is not a valid path", path_text));
  }
  // Symbolic links are resolved before the roots are checked, so a link
  // inside a root cannot lead outside it.
  const fs::path resolved = fs::weakly_canonical(absolute, error);
  if (error) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' is not a valid path", path_text));
  }
  if (!config.allowed_roots.empty()) {
    const bool inside = std::any_of(config.allowed_roots.begin(), config.allowed_roots.end(), [&](const auto& root) {
      std::error_code root_error;
      const fs::path canonical_root = fs::weakly_canonical(fs::absolute(root), root_error);
      if (root_error) {
        return false;
      }
      const auto [root_end, unused] =
          std::mismatch(canonical_root.begin(), canonical_root.end(), resolved.begin(), resolved.end());
      return root_end == canonical_root.end();
    });
    if (!inside) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' is outside the allowed local folders", path_text));
    }
  }
  return resolved.string();
}

std::string resolve_s3(std::string_view href, const ReaderConfig& config, State& shared) {
  const std::size_t slash = href.find('/', 5);
  if (slash == std::string_view::npos || slash + 1 == href.size()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("href '{}' names a bucket, not an object", href));
  }
  const std::string bucket_uri(href.substr(0, slash));
  const std::string key = storage::percent_decode(href.substr(slash + 1));
  const std::lock_guard lock(shared.mutex);
  auto found = shared.buckets.find(bucket_uri);
  if (found == shared.buckets.end()) {
    found = shared.buckets.emplace(bucket_uri, Storage::open(bucket_uri, config.storage_options)).first;
  }
  return found->second->gdal_path(key);
}

}  // namespace

std::shared_ptr<const ReaderConfig> current_config() {
  State& shared = state();
  const std::lock_guard lock(shared.mutex);
  return shared.config;
}

std::string resolve_href(std::string_view href) {
  refuse_gdal_syntax(href);
  const auto config = current_config();
  if (starts_with_ignoring_case(href, "http://") || starts_with_ignoring_case(href, "https://")) {
    const bool allowed = std::any_of(config->allowed_prefixes.begin(), config->allowed_prefixes.end(),
                                     [&](const std::string& prefix) { return href.starts_with(prefix); });
    if (!allowed) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("href '{}' is not under an allowed URL prefix (configure allowed_prefixes)", href));
    }
    return "/vsicurl/" + std::string(href);
  }
  if (starts_with_ignoring_case(href, "s3://")) {
    return resolve_s3(href, *config, state());
  }
  if (starts_with_ignoring_case(href, "file://")) {
    return resolve_local(storage::parse_uri(href).path, *config);
  }
  const std::size_t colon = href.find(':');
  const std::size_t slash = href.find('/');
  if (href.find("://") != std::string_view::npos ||
      (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash))) {
    // "PG:...", "WMS:...", "ftp://...": anything with a scheme tessera does not read.
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("href '{}': only local paths, file://, s3://, http:// and https:// are read", href));
  }
  return resolve_local(href, *config);
}

}  // namespace tessera::tiling

namespace tessera {

void configure(const ReaderConfig& config) {
  if (config.version != 1) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("ReaderConfig version {} is not supported (1)", config.version));
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
