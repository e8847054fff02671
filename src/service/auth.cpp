#include "service/auth.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <system_error>

#include <fmt/format.h>
#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>

#include "service/base64url.hpp"
#include "service/http_support.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;

// Longer tokens are refused before any decoding (real ones are < 2 KiB).
constexpr std::size_t kMaxTokenBytes = 16384;
// A token with an unknown key id reloads the key set at most this often.
constexpr auto kKeyReloadInterval = std::chrono::seconds(10);

constexpr std::string_view kAlgorithms[] = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"};

[[noreturn]] void unauthorized(const std::string& description, bool token_given) {
  std::string challenge = "Bearer realm=\"tessera\"";
  if (token_given) {
    challenge += ", error=\"invalid_token\"";
  }
  throw HttpError(401, "Unauthorized", description, {{"WWW-Authenticate", std::move(challenge)}});
}

[[noreturn]] void forbidden(const std::string& description, std::string_view scope) {
  std::string challenge = "Bearer realm=\"tessera\", error=\"insufficient_scope\"";
  if (!scope.empty()) {
    challenge += fmt::format(", scope=\"{}\"", scope);
  }
  throw HttpError(403, "Forbidden", description, {{"WWW-Authenticate", std::move(challenge)}});
}

// The token of an "Authorization: Bearer <token>" header, "" without one.
std::string_view bearer_token(const HttpRequest& request) {
  const std::string* header = request.header("authorization");
  if (header == nullptr) {
    return {};
  }
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !equals_ignoring_case(value.substr(0, kScheme.size()), kScheme)) {
    unauthorized("the Authorization header is not a Bearer token", true);
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  while (!value.empty() && value.back() == ' ') {
    value.remove_suffix(1);
  }
  if (value.empty()) {
    unauthorized("the Bearer token is empty", true);
  }
  return value;
}

// The JOSE header of a compact JWS whose three parts are strict base64url
// (checked before the JWT library sees the token: it indexes a table with
// the raw bytes).
json token_header(std::string_view token) {
  if (token.size() > kMaxTokenBytes) {
    unauthorized(fmt::format("the token has {} bytes; at most {} are accepted", token.size(), kMaxTokenBytes), true);
  }
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos ||
      !is_base64url(token.substr(0, first)) || !is_base64url(token.substr(first + 1, second - first - 1)) ||
      !is_base64url(token.substr(second + 1))) {
    unauthorized("the token is not a signed JWT (three base64url parts)", true);
  }
  const auto text = base64url_decode(token.substr(0, first));
  json header = text ? json::parse(*text, nullptr, false) : json();
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string()) {
    unauthorized("the token's header is not a JSON object with \"alg\"", true);
  }
  return header;
}

std::vector<std::string> split_scopes(const json& claims) {
  std::vector<std::string> scopes;
  const auto it = claims.find("scope");
  if (it == claims.end()) {
    return scopes;
  }
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = std::min(text.find(' ', start), text.size());
      if (end > start) {
        scopes.emplace_back(text.substr(start, end - start));
      }
      start = end + 1;
    }
  } else if (it->is_array()) {
    for (const auto& scope : *it) {
      if (scope.is_string()) {
        scopes.push_back(scope.get<std::string>());
      }
    }
  }
  return scopes;
}

bool audience_matches(const json& claims, const std::string& audience) {
  const auto it = claims.find("aud");
  if (it == claims.end()) {
    return false;
  }
  if (it->is_string()) {
    return it->get_ref<const std::string&>() == audience;
  }
  return it->is_array() && std::any_of(it->begin(), it->end(), [&](const json& value) {
           return value.is_string() && value.get_ref<const std::string&>() == audience;
         });
}

// exp (required) and nbf (when given) against now, with `leeway` seconds.
void check_times(const json& claims, int leeway) {
  const double now = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  const auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number() || !std::isfinite(exp->get<double>())) {
    unauthorized("the token has no numeric exp claim", true);
  }
  if (now > exp->get<double>() + leeway) {
    unauthorized("the token has expired", true);
  }
  const auto nbf = claims.find("nbf");
  if (nbf != claims.end() && (!nbf->is_number() || now + leeway < nbf->get<double>())) {
    unauthorized("the token is not valid yet (nbf)", true);
  }
}

bool key_fits(const VerificationKey& key, std::string_view alg) {
  if (!key.alg.empty() && key.alg != alg) {
    return false;
  }
  if (alg.substr(0, 2) == "RS") {
    return key.kty == "RSA";
  }
  const std::string_view curve = alg == "ES256" ? "P-256" : alg == "ES384" ? "P-384" : "P-521";
  return key.kty == "EC" && key.curve == curve;
}

}  // namespace

Authenticator::Authenticator(const AuthOptions& options) : options_(options) {
  if (options_.leeway_seconds < 0 || options_.leeway_seconds > 3600) {
    throw Error(ErrorCode::kInvalidInput, "auth: leeway_seconds must be between 0 and 3600");
  }
  if (options_.jwks.empty()) {
    if (options_.require_auth) {
      throw Error(ErrorCode::kInvalidInput, "auth: require_auth needs a key set (jwks) to verify tokens with");
    }
    if (!options_.issuers.empty() || !options_.audience.empty()) {
      throw Error(ErrorCode::kInvalidInput, "auth: issuers and audience need a key set (jwks)");
    }
    return;
  }
  keys_ = parse_jwks(read_jwks(options_.jwks));
  keys_read_at_ = std::chrono::steady_clock::now();
}

