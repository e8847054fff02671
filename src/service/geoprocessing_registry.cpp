// The geoprocessing registry: services' metadata under SeaSketch's names,
// the callables, commands and built-ins behind them, and the definitions file
// of tessera serve --services.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/enum_names.hpp"
#include "service/geoprocessing_command.hpp"
#include "tessera/error.hpp"
#include "tessera/geoprocessing.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr core::EnumName<ExecutionMode> kExecutionModeNames[] = {{ExecutionMode::kSync, "sync"},
                                                                 {ExecutionMode::kAsync, "async"}};
constexpr core::NameTable<ExecutionMode> kExecutionModes{"execution mode", kExecutionModeNames};
static_assert(kExecutionModes.covers(ExecutionMode::kSync, ExecutionMode::kAsync));

constexpr core::EnumName<RateLimitPeriod> kRateLimitPeriodNames[] = {{RateLimitPeriod::kDaily, "daily"},
                                                                     {RateLimitPeriod::kMonthly, "monthly"}};
constexpr core::NameTable<RateLimitPeriod> kRateLimitPeriods{"rate limit period", kRateLimitPeriodNames};
static_assert(kRateLimitPeriods.covers(RateLimitPeriod::kDaily, RateLimitPeriod::kMonthly));

constexpr std::string_view kTypes[] = {"geoprocessing", "preprocessing"};
// The members a definition may have besides the metadata.
constexpr std::string_view kDefinitionMembers[] = {"command",   "builtin",   "rasters",   "categorical", "layers",
                                                   "attribute", "studyArea", "forbidden", "shoreline"};
constexpr std::string_view kInfoMembers[] = {"title",         "endpoint",       "description", "type",
                                             "executionMode", "usesAttributes", "timeout",     "restrictedAccess",
                                             "issAllowList",  "rateLimited",    "rateLimit",   "rateLimitPeriod"};

// Runs per period: beyond, a service is as good as unlimited (0).
constexpr std::int64_t kMaxRateLimit = 1'000'000'000;

[[noreturn]] void invalid(std::string_view where, std::string_view member, std::string_view what) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("{}.{}: {}", where, member, what));
}

std::string string_member(const json& value, std::string_view where, const char* member, bool required) {
  const auto it = value.find(member);
  if (it == value.end() || it->is_null()) {
    if (required) {
      invalid(where, member, "required");
    }
    return {};
  }
  if (!it->is_string()) {
    invalid(where, member, "expected a string");
  }
  return it->get<std::string>();
}

std::vector<std::string> strings_member(const json& value, std::string_view where, const char* member) {
  std::vector<std::string> result;
  const auto it = value.find(member);
  if (it == value.end() || it->is_null()) {
    return result;
  }
  if (!it->is_array()) {
    invalid(where, member, "expected an array of strings");
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      invalid(where, fmt::format("{}[{}]", member, i), "expected a string");
    }
    result.push_back((*it)[i].get<std::string>());
  }
  return result;
}

void check_info(const GeoprocessingServiceInfo& info) {
  const std::string& endpoint = info.endpoint;
  if (endpoint.empty() || endpoint.size() > 64 || !std::all_of(endpoint.begin(), endpoint.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
      })) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("service endpoint '{}': 1 to 64 letters, digits, '-' or '_'", endpoint));
  }
  if (std::find(std::begin(kTypes), std::end(kTypes), info.type) == std::end(kTypes)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("service '{}': type '{}' (geoprocessing or preprocessing)", endpoint, info.type));
  }
  if (!std::isfinite(info.timeout_seconds) || info.timeout_seconds < 1 || info.timeout_seconds > 3600) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("service '{}': timeout must be 1 to 3600 seconds", endpoint));
  }
  if (info.rate_limit < 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("service '{}': rateLimit must not be negative", endpoint));
  }
  if (info.restricted_access && info.iss_allow_list.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("service '{}': restrictedAccess needs an issAllowList (the issuers it trusts)", endpoint));
  }
}

