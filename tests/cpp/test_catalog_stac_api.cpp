// The catalog over a remote STAC API (stac+http://), against tessera's own
// service over a SQLite catalog on loopback (in process, cpp-httplib): its
// searches, items, collections and registered searches equal the local
// catalog's, a mosaic tile through it equals the local one pixel for pixel
// and the area cache saves the per-tile searches; new items it finds match
// AOIs of its local store, and datasets found by searching it package as the
// local catalog's. The read part of the catalog conformance suite runs on it
// too (Remote/CatalogReadConformance.*). Then fault servers: down,
// slow, 429 with Retry-After, truncated JSON, a looping next link, an
// oversized page, a token naming another host, a missing conformance class.
// And assets read through a host's href signer from a store wanting signatures.

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cpl_string.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "catalog_conformance.hpp"
#include "catalog_fixtures.hpp"
#include "loopback_server.hpp"
#include "matching_fixtures.hpp"
#include "tessera/catalog.hpp"
#include "tessera/environment.hpp"
#include "tessera/matching.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/packaging.hpp"
#include "tessera/service.hpp"
#include "tessera/storage.hpp"
#include "tessera/tessera.h"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"
#include "test_support.hpp"
#include "tile_sample_data.hpp"

namespace {

using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::testing::expect_error;
using tessera::testing::ids_of;
using tessera::testing::LoopbackServer;
using tessera::testing::ServedCatalog;
using tessera::testing::service_handler;

// The features of a search result without their links (the server adds its
// own: self, parent, tiles).
json without_links(json features) {
  for (auto& feature : features) {
    feature.erase("links");
  }
  return features;
}

// Every page of `request` by its next tokens: the ids in order.
std::vector<std::string> walk(Catalog& catalog, json request) {
  std::vector<std::string> ids;
  for (int page = 0; page < 100; ++page) {
    const json result = catalog.search(request);
    const auto page_ids = ids_of(result);
    ids.insert(ids.end(), page_ids.begin(), page_ids.end());
    std::string next;
    for (const auto& link : result.value("links", json::array())) {
      if (link.value("rel", "") == "next") {
        next = link.value("body", json::object()).value("token", "");
      }
    }
    if (result.contains("next")) {
      next = result["next"].get<std::string>();
    }
    if (next.empty()) {
      return ids;
    }
    request = {{"token", next}};
  }
  ADD_FAILURE() << "more than 100 pages";
  return ids;
}

class StacApiCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = Catalog::open(":memory:");
    local_->create_collection(tessera::testing::make_collection("a"));
    local_->create_collection(tessera::testing::make_collection("b"));
    std::vector<json> items;
    for (int i = 0; i < 24; ++i) {
      json properties = {{"eo:cloud_cover", (i * 7) % 31}, {"title", i % 2 == 0 ? "river delta" : "mountain"}};
      items.push_back(tessera::testing::make_item(fmt::format("item-{:02}", i), i % 3 == 0 ? "b" : "a",
                                                  fmt::format("2021-{:02}-{:02}T10:00:00Z", 1 + i % 12, 1 + i),
                                                  -10.0 + i, 40.0 + (i % 5), 1.5, properties));
    }
    ASSERT_TRUE(local_->load(items).failed.empty());
    service_ = std::make_unique<tessera::Service>(*local_);
    server_ = std::make_unique<LoopbackServer>(service_handler(*service_));
    remote_ = Catalog::open(server_->uri());
    // The same service offering item search by GET only: its landing page
    // without the POST search link.
    get_only_server_ = std::make_unique<LoopbackServer>(
        [forward = service_handler(*service_)](const httplib::Request& request, httplib::Response& response) {
          forward(request, response);
          if (request.path == "/") {
            json landing = json::parse(response.body);
            json links = json::array();
            for (const auto& link : landing["links"]) {
              if (!(link.value("rel", "") == "search" && link.value("method", "GET") == "POST")) {
                links.push_back(link);
              }
            }
            landing["links"] = links;
            response.set_content(landing.dump(), "application/json");
          }
        });
    get_only_ = Catalog::open(get_only_server_->uri());
  }

  std::unique_ptr<Catalog> local_;
  std::unique_ptr<tessera::Service> service_;
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<Catalog> remote_;
  std::unique_ptr<LoopbackServer> get_only_server_;
  std::unique_ptr<Catalog> get_only_;
};

TEST_F(StacApiCatalogTest, SearchesEqualTheLocalCatalogs) {
  const std::vector<json> requests = {
      {{"limit", 100}},
      {{"bbox", {-5, 39, 3, 45}}, {"limit", 100}},
      {{"intersects", {{"type", "Point"}, {"coordinates", {0.5, 42.2}}}}, {"limit", 100}},
      {{"datetime", "2021-03-01T00:00:00Z/2021-07-01T00:00:00Z"}, {"limit", 100}},
      {{"ids", {"item-03", "item-07", "item-99"}}},
      {{"collections", {"b"}}, {"limit", 100}},
      {{"filter", "eo:cloud_cover < 10 AND collection = 'a'"}, {"filter-lang", "cql2-text"}, {"limit", 100}},
      {{"filter", {{"op", ">="}, {"args", {{{"property", "eo:cloud_cover"}}, 20}}}}, {"limit", 100}},
      {{"sortby", {{{"field", "properties.eo:cloud_cover"}, {"direction", "asc"}}}}, {"limit", 100}},
      {{"q", "delta"}, {"limit", 100}},
      {{"fields", {{"include", {"properties.eo:cloud_cover"}}}}, {"limit", 5}},
  };
  for (const auto& request : requests) {
    SCOPED_TRACE(request.dump());
    const json local = local_->search(request);
    for (Catalog* catalog : {remote_.get(), get_only_.get()}) {
      SCOPED_TRACE(catalog == remote_.get() ? "POST" : "GET");
      const json remote = catalog->search(request);
      EXPECT_EQ(ids_of(remote), ids_of(local));
      EXPECT_EQ(remote.value("numberMatched", -1), local.value("numberMatched", -1));
      EXPECT_EQ(without_links(remote["features"]), without_links(local["features"]));
    }
  }
}

