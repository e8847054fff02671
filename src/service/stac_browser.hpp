#pragma once

// STAC Browser (a built web application, scripts/build_stac_browser.sh) at
// /browser/, opening this service's catalog: its files, a generated run-time
// configuration (/browser/config.js, pointing it at the URL the client used)
// and index.html for the application's own paths (history mode). Internal
// header.

#include <optional>
#include <string>

#include "service/static_files.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

class StacBrowser {
 public:
  // `folder` holds the built application (index.html at least); Error
  // kNotFound otherwise.
  StacBrowser(const std::string& folder, const ServiceOptions& options);

  // The answer to /browser and /browser/..., nullopt for other paths.
  // Throws HttpError (404, 405).
  [[nodiscard]] std::optional<HttpResponse> handle(const HttpRequest& request) const;

 private:
  [[nodiscard]] HttpResponse config_script(const HttpRequest& request) const;

  StaticFiles files_;
  std::string title_;
};

}  // namespace tessera::service
