#pragma once

// The geoprocessing routes (SeaSketch's contract, docs/geoprocessing.md):
//   GET  /geoprocessing/                      the project document
//   POST /geoprocessing/{endpoint}            run a service: a GeoprocessingTask
//   GET  /geoprocessing/tasks/{id}            the task (its `location`)
//   GET  /geoprocessing/tasks/{id}/events     server-sent events, ending when it has finished
//   GET  /geoprocessing/tasks/{id}/logs       its log, paged (limit, nextToken)
// Internal header.

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/auth.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

class GeoprocessingRoutes {
 public:
  // InvalidInput for options that cannot work (no task file, a restricted
  // service without keys to verify tokens, a geometryUri prefix that is not
  // https); Io when the task file cannot be opened.
  GeoprocessingRoutes(const GeoprocessingOptions& options, const Authenticator& auth);
  ~GeoprocessingRoutes();
  GeoprocessingRoutes(const GeoprocessingRoutes&) = delete;
  GeoprocessingRoutes& operator=(const GeoprocessingRoutes&) = delete;

  // The answer when the request is for these routes, else nullopt.
  std::optional<HttpResponse> handle(const HttpRequest& request, const std::vector<std::string_view>& segments) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Adds the geoprocessing routes to an OpenAPI 3.0 document's `paths`, their
// schemas to `schemas` (which must hold the "Error" schema).
void add_geoprocessing_openapi(nlohmann::json& paths, nlohmann::json& schemas);

}  // namespace tessera::service