TEST_F(StacApiCatalogTest, PagesWalkLikeTheLocalCatalogs) {
  for (const json& request : {json{{"limit", 5}}, json{{"limit", 4}, {"bbox", {-12, 38, 20, 46}}},
                              json{{"limit", 3}, {"sortby", "-eo:cloud_cover"}, {"collections", {"a"}}}}) {
    SCOPED_TRACE(request.dump());
    const auto local = walk(*local_, request);
    EXPECT_EQ(walk(*remote_, request), local);
    EXPECT_EQ(walk(*get_only_, request), local);
    EXPECT_GT(local.size(), request["limit"].get<std::size_t>());
  }
}

TEST_F(StacApiCatalogTest, PagesFromTheAreaCacheWalkBackByPrevTokens) {
  const json request = {{"limit", 2}, {"bbox", {-5, 39, 3, 45}}};
  const int before = server_->searches();
  const auto pages = tessera::testing::pages_of(*remote_, request);
  EXPECT_EQ(server_->searches() - before, 1);  // the area, then pages from the cache
  ASSERT_GT(pages.size(), 2U);
  EXPECT_FALSE(pages[0].contains("prev"));
  for (std::size_t n = pages.size() - 1; n > 0; --n) {
    const json previous = remote_->search({{"token", pages[n].at("prev")}});
    EXPECT_EQ(ids_of(previous), ids_of(pages[n - 1])) << "page " << n;
  }
}

TEST_F(StacApiCatalogTest, ItemsCollectionsAndQueryables) {
  json item = remote_->get_item("a", "item-01");
  ASSERT_TRUE(item.contains("links"));
  item.erase("links");
  json expected = local_->get_item("a", "item-01");
  expected.erase("links");
  EXPECT_EQ(item, expected);
  expect_error([&] { remote_->get_item("a", "no-such-item"); }, ErrorCode::kNotFound, "no-such-item");
  expect_error([&] { remote_->get_collection("zz"); }, ErrorCode::kNotFound, "collection 'zz'");
  EXPECT_EQ(remote_->get_collection("b")["id"], "b");
  const json collections = remote_->collections();
  ASSERT_EQ(collections.size(), 2U);
  EXPECT_EQ(collections[0]["id"], "a");
  EXPECT_TRUE(remote_->queryables().contains("properties"));
  EXPECT_TRUE(remote_->queryables("a").contains("properties"));
  const json found = remote_->search_collections({{"ids", {"b", "c"}}});
  ASSERT_EQ(found["collections"].size(), 1U);
  EXPECT_EQ(found["collections"][0]["id"], "b");
}

TEST_F(StacApiCatalogTest, WritesAreUnsupported) {
  expect_error([&] { remote_->create_collection(tessera::testing::make_collection("c")); }, ErrorCode::kUnsupported,
               "read");
  expect_error([&] { remote_->delete_item("a", "item-01"); }, ErrorCode::kUnsupported, "delete_item");
  expect_error([&] { remote_->index_property("eo:cloud_cover"); }, ErrorCode::kUnsupported, "index_property");
  expect_error([&] { remote_->load({tessera::testing::make_item("x", "a", "2021-01-01T00:00:00Z", 0, 0)}); },
               ErrorCode::kUnsupported, "load");
  // No change feed: a pyramid over a remote API can be built (it starts after
  // change 0) but not updated.
  expect_error([&] { static_cast<void>(remote_->item_changes(0)); }, ErrorCode::kUnsupported, "no item changes");
  EXPECT_EQ(remote_->last_item_change(), 0);
  EXPECT_EQ(remote_->prune_item_changes(std::chrono::seconds(0)), 0U);
}

TEST_F(StacApiCatalogTest, RegisteredSearchesHaveTheLocalIds) {
  const json search = {{"collections", {"a"}}, {"filter", "eo:cloud_cover < 15"}, {"filter-lang", "cql2-text"}};
  const std::string id = remote_->register_search(search, {{"name", "low cloud"}});
  EXPECT_EQ(id, local_->register_search(search, {{"name", "low cloud"}}));
  EXPECT_EQ(remote_->registered_search(id)["metadata"]["name"], "low cloud");
  EXPECT_EQ(remote_->registered_searches().size(), 1U);
  EXPECT_TRUE(remote_->try_lock("job", "me", std::chrono::seconds(60)));
  EXPECT_FALSE(remote_->try_lock("job", "you", std::chrono::seconds(60)));
  remote_->unlock("job", "me");
}

TEST_F(StacApiCatalogTest, MatchingKeepsItsTablesInTheLocalStore) {
  // New imagery on the server, matched against AOIs kept beside the remote catalog.
  ASSERT_TRUE(local_->load({tessera::testing::make_imagery("s2-1", "a", 20.2, 50.2, 0.5)}).failed.empty());
  tessera::Matcher matcher(*remote_);
  const std::string model = matcher.add_model(tessera::testing::make_model("flood"));
  matcher.add_aoi(tessera::testing::make_aoi(model, tessera::testing::square(20, 50, 1)));
  const auto matches = matcher.match(remote_->get_item("a", "s2-1"));
  ASSERT_EQ(matches.size(), 1U);
  EXPECT_EQ(matcher.aois(model).size(), 1U);
}

