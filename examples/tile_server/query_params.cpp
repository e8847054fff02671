#include "query_params.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "tessera/colormap.hpp"
#include "tessera/error.hpp"

namespace tile_server {

namespace {

// Runs `parse`, turning tessera's InvalidInput/NotFound into a BadParameter
// naming `parameter` (its message already says what is wrong with the value).
template <typename Parse>
auto parsed(const std::string& parameter, Parse&& parse) {
  try {
    return parse();
  } catch (const tessera::Error& error) {
    throw BadParameter(parameter, parameter + ": " + error.what());
  } catch (const nlohmann::json::exception& error) {
    throw BadParameter(parameter, parameter + ": not valid JSON (" + error.what() + ")");
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

bool flag_of(const httplib::Request& request, const std::string& name, bool fallback) {
  if (!request.has_param(name)) {
    return fallback;
  }
  const std::string value = request.get_param_value(name);
  if (value == "true" || value == "1") {
    return true;
  }
  if (value == "false" || value == "0") {
    return false;
  }
  throw BadParameter(name, name + ": '" + value + "' is not true or false");
}

}  // namespace

double number_of(const std::string& text, const std::string& parameter) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw BadParameter(parameter, parameter + ": '" + text + "' is not a number");
  }
  return value;
}

int integer_of(const std::string& text, const std::string& parameter) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw BadParameter(parameter, parameter + ": '" + text + "' is not an integer");
  }
  return value;
}

std::string required_param(const httplib::Request& request, const std::string& name) {
  std::string value = request.get_param_value(name);
  if (value.empty()) {
    throw BadParameter(name, name + ": required");
  }
  return value;
}

std::vector<std::string> list_param(const httplib::Request& request, const std::string& name) {
  std::vector<std::string> values;
  for (std::size_t i = 0; i < request.get_param_value_count(name); ++i) {
    for (std::string& part : split(request.get_param_value(name, i), ',')) {
      if (!part.empty()) {
        values.push_back(std::move(part));
      }
    }
  }
  return values;
}

tessera::ReadOptions read_options_of(const httplib::Request& request) {
  tessera::ReadOptions options;
  for (const std::string& index : list_param(request, "bidx")) {
    const int band = integer_of(index, "bidx");
    if (band < 1) {
      throw BadParameter("bidx", "bidx: band indexes start at 1, got " + index);
    }
    options.indexes.push_back(band);
  }
  options.expression = request.get_param_value("expression");
  if (request.has_param("resampling")) {
    options.resampling =
        parsed("resampling", [&] { return tessera::resampling_from_name(request.get_param_value("resampling")); });
  }
  if (request.has_param("reproject")) {
    options.reproject =
        parsed("reproject", [&] { return tessera::resampling_from_name(request.get_param_value("reproject")); });
  }
  if (request.has_param("nodata")) {
    options.nodata = number_of(request.get_param_value("nodata"), "nodata");
  }
  options.unscale = flag_of(request, "unscale", false);
  if (request.has_param("buffer")) {
    options.buffer = number_of(request.get_param_value("buffer"), "buffer");
  }
  return options;
}

tessera::RenderOptions render_options_of(const httplib::Request& request, const std::string& format) {
  tessera::RenderOptions options;
  options.format = format;
  parsed("format", [&] { return tessera::render_media_type(format); });
  for (std::size_t i = 0; i < request.get_param_value_count("rescale"); ++i) {
    const std::string range = request.get_param_value("rescale", i);
    const std::vector<std::string> bounds = split(range, ',');
    if (bounds.size() != 2) {
      throw BadParameter("rescale", "rescale: '" + range + "' is not min,max");
    }
    options.rescale.emplace_back(number_of(bounds[0], "rescale"), number_of(bounds[1], "rescale"));
  }
  if (request.has_param("colormap_name") && request.has_param("colormap")) {
    throw BadParameter("colormap", "colormap: give colormap_name or colormap, not both");
  }
  if (request.has_param("colormap_name")) {
    options.colormap =
        parsed("colormap_name", [&] { return tessera::Colormap::named(request.get_param_value("colormap_name")); });
  }
  if (request.has_param("colormap")) {
    options.colormap = parsed("colormap", [&] {
      return tessera::Colormap::from_json(nlohmann::json::parse(request.get_param_value("colormap")));
    });
  }
  options.add_mask = flag_of(request, "return_mask", true);
  return options;
}

