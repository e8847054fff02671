#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"

class OGRGeometry;
class OGRSpatialReference;
class OGRCoordinateTransformation;

namespace tessera {

// An axis-aligned box in the coordinates of its geometry. In WGS84 a box whose
// minx > maxx crosses the antimeridian (STAC and GeoJSON convention).
struct TESSERA_API Bbox {
  double minx = 0;
  double miny = 0;
  double maxx = 0;
  double maxy = 0;

  [[nodiscard]] bool crosses_antimeridian() const noexcept { return minx > maxx; }
  // Whether `other` lies inside this box (edges included), antimeridian-aware.
  [[nodiscard]] bool contains(const Bbox& other, double tolerance = 0.0) const noexcept;
  [[nodiscard]] bool intersects(const Bbox& other) const noexcept;
  [[nodiscard]] nlohmann::json to_json() const;
  // Reads a 2D [minx, miny, maxx, maxy] or 3D [minx, miny, minz, maxx, maxy, maxz]
  // array; `where` names the field in error messages.
  static Bbox from_json(const nlohmann::json& value, std::string_view where = "bbox");
};

struct TESSERA_API Validity {
  bool valid = true;
  std::string reason;  // GEOS's reason, e.g. "Self-intersection[10 20]"; empty when valid
};

class Crs;

// A geometry backed by OGR (and GEOS for predicates). Move-only.
class TESSERA_API Geometry {
 public:
  Geometry();
  explicit Geometry(OGRGeometry* owned);
  ~Geometry();
  Geometry(Geometry&&) noexcept;
  Geometry& operator=(Geometry&&) noexcept;
  Geometry(const Geometry&) = delete;
  Geometry& operator=(const Geometry&) = delete;
  [[nodiscard]] Geometry clone() const;

  // Strict GeoJSON geometry reader: every structural problem is InvalidInput
  // naming `where` and the JSON path of the offending member.
  static Geometry from_geojson(const nlohmann::json& geojson, std::string_view where = "geometry");
  static Geometry from_wkt(std::string_view wkt);
  // A polygon covering `box` (two polygons as a MultiPolygon when it crosses the antimeridian).
  static Geometry from_bbox(const Bbox& box);

  [[nodiscard]] nlohmann::json to_geojson() const;
  [[nodiscard]] std::string to_wkt() const;
  [[nodiscard]] std::string type_name() const;  // GeoJSON type name
  [[nodiscard]] bool is_empty() const;
  [[nodiscard]] Bbox bbox() const;
  [[nodiscard]] Validity validity() const;
  [[nodiscard]] Geometry make_valid() const;

  [[nodiscard]] bool intersects(const Geometry& other) const;
  [[nodiscard]] bool contains(const Geometry& other) const;
  [[nodiscard]] bool within(const Geometry& other) const;
  [[nodiscard]] bool disjoint(const Geometry& other) const;
  [[nodiscard]] bool equals(const Geometry& other) const;
  [[nodiscard]] Geometry intersection(const Geometry& other) const;
  [[nodiscard]] Geometry difference(const Geometry& other) const;
  [[nodiscard]] double area() const;

  // Reprojected copy; see Transformer for repeated use.
  [[nodiscard]] Geometry transformed(const Crs& from, const Crs& to) const;
  // Reprojected to WGS84 longitude/latitude as GeoJSON wants it: parts that
  // cross the antimeridian are split there (also for WGS84 input with
  // longitudes past +-180), and a polygon around a pole closes over it.
  [[nodiscard]] Geometry to_wgs84(const Crs& from) const;

  [[nodiscard]] OGRGeometry* ogr() const noexcept { return geom_.get(); }

 private:
  struct Deleter {
    void operator()(OGRGeometry* geometry) const noexcept;
  };
  std::unique_ptr<OGRGeometry, Deleter> geom_;
};

// A coordinate reference system, read through PROJ from an EPSG code
// ("EPSG:32633"), an OGC URN, WKT or PROJJSON. Axis order is always x/y
// (longitude/latitude for geographic CRSs), as in GeoJSON. Cheap to copy.
class TESSERA_API Crs {
 public:
  static Crs from_user_input(std::string_view definition);
  static Crs from_epsg(int code);
  static const Crs& wgs84();

  [[nodiscard]] std::string to_wkt() const;
  [[nodiscard]] std::string to_projjson() const;
  // "EPSG:4326"-style code when the CRS has an authority, else empty.
  [[nodiscard]] std::string authority_code() const;
  [[nodiscard]] bool is_geographic() const;
  [[nodiscard]] bool same_as(const Crs& other) const;

  [[nodiscard]] const OGRSpatialReference* ogr() const noexcept { return srs_.get(); }

 private:
  explicit Crs(std::shared_ptr<OGRSpatialReference> srs);
  std::shared_ptr<OGRSpatialReference> srs_;
};

// Reprojects coordinates between two CRSs. Not thread-safe: use one per thread.
class TESSERA_API Transformer {
 public:
  Transformer(const Crs& from, const Crs& to);
  ~Transformer();
  Transformer(Transformer&&) noexcept;
  Transformer& operator=(Transformer&&) noexcept;
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  // In place; throws InvalidInput when a point cannot be transformed.
  void transform(double* x, double* y, std::size_t count) const;
  // Bounds of `box` after reprojection, densifying each edge by `densify_points`.
  [[nodiscard]] Bbox transform_bbox(const Bbox& box, int densify_points = 21) const;
  [[nodiscard]] Geometry transform(const Geometry& geometry) const;

 private:
  struct Deleter {
    void operator()(OGRCoordinateTransformation* transformation) const noexcept;
  };
  std::unique_ptr<OGRCoordinateTransformation, Deleter> transformation_;
};

}  // namespace tessera
