// The environment C entry points: the process default's settings and
// environments of a host's own, made current per thread.

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capi_internal.hpp"
#include "capi_options.hpp"
#include "tessera/environment.hpp"

struct tsr_environment_s {
  std::unique_ptr<tessera::Environment> impl;
};

namespace {

using tessera::capi::guarded;
using tessera::capi::Options;

tessera::ReaderConfig reader_config_of(const char* config_json, const char* function) {
  const Options options(config_json, function, "config_json",
                        {"version", "allowed_prefixes", "allowed_roots", "storage_options", "allowed_drivers",
                         "allowed_vector_drivers", "dataset_cache_size", "tile_cache_bytes", "max_image_size",
                         "max_expression_length", "max_expression_depth", "max_request_values"});
  tessera::ReaderConfig config;
  // The JSON document's own version (1); the C++ struct has none.
  if (const auto version = options.int32("version"); version && *version != 1) {
    throw tessera::Error(tessera::ErrorCode::kInvalidInput, std::string(function) + ": config_json version " +
                                                                std::to_string(*version) + " is not supported (1)");
  }
  config.allowed_prefixes = options.strings("allowed_prefixes").value_or(std::vector<std::string>{});
  config.allowed_roots = options.strings("allowed_roots").value_or(std::vector<std::string>{});
  if (const auto drivers = options.strings("allowed_drivers")) {
    config.allowed_drivers = *drivers;
  }
  if (const auto drivers = options.strings("allowed_vector_drivers")) {
    config.allowed_vector_drivers = *drivers;
  }
  config.storage_options = options.storage_options("storage_options");
  if (const auto size = options.integer("dataset_cache_size", 0, 1000000)) {
    config.dataset_cache_size = static_cast<std::size_t>(*size);
  }
  if (const auto bytes = options.integer("tile_cache_bytes", 0, std::numeric_limits<std::int64_t>::max())) {
    config.tile_cache_bytes = static_cast<std::size_t>(*bytes);
  }
  if (const auto size = options.integer("max_image_size", 1, 65536)) {
    config.max_image_size = static_cast<int>(*size);
  }
  if (const auto length = options.integer("max_expression_length", 1, 1 << 20)) {
    config.max_expression_length = static_cast<std::size_t>(*length);
  }
  if (const auto depth = options.integer("max_expression_depth", 1, 1024)) {
    config.max_expression_depth = static_cast<std::size_t>(*depth);
  }
  if (const auto values = options.integer("max_request_values", 1, std::numeric_limits<std::int64_t>::max())) {
    config.max_request_values = static_cast<std::size_t>(*values);
  }
  return config;
}

// The room a C signer gets for its URL, the NUL included.
constexpr std::size_t kSignedUrlCapacity = 16384;

// The scope tsr_environment_use set on this thread.
thread_local std::optional<tessera::Environment::Scope> used_environment;

}  // namespace

extern "C" {

tsr_status tsr_configure_reader(const char* config_json) {
  return guarded([&] {
    tessera::ReaderConfig config = reader_config_of(config_json, "tsr_configure_reader");
    config.href_signer = tessera::Environment::process_default().config().href_signer;
    tessera::configure(config);
  });
}

tsr_status tsr_environment_new(const char* config_json, tsr_environment* out_environment) {
  return guarded([&] {
    TSR_REQUIRE(out_environment);
    auto handle = std::make_unique<tsr_environment_s>();
    handle->impl = std::make_unique<tessera::Environment>(reader_config_of(config_json, "tsr_environment_new"));
    *out_environment = handle.release();
  });
}

tsr_status tsr_environment_configure(tsr_environment environment, const char* config_json) {
  return guarded([&] {
    tessera::Environment& target = *TSR_REQUIRE(environment)->impl;
    tessera::ReaderConfig config = reader_config_of(config_json, "tsr_environment_configure");
    config.href_signer = target.config().href_signer;
    target.configure(config);
  });
}

tsr_status tsr_set_href_signer(tsr_environment environment, tsr_href_signer signer, void* user_data) {
  return guarded([&] {
    tessera::Environment& target =
        environment != nullptr ? *environment->impl : tessera::Environment::process_default();
    tessera::ReaderConfig config = target.config();
    config.href_signer = nullptr;
    if (signer != nullptr) {
      config.href_signer = [signer, user_data](const std::string& url) {
        std::vector<char> signed_url(kSignedUrlCapacity, '\0');
        if (signer(user_data, url.c_str(), signed_url.data(), signed_url.size()) != 0) {
          throw tessera::Error(tessera::ErrorCode::kUnavailable, "the host's href signer failed");
        }
        if (signed_url.back() != '\0') {
          throw tessera::Error(tessera::ErrorCode::kInvalidInput, "the host's href signer wrote an unterminated URL");
        }
        return std::string(signed_url.data());
      };
    }
    target.configure(config);
  });
}

tsr_status tsr_environment_use(tsr_environment environment) {
  return guarded([&] {
    used_environment.reset();
    if (environment != nullptr) {
      used_environment.emplace(*environment->impl);
    }
  });
}

void tsr_environment_destroy(tsr_environment* environment) {
  if (environment == nullptr || *environment == nullptr) {
    return;
  }
  delete *environment;
  *environment = nullptr;
}

}  // extern "C"
