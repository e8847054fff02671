#include "storage/object_walk.hpp"

#include "storage/local_storage.hpp"
#include "storage/s3_storage.hpp"
#include "tessera/error.hpp"

namespace tessera::storage {

void visit_objects(Storage& storage, std::string_view prefix, const std::function<bool(const ObjectInfo&)>& visitor) {
  if (auto* local = dynamic_cast<LocalStorage*>(&storage)) {
    local->visit(prefix, visitor);
  } else if (auto* s3 = dynamic_cast<S3Storage*>(&storage)) {
    s3->visit(prefix, visitor);
  } else {
    throw Error(ErrorCode::kUnsupported, "visit_objects: only local and S3 storages can be walked");
  }
}

}  // namespace tessera::storage
