#include "service/geoprocessing_routes.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <ctime>
#include <future>
#include <semaphore>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "catalog/stac_api/http_client.hpp"
#include "core/sha256.hpp"
#include "service/bounded_json.hpp"
#include "service/geoprocessing_tasks.hpp"
#include "service/http_support.hpp"
#include "tessera/error.hpp"
#include "tessera/geoprocessing.hpp"
#include "tessera/log.hpp"
#include "tessera/storage.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::string_view kApiVersion = "1.0.0";
constexpr std::size_t kMaxCacheKeyBytes = 256;
constexpr std::size_t kDefaultLogLimit = 100;
constexpr std::size_t kMaxLogLimit = 1000;
constexpr std::size_t kMaxFeatures = 10000;
// Runs of this process at once (running, abandoned after their timeout, or
// waiting for an async slot), per async worker; more are answered 503.
constexpr int kRunsPerAsyncWorker = 8;
// Longest a server-sent event stream stays open before it sends the pending
// task and ends (the client reconnects, EventSource's default).
constexpr auto kMaxEventWait = std::chrono::seconds(55);
constexpr auto kPollInterval = std::chrono::milliseconds(100);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

std::string iso_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

// The first millisecond of the current day or month (UTC).
std::int64_t period_start_ms(RateLimitPeriod period) {
  const std::time_t seconds = Clock::to_time_t(Clock::now());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  utc.tm_hour = utc.tm_min = utc.tm_sec = 0;
  if (period == RateLimitPeriod::kMonthly) {
    utc.tm_mday = 1;
  }
  return static_cast<std::int64_t>(timegm(&utc)) * 1000;
}

std::string new_task_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw Error(ErrorCode::kInternal, "geoprocessing: no random bytes for a task id");
  }
  std::string id;
  for (const unsigned char byte : bytes) {
    id += fmt::format("{:02x}", byte);
  }
  return id;
}

