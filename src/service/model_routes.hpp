#pragma once

// The model routes over a catalog's matching tables: models, their AOIs,
// runs (list, get, cancel, logs), predictions (a STAC ItemCollection),
// summaries and event subscriptions; writes (receiving and acknowledging
// events included) need scope "models:write". The callback a run's model
// reports through, POST /models/{model}/runs/{run}/predictions, takes that
// run's token only (RunTokens) and is answered before the service's own
// token check. Internal header.

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/auth.hpp"
#include "tessera/catalog.hpp"
#include "tessera/matching.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

inline constexpr std::string_view kModelsWriteScope = "models:write";

class ModelRoutes {
 public:
  // Unsupported when the catalog keeps no matching tables.
  ModelRoutes(Catalog& catalog, const ServiceOptions& options, const Authenticator& auth);

  // The callback route, else nullopt.
  std::optional<HttpResponse> handle_callback(const HttpRequest& request,
                                              const std::vector<std::string_view>& segments) const;
  // Every other /models route (the request already passed the read check), else nullopt.
  std::optional<HttpResponse> handle(const HttpRequest& request, const std::vector<std::string_view>& segments) const;

  [[nodiscard]] const RunTokens& tokens() const noexcept { return tokens_; }

 private:
  HttpResponse model_route(const HttpRequest& request, const std::vector<std::string_view>& segments) const;
  HttpResponse run_route(const HttpRequest& request, const std::vector<std::string_view>& segments) const;
  HttpResponse subscription_route(const HttpRequest& request, const std::vector<std::string_view>& segments) const;
  HttpResponse predictions(const HttpRequest& request, std::string_view model) const;
  HttpResponse summary(const HttpRequest& request, std::string_view model) const;
  // The run, when it belongs to `model` (else 404).
  nlohmann::json run_of(std::string_view model, std::string_view run) const;

  Catalog& catalog_;
  mutable Matcher matcher_;
  const Authenticator& auth_;
  RunTokens tokens_;
};

// Adds the model routes to an OpenAPI document's paths.
void add_model_openapi(nlohmann::json& paths);

}  // namespace tessera::service
