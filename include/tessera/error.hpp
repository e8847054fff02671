#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "tessera/export.hpp"

namespace tessera {

// The error codes are also the C ABI's tsr_status values; keep them in step
// with capi/tessera.h.
enum class ErrorCode : int {
  kInvalidInput = 1,  // malformed or out-of-range input
  kNotFound = 2,      // a key, item, collection or file that does not exist
  kConflict = 3,      // already exists, or a concurrent writer holds the lock
  kIo = 4,            // reading or writing storage or a dataset failed
  kUnsupported = 5,   // a valid request tessera does not handle
  kInternal = 6,      // a bug: an invariant did not hold
  kUnavailable = 7,   // a transient failure (server down, busy); retrying may work
};

// Stable lower-case name of a code ("invalid_input", "not_found", ...).
TESSERA_API std::string_view error_code_name(ErrorCode code) noexcept;

// The one exception type tessera throws. The message names what failed and
// where (the key, item id, file or position).
class TESSERA_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  // True for errors where the same call may succeed later.
  [[nodiscard]] bool retryable() const noexcept { return code_ == ErrorCode::kUnavailable; }

 private:
  ErrorCode code_;
};

}  // namespace tessera
