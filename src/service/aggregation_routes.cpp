#include "service/aggregation_routes.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "service/http_support.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

constexpr std::string_view kPrecision = "centroid_geohash_grid_frequency_precision";
constexpr std::string_view kInterval = "datetime_frequency_interval";

json link(std::string_view rel, const std::string& href, std::string_view title = {}) {
  json value = {{"rel", rel}, {"href", href}, {"type", "application/json"}};
  if (!title.empty()) {
    value["title"] = title;
  }
  return value;
}

json parse_json(const std::string& text, std::string_view parameter) {
  try {
    return json::parse(text);
  } catch (const json::exception& error) {
    bad_request(fmt::format("{}: invalid JSON ({})", parameter, error.what()));
  }
}

// "a, b,,c" as ["a", "b", "c"].
json comma_list(std::string_view text) {
  json list = json::array();
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    if (!part.empty()) {
      list.push_back(part);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return list;
}

// The request a GET /aggregate query string asks for. Lists, bbox and
// datetime go to the catalog in their GET forms, which it reads as given.
json request_from_query(const HttpRequest& request) {
  constexpr std::string_view kAsGiven[] = {"bbox", "collections", "ids", "datetime", "filter-crs", "filter", kInterval};
  json body = json::object();
  std::string filter_lang = "cql2-text";
  for (const auto& [name, value] : request.query) {
    if (name == "aggregations") {
      body["aggregations"] = comma_list(value);
    } else if (name == kPrecision) {
      std::int64_t precision = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), precision);
      if (error != std::errc() || end != value.data() + value.size()) {
        bad_request(fmt::format("{}: '{}' is not an integer", kPrecision, value.substr(0, 100)));
      }
      body[name] = precision;
    } else if (name == "intersects" || name == "query") {
      body[name] = parse_json(value, name);
    } else if (name == "filter-lang") {
      filter_lang = value;
    } else if (std::find(std::begin(kAsGiven), std::end(kAsGiven), name) != std::end(kAsGiven)) {
      body[name] = value;
    } else {
      bad_request(fmt::format("unknown query parameter '{}'", name.substr(0, 100)));
    }
  }
  if (body.contains("filter")) {
    if (filter_lang == "cql2-json") {
      body["filter"] = parse_json(body["filter"].get<std::string>(), "filter");
    } else if (filter_lang != "cql2-text") {
      bad_request(fmt::format("filter-lang: '{}' is not cql2-text or cql2-json", filter_lang.substr(0, 100)));
    }
    body["filter-lang"] = filter_lang;
  }
  return body;
}

json request_from_body(const HttpRequest& request) {
  json body = request.body.empty() ? json::object() : parse_json(request.body, "request body");
  if (!body.is_object()) {
    bad_request("request body: expected a JSON object");
  }
  if (const auto bbox = body.find("bbox"); bbox != body.end() && !bbox->is_null() && !bbox->is_array()) {
    bad_request(fmt::format("bbox: expected an array of 4 or 6 numbers in a POST body, got {}", bbox->type_name()));
  }
  return body;
}

[[noreturn]] void method_not_allowed(const HttpRequest& request, std::string_view allowed) {
  throw HttpError(405, "MethodNotAllowed",
                  fmt::format("{} is not allowed here (allowed: {})", request.method, allowed));
}

