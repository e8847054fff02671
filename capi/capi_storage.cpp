#include <memory>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "tessera/storage.hpp"

namespace {

using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::guarded;

tessera::StorageOptions parse_options(const tsr_storage_options* options) {
  tessera::StorageOptions parsed;
  if (options == nullptr) {
    return parsed;
  }
  if (options->version == 0 || options->version > TSR_STORAGE_OPTIONS_VERSION) {
    throw Error(ErrorCode::kInvalidInput, "tsr_storage_options: unknown version (use tsr_storage_options_init)");
  }
  if (options->options_json == nullptr) {
    return parsed;
  }
  const auto json = nlohmann::json::parse(options->options_json, nullptr, false);
  if (!json.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "tsr_storage_options.options_json: expected a JSON object");
  }
  for (const auto& [name, value] : json.items()) {
    if (!value.is_string()) {
      throw Error(ErrorCode::kInvalidInput,
                  "tsr_storage_options.options_json: value of '" + name + "' is not a string");
    }
    parsed[name] = value.get<std::string>();
  }
  return parsed;
}

tessera::Storage& storage_of(tsr_storage storage, const char* function) {
  tessera::capi::require(storage, function, "storage");
  return *storage->impl;
}

void hand_out_bytes(const std::string& bytes, void** out_data, size_t* out_size) {
  *out_data = tessera::capi::copy_string(bytes);
  *out_size = bytes.size();
}

}  // namespace

extern "C" {

tsr_status tsr_storage_options_init(tsr_storage_options* options, unsigned int version) {
  return guarded([&] {
    TSR_REQUIRE(options);
    if (version == 0 || version > TSR_STORAGE_OPTIONS_VERSION) {
      throw Error(ErrorCode::kInvalidInput, "tsr_storage_options_init: unknown version");
    }
    *options = tsr_storage_options{version, nullptr};
  });
}

tsr_status tsr_storage_open(const char* uri, const tsr_storage_options* options, tsr_storage* out_storage) {
  return guarded([&] {
    TSR_REQUIRE(uri);
    TSR_REQUIRE(out_storage);
    auto handle = std::make_unique<tsr_storage_s>();
    handle->impl = tessera::Storage::open(uri, parse_options(options));
    *out_storage = handle.release();
  });
}

void tsr_storage_destroy(tsr_storage* storage) {
  if (storage == nullptr || *storage == nullptr) {
    return;
  }
  delete *storage;
  *storage = nullptr;
}

tsr_status tsr_storage_put(tsr_storage storage, const char* key, const void* data, size_t size) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(key);
    if (size > 0) {
      TSR_REQUIRE(data);
    }
    impl.put(key, std::string_view(static_cast<const char*>(data), size));
  });
}

tsr_status tsr_storage_put_file(tsr_storage storage, const char* key, const char* source_path) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    impl.put_file(TSR_REQUIRE(key), TSR_REQUIRE(source_path));
  });
}

tsr_status tsr_storage_get(tsr_storage storage, const char* key, void** out_data, size_t* out_size) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(key);
    TSR_REQUIRE(out_data);
    TSR_REQUIRE(out_size);
    hand_out_bytes(impl.get(key), out_data, out_size);
  });
}

tsr_status tsr_storage_read_range(tsr_storage storage, const char* key, uint64_t offset, uint64_t length,
                                  void** out_data, size_t* out_size) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(key);
    TSR_REQUIRE(out_data);
    TSR_REQUIRE(out_size);
    hand_out_bytes(impl.read_range(key, offset, length), out_data, out_size);
  });
}

tsr_status tsr_storage_exists(tsr_storage storage, const char* key, bool* out_exists) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(key);
    TSR_REQUIRE(out_exists);
    *out_exists = impl.exists(key);
  });
}

tsr_status tsr_storage_stat(tsr_storage storage, const char* key, char** out_json) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(key);
    TSR_REQUIRE(out_json);
    const auto info = impl.stat(key);
    const nlohmann::json json = {{"key", info.key}, {"size", info.size}, {"modified_unix_ms", info.modified_unix_ms}};
    *out_json = tessera::capi::copy_string(json.dump());
  });
}

tsr_status tsr_storage_list(tsr_storage storage, const char* prefix, bool recursive, char** out_json) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(out_json);
    const nlohmann::json keys = impl.list(prefix != nullptr ? prefix : "", recursive);
    *out_json = tessera::capi::copy_string(keys.dump());
  });
}

tsr_status tsr_storage_remove(tsr_storage storage, const char* key) {
  return guarded([&] { storage_of(storage, __func__).remove(TSR_REQUIRE(key)); });
}

tsr_status tsr_storage_uri(tsr_storage storage, const char* key, char** out_uri) {
  return guarded([&] {
    auto& impl = storage_of(storage, __func__);
    TSR_REQUIRE(key);
    TSR_REQUIRE(out_uri);
    *out_uri = tessera::capi::copy_string(impl.uri(key));
  });
}

}  // extern "C"
