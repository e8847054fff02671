// tessera serve: the service's handlers (tessera/service.hpp: the STAC API,
// the tile routes, the map viewer) behind cpp-httplib, with keep-alive, a
// pool of request threads and a graceful stop on SIGINT/SIGTERM.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

#include <httplib.h>

#include "commands.hpp"
#include "environment_options.hpp"
#include "tessera/environment.hpp"
#include "tessera/error.hpp"
#include "tessera/geoprocessing.hpp"
#include "tessera/matching.hpp"
#include "tessera/pyramid.hpp"
#include "tessera/service.hpp"

namespace tessera::cli {

namespace {

// Where scripts/build_stac_browser.sh puts STAC Browser (keep the version in
// step with it): $TESSERA_STAC_BROWSER_DIR, else
// ${TESSERA_TOOLS:-/opt/tessera-tools}/stac-browser-<version>/dist; "" when
// that folder has not been built.
std::string default_browser_dir() {
  if (const char* dir = std::getenv("TESSERA_STAC_BROWSER_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  const char* tools = std::getenv("TESSERA_TOOLS");
  const std::filesystem::path root = tools != nullptr && *tools != '\0' ? tools : "/opt/tessera-tools";
  const std::filesystem::path dist = root / "stac-browser-4.0.1" / "dist";
  std::error_code error;
  return std::filesystem::is_regular_file(dist / "index.html", error) ? dist.string() : std::string();
}

// The URL this server answers at on this machine: a wildcard host is reached
// at loopback, an IPv6 address goes in brackets.
std::string local_url(const std::string& host, int port) {
  std::string address = host;
  if (host == "0.0.0.0") {
    address = "127.0.0.1";
  } else if (host == "::") {
    address = "[::1]";
  } else if (host.find(':') != std::string::npos) {
    address = "[" + host + "]";
  }
  return "http://" + address + ":" + std::to_string(port);
}

// The map viewer (examples/tile_server/viewer, target tile_server_viewer):
// the folder this build bundles it into; "" when that folder has not been
// built. ($TESSERA_VIEWER_DIR is --viewer-dir's variable.)
std::string default_viewer_dir() {
#ifdef TESSERA_BUILD_VIEWER_DIR
  const std::filesystem::path dist = TESSERA_BUILD_VIEWER_DIR;
  std::error_code error;
  if (std::filesystem::is_regular_file(dist / "index.html", error)) {
    return dist.string();
  }
#endif
  return {};
}

struct ServeArgs {
  std::string catalog;
  std::string stac_api;  // JSON: how a stac+https:// catalog talks to its server
  std::string host = "127.0.0.1";
  int port = 8000;
  int threads = static_cast<int>(std::max(16U, 4 * std::thread::hardware_concurrency()));
  std::size_t max_body_bytes = ServiceOptions{}.max_body_bytes;
  std::vector<std::string> allowed_roots;
  std::vector<std::string> allowed_prefixes;
  std::vector<std::string> cors_origins;
  std::string browser_dir = default_browser_dir();
  bool browser_dir_given = false;
  bool no_browser = false;
  bool no_stac = false;
  bool no_tiles = false;
  std::string viewer_dir = default_viewer_dir();
  bool viewer_dir_given = false;
  bool no_viewer = false;
  std::string basemap;
  int cache_max_age = ServiceOptions{}.cache_max_age_seconds;
  std::string pyramid_dir;
  int pyramid_update_seconds = 0;
  AuthOptions auth;
  PackagesServiceOptions packages;
  int package_lock_timeout_seconds = 1800;
  // Geoprocessing (--services and what serves it).
  std::string services;
  GeoprocessingOptions geoprocessing;
  // The model routes and the runner that executes their runs in this process.
  bool models = false;
  bool runner = false;
  std::size_t runner_concurrency = 4;
  std::string runner_work_dir;
  std::string callback_url;
  std::string callback_key_file;
  // The event pusher of push subscriptions (webhooks, SNS) in this process.
  bool push = false;
  PushOptions push_options;
  std::string push_sns_endpoint;
};

// Brings every pyramid of a folder up to date with the catalog's item
// changes every `period`, on a thread of its own, until destroyed.
class PyramidUpdater {
 public:
  PyramidUpdater(Catalog& catalog, std::filesystem::path directory, std::chrono::seconds period)
      : catalog_(catalog), directory_(std::move(directory)), period_(period), thread_([this] { run(); }) {}
  ~PyramidUpdater() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  PyramidUpdater(const PyramidUpdater&) = delete;
  PyramidUpdater& operator=(const PyramidUpdater&) = delete;

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      update_all();
      lock.lock();
    }
  }

  // A pyramid that fails to update is reported and tried again next period.
  void update_all() {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
      if (entry.path().extension() != ".pyramid") {
        continue;
      }
      const std::string search_id = entry.path().stem().string();
      try {
        const PyramidUpdate report = Pyramid::open(catalog_, directory_, search_id).update();
        if (report.changes > 0) {
          std::cerr << "tessera serve: pyramid " << search_id << ": " << report.to_json().dump() << std::endl;
        }
      } catch (const std::exception& failure) {
        std::cerr << "tessera serve: pyramid " << search_id << " not updated: " << failure.what() << std::endl;
      }
    }
  }

