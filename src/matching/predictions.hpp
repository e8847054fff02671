#pragma once

// Predictions: STAC label items a model returns, their checks, the per-model
// collection they are stored in, and the summaries over them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"

namespace tessera::matching {

// The label extension's schema, added to label items that do not list it.
inline constexpr const char* kLabelExtension = "https://stac-extensions.github.io/label/v1.0.1/schema.json";

// Checks the label fields (InvalidInput naming the field) and adds the label
// extension to stac_extensions when missing.
void validate_label_item(nlohmann::json& item);

// "<model>-predictions".
std::string predictions_collection(std::string_view model);

// Creates the model's predictions collection when it does not exist.
void ensure_predictions_collection(Catalog& catalog, const std::string& collection, std::string_view model);

// {id, model, aoi, collection, item, source, uri, created, classes} of a stored label item.
nlohmann::json prediction_record(const nlohmann::json& item, std::string_view model, std::string_view aoi,
                                 std::int64_t created_us);

// Counts, latest and class counts per model and per AOI.
nlohmann::json summarize(std::string_view model, const std::vector<nlohmann::json>& predictions);

}  // namespace tessera::matching
