#include "tessera/log.hpp"

#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "core/enum_names.hpp"

namespace tessera {
namespace {

struct LogSink {
  std::shared_mutex mutex;
  LogCallback callback;
  LogLevel min_level = LogLevel::kWarning;
};

LogSink& sink() {
  static LogSink instance;
  return instance;
}

constexpr core::EnumName<LogLevel> kLevelNames[] = {
    {LogLevel::kDebug, "debug"},
    {LogLevel::kInfo, "info"},
    {LogLevel::kWarning, "warning"},
    {LogLevel::kError, "error"},
};
constexpr core::NameTable<LogLevel> kLevels{"log level", kLevelNames};
static_assert(kLevels.covers(LogLevel::kDebug, LogLevel::kError));

}  // namespace

std::string_view log_level_name(LogLevel level) noexcept { return kLevels.name(level); }

LogLevel log_level_from_name(std::string_view name) { return kLevels.from_name(name); }

std::vector<std::string> log_level_names() { return kLevels.names(); }

void set_log_callback(LogCallback callback, LogLevel min_level) {
  auto& s = sink();
  std::unique_lock lock(s.mutex);
  s.min_level = callback ? min_level : LogLevel::kWarning;
  s.callback = std::move(callback);
}

void log(LogLevel level, std::string_view message) {
  auto& s = sink();
  std::shared_lock lock(s.mutex);
  if (level < s.min_level) {
    return;
  }
  if (s.callback) {
    s.callback(level, message);
    return;
  }
  const std::string_view name = log_level_name(level);
  std::fprintf(stderr, "tessera %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace tessera
