#include "service/openapi.hpp"

#include <string>

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
  });
  if (search) {
    parameters.push_back(query_parameter("collections", "collection ids", strings, true));
    parameters.push_back(query_parameter("ids", "item ids", strings, true));
    parameters.push_back(query_parameter("intersects", "a GeoJSON geometry (JSON text)", {{"type", "string"}}));
    parameters.push_back(query_parameter("filter", "a CQL2 filter", {{"type", "string"}}));
    parameters.push_back(query_parameter("filter-lang", "cql2-text (default) or cql2-json",
                                         {{"type", "string"}, {"enum", {"cql2-text", "cql2-json"}}}));
    parameters.push_back(
        query_parameter("filter-crs", "the CRS of the filter's geometries (CRS84 only)", {{"type", "string"}}));
    parameters.push_back(query_parameter("sortby", "sort keys: +name ascending, -name descending", strings, true));
  }
  return parameters;
}

}  // namespace

json openapi_document(const ServiceOptions& options) {
  const json bad_request = error("a parameter is invalid (the description names it)");
  const json not_found = error("no such collection or item");
  const json object = {{"type", "object"}};
  json paths = {
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
       {{"get", operation("getCollections", "Collections",
                          {{"200", ok("the collections", "application/json", "Collections")}})}}},
      {"/collections/{collectionId}",
       {{"get", operation("getCollection", "One collection",
                          {{"200", ok("the collection", "application/json", "Object")}, {"404", not_found}},
                          json::array({path_parameter("collectionId", "the collection id")}))}}},
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
         }()}}},
      {"/collections/{collectionId}/items/{itemId}",
       {{"get", operation("getItem", "One item",
                          {{"200", ok("the item", "application/geo+json", "Object")}, {"404", not_found}},
                          json::array({path_parameter("collectionId", "the collection id"),
                                       path_parameter("itemId", "the item id")}))}}},
      {"/collections/{collectionId}/queryables",
       {{"get", operation("getCollectionQueryables", "Queryable properties of a collection",
                          {{"200", ok("a JSON Schema", "application/schema+json", "Object")}, {"404", not_found}},
                          json::array({path_parameter("collectionId", "the collection id")}))}}},
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
         "fields, limit, token, as the STAC API item search takes them"}}},
  };
  return {{"openapi", "3.0.3"},
          {"info", {{"title", options.title}, {"description", options.description}, {"version", "1.0.0"}}},
          {"paths", std::move(paths)},
          {"components", {{"schemas", std::move(schemas)}}}};
}

}  // namespace tessera::service
