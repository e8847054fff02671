#include "storage/local_storage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <system_error>

#include <fmt/format.h>

#include "storage/uri.hpp"
#include "tessera/error.hpp"

namespace fs = std::filesystem;

namespace tessera::storage {
namespace {

constexpr std::string_view kTempPrefix = ".tessera-tmp-";
// How often a step that lost a race with another process's folder prune is retried.
constexpr int kFolderRaceAttempts = 8;

// remove() prunes the folders it empties. Within a process, pruning excludes
// the steps that make or walk folders (writers, key resolution), so those
// never see a folder vanish under them; other processes are met by retries.
std::shared_mutex& folder_mutex() {
  static std::shared_mutex mutex;
  return mutex;
}

[[noreturn]] void throw_io(std::string_view what, const fs::path& path, int error_number) {
  const ErrorCode code = error_number == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
  throw Error(code, fmt::format("{} '{}': {}", what, path.string(), std::strerror(error_number)));
}

// Closes a POSIX file descriptor on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  // Closes now so the caller sees the close status (where write errors can surface).
  int close() noexcept {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

void write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_io("cannot write", path, errno);
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

std::string unique_temp_name() {
  static std::atomic<unsigned> counter{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{}{}-{}-{:x}", kTempPrefix, ::getpid(), counter++, random());
}

bool is_temp_file(const fs::path& path) { return path.filename().string().starts_with(kTempPrefix); }

}  // namespace

LocalStorage::LocalStorage(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    throw Error(ErrorCode::kIo, fmt::format("cannot create storage root '{}': {}", root.string(), ec.message()));
  }
  root_ = fs::canonical(root, ec);
  if (ec || !fs::is_directory(root_)) {
    throw Error(ErrorCode::kIo, fmt::format("storage root '{}' is not a folder", root.string()));
  }
}

bool LocalStorage::inside_root(const fs::path& path) const {
  const fs::path relative = path.lexically_relative(root_);
  return !relative.empty() && *relative.begin() != "..";
}

fs::path LocalStorage::resolve(std::string_view key) const {
  validate_storage_key(key);
  const fs::path path = root_ / fs::path(key);
  // weakly_canonical follows every symlink on the existing part of the path,
  // so a link pointing outside the root is caught here. A folder pruned by a
  // concurrent remove() between its steps makes it fail with ENOENT: look again.
  std::error_code ec;
  fs::path real;
  const std::shared_lock folders(folder_mutex());
  for (int attempt = 0; attempt < kFolderRaceAttempts; ++attempt) {
    real = fs::weakly_canonical(path, ec);
    if (ec != std::errc::no_such_file_or_directory) {
      break;
    }
  }
  if (ec) {
    throw Error(ErrorCode::kIo, fmt::format("cannot resolve storage key '{}': {}", key, ec.message()));
  }
  if (!inside_root(real)) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("storage key '{}' resolves outside the storage root", key));
  }
  return path;
}

void LocalStorage::throw_not_found(std::string_view key) const {
  throw Error(ErrorCode::kNotFound, fmt::format("key '{}' not found in {}", key, root_uri()));
}