TEST_F(StacApiCatalogTest, NewItemsFoundByARemoteSearchMatchAoisOfASharedStore) {
  // The AOIs live in a store file that every catalog opened on it shares (as
  // the processes of a deployment would); the items come from the server.
  const tessera::testing::TempDir folder;
  tessera::CatalogOptions options;
  options.stac_api.search_store = (folder.path() / "store.db").string();
  std::string aoi;
  {
    const auto setup = Catalog::open(server_->uri(), options);
    tessera::Matcher matcher(*setup);
    const std::string model = matcher.add_model(tessera::testing::make_model("flood"));
    aoi = matcher.add_aoi(tessera::testing::make_aoi(model, tessera::testing::square(20, 50, 1)));
  }
  ASSERT_TRUE(local_
                  ->load({tessera::testing::make_imagery("over", "a", 20.2, 50.2, 0.5),
                          tessera::testing::make_imagery("beside", "a", 30.2, 50.2, 0.5)})
                  .failed.empty());
  const auto remote = Catalog::open(server_->uri(), options);
  const tessera::Matcher matcher(*remote);
  const json found = remote->search({{"ids", {"over", "beside"}}, {"sortby", "id"}});
  ASSERT_EQ(ids_of(found), (std::vector<std::string>{"beside", "over"}));
  const auto matches = matcher.match_batch(found["features"].get<std::vector<json>>());
  ASSERT_EQ(matches.size(), 2U);
  EXPECT_TRUE(matches[0].empty());
  ASSERT_EQ(matches[1].size(), 1U);
  EXPECT_EQ(matches[1][0].aoi, aoi);
}

TEST_F(StacApiCatalogTest, TheAreaCacheAnswersNeighbouringSearches) {
  // Neighbouring tile-sized boxes share an area: one server search for all.
  const int before = server_->searches();
  // Boxes 0.08 degrees wide: areas of 360 / 2^9 = 0.70 degrees, one for all six.
  for (int i = 0; i < 6; ++i) {
    const json request = {{"bbox", {0.01 + 0.1 * i, 42.01, 0.09 + 0.1 * i, 42.09}}, {"limit", 100}};
    EXPECT_EQ(ids_of(remote_->search(request)), ids_of(local_->search(request)));
  }
  EXPECT_EQ(server_->searches() - before, 1);
  remote_->refresh();
  static_cast<void>(remote_->search({{"bbox", {0.01, 42.01, 0.09, 42.09}}}));
  EXPECT_EQ(server_->searches() - before, 2);

  // Off: every search goes to the server.
  tessera::CatalogOptions uncached;
  uncached.stac_api.search_cache_ttl_ms = 0;
  const auto direct = Catalog::open(server_->uri(), uncached);
  const int direct_before = server_->searches();
  for (int i = 0; i < 3; ++i) {
    static_cast<void>(direct->search({{"bbox", {0.01 + 0.1 * i, 42.01, 0.09 + 0.1 * i, 42.09}}}));
  }
  EXPECT_EQ(server_->searches() - direct_before, 3);
}

TEST_F(StacApiCatalogTest, AnAreaTooLargeToCacheGoesToTheServer) {
  tessera::CatalogOptions small;
  small.stac_api.search_cache_max_bytes = 400;  // areas of at most 100 bytes: less than one item
  const auto remote = Catalog::open(server_->uri(), small);
  const json request = {{"bbox", {0.2, 40.2, 0.3, 40.3}}};  // over item-10
  const int before = server_->searches();
  ASSERT_EQ(ids_of(local_->search(request)), std::vector<std::string>{"item-10"});
  EXPECT_EQ(ids_of(remote->search(request)), ids_of(local_->search(request)));
  EXPECT_EQ(server_->searches() - before, 2);  // the area, given up, then the search itself
  EXPECT_EQ(ids_of(remote->search(request)), ids_of(local_->search(request)));
  EXPECT_EQ(server_->searches() - before, 3);  // the area is remembered as too large
}

TEST_F(StacApiCatalogTest, RequestsPerSecondIsACap) {
  tessera::CatalogOptions capped;
  capped.stac_api.requests_per_second = 2;  // bursts of 2: the landing page, then one search at once
  const auto remote = Catalog::open(server_->uri(), capped);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    static_cast<void>(remote->search({{"ids", {"item-01"}}}));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
}

TEST_F(StacApiCatalogTest, TheCAbiTakesStacApiOptionsAsJson) {
  tsr_catalog_options options;
  ASSERT_EQ(tsr_catalog_options_init(&options, TSR_CATALOG_OPTIONS_VERSION), TSR_OK);
  EXPECT_EQ(options.stac_api_json, nullptr);
  options.stac_api_json = R"({"timeout_ms": 5000, "headers": {"X-API-Key": "k"}})";
  tsr_catalog catalog = nullptr;
  ASSERT_EQ(tsr_catalog_open(server_->uri().c_str(), &options, &catalog), TSR_OK);
  char* result = nullptr;
  ASSERT_EQ(tsr_catalog_search(catalog, R"({"ids": ["item-01"]})", &result), TSR_OK);
  EXPECT_EQ(ids_of(json::parse(result)), std::vector<std::string>{"item-01"});
  tsr_free(result);
  EXPECT_EQ(tsr_catalog_refresh(catalog), TSR_OK);
  tsr_catalog_destroy(&catalog);
  EXPECT_EQ(tsr_catalog_refresh(nullptr), TSR_INVALID_INPUT);

  options.stac_api_json = R"({"timeout": 1})";
  EXPECT_EQ(tsr_catalog_open(server_->uri().c_str(), &options, &catalog), TSR_INVALID_INPUT);
  EXPECT_NE(std::string(tsr_last_error_message()).find("unknown option 'timeout'"), std::string::npos);
  options.stac_api_json = "{";
  EXPECT_EQ(tsr_catalog_open(server_->uri().c_str(), &options, &catalog), TSR_INVALID_INPUT);
  EXPECT_EQ(catalog, nullptr);
}

