#pragma once

// POST /validate: the checks of a load, per item, without writing (see
// tessera::validate), for upload front ends that refuse bad items before
// they reach the queue. Internal header.

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

class ValidateRoutes {
 public:
  explicit ValidateRoutes(Catalog& catalog) : catalog_(catalog) {}

  // The answer when `segments` is /validate, else nullopt: 200 with the
  // report ({"valid", "invalid", "results"}), 400 for a body that is not
  // items, 405 for another method.
  std::optional<HttpResponse> handle(const HttpRequest& request, const std::vector<std::string_view>& segments) const;

 private:
  Catalog& catalog_;
};

// Adds POST /validate to an OpenAPI document's paths and schemas.
void add_validate_openapi(nlohmann::json& paths, nlohmann::json& schemas);

}  // namespace tessera::service