bool is_read(const HttpRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

HttpResponse aggregate(Catalog& catalog, const HttpRequest& request, const std::string& base,
                       std::optional<std::string_view> collection) {
  if (!is_read(request) && request.method != "POST") {
    method_not_allowed(request, "GET, POST");
  }
  json body = is_read(request) ? request_from_query(request) : request_from_body(request);
  json links = json::array({link("root", base + "/")});
  if (collection) {
    static_cast<void>(catalog.get_collection(*collection));  // NotFound for an unknown collection
    if (body.contains("collections")) {
      bad_request("'collections' is not a parameter of /collections/{id}/aggregate (use /aggregate)");
    }
    body["collections"] = json::array({*collection});
    const std::string url = base + "/collections/" + query_escape(std::string(*collection));
    links.push_back(link("collection", url));
    links.push_back(link("self", url + "/aggregate"));
  } else {
    links.push_back(link("self", base + "/aggregate"));
  }
  json answer = catalog.aggregate(body);
  answer["links"] = std::move(links);
  return json_response(200, answer);
}

HttpResponse aggregations(Catalog& catalog, const HttpRequest& request, const std::string& base,
                          std::optional<std::string_view> collection) {
  if (!is_read(request)) {
    method_not_allowed(request, "GET");
  }
  json answer = catalog.aggregations(collection.value_or(std::string_view()));
  json links = json::array({link("root", base + "/")});
  if (collection) {
    const std::string url = base + "/collections/" + query_escape(std::string(*collection));
    links.push_back(link("collection", url));
    links.push_back(link("self", url + "/aggregations"));
  } else {
    links.push_back(link("self", base + "/aggregations"));
  }
  answer["links"] = std::move(links);
  return json_response(200, answer);
}

}  // namespace

std::optional<HttpResponse> aggregation_route(Catalog& catalog, const HttpRequest& request,
                                              const std::vector<std::string_view>& segments, const std::string& base) {
  if (segments.size() == 1 && segments[0] == "aggregate") {
    return aggregate(catalog, request, base, std::nullopt);
  }
  if (segments.size() == 1 && segments[0] == "aggregations") {
    return aggregations(catalog, request, base, std::nullopt);
  }
  if (segments.size() == 3 && segments[0] == "collections" && segments[2] == "aggregate") {
    return aggregate(catalog, request, base, segments[1]);
  }
  if (segments.size() == 3 && segments[0] == "collections" && segments[2] == "aggregations") {
    return aggregations(catalog, request, base, segments[1]);
  }
  return std::nullopt;
}

std::vector<std::string> aggregation_conformance() {
  return {"https://api.stacspec.org/v0.3.0/aggregation", "https://api.stacspec.org/v0.3.0/aggregation#filter",
          "https://api.stacspec.org/v0.3.0/aggregation#query"};
}

json aggregation_links(const std::string& url) {
  json get = link("aggregate", url + "/aggregate", "Aggregate the items");
  get["method"] = "GET";
  json post = get;
  post["method"] = "POST";
  return json::array({std::move(get), std::move(post), link("aggregations", url + "/aggregations", "Aggregations")});
}

bool is_aggregation_rel(std::string_view rel) { return rel == "aggregate" || rel == "aggregations"; }

