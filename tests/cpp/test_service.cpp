// The STAC API handlers without HTTP: routes, links from the request's base
// URL (behind proxies too), paging by next links, errors as JSON.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"
#include "tessera/service.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

class StacService : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = tessera::Catalog::open(":memory:");
    catalog_->upsert_collection(tessera::testing::make_collection("s2"));
    std::vector<json> items;
    for (int n = 0; n < 7; ++n) {
      items.push_back(tessera::testing::make_item(fmt::format("item-{}", n), "s2",
                                                  fmt::format("2024-01-0{}T00:00:00Z", n + 1), n, 45, 1.0,
                                                  {{"eo:cloud_cover", n * 10}}));
    }
    ASSERT_EQ(catalog_->load(items).loaded, 7U);
    service_ = std::make_unique<tessera::Service>(*catalog_);
  }

  HttpResponse get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {},
                   std::vector<std::pair<std::string, std::string>> headers = {{"Host", "stac.test:8080"}}) const {
    HttpRequest request;
    request.path = path;
    request.query = std::move(query);
    request.headers = std::move(headers);
    return service_->handle(request);
  }

  HttpResponse post(const std::string& path, const std::string& body) const {
    HttpRequest request;
    request.method = "POST";
    request.path = path;
    request.headers = {{"Host", "stac.test:8080"}, {"Content-Type", "application/json"}};
    request.body = body;
    return service_->handle(request);
  }

  static json body_of(const HttpResponse& response) { return json::parse(response.body); }

  static const json* link(const json& document, const std::string& rel) {
    for (const auto& entry : document["links"]) {
      if (entry["rel"] == rel) {
        return &entry;
      }
    }
    return nullptr;
  }

  std::unique_ptr<tessera::Catalog> catalog_;
  std::unique_ptr<tessera::Service> service_;
};

// Splits "http://host/path?a=1&b=2" into a request for this service.
HttpRequest request_for(const std::string& href) {
  HttpRequest request;
  const std::size_t path_start = href.find('/', href.find("://") + 3);
  const std::size_t query_start = href.find('?');
  request.path = href.substr(path_start, query_start - path_start);
  request.headers = {{"Host", href.substr(href.find("://") + 3, path_start - href.find("://") - 3)}};
  std::string query = query_start == std::string::npos ? "" : href.substr(query_start + 1);
  while (!query.empty()) {
    const std::size_t end = std::min(query.find('&'), query.size());
    const std::string pair = query.substr(0, end);
    const std::size_t equals = pair.find('=');
    std::string value = pair.substr(equals + 1);
    std::string decoded;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '%' && i + 2 < value.size()) {
        decoded += static_cast<char>(std::stoi(value.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        decoded += value[i];
      }
    }
    request.query.emplace_back(pair.substr(0, equals), decoded);
    query.erase(0, std::min(end + 1, query.size()));
  }
  return request;
}

}  // namespace

TEST_F(StacService, LandingPageAndConformance) {
  const HttpResponse response = get("/");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(*response.header("content-type"), "application/json");
  const json landing = body_of(response);
  EXPECT_EQ(landing["type"], "Catalog");
  ASSERT_NE(link(landing, "self"), nullptr);
  EXPECT_EQ((*link(landing, "self"))["href"], "http://stac.test:8080/");
  EXPECT_EQ((*link(landing, "child"))["href"], "http://stac.test:8080/collections/s2");
  const std::set<std::string> classes = body_of(get("/conformance"))["conformsTo"];
  EXPECT_TRUE(classes.contains("https://api.stacspec.org/v1.0.0/core"));
  EXPECT_TRUE(classes.contains("https://api.stacspec.org/v1.0.0/item-search"));
  EXPECT_EQ(landing["conformsTo"], body_of(get("/conformance"))["conformsTo"]);
  // The OpenAPI document, served with exactly the type its link announces.
  const json* service_desc = link(landing, "service-desc");
  ASSERT_NE(service_desc, nullptr);
  const HttpResponse api = get("/api");
  ASSERT_EQ(api.status, 200);
  EXPECT_EQ(*api.header("content-type"), (*service_desc)["type"]);
  const json document = body_of(api);
  EXPECT_EQ(document["openapi"], "3.0.3");
  for (const char* path : {"/", "/conformance", "/collections", "/collections/{collectionId}/items", "/search"}) {
    EXPECT_TRUE(document["paths"].contains(path)) << path;
  }
  EXPECT_TRUE(document["paths"]["/search"].contains("post"));
}

TEST_F(StacService, LinksFollowTheProxyHeadersAndIgnoreHostileOnes) {
  const auto self = [&](std::vector<std::pair<std::string, std::string>> headers) {
    return (*link(body_of(get("/", {}, std::move(headers))), "self"))["href"].get<std::string>();
  };
  EXPECT_EQ(self({{"Host", "internal:8000"},
                  {"X-Forwarded-Proto", "https"},
                  {"X-Forwarded-Host", "api.example.com"},
                  {"X-Forwarded-Prefix", "/stac/"}}),
            "https://api.example.com/stac/");
  EXPECT_EQ(
      self({{"Host", "internal:8000"}, {"Forwarded", "for=1.2.3.4;proto=https;host=\"b.example.org\", proto=http"}}),
      "https://b.example.org/");
  // Markup, other URL shapes and schemes in the headers are ignored.
  EXPECT_EQ(self({{"Host", "evil.test/\"><script>"}, {"X-Forwarded-Proto", "javascript"}}), "http://localhost/");
  EXPECT_EQ(self({{"Host", "ok.test"}, {"X-Forwarded-Prefix", "/a?b=<c>"}}), "http://ok.test/");
}

TEST_F(StacService, CollectionsAndItems) {
  const json collections = body_of(get("/collections"));
  ASSERT_EQ(collections["collections"].size(), 1U);
  EXPECT_EQ((*link(collections["collections"][0], "items"))["href"], "http://stac.test:8080/collections/s2/items");
  const json item = body_of(get("/collections/s2/items/item-3"));
  EXPECT_EQ(item["id"], "item-3");
  EXPECT_EQ((*link(item, "self"))["href"], "http://stac.test:8080/collections/s2/items/item-3");
  EXPECT_EQ((*link(item, "collection"))["href"], "http://stac.test:8080/collections/s2");
  EXPECT_EQ(get("/collections/s2/items/item-3").header("content-type")->find("geo+json") != std::string::npos, true);

  const HttpResponse missing = get("/collections/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body_of(missing)["code"], "NotFound");
  EXPECT_NE(body_of(missing)["description"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_EQ(get("/collections/s2/items/nope").status, 404);
  EXPECT_EQ(get("/collections/nope/items").status, 404);

  // pystac-client's CollectionClient.get_items() names the route's own
  // collection again; another collection there is an error.
  const json own =
      body_of(get("/collections/s2/items", {{"collections", std::string("s2")}, {"limit", std::string("2")}}));
  EXPECT_EQ(own["features"].size(), 2U);
  const HttpResponse other = get("/collections/s2/items", {{"collections", std::string("s2,other")}});
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(body_of(other)["description"].get<std::string>().find("collections"), std::string::npos);
}

TEST_F(StacService, CollectionSearchAndFreeText) {
  json other = tessera::testing::make_collection("dem");
  other["description"] = "Digital elevation model";
  other["extent"]["spatial"]["bbox"] = json::array({json::array({100, -40, 150, -10})});
  catalog_->upsert_collection(other);
  json described = tessera::testing::make_item("described", "s2", "2024-02-01T00:00:00Z", 0, 0, 1.0,
                                               {{"title", "Flooded fields"}, {"description", "After the storm"}});
  ASSERT_EQ(catalog_->load({described}).loaded, 1U);

  // Without parameters: every collection, counted.
  json page = body_of(get("/collections"));
  EXPECT_EQ(page["numberMatched"], 2);
  EXPECT_EQ(page["numberReturned"], 2);
  EXPECT_EQ(link(page, "next"), nullptr);
  ASSERT_NE(link(page, "self"), nullptr);
  page = body_of(get("/collections", {{"q", "elevation"}}));
  ASSERT_EQ(page["collections"].size(), 1U);
  EXPECT_EQ(page["collections"][0]["id"], "dem");
  EXPECT_NE(link(page["collections"][0], "items"), nullptr);  // linked as /collections/{id} links them
  EXPECT_EQ(body_of(get("/collections", {{"bbox", "0,0,1,1"}}))["numberMatched"], 1);
  EXPECT_EQ(body_of(get("/collections", {{"datetime", "2019-01-01T00:00:00Z/2019-12-31T00:00:00Z"}}))["numberMatched"],
            0);

  // Pages of one, followed by their next links.
  std::vector<std::string> ids;
  HttpRequest request;
  request.path = "/collections";
  request.query = {{"limit", "1"}};
  request.headers = {{"Host", "stac.test:8080"}};
  for (int pages = 0; pages < 5; ++pages) {
    const json answer = body_of(service_->handle(request));
    for (const auto& collection : answer["collections"]) {
      ids.push_back(collection["id"]);
    }
    const json* next = link(answer, "next");
    if (next == nullptr) {
      break;
    }
    request = request_for((*next)["href"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"dem", "s2"}));

  // q on item search, GET and POST, and on a collection's items.
  EXPECT_EQ(body_of(get("/search", {{"q", "flood,storm"}}))["numberMatched"], 1);
  EXPECT_EQ(body_of(post("/search", R"({"q": ["storm"]})"))["features"][0]["id"], "described");
  EXPECT_EQ(body_of(get("/collections/s2/items", {{"q", "-storm"}}))["numberMatched"], 0);

  // Bad parameters are 400s naming them; POST /collections stays the create transaction.
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"filter", "x = 1"}, {"q", "(a"}, {"bbox", "1,2"}, {"datetime", "yesterday"}, {"limit", "-1"}}) {
    const HttpResponse bad = get("/collections", {{name, value}});
    EXPECT_EQ(bad.status, 400) << name;
    EXPECT_NE(body_of(bad)["description"].get<std::string>().find(name), std::string::npos) << bad.body;
  }
  EXPECT_EQ(post("/collections", tessera::testing::make_collection("new").dump()).status, 401);

  const std::set<std::string> classes = body_of(get("/conformance"))["conformsTo"];
  for (const char* uri : {"https://api.stacspec.org/v1.0.0-rc.1/collection-search",
                          "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
                          "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/simple-query",
                          "https://api.stacspec.org/v1.0.0-rc.1/item-search#free-text",
                          "https://api.stacspec.org/v1.0.0-rc.1/ogcapi-features#free-text"}) {
    EXPECT_TRUE(classes.contains(uri)) << uri;
  }
}

