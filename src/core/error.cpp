#include "tessera/error.hpp"

#include "core/redact.hpp"

namespace tessera {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid_input";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kIo:
      return "io_error";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

// Every message is redacted where it is made, so no path (logs, job records,
// C and Python errors) can carry a password, key or signature further.
Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(core::redact_secrets(message)), code_(code) {}

}  // namespace tessera
