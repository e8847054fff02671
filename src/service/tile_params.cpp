#include "service/tile_params.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tessera/colormap.hpp"
#include "tessera/environment.hpp"
#include "tessera/error.hpp"

namespace tessera::service {

namespace {

// Runs `parse`, turning tessera's errors and JSON errors into a BadParameter
// naming `parameter` (the library's message says what is wrong with the value).
template <typename Parse>
auto parsed(std::string_view parameter, Parse&& parse) {
  try {
    return parse();
  } catch (const Error& error) {
    throw BadParameter(std::string(parameter), fmt::format("{}: {}", parameter, error.what()));
  } catch (const nlohmann::json::exception& error) {
    throw BadParameter(std::string(parameter), fmt::format("{}: not valid JSON ({})", parameter, error.what()));
  }
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

// At most this much of a bad value is quoted back in a message.
std::string shown(std::string_view text) {
  constexpr std::size_t kMax = 64;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

bool flag_of(const HttpRequest& request, std::string_view name, bool fallback) {
  const std::string* value = param(request, name);
  if (value == nullptr) {
    return fallback;
  }
  if (*value == "true" || *value == "1") {
    return true;
  }
  if (*value == "false" || *value == "0") {
    return false;
  }
  throw BadParameter(std::string(name), fmt::format("{}: '{}' is not true or false", name, shown(*value)));
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool word(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  });
}

// The `assets` values, one per asset: `assets=a&assets=b`, or `assets=a,b`
// where a comma also continues the band list of TiTiler 2's "a|bidx=1,2".
std::vector<std::string> asset_texts(const HttpRequest& request) {
  std::vector<std::string> texts;
  for (const auto& [key, value] : request.query) {
    if (key != "assets") {
      continue;
    }
    bool in_options = false;  // the last text has '|' options, which a bare index continues
    for (std::string& part : split(value, ',')) {
      if (in_options && all_digits(part)) {
        texts.back() += "," + part;
      } else if (!part.empty()) {
        in_options = part.find('|') != std::string::npos;
        texts.push_back(std::move(part));
      } else if (in_options) {
        texts.back() += ",";  // "a|bidx=1,": the empty index is refused by the parser, naming it
      }
    }
  }
  return texts;
}

}  // namespace

const std::string* param(const HttpRequest& request, std::string_view name) { return request.query_value(name); }

double number_of(std::string_view text, std::string_view parameter) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw BadParameter(std::string(parameter), fmt::format("{}: '{}' is not a number", parameter, shown(text)));
  }
  return value;
}

int integer_of(std::string_view text, std::string_view parameter) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw BadParameter(std::string(parameter), fmt::format("{}: '{}' is not an integer", parameter, shown(text)));
  }
  return value;
}

std::string required_param(const HttpRequest& request, std::string_view name) {
  const std::string* value = param(request, name);
  if (value == nullptr || value->empty()) {
    throw BadParameter(std::string(name), fmt::format("{}: required", name));
  }
  return *value;
}

std::vector<std::string> list_param(const HttpRequest& request, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : request.query) {
    if (key != name) {
      continue;
    }
    for (std::string& part : split(value, ',')) {
      if (!part.empty()) {
        values.push_back(std::move(part));
      }
    }
  }
  return values;
}

ReadOptions read_options_of(const HttpRequest& request) {
  ReadOptions options;
  for (const std::string& index : list_param(request, "bidx")) {
    const int band = integer_of(index, "bidx");
    if (band < 1) {
      throw BadParameter("bidx", fmt::format("bidx: band indexes start at 1, got {}", index));
    }
    options.indexes.push_back(band);
  }
  if (const std::string* expression = param(request, "expression")) {
    options.expression = *expression;
  }
  if (const std::string* value = param(request, "resampling")) {
    options.resampling = parsed("resampling", [&] { return resampling_from_name(*value); });
  }
  if (const std::string* value = param(request, "reproject")) {
    options.reproject = parsed("reproject", [&] { return resampling_from_name(*value); });
  }
  if (const std::string* value = param(request, "nodata")) {
    options.nodata = number_of(*value, "nodata");
  }
  options.unscale = flag_of(request, "unscale", false);
  if (const std::string* value = param(request, "buffer")) {
    options.buffer = number_of(*value, "buffer");
  }
  return options;
}

