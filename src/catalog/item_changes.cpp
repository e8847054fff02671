#include "catalog/item_changes.hpp"

#include <fmt/format.h>

#include "core/enum_names.hpp"
#include "tessera/error.hpp"

namespace tessera {

namespace {

constexpr core::EnumName<ItemOperation> kItemOperationNames[] = {
    {ItemOperation::kInsert, "insert"},
    {ItemOperation::kReplace, "replace"},
    {ItemOperation::kDelete, "delete"},
};
constexpr core::NameTable<ItemOperation> kItemOperation{"item operation", kItemOperationNames};
static_assert(kItemOperation.covers(ItemOperation::kInsert, ItemOperation::kDelete));

}  // namespace

ItemOperation item_operation_from_name(std::string_view name) { return kItemOperation.from_name(name); }

std::string_view item_operation_name(ItemOperation operation) noexcept { return kItemOperation.name(operation); }

std::vector<std::string> item_operation_names() { return kItemOperation.names(); }

nlohmann::json ItemChange::to_json() const {
  nlohmann::json change = {{"id", id},
                           {"collection", collection},
                           {"item_id", item_id},
                           {"operation", item_operation_name(operation)},
                           {"created_us", created_us}};
  if (old_bbox) {
    change["old_bbox"] = old_bbox->to_json();
  }
  if (new_bbox) {
    change["new_bbox"] = new_bbox->to_json();
  }
  return change;
}

namespace catalog {

void check_item_changes_limit(std::size_t limit) {
  if (limit == 0 || limit > kMaxItemChangesPage) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("limit: {} is outside 1..{} item changes", limit, kMaxItemChangesPage));
  }
}

std::optional<Bbox> item_change_bbox(std::optional<double> minx, std::optional<double> miny, std::optional<double> maxx,
                                     std::optional<double> maxy) {
  if (!minx || !miny || !maxx || !maxy) {
    return std::nullopt;
  }
  return Bbox{*minx, *miny, *maxx, *maxy};
}

}  // namespace catalog
}  // namespace tessera
