#pragma once

// Models and AOIs as users give them: validation with errors naming the
// field, normalisation to the stored form (AOI geometry in WGS84), and the
// compiled rules of an AOI the index evaluates.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/cql2.hpp"
#include "tessera/geometry.hpp"

namespace tessera::matching {

// A random identifier (32 hex digits) for models, AOIs and predictions without one.
std::string new_id();

// The stored form of a model: id, name, description, command, runner
// {timeout, concurrency}, created, updated. `existing` (for an update) keeps
// its id and created time.
nlohmann::json normalize_model(const nlohmann::json& model, const nlohmann::json* existing = nullptr);

// Everything an AOI asks of an item besides its geometry.
struct AoiRule {
  std::string id;
  std::string model;
  double resolution = 0;
  std::vector<double> wavelengths;
  std::vector<std::string> collections;  // sorted; empty: any
  std::optional<std::int64_t> start;     // datetime window, µs
  std::optional<std::int64_t> end;
  std::optional<double> max_cloud_cover;
  std::optional<cql2::Expr> filter;
};

struct Aoi {
  nlohmann::json stored;  // the normalised document
  AoiRule rule;
  Geometry geometry;  // WGS84
};

// Validates an AOI (as given by a user, or as stored) into its stored form
// and rule. The model's existence is the caller's check.
Aoi parse_aoi(const nlohmann::json& aoi);

}  // namespace tessera::matching
