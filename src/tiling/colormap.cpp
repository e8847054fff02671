#include "tessera/colormap.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tessera/error.hpp"
#include "tiling/pixel_type.hpp"

namespace tessera {

using nlohmann::json;

namespace {

struct NamedColormap {
  std::string_view name;
  std::array<std::uint8_t, 256 * 4> rgba;
};

constexpr NamedColormap kNamedColormaps[] = {
#include "tiling/colormap_data.inc"
};

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// A JSON value as it goes into an error message, cut short when long.
std::string brief(const json& value) {
  std::string text = value.dump();
  constexpr std::size_t kMax = 60;
  if (text.size() > kMax) {
    text.resize(kMax);
    text += "...";
  }
  return text;
}

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

bool is_integral(double value) { return std::floor(value) == value; }

// Keys are written back as integers when they are whole numbers, so a 256-entry
// map round-trips as "0".."255" like rio-tiler's JSON files.
std::string key_text(double value) {
  if (is_integral(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{}", value);  // shortest text that reads back to the same double
}

// rio-tiler's parse_color for strings: "#rgb", "#rgba", "#rrggbb", "#rrggbbaa".
PaletteEntry parse_hex_color(std::string_view text, std::string_view where) {
  const std::size_t digits = text.size() - 1;
  const bool hex = text.starts_with('#') &&
                   std::all_of(text.begin() + 1, text.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (!hex || (digits != 3 && digits != 4 && digits != 6 && digits != 8)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: colour '{}' is not #rgb, #rgba, #rrggbb or #rrggbbaa", where, text));
  }
  const std::size_t width = digits <= 4 ? 1 : 2;
  std::array<std::uint8_t, 4> rgba{0, 0, 0, 255};
  for (std::size_t i = 0; i < digits / width; ++i) {
    unsigned value = 0;
    std::from_chars(text.data() + 1 + i * width, text.data() + 1 + (i + 1) * width, value, 16);
    rgba[i] = static_cast<std::uint8_t>(width == 1 ? value * 17 : value);  // "f" means "ff"
  }
  return {rgba[0], rgba[1], rgba[2], rgba[3]};
}

PaletteEntry parse_color(const json& value, std::string_view where) {
  if (value.is_string()) {
    return parse_hex_color(value.get_ref<const std::string&>(), where);
  }
  if (!value.is_array() || (value.size() != 3 && value.size() != 4)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("{}: a colour is [r, g, b], [r, g, b, a] or \"#rrggbb\", got {}", where, brief(value)));
  }
  std::array<std::uint8_t, 4> rgba{0, 0, 0, 255};
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json& component = value[i];
    const double number = component.is_number() ? component.get<double>() : -1;
    if (!component.is_number() || !is_integral(number) || number < 0 || number > 255) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("{}: colour component {} is {}, not an integer 0-255", where, i + 1, brief(component)));
    }
    rgba[i] = static_cast<std::uint8_t>(number);
  }
  return {rgba[0], rgba[1], rgba[2], rgba[3]};
}

json color_json(const PaletteEntry& color) { return json::array({color.r, color.g, color.b, color.a}); }

// numpy's astype(uint8), which rio-tiler applies before indexing a 256-entry
// table, as it behaves on x86-64: integers keep their low byte; floats are
// truncated toward zero through int32, NaN and values beyond int32 becoming 0.
template <typename T>
std::uint8_t numpy_uint8(T value) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<std::uint8_t>(value);
  } else {
    if (!(value > -2147483649.0 && value < 2147483648.0)) {
      return 0;
    }
    return static_cast<std::uint8_t>(static_cast<std::int32_t>(value));
  }
}

constexpr PaletteEntry kTransparent{0, 0, 0, 0};

}  // namespace

Colormap Colormap::named(std::string_view name) {
  const std::string lower = ascii_lower(name);
  const auto* found = std::find_if(std::begin(kNamedColormaps), std::end(kNamedColormaps),
                                   [&](const NamedColormap& named) { return named.name == lower; });
  if (found == std::end(kNamedColormaps)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("unknown colormap '{}' (known: {})", name, fmt::join(names(), ", ")));
  }
  Colormap colormap;
  colormap.entries_.reserve(256);
  for (std::size_t i = 0; i < 256; ++i) {
    const auto* rgba = found->rgba.data() + i * 4;
    colormap.entries_.push_back({static_cast<double>(i), {rgba[0], rgba[1], rgba[2], rgba[3]}});
  }
  return colormap;
}

