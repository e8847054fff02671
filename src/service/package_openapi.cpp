// The OpenAPI paths and schemas of the packaging routes (package_routes.hpp).

#include <string>
#include <string_view>

#include "service/package_routes.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

json schema_ref(std::string_view schema) { return {{"$ref", "#/components/schemas/" + std::string(schema)}}; }

json answer(std::string_view description, const json& schema, std::string_view media_type = "application/json") {
  return {{"description", description}, {"content", {{std::string(media_type), {{"schema", schema}}}}}};
}

json error(std::string_view description) { return answer(description, schema_ref("Error")); }

json path_parameter(std::string_view name, std::string_view description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

json query_parameter(std::string_view name, std::string_view description, json schema = {{"type", "string"}}) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"description", description},
          {"schema", std::move(schema)}};
}

json operation(std::string_view id, std::string_view summary, json responses, json parameters = json::array()) {
  json value = {{"operationId", id}, {"summary", summary}, {"responses", std::move(responses)}};
  if (!parameters.empty()) {
    value["parameters"] = std::move(parameters);
  }
  return value;
}

// A write: a bearer token with scope packages:write.
json write(json value) {
  value["responses"]["401"] = error("no bearer token, or a bad or expired one");
  value["responses"]["403"] = error("the token lacks scope packages:write, or its issuer is not accepted");
  value["security"] = json::array({{{"bearerAuth", json::array({std::string(kPackagesWriteScope)})}}});
  return value;
}

json array_of(std::string_view schema) { return {{"type", "array"}, {"items", schema_ref(schema)}}; }

}  // namespace

