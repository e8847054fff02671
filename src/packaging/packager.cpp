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
#include "packaging/locks.hpp"
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
constexpr std::string_view kJobPrefix = ".tessera/jobs/";
constexpr std::string_view kOutputPrefix = ".tessera/outputs/";
constexpr auto kLockPoll = std::chrono::milliseconds(200);

std::string boundary_key(std::string_view id) { return fmt::format("{}{}.json", kBoundaryPrefix, id); }
std::string job_key(std::string_view id) { return fmt::format("{}{}.json", kJobPrefix, id); }

std::string new_job_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

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

// The status record of one job, written to storage on every change so any
// process can read it by id.
class JobRecord {
 public:
  JobRecord(Storage& storage, std::string id, std::string_view boundary, const std::vector<DatasetDefinition>& datasets)
      : storage_(storage) {
    record_ = {{"id", std::move(id)},
               {"boundary", boundary},
               {"status", "pending"},
               {"error", nullptr},
               {"percent", 0.0},
               {"step", "queued"},
               {"created", packaging::now_rfc3339()},
               {"started", nullptr},
               {"finished", nullptr},
               {"datasets", json::array()}};
    for (const auto& dataset : datasets) {
      record_["datasets"].push_back(
          {{"name", dataset.name}, {"version", dataset.version}, {"status", "pending"}, {"error", nullptr}});
    }
    save();
  }

  // Progress and per-dataset changes. A record the storage cannot take now
  // (S3 down, disk full) is logged and saved with a later change: the job's
  // outcome is decided by its outputs, and a status write that throws from a
  // worker thread must not end the process.
  void update(const std::function<void(json&)>& change) {
    const std::lock_guard lock(mutex_);
    change(record_);
    try {
      save();
    } catch (const Error& error) {
      tessera::log(LogLevel::kWarning, fmt::format("package job {}: status not saved yet: {}",
                                                   record_["id"].get<std::string>(), error.what()));
    }
  }
  // The final state, which must be stored: throws when it cannot be.
  void finish(const std::function<void(json&)>& change) {
    const std::lock_guard lock(mutex_);
    change(record_);
    save();
  }
  json snapshot() {
    const std::lock_guard lock(mutex_);
    return record_;
  }

 private:
  void save() { storage_.put(job_key(record_["id"].get<std::string>()), record_.dump()); }

  Storage& storage_;
  std::mutex mutex_;
  json record_;
};

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

  std::shared_ptr<Processor> processor(const std::string& name) {
    const std::lock_guard lock(mutex);
    const auto found = processors.find(name);
    if (found == processors.end()) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("processor '{}' is not registered", name));
    }
    return found->second;
  }

  // What one dataset of a job came to.
  struct DatasetOutcome {
    std::string status;  // completed | skipped | no_data | in_progress | failed
    std::string error;
    ErrorCode code = ErrorCode::kInternal;
    std::vector<json> resources;
    json provenance;
  };

  DatasetOutcome run_dataset(const Boundary& boundary, const DatasetDefinition& dataset, const BuildOptions& options,
                             const std::string& job_id, const std::string& owner) {
    DatasetOutcome outcome;
    const std::string manifest_key =
        fmt::format("{}{}/{}/{}.json", kOutputPrefix, boundary.id, dataset.name, dataset.version);
    const std::string lock_name = fmt::format("{}/{}/{}", boundary.id, dataset.name, dataset.version);
    const auto locks = locks_for(options);
    const bool locked = options.wait_for_locks
                            ? packaging::acquire_waiting(*locks, lock_name, owner, options.lock_timeout, kLockPoll)
                            : locks->try_acquire(lock_name, owner);
    if (!locked) {
      outcome.status = options.wait_for_locks ? "failed" : "in_progress";
      outcome.code = ErrorCode::kConflict;
      outcome.error = fmt::format("'{}' version '{}' is being built by another job{}", dataset.name, dataset.version,
                                  options.wait_for_locks ? " (timed out waiting for it)" : "");
      return outcome;
    }
    const packaging::HeldLock held(*locks, lock_name, owner);
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
    try {
      files = processor(dataset.processor)->process(context);
    } catch (const Error& error) {
      outcome.status = error.code() == ErrorCode::kNotFound ? "no_data" : "failed";
      outcome.code = error.code();
      outcome.error = error.what();
      return outcome;
    }
    held.check();  // nothing is uploaded under a lock that was lost
    json published = json::array();
    for (std::size_t i = 0; i < files.size(); ++i) {
      const fs::path local = folder.path() / files[i].file;
      if (files[i].file.empty() || files[i].file.find('/') != std::string::npos || !fs::is_regular_file(local)) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("processor '{}' reported file '{}', which it did not write "
                                                          "in its output folder",
                                                          dataset.processor, files[i].file));
      }
      const std::string relative = fmt::format("datasets/{}/{}/{}", dataset.name, dataset.version, files[i].file);
      const std::string hash = core::sha256_hex_of_file(local);
      const std::uint64_t bytes = fs::file_size(local);
      storage.put_file(fmt::format("{}/{}", boundary.id, relative), local);
      outcome.resources.push_back(packaging::resource_of(dataset, files[i], relative, bytes, hash, i, files.size()));
      published.push_back({{"path", relative}, {"bytes", bytes}, {"hash", "sha256:" + hash}});
    }
    // Written last: a job that dies before this point publishes nothing a
    // re-run would skip.
    held.check();
    storage.put(manifest_key, json{{"job", job_id}, {"resources", outcome.resources}}.dump());
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
    storage.put(package_key, package.dump(2));
    return package;
  }
};

