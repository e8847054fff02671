#include "packaging/job_record.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <fmt/format.h>

#include "packaging/datapackage.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

namespace tessera::packaging {

using nlohmann::json;

namespace {

constexpr std::string_view kJobPrefix = ".tessera/jobs/";

}  // namespace

std::string job_key(std::string_view id) { return fmt::format("{}{}.json", kJobPrefix, id); }
std::string cancel_key(std::string_view id) { return fmt::format("{}{}.cancel", kJobPrefix, id); }

std::string new_job_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

namespace {
constexpr std::size_t kMaxJobIdLength = 128;
}  // namespace

bool is_valid_job_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxJobIdLength && id != "." && id != ".." &&
         std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.'; });
}

void check_job_id(std::string_view id) {
  constexpr std::size_t kMaxLength = kMaxJobIdLength;
  if (!is_valid_job_id(id)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("job id '{}' may only hold letters, digits, '-', '_' and '.' (1 to {} characters)",
                            id.substr(0, kMaxLength), kMaxLength));
  }
}

bool is_finished(std::string_view status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

JobRecord::JobRecord(Storage& storage, std::string id, std::string_view boundary,
                     const std::vector<DatasetDefinition>& datasets)
    : storage_(storage) {
  record_ = {{"id", std::move(id)},
             {"boundary", boundary},
             {"status", "pending"},
             {"error", nullptr},
             {"percent", 0.0},
             {"step", "queued"},
             {"created", now_rfc3339()},
             {"started", nullptr},
             {"finished", nullptr},
             {"processors", json::array()},
             {"datasets", json::array()},
             {"provenance", json::array()}};
  for (const auto& dataset : datasets) {
    const std::string name = dataset.name + "/" + dataset.version;
    record_["processors"].push_back(name);
    record_["datasets"].push_back({{"processor", name},
                                   {"name", dataset.name},
                                   {"version", dataset.version},
                                   {"status", "pending"},
                                   {"step", "queued"},
                                   {"percent", 0.0},
                                   {"error", nullptr}});
  }
  save();
}

void JobRecord::update(const std::function<void(json&)>& change) {
  const std::lock_guard lock(mutex_);
  change(record_);
  try {
    save();
  } catch (const Error& error) {
    tessera::log(LogLevel::kWarning, fmt::format("package job {}: status not saved yet: {}",
                                                 record_["id"].get<std::string>(), error.what()));
  }
}

void JobRecord::finish(const std::function<void(json&)>& change) {
  const std::lock_guard lock(mutex_);
  change(record_);
  save();
}

json JobRecord::snapshot() {
  const std::lock_guard lock(mutex_);
  return record_;
}

void save_job_record(Storage& storage, const json& record) {
  storage.put(job_key(record["id"].get<std::string>()), record.dump());
}

void JobRecord::save() { save_job_record(storage_, record_); }

}  // namespace tessera::packaging
