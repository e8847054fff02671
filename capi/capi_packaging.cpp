// The packaging C entry points: clips, sketch preprocessing and the packager handle.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "capi_options.hpp"
#include "tessera/packaging.hpp"

// The opaque handle behind tsr_packager.
struct tsr_packager_s {
  std::unique_ptr<tessera::Packager> impl;
};

// The opaque handle behind tsr_package_jobs.
struct tsr_package_jobs_s {
  std::unique_ptr<tessera::PackageJobs> impl;
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

tessera::PackageJobs& jobs_of(tsr_package_jobs jobs, const char* function) {
  return *tessera::capi::require(jobs, function, "jobs")->impl;
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
                          {"job_id", "parallelism", "wait_for_locks", "lock_timeout_ms", "storage_options"});
    tessera::BuildOptions build;
    build.job_id = options.string("job_id").value_or("");
    if (const auto parallelism = options.integer("parallelism", 1, 256)) {
      build.parallelism = static_cast<std::size_t>(*parallelism);
    }
    if (const auto timeout = options.integer("lock_timeout_ms", 0, tessera::capi::kMaxLockTimeoutMs)) {
      build.lock_timeout = std::chrono::milliseconds(*timeout);
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

tsr_status tsr_packager_cancel_job(tsr_packager packager, const char* job_id, char** out_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(job_id);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.cancel_job(job_id).dump());
  });
}

tsr_status tsr_packager_add_processors(tsr_packager packager, const char* entries_json, char** out_names_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(out_names_json);
    const json entries = parse_json(entries_json, __func__, "entries_json");
    *out_names_json = tessera::capi::copy_string(self.add_processors(entries).dump());
  });
}

tsr_status tsr_packager_processors(tsr_packager packager, char** out_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.processors().dump());
  });
}

tsr_status tsr_packager_processor(tsr_packager packager, const char* dataset, const char* version, char** out_json) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(dataset);
    TSR_REQUIRE(version);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.processor(dataset, version).metadata_json().dump());
  });
}

tsr_status tsr_package_jobs_create(tsr_packager packager, const char* options_json, tsr_package_jobs* out_jobs) {
  return guarded([&] {
    tessera::Packager& self = packager_of(packager, __func__);
    TSR_REQUIRE(out_jobs);
    const Options options(options_json, __func__, "options_json",
                          {"workers", "max_queued", "history", "parallelism", "lock_timeout_ms", "storage_options"});
    tessera::PackageJobOptions jobs;
    const auto count = [&](const char* key, std::size_t& field, std::int64_t max) {
      if (const auto value = options.integer(key, 1, max)) {
        field = static_cast<std::size_t>(*value);
      }
    };
    count("workers", jobs.workers, 256);
    count("max_queued", jobs.max_queued, 1000000);
    count("history", jobs.history, 1000000);
    count("parallelism", jobs.parallelism, 256);
    if (const auto timeout = options.integer("lock_timeout_ms", 0, tessera::capi::kMaxLockTimeoutMs)) {
      jobs.lock_timeout = std::chrono::milliseconds(*timeout);
    }
    jobs.storage_options = options.storage_options("storage_options");
    auto handle = std::make_unique<tsr_package_jobs_s>();
    handle->impl = std::make_unique<tessera::PackageJobs>(self, std::move(jobs));
    *out_jobs = handle.release();
  });
}

tsr_status tsr_package_jobs_submit(tsr_package_jobs jobs, const char* boundary, const char* processors_json,
                                   char** out_json) {
  return guarded([&] {
    tessera::PackageJobs& self = jobs_of(jobs, __func__);
    TSR_REQUIRE(boundary);
    TSR_REQUIRE(out_json);
    const json names = parse_json(processors_json, __func__, "processors_json");
    if (!names.is_array() ||
        !std::all_of(names.begin(), names.end(), [](const json& name) { return name.is_string(); })) {
      throw Error(ErrorCode::kInvalidInput,
                  std::string(__func__) + ": processors_json must be an array of \"<dataset>/<version>\" names");
    }
    *out_json = tessera::capi::copy_string(self.submit(boundary, names.get<std::vector<std::string>>()).dump());
  });
}

tsr_status tsr_package_jobs_status(tsr_package_jobs jobs, const char* job_id, char** out_json) {
  return guarded([&] {
    tessera::PackageJobs& self = jobs_of(jobs, __func__);
    TSR_REQUIRE(job_id);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.status(job_id).dump());
  });
}

tsr_status tsr_package_jobs_list(tsr_package_jobs jobs, const char* filter_json, char** out_json) {
  return guarded([&] {
    tessera::PackageJobs& self = jobs_of(jobs, __func__);
    TSR_REQUIRE(out_json);
    const Options options(filter_json, __func__, "filter_json", {"status", "boundary", "limit"});
    tessera::PackageJobFilter filter;
    filter.status = options.string("status").value_or("");
    filter.boundary = options.string("boundary").value_or("");
    if (const auto limit = options.integer("limit", 1, 1000000)) {
      filter.limit = static_cast<std::size_t>(*limit);
    }
    *out_json = tessera::capi::copy_string(self.list(filter).dump());
  });
}

tsr_status tsr_package_jobs_cancel(tsr_package_jobs jobs, const char* job_id, char** out_json) {
  return guarded([&] {
    tessera::PackageJobs& self = jobs_of(jobs, __func__);
    TSR_REQUIRE(job_id);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(self.cancel(job_id).dump());
  });
}

void tsr_package_jobs_destroy(tsr_package_jobs* jobs) {
  if (jobs == nullptr || *jobs == nullptr) {
    return;
  }
  delete *jobs;
  *jobs = nullptr;
}

void tsr_packager_destroy(tsr_packager* packager) {
  if (packager == nullptr || *packager == nullptr) {
    return;
  }
  delete *packager;
  *packager = nullptr;
}

}  // extern "C"
