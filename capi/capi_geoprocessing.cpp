// The geoprocessing C entry points: a registry of command-line and built-in
// services made from the definitions `tessera serve --services` reads, run
// one at a time with JSON in and out, and the options that serve one from
// tsr_service_new ("geoprocessing").

#include "capi_geoprocessing.hpp"

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "capi_options.hpp"
#include "tessera/geoprocessing.hpp"

struct tsr_geoprocessing_s {
  tessera::GeoprocessingRegistry impl;
};

namespace tessera::capi {

namespace {

using nlohmann::json;

GeoprocessingRegistry registry_of(const json& definitions, const std::string& base_dir) {
  GeoprocessingRegistry registry;
  registry.add_definitions(definitions, base_dir);
  return registry;
}

}  // namespace

GeoprocessingOptions geoprocessing_options_of(const json& value, const char* function) {
  const std::string text = value.dump();
  const Options options(text.c_str(), function, "options_json: 'geoprocessing'",
                        {"services", "base_dir", "title", "tasks_path", "storage", "storage_options", "async_workers",
                         "geometry_uri_prefixes", "allow_loopback_geometry_uri", "max_geometry_bytes"});
  GeoprocessingOptions parsed;
  const json* services = options.find("services");
  if (services == nullptr) {
    throw Error(ErrorCode::kInvalidInput,
                options.where() + ": 'services' (the service definitions, docs/geoprocessing.md) is required");
  }
  parsed.registry =
      std::make_shared<const GeoprocessingRegistry>(registry_of(*services, options.string("base_dir").value_or("")));
  parsed.title = options.string("title").value_or(parsed.title);
  parsed.tasks_path = options.string("tasks_path").value_or(std::string{});
  parsed.storage = options.string("storage").value_or(std::string{});
  parsed.storage_options = options.storage_options("storage_options");
  if (const auto workers = options.int32("async_workers", 1, 256)) {
    parsed.async_workers = *workers;
  }
  parsed.geometry_uri_prefixes = options.strings("geometry_uri_prefixes").value_or(std::vector<std::string>{});
  parsed.allow_loopback_geometry_uri = options.boolean("allow_loopback_geometry_uri").value_or(false);
  if (const auto bytes = options.integer("max_geometry_bytes", 1, std::int64_t{1} << 32)) {
    parsed.max_geometry_bytes = static_cast<std::size_t>(*bytes);
  }
  return parsed;
}

}  // namespace tessera::capi

extern "C" {

tsr_status tsr_geoprocessing_new(const char* definitions_json, const char* base_dir, tsr_geoprocessing* out_registry) {
  return tessera::capi::guarded([&] {
    TSR_REQUIRE(out_registry);
    const nlohmann::json definitions =
        tessera::capi::parse_json_argument(definitions_json, "tsr_geoprocessing_new", "definitions_json");
    *out_registry = new tsr_geoprocessing_s{
        tessera::capi::registry_of(definitions, base_dir == nullptr ? std::string{} : std::string(base_dir))};
  });
}

tsr_status tsr_geoprocessing_services(tsr_geoprocessing registry, char** out_json) {
  return tessera::capi::guarded([&] {
    TSR_REQUIRE(out_json);
    nlohmann::json services = nlohmann::json::array();
    for (const auto& info : TSR_REQUIRE(registry)->impl.services()) {
      services.push_back(info.to_json());
    }
    *out_json = tessera::capi::copy_string(services.dump());
  });
}

tsr_status tsr_geoprocessing_run(tsr_geoprocessing registry, const char* endpoint, const char* sketch_json,
                                 char** out_result_json) {
  return tessera::capi::guarded([&] {
    TSR_REQUIRE(out_result_json);
    const auto& services = TSR_REQUIRE(registry)->impl;
    const std::string name = TSR_REQUIRE(endpoint);
    const nlohmann::json sketch =
        tessera::capi::parse_json_argument(sketch_json, "tsr_geoprocessing_run", "sketch_json");
    auto lines = std::make_shared<std::vector<std::string>>();
    const tessera::GeoprocessingContext context([lines](std::string_view line) { lines->emplace_back(line); }, nullptr);
    nlohmann::json data = services.run(name, sketch, context);
    *out_result_json = tessera::capi::copy_string(nlohmann::json{{"data", std::move(data)}, {"log", *lines}}.dump());
  });
}

void tsr_geoprocessing_destroy(tsr_geoprocessing* registry) {
  if (registry == nullptr || *registry == nullptr) {
    return;
  }
  delete *registry;
  *registry = nullptr;
}

}  // extern "C"