TEST_F(StacService, ItemPagesFollowNextLinksToTheEnd) {
  std::set<std::string> seen;
  HttpRequest request;
  request.path = "/collections/s2/items";
  request.query = {{"limit", "3"}};
  request.headers = {{"Host", "stac.test"}};
  int pages = 0;
  for (;;) {
    const HttpResponse response = service_->handle(request);
    ASSERT_EQ(response.status, 200) << response.body;
    const json page = body_of(response);
    EXPECT_LE(page["features"].size(), 3U);
    for (const auto& feature : page["features"]) {
      EXPECT_TRUE(seen.insert(feature["id"].get<std::string>()).second) << feature["id"];
    }
    ++pages;
    const json* next = link(page, "next");
    if (next == nullptr) {
      break;
    }
    request = request_for((*next)["href"]);
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen.size(), 7U);
  EXPECT_EQ(pages, 3);
}

TEST_F(StacService, SearchGetAndPostAgree) {
  const json by_get = body_of(get("/search", {{"bbox", "2.5,44,4.5,47"},
                                              {"filter", "\"eo:cloud_cover\" >= 30"},
                                              {"sortby", "-eo:cloud_cover"},
                                              {"fields", "id,-assets"}}));
  ASSERT_EQ(by_get["features"].size(), 2U) << by_get.dump();
  EXPECT_EQ(by_get["features"][0]["id"], "item-4");
  EXPECT_FALSE(by_get["features"][0].contains("assets"));
  const json by_post = body_of(post("/search", R"({"bbox": [2.5, 44, 4.5, 47], "filter-lang": "cql2-text",
      "filter": "\"eo:cloud_cover\" >= 30", "sortby": [{"field": "eo:cloud_cover", "direction": "desc"}]})"));
  ASSERT_EQ(by_post["features"].size(), 2U);
  EXPECT_EQ(by_post["features"][0]["id"], "item-4");

  // POST paging: the next link carries the token in a body to merge.
  const json first = body_of(post("/search", R"({"collections": ["s2"], "limit": 4})"));
  const json* next = link(first, "next");
  ASSERT_NE(next, nullptr);
  EXPECT_EQ((*next)["method"], "POST");
  EXPECT_EQ((*next)["merge"], true);
  json body = {{"collections", {"s2"}}, {"limit", 4}};
  body.update((*next)["body"]);
  const json second = body_of(post("/search", body.dump()));
  EXPECT_EQ(second["features"].size(), 3U);
  EXPECT_EQ(link(second, "next"), nullptr);
}

