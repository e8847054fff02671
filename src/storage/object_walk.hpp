#pragma once

// A streaming walk over a storage's objects, for listings too large to hold
// (reconcile over millions of objects). Internal header, offered upwards.

#include <functional>
#include <string_view>

#include "tessera/storage.hpp"

namespace tessera::storage {

// Every object of `storage` whose key starts with `prefix`, at any depth,
// with its size and time, handed to `visitor` as the listing streams in
// (never held whole), in no set order; `visitor` returning false stops the
// walk. Unsupported for a storage of another kind than local or S3.
void visit_objects(Storage& storage, std::string_view prefix, const std::function<bool(const ObjectInfo&)>& visitor);

}  // namespace tessera::storage
