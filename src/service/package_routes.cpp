#include "service/package_routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "service/http_support.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;

// What a POST /jobs body may hold, at most.
constexpr std::size_t kMaxProcessorsPerJob = 100;
constexpr std::size_t kMaxNameLength = 256;
constexpr std::size_t kMaxJobsListed = 1000;

[[noreturn]] void method_not_allowed(const HttpRequest& request, std::string_view allowed) {
  throw HttpError(405, "MethodNotAllowed", fmt::format("{} is not allowed here (allowed: {})", request.method, allowed),
                  {{"Allow", std::string(allowed)}});
}

bool is_read(const HttpRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

void require_read(const HttpRequest& request) {
  if (!is_read(request)) {
    method_not_allowed(request, "GET, HEAD");
  }
}

std::string lower(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

json read_json_file(const std::string& path, std::string_view what) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    throw Error(ErrorCode::kNotFound, fmt::format("{}: cannot read '{}'", what, path));
  }
  json value = json::parse(std::istreambuf_iterator<char>(input), {}, nullptr, false);
  if (value.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: '{}' is not valid JSON", what, path));
  }
  return value;
}

// "lon,lat" in WGS84, as ?point= takes it.
std::pair<double, double> parse_point(std::string_view text) {
  const auto comma = text.find(',');
  double values[2] = {0, 0};
  const std::string_view parts[2] = {text.substr(0, comma),
                                     comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1)};
  for (int i = 0; i < 2; ++i) {
    const auto [end, error] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), values[i]);
    if (comma == std::string_view::npos || parts[i].empty() || error != std::errc() ||
        end != parts[i].data() + parts[i].size() || !std::isfinite(values[i])) {
      bad_request(fmt::format("point: '{}' is not 'longitude,latitude'", text.substr(0, kMaxNameLength)));
    }
  }
  if (std::abs(values[0]) > 180 || std::abs(values[1]) > 90) {
    bad_request("point: outside longitude -180..180 / latitude -90..90");
  }
  return {values[0], values[1]};
}

std::size_t parse_limit(const std::string& text) {
  std::size_t limit = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (error != std::errc() || end != text.data() + text.size() || limit == 0 || limit > kMaxJobsListed) {
    bad_request(
        fmt::format("limit: '{}' is not a whole number from 1 to {}", text.substr(0, kMaxNameLength), kMaxJobsListed));
  }
  return limit;
}

json parse_body(const HttpRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    bad_request("the request body is not valid JSON");
  }
  return body;
}

// A short string member of a request body.
std::string name_of(const json& value, std::string_view where) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
      value.get_ref<const std::string&>().size() > kMaxNameLength) {
    bad_request(fmt::format("{}: expected a non-empty string of at most {} characters", where, kMaxNameLength));
  }
  return value.get<std::string>();
}

}  // namespace

std::string default_packages_url(std::string_view root_uri, const StorageOptions& options) {
  if (!root_uri.starts_with("s3://")) {
    return {};
  }
  const std::string_view path = root_uri.substr(5);
  const auto slash = path.find('/');
  const std::string bucket(path.substr(0, slash));
  const std::string prefix = slash == std::string_view::npos ? std::string() : std::string(path.substr(slash));
  if (const auto endpoint = options.find("endpoint"); endpoint != options.end() && !endpoint->second.empty()) {
    std::string base = endpoint->second;
    if (base.find("://") == std::string::npos) {
      base = "https://" + base;
    }
    while (base.ends_with('/')) {
      base.pop_back();
    }
    return base + "/" + bucket + prefix;
  }
  const auto region = options.find("region");
  const std::string host = region == options.end() || region->second.empty() || region->second == "us-east-1"
                               ? "s3.amazonaws.com"
                               : fmt::format("s3.{}.amazonaws.com", region->second);
  return fmt::format("https://{}.{}{}", bucket, host, prefix);
}

