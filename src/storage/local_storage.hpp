#pragma once

#include <filesystem>
#include <functional>

#include "tessera/storage.hpp"

namespace tessera::storage {

// Storage on a local folder. Writes go to a temporary file in the target
// folder, are flushed, then renamed over the key, so readers never see a
// partial file. Every key is checked to resolve (symlinks followed) inside
// the root before anything is read or written.
class LocalStorage final : public Storage {
 public:
  explicit LocalStorage(const std::filesystem::path& root);

  void put(std::string_view key, std::string_view data) override;
  void put_file(std::string_view key, const std::filesystem::path& source) override;
  bool put_if_absent(std::string_view key, std::string_view data) override;
  [[nodiscard]] bool create_if_absent_is_atomic() const noexcept override { return true; }
  std::string get(std::string_view key) override;
  std::string read_range(std::string_view key, std::uint64_t offset, std::uint64_t length) override;
  bool exists(std::string_view key) override;
  ObjectInfo stat(std::string_view key) override;
  std::vector<std::string> list(std::string_view prefix, bool recursive) override;
  // See storage::visit_objects.
  void visit(std::string_view prefix, const std::function<bool(const ObjectInfo&)>& visitor);
  void remove(std::string_view key) override;
  [[nodiscard]] std::string uri(std::string_view key) const override;
  [[nodiscard]] std::string root_uri() const override;
  [[nodiscard]] std::string gdal_path(std::string_view key) const override;

 private:
  // The file path of a key, after checking it stays inside the root.
  [[nodiscard]] std::filesystem::path resolve(std::string_view key) const;
  [[nodiscard]] bool inside_root(const std::filesystem::path& path) const;
  // Whether a listing shows `entry`: a regular file, not a temporary one, and
  // a symlink only when it points inside the root (as get() requires).
  [[nodiscard]] bool listable_file(const std::filesystem::directory_entry& entry) const;
  enum class Placement { kReplace, kIfAbsent };
  // Writes through `write_body(fd)` into a temporary file, then moves it to
  // `key`; with kIfAbsent returns false (writing nothing) when the key exists.
  template <typename WriteBody>
  bool write_atomically(std::string_view key, Placement placement, WriteBody&& write_body);
  [[noreturn]] void throw_not_found(std::string_view key) const;

  std::filesystem::path root_;
};

}  // namespace tessera::storage
