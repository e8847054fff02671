#pragma once

// The HTTP contracts of tessera's systems as handlers that know nothing of
// sockets: a request (method, path, query, headers, body) in, a response
// (status, headers, body) out. `tessera serve` wraps them in an HTTP server;
// the same Service serves a Python ASGI host or a serverless function.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/export.hpp"
#include "tessera/geoprocessing.hpp"
#include "tessera/storage.hpp"

namespace tessera {

struct TESSERA_API HttpRequest {
  std::string method = "GET";  // upper case
  std::string path = "/";      // percent-decoded, without the query string
  // Query parameters, percent-decoded, in request order (a name may repeat).
  std::vector<std::pair<std::string, std::string>> query;
  // Header names in any case; looked up case-insensitively.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of query parameter / header `name`, or nullptr.
  [[nodiscard]] const std::string* query_value(std::string_view name) const noexcept;
  [[nodiscard]] const std::string* header(std::string_view name) const noexcept;
};

struct TESSERA_API HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  [[nodiscard]] const std::string* header(std::string_view name) const noexcept;
};

// Who may call the service: bearer JSON Web Tokens (RS256/384/512,
// ES256/384/512) verified against a JSON Web Key Set. Writes need a token
// whose `scope` claim (space-separated) holds the route's scope (the STAC API
// transactions: "stac:write"); reads are public unless `require_auth`.
struct TESSERA_API AuthOptions {
  // Where the keys are: an http(s) URL, a file path, or the JWKS document
  // itself (text starting with '{'). Read when the Service is built (an
  // unreadable or keyless set is InvalidInput) and again, at most every 10
  // seconds, when a token names a key id the set does not hold.
  std::string jwks;
  // Accepted `iss` values; a verified token from another issuer gets 403.
  // Empty: any issuer the keys verify.
  std::vector<std::string> issuers;
  // When set, the `aud` claim (a string or an array) must contain it.
  std::string audience;
  // Clock skew allowed on `exp` and `nbf`.
  int leeway_seconds = 30;
  // Reads need a valid token too.
  bool require_auth = false;
  // Without `jwks`, writes are refused (401) unless this is set: for
  // development only (tessera serve allows it on a loopback host only).
  bool allow_anonymous_writes = false;
};

// The packaging service (docs/packaging.md#as-a-service): boundaries,
// processors, packages and package jobs over HTTP.
struct TESSERA_API PackagesServiceOptions {
  // Storage URI packages are written to (file:// or a path, s3://). Empty:
  // no packaging routes.
  std::string storage;
  StorageOptions storage_options;  // for the storage and s3:// dataset sources
  // OGR source of boundaries loaded when the service starts (added to those
  // already on the storage); empty: only those.
  std::string boundaries;
  std::string boundary_name_field = "name";
  std::string boundary_long_name_field;  // empty: the name
  // JSON file: an array of dataset definitions with processor metadata
  // (Packager::add_processors). Empty: no processors.
  std::string processors;
  // Public URL of the storage's root, where clients download package files
  // (a web root serving a local storage, a bucket's https URL). Empty: for
  // s3:// storages the bucket's https URL (from the endpoint or AWS region),
  // for local storages none (resources are listed without URLs).
  std::string packages_url;
  // Jobs run at once, datasets of a job at once, jobs waiting at most.
  std::size_t workers = 2;
  std::size_t parallelism = 2;
  std::size_t max_queued = 1000;
  // How long a job waits for another job's lock on a dataset or package.
  std::chrono::milliseconds lock_timeout{std::chrono::minutes(30)};
  // When set, jobs are handed to it instead of the worker threads (a Dask
  // cluster: PackageJobOptions::executor).
  std::function<void(const nlohmann::json& job)> executor;

  // From {"storage" (required), "storage_options", "boundaries",
  // "boundary_name_field", "boundary_long_name_field", "processors",
  // "packages_url", "workers", "parallelism", "max_queued",
  // "lock_timeout_ms"}: what the C ABI and Python take. InvalidInput naming
  // `where` and the member.
  static PackagesServiceOptions from_json(const nlohmann::json& options, std::string_view where = "packages");
};

// The model routes (/models/...: models, AOIs, runs and their logs,
// predictions, summaries) over the catalog's matching tables, and the
// callback models report through. See docs/matching.md.
struct TESSERA_API ModelServiceOptions {
  bool enabled = false;  // needs a SQLite or PgSTAC catalog
  // The HMAC-SHA256 key run tokens are signed with (at least 32 bytes). A
  // runner in another process (tessera runner --serve-url) must hold the
  // same key. Empty: a random key made when the Service is built, so only an
  // in-process runner (run_tokens().runner_callback) can give models tokens.
  std::string callback_key;
};

