#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/export.hpp"

namespace tessera {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning", "error" (Python's set_log_callback takes and
// passes these; C's tsr_log_level has the same values).
TESSERA_API std::string_view log_level_name(LogLevel level) noexcept;
// InvalidInput naming the accepted names for any other.
TESSERA_API LogLevel log_level_from_name(std::string_view name);
TESSERA_API std::vector<std::string> log_level_names();

// Receives every message tessera (and GDAL, through tessera's handler) emits.
// It may be called from any thread, so it must be thread-safe.
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

// Routes messages to `callback`; an empty callback restores the default
// (warnings and errors to stderr). Messages below `min_level` are dropped.
TESSERA_API void set_log_callback(LogCallback callback, LogLevel min_level = LogLevel::kInfo);

TESSERA_API void log(LogLevel level, std::string_view message);

}  // namespace tessera
