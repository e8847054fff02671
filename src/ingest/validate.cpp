// Item validation without writing: the checks of a load (catalog::prepare_item
// and the collection's existence), per item.
#include <map>

#include <fmt/format.h>

#include "catalog/stac.hpp"
#include "ingest/ingest_internal.hpp"
#include "tessera/error.hpp"
#include "tessera/ingest.hpp"

namespace tessera {

using nlohmann::json;

json ValidationReport::to_json() const {
  json list = json::array();
  for (const auto& result : results) {
    json entry = {{"id", result.id}, {"collection", result.collection}, {"valid", result.valid()}};
    if (!result.valid()) {
      entry["error"] = result.error;
    }
    list.push_back(std::move(entry));
  }
  return {{"valid", valid}, {"invalid", invalid}, {"results", std::move(list)}};
}

ValidationReport validate(Catalog& catalog, std::string_view items) {
  if (items.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw Error(ErrorCode::kInvalidInput, "validate: no items given");
  }
  std::vector<std::string> texts = ingestion::split_items(items);
  if (texts.size() > kMaxValidateItems) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("validate: {} items given, at most {} are checked in one call",
                                                      texts.size(), kMaxValidateItems));
  }
  std::map<std::string, bool> collection_exists;  // asked once per collection
  ValidationReport report;
  for (auto& text : texts) {
    ItemValidation result;
    std::tie(result.id, result.collection) = catalog::item_identity(text);
    try {
      const catalog::PreparedItem item = catalog::prepare_item(std::move(text));
      result.id = item.id;
      result.collection = item.collection;
      auto known = collection_exists.find(item.collection);
      if (known == collection_exists.end()) {
        bool exists = true;
        try {
          (void)catalog.get_collection(item.collection);
        } catch (const Error& error) {
          if (error.code() != ErrorCode::kNotFound) {
            throw;
          }
          exists = false;
        }
        known = collection_exists.emplace(item.collection, exists).first;
      }
      if (!known->second) {
        result.error =
            fmt::format("item '{}': collection '{}' does not exist in the catalog", item.id, item.collection);
      }
    } catch (const Error& error) {
      if (error.code() != ErrorCode::kInvalidInput) {
        throw;  // the catalog could not be asked: not the item's fault
      }
      result.error = error.what();
    }
    ++(result.valid() ? report.valid : report.invalid);
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace tessera
