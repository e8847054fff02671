#include "service/openapi.hpp"

#include <string>

#include "service/aggregation_routes.hpp"
#include "service/geoprocessing_routes.hpp"
#include "service/model_routes.hpp"
#include "service/package_routes.hpp"
#include "service/tile_openapi.hpp"
#include "service/validate_routes.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

json query_parameter(std::string_view name, std::string_view description, json schema, bool explode = false) {
  json parameter = {{"name", name},
                    {"in", "query"},
                    {"required", false},
                    {"description", description},
                    {"schema", std::move(schema)}};
  if (explode) {
    parameter["style"] = "form";
    parameter["explode"] = false;
  }
  return parameter;
}

json path_parameter(std::string_view name, std::string_view description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

json content(std::string_view media_type, std::string_view schema) {
  return {{std::string(media_type), {{"schema", {{"$ref", "#/components/schemas/" + std::string(schema)}}}}}};
}

json ok(std::string_view description, std::string_view media_type, std::string_view schema) {
  return {{"description", description}, {"content", content(media_type, schema)}};
}

json error(std::string_view description) { return ok(description, "application/json", "Error"); }

json operation(std::string_view id, std::string_view summary, json responses, json parameters = json::array()) {
  json value = {{"operationId", id}, {"summary", summary}, {"responses", std::move(responses)}};
  if (!parameters.empty()) {
    value["parameters"] = std::move(parameters);
  }
  return value;
}

// The free-text extension's q, on item and collection search.
json free_text_parameter() {
  return query_parameter("q",
                         "free text over title, description and keywords: terms separated by ',' or OR match any, "
                         "AND or + all, -term excludes, \"quoted phrases\", parentheses group",
                         {{"type", "string"}});
}

// The collection search parameters of GET /collections.
json collection_search_parameters() {
  const json strings = {{"type", "array"}, {"items", {{"type", "string"}}}};
  return json::array({
      query_parameter("bbox", "minx,miny,maxx,maxy: collections whose spatial extent intersects it",
                      {{"type", "array"}, {"items", {{"type", "number"}}}, {"minItems", 4}, {"maxItems", 6}}, true),
      query_parameter("datetime", "an RFC 3339 instant or interval: collections whose temporal extent meets it",
                      {{"type", "string"}}),
      free_text_parameter(),
      query_parameter("ids", "collection ids", strings, true),
      query_parameter("limit", "collections per page (default 1000; larger values are lowered to the maximum)",
                      {{"type", "integer"}, {"minimum", 1}}),
      query_parameter("token", "the page token of a next link", {{"type", "string"}}),
  });
}

// The parameters GET /search and GET /collections/{id}/items share.
json item_parameters(bool search) {
  const json strings = {{"type", "array"}, {"items", {{"type", "string"}}}};
  json parameters = json::array({
      query_parameter("bbox", "minx,miny,maxx,maxy (or 6 numbers), WGS84",
                      {{"type", "array"}, {"items", {{"type", "number"}}}, {"minItems", 4}, {"maxItems", 6}}, true),
      query_parameter("datetime", "an RFC 3339 instant or interval (open ends as '..')", {{"type", "string"}}),
      query_parameter("limit", "items per page (larger values are lowered to the maximum)",
                      {{"type", "integer"}, {"minimum", 1}}),
      query_parameter("fields", "fields to include (name) or exclude (-name)", strings, true),
      query_parameter("token", "the page token of a next link", {{"type", "string"}}),
      free_text_parameter(),
  });
  parameters.push_back(query_parameter("filter", "a CQL2 filter", {{"type", "string"}}));
  parameters.push_back(query_parameter("filter-lang", "cql2-text (default) or cql2-json",
                                       {{"type", "string"}, {"enum", {"cql2-text", "cql2-json"}}}));
  parameters.push_back(
      query_parameter("filter-crs", "the CRS of the filter's geometries (CRS84 only)", {{"type", "string"}}));
  parameters.push_back(query_parameter("sortby", "sort keys: +name ascending, -name descending", strings, true));
  parameters.push_back(query_parameter(
      "query", "the query extension's object as JSON text ({\"eo:cloud_cover\": {\"lt\": 10}})", {{"type", "string"}}));
  if (search) {
    parameters.push_back(query_parameter("collections", "collection ids", strings, true));
    parameters.push_back(query_parameter("ids", "item ids", strings, true));
    parameters.push_back(query_parameter("intersects", "a GeoJSON geometry (JSON text)", {{"type", "string"}}));
  }
  return parameters;
}

// A write: needs a bearer token with scope stac:write.
json write_operation(std::string_view id, std::string_view summary, json responses, json parameters,
                     std::string_view body_schema) {
  responses["401"] = error("no bearer token, or a bad or expired one");
  responses["403"] = error("the token lacks scope stac:write, or its issuer is not accepted");
  json value = operation(id, summary, std::move(responses), std::move(parameters));
  value["security"] = json::array({{{"bearerAuth", json::array({"stac:write"})}}});
  if (!body_schema.empty()) {
    value["requestBody"] = {{"required", true}, {"content", content("application/json", body_schema)}};
  }
  return value;
}

json no_content(std::string_view description) { return {{"description", description}}; }

std::string html_escaped(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

}  // namespace

json openapi_document(const ServiceOptions& options) {
  const json bad_request = error("a parameter is invalid (the description names it)");
  const json not_found = error("no such collection or item");
  const json object = {{"type", "object"}};
  const json collection_id = json::array({path_parameter("collectionId", "the collection id")});
  const json item_ids =
      json::array({path_parameter("collectionId", "the collection id"), path_parameter("itemId", "the item id")});
  const json patch_body = {{"required", true},
                           {"content",
                            {{"application/merge-patch+json", {{"schema", {{"$ref", "#/components/schemas/Object"}}}}},
                             {"application/json", {{"schema", {{"$ref", "#/components/schemas/Object"}}}}},
                             {"application/json-patch+json", {{"schema", {{"type", "array"}, {"items", object}}}}}}}};
  const auto patch_operation = [&](std::string_view id, std::string_view summary, const json& parameters) {
    json patch = write_operation(
        id, summary, {{"204", no_content("patched")}, {"400", bad_request}, {"404", not_found}}, parameters, {});
    patch["requestBody"] = patch_body;
    return patch;
  };
  json paths = {
      {"/api.html",
       {{"get",
         [] {
           json page = operation("getApiPage", "This document as a web page", {{"200", {{"description", "HTML"}}}});
           page["responses"]["200"]["content"] = {{"text/html", {{"schema", {{"type", "string"}}}}}};
           return page;
         }()}}},
      {"/",
       {{"get", operation("getLandingPage", "Landing page",
                          {{"200", ok("the landing page", "application/json", "LandingPage")}})}}},
      {"/conformance",
       {{"get", operation("getConformance", "Conformance classes",
                          {{"200", ok("the conformance classes", "application/json", "Conformance")}})}}},
      {"/api",
       {{"get", operation("getOpenApi", "This document",
                          {{"200", ok("the OpenAPI document", kOpenApiMediaType, "Object")}})}}},
      {"/collections",
       {{"get", operation("getCollections", "Collections, or a collection search",
                          {{"200", ok("the collections", "application/json", "Collections")}, {"400", bad_request}},
                          collection_search_parameters())},
        {"post", write_operation("postCollection", "Create a collection",
                                 {{"201", ok("the collection created", "application/json", "Object")},
                                  {"400", bad_request},
                                  {"409", error("a collection with this id exists")}},
                                 json::array(), "Object")}}},
      {"/collections/{collectionId}",
       {{"get",
         operation("getCollection", "One collection",
                   {{"200", ok("the collection", "application/json", "Object")}, {"404", not_found}}, collection_id)},
        {"put", write_operation("putCollection", "Replace a collection",
                                {{"204", no_content("replaced")}, {"400", bad_request}, {"404", not_found}},
                                collection_id, "Object")},
        {"patch", patch_operation("patchCollection", "Patch a collection", collection_id)},
        {"delete", write_operation("deleteCollection", "Delete a collection and its items",
                                   {{"204", no_content("deleted")}, {"404", not_found}}, collection_id, {})}}},
      {"/collections/{collectionId}/bulk_items",
       {{"post",
         write_operation("postBulkItems", "Insert or upsert many items",
                         {{"200", ok("the load report", "application/json", "LoadReport")},
                          {"400", ok("the load report naming the refused items", "application/json", "LoadReport")},
                          {"404", not_found}},
                         collection_id, "BulkItems")}}},
      {"/collections/{collectionId}/items",
       {{"get",
         [&] {
           json parameters = item_parameters(false);
           parameters.insert(parameters.begin(), path_parameter("collectionId", "the collection id"));
           return operation("getItems", "Items of a collection",
                            {{"200", ok("a page of items", "application/geo+json", "ItemCollection")},
                             {"400", bad_request},
                             {"404", not_found}},
                            parameters);
         }()},
        {"post", write_operation("postItem", "Create an item (or items: a FeatureCollection)",
                                 {{"201", ok("the item created", "application/geo+json", "Object")},
                                  {"400", bad_request},
                                  {"404", not_found},
                                  {"409", error("an item with this id exists")}},
                                 collection_id, "Object")}}},
      {"/collections/{collectionId}/items/{itemId}",
       {{"get", operation("getItem", "One item",
                          {{"200", ok("the item", "application/geo+json", "Object")}, {"404", not_found}}, item_ids)},
        {"put", write_operation("putItem", "Replace an item",
                                {{"204", no_content("replaced")}, {"400", bad_request}, {"404", not_found}}, item_ids,
                                "Object")},
        {"patch", patch_operation("patchItem", "Patch an item", item_ids)},
        {"delete", write_operation("deleteItem", "Delete an item (absent: also 204)", {{"204", no_content("deleted")}},
                                   item_ids, {})}}},
      {"/collections/{collectionId}/queryables",
       {{"get", operation("getCollectionQueryables", "Queryable properties of a collection",
                          {{"200", ok("a JSON Schema", "application/schema+json", "Object")}, {"404", not_found}},
                          collection_id)}}},
      {"/queryables",
       {{"get", operation("getQueryables", "Queryable properties",
                          {{"200", ok("a JSON Schema", "application/schema+json", "Object")}})}}},
      {"/search",
       {{"get",
         operation("getSearch", "Item search",
                   {{"200", ok("a page of items", "application/geo+json", "ItemCollection")}, {"400", bad_request}},
                   item_parameters(true))},
        {"post",
         [&] {
           json post = operation("postSearch", "Item search",
                                 {{"200", ok("a page of items", "application/geo+json", "ItemCollection")},
                                  {"400", bad_request},
                                  {"413", error("the body is larger than the service accepts")}});
           post["requestBody"] = {{"required", false}, {"content", content("application/json", "SearchBody")}};
           return post;
         }()}}},
  };
  json schemas = {
      {"Error",
       {{"type", "object"},
        {"required", {"code", "description"}},
        {"properties", {{"code", {{"type", "string"}}}, {"description", {{"type", "string"}}}}}}},
      {"Object", object},
      {"LandingPage", {{"type", "object"}, {"required", {"id", "links", "conformsTo"}}}},
      {"Conformance",
       {{"type", "object"},
        {"required", {"conformsTo"}},
        {"properties", {{"conformsTo", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}},
      {"Collections", {{"type", "object"}, {"required", {"collections", "links"}}}},
      {"ItemCollection", {{"type", "object"}, {"required", {"type", "features"}}}},
      {"SearchBody",
       {{"type", "object"},
        {"description",
         "ids, collections, bbox, intersects, datetime, filter, filter-lang, filter-crs, sortby, "
         "fields, query, q, limit, token, as the STAC API item search takes them"}}},
      {"BulkItems",
       {{"type", "object"},
        {"required", {"items"}},
        {"properties",
         {{"items", {{"description", "{id: item, ...} or [item, ...]"}}},
          {"method", {{"type", "string"}, {"enum", {"insert", "upsert"}}}}}}}},
      {"LoadReport",
       {{"type", "object"},
        {"properties",
         {{"loaded", {{"type", "integer"}}},
          {"skipped", {{"type", "integer"}}},
          {"failed", {{"type", "array"}, {"items", object}}}}}}},
  };
  add_aggregation_openapi(paths, schemas);
  add_validate_openapi(paths, schemas);
  if (options.tiles) {
    add_tile_openapi(paths);
  }
  if (!options.packages.storage.empty()) {
    add_package_openapi(paths, schemas);
  }
  if (options.geoprocessing.registry) {
    add_geoprocessing_openapi(paths, schemas);
  }
  if (options.models.enabled) {
    add_model_openapi(paths);
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", options.title}, {"description", options.description}, {"version", "1.0.0"}}},
          {"paths", std::move(paths)},
          {"components",
           {{"schemas", std::move(schemas)},
            {"securitySchemes", {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}}}};
}

std::string openapi_page(const json& document) {
  const std::string title = html_escaped(document["info"]["title"].get<std::string>());
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title +
                     " API</title></head>\n<body><h1>" + title + " API</h1>\n<p>" +
                     html_escaped(document["info"]["description"].get<std::string>()) +
                     " &mdash; machine-readable: <a href=\"api\">OpenAPI document</a>.</p>\n<table>\n"
                     "<tr><th>method</th><th>path</th><th>what</th></tr>\n";
  for (const auto& [path, operations] : document["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (char& c : upper) {
        c = static_cast<char>(c - ('a' <= c && c <= 'z' ? 'a' - 'A' : 0));
      }
      page += "<tr><td>" + upper + "</td><td><code>" + html_escaped(path) + "</code></td><td>" +
              html_escaped(operation.value("summary", "")) + (operation.contains("security") ? " (bearer token)" : "") +
              "</td></tr>\n";
    }
  }
  page += "</table>\n</body></html>\n";
  return page;
}

}  // namespace tessera::service
