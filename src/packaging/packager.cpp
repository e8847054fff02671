// The Packager: boundaries on storage, package jobs (a bounded pool of
// processors, locks per output, atomic publication) and their status records.

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "core/gdal_env.hpp"
#include "core/redact.hpp"
#include "core/sha256.hpp"
#include "packaging/boundary_projection.hpp"
#include "packaging/datapackage.hpp"
#include "packaging/definitions.hpp"
#include "packaging/job_record.hpp"
#include "packaging/locks.hpp"
#include "packaging/package_pages.hpp"
#include "packaging/processor_registry.hpp"
#include "packaging/processors.hpp"
#include "storage/gdal_source.hpp"
#include "tessera/log.hpp"
#include "tessera/packaging.hpp"
#include "tessera/version.hpp"

namespace fs = std::filesystem;

namespace tessera {

using nlohmann::json;

Processor::~Processor() = default;

namespace {

// Sources as recorded in provenance.json: presigned query strings, passwords
// and the host's secret values never reach a published file.
std::vector<std::string> redacted(const std::vector<std::string>& sources) {
  std::vector<std::string> out;
  out.reserve(sources.size());
  for (const auto& source : sources) {
    out.push_back(core::redact_secrets(source));
  }
  return out;
}

constexpr std::string_view kBoundaryPrefix = ".tessera/boundaries/";
constexpr std::string_view kOutputPrefix = ".tessera/outputs/";
constexpr auto kLockPoll = std::chrono::milliseconds(200);

std::string boundary_key(std::string_view id) { return fmt::format("{}{}.json", kBoundaryPrefix, id); }
using packaging::job_key;
using packaging::new_job_id;

// A local folder removed with everything in it when dropped.
class TempFolder {
 public:
  TempFolder() : path_(fs::temp_directory_path() / fmt::format("tessera-package-{}", new_job_id())) {
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  [[nodiscard]] const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

// Thrown at a step boundary of a job that was asked to stop (Packager::cancel_job).
struct JobCancelled {};

// Whether two datapackage.json documents differ only in their "created" time.
bool same_apart_from_created(json a, json b) {
  a.erase("created");
  b.erase("created");
  return a == b;
}

}  // namespace

struct Packager::Impl {
  Storage& storage;
  Catalog* catalog;
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Processor>, std::less<>> processors;
  packaging::ProcessorRegistry registry;

  Impl(Storage& storage_in, Catalog* catalog_in) : storage(storage_in), catalog(catalog_in) {
    if (catalog == nullptr && !storage.create_if_absent_is_atomic()) {
      tessera::log(LogLevel::kWarning,
                   fmt::format("packaging on {}: lock markers there are best effort between processes (no atomic "
                               "create); give the Packager a catalog for its locks",
                               storage.root_uri()));
    }
    processors["raster"] = packaging::raster_processor();
    processors["vector"] = packaging::vector_processor();
  }

  // Locks whose holds last options.lock_lease unless renewed (HeldLock renews them).
  std::unique_ptr<packaging::Locks> locks_for(const BuildOptions& options) const {
    return catalog != nullptr ? packaging::catalog_locks(*catalog, options.lock_lease)
                              : packaging::storage_locks(storage, options.lock_lease);
  }

  std::shared_ptr<Processor> plugin(const std::string& name) {
    const std::lock_guard lock(mutex);
    const auto found = processors.find(name);
    if (found == processors.end()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("processor '{}' is not registered", name));
    }
    return found->second;
  }

  // What one dataset of a job came to.
  struct DatasetOutcome {
    std::string status;  // completed | skipped | no_data | in_progress | failed | cancelled
    std::string error;
    ErrorCode code = ErrorCode::kInternal;
    std::vector<json> resources;
    json provenance;
  };

  // How run_dataset reports where it is and learns that its job is cancelled.
  struct DatasetSteps {
    // The dataset's step and percent (of the dataset) in the job record.
    std::function<void(const std::string& step, double percent)> report;
    // Throws JobCancelled once the job is cancelled: called at every step boundary.
    std::function<void()> check_cancelled;
  };

