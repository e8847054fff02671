#include "catalog/stac_api/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::catalog::stac_api {

namespace {

// libcurl's global state, set up once before the first handle.
void init_curl() {
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialised != CURLE_OK) {
    throw Error(ErrorCode::kInternal, fmt::format("libcurl cannot start: {}", curl_easy_strerror(initialised)));
  }
}

struct UrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlStringDeleter {
  void operator()(char* text) const noexcept { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

struct HeaderListDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

UrlHandle parse_url(std::string_view url) {
  UrlHandle parsed(curl_url());
  if (!parsed) {
    throw std::bad_alloc();
  }
  const std::string text(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' is not a URL", url_for_message(url)));
  }
  return parsed;
}

std::string url_part(CURLU* url, CURLUPart part, unsigned int flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) {
    return {};
  }
  return CurlString(value).get();
}

bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

bool is_retryable_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

}  // namespace

std::string url_for_message(std::string_view url) {
  UrlHandle parsed(curl_url());
  const std::string text(url);
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    // Not a URL: shown only up to where credentials or a query could start.
    return std::string(url.substr(0, std::min(url.find_first_of("@?"), std::size_t{200})));
  }
  curl_url_set(parsed.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(parsed.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(parsed.get(), CURLUPART_QUERY, nullptr, 0);
  return url_part(parsed.get(), CURLUPART_URL);
}

std::string url_origin(std::string_view url) {
  const UrlHandle parsed = parse_url(url);
  const std::string scheme = url_part(parsed.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' is not an http(s) URL", url_for_message(url)));
  }
  std::string host = url_part(parsed.get(), CURLUPART_HOST);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return fmt::format("{}://{}:{}", scheme, host, url_part(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT));
}

std::string percent_encode(std::string_view text) {
  std::string encoded;
  encoded.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded.push_back(c);
    } else {
      encoded += fmt::format("%{:02X}", byte);
    }
  }
  return encoded;
}

RateLimiter::RateLimiter(double rate)
    : rate_(rate), capacity_(std::max(1.0, rate)), tokens_(capacity_), refilled_(std::chrono::steady_clock::now()) {}

void RateLimiter::acquire() {
  if (rate_ <= 0) {
    return;
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(capacity_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate_);
    refilled_ = now;
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return;
    }
    // Holding the lock while waiting keeps the callers in arrival order.
    std::this_thread::sleep_for(std::chrono::duration<double>((1.0 - tokens_) / rate_));
  }
}

struct HttpClient::Handle {
  struct Deleter {
    void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
  };
  std::unique_ptr<CURL, Deleter> curl;
};

struct HttpClient::Attempt {
  CURLcode code = CURLE_OK;
  HttpResponse response;
  bool too_large = false;
  long retry_after_s = -1;  // the server's Retry-After, -1 when none
  std::string curl_error;
};

namespace {

struct BodySink {
  std::string* body;
  std::size_t cap;
  bool too_large = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const std::size_t bytes = size * count;
  if (bytes > sink->cap - std::min(sink->cap, sink->body->size())) {
    sink->too_large = true;
    return 0;  // aborts the transfer before the body grows past the cap
  }
  sink->body->append(data, bytes);
  return bytes;
}

void check_header_text(std::string_view text, const std::string& name) {
  if (text.find_first_of("\r\n") != std::string_view::npos || text.find('\0') != std::string_view::npos) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("stac_api.headers: '{}' must not contain CR, LF or NUL", name));
  }
}

}  // namespace

HttpClient::HttpClient(const StacApiOptions& options) : options_(options), limiter_(options.requests_per_second) {
  init_curl();
  for (const auto& [name, value] : options_.headers) {
    check_header_text(name, name);
    check_header_text(value, name);
    if (name.empty() || name.find(':') != std::string::npos) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("stac_api.headers: '{}' is not a header name", name));
    }
    header_lines_.push_back(fmt::format("{}: {}", name, value));
  }
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::take_handle() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  handle->curl.reset(curl_easy_init());
  if (!handle->curl) {
    throw std::bad_alloc();
  }
  return handle;
}

