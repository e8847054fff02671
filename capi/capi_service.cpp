// The service C entry points: a Service over a catalog handle (or none),
// answering requests given as JSON (method, path, query, headers) plus body bytes.

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "capi_geoprocessing.hpp"
#include "capi_internal.hpp"
#include "capi_options.hpp"
#include "tessera/service.hpp"

struct tsr_service_s {
  std::unique_ptr<tessera::Service> impl;
};

namespace {

using nlohmann::json;
using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::guarded;
using tessera::capi::Options;

tessera::ServiceOptions service_options_of(const char* options_json) {
  const Options options(options_json, "tsr_service_new", "options_json",
                        {"title",
                         "description",
                         "max_body_bytes",
                         "max_limit",
                         "default_limit",
                         "cors_origins",
                         "browser_dir",
                         "jwks",
                         "issuers",
                         "audience",
                         "leeway_seconds",
                         "require_auth",
                         "allow_anonymous_writes",
                         "stac",
                         "tiles",
                         "viewer_dir",
                         "basemap_path",
                         "cache_max_age_seconds",
                         "pyramid_dir",
                         "packages",
                         "geoprocessing"});
  tessera::ServiceOptions parsed;
  parsed.title = options.string("title").value_or(parsed.title);
  parsed.description = options.string("description").value_or(parsed.description);
  if (const auto bytes = options.integer("max_body_bytes", 0, std::int64_t{1} << 40)) {
    parsed.max_body_bytes = static_cast<std::size_t>(*bytes);
  }
  if (const auto limit = options.integer("max_limit", 1, 1000000)) {
    parsed.max_limit = static_cast<std::size_t>(*limit);
  }
  if (const auto limit = options.integer("default_limit", 1, 1000000)) {
    parsed.default_limit = static_cast<std::size_t>(*limit);
  }
  parsed.cors_origins = options.strings("cors_origins").value_or(std::vector<std::string>{});
  parsed.browser_dir = options.string("browser_dir").value_or(std::string{});
  parsed.auth.jwks = options.string("jwks").value_or(std::string{});
  parsed.auth.issuers = options.strings("issuers").value_or(std::vector<std::string>{});
  parsed.auth.audience = options.string("audience").value_or(std::string{});
  if (const auto leeway = options.integer("leeway_seconds", 0, 3600)) {
    parsed.auth.leeway_seconds = static_cast<int>(*leeway);
  }
  parsed.auth.require_auth = options.boolean("require_auth").value_or(false);
  parsed.auth.allow_anonymous_writes = options.boolean("allow_anonymous_writes").value_or(false);
  parsed.stac = options.boolean("stac").value_or(parsed.stac);
  parsed.tiles = options.boolean("tiles").value_or(parsed.tiles);
  parsed.viewer_dir = options.string("viewer_dir").value_or(std::string{});
  parsed.basemap_path = options.string("basemap_path").value_or(std::string{});
  if (const auto max_age = options.integer("cache_max_age_seconds", 0, 31536000)) {
    parsed.cache_max_age_seconds = static_cast<int>(*max_age);
  }
  parsed.pyramid_dir = options.string("pyramid_dir").value_or(std::string{});
  if (const json* packages = options.find("packages")) {
    parsed.packages = tessera::PackagesServiceOptions::from_json(*packages, "tsr_service_new: options_json.packages");
  }
  if (const json* geoprocessing = options.find("geoprocessing")) {
    parsed.geoprocessing = tessera::capi::geoprocessing_options_of(*geoprocessing, "tsr_service_new");
  }
  parsed.models.enabled = options.boolean("models").value_or(false);
  parsed.models.callback_key = options.string("callback_key").value_or(std::string{});
  return parsed;
}

// [["name", "value"], ...] or {"name": "value", ...} as pairs.
std::vector<std::pair<std::string, std::string>> pairs_of(const json& value, const char* member) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (value.is_null()) {
    return pairs;
  }
  const std::string where = std::string("tsr_service_handle: request_json: '") + member + "'";
  if (value.is_object()) {
    for (const auto& [name, text] : value.items()) {
      if (!text.is_string()) {
        throw Error(ErrorCode::kInvalidInput, where + ": values must be strings");
      }
      pairs.emplace_back(name, text.get<std::string>());
    }
    return pairs;
  }
  if (!value.is_array()) {
    throw Error(ErrorCode::kInvalidInput, where + ": expected an object or an array of [name, value] pairs");
  }
  for (const auto& pair : value) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      throw Error(ErrorCode::kInvalidInput, where + ": expected [name, value] string pairs");
    }
    pairs.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return pairs;
}

