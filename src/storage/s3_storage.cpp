#include "storage/s3_storage.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <cpl_vsi.h>
#include <cpl_vsi_error.h>

#include <fmt/format.h>

#include "core/gdal_env.hpp"
#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace tessera::storage {
namespace {

struct VsiFileCloser {
  void operator()(VSILFILE* file) const noexcept {
    if (file != nullptr) {
      (void)VSIFCloseL(file);
    }
  }
};
using VsiFile = std::unique_ptr<VSILFILE, VsiFileCloser>;

struct VsiDirCloser {
  void operator()(VSIDIR* dir) const noexcept { VSICloseDir(dir); }
};

// Option name -> GDAL configuration key. Unknown names are InvalidInput.
const std::pair<const char*, const char*> kOptionKeys[] = {
    {"endpoint", "AWS_S3_ENDPOINT"},        {"region", "AWS_REGION"},
    {"access_key_id", "AWS_ACCESS_KEY_ID"}, {"secret_access_key", "AWS_SECRET_ACCESS_KEY"},
    {"session_token", "AWS_SESSION_TOKEN"}, {"https", "AWS_HTTPS"},
    {"path_style", "AWS_VIRTUAL_HOSTING"},
};

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The settings for one bucket: explicit options first, then the AWS
// environment variables as the AWS SDKs read them.
std::map<std::string, std::string> bucket_settings(const StorageOptions& options) {
  std::map<std::string, std::string> settings;
  // Not a structured binding: clang before 16 cannot capture one in a lambda.
  for (const auto& option : options) {
    const std::string& name = option.first;
    const auto* known = std::find_if(std::begin(kOptionKeys), std::end(kOptionKeys),
                                     [&](const auto& pair) { return name == pair.first; });
    if (known == std::end(kOptionKeys)) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("unknown S3 storage option '{}' (known: endpoint, region, access_key_id, "
                              "secret_access_key, session_token, https, path_style)",
                              name));
    }
    settings[known->second] = option.second;
  }
  std::string endpoint = settings.count("AWS_S3_ENDPOINT") != 0 ? settings["AWS_S3_ENDPOINT"] : "";
  if (endpoint.empty()) {
    endpoint = env("AWS_ENDPOINT_URL_S3");
  }
  if (endpoint.empty()) {
    endpoint = env("AWS_ENDPOINT_URL");
  }
  // GDAL wants host[:port] and AWS_HTTPS; the AWS variables carry a URL.
  if (endpoint.starts_with("http://")) {
    settings.emplace("AWS_HTTPS", "NO");
    endpoint = endpoint.substr(7);
  } else if (endpoint.starts_with("https://")) {
    endpoint = endpoint.substr(8);
  }
  while (!endpoint.empty() && endpoint.back() == '/') {
    endpoint.pop_back();
  }
  if (!endpoint.empty()) {
    settings["AWS_S3_ENDPOINT"] = endpoint;
    // Custom endpoints (MinIO, versitygw) address buckets by path by default.
    settings.emplace("AWS_VIRTUAL_HOSTING", "FALSE");
  }
  if (const auto it = settings.find("AWS_VIRTUAL_HOSTING"); it != settings.end()) {
    // The option is "path_style": true means no virtual hosting.
    if (options.count("path_style") != 0) {
      const std::string& value = options.at("path_style");
      it->second =
          (value == "true" || value == "TRUE" || value == "yes" || value == "YES" || value == "1") ? "FALSE" : "TRUE";
    }
  }
  if (const auto it = settings.find("AWS_HTTPS"); it != settings.end() && options.count("https") != 0) {
    const std::string& value = options.at("https");
    it->second =
        (value == "false" || value == "FALSE" || value == "no" || value == "NO" || value == "0") ? "NO" : "YES";
  }
  for (const auto& [variable, key] :
       {std::pair{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"},
        std::pair{"AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"},
        std::pair{"AWS_SESSION_TOKEN", "AWS_SESSION_TOKEN"}, std::pair{"AWS_REGION", "AWS_REGION"}}) {
    if (settings.count(key) == 0 && !env(variable).empty()) {
      settings[key] = env(variable);
    }
  }
  // Transient failures (5xx, timeouts) are retried with backoff by GDAL.
  settings.emplace("GDAL_HTTP_MAX_RETRY", "4");
  settings.emplace("GDAL_HTTP_RETRY_DELAY", "0.5");
  return settings;
}

