// Transactions and bearer-token access control of the STAC API, without
// HTTP: keys and tokens are made here (OpenSSL keys, tokens signed by
// cpp-jwt), the JWKS given to the service as a document.
#include <chrono>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"
#include "tessera/error.hpp"
#include "tessera/service.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

std::string base64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  for (char& c : out) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

// A key pair made for the test: its private PEM signs, its JWK verifies.
struct TestKey {
  std::string private_pem;
  json jwk;
};

std::string private_pem_of(EVP_PKEY* key) {
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(out);
  return pem;
}

std::string bn_bytes(EVP_PKEY* key, const char* name) {
  BIGNUM* value = nullptr;
  EVP_PKEY_get_bn_param(key, name, &value);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(value)), '\0');
  BN_bn2bin(value, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(value);
  return bytes;
}

TestKey rsa_key(const std::string& kid) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  TestKey made{private_pem_of(key),
               {{"kty", "RSA"},
                {"kid", kid},
                {"use", "sig"},
                {"n", base64url(bn_bytes(key, OSSL_PKEY_PARAM_RSA_N))},
                {"e", base64url(bn_bytes(key, OSSL_PKEY_PARAM_RSA_E))}}};
  EVP_PKEY_free(key);
  return made;
}

TestKey ec_key(const std::string& kid) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  unsigned char point[65];
  size_t size = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &size);
  const std::string x(reinterpret_cast<char*>(point) + 1, 32);
  const std::string y(reinterpret_cast<char*>(point) + 33, 32);
  TestKey made{private_pem_of(key),
               {{"kty", "EC"}, {"kid", kid}, {"crv", "P-256"}, {"x", base64url(x)}, {"y", base64url(y)}}};
  EVP_PKEY_free(key);
  return made;
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string sign(const TestKey& key, const std::string& alg, json claims, const std::string& kid) {
  jwt::jwt_object token{jwt::params::algorithm(alg), jwt::params::secret(key.private_pem)};
  token.header().add_header("kid", kid);
  for (const auto& [name, value] : claims.items()) {
    if (value.is_string()) {
      token.add_claim(name, value.get<std::string>());
    } else if (value.is_number_integer()) {
      token.add_claim(name, value.get<std::int64_t>());
    }
  }
  return token.signature();
}

json claims(const std::string& scope, std::int64_t expires_in = 600) {
  return {{"iss", "https://issuer.test"}, {"sub", "tester"}, {"scope", scope}, {"exp", now() + expires_in}};
}

class StacTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = tessera::Catalog::open(":memory:");
    catalog_->upsert_collection(tessera::testing::make_collection("s2"));
  }

  void serve(tessera::ServiceOptions options) { service_ = std::make_unique<tessera::Service>(*catalog_, options); }

  HttpResponse send(const std::string& method, const std::string& path, const std::string& body = {},
                    const std::string& token = {}, const std::string& content_type = "application/json") const {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.headers = {{"Host", "stac.test"}, {"Content-Type", content_type}};
    if (!token.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + token);
    }
    request.body = body;
    return service_->handle(request);
  }

  static json item(const std::string& id, double cloud = 5) {
    return tessera::testing::make_item(id, "s2", "2024-02-01T00:00:00Z", 10, 45, 1.0, {{"eo:cloud_cover", cloud}});
  }

  json conformance() const { return json::parse(send("GET", "/conformance").body)["conformsTo"]; }

  static bool has(const json& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  }

  std::unique_ptr<tessera::Catalog> catalog_;
  std::unique_ptr<tessera::Service> service_;
};

constexpr const char* kTransaction = "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction";

TEST_F(StacTransactions, WithoutKeysEveryWriteIs401AndNoTransactionClassIsAdvertised) {
  serve({});
  EXPECT_FALSE(has(conformance(), kTransaction));
  const HttpResponse response = send("POST", "/collections/s2/items", item("a").dump());
  EXPECT_EQ(response.status, 401);
  ASSERT_NE(response.header("WWW-Authenticate"), nullptr);
  EXPECT_NE(response.header("WWW-Authenticate")->find("Bearer"), std::string::npos);
  EXPECT_EQ(json::parse(response.body)["code"], "Unauthorized");
  EXPECT_EQ(send("DELETE", "/collections/s2").status, 401);
  EXPECT_EQ(send("GET", "/collections/s2").status, 200);
}

