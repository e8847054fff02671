#pragma once

// A deadline for the catalog calls one thread makes, so a caller's time
// budget (a mosaic tile's) covers its catalog scans too: the SQLite backend
// interrupts a search past it. Internal header, offered to the modules above.

#include <chrono>
#include <optional>

#include "tessera/export.hpp"

namespace tessera::catalog {

using Deadline = std::chrono::steady_clock::time_point;

// Sets this thread's deadline for its lifetime (the earlier one wins when nested).
// Exported (though internal) so the tests can set one.
class TESSERA_API ScopedDeadline {
 public:
  explicit ScopedDeadline(Deadline deadline);
  ~ScopedDeadline();
  ScopedDeadline(const ScopedDeadline&) = delete;
  ScopedDeadline& operator=(const ScopedDeadline&) = delete;

 private:
  std::optional<Deadline> previous_;
};

// This thread's deadline, if one is set.
TESSERA_API std::optional<Deadline> thread_deadline() noexcept;

}  // namespace tessera::catalog
