// Bearer tokens and key sets, which callers and operators hand the service:
// the input as a JWKS document (parse_jwks may refuse it only with
// InvalidInput), and as the token of an Authorization header on a service
// that verifies tokens with a key made at start-up. No input can forge that
// key's signature, so every answer must be a 401 JSON error.

#include <memory>
#include <string>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "fuzz_support.hpp"
#include "service/base64url.hpp"
#include "service/jwks.hpp"
#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace {

std::string base64url_of(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                                      static_cast<int>(bytes.size()))));
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  for (char& c : out) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

// A JWKS with one fresh RSA key (kid "k").
std::string key_set() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  const auto component = [&](const char* name) {
    BIGNUM* value = nullptr;
    EVP_PKEY_get_bn_param(key, name, &value);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(value)), '\0');
    BN_bn2bin(value, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(value);
    return base64url_of(bytes);
  };
  const nlohmann::json set = {{"keys",
                               {{{"kty", "RSA"},
                                 {"kid", "k"},
                                 {"n", component(OSSL_PKEY_PARAM_RSA_N)},
                                 {"e", component(OSSL_PKEY_PARAM_RSA_E)}}}}};
  EVP_PKEY_free(key);
  return set.dump();
}

const tessera::Service& service() {
  static const std::unique_ptr<tessera::Catalog> catalog = tessera::Catalog::open(":memory:");
  static const tessera::Service instance(*catalog, [] {
    tessera::ServiceOptions options;
    options.auth.jwks = key_set();
    options.auth.require_auth = true;
    return options;
  }());
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(tessera::fuzz::as_text(data, size));
  tessera::fuzz::accepted([&] { static_cast<void>(tessera::service::parse_jwks(text)); });
  tessera::fuzz::accepted([&] { static_cast<void>(tessera::service::base64url_decode(text)); });

  tessera::HttpRequest request;
  request.method = "POST";
  request.path = "/collections";
  request.headers = {{"Authorization", "Bearer " + text}};
  request.body = "{}";
  const tessera::HttpResponse response = service().handle(request);
  if (response.status != 401) {
    tessera::fuzz::finding("a token was not refused", (std::to_string(response.status) + " " + response.body).c_str());
  }
  if (nlohmann::json::parse(response.body, nullptr, false).is_discarded()) {
    tessera::fuzz::finding("response is not JSON", response.body.c_str());
  }
  return 0;
}
