#pragma once

// SHA-256 digests (OpenSSL) as lower-case hex: Data Package hashes and cache
// keys (packaging), assets' file:checksum (ingest's reconcile).

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace tessera::core {

// A digest fed a piece at a time (objects streamed in ranges).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  // The digest of everything fed so far, as lower-case hex; once.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string sha256_hex(std::string_view data);
// Streams the file; Io when it cannot be read.
std::string sha256_hex_of_file(const std::filesystem::path& path);

}  // namespace tessera::core