// S3's rules for bucket names (DNS-compatible): 3 to 63 lower-case letters,
// digits, dots and hyphens, starting and ending with a letter or digit, no
// "..", not an IP address. A name from data never becomes some other /vsis3/ path.
void validate_bucket_name(const std::string& bucket) {
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool valid = bucket.size() >= 3 && bucket.size() <= 63 && alnum(bucket.front()) && alnum(bucket.back()) &&
               bucket.find("..") == std::string::npos && bucket.find(".-") == std::string::npos &&
               bucket.find("-.") == std::string::npos &&
               std::all_of(bucket.begin(), bucket.end(), [&](char c) { return alnum(c) || c == '.' || c == '-'; });
  if (valid) {
    const bool ip_like =
        std::count(bucket.begin(), bucket.end(), '.') == 3 &&
        std::all_of(bucket.begin(), bucket.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    valid = !ip_like;
  }
  if (!valid) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("'{}' is not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-'; starting and "
                            "ending with a letter or digit)",
                            bucket));
  }
}

// The settings GDAL holds for each bucket, and how many storages use them.
struct BucketSettings {
  std::map<std::string, std::string> settings;
  std::size_t users = 0;
};

std::mutex& buckets_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<std::string, BucketSettings>& installed_buckets() {
  static std::map<std::string, BucketSettings> buckets;
  return buckets;
}

// Takes the bucket's settings for one more storage: installs them when no
// storage uses the bucket, refuses different ones while one does.
void acquire_bucket(const std::string& bucket, const std::map<std::string, std::string>& settings) {
  const std::lock_guard lock(buckets_mutex());
  BucketSettings& installed = installed_buckets()[bucket];
  if (installed.users > 0) {
    if (installed.settings != settings) {
      throw Error(ErrorCode::kConflict,
                  fmt::format("S3 bucket '{}' is already open in this process with other settings (endpoint, region "
                              "or credentials); GDAL keeps one set per bucket: open it with the same settings",
                              bucket));
    }
    ++installed.users;
    return;
  }
  const std::string bucket_path = "/vsis3/" + bucket;
  VSIClearPathSpecificOptions(bucket_path.c_str());
  for (const auto& [key, value] : settings) {
    VSISetPathSpecificOption(bucket_path.c_str(), key.c_str(), value.c_str());
  }
  installed.settings = settings;
  installed.users = 1;
}

void release_bucket(const std::string& bucket) {
  const std::lock_guard lock(buckets_mutex());
  BucketSettings& installed = installed_buckets()[bucket];
  if (installed.users > 0) {
    --installed.users;
  }
}

}  // namespace

S3Storage::S3Storage(const std::string& location, const StorageOptions& options) {
  gdal::ensure_initialized();
  const std::size_t slash = location.find('/');
  bucket_ = location.substr(0, slash);
  if (bucket_.empty()) {
    throw Error(ErrorCode::kInvalidInput, "S3 storage URI has no bucket (s3://bucket/prefix)");
  }
  validate_bucket_name(bucket_);
  if (slash != std::string::npos) {
    std::string prefix = location.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') {
      prefix.pop_back();
    }
    if (!prefix.empty()) {
      validate_storage_key(prefix);
      prefix_ = prefix + '/';
    }
  }
  acquire_bucket(bucket_, bucket_settings(options));
}

S3Storage::~S3Storage() { release_bucket(bucket_); }

std::string S3Storage::vsi_path(std::string_view key) const {
  validate_storage_key(key);
  return fmt::format("/vsis3/{}/{}{}", bucket_, prefix_, key);
}

void S3Storage::forget_cache(const std::string& path) const { VSICurlPartialClearCache(path.c_str()); }

