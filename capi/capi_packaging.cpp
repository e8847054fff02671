// The packaging C entry points: clips, sketch preprocessing and the packager handle.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "capi_options.hpp"
#include "tessera/packaging.hpp"

// The opaque handle behind tsr_packager.
struct tsr_packager_s {
  std::unique_ptr<tessera::Packager> impl;
};

namespace {

using nlohmann::json;
using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::guarded;
using tessera::capi::Options;

json parse_json(const char* text, const char* function, const char* argument) {
  json value = json::parse(tessera::capi::require(text, function, argument), nullptr, false);
  if (value.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, std::string(function) + ": " + argument + " is not valid JSON");
  }
  return value;
}

// A GeoJSON geometry, or a Feature's.
tessera::Geometry geometry_of(const char* geometry_json, const char* function) {
  json value = parse_json(geometry_json, function, "geometry_json");
  if (value.is_object() && value.value("type", "") == "Feature") {
    value = value.value("geometry", json());
  }
  return tessera::Geometry::from_geojson(value, "geometry_json");
}

tsr_status clip(const char* src, const char* geometry_json, const char* dst, const char* options_json,
                char** out_result_json, bool raster, const char* function) {
  return guarded([&] {
    tessera::capi::require(src, function, "src");
    tessera::capi::require(dst, function, "dst");
    tessera::capi::require(out_result_json, function, "out_result_json");
    const tessera::Geometry boundary = geometry_of(geometry_json, function);
    const Options options = raster ? Options(options_json, function, "options_json", {"all_touched", "storage_options"})
                                   : Options(options_json, function, "options_json", {"format", "storage_options"});
    tessera::ClipOptions clip_options;
    clip_options.storage_options = options.storage_options("storage_options");
    if (raster) {
      clip_options.all_touched = options.boolean("all_touched").value_or(false);
    } else {
      clip_options.format = options.string("format").value_or("");
    }
    const tessera::ClipResult result = raster ? tessera::clip_raster(src, boundary, dst, clip_options)
                                              : tessera::clip_vector(src, boundary, dst, clip_options);
    *out_result_json = tessera::capi::copy_string(result.to_json().dump());
  });
}

tessera::Packager& packager_of(tsr_packager packager, const char* function) {
  return *tessera::capi::require(packager, function, "packager")->impl;
}

}  // namespace

extern "C" {

tsr_status tsr_clip_raster(const char* src, const char* geometry_json, const char* dst, const char* options_json,
                           char** out_result_json) {
  return clip(src, geometry_json, dst, options_json, out_result_json, true, __func__);
}

tsr_status tsr_clip_vector(const char* src, const char* geometry_json, const char* dst, const char* options_json,
                           char** out_result_json) {
  return clip(src, geometry_json, dst, options_json, out_result_json, false, __func__);
}

tsr_status tsr_preprocess_sketch(const char* sketch_json, const char* options_json, tsr_storage cache,
                                 char** out_result_json) {
  return guarded([&] {
    TSR_REQUIRE(out_result_json);
    const json sketch = parse_json(sketch_json, __func__, "sketch_json");
    const Options options(options_json, __func__, "options_json",
                          {"clip_to", "erase", "keep_largest", "max_area_km2", "max_vertices", "cache_key"});
    tessera::SketchOptions sketch_options;
    // A string names an OGR source; an object is GeoJSON.
    auto reference = [&](const char* key, std::optional<json>& geojson, std::string& source) {
      if (const json* value = options.find(key)) {
        if (value->is_string()) {
          source = value->get<std::string>();
        } else if (value->is_object()) {
          geojson = *value;
        } else {
          options.fail(key, "GeoJSON (an object) or the path of an OGR source (a string)");
        }
      }
    };
    reference("clip_to", sketch_options.clip_to, sketch_options.clip_to_source);
    reference("erase", sketch_options.erase, sketch_options.erase_source);
    sketch_options.keep_largest = options.boolean("keep_largest").value_or(false);
    sketch_options.max_area_km2 = options.number("max_area_km2").value_or(sketch_options.max_area_km2);
    if (const auto vertices = options.integer("max_vertices", 4, std::numeric_limits<std::int64_t>::max())) {
      sketch_options.max_vertices = static_cast<std::size_t>(*vertices);
    }
    sketch_options.cache_key = options.string("cache_key").value_or("");
    sketch_options.cache = cache != nullptr ? cache->impl.get() : nullptr;
    *out_result_json = tessera::capi::copy_string(tessera::preprocess_sketch(sketch, sketch_options).dump());
  });
}

tsr_status tsr_packager_create(tsr_storage storage, tsr_catalog catalog, tsr_packager* out_packager) {
  return guarded([&] {
    TSR_REQUIRE(storage);
    TSR_REQUIRE(out_packager);
    auto handle = std::make_unique<tsr_packager_s>();
    handle->impl =
        std::make_unique<tessera::Packager>(*storage->impl, catalog != nullptr ? catalog->impl.get() : nullptr);
    *out_packager = handle.release();
  });
}

tsr_status tsr_packager_add_boundaries(tsr_packager packager, const char* source, const char* options_json,
                                       char** out_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(source);
    TSR_REQUIRE(out_json);
    const Options options(options_json, __func__, "options_json", {"name_field", "long_name_field", "layer"});
    tessera::BoundaryLoadOptions load;
    load.name_field = options.string("name_field").value_or(load.name_field);
    load.long_name_field = options.string("long_name_field").value_or("");
    load.layer = options.string("layer").value_or("");
    *out_json = tessera::capi::copy_string(self.add_boundaries(source, load).dump());
  });
}

tsr_status tsr_packager_boundaries(tsr_packager packager, char** out_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.boundaries().dump());
  });
}

tsr_status tsr_packager_build(tsr_packager packager, const char* boundary, const char* datasets_json,
                              const char* options_json, tsr_progress_callback progress, void* user_data,
                              char** out_package_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(boundary);
    TSR_REQUIRE(out_package_json);
    const json datasets = parse_json(datasets_json, __func__, "datasets_json");
    const Options options(options_json, __func__, "options_json",
                          {"job_id", "parallelism", "wait_for_locks", "storage_options"});
    tessera::BuildOptions build;
    build.job_id = options.string("job_id").value_or("");
    if (const auto parallelism = options.integer("parallelism", 1, 256)) {
      build.parallelism = static_cast<std::size_t>(*parallelism);
    }
    build.wait_for_locks = options.boolean("wait_for_locks").value_or(true);
    build.storage_options = options.storage_options("storage_options");
    if (progress != nullptr) {
      build.progress = [progress, user_data](double percent, const std::string& step) {
        progress(percent, step.c_str(), user_data);
      };
    }
    *out_package_json = tessera::capi::copy_string(self.build(boundary, datasets, build).dump());
  });
}

tsr_status tsr_packager_job_status(tsr_packager packager, const char* job_id, char** out_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(job_id);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.job_status(job_id).dump());
  });
}

void tsr_packager_destroy(tsr_packager* packager) {
  if (packager == nullptr || *packager == nullptr) {
    return;
  }
  delete *packager;
  *packager = nullptr;
}

}  // extern "C"
