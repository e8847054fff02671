#include "service/stac_browser.hpp"

#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "service/http_support.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

namespace {

constexpr std::string_view kMount = "/browser";

// Whether `relative`, which is no file that may be served, asks for a file:
// one in a folder of the application (js/, css/, ...) or a name with an
// extension at its top (favicon.ico), or a path that may not be served
// (hidden, '..', absolute). Any other path is one of the application's own
// (/browser/collections/s2/items/S2A_x.SAFE, history mode): its page answers.
bool missing_file(const std::filesystem::path& root, std::string_view relative) {
  const std::size_t slash = relative.find('/');
  if (slash == std::string_view::npos) {
    return relative.find('.') != std::string_view::npos;
  }
  const std::string_view first = relative.substr(0, slash);
  if (first.empty() || first.front() == '.') {
    return true;
  }
  std::error_code error;
  return std::filesystem::is_directory(root / std::string(first), error);
}

}  // namespace

StacBrowser::StacBrowser(const std::string& folder, const ServiceOptions& options)
    : files_(folder), title_(options.title) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(files_.root() / "index.html", error)) {
    throw Error(ErrorCode::kNotFound, fmt::format("the STAC Browser folder '{}' has no index.html (build it with "
                                                  "scripts/build_stac_browser.sh)",
                                                  folder));
  }
}

std::optional<HttpResponse> StacBrowser::handle(const HttpRequest& request) const {
  const auto mounted = below_mount(request.path, kMount);
  if (!mounted) {
    return std::nullopt;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    throw HttpError(405, "MethodNotAllowed", fmt::format("{} is not allowed here (allowed: GET)", request.method));
  }
  if (mounted->bare) {
    return to_mount_folder(request, kMount);
  }
  const std::string_view relative = mounted->relative;
  if (relative == "config.js") {
    return config_script(request);
  }
  if (auto file = files_.serve(request, relative.empty() ? "index.html" : relative)) {
    return file;
  }
  if (missing_file(files_.root(), relative)) {
    throw HttpError(404, "NotFound", fmt::format("no file {}", request.path));
  }
  return files_.serve(request, "index.html");
}

// STAC Browser merges window.STAC_BROWSER_CONFIG over its built-in options:
// the catalog is this service's landing page at the URL the client used
// (exactly its `self` link), and other catalogs may not be opened.
HttpResponse StacBrowser::config_script(const HttpRequest& request) const {
  const nlohmann::json config = {
      {"catalogUrl", base_url(request) + "/"},
      {"catalogTitle", title_},
      {"allowExternalAccess", false},
  };
  HttpResponse response;
  response.headers = {{"Content-Type", "text/javascript; charset=utf-8"},
                      {"Cache-Control", "no-store"},
                      {"X-Content-Type-Options", "nosniff"}};
  // ASCII only: the title cannot end the string or the statement.
  response.body =
      "window.STAC_BROWSER_CONFIG = " + config.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) + ";\n";
  return response;
}

}  // namespace tessera::service
