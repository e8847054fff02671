#pragma once

// Writing responses: JSON bodies, images with a strong ETag (If-None-Match
// answered with 304) and Cache-Control, and errors as JSON.

#include <exception>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace tile_server {

// How long clients and proxies may keep a successful response.
struct CachePolicy {
  int max_age_seconds = 3600;
};

// A body served with a strong ETag (a hash of the body) and Cache-Control; 304
// without a body when the request's If-None-Match names that ETag.
void send_cacheable(const httplib::Request& request, httplib::Response& response, std::string body,
                    std::string_view content_type, const CachePolicy& cache);
void send_cacheable_json(const httplib::Request& request, httplib::Response& response, const nlohmann::json& body,
                         const CachePolicy& cache);
// A JSON body that must not be cached (registration, listings).
void send_json(httplib::Response& response, const nlohmann::json& body, int status = 200);

// {"detail": message, "parameter": name (when known)} with the status the
// error calls for: 400 for bad parameters and refused hrefs, 404 for
// anything missing, 503 for retryable failures, 500 otherwise.
void send_error(httplib::Response& response, std::exception_ptr error);

// The strong ETag of a body: a quoted 64-bit FNV-1a hash in hex.
std::string etag_of(std::string_view body);

}  // namespace tile_server
