#pragma once

// Encoding images (tiles, parts, previews) as PNG, JPEG, WEBP, GeoTIFF or NPY,
// pixel-for-pixel like rio-tiler's ImageData.render and TiTiler's
// rescale/colormap parameters.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/colormap.hpp"
#include "tessera/export.hpp"
#include "tessera/image.hpp"

namespace tessera {

struct TESSERA_API RenderOptions {
  // "png", "jpeg" (or "jpg"), "webp", "tif" (or "gtiff"), "npy"; any case.
  std::string format = "png";
  // Rescale each band linearly from [min, max] to 0-255 uint8, values outside
  // clipped and no-data pixels set to 0: one range for every band, or one per band.
  std::vector<std::pair<double, double>> rescale;
  // Colours a single-band image (after the rescale); the output is RGB plus alpha.
  std::optional<Colormap> colormap;
  // Colour with the image's own palette (ImageData::palette) when it has one
  // and no colormap is set.
  bool use_palette = false;
  // Write the mask: as the alpha band (PNG, WEBP, uint8 GeoTIFF), as an
  // internal mask (GeoTIFF of other types) or as the last band (NPY). JPEG
  // never has one. rio-tiler's add_mask.
  bool add_mask = true;
  int jpeg_quality = 85;  // 1-100; rio-tiler's JPEG profile
  int webp_quality = 75;  // 1-100, lossy; rio-tiler's WEBP profile
};

// The encoded image. Without a rescale or colormap, types a format cannot hold
// are rescaled from their type's full range to uint8 as rio-tiler does (PNG
// holds uint8 and uint16; JPEG and WEBP uint8 only; GeoTIFF and NPY keep the
// type). PNG, JPEG and WEBP take 1 or 3 bands. GeoTIFF is georeferenced with
// the image's bounds and CRS. InvalidInput for an unknown format, a bad option
// or an image the format cannot take.
TESSERA_API std::string render(const ImageData& image, const RenderOptions& options = {});

// The Content-Type of a format render() writes ("image/png", ...);
// InvalidInput for an unknown format.
TESSERA_API std::string_view render_media_type(std::string_view format);

// Every format name render() takes, aliases included ("png", "jpeg", "jpg", ...).
TESSERA_API std::vector<std::string> render_format_names();

}  // namespace tessera