TEST_F(StacApiCatalogTest, TokensNamingAnotherServerAreRefused) {
  ASSERT_TRUE(remote_->search({{"limit", 2}}).contains("next"));
  // A token of this backend's form whose next page lives on another host.
  const json position = {{"href", "http://169.254.169.254/latest/meta-data"}, {"body", nullptr}};
  const json payload = {{"q", json::object()}, {"p", position}};
  const std::string text = payload.dump();
  char* encoded = CPLBase64Encode(static_cast<int>(text.size()), reinterpret_cast<const GByte*>(text.data()));
  std::string token(encoded);
  CPLFree(encoded);
  for (char& c : token) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  token.erase(token.find_last_not_of('=') + 1);
  expect_error([&] { remote_->search({{"token", token}}); }, ErrorCode::kInvalidInput, "another server");
}

TEST(StacApiCatalogOpen, RefusesBadUrisAndOptions) {
  expect_error([] { Catalog::open("stac+http://user:secret@127.0.0.1:1/"); }, ErrorCode::kInvalidInput, "user-info");
  expect_error(
      [] {
        tessera::StacApiOptions::from_json({{"timeout_ms", -1}});
      },
      ErrorCode::kInvalidInput, "stac_api.timeout_ms");
  expect_error(
      [] {
        tessera::StacApiOptions::from_json({{"retries", 1}});
      },
      ErrorCode::kInvalidInput, "unknown option 'retries'");
  expect_error(
      [] {
        tessera::StacApiOptions::from_json({{"headers", {{"X-Key", 1}}}});
      },
      ErrorCode::kInvalidInput, "stac_api.headers.X-Key");
  tessera::CatalogOptions options;
  options.stac_api.headers["X-Key"] = "a\r\nInjected: 1";
  expect_error([&] { Catalog::open("stac+http://127.0.0.1:1/", options); }, ErrorCode::kInvalidInput, "CR, LF");
}

// --- Fault servers -----------------------------------------------------------

// A minimal STAC API: landing page and conformance as given, /search
// answered by `search`.
LoopbackServer::Handler fake_api(std::vector<std::string> conformance, LoopbackServer::Handler search,
                                 const std::function<std::string()>& base) {
  return [conformance = std::move(conformance), search = std::move(search), base](const httplib::Request& request,
                                                                                  httplib::Response& response) {
    if (request.path == "/") {
      const json landing = {{"type", "Catalog"},
                            {"id", "fake"},
                            {"conformsTo", conformance},
                            {"links", {{{"rel", "search"}, {"href", base() + "/search"}, {"method", "POST"}}}}};
      response.set_content(landing.dump(), "application/json");
    } else if (request.path == "/search") {
      search(request, response);
    } else {
      response.status = 404;
    }
  };
}

const std::vector<std::string> kFullConformance = {
    "https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#filter", "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"};

json feature(int i) { return tessera::testing::make_item(fmt::format("f{}", i), "a", "2021-01-01T00:00:00Z", i, 0); }

struct FakeApi {
  std::string base;
  std::unique_ptr<LoopbackServer> server;
  FakeApi(std::vector<std::string> conformance, LoopbackServer::Handler search) {
    server =
        std::make_unique<LoopbackServer>(fake_api(std::move(conformance), std::move(search), [this] { return base; }));
    base = server->base();
  }
};

tessera::CatalogOptions fast_options() {
  tessera::CatalogOptions options;
  options.stac_api.timeout_ms = 2000;
  options.stac_api.connect_timeout_ms = 1000;
  options.stac_api.backoff_base_ms = 10;
  options.stac_api.backoff_cap_ms = 1500;
  options.stac_api.search_cache_ttl_ms = 0;
  return options;
}

TEST(StacApiCatalogFaults, ServerDownIsUnavailable) {
  int port = 0;
  {
    const FakeApi gone(kFullConformance, [](const httplib::Request&, httplib::Response&) {});
    port = std::stoi(gone.base.substr(gone.base.rfind(':') + 1));
  }
  const auto started = std::chrono::steady_clock::now();
  expect_error([&] { Catalog::open(fmt::format("stac+http://127.0.0.1:{}/", port), fast_options()); },
               ErrorCode::kUnavailable, "after 4 attempts");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(StacApiCatalogFaults, SlowServerTimesOut) {
  const FakeApi slow(kFullConformance, [](const httplib::Request&, httplib::Response& response) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    response.set_content(json{{"type", "FeatureCollection"}, {"features", json::array()}}.dump(), "application/json");
  });
  auto options = fast_options();
  options.stac_api.timeout_ms = 300;
  const auto remote = Catalog::open(slow.server->uri(), options);
  const auto started = std::chrono::steady_clock::now();
  expect_error([&] { remote->search(json::object()); }, ErrorCode::kUnavailable, "timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(StacApiCatalogFaults, TooManyRequestsIsRetriedAfterRetryAfter) {
  std::atomic<int> calls{0};
  const FakeApi busy(kFullConformance, [&calls](const httplib::Request&, httplib::Response& response) {
    if (calls++ == 0) {
      response.status = 429;
      response.set_header("Retry-After", "1");
      return;
    }
    response.set_content(json{{"type", "FeatureCollection"}, {"features", {feature(1)}}}.dump(), "application/json");
  });
  const auto remote = Catalog::open(busy.server->uri(), fast_options());
  const auto started = std::chrono::steady_clock::now();
  const json result = remote->search(json::object());
  EXPECT_EQ(ids_of(result), std::vector<std::string>{"f1"});
  EXPECT_EQ(calls.load(), 2);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));  // Retry-After: 1 s
}

