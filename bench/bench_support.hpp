#pragma once

// Shared by the benchmark programs.

#include <string>

#include <nlohmann/json.hpp>

namespace tessera::bench {

// The collections the generated Sentinel-2-like items belong to.
inline const char* const kCollections[] = {"sentinel-2-l2a", "sentinel-2-l1c", "landsat-c2-l2"};

inline nlohmann::json collection_json(const std::string& id) {
  using nlohmann::json;
  return {{"type", "Collection"},
          {"stac_version", "1.1.0"},
          {"id", id},
          {"description", id},
          {"license", "proprietary"},
          {"links", json::array()},
          {"extent",
           {{"spatial", {{"bbox", json::array({json::array({-180, -90, 180, 90})})}}},
            {"temporal", {{"interval", json::array({json::array({"2019-01-01T00:00:00Z", nullptr})})}}}}}};
}

}  // namespace tessera::bench