TEST_F(StacService, QueryFilterAndSortOnItemsAndSearch) {
  // The query extension: JSON text in GET, an object in POST, on /items too.
  const json by_get = body_of(get("/search", {{"query", std::string(R"({"eo:cloud_cover": {"gte": 40, "lt": 60}})")}}));
  ASSERT_EQ(by_get["features"].size(), 2U) << by_get.dump();
  const json by_post = body_of(post("/search", R"({"query": {"eo:cloud_cover": {"in": [10, 20]}}})"));
  EXPECT_EQ(by_post["features"].size(), 2U) << by_post.dump();
  const json items = body_of(get("/collections/s2/items", {{"filter", "\"eo:cloud_cover\" <= 20"},
                                                           {"sortby", "-eo:cloud_cover"},
                                                           {"query", R"({"eo:cloud_cover": {"neq": 10}})"}}));
  ASSERT_EQ(items["features"].size(), 2U) << items.dump();
  EXPECT_EQ(items["features"][0]["id"], "item-2");
  EXPECT_EQ(items["features"][1]["id"], "item-0");
  EXPECT_EQ(get("/search", {{"query", std::string(R"({"eo:cloud_cover": {"below": 1}})")}}).status, 400);

  // The STAC API's strict forms over HTTP.
  EXPECT_EQ(get("/search", {{"datetime", std::string("2024-01-02")}}).status, 400);
  EXPECT_EQ(get("/search", {{"datetime", std::string("2024-01-02T00:00:00Z/..")}}).status, 200);
  EXPECT_EQ(get("/search", {{"datetime", std::string("../2024-01-02T00:00:00.5+01:00")}}).status, 200);
  EXPECT_EQ(get("/search", {{"datetime", std::string("../..")}}).status, 400);
  EXPECT_EQ(post("/search", R"({"bbox": "0,0,10,50"})").status, 400);

  // The service-doc page names every route, escaped.
  const HttpResponse page = get("/api.html");
  EXPECT_EQ(*page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/collections/{collectionId}/items/{itemId}"), std::string::npos);
  const json landing = body_of(get("/"));
  const json* doc = link(landing, "service-doc");
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ((*doc)["href"], "http://stac.test:8080/api.html");
}

TEST_F(StacService, BadRequestsAreJsonErrorsNamingWhatAndWhere) {
  const auto expect = [&](const HttpResponse& response, int status, const std::string& fragment) {
    EXPECT_EQ(response.status, status) << response.body;
    const json error = body_of(response);
    EXPECT_TRUE(error.contains("code"));
    EXPECT_NE(error["description"].get<std::string>().find(fragment), std::string::npos) << error.dump();
  };
  expect(get("/search", {{"bbox", "1,2,x,4"}}), 400, "bbox");
  expect(get("/search", {{"limit", "0"}}), 400, "limit");
  expect(get("/search", {{"limit", "ten"}}), 400, "limit");
  expect(get("/search", {{"colour", "red"}}), 400, "colour");
  expect(get("/search", {{"filter", "eo:cloud_cover >"}}), 400, "CQL2 text, character 16");
  expect(get("/search", {{"filter-lang", "sql"}, {"filter", "1=1"}}), 400, "filter-lang");
  expect(get("/search", {{"intersects", "{not json"}}), 400, "intersects");
  expect(post("/search", "{not json"), 400, "request body");
  expect(post("/search", "[1, 2]"), 400, "request body");
  expect(get("/nowhere"), 404, "/nowhere");
  // Text that is not UTF-8 (found by fuzz_service: it failed the page token with a 500).
  expect(get("/search", {{"sortby",
                          "-eo:cloud_\xa1"
                          "cover"},
                         {"limit", "1"}}),
         400, "UTF-8");
  expect(get("/search", {{"ids", "a\xff"}}), 400, "UTF-8");
  expect(post("/search", "{\"collections\": [\"\xc3\"]}"), 400, "");
  HttpRequest put;
  put.method = "PUT";
  put.path = "/collections";
  expect(service_->handle(put), 405, "PUT");
  tessera::ServiceOptions small;
  small.max_body_bytes = 16;
  const tessera::Service limited(*catalog_, small);
  HttpRequest large;
  large.method = "POST";
  large.path = "/search";
  large.body = std::string(64, ' ');
  expect(limited.handle(large), 413, "64 bytes");
  // A limit above the service's maximum is lowered, not refused.
  EXPECT_EQ(get("/search", {{"limit", "1000000"}}).status, 200);
  EXPECT_EQ(get("/collections/s2/items", {{"limit", std::string(80, '1')}}).status, 200);  // found by fuzz_service
  expect(get("/search", {{"limit", "1e400"}}), 400, "limit");
}

TEST_F(StacService, CrossOriginRequestsFromAllowedOriginsOnly) {
  tessera::ServiceOptions options;
  options.cors_origins = {"https://browser.test"};
  const tessera::Service service(*catalog_, options);
  HttpRequest request;
  request.path = "/search";
  request.headers = {{"Host", "stac.test"}, {"Origin", "https://browser.test"}};
  HttpResponse response = service.handle(request);
  ASSERT_NE(response.header("access-control-allow-origin"), nullptr);
  EXPECT_EQ(*response.header("access-control-allow-origin"), "https://browser.test");
  EXPECT_EQ(*response.header("vary"), "Origin");
  // Errors carry them too, so a page can read what went wrong.
  request.query = {{"bbox", "x"}};
  EXPECT_NE(service.handle(request).header("access-control-allow-origin"), nullptr);
  // Another origin, or a service without CORS, gets none.
  request.headers = {{"Host", "stac.test"}, {"Origin", "https://evil.test"}};
  EXPECT_EQ(service.handle(request).header("access-control-allow-origin"), nullptr);
  request.headers = {{"Host", "stac.test"}, {"Origin", "https://browser.test"}};
  EXPECT_EQ(service_->handle(request).header("access-control-allow-origin"), nullptr);
  // The preflight: 204 without a body, naming the methods and headers allowed.
  request.method = "OPTIONS";
  request.query.clear();
  response = service.handle(request);
  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(response.header("content-type"), nullptr);
  EXPECT_NE(response.header("access-control-allow-methods")->find("POST"), std::string::npos);
  EXPECT_NE(response.header("access-control-allow-headers")->find("Authorization"), std::string::npos);
  // "*" allows any origin.
  options.cors_origins = {"*"};
  const tessera::Service open(*catalog_, options);
  request.method = "GET";
  request.headers = {{"Origin", "https://anywhere.test"}};
  EXPECT_EQ(*open.handle(request).header("access-control-allow-origin"), "*");
}