std::vector<std::string> Colormap::names() {
  std::vector<std::string> names;
  for (const auto& named : kNamedColormaps) {
    names.emplace_back(named.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Colormap Colormap::from_json(const json& value) {
  Colormap colormap;
  if (value.is_array()) {
    colormap.kind_ = Kind::kIntervals;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const json& item = value[i];
      const std::string where = fmt::format("colormap[{}]", i);
      if (!item.is_array() || item.size() != 2) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}: an interval entry is [[min, max], colour], got {}", where, brief(item)));
      }
      const json& range = item[0];
      if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number()) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}[0]: an interval is [min, max] (numbers), got {}", where, brief(range)));
      }
      const double min = range[0].get<double>();
      const double max = range[1].get<double>();
      if (!(min < max)) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("{}[0]: interval [{}, {}] is empty (min must be less than max)", where, min, max));
      }
      colormap.intervals_.push_back({min, max, parse_color(item[1], where + "[1]")});
    }
  } else if (value.is_object()) {
    for (const auto& [key, color] : value.items()) {
      const std::string where = fmt::format("colormap[\"{}\"]", key);
      const std::optional<double> number = parse_number(key);
      if (!number) {
        throw Error(ErrorCode::kInvalidInput, fmt::format("{}: the key '{}' is not a finite number", where, key));
      }
      colormap.entries_.push_back({*number, parse_color(color, where)});
    }
    std::sort(colormap.entries_.begin(), colormap.entries_.end(),
              [](const ColormapEntry& a, const ColormapEntry& b) { return a.value < b.value; });
    const auto duplicate =
        std::adjacent_find(colormap.entries_.begin(), colormap.entries_.end(),
                           [](const ColormapEntry& a, const ColormapEntry& b) { return a.value == b.value; });
    if (duplicate != colormap.entries_.end()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("colormap: two keys are the value {}", key_text(duplicate->value)));
    }
    // rio-tiler's test for a lookup table: 256 integer keys in 0..255.
    const bool table = colormap.entries_.size() == 256 && colormap.entries_.front().value >= 0 &&
                       colormap.entries_.back().value <= 255 &&
                       std::all_of(colormap.entries_.begin(), colormap.entries_.end(),
                                   [](const ColormapEntry& entry) { return is_integral(entry.value); });
    colormap.kind_ = table ? Kind::kTable : Kind::kDiscrete;
  } else {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("a colormap is a JSON object {{\"value\": colour, ...}} or an array of "
                            "[[min, max], colour] intervals, got {}",
                            value.type_name()));
  }
  if (colormap.entries_.empty() && colormap.intervals_.empty()) {
    throw Error(ErrorCode::kInvalidInput, "colormap is empty");
  }
  return colormap;
}

Colormap Colormap::from_palette(const std::vector<PaletteEntry>& palette) {
  if (palette.empty()) {
    throw Error(ErrorCode::kInvalidInput, "the palette is empty");
  }
  Colormap colormap;
  colormap.kind_ = palette.size() == 256 ? Kind::kTable : Kind::kDiscrete;
  colormap.entries_.reserve(palette.size());
  for (std::size_t i = 0; i < palette.size(); ++i) {
    colormap.entries_.push_back({static_cast<double>(i), palette[i]});
  }
  return colormap;
}

json Colormap::to_json() const {
  if (kind_ == Kind::kIntervals) {
    json intervals = json::array();
    for (const auto& interval : intervals_) {
      intervals.push_back(json::array({json::array({interval.min, interval.max}), color_json(interval.color)}));
    }
    return intervals;
  }
  json entries = json::object();
  for (const auto& entry : entries_) {
    entries[key_text(entry.value)] = color_json(entry.color);
  }
  return entries;
}

ImageData Colormap::apply(const ImageData& image) const {
  if (image.band_count() != 1) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("a colormap applies to a single band, but the image has {}", image.band_count()));
  }
  ImageData rgb(DataType::kUInt8, 3, image.height(), image.width());
  rgb.bounds = image.bounds;
  rgb.crs_wkt = image.crs_wkt;
  rgb.band_names = {"b1", "b2", "b3"};
  rgb.warnings = image.warnings;

  std::uint8_t* red = rgb.band<std::uint8_t>(0);
  std::uint8_t* green = rgb.band<std::uint8_t>(1);
  std::uint8_t* blue = rgb.band<std::uint8_t>(2);
  std::uint8_t* alpha = rgb.mask();
  const std::uint8_t* mask = image.mask();
  const std::size_t count = image.pixel_count();

  tiling::with_band_values(image, 0, [&](const auto* values) {
    const auto color_of = [&](auto value) -> PaletteEntry {
      switch (kind_) {
        case Kind::kTable:
          return entries_[numpy_uint8(value)].color;
        case Kind::kDiscrete: {
          const double key = static_cast<double>(value);
          const auto found =
              std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const ColormapEntry& entry, double wanted) { return entry.value < wanted; });
          return found != entries_.end() && found->value == key ? found->color : kTransparent;
        }
        case Kind::kIntervals: {
          const double key = static_cast<double>(value);
          const auto found = std::find_if(intervals_.rbegin(), intervals_.rend(), [&](const ColormapInterval& range) {
            return key >= range.min && key < range.max;
          });
          return found != intervals_.rend() ? found->color : kTransparent;
        }
      }
      return kTransparent;
    };
    for (std::size_t i = 0; i < count; ++i) {
      const PaletteEntry color = color_of(values[i]);
      red[i] = color.r;
      green[i] = color.g;
      blue[i] = color.b;
      // rio-tiler combines the two with bitwise AND (the same as min for 0/255 masks).
      alpha[i] = static_cast<std::uint8_t>(color.a & mask[i]);
    }
  });
  return rgb;
}

}  // namespace tessera