struct TESSERA_API ServiceOptions {
  std::string title = "tessera";
  std::string description = "A STAC API served by tessera";
  // Requests with a larger body are answered 413.
  std::size_t max_body_bytes = std::size_t{16} << 20;
  // Largest page a search or items request may ask for (larger limits are
  // lowered to it, as STAC APIs do).
  std::size_t max_limit = 10000;
  std::size_t default_limit = 10;
  // Origins whose browser pages may call the API (CORS): exact origins
  // ("https://browser.example.com") or "*" for any. Empty: no CORS headers.
  std::vector<std::string> cors_origins;
  // A built STAC Browser (scripts/build_stac_browser.sh) served at /browser/,
  // opening this catalog. Empty: no /browser/ routes. Needs the STAC API.
  std::string browser_dir;
  AuthOptions auth;
  // Serve the STAC API (landing page, collections, items, search,
  // transactions). It needs a catalog: a Service built without one has none.
  bool stac = true;
  // Serve the tile routes (TiTiler's /cog/... of one raster, titiler-pgstac's
  // /searches/... mosaics of registered searches, which need a catalog), and
  // /colormaps and /basemap.geojson for the viewer.
  bool tiles = true;
  // The built map viewer (examples/tile_server/viewer, target
  // tile_server_viewer) served at /viewer/. Empty: none. Needs the tiles.
  std::string viewer_dir;
  // A GeoJSON file served at /basemap.geojson, the viewer's base layer
  // (read when the Service is built). Empty: a 10-degree graticule.
  std::string basemap_path;
  // Cache-Control max-age of the tile routes' answers (tiles, TileJSON,
  // info, point values, statistics; each with a strong ETag). 0: no-cache.
  int cache_max_age_seconds = 3600;
  // A folder of overview pyramids (tessera pyramid build): the tiles of a
  // registered search at a pyramid's zooms are read from it when the
  // request reads what the pyramid stores (response header
  // X-Tessera-Source: pyramid, else mosaic). Empty: none.
  std::string pyramid_dir;
  // The packaging routes; writes (jobs, boundary uploads) need scope
  // "packages:write".
  PackagesServiceOptions packages;
  // Geoprocessing services under /geoprocessing/ (SeaSketch's contract,
  // docs/geoprocessing.md); no registry: none. Their access control is their
  // own (restrictedAccess, a token per request), not require_auth's.
  GeoprocessingOptions geoprocessing;
  ModelServiceOptions models;
};

// Short-lived tokens for one run's callback: HS256 JSON Web Tokens (cpp-jwt)
// signed with the service's key, audience = the run's id, issuer
// "tessera-run". They open POST /models/{model}/runs/{run}/predictions of
// that run and nothing else (the service's other routes verify tokens
// against its key set, which never holds this key).
class TESSERA_API RunTokens {
 public:
  // InvalidInput for a key shorter than 32 bytes.
  explicit RunTokens(std::string key);
  // A key of 32 random bytes (OpenSSL's RAND_bytes).
  static std::string random_key();
  [[nodiscard]] std::string issue(std::string_view run, std::chrono::seconds lifetime) const;
  // Whether `token` is a valid (signed, unexpired) token for `run`.
  [[nodiscard]] bool verifies(std::string_view token, std::string_view run) const;
  // A Runner's callback (RunnerOptions::callback) reporting to the service
  // at `base_url` (no trailing '/'): the run's predictions URL and a token
  // living the run's "timeout" (seconds) plus `grace`.
  [[nodiscard]] std::function<std::pair<std::string, std::string>(const nlohmann::json& run)> runner_callback(
      std::string base_url, std::chrono::seconds grace = std::chrono::minutes(10)) const;

 private:
  std::string key_;
};

// The STAC API over a catalog (landing page, conformance, collections,
// items, item search, transactions), the tile routes and the map viewer, as
// the options ask (docs/service.md lists the routes). Thread-safe: one
// Service answers requests from many threads at once. The catalog must
// outlive it.
class TESSERA_API Service {
 public:
  // InvalidInput when the options contradict each other (require_auth
  // without keys, a browser without the STAC API, a viewer without the
  // tiles) or the key set cannot be read; NotFound for a missing browser or
  // viewer folder or base layer file.
  explicit Service(Catalog& catalog, ServiceOptions options = {});
  // Without a catalog: the COG tile routes and the viewer only (no STAC API,
  // whatever options.stac says; /searches answers 404 "this service has no
  // catalog").
  explicit Service(ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Never throws: errors are JSON responses {"code", "description"} with
  // 400 (bad parameters, naming what and where; the tile routes add
  // "parameter"), 401/403 (no token, a bad one, or one without the scope),
  // 404, 405, 409, 413, 503 (a retryable failure) or 500 (never a stack trace
  // or a server path). Cached answers may be 304; folders redirect (301).
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const noexcept;

  // The run tokens of the model routes (InvalidInput when they are off): an
  // in-process runner's callback is run_tokens().runner_callback(url, ...).
  [[nodiscard]] const RunTokens& run_tokens() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera
