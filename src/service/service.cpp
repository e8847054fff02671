#include "tessera/service.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "service/geoprocessing_routes.hpp"
#include "service/http_support.hpp"
#include "service/model_routes.hpp"
#include "service/package_routes.hpp"
#include "service/stac_api.hpp"
#include "service/stac_browser.hpp"
#include "service/tile_routes.hpp"
#include "service/validate_routes.hpp"
#include "service/viewer_routes.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera {

namespace {

const std::string* find_value(const std::vector<std::pair<std::string, std::string>>& pairs, std::string_view name,
                              bool ignore_case) {
  for (const auto& [key, value] : pairs) {
    if (ignore_case ? service::equals_ignoring_case(key, name) : key == name) {
      return &value;
    }
  }
  return nullptr;
}

// "/collections/a/items/" -> {"collections", "a", "items"}.
std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start < path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) {
      segments.push_back(path.substr(start, end - start));
    }
    start = end + 1;
  }
  return segments;
}

// The status a library error is answered with.
int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
    case ErrorCode::kUnsupported:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      break;
  }
  return 500;
}

std::string_view stac_code_of(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 503:
      return "ServiceUnavailable";
    default:
      return "InternalServerError";
  }
}

}  // namespace

const std::string* HttpRequest::query_value(std::string_view name) const noexcept {
  return find_value(query, name, false);
}

const std::string* HttpRequest::header(std::string_view name) const noexcept { return find_value(headers, name, true); }

const std::string* HttpResponse::header(std::string_view name) const noexcept {
  return find_value(headers, name, true);
}

// The CORS headers for a request from `origin`, when the service allows it.
void add_cors_headers(const ServiceOptions& options, const HttpRequest& request, HttpResponse& response) {
  const std::string* origin = request.header("origin");
  if (origin == nullptr || options.cors_origins.empty()) {
    return;
  }
  const bool any =
      std::find(options.cors_origins.begin(), options.cors_origins.end(), "*") != options.cors_origins.end();
  if (!any &&
      std::find(options.cors_origins.begin(), options.cors_origins.end(), *origin) == options.cors_origins.end()) {
    return;
  }
  response.headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : *origin);
  if (!any) {
    response.headers.emplace_back("Vary", "Origin");
  }
  response.headers.emplace_back("Access-Control-Expose-Headers", "Content-Type, ETag");
}

struct Service::Impl {
  Impl(Catalog* catalog, ServiceOptions service_options) : options(std::move(service_options)), auth(options.auth) {
    if (catalog != nullptr && options.stac) {
      stac.emplace(*catalog, options, auth);
    }
    if (catalog != nullptr) {
      validate.emplace(*catalog);
    }
    if (!options.browser_dir.empty()) {
      if (!stac) {
        throw Error(ErrorCode::kInvalidInput,
                    "ServiceOptions::browser_dir: STAC Browser needs the STAC API (a catalog and stac = true)");
      }
      browser.emplace(options.browser_dir, options);
    }
    if (options.models.enabled) {
      if (catalog == nullptr) {
        throw Error(ErrorCode::kInvalidInput, "ServiceOptions::models: the model routes need a catalog");
      }
      models.emplace(*catalog, options, auth);
    }
    if (options.tiles) {
      tiles.emplace(catalog, options);
      viewer.emplace(options);
    } else if (!options.viewer_dir.empty()) {
      throw Error(ErrorCode::kInvalidInput, "ServiceOptions::viewer_dir: the viewer needs the tile routes");
    }
    if (options.geoprocessing.registry) {
      geoprocessing.emplace(options.geoprocessing, auth);
    }
    if (!options.packages.storage.empty()) {
      packages.emplace(options.packages, auth);
    }
  }

