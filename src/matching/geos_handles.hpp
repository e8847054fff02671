#pragma once

// RAII over the reentrant GEOS C API: a context, geometries, prepared
// geometries and STR-trees, each freed with the context that made it.

#include <memory>
#include <string>

#include <geos_c.h>

namespace tessera::matching {

// A GEOS context whose errors are kept for the exception that follows.
class GeosContext {
 public:
  GeosContext();
  ~GeosContext();
  GeosContext(const GeosContext&) = delete;
  GeosContext& operator=(const GeosContext&) = delete;

  [[nodiscard]] GEOSContextHandle_t get() const noexcept { return handle_; }
  // GEOS's last error message (empty when none).
  [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }

 private:
  GEOSContextHandle_t handle_;
  std::string last_error_;
};

struct GeosGeometryDeleter {
  GEOSContextHandle_t context;
  void operator()(GEOSGeometry* geometry) const noexcept { GEOSGeom_destroy_r(context, geometry); }
};
using GeosGeometry = std::unique_ptr<GEOSGeometry, GeosGeometryDeleter>;

struct GeosPreparedDeleter {
  GEOSContextHandle_t context;
  void operator()(const GEOSPreparedGeometry* prepared) const noexcept {
    GEOSPreparedGeom_destroy_r(context, prepared);
  }
};
using GeosPrepared = std::unique_ptr<const GEOSPreparedGeometry, GeosPreparedDeleter>;

struct GeosTreeDeleter {
  GEOSContextHandle_t context;
  void operator()(GEOSSTRtree* tree) const noexcept { GEOSSTRtree_destroy_r(context, tree); }
};
using GeosTree = std::unique_ptr<GEOSSTRtree, GeosTreeDeleter>;

}  // namespace tessera::matching
