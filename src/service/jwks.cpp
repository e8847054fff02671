#include "service/jwks.hpp"

#include <algorithm>
#include <fstream>
#include <memory>

#include <cpl_http.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <nlohmann/json.hpp>

#include "service/base64url.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxJwksBytes = std::size_t{1} << 20;

struct OpenSslFree {
  void operator()(BIGNUM* value) const noexcept { BN_free(value); }
  void operator()(OSSL_PARAM_BLD* value) const noexcept { OSSL_PARAM_BLD_free(value); }
  void operator()(OSSL_PARAM* value) const noexcept { OSSL_PARAM_free(value); }
  void operator()(EVP_PKEY_CTX* value) const noexcept { EVP_PKEY_CTX_free(value); }
  void operator()(EVP_PKEY* value) const noexcept { EVP_PKEY_free(value); }
  void operator()(BIO* value) const noexcept { BIO_free(value); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

[[noreturn]] void invalid(const std::string& where, std::string_view what) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("JWKS: {}: {}", where, what));
}

std::string member_bytes(const json& jwk, const char* name, const std::string& where) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    invalid(fmt::format("{}.{}", where, name), "missing or not a string");
  }
  auto bytes = base64url_decode(it->get<std::string>());
  if (!bytes || bytes->empty()) {
    invalid(fmt::format("{}.{}", where, name), "not base64url");
  }
  return std::move(*bytes);
}

// The public key built from `params` of an OpenSSL key type, as PEM.
std::string public_pem(const char* key_type, OSSL_PARAM_BLD* builder, const std::string& where) {
  const OpenSslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder));
  const OpenSslPtr<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    invalid(where, "not a valid public key");
  }
  const OpenSslPtr<EVP_PKEY> key(raw);
  const OpenSslPtr<BIO> out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key.get()) != 1) {
    throw Error(ErrorCode::kInternal, "JWKS: could not write a public key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string rsa_pem(const json& jwk, const std::string& where) {
  const std::string modulus = member_bytes(jwk, "n", where);
  const std::string exponent = member_bytes(jwk, "e", where);
  if (modulus.size() < 256) {
    invalid(where + ".n", fmt::format("an RSA key of {} bits; at least 2048 are required", modulus.size() * 8));
  }
  const OpenSslPtr<BIGNUM> n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()), static_cast<int>(modulus.size()), nullptr));
  const OpenSslPtr<BIGNUM> e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent.data()), static_cast<int>(exponent.size()), nullptr));
  const OpenSslPtr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!n || !e || !builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    throw std::bad_alloc();
  }
  return public_pem("RSA", builder.get(), where);
}

struct Curve {
  std::string_view jwk_name;
  const char* openssl_name;
  std::size_t coordinate_bytes;
};
constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

std::string ec_pem(const json& jwk, const Curve& curve, const std::string& where) {
  const std::string x = member_bytes(jwk, "x", where);
  const std::string y = member_bytes(jwk, "y", where);
  if (x.size() != curve.coordinate_bytes || y.size() != curve.coordinate_bytes) {
    invalid(where, fmt::format("{} coordinates must have {} bytes", curve.jwk_name, curve.coordinate_bytes));
  }
  // An uncompressed point: 0x04 || x || y.
  std::string point = "\x04" + x + y;
  const OpenSslPtr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.openssl_name, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    throw std::bad_alloc();
  }
  return public_pem("EC", builder.get(), where);
}

std::string optional_string(const json& jwk, const char* name, const std::string& where) {
  const auto it = jwk.find(name);
  if (it == jwk.end()) {
    return {};
  }
  if (!it->is_string()) {
    invalid(fmt::format("{}.{}", where, name), "not a string");
  }
  return it->get<std::string>();
}

}  // namespace

std::vector<VerificationKey> parse_jwks(std::string_view document) {
  json set;
  try {
    set = json::parse(document);
  } catch (const json::exception& error) {
    invalid("document", fmt::format("invalid JSON ({})", error.what()));
  }
  if (!set.is_object() || !set.contains("keys") || !set["keys"].is_array()) {
    invalid("document", "expected an object with a \"keys\" array");
  }
  std::vector<VerificationKey> keys;
  for (std::size_t index = 0; index < set["keys"].size(); ++index) {
    const json& jwk = set["keys"][index];
    const std::string where = fmt::format("keys[{}]", index);
    if (!jwk.is_object()) {
      invalid(where, "not an object");
    }
    VerificationKey key;
    key.kid = optional_string(jwk, "kid", where);
    key.kty = optional_string(jwk, "kty", where);
    key.alg = optional_string(jwk, "alg", where);
    const std::string use = optional_string(jwk, "use", where);
    if (use == "enc") {
      continue;  // an encryption key never verifies a signature
    }
    if (key.kty == "RSA") {
      key.pem = rsa_pem(jwk, where);
    } else if (key.kty == "EC") {
      key.curve = optional_string(jwk, "crv", where);
      const auto* curve = std::find_if(std::begin(kCurves), std::end(kCurves),
                                       [&](const Curve& known) { return known.jwk_name == key.curve; });
      if (curve == std::end(kCurves)) {
        log(LogLevel::kWarning, fmt::format("JWKS: {}: curve '{}' is not supported; key left out", where, key.curve));
        continue;
      }
      key.pem = ec_pem(jwk, *curve, where);
    } else {
      // Symmetric ("oct") and other key types verify nothing here.
      log(LogLevel::kWarning, fmt::format("JWKS: {}: key type '{}' is not used; key left out", where, key.kty));
      continue;
    }
    keys.push_back(std::move(key));
  }
  if (keys.empty()) {
    invalid("document", "no RSA or EC signing key");
  }
  return keys;
}

std::string read_jwks(const std::string& source) {
  if (!source.empty() && source.front() == '{') {
    return source;
  }
  if (source.rfind("https://", 0) == 0 || source.rfind("http://", 0) == 0) {
    const char* options[] = {"TIMEOUT=10", "CONNECTTIMEOUT=5", nullptr};
    const std::unique_ptr<CPLHTTPResult, decltype(&CPLHTTPDestroyResult)> result(
        CPLHTTPFetch(source.c_str(), const_cast<char**>(options)), &CPLHTTPDestroyResult);
    if (!result || result->nStatus != 0 || result->pszErrBuf != nullptr) {
      throw Error(ErrorCode::kIo, fmt::format("JWKS: cannot fetch {}: {}", source,
                                              result && result->pszErrBuf ? result->pszErrBuf : "no answer"));
    }
    if (static_cast<std::size_t>(result->nDataLen) > kMaxJwksBytes) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("JWKS: {} is larger than 1 MiB", source));
    }
    return std::string(reinterpret_cast<const char*>(result->pabyData), static_cast<std::size_t>(result->nDataLen));
  }
  std::ifstream file(source, std::ios::binary);
  if (!file) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("JWKS: cannot read the file {}", source));
  }
  std::string text;
  text.resize(kMaxJwksBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kMaxJwksBytes) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("JWKS: the file {} is larger than 1 MiB", source));
  }
  return text;
}

}  // namespace tessera::service