void HttpClient::return_handle(std::unique_ptr<Handle> handle) {
  // A few idle handles keep their connections; more would only hold sockets.
  constexpr std::size_t kMaxIdle = 8;
  std::lock_guard lock(pool_mutex_);
  if (idle_.size() < kMaxIdle) {
    idle_.push_back(std::move(handle));
  }
}

HttpClient::Attempt HttpClient::attempt(Handle& handle, const std::string& url, const std::string& json_body) {
  CURL* curl = handle.curl.get();
  // reset keeps the handle's live connections, DNS and TLS session caches.
  curl_easy_reset(curl);
  Attempt result;
  BodySink sink{&result.response.body, options_.max_response_bytes};
  char error_text[CURL_ERROR_SIZE] = {};
  HeaderList headers;
  const auto add_header = [&headers](const std::string& line) {
    curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
    if (grown == nullptr) {
      throw std::bad_alloc();
    }
    static_cast<void>(headers.release());
    headers.reset(grown);
  };
  add_header("Accept: application/geo+json, application/json");
  if (!json_body.empty()) {
    add_header("Content-Type: application/json");
    add_header("Expect:");  // no 100-continue round trip (a second's wait on servers that ignore it)
  }
  for (const auto& line : header_lines_) {
    add_header(line);
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  // Redirects are not followed: the catalog's headers (API keys) must not
  // reach another host, and a STAC API links to its own pages.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl decodes
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
  if (!json_body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body.size()));
  }
  limiter_.acquire();
  result.code = curl_easy_perform(curl);
  result.too_large = sink.too_large || result.code == CURLE_FILESIZE_EXCEEDED;
  result.curl_error = error_text[0] != '\0' ? error_text : curl_easy_strerror(result.code);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.response.status);
  const char* redirect = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect != nullptr) {
    result.response.redirect = url_for_message(redirect);
  }
  curl_off_t retry_after = -1;
  if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
    result.retry_after_s = static_cast<long>(std::min<curl_off_t>(retry_after, 86400));
  }
  // The handle must not keep pointers into this frame.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  return result;
}

HttpResponse HttpClient::request(const std::string& url, const std::string& json_body) {
  const std::string method = json_body.empty() ? "GET" : "POST";
  const std::string shown = url_for_message(url);
  url_origin(url);  // http(s) only
  auto handle = take_handle();
  std::string last_failure;
  for (int attempt_number = 0;; ++attempt_number) {
    Attempt result = attempt(*handle, url, json_body);
    if (result.too_large) {
      throw Error(ErrorCode::kIo, fmt::format("{} {}: the response is larger than stac_api.max_response_bytes ({})",
                                              method, shown, options_.max_response_bytes));
    }
    if (result.code == CURLE_OPERATION_TIMEDOUT) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("{} {}: timed out (stac_api.connect_timeout_ms {}, timeout_ms {}): {}", method, shown,
                              options_.connect_timeout_ms, options_.timeout_ms, result.curl_error));
    }
    const bool transient =
        result.code != CURLE_OK ? is_transient(result.code) : is_retryable_status(result.response.status);
    if (result.code != CURLE_OK && !transient) {
      throw Error(ErrorCode::kIo, fmt::format("{} {}: {}", method, shown, result.curl_error));
    }
    if (!transient) {
      return_handle(std::move(handle));
      return std::move(result.response);
    }
    last_failure = result.code != CURLE_OK ? result.curl_error : fmt::format("HTTP {}", result.response.status);
    if (attempt_number >= options_.max_retries) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("{} {}: {} (after {} attempts)", method, shown, last_failure, attempt_number + 1));
    }
    const double backoff =
        std::min<double>(options_.backoff_cap_ms, options_.backoff_base_ms * std::ldexp(1.0, attempt_number));
    const double server_wait = result.retry_after_s >= 0 ? 1000.0 * static_cast<double>(result.retry_after_s) : 0.0;
    const double wait_ms = std::min<double>(options_.backoff_cap_ms, std::max(backoff, server_wait));
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(wait_ms));
  }
}

}  // namespace tessera::catalog::stac_api
