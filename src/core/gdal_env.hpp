#pragma once

// GDAL set-up in one place: driver registration, cloud-read configuration and
// the error handler that routes GDAL messages into tessera. Internal header.

#include <string>
#include <string_view>

#include <cpl_error.h>

#include "tessera/error.hpp"

namespace tessera::gdal {

// Registers drivers and applies configuration once per process; cheap after.
void ensure_initialized();

// GDAL's last error message on this thread ("" when none).
std::string last_error_message();

// Throws tessera::Error(code, "<what>: <GDAL's last message>").
[[noreturn]] void throw_last_error(ErrorCode code, std::string_view what);

// Collects the messages GDAL emits on this thread while alive (warnings
// included), without sending them to the log. Used where GDAL reports a
// result only as a message, e.g. GEOS's reason for an invalid geometry.
class ErrorCapture {
 public:
  ErrorCapture();
  ~ErrorCapture();
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;

  [[nodiscard]] const std::string& messages() const noexcept { return messages_; }

 private:
  static void CPL_STDCALL handler(CPLErr level, CPLErrorNum number, const char* message);
  std::string messages_;
};

}  // namespace tessera::gdal
