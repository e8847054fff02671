#pragma once

#include <functional>
#include <string_view>

#include "tessera/export.hpp"

namespace tessera {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Receives every message tessera (and GDAL, through tessera's handler) emits.
// It may be called from any thread, so it must be thread-safe.
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

// Routes messages to `callback`; an empty callback restores the default
// (warnings and errors to stderr). Messages below `min_level` are dropped.
TESSERA_API void set_log_callback(LogCallback callback, LogLevel min_level = LogLevel::kInfo);

TESSERA_API void log(LogLevel level, std::string_view message);

}  // namespace tessera
