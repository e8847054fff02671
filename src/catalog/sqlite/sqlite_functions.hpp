#pragma once

// SQL functions the SQLite backend registers on every connection so CQL2 and
// the STAC search run inside SQLite: geometry predicates on WKB (GEOS through
// OGR), an antimeridian-aware bbox test, CQL2 LIKE/CASEI/ACCENTI, array
// relations, RFC 3339 parsing, and a fallback that evaluates a CQL2
// expression on the item itself.

#include <sqlite3.h>

namespace tessera::catalog::sqlite {

// Spatial relation codes for tsr_spatial(code, a_wkb, b_wkb).
enum SpatialCode : int {
  kIntersects = 0,
  kEquals,
  kDisjoint,
  kTouches,
  kWithin,
  kOverlaps,
  kCrosses,
  kContains,
};

// Array relation codes for tsr_array(code, a_json, b_json).
enum ArrayCode : int { kArrayEquals = 0, kArrayContains, kArrayContainedBy, kArrayOverlaps };

// The pointer type name for tsr_cql2(content, expression) parameters.
inline constexpr const char* kExpressionPointerType = "tessera_cql2_expr";

void register_functions(sqlite3* db);

}  // namespace tessera::catalog::sqlite