template <typename WriteBody>
bool LocalStorage::write_atomically(std::string_view key, Placement placement, WriteBody&& write_body) {
  const fs::path target = resolve(key);
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    throw Error(ErrorCode::kConflict, fmt::format("key '{}' is a folder in {}", key, root_uri()));
  }
  // remove() prunes the folders it leaves empty, so the folder made here can
  // vanish before the temporary file is created in it: make it again.
  const fs::path temp = target.parent_path() / unique_temp_name();
  int descriptor = -1;
  int open_error = 0;
  std::shared_lock folders(folder_mutex());
  for (int attempt = 0; descriptor < 0 && attempt < kFolderRaceAttempts; ++attempt) {
    fs::create_directories(target.parent_path(), ec);
    if (ec == std::errc::no_such_file_or_directory) {
      continue;
    }
    if (ec) {
      break;
    }
    descriptor = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    open_error = errno;
    if (descriptor < 0 && open_error != ENOENT) {
      break;
    }
  }
  if (ec) {
    throw Error(ErrorCode::kIo, fmt::format("cannot create folder for key '{}': {}", key, ec.message()));
  }
  folders.unlock();  // the temporary file keeps its folder from being pruned
  FileDescriptor fd(descriptor);
  if (fd.get() < 0) {
    throw_io(fmt::format("cannot write key '{}': cannot create", key), temp, open_error);
  }
  try {
    write_body(fd.get(), temp);
    if (::fsync(fd.get()) != 0) {
      throw_io("cannot flush", temp, errno);
    }
    if (fd.close() != 0) {
      throw_io("cannot close", temp, errno);
    }
    if (placement == Placement::kReplace) {
      if (::rename(temp.c_str(), target.c_str()) != 0) {
        throw_io("cannot rename into place", target, errno);
      }
      return true;
    }
    // link() never replaces: the complete file appears at the key, or EEXIST.
    const bool placed = ::link(temp.c_str(), target.c_str()) == 0;
    if (!placed && errno != EEXIST) {
      throw_io("cannot link into place", target, errno);
    }
    ::unlink(temp.c_str());
    return placed;
  } catch (const Error& error) {
    // No temporary file is left behind (a full disk is the usual cause), and
    // the error names the key as well as the file that failed.
    ::unlink(temp.c_str());
    throw Error(error.code(), fmt::format("cannot write key '{}' in {}: {}", key, root_uri(), error.what()));
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

void LocalStorage::put(std::string_view key, std::string_view data) {
  write_atomically(key, Placement::kReplace,
                   [&](int fd, const fs::path& temp) { write_all(fd, data.data(), data.size(), temp); });
}

bool LocalStorage::put_if_absent(std::string_view key, std::string_view data) {
  return write_atomically(key, Placement::kIfAbsent,
                          [&](int fd, const fs::path& temp) { write_all(fd, data.data(), data.size(), temp); });
}

void LocalStorage::put_file(std::string_view key, const fs::path& source) {
  FileDescriptor in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    throw_io("cannot open source file", source, errno);
  }
  write_atomically(key, Placement::kReplace, [&](int fd, const fs::path& temp) {
    std::string buffer(1 << 20, '\0');
    for (;;) {
      const ssize_t count = ::read(in.get(), buffer.data(), buffer.size());
      if (count < 0) {
        if (errno == EINTR) {
          continue;
        }
        throw_io("cannot read source file", source, errno);
      }
      if (count == 0) {
        break;
      }
      write_all(fd, buffer.data(), static_cast<std::size_t>(count), temp);
    }
  });
}

std::string LocalStorage::get(std::string_view key) { return read_range(key, 0, UINT64_MAX); }

std::string LocalStorage::read_range(std::string_view key, std::uint64_t offset, std::uint64_t length) {
  const fs::path path = resolve(key);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat info {};
  if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    if (fd.get() >= 0 || errno == ENOENT || errno == ENOTDIR) {
      throw_not_found(key);
    }
    throw_io("cannot open", path, errno);
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (offset >= size) {
    return {};
  }
  const std::uint64_t count = std::min(length, size - offset);
  std::string data(count, '\0');
  std::uint64_t done = 0;
  while (done < count) {
    const ssize_t got = ::pread(fd.get(), data.data() + done, count - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_io("cannot read", path, errno);
    }
    if (got == 0) {
      data.resize(done);  // the file shrank while reading
      break;
    }
    done += static_cast<std::uint64_t>(got);
  }
  return data;
}

bool LocalStorage::exists(std::string_view key) {
  std::error_code ec;
  return fs::is_regular_file(resolve(key), ec);
}

ObjectInfo LocalStorage::stat(std::string_view key) {
  const fs::path path = resolve(key);
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    throw_not_found(key);
  }
  return ObjectInfo{std::string(key), static_cast<std::uint64_t>(info.st_size),
                    static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000 + info.st_mtim.tv_nsec / 1000000};
}

