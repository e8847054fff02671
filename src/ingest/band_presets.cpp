#include "ingest/band_presets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>
#include <gdal_priv.h>

#include "tessera/error.hpp"

namespace tessera::ingest {

namespace {

struct PresetBand {
  std::string_view name;  // normalised: "B" + number without leading zeros + suffix ("B4", "B8A")
  std::string_view common_name;
  double center;      // µm
  double full_width;  // µm
};

// Sentinel-2 MSI: the centres and widths the Sentinel-2 STAC collections
// publish (Sentinel-2A spectral response).
constexpr std::array<PresetBand, 13> kSentinel2 = {{
    {"B1", "coastal", 0.443, 0.027},
    {"B2", "blue", 0.490, 0.098},
    {"B3", "green", 0.560, 0.045},
    {"B4", "red", 0.665, 0.038},
    {"B5", "rededge", 0.704, 0.019},
    {"B6", "rededge", 0.740, 0.018},
    {"B7", "rededge", 0.783, 0.028},
    {"B8", "nir", 0.842, 0.145},
    {"B8A", "nir08", 0.865, 0.033},
    {"B9", "nir09", 0.945, 0.026},
    {"B10", "cirrus", 1.375, 0.075},
    {"B11", "swir16", 1.610, 0.143},
    {"B12", "swir22", 2.190, 0.242},
}};

// Landsat 8/9 OLI and TIRS: the USGS Collection 2 STAC values.
constexpr std::array<PresetBand, 11> kLandsatOli = {{
    {"B1", "coastal", 0.44, 0.02},
    {"B2", "blue", 0.48, 0.06},
    {"B3", "green", 0.56, 0.06},
    {"B4", "red", 0.65, 0.04},
    {"B5", "nir08", 0.86, 0.03},
    {"B6", "swir16", 1.60, 0.08},
    {"B7", "swir22", 2.20, 0.20},
    {"B8", "pan", 0.59, 0.18},
    {"B9", "cirrus", 1.37, 0.02},
    {"B10", "lwir11", 10.9, 0.8},
    {"B11", "lwir12", 12.0, 1.0},
}};

struct Preset {
  std::string_view name;
  const PresetBand* begin;
  const PresetBand* end;
};

constexpr std::array<Preset, 2> kPresets = {{
    {"sentinel-2", kSentinel2.data(), kSentinel2.data() + kSentinel2.size()},
    {"landsat-oli", kLandsatOli.data(), kLandsatOli.data() + kLandsatOli.size()},
}};

// "SR_B04" -> "B4", "b8a" -> "B8A"; "" when the name is no band number.
std::string normalised_band_name(std::string_view name) {
  std::string upper;
  upper.reserve(name.size());
  for (const char c : name) {
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  for (const std::string_view prefix : {"SR_", "ST_", "TOA_"}) {
    if (upper.rfind(prefix, 0) == 0) {
      upper.erase(0, prefix.size());
      break;
    }
  }
  if (upper.size() < 2 || upper[0] != 'B' || std::isdigit(static_cast<unsigned char>(upper[1])) == 0) {
    return {};
  }
  std::size_t digits = 1;
  while (digits < upper.size() - 1 && upper[digits] == '0') {
    ++digits;
  }
  return "B" + upper.substr(digits);
}

// A metadata value read as a positive number, or nullopt when absent.
std::optional<double> positive_item(GDALRasterBand& band, const char* key, const char* domain, std::string_view where) {
  const char* text = band.GetMetadataItem(key, domain);
  if (text == nullptr) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value > 0)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: band metadata {}: '{}' is not a positive number", where, key, text));
  }
  return value;
}

// Micrometres per unit of a wavelength unit name; nullopt for an unknown one.
std::optional<double> micrometres_per(std::string_view unit) {
  std::string lower;
  for (const char c : unit) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (lower.empty() || lower == "um" || lower == "µm" || lower == "micrometers" || lower == "micrometres" ||
      lower == "micrometer" || lower == "micrometre" || lower == "microns" || lower == "micron") {
    return 1.0;
  }
  if (lower == "nm" || lower == "nanometers" || lower == "nanometres" || lower == "nanometer" || lower == "nanometre") {
    return 1e-3;
  }
  return std::nullopt;
}

const char* first_item(GDALRasterBand& band, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (band.GetMetadataItem(key) != nullptr) {
      return key;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> sensor_preset_names() {
  std::vector<std::string> names;
  for (const Preset& preset : kPresets) {
    names.emplace_back(preset.name);
  }
  return names;
}

std::optional<BandSpectrum> preset_band(std::string_view preset_name, std::string_view name) {
  const auto preset = std::find_if(kPresets.begin(), kPresets.end(),
                                   [&](const Preset& candidate) { return candidate.name == preset_name; });
  if (preset == kPresets.end()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("sensor: unknown preset '{}' (accepted: {})", preset_name,
                                                      fmt::join(sensor_preset_names(), ", ")));
  }
  const std::string wanted = normalised_band_name(name);
  const auto band =
      std::find_if(preset->begin, preset->end, [&](const PresetBand& candidate) { return candidate.name == wanted; });
  if (wanted.empty() || band == preset->end) {
    return std::nullopt;
  }
  return BandSpectrum{std::string(band->common_name), band->center, band->full_width};
}

BandSpectrum raster_band_spectrum(GDALRasterBand& band, std::string_view where) {
  BandSpectrum spectrum;
  switch (band.GetColorInterpretation()) {
    case GCI_RedBand:
      spectrum.common_name = "red";
      break;
    case GCI_GreenBand:
      spectrum.common_name = "green";
      break;
    case GCI_BlueBand:
      spectrum.common_name = "blue";
      break;
    default:
      break;
  }
  spectrum.center = positive_item(band, "CENTRAL_WAVELENGTH_UM", "IMAGERY", where);
  spectrum.full_width = positive_item(band, "FWHM_UM", "IMAGERY", where);
  if (spectrum.center) {
    return spectrum;
  }
  const char* wavelength_key = first_item(band, {"WAVELENGTH", "wavelength"});
  if (wavelength_key == nullptr) {
    return spectrum;
  }
  const char* unit_key = first_item(band, {"WAVELENGTH_UNIT", "wavelength_units", "WAVELENGTH_UNITS"});
  const std::string unit = unit_key != nullptr ? band.GetMetadataItem(unit_key) : "";
  const auto scale = micrometres_per(unit);
  if (!scale) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: band metadata {}: unknown wavelength unit '{}' (nm or um)", where, unit_key, unit));
  }
  spectrum.center = *positive_item(band, wavelength_key, nullptr, where) * *scale;
  if (const char* width_key = first_item(band, {"BANDWIDTH", "fwhm", "FWHM"})) {
    const char* width_unit_key = first_item(band, {"BANDWIDTH_UNIT"});
    const auto width_scale = width_unit_key != nullptr ? micrometres_per(band.GetMetadataItem(width_unit_key)) : scale;
    if (!width_scale) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{}: band metadata BANDWIDTH_UNIT: unknown unit '{}' (nm or um)", where,
                              band.GetMetadataItem(width_unit_key)));
    }
    spectrum.full_width = *positive_item(band, width_key, nullptr, where) * *width_scale;
  }
  return spectrum;
}

}  // namespace tessera::ingest
