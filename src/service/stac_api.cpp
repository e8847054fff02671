#include "service/stac_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>

#include <fmt/format.h>

#include "service/aggregation_routes.hpp"
#include "service/http_support.hpp"
#include "service/openapi.hpp"
#include "service/tile_links.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

constexpr std::string_view kGeoJson = "application/geo+json";

double number_in(const std::string& text, std::string_view parameter) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    bad_request(fmt::format("{}: '{}' is not a number", parameter, text));
  }
  return value;
}

json parse_json_parameter(const std::string& text, std::string_view parameter) {
  try {
    return json::parse(text);
  } catch (const json::exception& error) {
    bad_request(fmt::format("{}: invalid JSON ({})", parameter, error.what()));
  }
}

bool digits(std::string_view text, std::size_t from, std::size_t count) {
  return text.size() >= from + count && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from),
                                                    text.begin() + static_cast<std::ptrdiff_t>(from + count),
                                                    [](char c) { return c >= '0' && c <= '9'; });
}

// An RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). The
// catalog also reads dates alone, as pgstac does; the STAC API does not.
bool is_rfc3339_date_time(std::string_view text) {
  if (!digits(text, 0, 4) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2) || text[7] != '-' ||
      !digits(text, 8, 2) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2) ||
      text[13] != ':' || !digits(text, 14, 2) || text[16] != ':' || !digits(text, 17, 2)) {
    return false;
  }
  std::size_t at = 19;
  if (text[at] == '.') {
    ++at;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      ++at;
    }
    if (at == start) {
      return false;
    }
  }
  const std::string_view zone = text.substr(at);
  return zone == "Z" || zone == "z" ||
         (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digits(zone, 1, 2) && zone[3] == ':' &&
          digits(zone, 4, 2));
}

// 400 unless `datetime` is an RFC 3339 date-time or an interval of them
// (an open end as ".." or empty), as the STAC API specifies.
void check_datetime(const json& search) {
  const auto it = search.find("datetime");
  if (it == search.end() || !it->is_string()) {
    return;  // absent, or not text: the catalog says what is wrong
  }
  const std::string& text = it->get_ref<const std::string&>();
  const std::size_t slash = text.find('/');
  const auto end_ok = [](std::string_view end) { return end.empty() || end == ".." || is_rfc3339_date_time(end); };
  const bool ok = slash == std::string::npos
                      ? is_rfc3339_date_time(text)
                      : end_ok(std::string_view(text).substr(0, slash)) &&
                            end_ok(std::string_view(text).substr(slash + 1)) && text != "/" && text != "../..";
  if (!ok) {
    bad_request(
        fmt::format("datetime: '{}' is not an RFC 3339 date-time or interval (e.g. "
                    "2024-01-01T00:00:00Z/2024-02-01T00:00:00Z or 2024-01-01T00:00:00Z/..)",
                    text));
  }
}

// Sets `name` of a search from a GET parameter. A repeated q (as clients
// send a list: q=a&q=b) is its values OR'ed, as the array form is; another
// repeated parameter keeps its last value.
void set_query_member(json& search, const std::string& name, const std::string& value) {
  if (name == "q" && search.contains("q")) {
    if (!search["q"].is_array()) {
      search["q"] = json::array({search["q"]});
    }
    search["q"].push_back(value);
    return;
  }
  search[name] = value;
}

