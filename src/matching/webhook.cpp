#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "matching/push.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

namespace {

constexpr std::size_t kMaxUrlBytes = 2048;

struct UrlFree {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
struct CurlFree {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct ListFree {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

// A part of a parsed URL, or nullopt when the URL has none.
std::optional<std::string> url_part(CURLU* url, CURLUPart which) {
  char* part = nullptr;
  if (curl_url_get(url, which, &part, 0) != CURLUE_OK || part == nullptr) {
    return std::nullopt;
  }
  std::string text(part);
  curl_free(part);
  return text;
}

bool is_loopback_host(std::string_view host) { return host == "127.0.0.1" || host == "localhost" || host == "[::1]"; }

// Why an IPv4 address (host order) is not a public one, or "".
const char* ipv4_problem(std::uint32_t address) {
  const auto in = [address](std::uint32_t network, int bits) {
    return (address >> (32 - bits)) == (network >> (32 - bits));
  };
  if (in(0x7F000000, 8)) {
    return "loopback";
  }
  if (in(0x00000000, 8)) {
    return "unspecified";
  }
  if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16)) {
    return "private";
  }
  if (in(0x64400000, 10)) {
    return "shared (carrier-grade NAT)";
  }
  if (in(0xA9FE0000, 16)) {
    return "link-local";
  }
  if (in(0xC0000000, 24) || in(0xC6120000, 15) || in(0xE0000000, 3)) {
    return "reserved or multicast";
  }
  return "";
}

// Why a socket address is not a public one ("" when it is); loopback passes
// with `allow_loopback`. Checked on the address curl is about to connect to,
// so a host name cannot resolve its way around it.
std::string address_problem(const sockaddr* address, bool allow_loopback) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const char* problem = "not an IP address";
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size());
    problem = ipv4_problem(ntohl(v4->sin_addr.s_addr));
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size());
    const std::uint8_t* bytes = v6->sin6_addr.s6_addr;
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static constexpr std::uint8_t kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    static constexpr std::uint8_t kZero[16] = {};
    static constexpr std::uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::memcmp(bytes, kMapped, 12) == 0 || std::memcmp(bytes, kNat64, 12) == 0) {
      std::uint32_t embedded = 0;
      std::memcpy(&embedded, bytes + 12, 4);
      problem = ipv4_problem(ntohl(embedded));
    } else if (std::memcmp(bytes, kLoopback, 16) == 0) {
      problem = "loopback";
    } else if (std::memcmp(bytes, kZero, 16) == 0) {
      problem = "unspecified";
    } else if ((bytes[0] & 0xFE) == 0xFC) {
      problem = "unique local";
    } else if (bytes[0] == 0xFE && (bytes[1] & 0x80) == 0x80) {
      problem = "link-local or site-local";
    } else if (bytes[0] == 0xFF) {
      problem = "multicast";
    } else {
      problem = "";
    }
  }
  if (*problem == '\0' || (allow_loopback && std::strcmp(problem, "loopback") == 0)) {
    return {};
  }
  return fmt::format("address {} is not a public one ({})", text.data(), problem);
}

struct SocketGuard {
  bool allow_loopback = false;
  std::string refused;  // why the last address was refused
};

curl_socket_t open_checked_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* guard = static_cast<SocketGuard*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    std::string problem = address_problem(&address->addr, guard->allow_loopback);
    if (!problem.empty()) {
      guard->refused = std::move(problem);
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

// The receiver's answer is not read: it says nothing tessera uses.
std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

}  // namespace

void check_webhook_url(const std::string& url, std::string_view field) {
  const auto refuse = [&](std::string_view problem) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("subscription: {}: {}", field, problem));
  };
  if (url.size() > kMaxUrlBytes) {
    refuse(fmt::format("longer than {} characters", kMaxUrlBytes));
  }
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7F; })) {
    refuse("holds spaces or control characters");
  }
  const std::unique_ptr<CURLU, UrlFree> parsed(curl_url());
  if (!parsed) {
    throw Error(ErrorCode::kInternal, "curl_url failed");
  }
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    refuse(fmt::format("'{}' is not a URL", url));
  }
  const std::string scheme = url_part(parsed.get(), CURLUPART_SCHEME).value_or("");
  const std::string host = url_part(parsed.get(), CURLUPART_HOST).value_or("");
  if (host.empty()) {
    refuse("has no host");
  }
  if (url_part(parsed.get(), CURLUPART_USER) || url_part(parsed.get(), CURLUPART_PASSWORD)) {
    refuse("must not hold a user name or password (the signature authenticates tessera)");
  }
  if (scheme != "https" && !(scheme == "http" && is_loopback_host(host))) {
    refuse("must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1], for tests)");
  }
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data(), &length) == nullptr) {
    throw Error(ErrorCode::kInternal, "HMAC-SHA256 failed");
  }
  std::string hex = "sha256=";
  for (unsigned int n = 0; n < length; ++n) {
    hex += fmt::format("{:02x}", digest[n]);
  }
  return hex;
}

std::string post_webhook(const WebhookPost& post) {
  try {
    check_webhook_url(post.url, "webhook.url");
  } catch (const Error& error) {
    return error.what();
  }
  if (post.url.starts_with("http://") && !post.allow_loopback) {
    return "http:// webhooks are delivered only when the pusher allows loopback (tests)";
  }
  const std::unique_ptr<CURL, CurlFree> handle(curl_easy_init());
  if (!handle) {
    return "curl_easy_init failed";
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::unique_ptr<curl_slist, ListFree> headers;
  for (const std::string& header :
       {std::string("Content-Type: application/json"), std::string("User-Agent: tessera-webhook"),
        fmt::format("X-Tessera-Event-Id: {}", post.event_id), fmt::format("X-Tessera-Event-Kind: {}", post.event_kind),
        fmt::format("X-Tessera-Subscription: {}", post.subscription), fmt::format("X-Tessera-Timestamp: {}", seconds),
        fmt::format("X-Tessera-Signature: {}", webhook_signature(post.secret, post.body)), std::string("Expect:")}) {
    curl_slist* list = curl_slist_append(headers.get(), header.c_str());
    if (list == nullptr) {
      return "curl_slist_append failed";
    }
    static_cast<void>(headers.release());
    headers.reset(list);
  }
  SocketGuard guard{post.allow_loopback, {}};
  CURL* curl = handle.get();
  curl_easy_setopt(curl, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, post.allow_loopback ? "http,https" : "https");
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post.body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(post.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long long>(post.timeout.count(), 10000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Straight to the receiver's address, checked: no proxy from the
  // environment (its address would be checked instead) and no redirects.
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &open_checked_socket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    return guard.refused.empty() ? std::string(curl_easy_strerror(code)) : guard.refused;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    return fmt::format("HTTP {}", status);
  }
  return {};
}

}  // namespace tessera::matching