PackageRoutes::PackageRoutes(const PackagesServiceOptions& options, const Authenticator& auth) : auth_(auth) {
  storage_ = Storage::open(options.storage, options.storage_options);
  packager_ = std::make_unique<Packager>(*storage_);
  if (!options.boundaries.empty()) {
    BoundaryLoadOptions load;
    load.name_field = options.boundary_name_field;
    load.long_name_field = options.boundary_long_name_field;
    packager_->add_boundaries(options.boundaries, load);
  }
  if (!options.processors.empty()) {
    packager_->add_processors(read_json_file(options.processors, "PackagesServiceOptions::processors"));
  }
  packages_url_ = options.packages_url.empty() ? default_packages_url(storage_->root_uri(), options.storage_options)
                                               : options.packages_url;
  if (!packages_url_.empty() && !packages_url_.starts_with("https://") && !packages_url_.starts_with("http://")) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("PackagesServiceOptions::packages_url: '{}' is not an http(s) URL", packages_url_));
  }
  while (packages_url_.ends_with('/')) {
    packages_url_.pop_back();
  }
  PackageJobOptions job_options;
  job_options.workers = options.workers;
  job_options.parallelism = options.parallelism;
  job_options.max_queued = options.max_queued;
  job_options.lock_timeout = options.lock_timeout;
  job_options.storage_options = options.storage_options;
  job_options.executor = options.executor;
  jobs_ = std::make_unique<PackageJobs>(*packager_, std::move(job_options));
}

PackageRoutes::~PackageRoutes() = default;

std::optional<HttpResponse> PackageRoutes::handle(const HttpRequest& request,
                                                  const std::vector<std::string_view>& segments) const {
  if (segments.empty()) {
    return std::nullopt;
  }
  const std::string_view group = segments[0];
  if (group == "boundaries" && segments.size() == 1) {
    if (request.method == "POST") {
      return upload_boundaries(request);
    }
    if (!is_read(request)) {
      method_not_allowed(request, "GET, HEAD, POST");
    }
    return boundaries(request);
  }
  if (group == "boundaries" && segments.size() == 2) {
    require_read(request);
    return json_response(200, packager_->boundary(segments[1]).to_json(), "application/geo+json");
  }
  if (group == "processors" && segments.size() == 1) {
    require_read(request);
    return json_response(200, packager_->processors());
  }
  if (group == "processors" && segments.size() == 3) {
    require_read(request);
    return json_response(200, packager_->processor(segments[1], segments[2]).metadata_json());
  }
  if (group == "packages" && segments.size() == 1) {
    require_read(request);
    return packages();
  }
  if (group == "packages" && segments.size() == 2) {
    require_read(request);
    return package(segments[1]);
  }
  if (group == "jobs" && segments.size() == 1) {
    if (request.method == "POST") {
      return submit(request);
    }
    if (!is_read(request)) {
      method_not_allowed(request, "GET, HEAD, POST");
    }
    return jobs(request);
  }
  if (group == "jobs" && segments.size() == 2) {
    if (request.method == "DELETE") {
      auth_.authorize(request, kPackagesWriteScope);
      json record = jobs_->cancel(segments[1]);
      const bool stopping = record.value("cancel_requested", false);
      return json_response(stopping ? 202 : 200, record);
    }
    if (!is_read(request)) {
      method_not_allowed(request, "GET, HEAD, DELETE");
    }
    HttpResponse response = json_response(200, jobs_->status(segments[1]));
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  }
  return std::nullopt;
}