TEST(StacApiCatalogFaults, HeadersReachTheServerButNotErrorMessages) {
  std::string authorization;
  const FakeApi guarded(
      kFullConformance, [&authorization](const httplib::Request& request, httplib::Response& response) {
        authorization = request.get_header_value("Authorization");
        response.status = 401;
        response.set_content(R"({"code": "Unauthorized", "description": "bad token"})", "application/json");
      });
  auto options = fast_options();
  options.stac_api.headers["Authorization"] = "Bearer s3cret";
  const auto remote = Catalog::open(guarded.server->uri(), options);
  try {
    static_cast<void>(remote->search(json::object()));
    ADD_FAILURE() << "a 401 must fail";
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(error.what()).find("HTTP 401"), std::string::npos) << error.what();
    EXPECT_EQ(std::string(error.what()).find("s3cret"), std::string::npos) << error.what();
  }
  EXPECT_EQ(authorization, "Bearer s3cret");
}

TEST(StacApiCatalogFaults, NumberMatchedComesFromTheContextExtensionToo) {
  const FakeApi older(kFullConformance, [](const httplib::Request&, httplib::Response& response) {
    const json page = {{"type", "FeatureCollection"}, {"features", {feature(1)}}, {"context", {{"matched", 7}}}};
    response.set_content(page.dump(), "application/json");
  });
  const auto remote = Catalog::open(older.server->uri(), fast_options());
  EXPECT_EQ(remote->search(json::object())["numberMatched"], 7);
  EXPECT_FALSE(remote->search({{"context", false}}).contains("numberMatched"));
}

TEST(StacApiCatalogFaults, ConformanceFromItsOwnPageAndSearchByGet) {
  // No conformsTo on the landing page, no search link: /conformance and GET /search.
  std::string query;
  const LoopbackServer plain([&query](const httplib::Request& request, httplib::Response& response) {
    if (request.path == "/") {
      response.set_content(json{{"type", "Catalog"}, {"id", "plain"}, {"links", json::array()}}.dump(),
                           "application/json");
    } else if (request.path == "/conformance") {
      response.set_content(json{{"conformsTo", kFullConformance}}.dump(), "application/json");
    } else if (request.path == "/search" && request.method == "GET") {
      query = request.get_param_value("ids") + "|" + request.get_param_value("bbox");
      response.set_content(json{{"type", "FeatureCollection"}, {"features", json::array()}}.dump(), "application/json");
    } else {
      response.status = 404;
    }
  });
  const auto remote = Catalog::open(plain.uri(), fast_options());
  static_cast<void>(remote->search({{"ids", {"a", "b"}}, {"bbox", {1, 2, 3.5, 4}}}));
  EXPECT_EQ(query, "a,b|1.0,2.0,3.5,4.0");
  // A comma inside an id cannot be told apart from the list's in the GET form.
  expect_error([&] { remote->search({{"ids", {"a", "b,c"}}}); }, ErrorCode::kUnsupported, "id 'b,c' holds a ','");
  expect_error([&] { remote->search({{"sortby", "id"}}); }, ErrorCode::kUnsupported, "item-search#sort");
}

TEST(StacApiCatalogFaults, RedirectsAreNotFollowed) {
  const LoopbackServer moved([](const httplib::Request&, httplib::Response& response) {
    response.set_redirect("http://169.254.169.254/stac", 301);
  });
  expect_error([&] { Catalog::open(moved.uri(), fast_options()); }, ErrorCode::kIo,
               "redirects the landing page to http://169.254.169.254/stac");
}

TEST(StacApiCatalogFaults, BadAnswersAreClearErrors) {
  std::string answer;
  const FakeApi bad(kFullConformance, [&answer](const httplib::Request&, httplib::Response& response) {
    response.set_content(answer, "application/json");
  });
  auto options = fast_options();
  options.stac_api.max_response_bytes = 64 * 1024;
  const auto remote = Catalog::open(bad.server->uri(), options);

  answer = R"({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "a")";
  expect_error([&] { remote->search(json::object()); }, ErrorCode::kIo, "not valid JSON");
  answer = R"({"type": "FeatureCollection"})";
  expect_error([&] { remote->search(json::object()); }, ErrorCode::kIo, "no 'features' array");
  json many = {{"type", "FeatureCollection"}, {"features", json::array()}};
  for (int i = 0; i < 3; ++i) {
    many["features"].push_back(feature(i));
  }
  answer = many.dump();
  expect_error([&] { remote->search({{"limit", 2}}); }, ErrorCode::kIo, "more than the limit of 2");
  answer = std::string(100 * 1024, ' ') + "{}";
  expect_error([&] { remote->search(json::object()); }, ErrorCode::kIo, "max_response_bytes");
}