Packager::Packager(Storage& storage, Catalog* catalog) : impl_(std::make_unique<Impl>(storage, catalog)) {}
Packager::~Packager() = default;

void Packager::register_processor(const std::string& name, std::shared_ptr<Processor> processor) {
  if (name.empty() || !processor) {
    throw Error(ErrorCode::kInvalidInput, "register_processor: a name and a processor are required");
  }
  const std::lock_guard lock(impl_->mutex);
  impl_->processors[name] = std::move(processor);
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
  OGRLayer* layer = options.layer.empty() ? dataset->GetLayer(0) : dataset->GetLayerByName(options.layer.c_str());
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
    impl_->storage.put(boundary_key(boundary.id), boundary.to_json().dump());
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
    impl_->processor(datasets[i].processor);
  }
  const std::string job_id = options.job_id.empty() ? new_job_id() : options.job_id;
  if (job_id.find_first_of("/\\") != std::string::npos) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("job id '{}' may not contain '/' or '\\\\'", job_id));
  }
  JobRecord job(impl_->storage, job_id, boundary_name, datasets);
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
    const Boundary boundary = this->boundary(boundary_name);
    job.update([&](json& record) {
      record["status"] = "running";
      record["started"] = packaging::now_rfc3339();
    });
    const std::string owner = packaging::new_owner_token();
    std::vector<Impl::DatasetOutcome> outcomes(datasets.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < datasets.size(); i = next++) {
        {
          const std::lock_guard lock(progress_mutex);
          report(done, fmt::format("{}: processing", datasets[i].name));
        }
        try {
          outcomes[i] = impl_->run_dataset(boundary, datasets[i], options, job_id, owner);
        } catch (const Error& error) {
          outcomes[i] = {"failed", error.what(), error.code(), {}, nullptr};
        } catch (const std::exception& error) {
          outcomes[i] = {"failed", error.what(), ErrorCode::kInternal, {}, nullptr};
        }
        const std::lock_guard lock(progress_mutex);
        job.update([&](json& record) {
          record["datasets"][i]["status"] = outcomes[i].status;
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
    if (!failures.empty()) {
      throw Error(code, fmt::format("package job {}: {}", job_id, failures));
    }
    job.finish([&](json& record) {
      record["status"] = "completed";
      record["percent"] = 100.0;
      record["step"] = "done";
      record["finished"] = packaging::now_rfc3339();
    });
    if (options.progress) {
      options.progress(100.0, "done");
    }
    return package;
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
    const auto* failure = dynamic_cast<const Error*>(&error);
    if (failure != nullptr && !std::string_view(failure->what()).starts_with("package job ")) {
      throw Error(failure->code(), fmt::format("package job {}: {}", job_id, failure->what()));
    }
    throw;
  }
}

json Packager::job_status(std::string_view job_id) {
  const std::string key = job_key(job_id);
  if (job_id.empty() || job_id.find('/') != std::string_view::npos || !impl_->storage.exists(key)) {
    throw Error(ErrorCode::kNotFound, fmt::format("job '{}' is not known", job_id));
  }
  return json::parse(impl_->storage.get(key));
}

}  // namespace tessera