TEST_F(StacTransactions, ItemLifecycleAsTheValidatorChecksIt) {
  tessera::ServiceOptions options;
  options.auth.allow_anonymous_writes = true;
  serve(options);
  EXPECT_TRUE(has(conformance(), kTransaction));

  // Deleting what is not there succeeds (DELETE is idempotent).
  HttpResponse response = send("DELETE", "/collections/s2/items/a");
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.header("Content-Type"), nullptr);

  json created = item("a");
  created["properties"]["remove_me"] = "x";
  created.erase("collection");  // filled in from the URL
  created.erase("links");       // the server gives its own
  response = send("POST", "/collections/s2/items", created.dump());
  ASSERT_EQ(response.status, 201) << response.body;
  ASSERT_NE(response.header("Location"), nullptr);
  EXPECT_EQ(*response.header("Location"), "http://stac.test/collections/s2/items/a");
  EXPECT_EQ(json::parse(response.body)["collection"], "s2");
  EXPECT_EQ(send("POST", "/collections/s2/items", created.dump()).status, 409);

  json replaced = item("a");
  replaced["properties"]["eo:cloud_cover"] = 3.14;
  replaced["properties"]["foo"] = "bar";
  response = send("PUT", "/collections/s2/items/a", replaced.dump());
  EXPECT_EQ(response.status, 204) << response.body;
  EXPECT_EQ(response.header("Content-Type"), nullptr);
  json stored = catalog_->get_item("s2", "a");
  EXPECT_EQ(stored["properties"]["foo"], "bar");
  EXPECT_FALSE(stored["properties"].contains("remove_me"));

  response = send("PATCH", "/collections/s2/items/a",
                  R"({"properties": {"eo:cloud_cover": 12.4, "patched": 1, "foo": null}})");
  EXPECT_EQ(response.status, 204) << response.body;
  stored = catalog_->get_item("s2", "a");
  EXPECT_EQ(stored["properties"]["eo:cloud_cover"], 12.4);
  EXPECT_EQ(stored["properties"]["patched"], 1);
  EXPECT_FALSE(stored["properties"].contains("foo"));
  EXPECT_EQ(stored["properties"]["datetime"], "2024-02-01T00:00:00Z");

  response =
      send("PATCH", "/collections/s2/items/a", R"([{"op": "replace", "path": "/properties/patched", "value": 2}])", {},
           "application/json-patch+json");
  EXPECT_EQ(response.status, 204) << response.body;
  EXPECT_EQ(catalog_->get_item("s2", "a")["properties"]["patched"], 2);

  // A write may not move an item elsewhere.
  json moved = item("b");
  response = send("PUT", "/collections/s2/items/a", moved.dump());
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(json::parse(response.body)["description"].get<std::string>().find("\"b\""), std::string::npos);
  EXPECT_EQ(send("PUT", "/collections/s2/items/missing", item("missing").dump()).status, 404);
  EXPECT_EQ(send("PATCH", "/collections/s2/items/missing", "{}").status, 404);
  EXPECT_EQ(send("POST", "/collections/nope/items", item("a").dump()).status, 404);

  EXPECT_EQ(send("DELETE", "/collections/s2/items/a").status, 204);
  EXPECT_EQ(send("GET", "/collections/s2/items/a").status, 404);
}

TEST_F(StacTransactions, BadBodiesAreClear400s) {
  tessera::ServiceOptions options;
  options.auth.allow_anonymous_writes = true;
  serve(options);
  for (const std::string& body :
       std::initializer_list<std::string>{"", "not json", "[1,2]", R"({"type": "Feature"})", R"({"id": 5})"}) {
    const HttpResponse response = send("POST", "/collections/s2/items", body);
    EXPECT_EQ(response.status, 400) << body << " -> " << response.body;
    EXPECT_FALSE(json::parse(response.body)["description"].get<std::string>().empty());
  }
  json bad = item("bad");
  bad["geometry"] = "nowhere";
  const HttpResponse response = send("POST", "/collections/s2/items", bad.dump());
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("geometry"), std::string::npos) << response.body;
  EXPECT_EQ(send("PATCH", "/collections/s2", "[1]", {}, "application/json-patch+json").status, 400);
  EXPECT_EQ(send("PUT", "/collections/s2/bulk_items", "{}").status, 405);
}