tessera::MosaicOptions mosaic_options_of(const httplib::Request& request) {
  tessera::MosaicOptions options;
  options.assets = list_param(request, "assets");
  options.expression = request.get_param_value("expression");
  if (options.assets.empty() && options.expression.empty()) {
    throw BadParameter("assets", "assets: required (or an expression naming <asset>_b<n> bands)");
  }
  if (request.has_param("pixel_selection")) {
    options.method = parsed("pixel_selection", [&] {
      return tessera::pixel_selection_from_name(request.get_param_value("pixel_selection"));
    });
  }
  if (request.has_param("max_items")) {
    const int max_items = integer_of(request.get_param_value("max_items"), "max_items");
    if (max_items < 1) {
      throw BadParameter("max_items", "max_items: must be at least 1");
    }
    options.max_items_read = static_cast<std::size_t>(max_items);
  }
  return options;
}

int tile_size_of(const httplib::Request& request, int scale) {
  if (scale < 1 || scale > 4) {
    throw BadParameter("scale", "scale: @" + std::to_string(scale) + "x is not 1 to 4");
  }
  const int tile_size =
      request.has_param("tilesize") ? integer_of(request.get_param_value("tilesize"), "tilesize") : 256 * scale;
  const int max_size = tessera::reader_config().max_image_size;
  if (tile_size < 1 || tile_size > max_size) {
    throw BadParameter("tilesize",
                       "tilesize: " + std::to_string(tile_size) + " is not 1 to " + std::to_string(max_size));
  }
  return tile_size;
}

tessera::StatisticsOptions statistics_options_of(const httplib::Request& request) {
  tessera::StatisticsOptions options;
  if (request.has_param("max_size")) {
    options.max_size = integer_of(request.get_param_value("max_size"), "max_size");
  }
  options.categorical = flag_of(request, "categorical", false);
  if (request.has_param("p")) {
    options.percentiles.clear();
    for (const std::string& percentile : list_param(request, "p")) {
      options.percentiles.push_back(number_of(percentile, "p"));
    }
  }
  if (request.has_param("histogram_bins")) {
    options.histogram_bins = integer_of(request.get_param_value("histogram_bins"), "histogram_bins");
  }
  if (request.has_param("histogram_range")) {
    const std::vector<std::string> bounds = split(request.get_param_value("histogram_range"), ',');
    if (bounds.size() != 2) {
      throw BadParameter("histogram_range", "histogram_range: not min,max");
    }
    options.histogram_range =
        std::pair{number_of(bounds[0], "histogram_range"), number_of(bounds[1], "histogram_range")};
  }
  return options;
}

TilePath tile_path_of(const httplib::Request& request, std::size_t first_group) {
  const auto group = [&](std::size_t offset) { return request.matches[first_group + offset].str(); };
  TilePath path{tms_of(group(0)), {}, 1, "png"};
  const auto coordinate = [&](std::size_t offset, const char* name) {
    std::int64_t value = 0;
    const std::string text = group(offset);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      throw BadParameter(name, std::string(name) + ": '" + text + "' is out of range");
    }
    return value;
  };
  path.tile.z = static_cast<int>(coordinate(1, "z"));
  path.tile.x = coordinate(2, "x");
  path.tile.y = coordinate(3, "y");
  if (request.matches[first_group + 4].matched) {
    path.scale = integer_of(group(4), "scale");
  }
  if (request.matches[first_group + 5].matched) {
    path.format = group(5);
  }
  return path;
}

std::string base_url_of(const httplib::Request& request) {
  if (request.has_header("Host")) {
    return "http://" + request.get_header_value("Host");
  }
  return "http://" + request.local_addr + ":" + std::to_string(request.local_port);
}

std::string query_string_of(const httplib::Request& request, const std::vector<std::string>& excluded) {
  std::string query;
  for (const auto& [name, value] : request.params) {
    if (std::find(excluded.begin(), excluded.end(), name) != excluded.end()) {
      continue;
    }
    query += query.empty() ? '?' : '&';
    query += httplib::detail::encode_query_param(name);
    query += '=';
    query += httplib::detail::encode_query_param(value);
  }
  return query;
}

tessera::TileMatrixSet tms_of(const std::string& name) {
  try {
    return tessera::TileMatrixSet::from_name(name);
  } catch (const tessera::Error& error) {
    throw BadParameter("tileMatrixSetId", std::string("tileMatrixSetId: ") + error.what());
  }
}

}  // namespace tile_server
