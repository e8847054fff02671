#pragma once

// A WGS84 boundary in the CRS of the data it clips. Internal header.

#include <optional>
#include <string>

#include <string_view>

#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

class OGRSpatialReference;
class OGRMultiPolygon;
class OGRGeometry;

namespace tessera::packaging {

// The CRS of a GDAL dataset or layer (x/y axis order); WGS84 when it has none.
Crs crs_of(const OGRSpatialReference* srs);

// `boundary` (WGS84) reprojected to `target`. Its edges are straight lines
// in longitude/latitude, which bend in a projected CRS: with
// `max_segment_degrees` > 0 they are first densified to segments no longer
// than that, so the reprojected boundary follows them (as gdalwarp densifies
// its cutline). For a geographic target whose
// `extent` is known, the parts of the boundary that lie a full turn away
// (split at the antimeridian, beyond ±180°, or data stored in 0..360°) are
// shifted by ±360° onto the extent, so a boundary crossing the antimeridian
// clips data on both sides of it.
Geometry boundary_in_crs(const Geometry& boundary, const Crs& target, const std::optional<Bbox>& extent,
                         double max_segment_degrees);

// About how many degrees of latitude `length` units of `crs` span (1 for a
// geographic CRS): turns a pixel size into a densification step.
double degrees_of(const Crs& crs, double length);

// Adds the polygons of `geometry` (a polygon, multipolygon or collection) to
// `into`, leaving out the points and lines an overlay can produce.
void append_polygons(const OGRGeometry& geometry, OGRMultiPolygon& into);

// The union of `polygons` (an empty multipolygon when there are none).
Geometry union_of(const OGRMultiPolygon& polygons);

// The NotFound error of a boundary that covers none of a source's data.
Error no_data_error(std::string_view source);

// "EPSG:n" when the CRS has an authority code, else its WKT.
std::string crs_label(const Crs& crs);

}  // namespace tessera::packaging
