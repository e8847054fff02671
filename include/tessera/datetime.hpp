#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/export.hpp"

// RFC 3339 timestamps as instants. Instants are counted in microseconds since
// 1970-01-01T00:00:00Z: integers, so two spellings of one instant always compare
// equal, which seconds in a double do not guarantee. Years 0000-9999 only.
namespace tessera {

// Parses an RFC 3339 date-time such as "2020-01-02T03:04:05.678+02:00" or
// "2020-01-02T03:04:05Z" ('T' may also be 't' or a space, 'Z' may be 'z').
// Fraction digits past the microsecond are truncated; a leap second (:60)
// counts as the first second of the next minute. nullopt when malformed.
TESSERA_API std::optional<std::int64_t> parse_rfc3339_micros(std::string_view text) noexcept;

// parse_rfc3339_micros() in seconds (exact to the microsecond for years up to 2255).
TESSERA_API std::optional<double> parse_rfc3339(std::string_view text) noexcept;

// A calendar date "YYYY-MM-DD" as the instant of its midnight UTC.
TESSERA_API std::optional<std::int64_t> parse_date_micros(std::string_view text) noexcept;

// The canonical UTC form "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; the six fraction
// digits appear only when the instant is not a whole second. Not sortable as
// text across the two forms: compare instants, not strings. InvalidInput
// outside years 0000-9999.
TESSERA_API std::string format_rfc3339_micros(std::int64_t micros);

// format_rfc3339_micros() of `seconds` rounded to the microsecond; InvalidInput
// also for NaN and infinities.
TESSERA_API std::string format_rfc3339(double seconds);

}  // namespace tessera
