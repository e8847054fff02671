#include "tessera/datetime.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera {
namespace {

namespace chrono = std::chrono;

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

constexpr std::int64_t days_since_epoch(const chrono::year_month_day& date) {
  return chrono::sys_days{date}.time_since_epoch().count();
}

// The representable range: 0000-01-01T00:00:00Z up to, not including, year 10000.
constexpr std::int64_t kMinMicros = days_since_epoch(chrono::year{0} / 1 / 1) * kSecondsPerDay * kMicrosPerSecond;
constexpr std::int64_t kEndMicros = days_since_epoch(chrono::year{10000} / 1 / 1) * kSecondsPerDay * kMicrosPerSecond;

// Reads fixed-width decimal fields and separators left to right.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool digit(int& value) {
    if (position_ >= text_.size() || text_[position_] < '0' || text_[position_] > '9') {
      return false;
    }
    value = text_[position_++] - '0';
    return true;
  }

  bool digits(int width, int& value) {
    value = 0;
    for (int i = 0; i < width; ++i) {
      int next = 0;
      if (!digit(next)) {
        return false;
      }
      value = value * 10 + next;
    }
    return true;
  }

  bool literal(char expected) {
    if (position_ >= text_.size() || text_[position_] != expected) {
      return false;
    }
    ++position_;
    return true;
  }

  [[nodiscard]] bool at_end() const { return position_ == text_.size(); }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
};

// "YYYY-MM-DD" as days since the epoch; nullopt unless it is a calendar date.
std::optional<std::int64_t> read_date(Cursor& cursor) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (!cursor.digits(4, year) || !cursor.literal('-') || !cursor.digits(2, month) || !cursor.literal('-') ||
      !cursor.digits(2, day)) {
    return std::nullopt;
  }
  const chrono::year_month_day date{chrono::year{year}, chrono::month{static_cast<unsigned>(month)},
                                    chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) {
    return std::nullopt;
  }
  return days_since_epoch(date);
}

// Reads up to microsecond precision; further digits are accepted and dropped.
bool read_fraction(Cursor& cursor, std::int64_t& micros) {
  micros = 0;
  std::int64_t scale = kMicrosPerSecond / 10;
  int count = 0;
  int next = 0;
  while (cursor.digit(next)) {
    micros += next * scale;
    scale /= 10;
    ++count;
  }
  return count > 0;
}

// "Z" or "+HH:MM" / "-HH:MM" as seconds to subtract to reach UTC.
bool read_offset(Cursor& cursor, std::int64_t& offset_seconds) {
  offset_seconds = 0;
  if (cursor.literal('Z') || cursor.literal('z')) {
    return true;
  }
  int sign = 0;
  if (cursor.literal('+')) {
    sign = 1;
  } else if (cursor.literal('-')) {
    sign = -1;
  } else {
    return false;
  }
  int hours = 0;
  int minutes = 0;
  if (!cursor.digits(2, hours) || !cursor.literal(':') || !cursor.digits(2, minutes) || hours > 23 || minutes > 59) {
    return false;
  }
  offset_seconds = sign * (std::int64_t{hours} * 3600 + std::int64_t{minutes} * 60);
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_date_micros(std::string_view text) noexcept {
  Cursor cursor(text);
  const std::optional<std::int64_t> days = read_date(cursor);
  if (!days || !cursor.at_end()) {
    return std::nullopt;
  }
  return *days * kSecondsPerDay * kMicrosPerSecond;
}

std::optional<std::int64_t> parse_rfc3339_micros(std::string_view text) noexcept {
  Cursor cursor(text);
  const std::optional<std::int64_t> days = read_date(cursor);
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!days || !(cursor.literal('T') || cursor.literal('t') || cursor.literal(' ')) || !cursor.digits(2, hour) ||
      !cursor.literal(':') || !cursor.digits(2, minute) || !cursor.literal(':') || !cursor.digits(2, second) ||
      hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::int64_t fraction = 0;
  if (cursor.literal('.') && !read_fraction(cursor, fraction)) {
    return std::nullopt;
  }
  std::int64_t offset_seconds = 0;
  if (!read_offset(cursor, offset_seconds) || !cursor.at_end()) {
    return std::nullopt;
  }
  const std::int64_t seconds =
      *days * kSecondsPerDay + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second - offset_seconds;
  return seconds * kMicrosPerSecond + fraction;
}

std::optional<double> parse_rfc3339(std::string_view text) noexcept {
  const std::optional<std::int64_t> micros = parse_rfc3339_micros(text);
  if (!micros) {
    return std::nullopt;
  }
  return static_cast<double>(*micros) / kMicrosPerSecond;
}

std::string format_rfc3339_micros(std::int64_t micros) {
  if (micros < kMinMicros || micros >= kEndMicros) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("instant of {} microseconds since the epoch is outside years 0000-9999", micros));
  }
  const chrono::sys_time<chrono::microseconds> instant{chrono::microseconds{micros}};
  const chrono::sys_days day = chrono::floor<chrono::days>(instant);
  const chrono::year_month_day date{day};
  const chrono::hh_mm_ss time{instant - day};
  std::string text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(date.year()),
                                 static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                                 time.hours().count(), time.minutes().count(), time.seconds().count());
  if (const auto fraction = time.subseconds().count(); fraction != 0) {
    text += fmt::format(".{:06}", fraction);
  }
  text += 'Z';
  return text;
}

std::string format_rfc3339(double seconds) {
  const double micros = std::round(seconds * static_cast<double>(kMicrosPerSecond));
  if (!std::isfinite(micros) || micros < static_cast<double>(kMinMicros) || micros >= static_cast<double>(kEndMicros)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{} seconds since the epoch is not an instant in years 0000-9999", seconds));
  }
  return format_rfc3339_micros(static_cast<std::int64_t>(micros));
}

}  // namespace tessera