tessera::HttpRequest request_of(const char* request_json, const void* body, size_t body_size) {
  const json request = tessera::capi::parse_json_argument(request_json, "tsr_service_handle", "request_json");
  if (!request.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "tsr_service_handle: request_json must be a JSON object");
  }
  if (body == nullptr && body_size > 0) {
    throw Error(ErrorCode::kInvalidInput, "tsr_service_handle: body is NULL but body_size is not 0");
  }
  tessera::HttpRequest parsed;
  for (const auto& [member, text] : request.items()) {
    if (member == "method" || member == "path") {
      if (!text.is_string()) {
        throw Error(ErrorCode::kInvalidInput, "tsr_service_handle: request_json: '" + member + "' must be a string");
      }
      (member == "method" ? parsed.method : parsed.path) = text.get<std::string>();
    } else if (member == "query") {
      parsed.query = pairs_of(text, "query");
    } else if (member == "headers") {
      parsed.headers = pairs_of(text, "headers");
    } else {
      throw Error(ErrorCode::kInvalidInput, "tsr_service_handle: request_json: unknown member '" + member + "'");
    }
  }
  if (body_size > 0) {
    parsed.body.assign(static_cast<const char*>(body), body_size);
  }
  return parsed;
}

}  // namespace

extern "C" {

tsr_status tsr_service_new(tsr_catalog catalog, const char* options_json, tsr_service* out_service) {
  return guarded([&] {
    TSR_REQUIRE(out_service);
    auto handle = std::make_unique<tsr_service_s>();
    // Without a catalog: the COG tiles and the viewer only.
    handle->impl = catalog == nullptr
                       ? std::make_unique<tessera::Service>(service_options_of(options_json))
                       : std::make_unique<tessera::Service>(tessera::capi::catalog_of(catalog, "tsr_service_new"),
                                                            service_options_of(options_json));
    *out_service = handle.release();
  });
}

tsr_status tsr_service_handle(tsr_service service, const char* request_json, const void* body, size_t body_size,
                              char** out_response_json, void** out_body, size_t* out_body_size) {
  return guarded([&] {
    TSR_REQUIRE(out_response_json);
    TSR_REQUIRE(out_body);
    TSR_REQUIRE(out_body_size);
    const tessera::HttpRequest request = request_of(request_json, body, body_size);
    const tessera::HttpResponse response = TSR_REQUIRE(service)->impl->handle(request);
    json headers = json::array();
    for (const auto& [name, value] : response.headers) {
      headers.push_back({name, value});
    }
    char* head = tessera::capi::copy_string(json{{"status", response.status}, {"headers", headers}}.dump());
    void* bytes = std::malloc(response.body.empty() ? 1 : response.body.size());
    if (bytes == nullptr) {
      std::free(head);
      throw std::bad_alloc();
    }
    std::memcpy(bytes, response.body.data(), response.body.size());
    *out_response_json = head;
    *out_body = bytes;
    *out_body_size = response.body.size();
  });
}

void tsr_service_destroy(tsr_service* service) {
  if (service == nullptr || *service == nullptr) {
    return;
  }
  delete *service;
  *service = nullptr;
}

}  // extern "C"
