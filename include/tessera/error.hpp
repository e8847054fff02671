#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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

// The one name of each code, the same in every language (docs/api-names.md):
// "invalid_input", "not_found", "conflict", "io", "unsupported", "internal",
// "unavailable". Python's exception classes carry it as `code`, the C ABI's
// tsr_status_name returns it, the CLI prints it.
TESSERA_API std::string_view error_code_name(ErrorCode code) noexcept;
// The code of a name error_code_name returns (and "io_error", kIo's name
// before 0.2); InvalidInput naming the accepted ones for any other.
TESSERA_API ErrorCode error_code_from_name(std::string_view name);
// Every code's name, in code order.
TESSERA_API std::vector<std::string> error_code_names();

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