  Catalog& catalog_;
  std::filesystem::path directory_;
  std::chrono::seconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is set
};

// Loopback names and addresses: anonymous writes are refused anywhere else.
bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

void serve(const ServeArgs& args) {
  ReaderConfig reader = reader_config();
  reader.allowed_roots = args.allowed_roots;
  reader.allowed_prefixes = args.allowed_prefixes;
  configure(reader);
  // The STAC API needs a catalog; the tiles of COGs and the viewer do not.
  const bool stac = !args.no_stac && !args.catalog.empty();
  if (!stac && args.no_tiles && args.packages.storage.empty() && args.services.empty() && !args.models &&
      !args.runner && !args.push) {
    throw Error(ErrorCode::kInvalidInput, args.catalog.empty() ? "serve: nothing to serve: --no-tiles without --catalog"
                                                               : "serve: nothing to serve: --no-tiles with --no-stac");
  }
  if (!args.no_tiles && args.allowed_roots.empty()) {
    // The tile routes read the hrefs callers give: without a root, any local
    // raster this process may read is served.
    std::cerr << "tessera serve: warning: tiles are served and no --allowed-root is given: /cog reads any local "
                 "raster this process can read (pass --allowed-root DIR, or --no-tiles)"
              << std::endl;
  }
  ServiceOptions options;
  options.max_body_bytes = args.max_body_bytes;
  options.cors_origins = args.cors_origins;
  options.stac = stac;
  options.tiles = !args.no_tiles;
  // A default folder is used when it fits what is served; one given is an
  // error when it does not (the Service says why).
  if (!args.no_browser && (stac || args.browser_dir_given)) {
    options.browser_dir = args.browser_dir;
  }
  if (!args.no_viewer && (options.tiles || args.viewer_dir_given)) {
    options.viewer_dir = args.viewer_dir;
  }
  options.basemap_path = args.basemap;
  options.cache_max_age_seconds = args.cache_max_age;
  options.pyramid_dir = args.pyramid_dir;
  options.packages = args.packages;
  options.packages.lock_timeout = std::chrono::seconds(args.package_lock_timeout_seconds);
  if (args.packages.storage.empty() &&
      (!args.packages.boundaries.empty() || !args.packages.processors.empty() || !args.packages.packages_url.empty())) {
    throw Error(ErrorCode::kInvalidInput,
                "serve: --boundaries, --processors and --packages-url need --packages STORAGE_URI");
  }
  if (args.auth.allow_anonymous_writes && !is_loopback_host(args.host)) {
    throw Error(ErrorCode::kInvalidInput,
                "serve: --allow-anonymous-writes is for development on a loopback --host only (got " + args.host + ")");
  }
  options.auth = args.auth;
  options.geoprocessing = args.geoprocessing;
  if (!args.services.empty()) {
    options.geoprocessing.registry =
        std::make_shared<const GeoprocessingRegistry>(GeoprocessingRegistry::from_file(args.services));
  } else if (!args.geoprocessing.tasks_path.empty()) {
    throw Error(ErrorCode::kInvalidInput, "serve: --geoprocessing-tasks needs --services");
  }
  options.models.enabled = args.models || args.runner || args.push;
  if (!args.callback_key_file.empty()) {
    options.models.callback_key = read_callback_key(args.callback_key_file);
  }
  CatalogOptions catalog_options;
  if (!args.stac_api.empty()) {
    const auto stac_api = nlohmann::json::parse(args.stac_api, nullptr, false);
    if (stac_api.is_discarded()) {
      throw Error(ErrorCode::kInvalidInput, "serve: --stac-api is not valid JSON");
    }
    catalog_options.stac_api = StacApiOptions::from_json(stac_api);
  }
  const auto catalog = args.catalog.empty() ? nullptr : Catalog::open(args.catalog, catalog_options);
  const Service service = catalog ? Service(*catalog, options) : Service(options);
  if (args.pyramid_update_seconds > 0 && (!catalog || args.pyramid_dir.empty())) {
    throw Error(ErrorCode::kInvalidInput, "serve: --pyramid-update-seconds needs --catalog and --pyramid-dir");
  }
  const auto updater = args.pyramid_update_seconds > 0
                           ? std::make_unique<PyramidUpdater>(*catalog, args.pyramid_dir,
                                                              std::chrono::seconds(args.pyramid_update_seconds))
                           : nullptr;

  // SIGINT/SIGTERM are blocked before any thread starts (threads inherit the
  // mask) and taken by a thread of their own, which may call stop() safely.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  httplib::Server server;
  const auto threads = static_cast<std::size_t>(args.threads);
  // Each keep-alive connection holds a pool thread while it is open: a short
  // idle timeout keeps the pool for requests, and a stop waits at most that.
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(1000);
  server.set_keep_alive_timeout(3);
  server.set_payload_max_length(args.max_body_bytes);
  server.set_tcp_nodelay(true);
  const auto handler = [&service](const httplib::Request& from, httplib::Response& to) {
    HttpRequest request;
    request.method = from.method;
    request.path = from.path;
    request.query.assign(from.params.begin(), from.params.end());
    request.headers.assign(from.headers.begin(), from.headers.end());
    request.body = from.body;
    HttpResponse response = service.handle(request);
    to.status = response.status;
    // httplib sets Content-Type with the body; the other headers as they are.
    const std::string* content_type = response.header("Content-Type");
    for (const auto& [name, value] : response.headers) {
      if (&value != content_type) {
        to.set_header(name, value);
      }
    }
    if (!response.body.empty() || content_type != nullptr) {
      to.set_content(std::move(response.body), content_type != nullptr ? *content_type : std::string());
    }
  };
  for (const auto route : {&httplib::Server::Get, &httplib::Server::Post, &httplib::Server::Put,
                           &httplib::Server::Patch, &httplib::Server::Delete, &httplib::Server::Options}) {
    (server.*route)(R"(/.*)", handler);
  }
  const int port = args.port == 0 ? server.bind_to_any_port(args.host) : args.port;
  if (port < 0 || (args.port != 0 && !server.bind_to_port(args.host, port))) {
    throw Error(ErrorCode::kUnavailable, "serve: cannot listen on " + args.host + ":" + std::to_string(args.port));
  }
  std::thread signal_thread([&server, &stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();
  });
  const std::string base_url = local_url(args.host, port);
  // A runner or pusher that dies takes the server down with it (exit status
  // 1), so a supervisor restarts the whole rather than runs and events
  // silently stalling behind a healthy /healthz.
  std::atomic<bool> worker_failed{false};
  const auto stop_serving = [&server, &worker_failed](const char* worker, const std::exception& error) {
    std::cerr << "tessera serve: " << worker << " stopped: " << error.what() << std::endl;
    worker_failed = true;
    server.stop();
  };
  // Runs report back to this server: its runner gives each model the run's
  // callback URL and token, and nothing of the catalog.
  std::atomic<bool> runner_stop{false};
  std::unique_ptr<Matcher> runner_matcher;
  std::thread runner_thread;
  if (args.runner) {
    runner_matcher = std::make_unique<Matcher>(*catalog);
    RunnerOptions runner_options;
    runner_options.concurrency = args.runner_concurrency;
    runner_options.work_dir = args.runner_work_dir;
    runner_options.callback =
        service.run_tokens().runner_callback(args.callback_url.empty() ? base_url : args.callback_url);
    runner_thread = std::thread([&runner_matcher, runner_options, &runner_stop, &stop_serving] {
      try {
        Runner(*runner_matcher, runner_options).serve(runner_stop);
      } catch (const std::exception& error) {
        stop_serving("runner", error);
      }
    });
  }
  // Push subscriptions' events leave from a thread of their own, never from a request.
  std::atomic<bool> push_stop{false};
  std::unique_ptr<Matcher> push_matcher;
  std::thread push_thread;
  if (args.push) {
    push_matcher = std::make_unique<Matcher>(*catalog);
    PushOptions push_options = args.push_options;
    if (!args.push_sns_endpoint.empty()) {
      push_options.sns["endpoint"] = args.push_sns_endpoint;
    }
    push_thread = std::thread([&push_matcher, push_options, &push_stop, &stop_serving] {
      try {
        EventPusher(*push_matcher, push_options).serve(push_stop);
      } catch (const std::exception& error) {
        stop_serving("event pusher", error);
      }
    });
  }
  std::cout << base_url << "/" << std::endl;
  if (!options.browser_dir.empty()) {
    std::cout << "STAC Browser: " << base_url << "/browser/" << std::endl;
  }
  if (!options.viewer_dir.empty()) {
    std::cout << "map viewer: " << base_url << "/viewer/" << std::endl;
  }
  server.listen_after_bind();
  runner_stop = true;
  if (runner_thread.joinable()) {
    runner_thread.join();
  }
  push_stop = true;
  if (push_thread.joinable()) {
    push_thread.join();
  }
  // When the server stopped on its own, the signal thread still waits.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  if (worker_failed) {
    throw Error(ErrorCode::kUnavailable, "serve: stopped because a background worker failed (see above)");
  }
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* command =
      app.add_subcommand("serve", "Serve the STAC API of a catalog, map tiles and a map viewer over HTTP");
  command->add_option("--catalog", args->catalog,
                      "Catalog URI (sqlite:///path.db, postgresql://..., stac+https://host/path for a remote STAC "
                      "API, read-only); needed by the STAC API and /searches tiles (without it: COG tiles and the "
                      "viewer only)");
  command->add_option("--stac-api", args->stac_api,
                      "With a stac+https:// catalog: its options as JSON (headers, timeouts, retries, "
                      "requests_per_second, search_cache_ttl_ms, search_store, ...; docs/catalog.md)");
  command->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  command->add_option("--port", args->port, "Port (0: any free port; the first line printed is the base URL)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  command->add_option("--threads", args->threads, "Request threads")->capture_default_str()->check(CLI::Range(1, 1024));
  command->add_option("--max-body-bytes", args->max_body_bytes, "Largest request body (larger: 413)")
      ->capture_default_str();
  command->add_option("--allowed-root", args->allowed_roots, "Local folder hrefs may lie in (repeatable)");
  command->add_option("--allowed-prefix", args->allowed_prefixes,
                      "http(s) URL prefix hrefs may start with (repeatable)");
  command->add_option("--cors", args->cors_origins,
                      "Origin whose browser pages may call the API, or * for any (repeatable)");
  command
      ->add_option("--browser-dir", args->browser_dir,
                   "Built STAC Browser served at /browser/ (scripts/build_stac_browser.sh; default: "
                   "$TESSERA_STAC_BROWSER_DIR, else its build folder when built)")
      ->capture_default_str()
      ->each([args](const std::string&) { args->browser_dir_given = true; });
  command->add_flag("--no-browser", args->no_browser, "Serve no STAC Browser at /browser/");
  command->add_flag("--no-stac", args->no_stac, "Serve no STAC API (the catalog still backs /searches tiles)");
  command->add_flag("--no-tiles", args->no_tiles,
                    "Serve no tile routes (/cog, /searches), no /colormaps, /basemap.geojson or viewer");
  command
      ->add_option("--viewer-dir", args->viewer_dir,
                   "Built map viewer served at /viewer/ (target tile_server_viewer; default: $TESSERA_VIEWER_DIR, "
                   "else this build's folder when built)")
      ->capture_default_str()
      ->each([args](const std::string&) { args->viewer_dir_given = true; });
  command->add_flag("--no-viewer", args->no_viewer, "Serve no map viewer at /viewer/");
  command->add_option("--basemap", args->basemap,
                      "GeoJSON file served at /basemap.geojson, the viewer's base layer (default: a 10-degree "
                      "graticule)");
  command->add_option("--cache-max-age", args->cache_max_age, "Cache-Control max-age of tile answers, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 31536000));
  command->add_option("--pyramid-dir", args->pyramid_dir,
                      "Folder of overview pyramids (tessera pyramid build): low-zoom tiles of their searches come "
                      "from them");
  command
      ->add_option("--pyramid-update-seconds", args->pyramid_update_seconds,
                   "Apply the catalog's item changes to every pyramid of --pyramid-dir this often (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  command->add_option("--jwks", args->auth.jwks,
                      "JSON Web Key Set (file or http(s) URL) that verifies bearer tokens; writes need scope "
                      "stac:write");
  command->add_option("--issuer", args->auth.issuers, "Accepted token issuer (repeatable; default: any)");
  command->add_option("--audience", args->auth.audience, "Audience tokens must name");
  command->add_flag("--require-auth", args->auth.require_auth, "Reads need a valid token too");
  command->add_flag("--allow-anonymous-writes", args->auth.allow_anonymous_writes,
                    "Accept writes without a token (development, loopback --host only)");
  // The packaging service (docs/packaging.md#as-a-service).
  command->add_option("--packages", args->packages.storage,
                      "Storage URI packages are built on (a folder, s3://bucket/prefix): serves /boundaries, "
                      "/processors, /packages and /jobs; jobs and boundary uploads need scope packages:write");
  command->add_option("--boundaries", args->packages.boundaries,
                      "With --packages: OGR source of boundaries loaded at start (GeoJSON, GeoPackage, 'PG:...')");
  command
      ->add_option("--boundary-name-field", args->packages.boundary_name_field,
                   "Field of --boundaries holding the name")
      ->capture_default_str();
  command->add_option("--boundary-long-name-field", args->packages.boundary_long_name_field,
                      "Field of --boundaries holding the long name (default: the name)");
  command->add_option("--processors", args->packages.processors,
                      "With --packages: JSON file of dataset definitions with processor metadata (the registry)");
  command->add_option("--packages-url", args->packages.packages_url,
                      "Public URL of the --packages storage's root (a web root, a bucket's https URL; default for "
                      "s3://: the bucket's https URL)");
  command->add_option("--package-workers", args->packages.workers, "Package jobs run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  command
      ->add_option("--package-lock-timeout", args->package_lock_timeout_seconds,
                   "Seconds a package job waits for another job's lock")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  command->add_option("--services", args->services,
                      "Geoprocessing services (JSON list of SeaSketch service definitions, docs/geoprocessing.md) "
                      "served under /geoprocessing/");
  command->add_option("--geoprocessing-tasks", args->geoprocessing.tasks_path,
                      "SQLite file of the geoprocessing tasks and logs, shared by every server process (required "
                      "with --services)");
  command->add_option("--geoprocessing-storage", args->geoprocessing.storage,
                      "Storage URI (folder or s3://) of cached results of requests with a cacheKey (default: no "
                      "cache)");
  command->add_option("--geometry-uri-prefix", args->geoprocessing.geometry_uri_prefixes,
                      "https:// prefix a request's geometryUri may start with (repeatable)");
  command->add_flag("--allow-loopback-geometry-uri", args->geoprocessing.allow_loopback_geometry_uri,
                    "Also accept http://127.0.0.1 and http://localhost geometryUri prefixes (tests)");
  command->add_option("--geoprocessing-workers", args->geoprocessing.async_workers, "Async geoprocessing runs at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command->add_flag("--models", args->models,
                    "Serve the model routes (/models: models, AOIs, runs, predictions, summaries; writes need scope "
                    "models:write) over the catalog's matching tables");
  command->add_flag("--runner", args->runner,
                    "Also execute pending runs in this process (implies --models); each model reports through its "
                    "run's callback URL and token");
  command->add_option("--runner-concurrency", args->runner_concurrency, "Runs at once (--runner)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  command->add_option("--runner-work-dir", args->runner_work_dir, "Where each run's private folder is made (--runner)");
  command->add_option("--callback-url", args->callback_url,
                      "Base URL models reach this server at to report (--runner; default: http://HOST:PORT, "
                      "127.0.0.1 for a wildcard --host), e.g. the https URL of a proxy in front of it");
  command->add_option("--callback-key-file", args->callback_key_file,
                      "File holding the key (at least 32 bytes) run tokens are signed with; share it with a "
                      "`tessera runner --serve-url` of another process (default: a random key)");
  command->add_flag("--push", args->push,
                    "Also deliver the events of push subscriptions (webhooks, SNS topics) from this process (implies "
                    "--models)");
  command
      ->add_option("--push-timeout", args->push_options.timeout_seconds, "Seconds each webhook POST may take (--push)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 300.0));
  command
      ->add_option("--push-poll", args->push_options.poll_seconds,
                   "Seconds between passes when no event was due (--push)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  command->add_flag("--push-allow-loopback", args->push_options.allow_loopback,
                    "Also deliver to http://127.0.0.1, http://localhost and loopback addresses (tests)");
  command->add_option(
      "--push-sns-endpoint", args->push_sns_endpoint,
      "SNS endpoint URL for SNS subscriptions (default: AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL or AWS's "
      "for the region; credentials from the AWS_* variables)");
  add_environment_variables(*command);
  command->callback([args] { serve(*args); });
}

}  // namespace tessera::cli