// The search a GET /search or /collections/{id}/items query string asks for.
json search_from_query(const HttpRequest& request) {
  // The catalog reads these in their GET forms ("a,b" lists, "+a,-b" sort
  // keys, "a,-b" fields, "minx,miny,maxx,maxy") as given.
  constexpr std::string_view kAsGiven[] = {"bbox",       "collections", "ids",    "datetime", "token",
                                           "filter-crs", "filter",      "sortby", "fields",   "q"};
  json search = json::object();
  std::string filter_lang = "cql2-text";
  for (const auto& [name, value] : request.query) {
    if (name == "limit") {
      search["limit"] = number_in(value, "limit");
    } else if (name == "intersects" || name == "query") {
      search[name] = parse_json_parameter(value, name);
    } else if (name == "filter-lang") {
      filter_lang = value;
    } else if (std::find(std::begin(kAsGiven), std::end(kAsGiven), name) != std::end(kAsGiven)) {
      set_query_member(search, name, value);
    } else {
      bad_request(fmt::format("unknown query parameter '{}'", name));
    }
  }
  if (search.contains("filter")) {
    if (filter_lang == "cql2-json") {
      search["filter"] = parse_json_parameter(search["filter"].get<std::string>(), "filter");
    } else if (filter_lang != "cql2-text") {
      bad_request(fmt::format("filter-lang: '{}' is not cql2-text or cql2-json", filter_lang));
    }
    search["filter-lang"] = filter_lang;
  }
  return search;
}

// GET /collections answers every collection when asked for nothing: pages
// are this long unless `limit` says otherwise, with a next link beyond.
constexpr std::int64_t kCollectionsPageLimit = 1000;

// The collection search a GET /collections query string asks for.
json collection_search_from_query(const HttpRequest& request) {
  constexpr std::string_view kAsGiven[] = {"bbox", "datetime", "q", "ids", "token"};
  json search = json::object();
  for (const auto& [name, value] : request.query) {
    if (name == "limit") {
      search["limit"] = number_in(value, "limit");
    } else if (std::find(std::begin(kAsGiven), std::end(kAsGiven), name) != std::end(kAsGiven)) {
      set_query_member(search, name, value);
    } else {
      bad_request(fmt::format(
          "unknown query parameter '{}' (collection search takes bbox, datetime, q, ids, limit and token)", name));
    }
  }
  return search;
}

// A limit within the service's bounds: larger ones are lowered, as STAC APIs do.
void bound_limit(json& search, const ServiceOptions& options) {
  const auto it = search.find("limit");
  if (it == search.end() || it->is_null()) {
    search["limit"] = options.default_limit;
    return;
  }
  if (!it->is_number()) {
    bad_request("limit: expected an integer");
  }
  const double limit = it->get<double>();
  // Checked as a double: a huge limit is lowered, never cast out of range
  // (found by fuzz_service under UBSan).
  if (!std::isfinite(limit) || limit < 1 || std::floor(limit) != limit) {
    bad_request(fmt::format("limit: expected an integer of at least 1, got {}", it->dump()));
  }
  *it = static_cast<std::int64_t>(std::min(limit, static_cast<double>(options.max_limit)));
}

json link(std::string_view rel, const std::string& href, std::string_view type, std::string_view title = {}) {
  json value = {{"rel", rel}, {"href", href}, {"type", type}};
  if (!title.empty()) {
    value["title"] = title;
  }
  return value;
}

// An item's links as the API serves it: self, parent, collection and root
// from this service; the item's own other links kept.
void link_item(json& item, const std::string& base) {
  if (!item.is_object() || !item.contains("collection") || !item["collection"].is_string() || !item.contains("id") ||
      !item["id"].is_string()) {
    return;
  }
  const std::string collection_url = base + "/collections/" + query_escape(item["collection"].get<std::string>());
  json links = json::array();
  for (const auto& existing : item.value("links", json::array())) {
    const std::string rel = existing.is_object() ? existing.value("rel", "") : "";
    if (rel != "self" && rel != "parent" && rel != "collection" && rel != "root") {
      links.push_back(existing);
    }
  }
  links.push_back(link("self", collection_url + "/items/" + query_escape(item["id"].get<std::string>()), kGeoJson));
  links.push_back(link("parent", collection_url, "application/json"));
  links.push_back(link("collection", collection_url, "application/json"));
  links.push_back(link("root", base + "/", "application/json"));
  item["links"] = std::move(links);
}

