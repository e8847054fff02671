#pragma once

// The HTTP client of the remote STAC API catalog, on libcurl: a small pool of
// easy handles (each keeps its connections alive between requests), the
// catalog's headers, timeouts, a response-size cap applied while the body
// arrives, retries with exponential backoff on connection failures, 429 and
// 5xx (Retry-After honoured) and a token-bucket request-rate cap. Internal
// header.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/catalog.hpp"

namespace tessera::catalog::stac_api {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string redirect;  // where a 3xx answer points (redirects are not followed)
};

// At most `rate` acquisitions per second on average, in bursts of up to
// max(1, rate); rate 0 never waits.
class RateLimiter {
 public:
  explicit RateLimiter(double rate);
  // Waits until a request may go out.
  void acquire();

 private:
  double rate_;
  double capacity_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  std::mutex mutex_;
};

class HttpClient {
 public:
  explicit HttpClient(const StacApiOptions& options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url`; `json_body` non-empty: POST it as application/json. Returns
  // any final status (the caller judges 4xx); transient failures are retried
  // and end in Unavailable, a body over the cap or a refused URL in Io/
  // InvalidInput, each naming the method and the URL.
  HttpResponse request(const std::string& url, const std::string& json_body = {});

 private:
  struct Handle;
  struct Attempt;
  std::unique_ptr<Handle> take_handle();
  void return_handle(std::unique_ptr<Handle> handle);
  Attempt attempt(Handle& handle, const std::string& url, const std::string& json_body);

  StacApiOptions options_;
  std::vector<std::string> header_lines_;
  RateLimiter limiter_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

// `url` without user-info and query (which may hold credentials), for messages.
std::string url_for_message(std::string_view url);

// The scheme, host and port of an http(s) URL, lower-cased, the port made
// explicit ("https://example.com:443"); InvalidInput for anything else.
std::string url_origin(std::string_view url);

// `text` percent-encoded for a path segment or a query value.
std::string percent_encode(std::string_view text);

}  // namespace tessera::catalog::stac_api
