// The geoprocessing routes in the OpenAPI document (/api): the project
// document, running a service, and a task with its events and logs.

#include <string>

#include "service/geoprocessing_routes.hpp"

namespace tessera::service {

using nlohmann::json;

void add_geoprocessing_openapi(json& paths, json& schemas) {
  const auto schema_ref = [](const char* name) { return json{{"$ref", std::string("#/components/schemas/") + name}}; };
  const auto answer = [&](const char* description, const char* media_type, json schema) {
    return json{{"description", description}, {"content", {{media_type, {{"schema", std::move(schema)}}}}}};
  };
  const auto failure = [&](const char* description) {
    return answer(description, "application/json", schema_ref("Error"));
  };
  const json task_id = {{"name", "taskId"},
                        {"in", "path"},
                        {"required", true},
                        {"description", "the task's id (its location's last segment)"},
                        {"schema", {{"type", "string"}, {"pattern", "^[0-9a-f]{32}$"}}}};
  const json task_answer = answer("the task", "application/json", schema_ref("GeoprocessingTask"));
  const json unknown_task = failure("no such task");

  paths["/geoprocessing/"] = {
      {"get",
       {{"operationId", "getGeoprocessingProject"},
        {"summary", "the geoprocessing project: its services with their metadata, median duration and cost"},
        {"responses",
         {{"200", answer("the project document", "application/json", schema_ref("GeoprocessingProject"))}}}}}};
  paths["/geoprocessing/{endpoint}"] = {
      {"post",
       {{"operationId", "runGeoprocessingService"},
        {"summary", "run a service on a sketch (sync: the finished task; async: a pending task to poll or follow)"},
        {"parameters",
         {{{"name", "endpoint"},
           {"in", "path"},
           {"required", true},
           {"description", "the service's endpoint name"},
           {"schema", {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]{1,64}$"}}}}}},
        {"requestBody",
         {{"required", true}, {"content", {{"application/json", {{"schema", schema_ref("GeoprocessingRequest")}}}}}}},
        {"responses",
         {{"200", task_answer},
          {"400", failure("the request, its sketch or its geometryUri is invalid (the description says where)")},
          {"403", failure("a restricted service: the token is missing, invalid, expired or not for this service")},
          {"404", failure("no such service")},
          {"429", failure("the service's rate limit is used up for this period")},
          {"503", failure("too many runs at once; retry later")}}}}}};
  paths["/geoprocessing/tasks/{taskId}"] = {
      {"get",
       {{"operationId", "getGeoprocessingTask"},
        {"summary", "a task (its location): status, data when completed, error when failed"},
        {"parameters", {task_id}},
        {"responses", {{"200", task_answer}, {"404", unknown_task}}}}}};
  paths["/geoprocessing/tasks/{taskId}/events"] = {
      {"get",
       {{"operationId", "followGeoprocessingTask"},
        {"summary",
         "server-sent events: one event with the task once it has finished (at once if it has), then "
         "the stream ends"},
        {"parameters", {task_id}},
        {"responses",
         {{"200", answer("the task as an event ('done', or 'task' while still pending after 55 s)", "text/event-stream",
                         {{"type", "string"}})},
          {"404", unknown_task}}}}}};
  paths["/geoprocessing/tasks/{taskId}/logs"] = {
      {"get",
       {{"operationId", "getGeoprocessingTaskLogs"},
        {"summary", "the task's log, a page at a time"},
        {"parameters",
         {task_id,
          {{"name", "limit"},
           {"in", "query"},
           {"required", false},
           {"description", "lines per page (default 100)"},
           {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}}},
          {{"name", "nextToken"},
           {"in", "query"},
           {"required", false},
           {"description", "the previous page's nextToken"},
           {"schema", {{"type", "string"}}}}}},
        {"responses",
         {{"200", answer("a page of the log", "application/json", schema_ref("GeoprocessingLogs"))},
          {"400", failure("limit or nextToken is invalid")},
          {"404", unknown_task}}}}}};

  const json text = {{"type", "string"}};
  const json strings = {{"type", "array"}, {"items", text}};
  schemas["GeoprocessingService"] = {{"type", "object"},
                                     {"properties",
                                      {{"title", text},
                                       {"endpoint", text},
                                       {"uri", text},
                                       {"description", text},
                                       {"type", {{"type", "string"}, {"enum", {"geoprocessing", "preprocessing"}}}},
                                       {"executionMode", {{"type", "string"}, {"enum", {"sync", "async"}}}},
                                       {"usesAttributes", strings},
                                       {"timeout", {{"type", "number"}}},
                                       {"restrictedAccess", {{"type", "boolean"}}},
                                       {"issAllowList", strings},
                                       {"rateLimited", {{"type", "boolean"}}},
                                       {"rateLimit", {{"type", "integer"}}},
                                       {"rateLimitPeriod", {{"type", "string"}, {"enum", {"daily", "monthly"}}}},
                                       {"rateLimitConsumed", {{"type", "integer"}}},
                                       {"medianDuration", {{"type", "number"}}},
                                       {"medianCost", {{"type", "number"}}}}}};
  const json services = {{"type", "array"}, {"items", schema_ref("GeoprocessingService")}};
  schemas["GeoprocessingProject"] = {{"type", "object"},
                                     {"properties",
                                      {{"apiVersion", text},
                                       {"serviceUri", text},
                                       {"title", text},
                                       {"services", services},
                                       {"geoprocessingServices", services},
                                       {"preprocessingServices", services}}}};
  schemas["GeoprocessingRequest"] = {
      {"type", "object"},
      {"description", "geometry or geometryUri, not both"},
      {"properties",
       {{"geometry", {{"type", "object"}, {"description", "a GeoJSON Feature or a SeaSketch FeatureCollection"}}},
        {"geometryUri", {{"type", "string"}, {"description", "an https URI (an allowed prefix) answering geobuf"}}},
        {"token", {{"type", "string"}, {"description", "a JWT, for services with restrictedAccess"}}},
        {"cacheKey", {{"type", "string"}, {"maxLength", 256}}}}}};
  schemas["GeoprocessingTask"] = {
      {"type", "object"},
      {"properties",
       {{"id", text},
        {"service", text},
        {"location", text},
        {"startedAt", {{"type", "string"}, {"format", "date-time"}}},
        {"duration", {{"type", "number"}, {"nullable", true}}},
        {"logUriTemplate", text},
        {"geometryUri", text},
        {"status", {{"type", "string"}, {"enum", {"pending", "completed", "failed"}}}},
        {"data", {{"description", "the service's result (any JSON); null until completed"}}},
        {"error", text}}}};
  schemas["GeoprocessingLogs"] = {
      {"type", "object"},
      {"properties",
       {{"task", text},
        {"events",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties", {{"timestamp", {{"type", "string"}, {"format", "date-time"}}}, {"message", text}}}}}}},
        {"nextToken", {{"type", "string"}, {"nullable", true}}}}}};
}

}  // namespace tessera::service