void link_collection(json& collection, const std::string& base) {
  const std::string url = base + "/collections/" + query_escape(collection.value("id", ""));
  json links = json::array();
  for (const auto& existing : collection.value("links", json::array())) {
    const std::string rel = existing.is_object() ? existing.value("rel", "") : "";
    if (rel != "self" && rel != "parent" && rel != "root" && rel != "items" &&
        rel != "http://www.opengis.net/def/rel/ogc/1.0/queryables" && !is_aggregation_rel(rel)) {
      links.push_back(existing);
    }
  }
  links.push_back(link("self", url, "application/json", "This collection"));
  links.push_back(link("parent", base + "/", "application/json", "The landing page"));
  links.push_back(link("root", base + "/", "application/json", "The landing page"));
  links.push_back(link("items", url + "/items", kGeoJson, "Items"));
  links.push_back(link("http://www.opengis.net/def/rel/ogc/1.0/queryables", url + "/queryables",
                       "application/schema+json", "Queryables"));
  for (auto& aggregation : aggregation_links(url)) {
    links.push_back(std::move(aggregation));
  }
  collection["links"] = std::move(links);
}

[[noreturn]] void method_not_allowed(const HttpRequest& request, std::string_view allowed) {
  throw HttpError(405, "MethodNotAllowed",
                  fmt::format("{} is not allowed here (allowed: {})", request.method, allowed));
}

void require_get(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    method_not_allowed(request, "GET");
  }
}

// 405 unless the request's method is one of `writes`.
void allow(const HttpRequest& request, std::string_view allowed, std::initializer_list<std::string_view> writes) {
  if (std::find(writes.begin(), writes.end(), request.method) == writes.end()) {
    method_not_allowed(request, allowed);
  }
}

// A write's answer with no body (and so no Content-Type, as STAC API
// validators expect of PUT, PATCH and DELETE).
HttpResponse no_content() {
  HttpResponse response;
  response.status = 204;
  return response;
}

json request_body(const HttpRequest& request) {
  if (request.body.empty()) {
    bad_request("request body: empty; expected JSON");
  }
  return parse_json_parameter(request.body, "request body");
}

// A load's report as the answer to a write of many items: 201/200 when every
// item was stored, else 400 naming each refused item (the others are stored).
HttpResponse load_answer(const LoadReport& report, int success_status) {
  json body = report.to_json();
  if (report.failed.empty()) {
    return json_response(success_status, body);
  }
  body["code"] = "BadRequest";
  body["description"] = fmt::format("{} of {} items were refused (see 'failed'); the others are stored",
                                    report.failed.size(), report.failed.size() + report.loaded + report.skipped);
  return json_response(400, body);
}

}  // namespace

std::vector<std::string> StacApi::conformance() const {
  std::vector<std::string> classes = {
      "https://api.stacspec.org/v1.0.0/core",
      "https://api.stacspec.org/v1.0.0/collections",
      "https://api.stacspec.org/v1.0.0/ogcapi-features",
      "https://api.stacspec.org/v1.0.0/item-search",
      "https://api.stacspec.org/v1.0.0/item-search#filter",
      "https://api.stacspec.org/v1.0.0/item-search#sort",
      "https://api.stacspec.org/v1.0.0/item-search#fields",
      "https://api.stacspec.org/v1.0.0/item-search#query",
      "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
      "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
      "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
      "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
      "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
      "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
      "https://api.stacspec.org/v1.0.0-rc.1/item-search#free-text",
      "https://api.stacspec.org/v1.0.0-rc.1/ogcapi-features#free-text",
      "https://api.stacspec.org/v1.0.0-rc.1/collection-search",
      "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
      "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/simple-query",
  };
  const std::vector<std::string> aggregation = aggregation_conformance();
  classes.insert(classes.end(), aggregation.begin(), aggregation.end());
  if (auth_.writes_possible()) {
    classes.insert(classes.end(), {
                                      "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
                                      "https://api.stacspec.org/v1.0.0/collections/extensions/transaction",
                                      "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/simpletx",
                                  });
  }
  return classes;
}

