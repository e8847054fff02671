#pragma once

// What every route needs of HTTP without an HTTP library: the public base URL
// of a request (behind a proxy too), JSON responses, and errors as the STAC
// API writes them ({"code", "description"}). Internal header.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/service.hpp"

namespace tessera::service {

// A failure answered with `status`; `code` is the STAC API error code
// ("BadRequest", "NotFound", ...), `description` says what and where.
class HttpError : public std::exception {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // `headers` go out with the error answer (e.g. WWW-Authenticate on a 401).
  HttpError(int status, std::string code, std::string description, Headers headers = {})
      : status_(status), code_(std::move(code)), description_(std::move(description)), headers_(std::move(headers)) {}
  [[nodiscard]] int status() const noexcept { return status_; }
  [[nodiscard]] const std::string& code() const noexcept { return code_; }
  [[nodiscard]] const char* what() const noexcept override { return description_.c_str(); }
  [[nodiscard]] const Headers& headers() const noexcept { return headers_; }

 private:
  int status_;
  std::string code_;
  std::string description_;
  Headers headers_;
};

[[noreturn]] void bad_request(std::string description);

// ASCII case-insensitive equality, as HTTP compares header names.
bool equals_ignoring_case(std::string_view a, std::string_view b);

// The URL the client reached the service at, without a trailing '/':
// RFC 7239 Forwarded (proto, host), else X-Forwarded-Proto/-Host/-Prefix,
// else Host. Values that are not a plain host[:port] or a path are ignored,
// so a header cannot inject markup or another URL shape into links.
std::string base_url(const HttpRequest& request);

HttpResponse json_response(int status, const nlohmann::json& body, std::string_view content_type = "application/json");
HttpResponse error_response(int status, std::string_view code, std::string_view description);

// An If-None-Match header value lists `etag` or is "*" (weak and strong tags
// compare equal, as RFC 9110 asks for If-None-Match).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// `text` percent-encoded for a query string value.
std::string query_escape(std::string_view text);

// The request's query string without the `excluded` parameters, re-encoded
// ("" or "?a=1&b=2"): for links that keep what the client asked.
std::string query_string_of(const HttpRequest& request, const std::vector<std::string_view>& excluded = {});

}  // namespace tessera::service