void S3Storage::throw_failure(std::string_view what, std::string_view key, std::string message) const {
  // GDAL's S3 handler files S3's own error code (from the XML error body)
  // with VSIError; CPLError carries only a summary.
  VSIErrorNum s3_error = VSIGetLastErrorNo();
  if (s3_error == VSIE_None) {
    // Writes report no S3 error code: ask about the bucket itself.
    VSIStatBufL info;
    const std::string bucket_path = "/vsis3/" + bucket_;
    if (VSIStatExL(bucket_path.c_str(), &info, VSI_STAT_EXISTS_FLAG | VSI_STAT_SET_ERROR_FLAG) == 0) {
      VSIErrorReset();  // the bucket is there and readable
    }
    s3_error = VSIGetLastErrorNo();
    if (s3_error == VSIE_AWSObjectNotFound) {
      s3_error = VSIE_None;  // the bucket answered: the failure was about the object
    }
  }
  const std::string s3_message = VSIGetLastErrorMsg() != nullptr ? VSIGetLastErrorMsg() : "";
  if (message.empty()) {
    message = gdal::last_error_message();
  }
  if (!s3_message.empty()) {
    message = s3_message;
  }
  VSIErrorReset();
  CPLErrorReset();
  switch (s3_error) {
    case VSIE_AWSBucketNotFound:
      throw Error(ErrorCode::kNotFound, fmt::format("S3 bucket '{}' does not exist ({} '{}')", bucket_, what, key));
    case VSIE_AWSObjectNotFound:
      throw Error(ErrorCode::kNotFound, fmt::format("key '{}' not found in {}", key, root_uri()));
    case VSIE_AWSAccessDenied:
    case VSIE_AWSInvalidCredentials:
    case VSIE_AWSSignatureDoesNotMatch:
      throw Error(ErrorCode::kIo, fmt::format("S3 access to '{}' denied: check the credentials ({} '{}': {})",
                                              root_uri(), what, key, message));
    default:
      break;
  }
  const bool unreachable =
      message.find("Couldn't connect") != std::string::npos || message.find("Could not resolve") != std::string::npos ||
      message.find("timed out") != std::string::npos || message.find("Connection refused") != std::string::npos;
  if (unreachable) {
    throw Error(ErrorCode::kUnavailable, fmt::format("S3 endpoint for '{}' unavailable ({} '{}': {}); retry later",
                                                     root_uri(), what, key, message));
  }
  throw Error(ErrorCode::kIo,
              fmt::format("S3 {} '{}' in {} failed{}{}", what, key, root_uri(), message.empty() ? "" : ": ", message));
}

// GDAL's /vsis3/ has no conditional PUT: write, wait for a concurrent
// writer's PUT to land, and report success only if ours is the object that
// stayed.
bool S3Storage::put_if_absent(std::string_view key, std::string_view data) {
  if (exists(key)) {
    return false;
  }
  put(key, data);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  try {
    return get(key) == data;
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kNotFound) {
      return false;
    }
    throw;
  }
}

void S3Storage::put(std::string_view key, std::string_view data) {
  const std::string path = vsi_path(key);
  gdal::ErrorCapture errors;  // S3's own error code comes before GDAL's summary
  VSILFILE* raw = VSIFOpenExL(path.c_str(), "wb", TRUE);
  if (raw == nullptr) {
    throw_failure("write", key, errors.messages());
  }
  VsiFile file(raw);
  if (!data.empty() && VSIFWriteL(data.data(), 1, data.size(), file.get()) != data.size()) {
    throw_failure("write", key, errors.messages());
  }
  // The upload (single PUT or the last multipart step) happens on close, so
  // that is where its errors surface.
  if (VSIFCloseL(file.release()) != 0) {
    throw_failure("write", key, errors.messages());
  }
  forget_cache(path);
}

void S3Storage::put_file(std::string_view key, const std::filesystem::path& source) {
  std::ifstream input(source, std::ios::binary);
  if (!input) {
    throw Error(ErrorCode::kNotFound, fmt::format("cannot open source file '{}'", source.string()));
  }
  const std::string path = vsi_path(key);
  gdal::ErrorCapture errors;
  VSILFILE* raw = VSIFOpenExL(path.c_str(), "wb", TRUE);
  if (raw == nullptr) {
    throw_failure("write", key, errors.messages());
  }
  VsiFile file(raw);
  std::string buffer(std::size_t{8} << 20, '\0');
  while (input) {
    input.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(input.gcount());
    if (got > 0 && VSIFWriteL(buffer.data(), 1, got, file.get()) != got) {
      throw_failure("write", key, errors.messages());
    }
  }
  if (VSIFCloseL(file.release()) != 0) {
    throw_failure("write", key, errors.messages());
  }
  forget_cache(path);
}