std::optional<HttpResponse> StacApi::handle(const HttpRequest& request,
                                            const std::vector<std::string_view>& segments) const {
  const std::string base = base_url(request);
  const std::size_t count = segments.size();
  if (count == 0) {
    require_get(request);
    return landing(base);
  }
  if (count == 1 && segments[0] == "conformance") {
    require_get(request);
    return json_response(200, {{"conformsTo", conformance()}});
  }
  if (count == 1 && segments[0] == "api") {
    require_get(request);
    return json_response(200, openapi_document(options_), kOpenApiMediaType);
  }
  if (count == 1 && segments[0] == "api.html") {
    require_get(request);
    HttpResponse page;
    page.headers = {{"Content-Type", "text/html; charset=utf-8"}};
    page.body = openapi_page(openapi_document(options_));
    return page;
  }
  if (count == 1 && segments[0] == "search") {
    if (request.method != "GET" && request.method != "POST") {
      method_not_allowed(request, "GET, POST");
    }
    return search(request, base);
  }
  if (count == 1 && segments[0] == "queryables") {
    require_get(request);
    json queryables = catalog_.queryables();
    queryables["$id"] = base + "/queryables";
    return json_response(200, queryables, "application/schema+json");
  }
  if (auto answer = aggregation_route(catalog_, request, segments, base)) {
    return answer;
  }
  if (segments[0] != "collections") {
    return std::nullopt;
  }
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (count == 1) {
    if (read) {
      return collections(request, base);
    }
    allow(request, "GET, POST", {"POST"});
    auth_.authorize(request, kStacWriteScope);
    return write_collections(request, base);
  }
  if (count == 2) {
    if (read) {
      return collection(base, segments[1]);
    }
    allow(request, "GET, PUT, PATCH, DELETE", {"PUT", "PATCH", "DELETE"});
    auth_.authorize(request, kStacWriteScope);
    return write_collection(request, segments[1]);
  }
  if (count == 3 && segments[2] == "items") {
    if (read) {
      return items(request, base, segments[1]);
    }
    allow(request, "GET, POST", {"POST"});
    auth_.authorize(request, kStacWriteScope);
    return write_items(request, base, segments[1]);
  }
  if (count == 3 && segments[2] == "bulk_items") {
    allow(request, "POST", {"POST"});
    auth_.authorize(request, kStacWriteScope);
    return load_answer(transactions_.bulk_items(segments[1], request_body(request)), 200);
  }
  if (count == 3 && segments[2] == "queryables") {
    require_get(request);
    static_cast<void>(catalog_.get_collection(segments[1]));  // NotFound for an unknown collection
    json queryables = catalog_.queryables(segments[1]);
    queryables["$id"] = base + "/collections/" + query_escape(std::string(segments[1])) + "/queryables";
    return json_response(200, queryables, "application/schema+json");
  }
  if (count == 4 && segments[2] == "items") {
    if (read) {
      return item(base, segments[1], segments[3]);
    }
    allow(request, "GET, PUT, PATCH, DELETE", {"PUT", "PATCH", "DELETE"});
    auth_.authorize(request, kStacWriteScope);
    return write_item(request, segments[1], segments[3]);
  }
  return std::nullopt;
}

std::optional<TileLinks> StacApi::tile_links(const std::string& base) const {
  return options_.tiles ? std::optional<TileLinks>(std::in_place, catalog_, base) : std::nullopt;
}

