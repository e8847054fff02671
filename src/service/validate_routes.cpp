#include "service/validate_routes.hpp"

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "tessera/ingest.hpp"

namespace tessera::service {

using nlohmann::json;

std::optional<HttpResponse> ValidateRoutes::handle(const HttpRequest& request,
                                                   const std::vector<std::string_view>& segments) const {
  if (segments.size() != 1 || segments[0] != "validate") {
    return std::nullopt;
  }
  if (request.method != "POST") {
    throw HttpError(405, "MethodNotAllowed", fmt::format("{} /validate: only POST is allowed", request.method),
                    {{"Allow", "POST"}});
  }
  // Errors of the body as a whole (not items, too many) are InvalidInput: a 400 naming them.
  return json_response(200, validate(catalog_, request.body).to_json());
}

void add_validate_openapi(json& paths, json& schemas) {
  schemas["ValidationReport"] = {{"type", "object"},
                                 {"properties",
                                  {{"valid", {{"type", "integer"}}},
                                   {"invalid", {{"type", "integer"}}},
                                   {"results",
                                    {{"type", "array"},
                                     {"items",
                                      {{"type", "object"},
                                       {"properties",
                                        {{"id", {{"type", "string"}}},
                                         {"collection", {{"type", "string"}}},
                                         {"valid", {{"type", "boolean"}}},
                                         {"error", {{"type", "string"}}}}}}}}}}}};
  const auto ref = [](std::string_view schema) {
    return json{{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + std::string(schema)}}}}}};
  };
  paths["/validate"]["post"] = {
      {"summary", "Check items as a load would, without writing them"},
      {"description",
       fmt::format("The body is an Item, a FeatureCollection, a JSON array of Items or ndjson (at most {} items). "
                   "Each item gets the checks of a load (structure, geometry, dates, an existing collection); "
                   "nothing is written.",
                   kMaxValidateItems)},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/json", {{"schema", {{"type", "object"}}}}},
          {"application/x-ndjson", {{"schema", {{"type", "string"}}}}}}}}},
      {"responses",
       {{"200", {{"description", "one result per item"}, {"content", ref("ValidationReport")}}},
        {"400", {{"description", "the body holds no items, or too many"}, {"content", ref("Error")}}}}}};
}

}  // namespace tessera::service
