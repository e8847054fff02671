#include "tessera/log.hpp"

#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <string>

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

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

}  // namespace

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
  std::fprintf(stderr, "tessera %s: %.*s\n", level_name(level), static_cast<int>(message.size()), message.data());
}

}  // namespace tessera