HttpResponse StacApi::landing(const std::string& base) const {
  const auto search_by = [&](std::string_view method) {
    json search = link("search", base + "/search", kGeoJson, "Item search");
    search["method"] = method;
    return search;
  };
  json links = json::array({
      link("self", base + "/", "application/json"),
      link("root", base + "/", "application/json"),
      link("conformance", base + "/conformance", "application/json", "Conformance classes"),
      link("service-desc", base + "/api", kOpenApiMediaType, "OpenAPI document"),
      link("service-doc", base + "/api.html", "text/html", "API documentation"),
      link("data", base + "/collections", "application/json", "Collections"),
      search_by("GET"),
      search_by("POST"),
      link("http://www.opengis.net/def/rel/ogc/1.0/queryables", base + "/queryables", "application/schema+json",
           "Queryables"),
  });
  for (auto& aggregation : aggregation_links(base)) {
    links.push_back(std::move(aggregation));
  }
  for (const auto& collection : catalog_.collections()) {
    json child = link("child", base + "/collections/" + query_escape(collection.value("id", "")), "application/json");
    if (collection.contains("title") && collection["title"].is_string()) {
      child["title"] = collection["title"];
    }
    links.push_back(std::move(child));
  }
  return json_response(200, {{"type", "Catalog"},
                             {"stac_version", "1.0.0"},
                             {"id", "tessera"},
                             {"title", options_.title},
                             {"description", options_.description},
                             {"conformsTo", conformance()},
                             {"links", std::move(links)}});
}

HttpResponse StacApi::collections(const HttpRequest& request, const std::string& base) const {
  json search = collection_search_from_query(request);
  if (!search.contains("limit")) {
    search["limit"] = std::min<std::int64_t>(kCollectionsPageLimit, static_cast<std::int64_t>(options_.max_limit));
  }
  bound_limit(search, options_);
  check_datetime(search);
  json page = catalog_.search_collections(search);
  const auto tiles = tile_links(base);
  for (auto& collection : page["collections"]) {
    link_collection(collection, base);
    if (tiles) {
      tiles->add_to_collection(collection);
    }
  }
  const std::string self = base + "/collections";
  json links = json::array({link("self", self, "application/json"), link("root", base + "/", "application/json"),
                            link("parent", base + "/", "application/json")});
  // The token carries the query; the limit rides along so pages keep their size.
  for (const char* rel : {"next", "prev"}) {
    if (const auto token = page.find(rel); token != page.end()) {
      links.push_back(link(rel,
                           fmt::format("{}?token={}&limit={}", self, query_escape(token->get<std::string>()),
                                       search["limit"].get<std::int64_t>()),
                           "application/json"));
      page.erase(token);
    }
  }
  page["links"] = std::move(links);
  return json_response(200, page);
}

HttpResponse StacApi::collection(const std::string& base, std::string_view id) const {
  json collection = catalog_.get_collection(id);
  link_collection(collection, base);
  if (auto tiles = tile_links(base)) {
    tiles->add_to_collection(collection);
  }
  return json_response(200, collection);
}

HttpResponse StacApi::items(const HttpRequest& request, const std::string& base, std::string_view collection) const {
  static_cast<void>(catalog_.get_collection(collection));  // NotFound for an unknown collection
  json search = search_from_query(request);
  // pystac-client's CollectionClient.get_items() repeats the path's
  // collection as `collections`: that one is the route's own.
  const json own = std::string(collection);
  if (const auto given = search.find("collections");
      given != search.end() && (*given == own || *given == json::array({own}))) {
    search.erase(given);
  }
  for (const char* member : {"collections", "ids", "intersects"}) {
    if (search.contains(member)) {
      bad_request(fmt::format("'{}' is not a parameter of /collections/{{id}}/items (use /search)", member));
    }
  }
  search["collections"] = json::array({collection});
  return item_collection(std::move(search), base,
                         base + "/collections/" + query_escape(std::string(collection)) + "/items", false);
}

HttpResponse StacApi::item(const std::string& base, std::string_view collection, std::string_view id) const {
  json item = catalog_.get_item(collection, id);
  link_item(item, base);
  if (auto tiles = tile_links(base)) {
    tiles->add_to_item(item);
  }
  return json_response(200, item, kGeoJson);
}