bool is_task_id(std::string_view id) {
  return id.size() == 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

[[noreturn]] void forbidden(const std::string& reason) { throw HttpError(403, "Forbidden", reason); }

// A Feature's properties reduced to `kept` (SeaSketch's usesAttributes).
json kept_properties(const json& feature, const std::vector<std::string>& kept) {
  json properties = json::object();
  if (const auto given = feature.find("properties"); given != feature.end() && given->is_object()) {
    for (const std::string& name : kept) {
      if (const auto value = given->find(name); value != given->end()) {
        properties[name] = *value;
      }
    }
    // SeaSketch's collection structure: a child's folder.
    if (const auto folder = given->find("folderId"); folder != given->end()) {
      properties["folderId"] = *folder;
    }
  }
  return properties;
}

// The sketch a service sees: a Feature, or a FeatureCollection of Features
// (SeaSketch's sketch collections), with only the usesAttributes properties.
// 400 naming what is wrong.
json service_sketch(const json& sketch, const std::vector<std::string>& kept, std::string_view where) {
  if (!sketch.is_object()) {
    bad_request(fmt::format("{}: expected a GeoJSON Feature or FeatureCollection", where));
  }
  const std::string type = sketch.value("type", "");
  const auto feature_of = [&](const json& feature, const std::string& path) {
    if (!feature.is_object() || feature.value("type", "") != "Feature") {
      bad_request(fmt::format("{}: expected a GeoJSON Feature", path));
    }
    const auto geometry = feature.find("geometry");
    if (geometry == feature.end() || !geometry->is_object()) {
      bad_request(fmt::format("{}.geometry: expected a GeoJSON geometry", path));
    }
    json result = {{"type", "Feature"}, {"geometry", *geometry}, {"properties", kept_properties(feature, kept)}};
    if (const auto id = feature.find("id"); id != feature.end()) {
      result["id"] = *id;
    }
    return result;
  };
  if (type == "Feature") {
    return feature_of(sketch, std::string(where));
  }
  if (type != "FeatureCollection") {
    bad_request(fmt::format("{}: expected a GeoJSON Feature or FeatureCollection, got {}", where,
                            type.empty() ? "no type" : type));
  }
  const auto features = sketch.find("features");
  if (features == sketch.end() || !features->is_array()) {
    bad_request(fmt::format("{}.features: expected an array", where));
  }
  if (features->size() > kMaxFeatures) {
    bad_request(
        fmt::format("{}.features: {} features, at most {} are accepted", where, features->size(), kMaxFeatures));
  }
  json result = {{"type", "FeatureCollection"}, {"properties", kept_properties(sketch, kept)}};
  if (const auto id = sketch.find("id"); id != sketch.end()) {
    result["id"] = *id;
  }
  json children = json::array();
  for (std::size_t i = 0; i < features->size(); ++i) {
    children.push_back(feature_of((*features)[i], fmt::format("{}.features[{}]", where, i)));
  }
  result["features"] = std::move(children);
  return result;
}

// The sketch's hash for cache keys: a Feature's geometry and kept
// properties (nlohmann writes object members sorted: one text per value); a
// collection's properties and its children's hashes, in order.
std::string sketch_hash(const json& sketch) {
  if (sketch.value("type", "") == "FeatureCollection") {
    std::string text = "collection\n" + sketch["properties"].dump();
    for (const json& child : sketch["features"]) {
      text += '\n' + sketch_hash(child);
    }
    return core::sha256_hex(text);
  }
  return core::sha256_hex("feature\n" + sketch["geometry"].dump() + '\n' + sketch["properties"].dump());
}

// A geometryUri prefix: https://host/... (http only to a loopback host when
// allowed), ending with '/', so a prefix never matches another host or a
// longer name.
void check_prefix(const std::string& prefix, bool allow_loopback) {
  const auto fail = [&](std::string_view why) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("geoprocessing: geometryUri prefix '{}': {}", prefix, why));
  };
  const std::size_t scheme_end = prefix.find("://");
  const std::size_t path_start = scheme_end == std::string::npos ? std::string::npos : prefix.find('/', scheme_end + 3);
  if (path_start == std::string::npos || path_start == scheme_end + 3 || prefix.back() != '/') {
    fail("expected scheme://host/ and a path ending with '/'");
  }
  const std::string_view authority = std::string_view(prefix).substr(scheme_end + 3, path_start - scheme_end - 3);
  if (authority.find('@') != std::string_view::npos) {
    fail("user information is not accepted");
  }
  // The host without its port ("[::1]:8080" -> "[::1]").
  const std::size_t port = authority.rfind(':');
  const std::string_view host = port != std::string_view::npos && authority.find(']', port) == std::string_view::npos
                                    ? authority.substr(0, port)
                                    : authority;
  if (host.empty()) {
    fail("no host");
  }
  const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
  const std::string_view scheme = std::string_view(prefix).substr(0, scheme_end);
  if (scheme != "https" && !(scheme == "http" && allow_loopback && loopback)) {
    fail("not https:// (http:// is accepted for 127.0.0.1, localhost and [::1] in tests only)");
  }
}

// What a run's threads share with the routes, kept alive by the threads that
// may outlive them (an abandoned callable).
struct Shared {
  std::shared_ptr<const GeoprocessingRegistry> registry;
  std::unique_ptr<TaskStore> tasks;
  std::unique_ptr<Storage> cache;  // null: no cache
  std::atomic<int> running{0};
  int max_running = 0;
  // Async runs started at once (GeoprocessingOptions::async_workers); the
  // others wait in line, pending.
  std::unique_ptr<std::counting_semaphore<256>> async_slots;
};

// One run of a service for one task: the first of the worker's result and
// the supervisor's timeout finishes the task.
struct Run {
  std::shared_ptr<Shared> shared;
  std::string task_id;
  std::string endpoint;
  json sketch;
  std::string cache_path;  // "" without a cacheKey
  double timeout_seconds = 60;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> finished{false};

  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  }

  void finish(const std::string& status, const json& data, const std::string& error, double cost) {
    if (finished.exchange(true)) {
      return;
    }
    try {
      shared->tasks->finish(task_id, status, data, error, elapsed_ms(), cost);
      if (status == "completed" && !cache_path.empty() && shared->cache) {
        shared->cache->put(cache_path, data.dump(-1, ' ', false, json::error_handler_t::replace));
      }
    } catch (const std::exception& failure) {
      log(LogLevel::kError, fmt::format("geoprocessing task {}: not recorded: {}", task_id, failure.what()));
    }
  }
};

double thread_cpu_seconds() {
  timespec spec{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec);
  return static_cast<double>(spec.tv_sec) + static_cast<double>(spec.tv_nsec) / 1e9;
}

