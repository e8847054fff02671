#pragma once

// The pieces of Catalog::aggregate (aggregation.cpp) that are arithmetic of
// their own: geohashes and the start of a datetime interval. Internal header;
// exported (though internal) so the tests can call them.

#include <cstdint>
#include <string>

#include "tessera/export.hpp"

namespace tessera::catalog {

inline constexpr int kMaxGeohashPrecision = 12;

// The geohash (base 32, longitude bit first) of a point at `precision`
// characters (1-12; InvalidInput otherwise). Coordinates are clamped to
// [-180, 180] x [-90, 90]; a point on a cell's edge belongs to the cell
// east/north of it.
TESSERA_API std::string geohash(double longitude, double latitude, int precision);

enum class DatetimeInterval { kYear, kQuarter, kMonth, kWeek, kDay, kHour, kMinute, kSecond };

// The first instant (microseconds since the epoch, UTC) of the calendar
// interval holding `micros`; weeks start on Monday.
TESSERA_API std::int64_t interval_start(std::int64_t micros, DatetimeInterval interval);

}  // namespace tessera::catalog