TEST(StacApiCatalogFaults, PrevLinksBecomePrevTokens) {
  // Two pages; the second links the first as stac-fastapi-pgstac does ("previous", a POST body).
  std::string base;
  const FakeApi paged(kFullConformance, [&base](const httplib::Request& request, httplib::Response& response) {
    const bool second = json::parse(request.body).value("token", "") == "2";
    json link = {{"href", base + "/search"}, {"method", "POST"}, {"merge", true}};
    link["rel"] = second ? "previous" : "next";
    link["body"] = {{"token", second ? "1" : "2"}};
    const json page = {{"type", "FeatureCollection"}, {"features", {feature(second ? 2 : 1)}}, {"links", {link}}};
    response.set_content(page.dump(), "application/json");
  });
  base = paged.base;
  const auto remote = Catalog::open(paged.server->uri(), fast_options());
  const json first = remote->search({{"limit", 1}});
  EXPECT_FALSE(first.contains("prev"));
  const json second = remote->search({{"token", first.at("next")}});
  EXPECT_EQ(ids_of(second), std::vector<std::string>{"f2"});
  EXPECT_FALSE(second.contains("next"));
  EXPECT_EQ(ids_of(remote->search({{"token", second.at("prev")}})), std::vector<std::string>{"f1"});
}

TEST(StacApiCatalogFaults, ALoopingNextLinkStops) {
  std::string base;
  const FakeApi looping(kFullConformance, [&base](const httplib::Request&, httplib::Response& response) {
    const json next = {{"rel", "next"}, {"href", base + "/search"}, {"method", "POST"}, {"body", {{"token", "same"}}}};
    const json page = {{"type", "FeatureCollection"}, {"features", {feature(1)}}, {"links", {next}}};
    response.set_content(page.dump(), "application/json");
  });
  base = looping.base;
  const auto remote = Catalog::open(looping.server->uri(), fast_options());
  json request = {{"limit", 1}};
  const auto read_pages = [&] {
    for (int page = 0; page < 50; ++page) {
      const json result = remote->search(request);
      request = {{"token", result.at("next")}};
    }
  };
  expect_error(read_pages, ErrorCode::kIo, "loops back to a page already read");

  // A next link to another host is never followed.
  const FakeApi elsewhere(kFullConformance, [](const httplib::Request&, httplib::Response& response) {
    const json next = {{"rel", "next"}, {"href", "http://169.254.169.254/search"}};
    const json page = {{"type", "FeatureCollection"}, {"features", {feature(1)}}, {"links", {next}}};
    response.set_content(page.dump(), "application/json");
  });
  const auto redirected = Catalog::open(elsewhere.server->uri(), fast_options());
  expect_error([&] { redirected->search(json::object()); }, ErrorCode::kIo, "another server");
}

TEST(StacApiCatalogFaults, MissingConformanceIsUnsupported) {
  const FakeApi basic({"https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"},
                      [](const httplib::Request&, httplib::Response& response) {
                        response.set_content(json{{"type", "FeatureCollection"}, {"features", json::array()}}.dump(),
                                             "application/json");
                      });
  const auto remote = Catalog::open(basic.server->uri(), fast_options());
  expect_error(
      [&] {
        remote->search({{"filter", "a = 1"}, {"filter-lang", "cql2-text"}});
      },
      ErrorCode::kUnsupported, "item-search#filter");
  expect_error([&] { remote->search({{"sortby", "id"}}); }, ErrorCode::kUnsupported, "item-search#sort");
  expect_error([&] { remote->search({{"q", "river"}}); }, ErrorCode::kUnsupported, "item-search#free-text");
  EXPECT_EQ(remote->search({{"ids", {"x"}}})["features"].size(), 0U);
}

// --- The conformance suite's read part over a remote catalog ------------------

// Each local backend served by tessera's service on loopback and searched
// through stac+http://: the remote catalog answers the read cases of the
// conformance suite (test_catalog_read_conformance.cpp) as the local one does.
std::vector<tessera::testing::ReadCatalogBackend> remote_read_backends() {
  std::vector<tessera::testing::ReadCatalogBackend> backends;
  for (const auto& local : tessera::testing::catalog_backends()) {
    backends.push_back(
        {"stac_api_" + local.name, local.name, [open = local.open](const std::filesystem::path& scratch) {
           tessera::testing::CatalogUnderTest under_test{open(scratch), nullptr, nullptr};
           auto served = std::make_shared<ServedCatalog>(*under_test.store);
           under_test.remote = Catalog::open(served->uri());
           under_test.serving = std::move(served);
           return under_test;
         }});
  }
  return backends;
}

using tessera::testing::CatalogReadConformance;
INSTANTIATE_TEST_SUITE_P(Remote, CatalogReadConformance, ::testing::ValuesIn(remote_read_backends()),
                         [](const auto& backend) { return backend.param.name; });

// --- A mosaic tile through the remote catalog ---------------------------------

// The 3x3 tiles of zoom 9 around `scene`'s centre: those of `actual` equal
// those of `expected`, and empty tiles are empty in both. Returns the tiles
// with data.
int expect_equal_tiles(const tessera::Mosaic& expected_mosaic, const tessera::Mosaic& actual_mosaic,
                       const tessera::testing::SampleScene& scene) {
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  const auto center = tms.tile((scene.west + scene.east) / 2, (scene.south + scene.north) / 2, 9);
  int tiles = 0;
  for (int dx = -1; dx <= 1; ++dx) {
    for (int dy = -1; dy <= 1; ++dy) {
      const tessera::Tile tile{center.z, center.x + dx, center.y + dy};
      SCOPED_TRACE(fmt::format("{}/{}/{}", tile.z, tile.x, tile.y));
      std::optional<tessera::ImageData> expected;
      try {
        expected = expected_mosaic.tile(tms, tile);
      } catch (const tessera::Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::kNotFound);
        expect_error([&] { static_cast<void>(actual_mosaic.tile(tms, tile)); }, ErrorCode::kNotFound);
        continue;
      }
      const tessera::ImageData actual = actual_mosaic.tile(tms, tile);
      ++tiles;
      EXPECT_EQ(actual.band_count(), expected->band_count());
      if (actual.pixel_count() != expected->pixel_count()) {
        ADD_FAILURE() << "tile sizes differ";
        continue;
      }
      EXPECT_EQ(std::memcmp(actual.band_data(0), expected->band_data(0), actual.pixel_count()), 0);
      EXPECT_EQ(std::memcmp(actual.mask(), expected->mask(), actual.pixel_count()), 0);
    }
  }
  return tiles;
}

