#include "responses.hpp"

#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "query_params.hpp"
#include "tessera/error.hpp"

namespace tile_server {

namespace {

int status_of(tessera::ErrorCode code) {
  switch (code) {
    case tessera::ErrorCode::kInvalidInput:
    case tessera::ErrorCode::kUnsupported:
      return 400;
    case tessera::ErrorCode::kNotFound:
      return 404;
    case tessera::ErrorCode::kUnavailable:
      return 503;
    case tessera::ErrorCode::kConflict:
      return 409;
    case tessera::ErrorCode::kIo:
    case tessera::ErrorCode::kInternal:
      break;
  }
  return 500;
}

bool matches_if_none_match(const httplib::Request& request, const std::string& etag) {
  if (!request.has_header("If-None-Match")) {
    return false;
  }
  const std::string wanted = request.get_header_value("If-None-Match");
  return wanted == "*" || wanted.find(etag) != std::string::npos;
}

}  // namespace

std::string etag_of(std::string_view body) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char byte : body) {
    hash = (hash ^ static_cast<unsigned char>(byte)) * 1099511628211ULL;
  }
  return fmt::format("\"{:016x}-{:x}\"", hash, body.size());
}

void send_cacheable(const httplib::Request& request, httplib::Response& response, std::string body,
                    std::string_view content_type, const CachePolicy& cache) {
  const std::string etag = etag_of(body);
  response.set_header("ETag", etag);
  response.set_header("Cache-Control", fmt::format("public, max-age={}", cache.max_age_seconds));
  if (matches_if_none_match(request, etag)) {
    response.status = 304;
    return;
  }
  response.set_content(std::move(body), std::string(content_type).c_str());
}

void send_cacheable_json(const httplib::Request& request, httplib::Response& response, const nlohmann::json& body,
                         const CachePolicy& cache) {
  send_cacheable(request, response, body.dump(), "application/json", cache);
}

void send_json(httplib::Response& response, const nlohmann::json& body, int status) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& response, std::exception_ptr error) {
  nlohmann::json body;
  int status = 500;
  try {
    std::rethrow_exception(std::move(error));
  } catch (const BadParameter& bad) {
    status = 400;
    body = {{"detail", bad.what()}, {"parameter", bad.parameter()}};
  } catch (const tessera::Error& failure) {
    status = status_of(failure.code());
    body = {{"detail", failure.what()}, {"code", tessera::error_code_name(failure.code())}};
  } catch (const nlohmann::json::exception& bad_json) {
    status = 400;
    body = {{"detail", std::string("request body: ") + bad_json.what()}};
  } catch (const std::exception& failure) {
    body = {{"detail", failure.what()}};
  } catch (...) {
    body = {{"detail", "unknown error"}};
  }
  send_json(response, body, status);
}

}  // namespace tile_server