  DatasetOutcome run_dataset(const Boundary& boundary, const DatasetDefinition& dataset, const BuildOptions& options,
                             const std::string& job_id, const std::string& owner, const DatasetSteps& steps) {
    DatasetOutcome outcome;
    const std::string manifest_key =
        fmt::format("{}{}/{}/{}.json", kOutputPrefix, boundary.id, dataset.name, dataset.version);
    const std::string lock_name = fmt::format("{}/{}/{}", boundary.id, dataset.name, dataset.version);
    const auto locks = locks_for(options);
    steps.report("waiting for its lock", 0.0);
    const bool locked = options.wait_for_locks
                            ? packaging::acquire_waiting(*locks, lock_name, owner, options.lock_timeout, kLockPoll,
                                                         steps.check_cancelled)
                            : locks->try_acquire(lock_name, owner);
    if (!locked) {
      outcome.status = options.wait_for_locks ? "failed" : "in_progress";
      outcome.code = ErrorCode::kConflict;
      outcome.error = fmt::format("'{}' version '{}' is being built by another job{}", dataset.name, dataset.version,
                                  options.wait_for_locks ? " (timed out waiting for it)" : "");
      return outcome;
    }
    const packaging::HeldLock held(*locks, lock_name, owner);
    steps.check_cancelled();
    // Outputs published by an earlier (or the concurrent) job are reused.
    if (storage.exists(manifest_key)) {
      const json manifest = json::parse(storage.get(manifest_key));
      outcome.status = "skipped";
      outcome.resources = manifest["resources"].get<std::vector<json>>();
      return outcome;
    }
    const std::string started = packaging::now_rfc3339();
    const TempFolder folder;
    const ProcessorContext context{boundary, dataset, folder.path(), options.storage_options};
    std::vector<ProcessedFile> files;
    steps.report("processing", 10.0);
    try {
      files = plugin(dataset.processor)->process(context);
    } catch (const Error& error) {
      outcome.status = error.code() == ErrorCode::kNotFound ? "no_data" : "failed";
      outcome.code = error.code();
      outcome.error = error.what();
      return outcome;
    }
    held.check();  // nothing is uploaded under a lock that was lost
    steps.check_cancelled();
    json published = json::array();
    // Files of this dataset already uploaded: removed again when the job is
    // cancelled (or fails) before its manifest publishes them, so a stopped
    // job leaves no dataset half there.
    std::vector<std::string> uploaded;
    try {
      for (std::size_t i = 0; i < files.size(); ++i) {
        const fs::path local = folder.path() / files[i].file;
        if (files[i].file.empty() || files[i].file.find('/') != std::string::npos || !fs::is_regular_file(local)) {
          throw Error(ErrorCode::kInvalidInput, fmt::format("processor '{}' reported file '{}', which it did not "
                                                            "write in its output folder",
                                                            dataset.processor, files[i].file));
        }
        steps.report(fmt::format("uploading {}", files[i].file),
                     50.0 + 45.0 * static_cast<double>(i) / static_cast<double>(files.size()));
        const std::string relative = fmt::format("datasets/{}/{}/{}", dataset.name, dataset.version, files[i].file);
        const std::string hash = core::sha256_hex_of_file(local);
        const std::uint64_t bytes = fs::file_size(local);
        const std::string key = fmt::format("{}/{}", boundary.id, relative);
        storage.put_file(key, local);
        uploaded.push_back(key);
        outcome.resources.push_back(packaging::resource_of(dataset, files[i], relative, bytes, hash, i, files.size()));
        published.push_back({{"path", relative}, {"bytes", bytes}, {"hash", "sha256:" + hash}});
        steps.check_cancelled();
      }
      // Written last: a job that dies before this point publishes nothing a
      // re-run would skip.
      held.check();
      storage.put(manifest_key, json{{"job", job_id}, {"resources", outcome.resources}}.dump());
    } catch (const JobCancelled&) {
      remove_quietly(uploaded);
      throw;
    }
    outcome.status = "completed";
    outcome.provenance = {{"job", job_id},
                          {"dataset", dataset.name},
                          {"version", dataset.version},
                          {"processor", dataset.processor},
                          {"sources", redacted(dataset.sources)},
                          {"options", dataset.options},
                          {"started", started},
                          {"finished", packaging::now_rfc3339()},
                          {"files", published},
                          {"tessera", tessera::version()}};
    return outcome;
  }