// Runs `body` on a detached thread of its own; when the system cannot start
// one, the run fails (and no longer counts as running) instead.
template <typename Body>
bool detached(const std::shared_ptr<Run>& run, Body&& body) {
  try {
    std::thread(std::forward<Body>(body)).detach();
    return true;
  } catch (const std::system_error& failure) {
    --run->shared->running;
    run->finish("failed", nullptr, fmt::format("cannot start the run: {}", failure.what()), 0);
    return false;
  }
}

// Runs the service on a thread of its own and waits for it at most the
// service's timeout; the task is finished either way.
void supervise(const std::shared_ptr<Run>& run) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  const bool worker = detached(run, [run, done] {
    const std::string& id = run->task_id;
    const std::shared_ptr<Shared> shared = run->shared;
    const GeoprocessingContext context(
        [shared, id](std::string_view message) {
          try {
            shared->tasks->append_log(id, message);
          } catch (const std::exception& failure) {
            log(LogLevel::kWarning, fmt::format("geoprocessing task {}: log line lost: {}", id, failure.what()));
          }
        },
        run->cancelled);
    const double cpu_start = thread_cpu_seconds();
    try {
      const json data = shared->registry->run(run->endpoint, run->sketch, context);
      run->finish("completed", data, {}, thread_cpu_seconds() - cpu_start + context.extra_cpu_seconds());
    } catch (const std::exception& failure) {
      context.log(failure.what());
      run->finish("failed", nullptr, failure.what(), thread_cpu_seconds() - cpu_start + context.extra_cpu_seconds());
    } catch (...) {
      run->finish("failed", nullptr, "the service threw something that is not an exception", 0);
    }
    done->set_value();
    --shared->running;
  });
  if (!worker) {
    return;
  }
  if (finished.wait_for(std::chrono::duration<double>(run->timeout_seconds)) == std::future_status::timeout) {
    run->cancelled->store(true);
    const std::string message = fmt::format("timed out after {} s", run->timeout_seconds);
    try {
      run->shared->tasks->append_log(run->task_id, message);
    } catch (const std::exception&) {
      // The task's state below matters more than its log line.
    }
    run->finish("failed", nullptr, message, 0);
  }
}

}  // namespace