void add_aggregation_openapi(json& paths, json& schemas) {
  const auto query = [](std::string_view name, std::string_view description, json schema) {
    return json{{"name", name},
                {"in", "query"},
                {"required", false},
                {"description", description},
                {"schema", std::move(schema)}};
  };
  const json strings = {{"type", "array"}, {"items", {{"type", "string"}}}};
  const auto list = [&](std::string_view name, std::string_view description) {
    json parameter = query(name, description, strings);
    parameter["style"] = "form";
    parameter["explode"] = false;
    return parameter;
  };
  const json collection_id = {{"name", "collectionId"},
                              {"in", "path"},
                              {"required", true},
                              {"description", "the collection id"},
                              {"schema", {{"type", "string"}}}};
  const auto ref = [](std::string_view schema) {
    return json{{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + std::string(schema)}}}}}};
  };
  const json error = {{"description", "a parameter is invalid (the description names it)"}, {"content", ref("Error")}};
  const json not_found = {{"description", "no such collection"}, {"content", ref("Error")}};
  const json answer = {{"description", "the aggregations"}, {"content", ref("AggregationCollection")}};

  const auto aggregate_parameters = [&](bool in_collection) {
    json parameters = json::array();
    if (in_collection) {
      parameters.push_back(collection_id);
    }
    parameters.push_back(list("aggregations",
                              "the aggregations to compute (GET /aggregations lists them; also "
                              "<property>_frequency for counts by any property)"));
    parameters.push_back(query("bbox", "minx,miny,maxx,maxy (or 6 numbers), WGS84", {{"type", "string"}}));
    parameters.push_back(
        query("datetime", "an RFC 3339 instant or interval (open ends as '..')", {{"type", "string"}}));
    parameters.push_back(query("filter", "a CQL2 filter", {{"type", "string"}}));
    parameters.push_back(query("filter-lang", "cql2-text (default) or cql2-json",
                               {{"type", "string"}, {"enum", {"cql2-text", "cql2-json"}}}));
    parameters.push_back(query("query", "the query extension's object as JSON text", {{"type", "string"}}));
    if (!in_collection) {
      parameters.push_back(list("collections", "collection ids"));
      parameters.push_back(list("ids", "item ids"));
      parameters.push_back(query("intersects", "a GeoJSON geometry (JSON text)", {{"type", "string"}}));
    }
    parameters.push_back(query(kPrecision, "geohash length of centroid_geohash_grid_frequency (default 1)",
                               {{"type", "integer"}, {"minimum", 1}, {"maximum", 12}}));
    parameters.push_back(
        query(kInterval, "bucket size of datetime_frequency (default month)",
              {{"type", "string"}, {"enum", {"year", "quarter", "month", "week", "day", "hour", "minute", "second"}}}));
    return parameters;
  };
  const auto aggregate_path = [&](bool in_collection) {
    const std::string id = in_collection ? "CollectionAggregate" : "Aggregate";
    json get = {{"operationId", "get" + id},
                {"summary", "Aggregate the items a search matches"},
                {"parameters", aggregate_parameters(in_collection)},
                {"responses", {{"200", answer}, {"400", error}}}};
    json post = {{"operationId", "post" + id},
                 {"summary", "Aggregate the items a search matches"},
                 {"requestBody", {{"required", true}, {"content", ref("AggregateBody")}}},
                 {"responses", {{"200", answer}, {"400", error}}}};
    if (in_collection) {
      get["responses"]["404"] = not_found;
      post["responses"]["404"] = not_found;
      post["parameters"] = json::array({collection_id});
    }
    return json{{"get", std::move(get)}, {"post", std::move(post)}};
  };
  paths["/aggregate"] = aggregate_path(false);
  paths["/collections/{collectionId}/aggregate"] = aggregate_path(true);
  paths["/aggregations"] = {{"get",
                             {{"operationId", "getAggregations"},
                              {"summary", "The aggregations offered"},
                              {"responses", {{"200", answer}}}}}};
  paths["/collections/{collectionId}/aggregations"] = {{"get",
                                                        {{"operationId", "getCollectionAggregations"},
                                                         {"summary", "The aggregations offered for a collection"},
                                                         {"parameters", json::array({collection_id})},
                                                         {"responses", {{"200", answer}, {"404", not_found}}}}}};
  schemas["AggregationCollection"] = {{"type", "object"},
                                      {"required", {"type", "aggregations"}},
                                      {"properties",
                                       {{"type", {{"type", "string"}, {"enum", {"AggregationCollection"}}}},
                                        {"aggregations",
                                         {{"type", "array"},
                                          {"items",
                                           {{"type", "object"},
                                            {"required", {"name", "data_type"}},
                                            {"properties",
                                             {{"name", {{"type", "string"}}},
                                              {"data_type", {{"type", "string"}}},
                                              {"frequency_distribution_data_type", {{"type", "string"}}},
                                              {"buckets", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                                              {"overflow", {{"type", "integer"}}}}}}}}}}}};
  schemas["AggregateBody"] = {
      {"type", "object"},
      {"required", {"aggregations"}},
      {"description",
       "aggregations (array of names) with centroid_geohash_grid_frequency_precision and "
       "datetime_frequency_interval; ids, collections, bbox, intersects, datetime, filter, filter-lang, "
       "filter-crs, query as the item search takes them"},
      {"properties", {{"aggregations", strings}}}};
}

}  // namespace tessera::service
