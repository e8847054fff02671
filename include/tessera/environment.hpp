#pragma once

// What every read in a process runs under: which hrefs may be opened (URL
// prefixes, local folders, GDAL drivers), how large a request may be, and the
// caches and threads reads share. One Environment is the process default;
// a host serving two audiences (a public and an internal service) makes one
// per audience and runs each request inside its own with Environment::Scope.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tessera/export.hpp"
#include "tessera/storage.hpp"

namespace tessera {

// The default of ReaderConfig::max_image_size.
inline constexpr int kMaxImageSize = 8192;

// Signs an http(s) URL before it is read: returns the URL to open in its
// place (the same URL with a SAS token or a presigned query appended, as
// Planetary Computer or a private bucket wants). Called with URLs the
// allow-list accepted, from read threads at once: it must be thread-safe; it
// may throw (the read fails with the error, naming the href). Reads of one
// signed URL share open datasets, so a signer that keeps a token until it
// nears expiry keeps the dataset cache useful.
using HrefSigner = std::function<std::string(const std::string& url)>;

// The settings of an Environment.
struct TESSERA_API ReaderConfig {
  // http:// and https:// hrefs must start with one of these (default: none allowed).
  std::vector<std::string> allowed_prefixes;
  // When not empty, local paths (and file:// hrefs) must lie inside one of
  // these folders, after symbolic links are resolved.
  std::vector<std::string> allowed_roots;
  // Signs http(s) hrefs before GDAL reads them (after the allow-list has
  // accepted the href as written). Empty: URLs are read as they are.
  HrefSigner href_signer;
  // Settings for s3:// hrefs (endpoint, region, access_key, ...), as for Storage::open.
  StorageOptions storage_options;
  // GDAL drivers an href may be opened with. VRT and the network/database
  // drivers are left out on purpose: a VRT can point at any file or URL.
  std::vector<std::string> allowed_drivers = {"GTiff", "COG", "PNG", "JPEG", "WEBP", "JP2OpenJPEG", "netCDF", "HDF5"};
  // GDAL drivers a vector href (packaging sources, boundaries, sketches) may
  // be opened with: file formats only, no network or database drivers.
  std::vector<std::string> allowed_vector_drivers = {"GPKG",           "GeoJSON",    "GeoJSONSeq",
                                                     "ESRI Shapefile", "FlatGeobuf", "Parquet"};
  // Open datasets kept for reuse (GDAL handles are not thread-safe, so each
  // thread reading an href at the same time holds its own).
  std::size_t dataset_cache_size = 256;
  // Bytes of decoded per-item tile data mosaics keep for reuse (0: none).
  std::size_t tile_cache_bytes = std::size_t{256} << 20;
  // Largest width/height of any image read (tiles with their buffer, parts,
  // previews, mosaic tiles): a request for more is InvalidInput.
  int max_image_size = kMaxImageSize;
  // Longest band-math expression (bytes) and deepest nesting accepted.
  std::size_t max_expression_length = 2048;
  std::size_t max_expression_depth = 64;
  // Values (pixels x bands) one request may hold, checked before they are
  // allocated: a read's bands (repeated indexes count each time), its
  // expression's inputs and outputs, and every item image a stacking mosaic
  // method (mean, median, stdev, count) keeps. 2^28 is four bands of the
  // largest image.
  std::size_t max_request_values = std::size_t{1} << 28;
};

namespace core {
class WorkPool;
}
namespace storage {
class EnvironmentState;
}

// Settings plus what reads build for them: open datasets, decoded tiles, S3
// bucket settings and a pool of read threads. Thread-safe. Reads use the
// environment current on their thread: the innermost Scope, else the process
// default. An Environment must outlive the reads run inside it.
class TESSERA_API Environment {
 public:
  // InvalidInput for settings out of range or an allowed prefix that is not
  // http(s) with its host ended by '/'.
  explicit Environment(const ReaderConfig& config = {});
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // Replaces the settings. Reads in flight finish under the old ones; caches
  // start empty, as cached data may come from hrefs the new settings refuse.
  void configure(const ReaderConfig& config);
  [[nodiscard]] ReaderConfig config() const;

  // The environment reads on this thread use.
  static Environment& current();
  // The process default (never destroyed; configure() changes it).
  static Environment& process_default();

  // Makes `environment` current on this thread until the Scope ends (scopes nest).
  class TESSERA_API Scope {
   public:
    explicit Scope(Environment& environment) noexcept;
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Environment* previous_;
  };

  // Internal (storage/environment_state.hpp, core/work_pool.hpp): the
  // settings in force with their caches, and the read threads.
  [[nodiscard]] std::shared_ptr<const storage::EnvironmentState> state() const;
  [[nodiscard]] core::WorkPool& work_pool() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Replaces the process default's settings (Environment::configure).
TESSERA_API void configure(const ReaderConfig& config);
// The current environment's settings.
TESSERA_API ReaderConfig reader_config();

}  // namespace tessera
