#pragma once

// What create_item knows about a band beyond its pixels: the spectral
// fields of the EO extension (STAC 1.1 `bands`: eo:common_name,
// eo:center_wavelength, eo:full_width_half_max), read from the raster's own
// metadata or looked up in a sensor's published band table.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

class GDALRasterBand;

namespace tessera::ingest {

struct BandSpectrum {
  std::string common_name;           // EO common name, empty when unknown
  std::optional<double> center;      // µm
  std::optional<double> full_width;  // µm (full width at half maximum)
};

// The sensors with a band table, by preset name ("sentinel-2", "landsat-oli").
std::vector<std::string> sensor_preset_names();

// The band called `name` ("B04", "B4", "SR_B4", "B8A"; case-insensitive) in
// the preset's table, or nullopt. InvalidInput naming the accepted presets
// for an unknown preset.
std::optional<BandSpectrum> preset_band(std::string_view preset, std::string_view name);

// The band's spectral metadata as GDAL reports it: the IMAGERY domain's
// CENTRAL_WAVELENGTH_UM / FWHM_UM, else WAVELENGTH (+ WAVELENGTH_UNIT or
// wavelength_units: nm or µm, default µm) and BANDWIDTH or fwhm (same unit)
// in the default domain (the Sentinel-2 and ENVI drivers, gdal_edit -mo),
// and a common name from its colour interpretation (red, green, blue).
// InvalidInput naming the band and item for an unreadable wavelength.
BandSpectrum raster_band_spectrum(GDALRasterBand& band, std::string_view where);

}  // namespace tessera::ingest
