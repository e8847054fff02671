#include "service/stac_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "service/openapi.hpp"
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

// The search a GET /search or /collections/{id}/items query string asks for.
json search_from_query(const HttpRequest& request) {
  // The catalog reads these in their GET forms ("a,b" lists, "+a,-b" sort
  // keys, "a,-b" fields, "minx,miny,maxx,maxy") as given.
  constexpr std::string_view kAsGiven[] = {"bbox",       "collections", "ids",    "datetime", "token",
                                           "filter-crs", "filter",      "sortby", "fields"};
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
      search[name] = value;
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
    if (rel != "self" && rel != "parent" && rel != "root" && rel != "items") {
      links.push_back(existing);
    }
  }
  links.push_back(link("self", url, "application/json"));
  links.push_back(link("parent", base + "/", "application/json"));
  links.push_back(link("root", base + "/", "application/json"));
  links.push_back(link("items", url + "/items", kGeoJson));
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

}  // namespace

const std::vector<std::string>& StacApi::conformance() {
  static const std::vector<std::string> classes = {
      "https://api.stacspec.org/v1.0.0/core",
      "https://api.stacspec.org/v1.0.0/collections",
      "https://api.stacspec.org/v1.0.0/ogcapi-features",
      "https://api.stacspec.org/v1.0.0/item-search",
      "https://api.stacspec.org/v1.0.0/item-search#filter",
      "https://api.stacspec.org/v1.0.0/item-search#sort",
      "https://api.stacspec.org/v1.0.0/item-search#fields",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
      "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
      "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
      "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
      "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
  };
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
  if (count == 1 && segments[0] == "search") {
    if (request.method != "GET" && request.method != "POST") {
      method_not_allowed(request, "GET, POST");
    }
    return search(request, base);
  }
  if (count == 1 && segments[0] == "queryables") {
    require_get(request);
    return json_response(200, catalog_.queryables(), "application/schema+json");
  }
  if (segments[0] != "collections") {
    return std::nullopt;
  }
  if (count == 1) {
    require_get(request);
    return collections(base);
  }
  if (count == 2) {
    require_get(request);
    return collection(base, segments[1]);
  }
  if (count == 3 && segments[2] == "items") {
    require_get(request);
    return items(request, base, segments[1]);
  }
  if (count == 3 && segments[2] == "queryables") {
    require_get(request);
    static_cast<void>(catalog_.get_collection(segments[1]));  // NotFound for an unknown collection
    return json_response(200, catalog_.queryables(segments[1]), "application/schema+json");
  }
  if (count == 4 && segments[2] == "items") {
    require_get(request);
    return item(base, segments[1], segments[3]);
  }
  return std::nullopt;
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
      link("data", base + "/collections", "application/json", "Collections"),
      search_by("GET"),
      search_by("POST"),
      link("http://www.opengis.net/def/rel/ogc/1.0/queryables", base + "/queryables", "application/schema+json",
           "Queryables"),
  });
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

HttpResponse StacApi::collections(const std::string& base) const {
  json all = catalog_.collections();
  for (auto& collection : all) {
    link_collection(collection, base);
  }
  json links =
      json::array({link("self", base + "/collections", "application/json"),
                   link("root", base + "/", "application/json"), link("parent", base + "/", "application/json")});
  return json_response(200, {{"collections", std::move(all)}, {"links", std::move(links)}});
}

HttpResponse StacApi::collection(const std::string& base, std::string_view id) const {
  json collection = catalog_.get_collection(id);
  link_collection(collection, base);
  return json_response(200, collection);
}

HttpResponse StacApi::items(const HttpRequest& request, const std::string& base, std::string_view collection) const {
  static_cast<void>(catalog_.get_collection(collection));  // NotFound for an unknown collection
  json search = search_from_query(request);
  for (const char* member : {"collections", "ids", "intersects", "filter", "filter-lang", "sortby", "query"}) {
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
  return item_collection(std::move(body), base, base + "/search", true);
}

HttpResponse StacApi::item_collection(json search, const std::string& base, const std::string& self, bool post) const {
  bound_limit(search, options_);
  json page = catalog_.search(search);
  for (auto& feature : page["features"]) {
    link_item(feature, base);
  }
  json links = json::array({link("root", base + "/", "application/json")});
  if (!post) {
    links.push_back(link("self", self, kGeoJson));
  }
  if (const auto next = page.find("next"); next != page.end() && next->is_string()) {
    // The token carries the query; limit and fields ride along so the next
    // page has the same shape.
    if (post) {
      json body = {{"token", *next}, {"limit", search["limit"]}};
      if (search.contains("fields")) {
        body["fields"] = search["fields"];
      }
      json next_link = link("next", self, kGeoJson);
      next_link["method"] = "POST";
      next_link["body"] = std::move(body);
      next_link["merge"] = true;
      links.push_back(std::move(next_link));
    } else {
      std::string href = fmt::format("{}?token={}&limit={}", self, query_escape(next->get<std::string>()),
                                     search["limit"].get<std::int64_t>());
      if (const auto fields = search.find("fields"); fields != search.end() && fields->is_string()) {
        href += "&fields=" + query_escape(fields->get<std::string>());  // as the GET request gave them
      }
      links.push_back(link("next", href, kGeoJson));
    }
    page.erase("next");
  }
  if (const auto prev = page.find("prev"); prev != page.end()) {
    page.erase(prev);
  }
  page["links"] = std::move(links);
  return json_response(200, page, kGeoJson);
}

}  // namespace tessera::service