HttpResponse StacApi::search(const HttpRequest& request, const std::string& base) const {
  if (request.method == "GET") {
    return item_collection(search_from_query(request), base, base + "/search", false);
  }
  json body = request.body.empty() ? json::object() : parse_json_parameter(request.body, "request body");
  if (!body.is_object()) {
    bad_request("request body: expected a JSON object");
  }
  // "minx,miny,maxx,maxy" is GET's form; a POST body carries an array (a
  // single collection or id as a string stays accepted: clients send it).
  if (const auto bbox = body.find("bbox"); bbox != body.end() && !bbox->is_null() && !bbox->is_array()) {
    bad_request(fmt::format("bbox: expected an array of 4 or 6 numbers in a POST body, got {}", bbox->type_name()));
  }
  return item_collection(std::move(body), base, base + "/search", true);
}

HttpResponse StacApi::write_collections(const HttpRequest& request, const std::string& base) const {
  const std::string id = transactions_.create_collection(request_body(request));
  HttpResponse response = collection(base, id);
  response.status = 201;
  response.headers.emplace_back("Location", base + "/collections/" + query_escape(id));
  return response;
}

HttpResponse StacApi::write_collection(const HttpRequest& request, std::string_view id) const {
  if (request.method == "DELETE") {
    transactions_.delete_collection(id);
  } else if (request.method == "PUT") {
    transactions_.replace_collection(id, request_body(request));
  } else {
    transactions_.patch_collection(id, request_body(request), patch_kind_of(request.header("content-type")));
  }
  return no_content();
}

HttpResponse StacApi::write_items(const HttpRequest& request, const std::string& base,
                                  std::string_view collection) const {
  json body = request_body(request);
  if (body.is_object() && body.value("type", "") == "FeatureCollection") {
    return load_answer(transactions_.create_items(collection, std::move(body)), 201);
  }
  const std::string id = transactions_.create_item(collection, std::move(body));
  HttpResponse response = item(base, collection, id);
  response.status = 201;
  response.headers.emplace_back(
      "Location", base + "/collections/" + query_escape(std::string(collection)) + "/items/" + query_escape(id));
  return response;
}

HttpResponse StacApi::write_item(const HttpRequest& request, std::string_view collection, std::string_view id) const {
  if (request.method == "DELETE") {
    transactions_.delete_item(collection, id);
  } else if (request.method == "PUT") {
    transactions_.replace_item(collection, id, request_body(request));
  } else {
    transactions_.patch_item(collection, id, request_body(request), patch_kind_of(request.header("content-type")));
  }
  return no_content();
}

HttpResponse StacApi::item_collection(json search, const std::string& base, const std::string& self, bool post) const {
  bound_limit(search, options_);
  check_datetime(search);
  json page = catalog_.search(search);
  auto tiles = tile_links(base);
  for (auto& feature : page["features"]) {
    link_item(feature, base);
    if (tiles) {
      tiles->add_to_item(feature);
    }
  }
  json links = json::array({link("root", base + "/", "application/json")});
  if (!post) {
    links.push_back(link("self", self, kGeoJson));
  }
  // The token carries the query; limit and fields ride along so the pages
  // either way have the same shape.
  for (const char* rel : {"next", "prev"}) {
    const auto token = page.find(rel);
    if (token == page.end()) {
      continue;
    }
    if (!token->is_string()) {
      page.erase(token);
      continue;
    }
    if (post) {
      json body = {{"token", *token}, {"limit", search["limit"]}};
      if (search.contains("fields")) {
        body["fields"] = search["fields"];
      }
      json page_link = link(rel, self, kGeoJson);
      page_link["method"] = "POST";
      page_link["body"] = std::move(body);
      page_link["merge"] = true;
      links.push_back(std::move(page_link));
    } else {
      std::string href = fmt::format("{}?token={}&limit={}", self, query_escape(token->get<std::string>()),
                                     search["limit"].get<std::int64_t>());
      if (const auto fields = search.find("fields"); fields != search.end() && fields->is_string()) {
        href += "&fields=" + query_escape(fields->get<std::string>());  // as the GET request gave them
      }
      links.push_back(link(rel, href, kGeoJson));
    }
    page.erase(token);
  }
  page["links"] = std::move(links);
  return json_response(200, page, kGeoJson);
}

}  // namespace tessera::service
