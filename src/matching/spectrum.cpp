#include "matching/spectrum.hpp"

#include <algorithm>
#include <array>
#include <string>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::matching {

using nlohmann::json;

namespace {

struct CommonName {
  std::string_view name;
  double low;
  double high;
};

// The common-name table of the EO extension (v1.x), in µm.
constexpr std::array<CommonName, 16> kCommonNames = {{
    {"coastal", 0.40, 0.45},
    {"blue", 0.45, 0.50},
    {"green", 0.50, 0.60},
    {"red", 0.60, 0.70},
    {"yellow", 0.58, 0.62},
    {"pan", 0.50, 0.70},
    {"rededge", 0.70, 0.79},
    {"nir", 0.75, 1.00},
    {"nir08", 0.75, 0.90},
    {"nir09", 0.85, 1.05},
    {"cirrus", 1.35, 1.40},
    {"swir16", 1.55, 1.75},
    {"swir22", 2.10, 2.30},
    {"lwir", 10.5, 12.5},
    {"lwir11", 10.5, 11.5},
    {"lwir12", 11.5, 12.5},
}};

class SpectrumReader {
 public:
  explicit SpectrumReader(const json& item) : item_id_(item.value("id", std::string())) {}

  [[noreturn]] void fail(const std::string& path, std::string_view problem) const {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item '{}': {}: {}", item_id_, path, problem));
  }

  // A positive number, or nullopt when absent or null.
  std::optional<double> positive(const json& object, const char* key, const std::string& path) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      return std::nullopt;
    }
    if (!it->is_number() || it->get<double>() <= 0) {
      fail(path + "." + key, "must be a positive number");
    }
    return it->get<double>();
  }

  // The `eo:bands` (EO 1.x) and `bands` (STAC 1.1) of `owner`, whose own GSD is `owner_gsd`.
  void read_bands(const json& owner, const std::string& path, std::optional<double> owner_gsd) {
    for (const char* list : {"eo:bands", "bands"}) {
      const auto it = owner.find(list);
      if (it == owner.end() || it->is_null()) {
        continue;
      }
      const std::string list_path = path + "." + list;
      if (!it->is_array()) {
        fail(list_path, "must be an array of band objects");
      }
      for (std::size_t n = 0; n < it->size(); ++n) {
        const json& band = (*it)[n];
        const std::string band_path = fmt::format("{}[{}]", list_path, n);
        if (!band.is_object()) {
          fail(band_path, "must be a band object");
        }
        read_band(band, band_path, owner_gsd);
      }
    }
  }

  void read_band(const json& band, const std::string& path, std::optional<double> owner_gsd) {
    // EO 1.x names first, then STAC 1.1's prefixed ones.
    std::optional<double> center = positive(band, "center_wavelength", path);
    if (!center) {
      center = positive(band, "eo:center_wavelength", path);
    }
    std::optional<double> width = positive(band, "full_width_half_max", path);
    if (!width) {
      width = positive(band, "eo:full_width_half_max", path);
    }
    std::optional<std::pair<double, double>> common;
    for (const char* key : {"common_name", "eo:common_name"}) {
      const auto it = band.find(key);
      if (it != band.end() && !it->is_null()) {
        if (!it->is_string()) {
          fail(path + "." + key, "must be a string");
        }
        common = common_name_range(it->get_ref<const std::string&>());
        break;
      }
    }
    const std::optional<double> band_gsd = positive(band, "gsd", path);
    SpectralBand result;
    result.gsd = band_gsd ? band_gsd : owner_gsd;
    if (center && width) {
      result.low = *center - *width / 2;
      result.high = *center + *width / 2;
    } else if (common) {
      // Only a common name (or a center without a width): the EO
      // extension's range for that name.
      result.low = common->first;
      result.high = common->second;
    } else if (center) {
      result.low = result.high = *center;
    } else {
      return;  // a band without spectral information (e.g. a SAR polarisation)
    }
    spectrum.bands.push_back(result);
    note_gsd(result.gsd);
  }

  void note_gsd(std::optional<double> gsd) {
    if (gsd && (!spectrum.finest_gsd || *gsd < *spectrum.finest_gsd)) {
      spectrum.finest_gsd = gsd;
    }
  }

  ItemSpectrum spectrum;

 private:
  std::string item_id_;
};

}  // namespace

std::optional<std::pair<double, double>> common_name_range(std::string_view name) {
  for (const auto& entry : kCommonNames) {
    if (entry.name == name) {
      return std::make_pair(entry.low, entry.high);
    }
  }
  return std::nullopt;
}

ItemSpectrum read_spectrum(const json& item) {
  SpectrumReader reader(item);
  static const json kEmpty = json::object();
  const auto properties_it = item.find("properties");
  const json& properties = properties_it != item.end() && properties_it->is_object() ? *properties_it : kEmpty;
  const std::optional<double> item_gsd = reader.positive(properties, "gsd", "properties");
  reader.note_gsd(item_gsd);
  reader.read_bands(properties, "properties", item_gsd);
  const auto assets = item.find("assets");
  if (assets != item.end() && assets->is_object()) {
    for (const auto& [key, asset] : assets->items()) {
      if (!asset.is_object()) {
        continue;  // the catalog's validation reports malformed assets
      }
      const std::string path = "assets." + key;
      std::optional<double> asset_gsd = reader.positive(asset, "gsd", path);
      reader.note_gsd(asset_gsd);
      reader.read_bands(asset, path, asset_gsd ? asset_gsd : item_gsd);
    }
  }
  return std::move(reader.spectrum);
}

bool ItemSpectrum::satisfies(const std::vector<double>& wavelengths, double max_gsd) const {
  if (wavelengths.empty()) {
    return finest_gsd && *finest_gsd <= max_gsd;
  }
  return std::all_of(wavelengths.begin(), wavelengths.end(), [&](double wavelength) {
    return std::any_of(bands.begin(), bands.end(), [&](const SpectralBand& band) {
      return band.gsd && *band.gsd <= max_gsd && band.low <= wavelength && wavelength <= band.high;
    });
  });
}

}  // namespace tessera::matching