HttpResponse PackageRoutes::boundaries(const HttpRequest& request) const {
  const std::string* name = request.query_value("name");
  const std::string* point_text = request.query_value("point");
  const std::string wanted = name != nullptr ? lower(*name) : std::string();
  std::optional<std::pair<double, double>> point;
  if (point_text != nullptr) {
    point = parse_point(*point_text);
  }
  json found = json::array();
  for (const auto& boundary : packager_->boundaries()) {
    if (name != nullptr && lower(boundary.value("name", "")).find(wanted) == std::string::npos &&
        lower(boundary.value("long_name", "")).find(wanted) == std::string::npos &&
        boundary.value("id", "").find(wanted) == std::string::npos) {
      continue;
    }
    if (point) {
      const Bbox box = Bbox::from_json(boundary["bbox"]);
      if (point->first < box.minx || point->first > box.maxx || point->second < box.miny || point->second > box.maxy) {
        continue;
      }
      const OGRPoint location(point->first, point->second);
      if (!packager_->boundary(boundary["id"].get<std::string>()).geometry.ogr()->Intersects(&location)) {
        continue;
      }
    }
    found.push_back(boundary);
  }
  return json_response(200, found);
}

HttpResponse PackageRoutes::upload_boundaries(const HttpRequest& request) const {
  auth_.authorize(request, kPackagesWriteScope);
  BoundaryLoadOptions load;
  if (const std::string* field = request.query_value("name_field")) {
    load.name_field = *field;
  }
  if (const std::string* field = request.query_value("long_name_field")) {
    load.long_name_field = *field;
  }
  return json_response(201, packager_->add_boundaries_geojson(parse_body(request), load));
}

json PackageRoutes::public_url(const std::string& key) const {
  return packages_url_.empty() ? json(nullptr) : json(packages_url_ + "/" + key);
}

HttpResponse PackageRoutes::packages() const {
  json list = json::array();
  for (const auto& boundary : packager_->boundaries()) {
    const std::string id = boundary["id"];
    if (storage_->exists(id + "/datapackage.json")) {
      list.push_back({{"boundary", id},
                      {"name", boundary["name"]},
                      {"long_name", boundary["long_name"]},
                      {"datapackage_url", public_url(id + "/datapackage.json")}});
    }
  }
  return json_response(200, list);
}

HttpResponse PackageRoutes::package(std::string_view name) const {
  const Boundary boundary = packager_->boundary(name);
  const std::string key = boundary.id + "/datapackage.json";
  if (!storage_->exists(key)) {
    throw HttpError(404, "NotFound", fmt::format("no package has been built for boundary '{}' yet", boundary.id));
  }
  json datapackage = json::parse(storage_->get(key), nullptr, false);
  if (datapackage.is_discarded() || !datapackage.is_object()) {
    throw Error(ErrorCode::kInternal, fmt::format("{} is not a JSON object", storage_->uri(key)));
  }
  json resources = json::array();
  for (const auto& resource : datapackage.value("resources", json::array())) {
    const std::string path = resource.value("path", "");
    resources.push_back({{"name", resource.value("name", "")},
                         {"path", path},
                         {"url", public_url(boundary.id + "/" + path)},
                         {"bytes", resource.value("bytes", json(nullptr))},
                         {"hash", resource.value("hash", json(nullptr))},
                         {"dataset", resource.value("tessera:dataset", json(nullptr))},
                         {"version", resource.value("tessera:version", json(nullptr))}});
  }
  return json_response(200, {{"boundary", boundary.id},
                             {"name", boundary.name},
                             {"long_name", boundary.long_name},
                             {"datapackage_url", public_url(key)},
                             {"resources", std::move(resources)},
                             {"datapackage", std::move(datapackage)}});
}

HttpResponse PackageRoutes::submit(const HttpRequest& request) const {
  auth_.authorize(request, kPackagesWriteScope);
  const json body = parse_body(request);
  if (!body.is_object()) {
    bad_request("the request body must be a JSON object {\"boundary\", \"processors\"}");
  }
  for (const auto& member : body.items()) {
    if (member.key() != "boundary" && member.key() != "processors") {
      bad_request(fmt::format("{}: unknown member (expected boundary, processors)", member.key().substr(0, 64)));
    }
  }
  const std::string boundary = name_of(body.value("boundary", json()), "boundary");
  const json& names = body.contains("processors") ? body["processors"] : json();
  if (!names.is_array() || names.empty() || names.size() > kMaxProcessorsPerJob) {
    bad_request(
        fmt::format("processors: expected an array of 1 to {} \"<dataset>/<version>\" names", kMaxProcessorsPerJob));
  }
  std::vector<std::string> processors;
  for (std::size_t i = 0; i < names.size(); ++i) {
    processors.push_back(name_of(names[i], fmt::format("processors[{}]", i)));
  }
  const json submitted = jobs_->submit(boundary, processors);
  const std::string location = base_url(request) + "/jobs/" + submitted["id"].get<std::string>();
  HttpResponse response =
      json_response(202, {{"id", submitted["id"]}, {"status", submitted["status"]}, {"location", location}});
  response.headers.emplace_back("Location", location);
  return response;
}