TEST_F(StacTransactions, ManyItemsAreStoredOrReportedNeverDropped) {
  tessera::ServiceOptions options;
  options.auth.allow_anonymous_writes = true;
  serve(options);
  json bad = item("bad");
  bad.erase("geometry");
  const json collection = {{"type", "FeatureCollection"}, {"features", {item("x"), bad, item("y")}}};
  HttpResponse response = send("POST", "/collections/s2/items", collection.dump());
  EXPECT_EQ(response.status, 400);
  json report = json::parse(response.body);
  EXPECT_EQ(report["loaded"], 2);
  ASSERT_EQ(report["failed"].size(), 1U);
  EXPECT_EQ(report["failed"][0]["id"], "bad");
  EXPECT_EQ(catalog_->get_item("s2", "y")["id"], "y");

  // Bulk upsert keyed by id: replaces x, adds z.
  const json bulk = {{"method", "upsert"}, {"items", {{"x", item("x", 77)}, {"z", item("z")}}}};
  response = send("POST", "/collections/s2/bulk_items", bulk.dump());
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(json::parse(response.body)["loaded"], 2);
  EXPECT_EQ(catalog_->get_item("s2", "x")["properties"]["eo:cloud_cover"], 77);
  const json mismatched = {{"items", {{"q", item("not-q")}}}};
  EXPECT_EQ(send("POST", "/collections/s2/bulk_items", mismatched.dump()).status, 400);
}

TEST_F(StacTransactions, CollectionLifecycle) {
  tessera::ServiceOptions options;
  options.auth.allow_anonymous_writes = true;
  serve(options);
  json landsat = tessera::testing::make_collection("landsat");
  HttpResponse response = send("POST", "/collections", landsat.dump());
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(*response.header("Location"), "http://stac.test/collections/landsat");
  EXPECT_EQ(send("POST", "/collections", landsat.dump()).status, 409);
  landsat["title"] = "Landsat";
  EXPECT_EQ(send("PUT", "/collections/landsat", landsat.dump()).status, 204);
  EXPECT_EQ(catalog_->get_collection("landsat")["title"], "Landsat");
  EXPECT_EQ(send("PATCH", "/collections/landsat", R"({"description": "patched"})").status, 204);
  EXPECT_EQ(catalog_->get_collection("landsat")["description"], "patched");
  EXPECT_EQ(send("PUT", "/collections/other", landsat.dump()).status, 400);
  EXPECT_EQ(send("POST", "/collections/landsat/items",
                 tessera::testing::make_item("i", "landsat", "2024-01-01T00:00:00Z", 0, 0).dump())
                .status,
            201);
  EXPECT_EQ(send("DELETE", "/collections/landsat").status, 204);
  EXPECT_EQ(send("GET", "/collections/landsat").status, 404);
  EXPECT_EQ(send("PUT", "/collections/landsat", landsat.dump()).status, 404);
}

class StacAuth : public StacTransactions {
 protected:
  void SetUp() override {
    StacTransactions::SetUp();
    rsa_ = rsa_key("rsa-1");
    ec_ = ec_key("ec-1");
    tessera::ServiceOptions options;
    options.auth.jwks = json{{"keys", {rsa_.jwk, ec_.jwk}}}.dump();
    options.auth.issuers = {"https://issuer.test"};
    serve(options);
  }

  int write_status(const std::string& token) {
    static int counter = 0;
    return send("POST", "/collections/s2/items", item(fmt::format("t{}", ++counter)).dump(), token).status;
  }

  TestKey rsa_;
  TestKey ec_;
};

TEST_F(StacAuth, WritesNeedAValidTokenWithTheScope) {
  EXPECT_TRUE(has(conformance(), kTransaction));
  EXPECT_EQ(write_status(""), 401);
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:write"), "rsa-1")), 201);
  EXPECT_EQ(write_status(sign(ec_, "ES256", claims("openid stac:write"), "ec-1")), 201);
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:read"), "rsa-1")), 403);
  const HttpResponse response =
      send("DELETE", "/collections/s2/items/x", {}, sign(rsa_, "RS256", claims("other"), "rsa-1"));
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.header("WWW-Authenticate")->find("insufficient_scope"), std::string::npos);
  // Reads stay public.
  EXPECT_EQ(send("GET", "/collections/s2/items").status, 200);
}