struct GeoprocessingRoutes::Impl {
  Impl(const GeoprocessingOptions& geoprocessing, const Authenticator& authenticator)
      : options(geoprocessing), auth(authenticator), shared(std::make_shared<Shared>()) {
    if (options.tasks_path.empty()) {
      throw Error(ErrorCode::kInvalidInput, "geoprocessing: tasks_path (the SQLite file of the tasks) is required");
    }
    if (options.async_workers < 1 || options.async_workers > 256) {
      throw Error(ErrorCode::kInvalidInput, "geoprocessing: async_workers must be 1 to 256");
    }
    for (const std::string& prefix : options.geometry_uri_prefixes) {
      check_prefix(prefix, options.allow_loopback_geometry_uri);
    }
    for (const auto& info : options.registry->services()) {
      if (info.restricted_access && !auth.writes_possible()) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("geoprocessing: service '{}' has restrictedAccess but no key set verifies tokens "
                                "(auth.jwks, tessera serve --jwks)",
                                info.endpoint));
      }
    }
    shared->registry = options.registry;
    shared->tasks = std::make_unique<TaskStore>(options.tasks_path);
    if (!options.storage.empty()) {
      shared->cache = Storage::open(options.storage, options.storage_options);
    }
    shared->max_running = options.async_workers * kRunsPerAsyncWorker;
    shared->async_slots = std::make_unique<std::counting_semaphore<256>>(options.async_workers);
    StacApiOptions http;
    http.max_response_bytes = options.max_geometry_bytes;
    http.timeout_ms = 30000;
    http.max_retries = 1;
    fetcher = std::make_unique<catalog::stac_api::HttpClient>(http);
  }

  std::string base(const HttpRequest& request) const { return base_url(request) + "/geoprocessing"; }

  json task_json(const HttpRequest& request, const TaskRecord& task) const {
    const std::string location = fmt::format("{}/tasks/{}", base(request), task.id);
    json body = {{"id", task.id},
                 {"service", task.service},
                 {"location", location},
                 {"startedAt", iso_time(task.started_at_ms)},
                 {"duration", task.duration_ms ? json(*task.duration_ms) : json()},
                 {"logUriTemplate", location + "/logs{?limit,nextToken}"},
                 {"geometryUri", task.geometry_uri},
                 {"status", task.status},
                 {"data", task.data}};
    if (!task.error.empty()) {
      body["error"] = task.error;
    }
    return body;
  }

  HttpResponse project(const HttpRequest& request) const {
    json geoprocessing = json::array();
    json preprocessing = json::array();
    json all = json::array();
    for (const auto& info : options.registry->services()) {
      json service = info.to_json();
      service["uri"] = fmt::format("{}/{}", base(request), info.endpoint);
      const auto medians = shared->tasks->medians(info.endpoint);
      service["medianDuration"] = medians ? medians->first : 0.0;
      service["medianCost"] = medians ? medians->second : 0.0;
      service["rateLimitConsumed"] = shared->tasks->consumed(info.endpoint, period_start_ms(info.rate_limit_period));
      (info.type == "preprocessing" ? preprocessing : geoprocessing).push_back(service);
      all.push_back(std::move(service));
    }
    HttpResponse response = json_response(200, {{"apiVersion", kApiVersion},
                                                {"serviceUri", base(request) + "/"},
                                                {"title", options.title},
                                                {"services", std::move(all)},
                                                {"geoprocessingServices", std::move(geoprocessing)},
                                                {"preprocessingServices", std::move(preprocessing)}});
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  }

  // 403 with the reason unless `token` is a valid JWT for the service.
  void check_access(const GeoprocessingServiceInfo& info, const std::string& token) const {
    if (token.empty()) {
      forbidden(fmt::format("service '{}' is restricted: the request has no token", info.endpoint));
    }
    Principal principal;
    try {
      principal = auth.verify(token);
    } catch (const HttpError& failure) {
      forbidden(failure.what());
    }
    if (std::find(info.iss_allow_list.begin(), info.iss_allow_list.end(), principal.issuer) ==
        info.iss_allow_list.end()) {
      forbidden(fmt::format("the token's issuer '{}' is not in the service's issAllowList", principal.issuer));
    }
    if (const auto allowed = principal.claims.find("allowedEndpoints"); allowed != principal.claims.end()) {
      const bool listed = allowed->is_array() && std::any_of(allowed->begin(), allowed->end(), [&](const json& value) {
                            return value.is_string() && value.get_ref<const std::string&>() == info.endpoint;
                          });
      if (!listed) {
        forbidden(fmt::format("the token's allowedEndpoints do not include '{}'", info.endpoint));
      }
    }
  }

  json fetch_geometry(const std::string& uri) const {
    const bool allowed = std::any_of(options.geometry_uri_prefixes.begin(), options.geometry_uri_prefixes.end(),
                                     [&](const std::string& prefix) { return uri.rfind(prefix, 0) == 0; });
    const bool traversal =
        uri.find("/../") != std::string::npos || uri.find("/./") != std::string::npos ||
        uri.find('\\') != std::string::npos || uri.find('#') != std::string::npos ||
        std::any_of(uri.begin(), uri.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
    if (!allowed || traversal) {
      bad_request(fmt::format("geometryUri: not under an allowed prefix ({})",
                              options.geometry_uri_prefixes.empty()
                                  ? std::string("none are configured")
                                  : fmt::format("{}", fmt::join(options.geometry_uri_prefixes, ", "))));
    }
    catalog::stac_api::HttpResponse answer;
    try {
      answer = fetcher->request(uri);
    } catch (const Error& failure) {
      bad_request(fmt::format("geometryUri: {}", failure.what()));
    }
    if (answer.status != 200) {
      bad_request(fmt::format("geometryUri: answered HTTP {}", answer.status));
    }
    try {
      return decode_geobuf(answer.body);
    } catch (const Error& failure) {
      bad_request(fmt::format("geometryUri: {}", failure.what()));
    }
  }

  HttpResponse too_many(const GeoprocessingServiceInfo& info, std::int64_t consumed) const {
    return json_response(
        429, {{"code", "TooManyRequests"},
              {"description", fmt::format("service '{}' has run {} times this {} period (limit {})", info.endpoint,
                                          consumed, rate_limit_period_name(info.rate_limit_period), info.rate_limit)},
              {"rateLimit", info.rate_limit},
              {"rateLimitPeriod", rate_limit_period_name(info.rate_limit_period)},
              {"rateLimitConsumed", consumed}});
  }

  HttpResponse run_service(const HttpRequest& request, std::string_view endpoint) const {
    if (!options.registry->contains(endpoint)) {
      throw HttpError(404, "NotFound", fmt::format("no geoprocessing service '{}'", endpoint));
    }
    const GeoprocessingServiceInfo& info = options.registry->info(endpoint);
    const json body = parse_bounded_json(request.body);
    if (!body.is_object()) {
      bad_request(
          fmt::format("the request body is not a JSON object {{geometry | geometryUri, token?, cacheKey?}} "
                      "nested at most {} deep",
                      kMaxJsonDepth));
    }
    const auto string_field = [&](const char* name) -> std::string {
      const auto it = body.find(name);
      if (it == body.end() || it->is_null()) {
        return {};
      }
      if (!it->is_string()) {
        bad_request(fmt::format("{}: expected a string", name));
      }
      return it->get<std::string>();
    };
    std::string token = string_field("token");
    if (const std::string* header = request.header("authorization");
        token.empty() && header != nullptr && header->size() > 7 &&
        equals_ignoring_case(header->substr(0, 7), "bearer ")) {
      token = header->substr(7);
    }
    if (info.restricted_access) {
      check_access(info, token);
    }
    const std::string cache_key = string_field("cacheKey");
    if (cache_key.size() > kMaxCacheKeyBytes) {
      bad_request(fmt::format("cacheKey: {} bytes, at most {} are accepted", cache_key.size(), kMaxCacheKeyBytes));
    }
    const std::string geometry_uri = string_field("geometryUri");
    const bool has_geometry = body.contains("geometry") && !body["geometry"].is_null();
    if (has_geometry == !geometry_uri.empty()) {
      bad_request("give either geometry (a GeoJSON Feature or FeatureCollection) or geometryUri");
    }
    const json sketch = service_sketch(has_geometry ? body["geometry"] : fetch_geometry(geometry_uri),
                                       info.uses_attributes, has_geometry ? "geometry" : "geometryUri");

    TaskRecord task;
    task.id = new_task_id();
    task.service = info.endpoint;
    task.status = "pending";
    task.started_at_ms = now_ms();
    task.geometry_uri = geometry_uri;
    std::string cache_path;
    if (!cache_key.empty() && shared->cache) {
      cache_path = fmt::format("geoprocessing-cache/{}/{}.json", info.endpoint,
                               core::sha256_hex(cache_key + '\n' + sketch_hash(sketch)));
      // A cached answer is a finished task of its own, not a run: it does not
      // count against the rate limit. One that cannot be read is a miss.
      json cached = shared->cache->exists(cache_path) ? json::parse(shared->cache->get(cache_path), nullptr, false)
                                                      : json(json::value_t::discarded);
      if (!cached.is_discarded()) {
        task.status = "completed";
        task.cached = true;
        task.data = std::move(cached);
        shared->tasks->start(task, 0, 0);
        shared->tasks->finish(task.id, task.status, task.data, {}, 0, 0);
        shared->tasks->append_log(task.id, "answered from the cache");
        task.duration_ms = 0;
        HttpResponse response = json_response(200, task_json(request, task));
        response.headers.emplace_back("X-Tessera-Cache", "hit");
        return response;
      }
    }
    if (shared->running.fetch_add(1) >= shared->max_running) {
      --shared->running;
      throw HttpError(503, "ServiceUnavailable", "too many geoprocessing runs at once; retry later",
                      {{"Retry-After", "5"}});
    }
    std::int64_t consumed = 0;
    try {
      consumed = shared->tasks->start(task, info.rate_limit, period_start_ms(info.rate_limit_period));
    } catch (...) {
      --shared->running;
      throw;
    }
    if (info.rate_limit > 0 && consumed >= info.rate_limit) {
      --shared->running;
      return too_many(info, consumed);
    }
    auto run = std::make_shared<Run>();
    run->shared = shared;
    run->task_id = task.id;
    run->endpoint = info.endpoint;
    run->sketch = sketch;
    run->cache_path = cache_path;
    run->timeout_seconds = info.timeout_seconds;
    if (info.execution_mode == ExecutionMode::kSync) {
      supervise(run);
    } else {
      detached(run, [run] {
        std::counting_semaphore<256>& slots = *run->shared->async_slots;
        slots.acquire();
        supervise(run);
        slots.release();
      });
    }
    const auto stored = shared->tasks->find(task.id);
    return json_response(200, task_json(request, stored ? *stored : task));
  }

  TaskRecord find_task(std::string_view id) const {
    if (!is_task_id(id)) {
      throw HttpError(404, "NotFound", "no such geoprocessing task");
    }
    auto task = shared->tasks->find(std::string(id));
    if (!task) {
      throw HttpError(404, "NotFound", fmt::format("no geoprocessing task '{}'", id));
    }
    return std::move(*task);
  }

  HttpResponse task(const HttpRequest& request, std::string_view id) const {
    HttpResponse response = json_response(200, task_json(request, find_task(id)));
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  }

  // The task as one server-sent event once it has finished (at once when it
  // already has: the state is read before any wait), or as it stands after
  // kMaxEventWait; the stream ends either way.
  HttpResponse events(const HttpRequest& request, std::string_view id) const {
    TaskRecord current = find_task(id);
    const auto give_up = std::chrono::steady_clock::now() + kMaxEventWait;
    while (current.status == "pending" && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(kPollInterval);
      current = find_task(id);
    }
    HttpResponse response;
    response.status = 200;
    response.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-store"}};
    response.body = fmt::format("retry: 1000\nevent: {}\ndata: {}\n\n", current.status == "pending" ? "task" : "done",
                                task_json(request, current).dump());
    return response;
  }

  HttpResponse logs(const HttpRequest& request, std::string_view id) const {
    const TaskRecord task = find_task(id);
    std::size_t limit = kDefaultLogLimit;
    if (const std::string* text = request.query_value("limit")) {
      std::size_t parsed = 0;
      const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), parsed);
      if (error != std::errc() || end != text->data() + text->size() || parsed < 1 || parsed > kMaxLogLimit) {
        bad_request(fmt::format("limit: expected an integer from 1 to {}", kMaxLogLimit));
      }
      limit = parsed;
    }
    std::int64_t after = 0;
    if (const std::string* token = request.query_value("nextToken")) {
      const auto [end, error] = std::from_chars(token->data(), token->data() + token->size(), after);
      if (error != std::errc() || end != token->data() + token->size() || after < 0) {
        bad_request("nextToken: not a token this service handed out");
      }
    }
    // One more than asked says whether a next page exists.
    auto entries = shared->tasks->logs(task.id, limit + 1, after);
    const bool more = entries.size() > limit;
    entries.resize(std::min(entries.size(), limit));
    json events = json::array();
    for (const auto& entry : entries) {
      events.push_back({{"timestamp", iso_time(entry.time_ms)}, {"message", entry.message}});
    }
    json body = {{"task", task.id}, {"events", std::move(events)}};
    body["nextToken"] = more ? json(std::to_string(entries.back().sequence)) : json();
    return json_response(200, body);
  }

  GeoprocessingOptions options;
  const Authenticator& auth;
  std::shared_ptr<Shared> shared;
  std::unique_ptr<catalog::stac_api::HttpClient> fetcher;
};