TEST(StacApiCatalogMosaic, TilesEqualTheLocalCatalogsPixelForPixel) {
  const tessera::testing::TempDir folder;
  const auto sample = tessera::testing::write_sample_data(folder.path() / "data");
  tessera::ReaderConfig config;
  config.allowed_roots = {folder.path().string()};
  tessera::Environment environment(config);
  const tessera::Environment::Scope scope(environment);
  const auto local = Catalog::open(sample.catalog_uri);
  const ServedCatalog served(*local);
  const auto remote = Catalog::open(served.uri());

  const json search = {{"collections", {sample.collection}}};
  const std::string id = remote->register_search(search);
  ASSERT_EQ(id, local->register_search(search));
  tessera::MosaicOptions options;
  options.assets = {"data"};
  const tessera::Mosaic local_mosaic(*local, search, options);
  const auto remote_mosaic = tessera::Mosaic::from_registered(*remote, id, options);
  const int searches_before = served.server().searches();
  EXPECT_GT(expect_equal_tiles(local_mosaic, remote_mosaic, sample.scenes.front()), 0);
  EXPECT_LE(served.server().searches() - searches_before, 4);  // 9 tiles, a few areas
}

// Assets behind a store that wants a signature on every read (a SAS token,
// a presigned query): the host's href signer adds it, after the allow-list
// accepted the href as the catalog wrote it.
TEST(StacApiCatalogMosaic, AssetsAreReadThroughTheHostsHrefSigner) {
  const tessera::testing::TempDir folder;
  const auto sample = tessera::testing::write_sample_data(folder.path() / "data");
  std::atomic<int> unsigned_reads{0};
  const LoopbackServer store([&](const httplib::Request& request, httplib::Response& response) {
    if (request.get_param_value("sig") != "s3cret") {
      ++unsigned_reads;
      response.status = 403;
      return;
    }
    const std::filesystem::path file = folder.path() / "data" / std::filesystem::path(request.path).filename();
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      response.status = 404;
      return;
    }
    response.set_content(std::string(std::istreambuf_iterator<char>(in), {}), "image/tiff");
  });
  // The sample catalog again, its assets at the store's URLs.
  const auto local = Catalog::open(sample.catalog_uri);
  const auto hosted = Catalog::open(":memory:");
  hosted->create_collection(local->get_collection(sample.collection));
  std::vector<json> items;
  const json found = local->search({{"collections", {sample.collection}}, {"limit", 100}});
  for (json item : found["features"]) {
    item["links"] = json::array();
    for (auto& [name, asset] : item["assets"].items()) {
      asset["href"] = store.base() + "/" + std::filesystem::path(asset["href"].get<std::string>()).filename().string();
    }
    items.push_back(item);
  }
  ASSERT_EQ(items.size(), sample.scenes.size());
  const auto loaded = hosted->load(items);
  ASSERT_TRUE(loaded.failed.empty()) << loaded.to_json().dump();
  const ServedCatalog api(*hosted);
  const auto remote = Catalog::open(api.uri());
  const json search = {{"collections", {sample.collection}}};
  tessera::MosaicOptions options;
  options.assets = {"data"};

  tessera::ReaderConfig config;
  config.allowed_roots = {folder.path().string()};
  config.allowed_prefixes = {store.base() + "/"};
  tessera::Environment environment(config);
  const tessera::Environment::Scope scope(environment);
  const tessera::Mosaic local_mosaic(*local, search, options);
  const tessera::Mosaic remote_mosaic(*remote, search, options);
  const auto tms = tessera::TileMatrixSet::web_mercator_quad();
  const auto& scene = sample.scenes.front();
  const auto center = tms.tile((scene.west + scene.east) / 2, (scene.south + scene.north) / 2, 9);

  // Unsigned, the store refuses every read.
  EXPECT_THROW(static_cast<void>(remote_mosaic.tile(tms, center)), tessera::Error);
  EXPECT_GT(unsigned_reads.load(), 0);

  std::atomic<int> signed_urls{0};
  config.href_signer = [&](const std::string& url) {
    EXPECT_TRUE(url.starts_with(store.base() + "/")) << url;
    ++signed_urls;
    return url + "?sig=s3cret";
  };
  environment.configure(config);
  const int refused_before = unsigned_reads.load();
  EXPECT_GT(expect_equal_tiles(local_mosaic, remote_mosaic, scene), 0);
  EXPECT_GT(signed_urls.load(), 0);
  EXPECT_EQ(unsigned_reads.load(), refused_before);

  // A signer's failure fails the read, naming the href; its URL must stay a
  // plain http(s) URL.
  config.href_signer = [](const std::string&) -> std::string { throw std::runtime_error("token service down"); };
  environment.configure(config);
  const std::string href = store.base() + "/" + scene.cog.filename().string();
  expect_error([&] { static_cast<void>(tessera::raster_info(href)); }, ErrorCode::kUnavailable, "token service down");
  for (const std::string& bad : std::vector<std::string>{"/vsimem/x.tif", "file:///etc/passwd", "http://x/a\n.tif"}) {
    config.href_signer = [bad](const std::string&) { return bad; };
    environment.configure(config);
    expect_error([&] { static_cast<void>(tessera::raster_info(href)); }, ErrorCode::kInvalidInput, "href signer");
  }

  // Through the C ABI: a C signer with its user data, kept by a later configure.
  struct CSigner {
    std::string query;
    int calls = 0;
  } state{"?sig=s3cret"};
  const tsr_href_signer c_signer = [](void* user_data, const char* url, char* signed_url, size_t capacity) -> int {
    auto* signer = static_cast<CSigner*>(user_data);
    ++signer->calls;
    const std::string result = url + signer->query;
    if (signer->query.empty() || result.size() + 1 > capacity) {
      return 1;
    }
    std::memcpy(signed_url, result.c_str(), result.size() + 1);
    return 0;
  };
  const std::string config_json = json{{"allowed_prefixes", {store.base() + "/"}}}.dump();
  tsr_environment c_environment = nullptr;
  ASSERT_EQ(tsr_environment_new(config_json.c_str(), &c_environment), TSR_OK);
  ASSERT_EQ(tsr_set_href_signer(c_environment, c_signer, &state), TSR_OK);
  ASSERT_EQ(tsr_environment_configure(c_environment, config_json.c_str()), TSR_OK);
  ASSERT_EQ(tsr_environment_use(c_environment), TSR_OK);
  char* info_json = nullptr;
  EXPECT_EQ(tsr_raster_info(href.c_str(), "WebMercatorQuad", &info_json), TSR_OK);
  tsr_free(info_json);
  EXPECT_GT(state.calls, 0);
  state.query.clear();
  EXPECT_EQ(tsr_raster_info(href.c_str(), "WebMercatorQuad", &info_json), TSR_UNAVAILABLE);
  EXPECT_NE(std::string(tsr_last_error_message()).find("signer"), std::string::npos);
  ASSERT_EQ(tsr_set_href_signer(c_environment, nullptr, nullptr), TSR_OK);
  EXPECT_EQ(tsr_environment_use(nullptr), TSR_OK);
  tsr_environment_destroy(&c_environment);
}

