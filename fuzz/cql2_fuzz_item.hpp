#pragma once

// The item the CQL2 targets evaluate accepted filters against: one property
// of each kind a filter can compare (so the evaluator's paths are reached).

#include <nlohmann/json.hpp>

namespace tessera::fuzz {

inline const nlohmann::json& cql2_item() {
  static const nlohmann::json item = nlohmann::json::parse(R"({
    "type": "Feature", "stac_version": "1.0.0", "id": "S2B_20200101", "collection": "sentinel-2-l2a",
    "geometry": {"type": "Polygon", "coordinates": [[[10, 40], [12, 40], [12, 42], [10, 42], [10, 40]]]},
    "bbox": [10, 40, 12, 42],
    "properties": {
      "datetime": "2020-01-01T10:00:00Z", "start_datetime": "2020-01-01T09:00:00Z",
      "end_datetime": "2020-01-01T11:00:00Z", "eo:cloud_cover": 12.5, "platform": "Sentinel-2B",
      "instruments": ["msi"], "sat:relative_orbit": 22, "proj:epsg": 32632, "flag": true,
      "title": "Côte d'Ivoire", "nothing": null
    },
    "links": [], "assets": {}
  })");
  return item;
}

}  // namespace tessera::fuzz