  // Stores the features of the source's layer as boundaries (add_boundaries).
  json add_boundaries_of(GDALDataset& dataset, const std::string& source, const BoundaryLoadOptions& options);

  // Removes `keys`, logging what cannot be removed (the storage may be down).
  void remove_quietly(const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
      try {
        storage.remove(key);
      } catch (const std::exception& error) {
        tessera::log(LogLevel::kWarning, fmt::format("package: removing {}: {}", key, error.what()));
      }
    }
  }

  // Publishes the datasets' resources into datapackage.json and their
  // provenance into provenance.json, under the boundary's package lock.
  json publish(const Boundary& boundary, const std::vector<DatasetDefinition>& datasets,
               const std::vector<DatasetOutcome>& outcomes, const BuildOptions& options, const std::string& owner) {
    const std::string lock_name = boundary.id + "/datapackage";
    const auto locks = locks_for(options);
    if (!packaging::acquire_waiting(*locks, lock_name, owner, options.lock_timeout, kLockPoll)) {
      throw Error(ErrorCode::kConflict, fmt::format("timed out waiting to update the package of '{}'", boundary.id));
    }
    const packaging::HeldLock held(*locks, lock_name, owner);
    const std::string package_key = boundary.id + "/datapackage.json";
    const std::string provenance_key = boundary.id + "/provenance.json";
    std::vector<std::string> replaced;
    std::vector<json> resources;
    json provenance = storage.exists(provenance_key) ? json::parse(storage.get(provenance_key))
                                                     : json{{"boundary", boundary.id}, {"entries", json::array()}};
    bool built_any = false;
    for (std::size_t i = 0; i < datasets.size(); ++i) {
      if (outcomes[i].resources.empty()) {
        continue;
      }
      replaced.push_back(datasets[i].name);
      resources.insert(resources.end(), outcomes[i].resources.begin(), outcomes[i].resources.end());
      if (!outcomes[i].provenance.is_null()) {
        provenance["entries"].push_back(outcomes[i].provenance);
        built_any = true;
      }
    }
    const json existing = storage.exists(package_key) ? json::parse(storage.get(package_key)) : json();
    json package = packaging::updated_package(existing, boundary, replaced, resources);
    // A re-run that only found its outputs published leaves both files alone
    // (same bytes, ETags and times), so repeated or retried jobs are no-ops.
    if (!built_any && existing.is_object() && same_apart_from_created(existing, package)) {
      return existing;
    }
    // Data first, then the package that points at it: a reader of the
    // package always finds its files.
    held.check();
    storage.put(provenance_key, provenance.dump(2));
    // The pages and thumbnail go with the package they describe, each put
    // whole, and before datapackage.json: whatever a reader opens names only
    // files that are there.
    storage.put(fmt::format("{}/{}", boundary.id, packaging::kThumbnailFile),
                packaging::boundary_thumbnail_png(boundary.geometry));
    storage.put(boundary.id + "/license.html", packaging::package_license_html(package, boundary));
    storage.put(boundary.id + "/index.html", packaging::package_index_html(package, boundary));
    storage.put(package_key, package.dump(2));
    return package;
  }
};

Packager::Packager(Storage& storage, Catalog* catalog) : impl_(std::make_unique<Impl>(storage, catalog)) {}
Packager::~Packager() = default;

Storage& Packager::storage() const noexcept { return impl_->storage; }

void Packager::register_processor(const std::string& name, std::shared_ptr<Processor> processor) {
  if (name.empty() || !processor) {
    throw Error(ErrorCode::kInvalidInput, "register_processor: a name and a processor are required");
  }
  const std::lock_guard lock(impl_->mutex);
  impl_->processors[name] = std::move(processor);
}

void Packager::add_processor(RegisteredProcessor processor) { impl_->registry.add(std::move(processor)); }

json Packager::add_processors(const json& entries) { return impl_->registry.add_json(entries); }

json Packager::processors() { return impl_->registry.list(); }

RegisteredProcessor Packager::processor(std::string_view dataset, std::string_view version) {
  return impl_->registry.get(fmt::format("{}/{}", dataset, version));
}

std::vector<DatasetDefinition> Packager::processor_definitions(const std::vector<std::string>& names) {
  return impl_->registry.definitions(names);
}

json Packager::add_boundaries(const std::string& source, const BoundaryLoadOptions& options) {
  gdal::ensure_initialized();
  // A PostGIS connection string is the host's own configuration, not an href
  // that came with data, so it bypasses the href allow-list.
  const bool postgis = source.starts_with("PG:");
  const storage::GdalSource input =
      postgis ? storage::GdalSource{source, nullptr} : storage::resolve_gdal_source(source, {});
  GDALDatasetUniquePtr dataset;
  if (postgis) {
    gdal::ErrorCapture errors;
    const char* const postgis_only[] = {"PostgreSQL", nullptr};
    dataset.reset(GDALDataset::Open(source.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, postgis_only));
    if (!dataset) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("boundaries: cannot read PostGIS source: {}", errors.messages()));
    }
  } else {
    dataset = storage::open_href_dataset(input, source, GDAL_OF_VECTOR);
  }
  return impl_->add_boundaries_of(*dataset, source, options);
}

