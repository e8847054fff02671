#pragma once

// Bearer-token access control for every route of the service: a token is
// verified against the configured JSON Web Key Set (signature, exp/nbf,
// issuer allow-list, audience) and its scopes decide what it may do.
// Internal header.

#include <chrono>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/jwks.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

// The scope STAC API writes (transactions) need.
inline constexpr std::string_view kStacWriteScope = "stac:write";

// Who a verified token speaks for.
struct Principal {
  std::string subject;
  std::string issuer;
  std::vector<std::string> scopes;
  nlohmann::json claims;  // the verified payload (e.g. geoprocessing's allowedEndpoints)
};

class Authenticator {
 public:
  // InvalidInput for contradicting options or a key set that cannot be read.
  explicit Authenticator(const AuthOptions& options);

  // Whether the service can accept any write (keys configured, or anonymous
  // writes allowed).
  [[nodiscard]] bool writes_possible() const noexcept;

  // Lets `request` through to a route that needs `scope` ("" for a read), or
  // throws HttpError: 401 (no token, a bad or expired one) or 403 (a valid
  // token without the scope, or from an issuer not on the list).
  void authorize(const HttpRequest& request, std::string_view scope) const;

  // The principal of a bearer token (HttpError 401/403 as above).
  [[nodiscard]] Principal verify(std::string_view token) const;

 private:
  // The keys that may have signed a token with `kid` (all when empty),
  // reloading the set once if it holds none with that id.
  std::vector<VerificationKey> candidate_keys(const std::string& kid) const;

  AuthOptions options_;
  mutable std::shared_mutex keys_mutex_;
  mutable std::vector<VerificationKey> keys_;
  mutable std::chrono::steady_clock::time_point keys_read_at_;
};

}  // namespace tessera::service
