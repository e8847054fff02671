#include "catalog/deadline.hpp"

#include <algorithm>

namespace tessera::catalog {

namespace {
thread_local std::optional<Deadline> current;
}  // namespace

ScopedDeadline::ScopedDeadline(Deadline deadline) : previous_(current) {
  current = previous_ ? std::min(*previous_, deadline) : deadline;
}

ScopedDeadline::~ScopedDeadline() { current = previous_; }

std::optional<Deadline> thread_deadline() noexcept { return current; }

}  // namespace tessera::catalog
