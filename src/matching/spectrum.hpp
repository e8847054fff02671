#pragma once

// What an item offers a model: its bands as wavelength ranges, each with the
// ground sample distance it is delivered at. Read from EO 1.x `eo:bands` and
// STAC 1.1 `bands`, at item level and in each asset.

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::matching {

// Wavelengths (µm) a model may require; outside is InvalidInput.
inline constexpr double kMinWavelength = 0.2;
inline constexpr double kMaxWavelength = 15.0;

struct SpectralBand {
  double low = 0;             // µm, center - fwhm/2
  double high = 0;            // µm, center + fwhm/2
  std::optional<double> gsd;  // metres: the band's, else its asset's, else the item's
};

struct ItemSpectrum {
  std::vector<SpectralBand> bands;
  // The finest GSD the item states anywhere (properties, assets, bands).
  std::optional<double> finest_gsd;

  // Every wavelength lies in a band delivered at `max_gsd` or finer. With no
  // wavelengths: some GSD is stated and the finest is at most `max_gsd`.
  [[nodiscard]] bool satisfies(const std::vector<double>& wavelengths, double max_gsd) const;
};

// The EO extension's range for a common band name ("nir" -> 0.75-1.00), or
// nullopt for a name it does not define.
std::optional<std::pair<double, double>> common_name_range(std::string_view name);

// Reads the item's band metadata. Malformed metadata (a band list that is
// not an array of objects, a non-numeric or non-positive wavelength, width or
// gsd) is InvalidInput naming the item and the JSON path.
ItemSpectrum read_spectrum(const nlohmann::json& item);

}  // namespace tessera::matching
