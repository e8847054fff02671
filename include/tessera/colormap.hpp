#pragma once

// Colormaps that turn one band of values into colours, with rio-tiler's
// names, JSON forms and apply_cmap semantics (so a TiTiler `colormap` or
// `colormap_name` parameter gives the same pixels here).

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/image.hpp"

namespace tessera {

// The colour of one value of a table or discrete colormap.
struct TESSERA_API ColormapEntry {
  double value = 0;
  PaletteEntry color;
};

// The colour of the values in [min, max).
struct TESSERA_API ColormapInterval {
  double min = 0;
  double max = 0;
  PaletteEntry color;
};

class TESSERA_API Colormap {
 public:
  enum class Kind : int {
    kTable,     // exactly the values 0..255: uint8 pixels index it (other types are cast to uint8 first)
    kDiscrete,  // any other set of values: pixels equal to one of them take its colour
    kIntervals  // [min, max) ranges; where ranges overlap the later one wins
  };

  // A named 256-entry colormap ("viridis", "terrain_r", ...; see names()).
  // The name is case-insensitive; InvalidInput for an unknown one.
  static Colormap named(std::string_view name);
  // Every name named() knows, sorted.
  static std::vector<std::string> names();

  // rio-tiler/TiTiler's JSON forms:
  //   {"<value>": colour, ...}           values are any numbers, e.g. "-1", "0.5"
  //   [[[min, max], colour], ...]        intervals, min inclusive, max exclusive
  // where a colour is [r, g, b], [r, g, b, a] (integers 0-255, alpha 255 when
  // left out) or "#rgb", "#rgba", "#rrggbb", "#rrggbbaa". InvalidInput names
  // the entry at fault.
  static Colormap from_json(const nlohmann::json& value);
  // A raster's own colour table: entry i is the colour of value i.
  static Colormap from_palette(const std::vector<PaletteEntry>& palette);

  // The object or interval form from_json reads back; colours are [r, g, b, a].
  [[nodiscard]] nlohmann::json to_json() const;

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  // Table and discrete colormaps, sorted by value (empty for intervals).
  [[nodiscard]] const std::vector<ColormapEntry>& entries() const noexcept { return entries_; }
  // Interval colormaps in their given order (empty otherwise).
  [[nodiscard]] const std::vector<ColormapInterval>& intervals() const noexcept { return intervals_; }

  // Colours a single-band image: three uint8 bands (red, green, blue) and a
  // mask that carries the colour's alpha AND-ed with the image's mask, so no-data
  // pixels and values without a colour are transparent (0) and partly
  // transparent colours keep their alpha. This is rio-tiler's render(colormap=)
  // data flow; render() writes that mask as the alpha band. Bounds, CRS and
  // warnings are kept. InvalidInput for an image with more than one band.
  [[nodiscard]] ImageData apply(const ImageData& image) const;

 private:
  Colormap() = default;

  Kind kind_ = Kind::kTable;
  std::vector<ColormapEntry> entries_;
  std::vector<ColormapInterval> intervals_;
};

}  // namespace tessera