// --- A package of datasets found by searching the remote catalog -------------

// The package's dataset as a host finds it: the "data" assets of the items
// `search` matches, page after page by the catalog's tokens.
json imagery_found_by(Catalog& catalog, json search) {
  json sources = json::array();
  for (int page = 0; page < 100; ++page) {
    const json result = catalog.search(search);
    for (const auto& feature : result["features"]) {
      sources.push_back(feature["assets"]["data"]["href"]);
    }
    if (!result.contains("next")) {
      break;
    }
    search = {{"token", result["next"]}};
  }
  return json::array({{{"name", "imagery"},
                       {"version", "1"},
                       {"license", {{"name", "CC0-1.0"}}},
                       {"sources", std::move(sources)},
                       {"type", "raster"}}});
}

// A datapackage.json without the time it was written.
json without_created(json package) {
  package.erase("created");
  return package;
}

TEST(StacApiCatalogPackaging, DatasetsFoundByARemoteSearchPackageAsLocalOnes) {
  const tessera::testing::TempDir folder;
  const auto sample = tessera::testing::write_sample_data(folder.path() / "data");
  tessera::ReaderConfig config;
  config.allowed_roots = {folder.path().string()};
  tessera::Environment environment(config);
  const tessera::Environment::Scope scope(environment);
  const auto local = Catalog::open(sample.catalog_uri);
  const ServedCatalog served(*local);
  const auto remote = Catalog::open(served.uri());

  // A district over the June scene and a corner of the July one; one item a
  // page, so the remote walk follows the server's next links.
  const json district = {
      {"type", "FeatureCollection"},
      {"features",
       {{{"type", "Feature"},
         {"properties", {{"name", "District"}}},
         {"geometry",
          {{"type", "Polygon"},
           {"coordinates", {{{10.2, 45.2}, {10.8, 45.2}, {10.8, 45.8}, {10.2, 45.8}, {10.2, 45.2}}}}}}}}}};
  const json search = {{"collections", {sample.collection}}, {"bbox", {10.2, 45.2, 10.8, 45.8}}, {"limit", 1}};
  const json local_datasets = imagery_found_by(*local, search);
  ASSERT_EQ(local_datasets[0]["sources"].size(), 2U);
  const json remote_datasets = imagery_found_by(*remote, search);
  EXPECT_EQ(remote_datasets, local_datasets);

  // Each packager takes its locks in its own catalog: the remote one's in its local store.
  json packages[2];
  std::unique_ptr<tessera::Storage> storages[2];
  Catalog* catalogs[2] = {local.get(), remote.get()};
  const json* datasets[2] = {&local_datasets, &remote_datasets};
  for (int n = 0; n < 2; ++n) {
    storages[n] = tessera::Storage::open((folder.path() / fmt::format("packages-{}", n)).string());
    tessera::Packager packager(*storages[n], catalogs[n]);
    packager.add_boundaries_geojson(district);
    tessera::BuildOptions options;
    options.job_id = "district-imagery";
    packages[n] = packager.build("District", *datasets[n], options);
    EXPECT_EQ(packager.job_status("district-imagery")["status"], "completed");
  }
  ASSERT_EQ(packages[0]["resources"].size(), 2U) << packages[0].dump(2);
  EXPECT_EQ(without_created(packages[1]), without_created(packages[0]));
  for (const auto& resource : packages[0]["resources"]) {
    const std::string key = "district/" + resource["path"].get<std::string>();
    EXPECT_TRUE(storages[1]->get(key) == storages[0]->get(key)) << key;
  }
}

}  // namespace