GeoprocessingRoutes::GeoprocessingRoutes(const GeoprocessingOptions& options, const Authenticator& auth)
    : impl_(std::make_unique<Impl>(options, auth)) {}

GeoprocessingRoutes::~GeoprocessingRoutes() = default;

std::optional<HttpResponse> GeoprocessingRoutes::handle(const HttpRequest& request,
                                                        const std::vector<std::string_view>& segments) const {
  if (segments.empty() || segments[0] != "geoprocessing") {
    return std::nullopt;
  }
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (segments.size() == 1 && get) {
    return impl_->project(request);
  }
  if (segments.size() == 2 && request.method == "POST") {
    return impl_->run_service(request, segments[1]);
  }
  if (segments.size() >= 3 && segments.size() <= 4 && segments[1] == "tasks" && get) {
    if (segments.size() == 3) {
      return impl_->task(request, segments[2]);
    }
    if (segments[3] == "events") {
      return impl_->events(request, segments[2]);
    }
    if (segments[3] == "logs") {
      return impl_->logs(request, segments[2]);
    }
  }
  if (get) {
    throw HttpError(404, "NotFound", fmt::format("no geoprocessing route {}", request.path));
  }
  throw HttpError(405, "MethodNotAllowed", fmt::format("no geoprocessing route {} {}", request.method, request.path));
}

}  // namespace tessera::service

namespace tessera {

std::size_t prune_geoprocessing_tasks(const std::string& tasks_path, int retention_days) {
  if (retention_days < 1) {
    throw Error(ErrorCode::kInvalidInput, "prune_geoprocessing_tasks: retention_days must be at least 1");
  }
  service::TaskStore store(tasks_path);
  const auto cutoff =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() - std::chrono::hours(24) * retention_days).time_since_epoch())
          .count();
  return store.prune(cutoff);
}

}  // namespace tessera
