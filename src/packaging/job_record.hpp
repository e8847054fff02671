#pragma once

// Package job status records on storage (".tessera/jobs/<id>.json") and the
// cancel requests beside them. Internal header.

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/packaging.hpp"
#include "tessera/storage.hpp"

namespace tessera::packaging {

std::string job_key(std::string_view id);
// Written by Packager::cancel_job; the job stops at its next step boundary.
std::string cancel_key(std::string_view id);
// 16 random hex digits.
std::string new_job_id();
// Whether `id` can name a job (a storage key segment: letters, digits, '-',
// '_', '.'; at most 128 characters); check_job_id throws InvalidInput if not.
bool is_valid_job_id(std::string_view id);
void check_job_id(std::string_view id);
// Whether a record's status is final (completed, failed, cancelled).
bool is_finished(std::string_view status);

// Stores `record` (a job's status) as it is.
void save_job_record(Storage& storage, const nlohmann::json& record);

// The status record of one job, written to storage on every change so any
// process can read it by id.
class JobRecord {
 public:
  // A new "pending" record (saved) with one entry per dataset.
  JobRecord(Storage& storage, std::string id, std::string_view boundary,
            const std::vector<DatasetDefinition>& datasets);
  JobRecord(const JobRecord&) = delete;
  JobRecord& operator=(const JobRecord&) = delete;

  // Progress and per-dataset changes. A record the storage cannot take now
  // (S3 down, disk full) is logged and saved with a later change: the job's
  // outcome is decided by its outputs, and a status write that throws from a
  // worker thread must not end the process.
  void update(const std::function<void(nlohmann::json&)>& change);
  // The final state, which must be stored: throws when it cannot be.
  void finish(const std::function<void(nlohmann::json&)>& change);
  nlohmann::json snapshot();

 private:
  void save();

  Storage& storage_;
  std::mutex mutex_;
  nlohmann::json record_;
};

}  // namespace tessera::packaging