HttpResponse PackageRoutes::jobs(const HttpRequest& request) const {
  PackageJobFilter filter;
  if (const std::string* status = request.query_value("status")) {
    filter.status = status->substr(0, kMaxNameLength);
  }
  if (const std::string* boundary = request.query_value("boundary")) {
    filter.boundary = boundary->substr(0, kMaxNameLength);
  }
  if (const std::string* limit = request.query_value("limit")) {
    filter.limit = parse_limit(*limit);
  }
  HttpResponse response = json_response(200, jobs_->list(filter));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace tessera::service

namespace tessera {

using nlohmann::json;

PackagesServiceOptions PackagesServiceOptions::from_json(const json& options, std::string_view where) {
  if (!options.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected a JSON object", where));
  }
  PackagesServiceOptions parsed;
  const auto text = [&](const char* key, std::string& field) {
    if (options.contains(key) && !options[key].is_null()) {
      if (!options[key].is_string()) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: expected a string", where, key));
      }
      field = options[key].get<std::string>();
    }
  };
  const auto count = [&](const char* key, auto& field, std::uint64_t min, std::uint64_t max) {
    if (options.contains(key) && !options[key].is_null()) {
      // Any integer type: a Python int arrives signed, a parsed non-negative one unsigned.
      if (!options[key].is_number_integer() || options[key].get<std::int64_t>() < 0 ||
          options[key].get<std::uint64_t>() < min || options[key].get<std::uint64_t>() > max) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}.{}: expected a whole number from {} to {}", where, key, min, max));
      }
      field = static_cast<std::remove_reference_t<decltype(field)>>(options[key].get<std::uint64_t>());
    }
  };
  for (const auto& member : options.items()) {
    static const char* const kKnown[] = {
        "storage",        "storage_options", "boundaries", "boundary_name_field", "boundary_long_name_field",
        "processors",     "packages_url",    "workers",    "parallelism",         "max_queued",
        "lock_timeout_ms"};
    if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* key) { return member.key() == key; })) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: unknown option", where, member.key()));
    }
  }
  text("storage", parsed.storage);
  if (parsed.storage.empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}.storage: required, the URI packages are built on", where));
  }
  if (options.contains("storage_options") && !options["storage_options"].is_null()) {
    const json& settings = options["storage_options"];
    if (!settings.is_object() ||
        !std::all_of(settings.begin(), settings.end(), [](const json& value) { return value.is_string(); })) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}.storage_options: expected an object of strings", where));
    }
    parsed.storage_options = settings.get<StorageOptions>();
  }
  text("boundaries", parsed.boundaries);
  text("boundary_name_field", parsed.boundary_name_field);
  text("boundary_long_name_field", parsed.boundary_long_name_field);
  text("processors", parsed.processors);
  text("packages_url", parsed.packages_url);
  count("workers", parsed.workers, 1, 256);
  count("parallelism", parsed.parallelism, 1, 256);
  count("max_queued", parsed.max_queued, 1, 1000000);
  std::uint64_t timeout_ms = static_cast<std::uint64_t>(parsed.lock_timeout.count());
  count("lock_timeout_ms", timeout_ms, 0, std::uint64_t{7} * 24 * 3600 * 1000);
  parsed.lock_timeout = std::chrono::milliseconds(timeout_ms);
  return parsed;
}

}  // namespace tessera