// A definition's source relative to the definitions file's folder, when it
// is a relative local path (URIs and absolute paths are kept).
json located(const json& reference, const std::string& base_dir) {
  if (base_dir.empty() || !reference.is_string()) {
    return reference;
  }
  const std::string& text = reference.get_ref<const std::string&>();
  if (text.empty() || text.find("://") != std::string::npos || std::filesystem::path(text).is_absolute()) {
    return reference;
  }
  return (std::filesystem::path(base_dir) / text).string();
}

std::string located_string(const std::string& text, const std::string& base_dir) {
  return located(json(text), base_dir).get<std::string>();
}

}  // namespace

ExecutionMode execution_mode_from_name(std::string_view name) { return kExecutionModes.from_name(name); }
std::string_view execution_mode_name(ExecutionMode mode) noexcept { return kExecutionModes.name(mode); }
std::vector<std::string> execution_mode_names() { return kExecutionModes.names(); }
RateLimitPeriod rate_limit_period_from_name(std::string_view name) { return kRateLimitPeriods.from_name(name); }
std::string_view rate_limit_period_name(RateLimitPeriod period) noexcept { return kRateLimitPeriods.name(period); }
std::vector<std::string> rate_limit_period_names() { return kRateLimitPeriods.names(); }

GeoprocessingServiceInfo GeoprocessingServiceInfo::from_json(const json& value, std::string_view where) {
  if (!value.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: expected a JSON object", where));
  }
  GeoprocessingServiceInfo info;
  info.endpoint = string_member(value, where, "endpoint", true);
  info.title = string_member(value, where, "title", false);
  if (info.title.empty()) {
    info.title = info.endpoint;
  }
  info.description = string_member(value, where, "description", false);
  if (const std::string type = string_member(value, where, "type", false); !type.empty()) {
    info.type = type;
  }
  if (const std::string mode = string_member(value, where, "executionMode", false); !mode.empty()) {
    info.execution_mode = execution_mode_from_name(mode);
  }
  info.uses_attributes = strings_member(value, where, "usesAttributes");
  if (const auto it = value.find("timeout"); it != value.end() && !it->is_null()) {
    if (!it->is_number()) {
      invalid(where, "timeout", "expected a number of seconds");
    }
    info.timeout_seconds = it->get<double>();
  }
  if (const auto it = value.find("restrictedAccess"); it != value.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      invalid(where, "restrictedAccess", "expected true or false");
    }
    info.restricted_access = it->get<bool>();
  }
  info.iss_allow_list = strings_member(value, where, "issAllowList");
  if (const auto it = value.find("rateLimit"); it != value.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > kMaxRateLimit) {
      invalid(where, "rateLimit", fmt::format("expected an integer from 0 to {}", kMaxRateLimit));
    }
    info.rate_limit = it->get<int>();
  }
  if (const auto it = value.find("rateLimited"); it != value.end() && it->is_boolean() && !it->get<bool>()) {
    info.rate_limit = 0;
  }
  if (const std::string period = string_member(value, where, "rateLimitPeriod", false); !period.empty()) {
    info.rate_limit_period = rate_limit_period_from_name(period);
  }
  check_info(info);
  return info;
}

json GeoprocessingServiceInfo::to_json() const {
  return {{"title", title},
          {"endpoint", endpoint},
          {"description", description},
          {"type", type},
          {"executionMode", execution_mode_name(execution_mode)},
          {"usesAttributes", uses_attributes},
          {"timeout", timeout_seconds},
          {"restrictedAccess", restricted_access},
          {"issAllowList", iss_allow_list},
          {"rateLimited", rate_limit > 0},
          {"rateLimit", rate_limit},
          {"rateLimitPeriod", rate_limit_period_name(rate_limit_period)}};
}

GeoprocessingContext::GeoprocessingContext(std::function<void(std::string_view)> log,
                                           std::shared_ptr<const std::atomic<bool>> cancelled)
    : log_(std::move(log)), cancelled_(std::move(cancelled)) {}

void GeoprocessingContext::log(std::string_view message) const {
  if (log_) {
    log_(message);
  }
}

bool GeoprocessingContext::cancelled() const noexcept { return cancelled_ && cancelled_->load(); }