TEST_F(StacAuth, BadTokensAre401) {
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:write", -120), "rsa-1")), 401);  // expired
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:write", -10), "rsa-1")), 201);   // within leeway
  const TestKey stranger = rsa_key("rsa-1");
  EXPECT_EQ(write_status(sign(stranger, "RS256", claims("stac:write"), "rsa-1")), 401);  // not our key
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:write"), "unknown")), 401);
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:write"), "ec-1")), 401);  // key of another type
  json no_exp = claims("stac:write");
  no_exp.erase("exp");
  EXPECT_EQ(write_status(sign(rsa_, "RS256", no_exp, "rsa-1")), 401);
  json early = claims("stac:write");
  early["nbf"] = now() + 3600;
  EXPECT_EQ(write_status(sign(rsa_, "RS256", early, "rsa-1")), 401);

  // Tampered claims: the signature no longer matches.
  const std::string good = sign(rsa_, "RS256", claims("stac:read"), "rsa-1");
  const std::size_t first = good.find('.');
  const std::size_t second = good.find('.', first + 1);
  const std::string forged_payload = base64url(claims("stac:write").dump());
  EXPECT_EQ(write_status(good.substr(0, first + 1) + forged_payload + good.substr(second)), 401);

  // An HMAC token keyed with the public key (algorithm confusion) and an
  // unsigned one.
  jwt::jwt_object hmac{jwt::params::algorithm("HS256"), jwt::params::secret(rsa_.jwk["n"].get<std::string>())};
  hmac.add_claim("scope", "stac:write").add_claim("exp", now() + 600);
  EXPECT_EQ(write_status(hmac.signature()), 401);
  const std::string unsigned_token =
      base64url(R"({"alg":"none"})") + "." + base64url(claims("stac:write").dump()) + ".";
  EXPECT_EQ(write_status(unsigned_token), 401);

  for (const std::string& garbage :
       {std::string("x"), std::string("a.b"), std::string("a.b.c.d"), std::string("\xff\xfe.\x80.\x81"),
        std::string(20000, 'a'), std::string("..."), base64url("[]") + ".e30.sig", base64url("{}") + ".e30.sig"}) {
    const HttpResponse response = send("POST", "/collections/s2/items", item("g").dump(), garbage);
    EXPECT_EQ(response.status, 401) << garbage.substr(0, 40);
  }
  HttpRequest basic;
  basic.method = "POST";
  basic.path = "/collections/s2/items";
  basic.headers = {{"Authorization", "Basic dXNlcjpwYXNz"}};
  basic.body = item("b").dump();
  EXPECT_EQ(service_->handle(basic).status, 401);
}

TEST_F(StacAuth, IssuerAndAudience) {
  json other = claims("stac:write");
  other["iss"] = "https://elsewhere.test";
  EXPECT_EQ(write_status(sign(rsa_, "RS256", other, "rsa-1")), 403);

  tessera::ServiceOptions options;
  options.auth.jwks = json{{"keys", {rsa_.jwk}}}.dump();
  options.auth.audience = "tessera";
  serve(options);
  json for_us = claims("stac:write");
  for_us["aud"] = "tessera";
  EXPECT_EQ(write_status(sign(rsa_, "RS256", for_us, "rsa-1")), 201);
  for_us["aud"] = "someone-else";
  EXPECT_EQ(write_status(sign(rsa_, "RS256", for_us, "rsa-1")), 401);
  EXPECT_EQ(write_status(sign(rsa_, "RS256", claims("stac:write"), "rsa-1")), 401);  // no aud
}

TEST_F(StacAuth, RequireAuthCoversReads) {
  tessera::ServiceOptions options;
  options.auth.jwks = json{{"keys", {rsa_.jwk}}}.dump();
  options.auth.require_auth = true;
  serve(options);
  EXPECT_EQ(send("GET", "/").status, 401);
  EXPECT_EQ(send("GET", "/collections/s2/items").status, 401);
  EXPECT_EQ(send("GET", "/", {}, sign(rsa_, "RS256", claims("stac:read"), "rsa-1")).status, 200);
  // A CORS preflight carries no credentials.
  EXPECT_EQ(send("OPTIONS", "/search").status, 204);
}

TEST(StacAuthOptions, ContradictionsAndBadKeySetsAreRefused) {
  auto catalog = tessera::Catalog::open(":memory:");
  const auto refused = [&](const tessera::AuthOptions& auth, const std::string& expected) {
    tessera::ServiceOptions options;
    options.auth = auth;
    try {
      tessera::Service service(*catalog, options);
      ADD_FAILURE() << "accepted; expected: " << expected;
    } catch (const tessera::Error& error) {
      EXPECT_EQ(error.code(), tessera::ErrorCode::kInvalidInput) << error.what();
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  };
  tessera::AuthOptions auth;
  auth.require_auth = true;
  refused(auth, "require_auth");
  auth = {};
  auth.jwks = "{not json";
  refused(auth, "invalid JSON");
  auth.jwks = R"({"keys": []})";
  refused(auth, "no RSA or EC signing key");
  auth.jwks = R"({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]})";
  refused(auth, "at least 2048");
  auth.jwks = R"({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]})";
  refused(auth, "32 bytes");
  auth.jwks = R"({"keys": [{"kty": "RSA", "n": "!!!", "e": "AQAB"}]})";
  refused(auth, "keys[0].n");
  auth.jwks = "/nonexistent/jwks.json";
  refused(auth, "cannot read");
}

}  // namespace