std::string S3Storage::get(std::string_view key) {
  // One streaming GET: a ranged read could span two versions of an object
  // that another writer replaces meanwhile.
  const std::string path = fmt::format("/vsis3_streaming/{}/{}{}", bucket_, prefix_, key);
  validate_storage_key(key);
  VSIErrorReset();
  CPLErrorReset();
  VsiFile file(VSIFOpenExL(path.c_str(), "rb", TRUE));
  if (!file) {
    if (VSIGetLastErrorNo() != VSIE_AWSBucketNotFound) {
      // GDAL's streaming reader does not open empty objects; stat says why it failed.
      if (stat(key).size == 0) {
        return {};
      }
    }
    throw_failure("read", key);
  }
  std::string data;
  std::string chunk(std::size_t{1} << 20, '\0');
  for (;;) {
    const std::size_t got = VSIFReadL(chunk.data(), 1, chunk.size(), file.get());
    data.append(chunk, 0, got);
    if (got < chunk.size()) {
      break;
    }
  }
  // The stream's own Content-Length tells a complete read from a cut one.
  VSIStatBufL info;
  if (VSIStatL(path.c_str(), &info) == 0 && static_cast<std::uint64_t>(info.st_size) != data.size()) {
    throw Error(ErrorCode::kUnavailable, fmt::format("reading '{}' from {} was cut short ({} of {} bytes); retry", key,
                                                     root_uri(), data.size(), info.st_size));
  }
  return data;
}

VSIStatBufL S3Storage::stat_object(std::string_view key, std::string_view what) const {
  const std::string path = vsi_path(key);
  forget_cache(path);
  CPLErrorReset();
  VSIStatBufL info;
  if (VSIStatExL(path.c_str(), &info, VSI_STAT_EXISTS_FLAG | VSI_STAT_SIZE_FLAG | VSI_STAT_SET_ERROR_FLAG) != 0 ||
      VSI_ISDIR(info.st_mode)) {
    const std::string message = gdal::last_error_message();
    if (message.empty() || message.find("404") != std::string::npos || message.find("NoSuchKey") != std::string::npos) {
      throw Error(ErrorCode::kNotFound, fmt::format("key '{}' not found in {}", key, root_uri()));
    }
    throw_failure(what, key);
  }
  return info;
}

std::string S3Storage::read_range(std::string_view key, std::uint64_t offset, std::uint64_t length) {
  const std::string path = vsi_path(key);
  const auto size = static_cast<std::uint64_t>(stat_object(key, "read").st_size);
  if (offset >= size) {
    return {};
  }
  const std::uint64_t count = std::min(length, size - offset);
  VsiFile file(VSIFOpenExL(path.c_str(), "rb", TRUE));
  if (!file) {
    throw_failure("read", key);
  }
  std::string data(count, '\0');
  if (VSIFSeekL(file.get(), offset, SEEK_SET) != 0 || VSIFReadL(data.data(), 1, count, file.get()) != count) {
    throw_failure("read", key);
  }
  return data;
}

bool S3Storage::exists(std::string_view key) {
  const std::string path = vsi_path(key);
  forget_cache(path);
  VSIStatBufL info;
  return VSIStatExL(path.c_str(), &info, VSI_STAT_EXISTS_FLAG) == 0 && !VSI_ISDIR(info.st_mode);
}

ObjectInfo S3Storage::stat(std::string_view key) {
  const VSIStatBufL info = stat_object(key, "stat");
  return ObjectInfo{std::string(key), static_cast<std::uint64_t>(info.st_size),
                    static_cast<std::int64_t>(info.st_mtime) * 1000};
}