void GeoprocessingContext::add_cpu_seconds(double seconds) const noexcept {
  double current = extra_cpu_seconds_.load();
  while (!extra_cpu_seconds_.compare_exchange_weak(current, current + seconds)) {
  }
}

double GeoprocessingContext::extra_cpu_seconds() const noexcept { return extra_cpu_seconds_.load(); }

struct GeoprocessingRegistry::Impl {
  struct Entry {
    GeoprocessingServiceInfo info;
    GeoprocessingFunction function;
  };
  std::vector<Entry> entries;  // registration order (the project document's)
  std::map<std::string, std::size_t, std::less<>> by_endpoint;

  const Entry& find(std::string_view endpoint) const {
    const auto it = by_endpoint.find(endpoint);
    if (it == by_endpoint.end()) {
      throw Error(ErrorCode::kNotFound, fmt::format("no geoprocessing service '{}'", endpoint));
    }
    return entries[it->second];
  }
};

GeoprocessingRegistry::GeoprocessingRegistry() : impl_(std::make_unique<Impl>()) {}
GeoprocessingRegistry::~GeoprocessingRegistry() = default;
GeoprocessingRegistry::GeoprocessingRegistry(GeoprocessingRegistry&&) noexcept = default;
GeoprocessingRegistry& GeoprocessingRegistry::operator=(GeoprocessingRegistry&&) noexcept = default;

void GeoprocessingRegistry::add_function(GeoprocessingServiceInfo info, GeoprocessingFunction function) {
  check_info(info);
  if (!function) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("service '{}': no function", info.endpoint));
  }
  if (impl_->by_endpoint.count(info.endpoint) != 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("service '{}' is registered twice", info.endpoint));
  }
  impl_->by_endpoint.emplace(info.endpoint, impl_->entries.size());
  impl_->entries.push_back({std::move(info), std::move(function)});
}

void GeoprocessingRegistry::add_command(GeoprocessingServiceInfo info, std::vector<std::string> argv,
                                        CommandLimits limits) {
  if (argv.empty() || argv.front().empty()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("service '{}': command: no program", info.endpoint));
  }
  const double timeout = info.timeout_seconds;
  add_function(std::move(info),
               [argv = std::move(argv), limits, timeout](const json& sketch, const GeoprocessingContext& context) {
                 return service::run_command(argv, sketch, timeout, limits, context);
               });
}

void GeoprocessingRegistry::add_builtin(GeoprocessingServiceInfo info, std::string_view builtin,
                                        const json& parameters) {
  const std::string where = fmt::format("service '{}'", info.endpoint);
  if (!parameters.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: parameters must be a JSON object", where));
  }
  if (builtin == "zonal_statistics") {
    std::vector<std::string> rasters = strings_member(parameters, where, "rasters");
    if (rasters.empty()) {
      invalid(where, "rasters", "zonal_statistics needs at least one raster href");
    }
    const auto categorical_member = parameters.find("categorical");
    if (categorical_member != parameters.end() && !categorical_member->is_boolean()) {
      invalid(where, "categorical", "expected true or false");
    }
    const bool categorical = categorical_member != parameters.end() && categorical_member->get<bool>();
    add_function(std::move(info),
                 [rasters = std::move(rasters), categorical](const json& sketch, const GeoprocessingContext&) {
                   return zonal_statistics(sketch, rasters, categorical);
                 });
  } else if (builtin == "overlap") {
    std::vector<std::string> layers = strings_member(parameters, where, "layers");
    if (layers.empty()) {
      invalid(where, "layers", "overlap needs at least one vector source");
    }
    std::string attribute = string_member(parameters, where, "attribute", false);
    add_function(std::move(info),
                 [layers = std::move(layers), attribute = std::move(attribute)](
                     const json& sketch, const GeoprocessingContext&) { return overlap(sketch, layers, attribute); });
  } else if (builtin == "preprocess") {
    PreprocessOptions options;
    options.study_area = parameters.value("studyArea", json());
    options.forbidden = parameters.value("forbidden", json());
    options.shoreline = parameters.value("shoreline", json());
    options.uses_attributes = info.uses_attributes;
    add_function(std::move(info), [options = std::move(options)](const json& sketch, const GeoprocessingContext&) {
      return preprocess_feature(sketch, options);
    });
  } else {
    throw Error(
        ErrorCode::kInvalidInput,
        fmt::format("{}: unknown builtin '{}' (one of: zonal_statistics, overlap, preprocess)", where, builtin));
  }
}

