#pragma once

// JSON Web Key Sets (RFC 7517) as the PEM public keys the JWT library
// verifies with. Internal header.

#include <string>
#include <string_view>
#include <vector>

namespace tessera::service {

struct VerificationKey {
  std::string kid;    // "" when the JWK names none
  std::string kty;    // "RSA" | "EC"
  std::string curve;  // EC: "P-256" | "P-384" | "P-521"
  std::string alg;    // the JWK's "alg", "" when it names none
  std::string pem;    // SubjectPublicKeyInfo PEM
};

// The signing keys of a JWKS document. Keys tessera cannot use (symmetric,
// "use": "enc", unknown curves, RSA below 2048 bits) are left out; a
// malformed document, or one with no usable key, is InvalidInput naming what
// and where ("keys[2].n: ...").
std::vector<VerificationKey> parse_jwks(std::string_view document);

// The JWKS text at `source`: an http(s) URL (10 s timeout, at most 1 MiB), a
// file path, or the document itself when it starts with '{'. Io/InvalidInput
// naming the source on failure.
std::string read_jwks(const std::string& source);

}  // namespace tessera::service