void S3Storage::visit(std::string_view prefix, const std::function<bool(const ObjectInfo&)>& visitor) {
  const std::size_t slash = prefix.rfind('/');
  const std::string folder = slash == std::string_view::npos ? std::string() : std::string(prefix.substr(0, slash));
  if (!folder.empty()) {
    validate_storage_key(folder);
  } else if (!prefix.empty() && (prefix.find("..") != std::string_view::npos || prefix.front() == '/')) {
    validate_storage_key(prefix);
  }
  std::string root = fmt::format("/vsis3/{}/{}{}", bucket_, prefix_, folder);
  while (!root.empty() && root.back() == '/') {
    root.pop_back();
  }
  forget_cache(root);
  CPLErrorReset();
  // GDAL pages through ListObjectsV2 as the entries are read.
  std::unique_ptr<VSIDIR, VsiDirCloser> dir(VSIOpenDir(root.c_str(), -1, nullptr));
  if (!dir) {
    const std::string message = gdal::last_error_message();
    if (message.empty() || message.find("404") != std::string::npos) {
      return;  // nothing under this prefix
    }
    throw_failure("list", prefix);
  }
  const std::string base = folder.empty() ? std::string() : folder + '/';
  while (const VSIDIREntry* entry = VSIGetNextDirEntry(dir.get())) {
    const std::string key = base + entry->pszName;
    if (VSI_ISDIR(entry->nMode) || !key.starts_with(prefix)) {
      continue;
    }
    const ObjectInfo info{key, entry->bSizeKnown ? static_cast<std::uint64_t>(entry->nSize) : 0,
                          entry->bMTimeKnown ? static_cast<std::int64_t>(entry->nMTime) * 1000 : 0};
    if (!visitor(info)) {
      return;
    }
  }
}

std::vector<std::string> S3Storage::list(std::string_view prefix, bool recursive) {
  const std::size_t slash = prefix.rfind('/');
  const std::string folder = slash == std::string_view::npos ? std::string() : std::string(prefix.substr(0, slash));
  if (!folder.empty()) {
    validate_storage_key(folder);
  } else if (!prefix.empty() && (prefix.find("..") != std::string_view::npos || prefix.front() == '/')) {
    validate_storage_key(prefix);
  }
  std::string root = fmt::format("/vsis3/{}/{}{}", bucket_, prefix_, folder);
  while (!root.empty() && root.back() == '/') {
    root.pop_back();
  }
  forget_cache(root);
  CPLErrorReset();
  std::unique_ptr<VSIDIR, VsiDirCloser> dir(VSIOpenDir(root.c_str(), recursive ? -1 : 0, nullptr));
  std::vector<std::string> keys;
  if (!dir) {
    const std::string message = gdal::last_error_message();
    if (message.empty() || message.find("404") != std::string::npos) {
      return keys;  // nothing under this prefix
    }
    throw_failure("list", prefix);
  }
  const std::string base = folder.empty() ? std::string() : folder + '/';
  std::set<std::string> folders;
  while (const VSIDIREntry* entry = VSIGetNextDirEntry(dir.get())) {
    const std::string key = base + entry->pszName;
    if (VSI_ISDIR(entry->nMode)) {
      if (!recursive && key.starts_with(prefix)) {
        folders.insert(key + '/');
      }
      continue;
    }
    if (key.starts_with(prefix)) {
      keys.push_back(key);
    }
  }
  keys.insert(keys.end(), folders.begin(), folders.end());
  std::sort(keys.begin(), keys.end());
  return keys;
}

void S3Storage::remove(std::string_view key) {
  if (!exists(key)) {
    throw Error(ErrorCode::kNotFound, fmt::format("key '{}' not found in {}", key, root_uri()));
  }
  const std::string path = vsi_path(key);
  CPLErrorReset();
  if (VSIUnlink(path.c_str()) != 0) {
    throw_failure("delete", key);
  }
  forget_cache(path);
}

std::string S3Storage::uri(std::string_view key) const {
  validate_storage_key(key);
  return fmt::format("s3://{}/{}", bucket_, percent_encode_path(prefix_ + std::string(key)));
}

std::string S3Storage::root_uri() const {
  return prefix_.empty() ? fmt::format("s3://{}", bucket_)
                         : fmt::format("s3://{}/{}", bucket_, prefix_.substr(0, prefix_.size() - 1));
}

}  // namespace tessera::storage