RenderOptions render_options_of(const HttpRequest& request, const std::string& format) {
  RenderOptions options;
  options.format = format;
  parsed("format", [&] { return render_media_type(format); });
  for (const auto& [name, range] : request.query) {
    if (name != "rescale") {
      continue;
    }
    const std::vector<std::string> bounds = split(range, ',');
    if (bounds.size() != 2) {
      throw BadParameter("rescale", fmt::format("rescale: '{}' is not min,max", shown(range)));
    }
    options.rescale.emplace_back(number_of(bounds[0], "rescale"), number_of(bounds[1], "rescale"));
  }
  const std::string* name = param(request, "colormap_name");
  const std::string* colormap = param(request, "colormap");
  if (name != nullptr && colormap != nullptr) {
    throw BadParameter("colormap", "colormap: give colormap_name or colormap, not both");
  }
  if (name != nullptr) {
    options.colormap = parsed("colormap_name", [&] { return Colormap::named(*name); });
  }
  if (colormap != nullptr) {
    options.colormap = parsed("colormap", [&] { return Colormap::from_json(nlohmann::json::parse(*colormap)); });
  }
  options.add_mask = flag_of(request, "return_mask", true);
  return options;
}

std::vector<AssetSelection> asset_selections_of(const HttpRequest& request) {
  std::vector<AssetSelection> assets;
  for (const std::string& text : asset_texts(request)) {
    assets.push_back(parsed("assets", [&] { return asset_selection_from_text(text); }));
  }
  // TiTiler 1.x: asset_bidx=<asset>|<i>,<j> gives the bands of an asset named in `assets`.
  for (const auto& [name, value] : request.query) {
    if (name != "asset_bidx") {
      continue;
    }
    const std::size_t bar = value.find('|');
    if (bar == std::string::npos || bar == 0) {
      throw BadParameter("asset_bidx", fmt::format("asset_bidx: '{}' is not <asset>|<index>,...", shown(value)));
    }
    const std::string asset = value.substr(0, bar);
    const auto selection =
        std::find_if(assets.begin(), assets.end(), [&](const AssetSelection& listed) { return listed.name == asset; });
    if (selection == assets.end()) {
      throw BadParameter("asset_bidx", fmt::format("asset_bidx: asset '{}' is not in assets", shown(asset)));
    }
    if (!selection->indexes.empty()) {
      throw BadParameter("asset_bidx",
                         fmt::format("asset_bidx: the bands of asset '{}' are given twice", shown(asset)));
    }
    const std::string bands = asset + "|bidx=" + value.substr(bar + 1);
    selection->indexes = parsed("asset_bidx", [&] { return asset_selection_from_text(bands); }).indexes;
  }
  return assets;
}

MosaicOptions mosaic_options_of(const HttpRequest& request) {
  MosaicOptions options;
  options.assets = asset_selections_of(request);
  if (const std::string* expression = param(request, "expression")) {
    options.expression = *expression;
  }
  if (options.assets.empty() && options.expression.empty()) {
    throw BadParameter("assets", "assets: required (or an expression naming <asset>_b<n> bands)");
  }
  options.asset_as_band = flag_of(request, "asset_as_band", false);
  if (const std::string* value = param(request, "pixel_selection")) {
    options.method = parsed("pixel_selection", [&] { return pixel_selection_from_name(*value); });
  }
  if (const std::string* value = param(request, "max_items")) {
    const int max_items = integer_of(*value, "max_items");
    if (max_items < 1) {
      throw BadParameter("max_items", "max_items: must be at least 1");
    }
    options.max_items_read = static_cast<std::size_t>(max_items);
  }
  // The expression is checked now, so its faults name the parameter.
  parsed("expression", [&] { check_mosaic_options(options); });
  return options;
}

