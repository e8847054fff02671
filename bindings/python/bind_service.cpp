#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bind_geoprocessing.hpp"
#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/service.hpp"

namespace tessera::python {

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

}  // namespace

void bind_service(py::module_& m) {
  const ServiceOptions defaults;
  py::class_<Service>(m, "Service",
                      "The STAC API over a catalog, the tile routes (/cog, /searches) and the map viewer as a "
                      "function of requests, without sockets: handle() answers one request; tessera.asgi.app() "
                      "serves it to an ASGI server. Without a catalog (None): the COG tiles and the viewer only. "
                      "geoprocessing: a GeoprocessingOptions whose services are served under /geoprocessing/.")
      .def(py::init([](Catalog* catalog, const std::string& title, const std::string& description,
                       std::size_t max_body_bytes, std::size_t max_limit, std::size_t default_limit,
                       const std::vector<std::string>& cors_origins, const std::string& browser_dir,
                       const std::string& jwks, const std::vector<std::string>& issuers, const std::string& audience,
                       int leeway_seconds, bool require_auth, bool allow_anonymous_writes, bool stac, bool tiles,
                       const std::string& viewer_dir, const std::string& basemap_path, int cache_max_age_seconds,
                       const std::string& pyramid_dir, const py::object& packages,
                       const py::object& package_executor_callable,
                       const optional_ref<PythonGeoprocessingOptions>& geoprocessing, bool models,
                       const py::bytes& callback_key) {
             ServiceOptions options;
             options.models.enabled = models;
             options.models.callback_key = std::string(callback_key);
             options.title = title;
             options.description = description;
             options.max_body_bytes = max_body_bytes;
             options.max_limit = max_limit;
             options.default_limit = default_limit;
             options.cors_origins = cors_origins;
             options.browser_dir = browser_dir;
             options.auth.jwks = jwks;
             options.auth.issuers = issuers;
             options.auth.audience = audience;
             options.auth.leeway_seconds = leeway_seconds;
             options.auth.require_auth = require_auth;
             options.auth.allow_anonymous_writes = allow_anonymous_writes;
             options.stac = stac;
             options.tiles = tiles;
             options.viewer_dir = viewer_dir;
             options.basemap_path = basemap_path;
             options.cache_max_age_seconds = cache_max_age_seconds;
             options.pyramid_dir = pyramid_dir;
             if (!packages.is_none()) {
               options.packages = PackagesServiceOptions::from_json(to_json(packages), "packages");
             }
             if (!package_executor_callable.is_none()) {
               options.packages.executor = package_executor(package_executor_callable);
             }
             if (geoprocessing) {
               options.geoprocessing = geoprocessing->get().serve();
             }
             // Reading the key set may fetch a URL.
             py::gil_scoped_release release;
             return catalog != nullptr ? std::make_unique<Service>(*catalog, std::move(options))
                                       : std::make_unique<Service>(std::move(options));
           }),
           py::arg("catalog") = py::none(), py::kw_only(), py::arg("title") = defaults.title,
           py::arg("description") = defaults.description, py::arg("max_body_bytes") = defaults.max_body_bytes,
           py::arg("max_limit") = defaults.max_limit, py::arg("default_limit") = defaults.default_limit,
           py::arg("cors_origins") = std::vector<std::string>{}, py::arg("browser_dir") = std::string{},
           py::arg("jwks") = std::string{}, py::arg("issuers") = std::vector<std::string>{},
           py::arg("audience") = std::string{}, py::arg("leeway_seconds") = defaults.auth.leeway_seconds,
           py::arg("require_auth") = false, py::arg("allow_anonymous_writes") = false, py::arg("stac") = defaults.stac,
           py::arg("tiles") = defaults.tiles, py::arg("viewer_dir") = std::string{},
           py::arg("basemap_path") = std::string{}, py::arg("cache_max_age_seconds") = defaults.cache_max_age_seconds,
           py::arg("pyramid_dir") = std::string{},
           // {"storage", "boundaries", "processors", "packages_url", "workers", "lock_timeout_ms", ...}
           py::arg("packages") = py::none(),
           // Hands package jobs to e.g. a Dask cluster (PackageJobs' executor).
           py::arg("package_executor") = py::none(), py::arg("geoprocessing") = py::none(), py::arg("models") = false,
           py::arg("callback_key") = py::bytes(),
           // The catalog lives as long as the service.
           py::keep_alive<1, 2>())
      .def(
          "runner_callback",
          [](const Service& self, const std::string& base_url) {
            return RunnerCallback{self.run_tokens().runner_callback(base_url)};
          },
          py::arg("base_url"),
          "The callback a tessera.Runner gives its models (Runner(callback=...)): each run's predictions URL on "
          "this service at base_url and a token for that run only. Needs models=True.")
      .def(
          "handle",
          [](const Service& service, const std::string& method, const std::string& path, const Pairs& query,
             const Pairs& headers, const py::bytes& body) {
            HttpRequest request;
            request.method = method;
            request.path = path;
            request.query = query;
            request.headers = headers;
            request.body = body;
            HttpResponse response;
            {
              py::gil_scoped_release release;
              response = service.handle(request);
            }
            return std::make_tuple(response.status, std::move(response.headers), py::bytes(response.body));
          },
          py::arg("method"), py::arg("path"), py::arg("query") = Pairs{}, py::arg("headers") = Pairs{},
          py::arg("body") = py::bytes(),
          "Answers one request: (status, [(header, value), ...], body bytes). `path` is percent-decoded; "
          "HTTP errors are answers (4xx/5xx with a JSON body), never exceptions.");
}

}  // namespace tessera::python