json Packager::add_boundaries_geojson(const json& features, const BoundaryLoadOptions& options) {
  const std::string type = features.is_object() ? features.value("type", "") : "";
  if (type != "FeatureCollection" && type != "Feature") {
    throw Error(ErrorCode::kInvalidInput, "boundaries: expected a GeoJSON FeatureCollection or Feature");
  }
  gdal::ensure_initialized();
  // The upload is data, not an href: read from memory by the GeoJSON driver only.
  const std::string text = features.dump();
  const std::string path = fmt::format("/vsimem/tessera-boundaries-{}.geojson", new_job_id());
  VSILFILE* file =
      VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(text.data())), text.size(), FALSE);
  if (file == nullptr) {
    throw Error(ErrorCode::kInternal, "boundaries: cannot stage the upload in memory");
  }
  VSIFCloseL(file);
  struct Unlink {
    const std::string& path;
    ~Unlink() { VSIUnlink(path.c_str()); }
  } unlink{path};
  gdal::ErrorCapture errors;
  const char* const geojson_only[] = {"GeoJSON", nullptr};
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, geojson_only));
  if (!dataset) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("boundaries: not readable GeoJSON: {}", errors.messages()));
  }
  BoundaryLoadOptions first_layer = options;
  first_layer.layer.clear();
  return impl_->add_boundaries_of(*dataset, "the upload", first_layer);
}

