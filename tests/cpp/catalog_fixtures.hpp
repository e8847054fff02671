#pragma once

// Small STAC objects for catalog tests.

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tessera::testing {

inline nlohmann::json make_collection(const std::string& id) {
  return {{"type", "Collection"},
          {"stac_version", "1.1.0"},
          {"id", id},
          {"description", "test collection " + id},
          {"license", "CC-BY-4.0"},
          {"links", nlohmann::json::array()},
          {"extent",
           {{"spatial", {{"bbox", nlohmann::json::array({nlohmann::json::array({-180, -90, 180, 90})})}}},
            {"temporal",
             {{"interval", nlohmann::json::array({nlohmann::json::array({"2020-01-01T00:00:00Z", nullptr})})}}}}}};
}

// A square item of side `size` degrees with its south-west corner at (x, y).
inline nlohmann::json make_item(const std::string& id, const std::string& collection, const std::string& datetime,
                                double x, double y, double size = 1.0,
                                nlohmann::json properties = nlohmann::json::object()) {
  properties["datetime"] = datetime;
  return {{"type", "Feature"},
          {"stac_version", "1.1.0"},
          {"id", id},
          {"collection", collection},
          {"geometry",
           {{"type", "Polygon"},
            {"coordinates", nlohmann::json::array({nlohmann::json::array(
                                {{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}, {x, y}})})}}},
          {"bbox", {x, y, x + size, y + size}},
          {"properties", properties},
          {"links", nlohmann::json::array()},
          {"assets", {{"data", {{"href", fmt::format("https://example.com/{}.tif", id)}}}}}};
}

}  // namespace tessera::testing
