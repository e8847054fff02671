#pragma once

// Models, AOIs and imagery items for the matching tests.

#include <string>

#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"

namespace tessera::testing {

inline nlohmann::json square(double x, double y, double size) {
  return {{"type", "Polygon"},
          {"coordinates", nlohmann::json::array({nlohmann::json::array(
                              {{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}, {x, y}})})}};
}

inline nlohmann::json make_model(const std::string& name, nlohmann::json command = {"/bin/true"}) {
  return {{"name", name}, {"description", "test model " + name}, {"command", std::move(command)}};
}

// An AOI of `model` over a square, accepting 30 m imagery, needing red and nir.
inline nlohmann::json make_aoi(const std::string& model, nlohmann::json geometry, double resolution = 30.0,
                               nlohmann::json wavelengths = {0.665, 0.842}) {
  return {{"model", model},
          {"geometry", std::move(geometry)},
          {"resolution", resolution},
          {"wavelengths", std::move(wavelengths)}};
}

// A Sentinel-2-like item: 10 m, EO 1.x bands red (0.665) and nir (0.842) at item level.
inline nlohmann::json make_imagery(const std::string& id, const std::string& collection, double x, double y,
                                   double size = 1.0, double gsd = 10.0) {
  nlohmann::json properties = {
      {"gsd", gsd},
      {"eo:cloud_cover", 12.5},
      {"eo:bands",
       {{{"name", "B04"}, {"common_name", "red"}, {"center_wavelength", 0.665}, {"full_width_half_max", 0.038}},
        {{"name", "B08"}, {"common_name", "nir"}, {"center_wavelength", 0.842}, {"full_width_half_max", 0.145}}}}};
  return make_item(id, collection, "2024-05-01T10:00:00Z", x, y, size, properties);
}

}  // namespace tessera::testing