void add_package_openapi(json& paths, json& schemas) {
  const json bad_request = error("a parameter or the body is invalid (the description names it)");
  const json unknown_boundary = error("no such boundary");
  const json string = {{"type", "string"}};
  const json nullable_string = {{"type", "string"}, {"nullable", true}};
  const json job_id = path_parameter("jobId", "the job id");

  json upload = write(
      operation("postBoundaries", "Add boundaries from a GeoJSON FeatureCollection (WGS84)",
                {{"201", answer("the boundaries added", array_of("BoundarySummary"))}, {"400", bad_request}},
                json::array({query_parameter("name_field", "the property holding the name (name)"),
                             query_parameter("long_name_field", "the property holding the long name (the name)")})));
  upload["requestBody"] = {{"required", true},
                           {"content",
                            {{"application/geo+json", {{"schema", {{"type", "object"}}}}},
                             {"application/json", {{"schema", {{"type", "object"}}}}}}}};
  paths["/boundaries"] = {
      {"get", operation("getBoundaries", "Boundaries packages are built for",
                        {{"200", answer("the boundaries", array_of("BoundarySummary"))}, {"400", bad_request}},
                        json::array({query_parameter("name", "part of the name, long name or id (any case)"),
                                     query_parameter("point", "longitude,latitude: boundaries containing it")}))},
      {"post", upload}};
  paths["/boundaries/{name}"] = {
      {"get", operation("getBoundary", "One boundary as a GeoJSON Feature",
                        {{"200", answer("the boundary", {{"type", "object"}}, "application/geo+json")},
                         {"404", unknown_boundary}},
                        json::array({path_parameter("name", "the boundary's name or id")}))}};
  paths["/processors"] = {{"get", operation("getProcessors", "The processor registry",
                                            {{"200", answer("the processors", array_of("Processor"))}})}};
  paths["/processors/{dataset}/{version}"] = {
      {"get",
       operation("getProcessor", "One processor",
                 {{"200", answer("the processor", schema_ref("Processor"))}, {"404", error("no such processor")}},
                 json::array({path_parameter("dataset", "the dataset name"),
                              path_parameter("version", "the dataset version")}))}};
  paths["/packages"] = {{"get", operation("getPackages", "The packages built",
                                          {{"200", answer("the packages", array_of("PackageSummary"))}})}};
  paths["/packages/{boundary}"] = {
      {"get", operation("getPackage", "A package: its datapackage.json and the URL of every file",
                        {{"200", answer("the package", schema_ref("Package"))},
                         {"404", error("no such boundary, or no package for it yet")}},
                        json::array({path_parameter("boundary", "the boundary's name or id")}))}};
  json submit = write(
      operation("postJob", "Build a package: a boundary and processors",
                {{"202", answer("the job (an existing one for a duplicate while it runs)", schema_ref("JobSubmitted"))},
                 {"400", bad_request},
                 {"404", error("no such boundary or processor")},
                 {"503", error("too many jobs are waiting; retry later")}}));
  submit["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", schema_ref("JobRequest")}}}}}};
  paths["/jobs"] = {
      {"get", operation("getJobs", "Recent jobs, newest first",
                        {{"200", answer("the jobs", array_of("Job"))}, {"400", bad_request}},
                        json::array({query_parameter("status", "pending, running, completed, failed or cancelled"),
                                     query_parameter("boundary", "the boundary's name or id"),
                                     query_parameter("limit", "at most this many (1 to 1000, default 100)",
                                                     {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}})}))},
      {"post", submit}};
  paths["/jobs/{jobId}"] = {
      {"get", operation("getJob", "A job's status",
                        {{"200", answer("the job", schema_ref("Job"))}, {"404", error("no such job")}},
                        json::array({job_id}))},
      {"delete", write(operation("cancelJob", "Cancel a job: it stops at its next step",
                                 {{"200", answer("the job, which had finished", schema_ref("Job"))},
                                  {"202", answer("the job, asked to stop", schema_ref("Job"))},
                                  {"404", error("no such job")}},
                                 json::array({job_id})))}};

  schemas["BoundarySummary"] = {
      {"type", "object"},
      {"required", {"id", "name", "long_name", "bbox"}},
      {"properties",
       {{"id", string},
        {"name", string},
        {"long_name", string},
        {"bbox", {{"type", "array"}, {"items", {{"type", "number"}}}, {"minItems", 4}, {"maxItems", 4}}}}}};
  schemas["Processor"] = {
      {"type", "object"},
      {"required", {"name", "dataset", "version", "license", "formats"}},
      {"properties",
       {{"name", string},
        {"dataset", string},
        {"version", string},
        {"description", nullable_string},
        {"author", nullable_string},
        {"title", nullable_string},
        {"long_title", nullable_string},
        {"summary", nullable_string},
        {"citation", nullable_string},
        {"license",
         {{"type", "object"},
          {"properties", {{"name", nullable_string}, {"title", nullable_string}, {"path", nullable_string}}}}},
        {"origin_url", nullable_string},
        {"formats", {{"type", "array"}, {"items", string}}}}}};
  schemas["PackageSummary"] = {
      {"type", "object"},
      {"required", {"boundary", "datapackage_url"}},
      {"properties",
       {{"boundary", string}, {"name", string}, {"long_name", string}, {"datapackage_url", nullable_string}}}};
  schemas["Package"] = {{"type", "object"},
                        {"required", {"boundary", "datapackage", "resources"}},
                        {"properties",
                         {{"boundary", string},
                          {"name", string},
                          {"long_name", string},
                          {"datapackage_url", nullable_string},
                          {"index_url", nullable_string},
                          {"license_url", nullable_string},
                          {"resources", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                          {"datapackage", {{"type", "object"}}}}}};
  schemas["JobRequest"] = {{"type", "object"},
                           {"required", {"boundary", "processors"}},
                           {"additionalProperties", false},
                           {"properties",
                            {{"boundary", string},
                             {"processors",
                              {{"type", "array"},
                               {"items", {{"type", "string"}, {"description", "<dataset>/<version>"}}},
                               {"minItems", 1},
                               {"maxItems", 100}}}}}};
  schemas["JobSubmitted"] = {{"type", "object"},
                             {"required", {"id", "status", "location"}},
                             {"properties", {{"id", string}, {"status", string}, {"location", string}}}};
  schemas["Job"] = {
      {"type", "object"},
      {"required", {"id", "boundary", "status", "datasets"}},
      {"properties",
       {{"id", string},
        {"boundary", string},
        {"status", {{"type", "string"}, {"enum", {"pending", "running", "completed", "failed", "cancelled"}}}},
        {"error", nullable_string},
        {"percent", {{"type", "number"}}},
        {"step", string},
        {"processors", {{"type", "array"}, {"items", string}}},
        {"datasets", {{"type", "array"}, {"items", {{"type", "object"}}}}},
        {"provenance", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
}

}  // namespace tessera::service