bool Authenticator::writes_possible() const noexcept {
  return !options_.jwks.empty() || options_.allow_anonymous_writes;
}

std::vector<VerificationKey> Authenticator::candidate_keys(const std::string& kid) const {
  const auto matching = [&] {
    std::vector<VerificationKey> found;
    for (const auto& key : keys_) {
      if (kid.empty() || key.kid == kid) {
        found.push_back(key);
      }
    }
    return found;
  };
  {
    const std::shared_lock lock(keys_mutex_);
    auto found = matching();
    if (!found.empty() || kid.empty() || std::chrono::steady_clock::now() - keys_read_at_ < kKeyReloadInterval) {
      return found;
    }
  }
  // A key id the set does not hold: the issuer may have rotated its keys.
  const std::unique_lock lock(keys_mutex_);
  if (std::chrono::steady_clock::now() - keys_read_at_ >= kKeyReloadInterval) {
    keys_read_at_ = std::chrono::steady_clock::now();
    try {
      keys_ = parse_jwks(read_jwks(options_.jwks));
    } catch (const Error& error) {
      log(LogLevel::kWarning, fmt::format("auth: keeping the previous keys: {}", error.what()));
    }
  }
  return matching();
}

Principal Authenticator::verify(std::string_view token) const {
  const json header = token_header(token);
  const std::string alg = header["alg"].get<std::string>();
  if (std::find(std::begin(kAlgorithms), std::end(kAlgorithms), alg) == std::end(kAlgorithms)) {
    unauthorized(fmt::format("the token's algorithm '{}' is not accepted (RS256/384/512, ES256/384/512)", alg), true);
  }
  std::string kid;
  if (const auto it = header.find("kid"); it != header.end()) {
    if (!it->is_string()) {
      unauthorized("the token's kid is not a string", true);
    }
    kid = it->get<std::string>();
  }
  json claims;
  bool verified = false;
  for (const auto& key : candidate_keys(kid)) {
    if (!key_fits(key, alg)) {
      continue;
    }
    std::error_code error;
    try {
      // The library checks the signature with exactly the token's (allowed)
      // algorithm and this key; the claims are checked below.
      const auto decoded = jwt::decode(jwt::string_view(token.data(), token.size()), jwt::params::algorithms({alg}),
                                       error, jwt::params::secret(key.pem),
                                       jwt::params::leeway(static_cast<std::uint32_t>(options_.leeway_seconds)),
                                       jwt::params::verify(true));
      if (!error) {
        claims = decoded.payload().create_json_obj();
        verified = true;
        break;
      }
    } catch (const std::exception&) {
      error = std::make_error_code(std::errc::invalid_argument);
    }
    if (error == jwt::VerificationErrc::TokenExpired) {
      unauthorized("the token has expired", true);
    }
    if (error == jwt::VerificationErrc::ImmatureSignature) {
      unauthorized("the token is not valid yet (nbf)", true);
    }
    // Any other failure: this key did not sign it; try the next.
  }
  if (!verified) {
    unauthorized(kid.empty() ? "the token's signature does not verify with any configured key"
                             : fmt::format("the token's signature does not verify with key '{}'", kid),
                 true);
  }
  if (!claims.is_object()) {
    unauthorized("the token's claims are not a JSON object", true);
  }
  check_times(claims, options_.leeway_seconds);
  if (!options_.audience.empty() && !audience_matches(claims, options_.audience)) {
    unauthorized(fmt::format("the token is not for audience '{}'", options_.audience), true);
  }
  Principal principal;
  if (const auto it = claims.find("iss"); it != claims.end() && it->is_string()) {
    principal.issuer = it->get<std::string>();
  }
  if (!options_.issuers.empty() &&
      std::find(options_.issuers.begin(), options_.issuers.end(), principal.issuer) == options_.issuers.end()) {
    forbidden(principal.issuer.empty() ? std::string("the token names no issuer")
                                       : fmt::format("the issuer '{}' is not accepted", principal.issuer),
              {});
  }
  if (const auto it = claims.find("sub"); it != claims.end() && it->is_string()) {
    principal.subject = it->get<std::string>();
  }
  principal.scopes = split_scopes(claims);
  principal.claims = std::move(claims);
  return principal;
}

void Authenticator::authorize(const HttpRequest& request, std::string_view scope) const {
  const bool write = !scope.empty();
  if (!write && !options_.require_auth) {
    return;
  }
  if (options_.jwks.empty()) {
    if (write && options_.allow_anonymous_writes) {
      return;
    }
    unauthorized("writes are not accepted: this service verifies no tokens (tessera serve --jwks)", false);
  }
  const std::string_view token = bearer_token(request);
  if (token.empty()) {
    unauthorized(write ? fmt::format("this route needs a bearer token with scope '{}'", scope)
                       : std::string("this service needs a bearer token"),
                 false);
  }
  const Principal principal = verify(token);
  if (write && std::find(principal.scopes.begin(), principal.scopes.end(), scope) == principal.scopes.end()) {
    forbidden(fmt::format("the token lacks scope '{}'", scope), scope);
  }
}

}  // namespace tessera::service