json Packager::Impl::add_boundaries_of(GDALDataset& dataset, const std::string& source,
                                       const BoundaryLoadOptions& options) {
  OGRLayer* layer = options.layer.empty() ? dataset.GetLayer(0) : dataset.GetLayerByName(options.layer.c_str());
  if (layer == nullptr) {
    throw Error(ErrorCode::kNotFound, fmt::format("boundaries: '{}' has no layer '{}'", source, options.layer));
  }
  OGRFeatureDefn* definition = layer->GetLayerDefn();
  const int name_index = definition->GetFieldIndex(options.name_field.c_str());
  const int long_name_index =
      options.long_name_field.empty() ? name_index : definition->GetFieldIndex(options.long_name_field.c_str());
  auto missing_field = [&](const std::string& field) {
    std::string fields;
    for (int i = 0; i < definition->GetFieldCount(); ++i) {
      fields += (i == 0 ? "" : ", ") + std::string(definition->GetFieldDefn(i)->GetNameRef());
    }
    return Error(ErrorCode::kInvalidInput, fmt::format("boundaries: layer '{}' of '{}' has no field '{}' (fields: {})",
                                                       layer->GetName(), source, field, fields));
  };
  if (name_index < 0) {
    throw missing_field(options.name_field);
  }
  if (long_name_index < 0) {
    throw missing_field(options.long_name_field);
  }
  const Crs crs = packaging::crs_of(layer->GetSpatialRef());
  const bool wgs84 = crs.same_as(Crs::wgs84());
  json added = json::array();
  std::map<std::string, std::string> names_by_id;
  for (auto& feature : *layer) {
    const std::string name = feature->GetFieldAsString(name_index);
    const OGRGeometry* geometry = feature->GetGeometryRef();
    if (name.empty() || geometry == nullptr || geometry->IsEmpty()) {
      tessera::log(LogLevel::kWarning, fmt::format("boundaries: feature {} of '{}' has no {}; left out",
                                                   feature->GetFID(), source, name.empty() ? "name" : "geometry"));
      continue;
    }
    Boundary boundary;
    boundary.id = packaging::slug(name);
    if (boundary.id.empty()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("boundaries: name '{}' has no letters or digits", name));
    }
    if (const auto [other, inserted] = names_by_id.emplace(boundary.id, name); !inserted) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("boundaries: '{}' and '{}' of '{}' have the same id '{}'; give them names that differ "
                              "in letters or digits",
                              other->second, name, source, boundary.id));
    }
    boundary.name = name;
    boundary.long_name = feature->GetFieldAsString(long_name_index);
    const Geometry owned(geometry->clone());
    boundary.geometry = wgs84 ? owned.clone() : owned.transformed(crs, Crs::wgs84());
    if (const Validity validity = boundary.geometry.validity(); !validity.valid) {
      tessera::log(LogLevel::kWarning,
                   fmt::format("boundary '{}' is not valid ({}); repaired with make_valid", name, validity.reason));
      OGRMultiPolygon polygons;
      packaging::append_polygons(*boundary.geometry.make_valid().ogr(), polygons);
      boundary.geometry = Geometry(polygons.clone());
    }
    storage.put(boundary_key(boundary.id), boundary.to_json().dump());
    added.push_back({{"id", boundary.id}, {"name", boundary.name}, {"long_name", boundary.long_name}});
  }
  return added;
}

json Packager::boundaries() {
  json list = json::array();
  for (const auto& key : impl_->storage.list(std::string(kBoundaryPrefix))) {
    if (!key.ends_with(".json")) {
      continue;
    }
    const json feature = json::parse(impl_->storage.get(key));
    list.push_back({{"id", feature["id"]},
                    {"name", feature["properties"]["name"]},
                    {"long_name", feature["properties"]["long_name"]},
                    {"bbox", feature["bbox"]}});
  }
  return list;
}

Boundary Packager::boundary(std::string_view name_or_id) {
  const std::string id = packaging::slug(name_or_id);
  if (!id.empty() && impl_->storage.exists(boundary_key(id))) {
    return Boundary::from_json(json::parse(impl_->storage.get(boundary_key(id))));
  }
  throw Error(ErrorCode::kNotFound,
              fmt::format("boundary '{}' is not known (add it with add_boundaries; see boundaries())", name_or_id));
}

json Packager::build(std::string_view boundary_name, const json& datasets, const BuildOptions& options) {
  if (!datasets.is_array() || datasets.empty()) {
    throw Error(ErrorCode::kInvalidInput, "datasets: expected a non-empty array of dataset definitions");
  }
  std::vector<DatasetDefinition> definitions;
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    definitions.push_back(DatasetDefinition::from_json(datasets[i], fmt::format("datasets[{}]", i)));
  }
  return build(boundary_name, definitions, options);
}