  HttpResponse route(const HttpRequest& request) const {
    if (request.body.size() > options.max_body_bytes) {
      throw service::HttpError(413, "PayloadTooLarge",
                               fmt::format("the request body has {} bytes; at most {} are accepted",
                                           request.body.size(), options.max_body_bytes));
    }
    if (request.method == "OPTIONS") {
      // A CORS preflight: what a cross-origin page may send (add_cors_headers
      // says whether its origin may).
      HttpResponse preflight;
      preflight.status = 204;
      preflight.headers = {{"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
                           {"Access-Control-Allow-Headers", "Authorization, Content-Type, If-None-Match"},
                           {"Access-Control-Max-Age", "600"}};
      return preflight;
    }
    const auto segments = path_segments(request.path);
    if (segments.size() == 1 && segments[0] == "healthz") {
      HttpResponse health = service::json_response(200, {{"status", "ok"}});
      health.headers.emplace_back("Cache-Control", "no-store");
      return health;
    }
    // The browser's and the viewer's files stay public: what they show comes
    // from the API, which asks for a token when reads need one.
    if (browser) {
      if (auto response = browser->handle(request)) {
        return std::move(*response);
      }
    }
    if (viewer) {
      if (auto response = viewer->handle(request, segments)) {
        return std::move(*response);
      }
    }
    // Geoprocessing services check their own tokens (restrictedAccess).
    if (geoprocessing) {
      if (auto response = geoprocessing->handle(request, segments)) {
        return std::move(*response);
      }
    }
    // A run's callback takes its run token, never the service's: before the token check.
    if (models) {
      if (auto response = models->handle_callback(request, segments)) {
        return std::move(*response);
      }
    }
    auth.authorize(request, {});
    if (validate) {
      if (auto response = validate->handle(request, segments)) {
        return std::move(*response);
      }
    }
    if (packages) {
      if (auto response = packages->handle(request, segments)) {
        return std::move(*response);
      }
    }
    if (models) {
      if (auto response = models->handle(request, segments)) {
        return std::move(*response);
      }
    }
    if (stac) {
      if (auto response = stac->handle(request, segments)) {
        return std::move(*response);
      }
    } else if (segments.empty() && viewer && viewer->has_viewer() &&
               (request.method == "GET" || request.method == "HEAD")) {
      // Without the STAC API's landing page, the root opens the viewer.
      HttpResponse redirect;
      redirect.status = 302;
      redirect.headers = {{"Location", service::base_url(request) + "/viewer/"}};
      return redirect;
    }
    if (tiles) {
      if (auto response = tiles->handle(request, segments)) {
        return std::move(*response);
      }
    }
    throw service::HttpError(404, "NotFound", fmt::format("no route for {}", request.path));
  }

  // The response to `request`, errors included.
  HttpResponse answer(const HttpRequest& request) const {
    try {
      HttpResponse response = route(request);
      if (request.method == "HEAD") {
        response.body.clear();
      }
      return response;
    } catch (const service::HttpError& error) {
      HttpResponse response = service::error_response(error.status(), error.code(), error.what());
      response.headers.insert(response.headers.end(), error.headers().begin(), error.headers().end());
      return response;
    } catch (const Error& error) {
      const int status = status_of(error.code());
      if (status == 500) {
        // The message may name server-side paths: it goes to the log, not the client.
        log(LogLevel::kError, fmt::format("{} {}: {}", request.method, request.path, error.what()));
        return service::error_response(500, stac_code_of(500), "internal error (logged on the server)");
      }
      return service::error_response(status, stac_code_of(status), error.what());
    } catch (const std::exception& error) {
      log(LogLevel::kError, fmt::format("{} {}: {}", request.method, request.path, error.what()));
      return service::error_response(500, stac_code_of(500), "internal error (logged on the server)");
    }
  }

  ServiceOptions options;
  service::Authenticator auth;
  std::optional<service::StacApi> stac;                       // a catalog and options.stac
  std::optional<service::StacBrowser> browser;                // options.browser_dir set
  std::optional<service::TileRoutes> tiles;                   // options.tiles
  std::optional<service::ViewerRoutes> viewer;                // options.tiles
  std::optional<service::ValidateRoutes> validate;            // a catalog
  std::optional<service::GeoprocessingRoutes> geoprocessing;  // options.geoprocessing.registry
  std::optional<service::ModelRoutes> models;                 // options.models.enabled
  // Last: its job workers stop (cancelling their jobs) before the rest goes.
  std::optional<service::PackageRoutes> packages;  // options.packages.storage set
};

Service::Service(Catalog& catalog, ServiceOptions options)
    : impl_(std::make_unique<Impl>(&catalog, std::move(options))) {}

Service::Service(ServiceOptions options) : impl_(std::make_unique<Impl>(nullptr, std::move(options))) {}

Service::~Service() = default;

const RunTokens& Service::run_tokens() const {
  if (!impl_->models) {
    throw Error(ErrorCode::kInvalidInput, "run_tokens: this service has no model routes (ServiceOptions::models)");
  }
  return impl_->models->tokens();
}

HttpResponse Service::handle(const HttpRequest& request) const noexcept {
  try {
    HttpResponse response = impl_->answer(request);
    add_cors_headers(impl_->options, request, response);
    return response;
  } catch (...) {
    // Building the answer itself failed (out of memory).
    HttpResponse response;
    response.status = 500;
    return response;
  }
}

}  // namespace tessera