int tile_size_of(const HttpRequest& request, int scale) {
  if (scale < 1 || scale > 4) {
    throw BadParameter("scale", fmt::format("scale: @{}x is not 1 to 4", scale));
  }
  const std::string* value = param(request, "tilesize");
  const int tile_size = value != nullptr ? integer_of(*value, "tilesize") : 256 * scale;
  const int max_size = reader_config().max_image_size;
  if (tile_size < 1 || tile_size > max_size) {
    throw BadParameter("tilesize", fmt::format("tilesize: {} is not 1 to {}", tile_size, max_size));
  }
  // TiTiler 2 dropped @{scale}x for tilesize: a path with both is taken only when they agree.
  if (value != nullptr && scale != 1 && tile_size != 256 * scale) {
    throw BadParameter("tilesize", fmt::format("tilesize: {} contradicts the path's @{}x ({} pixels); give one of them",
                                               tile_size, scale, 256 * scale));
  }
  return tile_size;
}

StatisticsOptions statistics_options_of(const HttpRequest& request) {
  StatisticsOptions options;
  if (const std::string* value = param(request, "max_size")) {
    options.max_size = integer_of(*value, "max_size");
  }
  options.categorical = flag_of(request, "categorical", false);
  if (param(request, "p") != nullptr) {
    options.percentiles.clear();
    for (const std::string& percentile : list_param(request, "p")) {
      options.percentiles.push_back(number_of(percentile, "p"));
    }
  }
  if (const std::string* value = param(request, "histogram_bins")) {
    options.histogram_bins = integer_of(*value, "histogram_bins");
  }
  if (const std::string* value = param(request, "histogram_range")) {
    const std::vector<std::string> bounds = split(*value, ',');
    if (bounds.size() != 2) {
      throw BadParameter("histogram_range", "histogram_range: not min,max");
    }
    options.histogram_range =
        std::pair{number_of(bounds[0], "histogram_range"), number_of(bounds[1], "histogram_range")};
  }
  return options;
}

std::optional<TilePath> tile_path_of(std::string_view tms, std::string_view z, std::string_view x, std::string_view y) {
  // y[@{scale}x][.{format}]
  std::string_view format;
  std::string_view scale;
  if (const std::size_t dot = y.find('.'); dot != std::string_view::npos) {
    format = y.substr(dot + 1);
    y = y.substr(0, dot);
    if (!word(format)) {
      return std::nullopt;
    }
  }
  if (const std::size_t at = y.find('@'); at != std::string_view::npos) {
    scale = y.substr(at + 1);
    y = y.substr(0, at);
    if (!scale.ends_with('x')) {
      return std::nullopt;
    }
    scale.remove_suffix(1);
    if (!all_digits(scale)) {
      return std::nullopt;
    }
  }
  if (tms.empty() || !all_digits(z) || !all_digits(x) || !all_digits(y)) {
    return std::nullopt;
  }
  const auto coordinate = [](std::string_view text, std::string_view name) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      throw BadParameter(std::string(name), fmt::format("{}: '{}' is out of range", name, shown(text)));
    }
    return value;
  };
  TilePath path{tms_of(tms), {}, 1, "png"};
  const std::int64_t zoom = coordinate(z, "z");
  if (zoom > 64) {
    throw BadParameter("z", fmt::format("z: {} is out of range", zoom));
  }
  path.tile.z = static_cast<int>(zoom);
  path.tile.x = coordinate(x, "x");
  path.tile.y = coordinate(y, "y");
  if (!scale.empty()) {
    path.scale = integer_of(scale, "scale");
  }
  if (!format.empty()) {
    path.format = std::string(format);
  }
  return path;
}

TileMatrixSet tms_of(std::string_view name) {
  return parsed("tileMatrixSetId", [&] { return TileMatrixSet::from_name(std::string(name)); });
}

}  // namespace tessera::service