bool LocalStorage::listable_file(const fs::directory_entry& entry) const {
  std::error_code status_ec;
  if (is_temp_file(entry.path()) || !entry.is_regular_file(status_ec)) {
    return false;
  }
  return !entry.is_symlink(status_ec) || inside_root(fs::canonical(entry.path(), status_ec));
}

void LocalStorage::visit(std::string_view prefix, const std::function<bool(const ObjectInfo&)>& visitor) {
  if (!prefix.empty() && (prefix.find("..") != std::string_view::npos || prefix.front() == '/')) {
    validate_storage_key(prefix);
  }
  // The deepest folder every matching key is below.
  const std::size_t slash = prefix.rfind('/');
  const fs::path folder = slash == std::string_view::npos ? root_ : resolve(prefix.substr(0, slash));
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return;
  }
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!listable_file(*it)) {
      continue;
    }
    const std::string key = it->path().lexically_relative(root_).generic_string();
    struct stat info {};
    if (!key.starts_with(prefix) || ::stat(it->path().c_str(), &info) != 0) {
      continue;  // another prefix, or removed since it was listed
    }
    if (!visitor(ObjectInfo{key, static_cast<std::uint64_t>(info.st_size),
                            static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000 + info.st_mtim.tv_nsec / 1000000})) {
      return;
    }
  }
  if (ec) {
    throw Error(ErrorCode::kIo, fmt::format("cannot list '{}' in {}: {}", prefix, root_uri(), ec.message()));
  }
}

std::vector<std::string> LocalStorage::list(std::string_view prefix, bool recursive) {
  // The folder holding every key that can start with `prefix`.
  const std::size_t slash = prefix.rfind('/');
  const std::string_view folder_key = slash == std::string_view::npos ? std::string_view() : prefix.substr(0, slash);
  fs::path folder = root_;
  if (!folder_key.empty()) {
    folder = resolve(folder_key);
  } else if (!prefix.empty() && (prefix.find("..") != std::string_view::npos || prefix.front() == '/')) {
    validate_storage_key(prefix);
  }
  std::vector<std::string> keys;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return keys;
  }
  auto consider = [&](const fs::directory_entry& entry, bool as_folder) {
    std::string key = entry.path().lexically_relative(root_).generic_string();
    if (as_folder) {
      key += '/';
    }
    if (key.starts_with(prefix)) {
      keys.push_back(std::move(key));
    }
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (listable_file(*it)) {
        consider(*it, false);
      }
    }
  } else {
    for (auto it = fs::directory_iterator(folder, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code status_ec;
      if (it->is_directory(status_ec) && !it->is_symlink(status_ec)) {
        consider(*it, true);
      } else if (listable_file(*it)) {
        consider(*it, false);
      }
    }
  }
  if (ec) {
    throw Error(ErrorCode::kIo, fmt::format("cannot list '{}' in {}: {}", prefix, root_uri(), ec.message()));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void LocalStorage::remove(std::string_view key) {
  const fs::path path = resolve(key);
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec)) && !fs::is_symlink(fs::symlink_status(path, ec))) {
    throw_not_found(key);
  }
  if (!fs::remove(path, ec) || ec) {
    throw Error(ErrorCode::kIo, fmt::format("cannot delete key '{}': {}", key, ec.message()));
  }
  // Object stores have no folders: drop the ones this removal left empty.
  const std::unique_lock folders(folder_mutex());
  for (fs::path parent = path.parent_path(); parent != root_ && inside_root(parent); parent = parent.parent_path()) {
    if (!fs::is_empty(parent, ec) || ec || !fs::remove(parent, ec)) {
      break;
    }
  }
}

std::string LocalStorage::uri(std::string_view key) const {
  validate_storage_key(key);
  return fmt::format("file://{}", percent_encode_path((root_ / fs::path(key)).string()));
}

std::string LocalStorage::gdal_path(std::string_view key) const { return resolve(key).string(); }

std::string LocalStorage::root_uri() const { return fmt::format("file://{}", percent_encode_path(root_.string())); }

}  // namespace tessera::storage