json Packager::build(std::string_view boundary_name, const std::vector<DatasetDefinition>& datasets,
                     const BuildOptions& options) {
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (datasets[i].name == datasets[j].name) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("datasets[{}].name: '{}' is also datasets[{}]", i, datasets[i].name, j));
      }
    }
    impl_->plugin(datasets[i].processor);
  }
  const std::string job_id = options.job_id.empty() ? new_job_id() : options.job_id;
  packaging::check_job_id(job_id);
  packaging::JobRecord job(impl_->storage, job_id, boundary_name, datasets);
  const std::string cancel_key = packaging::cancel_key(job_id);
  // Every step boundary asks the storage, so a cancel from any process (the
  // server, a Dask client) stops the job wherever it runs.
  const auto check_cancelled = [&] {
    if (impl_->storage.exists(cancel_key)) {
      throw JobCancelled{};
    }
  };
  const auto forget_cancel = [&] {
    try {
      if (impl_->storage.exists(cancel_key)) {
        impl_->storage.remove(cancel_key);
      }
    } catch (const std::exception& error) {
      tessera::log(LogLevel::kWarning,
                   fmt::format("package job {}: cancel request not removed: {}", job_id, error.what()));
    }
  };
  std::mutex progress_mutex;
  std::size_t done = 0;
  auto report = [&](std::size_t finished, const std::string& step) {
    const double percent =
        datasets.empty() ? 100.0 : 100.0 * static_cast<double>(finished) / static_cast<double>(datasets.size() + 1);
    job.update([&](json& record) {
      record["percent"] = percent;
      record["step"] = step;
    });
    if (options.progress) {
      options.progress(percent, step);
    }
  };
  try {
    check_cancelled();
    const Boundary boundary = this->boundary(boundary_name);
    job.update([&](json& record) {
      record["status"] = "running";
      record["started"] = packaging::now_rfc3339();
    });
    const std::string owner = packaging::new_owner_token();
    std::vector<Impl::DatasetOutcome> outcomes(datasets.size());
    std::atomic<std::size_t> next{0};
    std::atomic<bool> cancelled{false};
    auto worker = [&] {
      for (std::size_t i = next++; i < datasets.size() && !cancelled; i = next++) {
        {
          const std::lock_guard lock(progress_mutex);
          report(done, fmt::format("{}: processing", datasets[i].name));
        }
        const Impl::DatasetSteps steps{[&job, i](const std::string& step, double percent) {
                                         job.update([&](json& record) {
                                           record["datasets"][i]["status"] = "running";
                                           record["datasets"][i]["step"] = step;
                                           record["datasets"][i]["percent"] = percent;
                                         });
                                       },
                                       check_cancelled};
        try {
          check_cancelled();
          outcomes[i] = impl_->run_dataset(boundary, datasets[i], options, job_id, owner, steps);
        } catch (const JobCancelled&) {
          cancelled = true;
          outcomes[i] = {"cancelled", "the job was cancelled", ErrorCode::kConflict, {}, nullptr};
        } catch (const Error& error) {
          outcomes[i] = {"failed", error.what(), error.code(), {}, nullptr};
        } catch (const std::exception& error) {
          outcomes[i] = {"failed", error.what(), ErrorCode::kInternal, {}, nullptr};
        }
        const std::lock_guard lock(progress_mutex);
        job.update([&](json& record) {
          record["datasets"][i]["status"] = outcomes[i].status;
          record["datasets"][i]["step"] = outcomes[i].status;
          record["datasets"][i]["percent"] = 100.0;
          record["datasets"][i]["error"] = outcomes[i].error.empty() ? json(nullptr) : json(outcomes[i].error);
        });
        report(++done, fmt::format("{}: {}", datasets[i].name, outcomes[i].status));
      }
    };
    const std::size_t pool_size = std::max<std::size_t>(1, std::min(options.parallelism, datasets.size()));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < pool_size; ++t) {
      pool.emplace_back(worker);
    }
    worker();
    for (auto& thread : pool) {
      thread.join();
    }
    if (cancelled) {
      throw JobCancelled{};
    }
    check_cancelled();  // the last step boundary: the package is not updated after it
    report(done, "publishing datapackage.json");
    json package = impl_->publish(boundary, datasets, outcomes, options, owner);
    std::string failures;
    ErrorCode code = ErrorCode::kInternal;
    for (std::size_t i = 0; i < datasets.size(); ++i) {
      if (outcomes[i].status == "failed") {
        failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", datasets[i].name, outcomes[i].error);
        code = outcomes[i].code;
      }
    }
    job.update([&](json& record) {
      for (const auto& outcome : outcomes) {
        if (!outcome.provenance.is_null()) {
          record["provenance"].push_back(outcome.provenance);
        }
      }
    });
    if (!failures.empty()) {
      throw Error(code, fmt::format("package job {}: {}", job_id, failures));
    }
    job.finish([&](json& record) {
      record["status"] = "completed";
      record["percent"] = 100.0;
      record["step"] = "done";
      record["finished"] = packaging::now_rfc3339();
    });
    forget_cancel();
    if (options.progress) {
      options.progress(100.0, "done");
    }
    return package;
  } catch (const JobCancelled&) {
    // The request is gone before the record says cancelled: whoever sees the
    // final status sees no cancel request left behind.
    forget_cancel();
    try {
      job.finish([&](json& record) {
        record["status"] = "cancelled";
        record["step"] = "cancelled";
        record["error"] = "the job was cancelled";
        record["finished"] = packaging::now_rfc3339();
        for (auto& dataset : record["datasets"]) {
          if (dataset["status"] == "pending" || dataset["status"] == "running") {
            dataset["status"] = "cancelled";
            dataset["step"] = "cancelled";
          }
        }
      });
    } catch (const Error& status_error) {
      tessera::log(LogLevel::kWarning,
                   fmt::format("package job {}: final status 'cancelled' not saved: {}", job_id, status_error.what()));
    }
    throw Error(ErrorCode::kConflict, fmt::format("package job {}: cancelled", job_id));
  } catch (const std::exception& error) {
    // The job's own error is what the caller gets (naming the job), even when
    // its record cannot be stored either (job_status keeps the last saved state).
    try {
      job.finish([&](json& record) {
        record["status"] = "failed";
        record["error"] = core::redact_secrets(error.what());
        record["finished"] = packaging::now_rfc3339();
      });
    } catch (const Error& status_error) {
      tessera::log(LogLevel::kWarning,
                   fmt::format("package job {}: final status 'failed' not saved: {}", job_id, status_error.what()));
    }
    forget_cancel();
    const auto* failure = dynamic_cast<const Error*>(&error);
    if (failure != nullptr && !std::string_view(failure->what()).starts_with("package job ")) {
      throw Error(failure->code(), fmt::format("package job {}: {}", job_id, failure->what()));
    }
    throw;
  }
}

json Packager::cancel_job(std::string_view job_id) {
  json record = job_status(job_id);
  if (!packaging::is_finished(record.value("status", ""))) {
    impl_->storage.put(packaging::cancel_key(job_id), json{{"requested", packaging::now_rfc3339()}}.dump());
    record["cancel_requested"] = true;
  }
  return record;
}

json Packager::job_status(std::string_view job_id) {
  if (!packaging::is_valid_job_id(job_id)) {
    throw Error(ErrorCode::kNotFound, fmt::format("job '{}' is not known", job_id.substr(0, 128)));
  }
  const std::string key = job_key(job_id);
  if (!impl_->storage.exists(key)) {
    throw Error(ErrorCode::kNotFound, fmt::format("job '{}' is not known", job_id));
  }
  return json::parse(impl_->storage.get(key));
}

}  // namespace tessera