void GeoprocessingRegistry::add_definitions(const json& definitions, const std::string& base_dir) {
  if (!definitions.is_array()) {
    throw Error(ErrorCode::kInvalidInput, "services: expected a JSON array of service definitions");
  }
  for (std::size_t i = 0; i < definitions.size(); ++i) {
    const json& definition = definitions[i];
    const std::string where = fmt::format("services[{}]", i);
    GeoprocessingServiceInfo info = GeoprocessingServiceInfo::from_json(definition, where);
    for (const auto& [member, value] : definition.items()) {
      if (std::find(std::begin(kInfoMembers), std::end(kInfoMembers), member) == std::end(kInfoMembers) &&
          std::find(std::begin(kDefinitionMembers), std::end(kDefinitionMembers), member) ==
              std::end(kDefinitionMembers)) {
        invalid(where, member, "unknown member");
      }
    }
    const bool has_command = definition.contains("command");
    const bool has_builtin = definition.contains("builtin");
    if (has_command == has_builtin) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: give either \"command\" or \"builtin\"", where));
    }
    if (has_command) {
      std::vector<std::string> argv = strings_member(definition, where, "command");
      if (argv.empty()) {
        invalid(where, "command", "expected [program, arguments...]");
      }
      if (argv.front().find('/') != std::string::npos) {
        argv.front() = located_string(argv.front(), base_dir);
      }
      add_command(std::move(info), std::move(argv));
      continue;
    }
    const std::string builtin = string_member(definition, where, "builtin", true);
    json parameters = json::object();
    for (const char* member : {"categorical", "attribute"}) {
      if (definition.contains(member)) {
        parameters[member] = definition[member];
      }
    }
    for (const char* member : {"rasters", "layers"}) {
      if (definition.contains(member)) {
        json sources = json::array();
        for (const std::string& source : strings_member(definition, where, member)) {
          sources.push_back(located(source, base_dir));
        }
        parameters[member] = std::move(sources);
      }
    }
    for (const char* member : {"studyArea", "forbidden", "shoreline"}) {
      if (definition.contains(member)) {
        parameters[member] = located(definition[member], base_dir);
      }
    }
    if (builtin == "preprocess" && !definition.contains("type")) {
      info.type = "preprocessing";  // where SeaSketch lists preprocessors
    }
    add_builtin(std::move(info), builtin, parameters);
  }
}

GeoprocessingRegistry GeoprocessingRegistry::from_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    throw Error(ErrorCode::kNotFound, fmt::format("services file '{}' cannot be read", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  const json definitions = json::parse(text.str(), nullptr, false);
  if (definitions.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("services file '{}' is not valid JSON", path));
  }
  GeoprocessingRegistry registry;
  registry.add_definitions(definitions, std::filesystem::absolute(path).parent_path().string());
  return registry;
}

std::vector<GeoprocessingServiceInfo> GeoprocessingRegistry::services() const {
  std::vector<GeoprocessingServiceInfo> result;
  result.reserve(impl_->entries.size());
  for (const auto& entry : impl_->entries) {
    result.push_back(entry.info);
  }
  return result;
}

bool GeoprocessingRegistry::contains(std::string_view endpoint) const noexcept {
  return impl_->by_endpoint.find(endpoint) != impl_->by_endpoint.end();
}

const GeoprocessingServiceInfo& GeoprocessingRegistry::info(std::string_view endpoint) const {
  return impl_->find(endpoint).info;
}

json GeoprocessingRegistry::run(std::string_view endpoint, const json& sketch,
                                const GeoprocessingContext& context) const {
  return impl_->find(endpoint).function(sketch, context);
}

}  // namespace tessera
