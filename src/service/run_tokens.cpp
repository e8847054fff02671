// RunTokens (include/tessera/service.hpp): a run's callback token, signed
// and checked by cpp-jwt with HMAC-SHA256; the key's random bytes come from
// OpenSSL.
#include <openssl/rand.h>

#include <cstdint>

#include <fmt/format.h>
#include <jwt/jwt.hpp>

#include "service/http_support.hpp"
#include "tessera/error.hpp"
#include "tessera/service.hpp"

namespace tessera {

namespace {

constexpr const char* kIssuer = "tessera-run";
constexpr std::size_t kMinimumKeyBytes = 32;

}  // namespace

RunTokens::RunTokens(std::string key) : key_(std::move(key)) {
  if (key_.size() < kMinimumKeyBytes) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("run token key: {} bytes; at least {} are needed", key_.size(), kMinimumKeyBytes));
  }
}

std::string RunTokens::random_key() {
  std::string key(kMinimumKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw Error(ErrorCode::kInternal, "run token key: OpenSSL's RAND_bytes failed");
  }
  return key;
}

std::string RunTokens::issue(std::string_view run, std::chrono::seconds lifetime) const {
  const auto now = std::chrono::system_clock::now();
  jwt::jwt_object token{jwt::params::algorithm("HS256"), jwt::params::secret(key_),
                        jwt::params::payload({{"iss", kIssuer}, {"aud", std::string(run)}})};
  token.add_claim("iat", now);
  token.add_claim("exp", now + lifetime);
  return token.signature();
}

bool RunTokens::verifies(std::string_view token, std::string_view run) const {
  if (token.empty()) {
    return false;
  }
  std::error_code error;
  try {
    const auto decoded = jwt::decode(jwt::string_view(token.data(), token.size()), jwt::params::algorithms({"HS256"}),
                                     error, jwt::params::secret(key_), jwt::params::issuer(kIssuer),
                                     jwt::params::aud(std::string(run)), jwt::params::verify(true));
    static_cast<void>(decoded);
  } catch (const std::exception&) {
    return false;  // not even a token's shape
  }
  return !error;
}

std::function<std::pair<std::string, std::string>(const nlohmann::json& run)> RunTokens::runner_callback(
    std::string base_url, std::chrono::seconds grace) const {
  return [tokens = *this, base = std::move(base_url), grace](const nlohmann::json& run) {
    const auto timeout = std::chrono::seconds(static_cast<std::int64_t>(run.value("timeout", 0.0)) + 1);
    const std::string id = run.at("id").get<std::string>();
    const std::string url =
        fmt::format("{}/models/{}/runs/{}/predictions", base, service::query_escape(run.at("model").get<std::string>()),
                    service::query_escape(id));
    return std::pair(url, tokens.issue(id, timeout + grace));
  };
}

}  // namespace tessera
