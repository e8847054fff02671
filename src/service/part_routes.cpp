#include "service/part_routes.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>

#include <fmt/format.h>

#include "service/http_support.hpp"
#include "service/tile_params.hpp"
#include "service/tile_routes.hpp"
#include "tessera/error.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"
#include "tiling/coverage.hpp"
#include "tiling/raster_read.hpp"

namespace tessera::service {

namespace {

using nlohmann::json;
using Kind = PartPath::Kind;

// The most features one statistics request may hold: each is a read.
constexpr std::size_t kMaxFeatures = 100;

// "{stem}.{format}" (the format letters and digits, starting with a letter:
// the numbers before it have dots too); nullopt for another shape.
std::optional<std::pair<std::string_view, std::string_view>> split_format(std::string_view segment) {
  const std::size_t dot = segment.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == segment.size() ||
      std::isalpha(static_cast<unsigned char>(segment[dot + 1])) == 0 ||
      !std::all_of(segment.begin() + static_cast<std::ptrdiff_t>(dot) + 1, segment.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; })) {
    return std::nullopt;
  }
  return std::pair{segment.substr(0, dot), segment.substr(dot + 1)};
}

std::string checked_format(std::string_view format) {
  try {
    render_media_type(format);
  } catch (const Error& error) {
    throw BadParameter("format", fmt::format("format: {}", error.what()));
  }
  return std::string(format);
}

// "{minx},{miny},{maxx},{maxy}"; nullopt without exactly four parts.
std::optional<Bbox> bbox_of(std::string_view segment) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t comma = segment.find(','); comma != std::string_view::npos; comma = segment.find(',', start)) {
    parts.push_back(segment.substr(start, comma - start));
    start = comma + 1;
  }
  parts.push_back(segment.substr(start));
  if (parts.size() != 4) {
    return std::nullopt;
  }
  const Bbox box{number_of(parts[0], "minx"), number_of(parts[1], "miny"), number_of(parts[2], "maxx"),
                 number_of(parts[3], "maxy")};
  if (!std::isfinite(box.minx) || !std::isfinite(box.miny) || !std::isfinite(box.maxx) || !std::isfinite(box.maxy)) {
    throw BadParameter("bbox", "bbox: the coordinates must be finite numbers");
  }
  if (!(box.maxx > box.minx) || !(box.maxy > box.miny)) {
    throw BadParameter("bbox", fmt::format("bbox: {},{},{},{} is empty (maxx <= minx or maxy <= miny)", box.minx,
                                           box.miny, box.maxx, box.maxy));
  }
  return box;
}

// "{width}x{height}" into `path`; false for another shape.
bool size_into(std::string_view segment, PartPath& path) {
  const std::size_t x = segment.find('x');
  if (x == std::string_view::npos || x == 0 || x + 1 == segment.size()) {
    return false;
  }
  path.width = integer_of(segment.substr(0, x), "width");
  path.height = integer_of(segment.substr(x + 1), "height");
  return true;
}

// {name}[.{format}] or {name}/{width}x{height}.{format} (feature, preview).
std::optional<PartPath> image_path_of(std::span<const std::string_view> rest, std::string_view name, Kind kind) {
  PartPath path{kind, {}, 0, 0, "png"};
  if (rest.size() == 1 && rest[0] == name) {
    return path;
  }
  if (rest.size() == 1) {
    const auto split = split_format(rest[0]);
    if (!split || split->first != name) {
      return std::nullopt;
    }
    path.format = checked_format(split->second);
    return path;
  }
  if (rest.size() == 2 && rest[0] == name) {
    const auto split = split_format(rest[1]);
    if (!split || !size_into(split->first, path)) {
      return std::nullopt;
    }
    path.format = checked_format(split->second);
    return path;
  }
  return std::nullopt;
}

// A CRS parameter, checked here so a bad one is a 400 naming it.
std::string crs_param(const HttpRequest& request, std::string_view name, std::string fallback) {
  const std::string* value = param(request, name);
  if (value == nullptr) {
    return fallback;
  }
  try {
    // GDAL's limits for user input: no file or URL is read for a CRS.
    static_cast<void>(tiling::srs_from_user_input(*value, name));
  } catch (const Error& error) {
    throw BadParameter(std::string(name), fmt::format("{}: {}", name, error.what()));
  }
  return *value;
}

// A size in pixels named `name`: 1 to ReaderConfig::max_image_size.
int checked_size(std::string_view name, int value) {
  const int largest = reader_config().max_image_size;
  if (value < 1 || value > largest) {
    throw BadParameter(std::string(name), fmt::format("{}: {} is not 1 to {}", name, value, largest));
  }
  return value;
}

// The size `name` from the path (when it has one) or the query; 0 when neither has it.
int size_of(const HttpRequest& request, std::string_view name, bool in_path, int path_value) {
  if (in_path) {
    return checked_size(name, path_value);
  }
  const std::string* value = param(request, name);
  return value != nullptr ? checked_size(name, integer_of(*value, name)) : 0;
}

// coord_crs, dst_crs, max_size, width and height (the path's {width}x{height} first).
PartOptions part_options_of(const HttpRequest& request, const PartPath& path, int default_max_size) {
  PartOptions part;
  part.bbox_crs = crs_param(request, "coord_crs", "EPSG:4326");
  part.dst_crs = crs_param(request, "dst_crs", "");
  const bool sized = path.width != 0 || path.height != 0;
  part.width = size_of(request, "width", sized, path.width);
  part.height = size_of(request, "height", sized, path.height);
  // TiTiler: a width or height replaces max_size.
  const std::string* max_size = param(request, "max_size");
  part.max_size = part.width > 0 || part.height > 0 ? 0
                  : max_size != nullptr             ? checked_size("max_size", integer_of(*max_size, "max_size"))
                                                    : default_max_size;
  return part;
}

// cover_scale (1 to 1000): rio-tiler's coverage estimate instead of exact fractions.
std::optional<int> cover_scale_of(const HttpRequest& request) {
  const std::string* value = param(request, "cover_scale");
  if (value == nullptr) {
    return std::nullopt;
  }
  const int scale = integer_of(*value, "cover_scale");
  if (scale < 1 || scale > 1000) {
    throw BadParameter("cover_scale", fmt::format("cover_scale: {} is not 1 to 1000", scale));
  }
  return scale;
}

json body_of(const HttpRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    throw BadParameter("body", "body: not valid JSON");
  }
  return body;
}

// The shape of a body's Feature, checked here so a bad one is a 400 naming
// the body; `area`: statistics need a Polygon or MultiPolygon.
void check_feature(const json& feature, bool area) {
  if (!feature.is_object() || feature.value("type", "") != "Feature") {
    throw BadParameter("body", "body: a GeoJSON Feature is needed");
  }
  try {
    const Geometry shape = tiling::feature_geometry(feature, "body");
    if (area) {
      tiling::check_area_shape(*shape.ogr(), "body");
    }
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kInvalidInput) {
      throw BadParameter("body", error.what());
    }
    throw;
  }
}

// The Features of a Feature or FeatureCollection body, at most kMaxFeatures.
json& features_of(json& body) {
  if (body.is_object() && body.value("type", "") == "FeatureCollection") {
    json& features = body["features"];
    if (!features.is_array() || features.empty()) {
      throw BadParameter("body", "body: a FeatureCollection needs a non-empty \"features\" array");
    }
    if (features.size() > kMaxFeatures) {
      throw BadParameter("body", fmt::format("body: {} features, more than the {} one request may hold",
                                             features.size(), kMaxFeatures));
    }
    return features;
  }
  throw BadParameter("body", "body: a GeoJSON Feature or FeatureCollection is needed");
}

// The body's Features with properties.statistics set by `statistics_of`
// (a Feature answered as a Feature, a FeatureCollection as one).
template <typename StatisticsOf>
HttpResponse statistics_answer(const HttpRequest& request, StatisticsOf&& statistics_of) {
  json body = body_of(request);
  const bool single = body.is_object() && body.value("type", "") == "Feature";
  json wrapped = single ? json{{"type", "FeatureCollection"}, {"features", json::array({body})}} : std::move(body);
  json& features = features_of(wrapped);
  for (const json& feature : features) {
    check_feature(feature, true);
  }
  for (json& feature : features) {
    if (!feature.contains("properties") || !feature["properties"].is_object()) {
      feature["properties"] = json::object();
    }
    statistics_of(feature, feature["properties"]);
  }
  return json_response(200, single ? features[0] : wrapped, "application/geo+json");
}

// The image rendered; a GET answer is cacheable (ETag), a POST one not.
HttpResponse image_answer(const HttpRequest& request, const HttpRequest& effective, const ImageData& image,
                          const std::string& format, bool posted, int max_age_seconds) {
  std::string body = render(image, render_options_of(effective, format));
  HttpResponse response;
  if (posted) {
    response.headers = {{"Content-Type", std::string(render_media_type(format))}};
    response.body = std::move(body);
  } else {
    response = cacheable_response(request, std::move(body), render_media_type(format), max_age_seconds);
  }
  if (response.status == 200) {
    response.headers.emplace_back("Content-Bbox", fmt::format("{},{},{},{}", image.bounds.minx, image.bounds.miny,
                                                              image.bounds.maxx, image.bounds.maxy));
  }
  return response;
}

}  // namespace

std::optional<PartPath> part_path_of(std::span<const std::string_view> rest, std::string_view method, bool item) {
  if (rest.empty()) {
    return std::nullopt;
  }
  if (rest[0] == "bbox" && (rest.size() == 2 || rest.size() == 3)) {
    const auto split = split_format(rest.back());
    if (!split) {
      return std::nullopt;
    }
    PartPath path{Kind::kBbox, {}, 0, 0, ""};
    if (rest.size() == 3 && !size_into(split->first, path)) {
      return std::nullopt;
    }
    const auto box = bbox_of(rest.size() == 2 ? split->first : rest[1]);
    if (!box) {
      return std::nullopt;
    }
    path.bbox = *box;
    path.format = checked_format(split->second);
    return path;
  }
  if (rest.size() == 1 && rest[0] == "statistics") {
    return PartPath{method != "POST" && item ? Kind::kItemStatistics : Kind::kStatistics, {}, 0, 0, ""};
  }
  if (auto feature = image_path_of(rest, "feature", Kind::kFeature)) {
    return feature;
  }
  return image_path_of(rest, "preview", Kind::kPreview);
}

HttpResponse part_answer(const HttpRequest& request, const HttpRequest& effective, const PartPath& path,
                         const PartSource& source, int max_age_seconds) {
  const ReadOptions read = read_options_of(effective);
  const Mosaic& mosaic = source.mosaic;
  switch (path.kind) {
    case Kind::kBbox: {
      const ImageData image = mosaic.part(path.bbox, part_options_of(effective, path, 1024), read);
      return image_answer(request, effective, image, path.format, false, max_age_seconds);
    }
    case Kind::kFeature: {
      const json feature = body_of(request);
      check_feature(feature, false);
      const ImageData image = mosaic.feature(feature, part_options_of(effective, path, 1024), read);
      return image_answer(request, effective, image, path.format, true, max_age_seconds);
    }
    case Kind::kPreview: {
      const ImageData image = mosaic.preview(source.preview_bounds, part_options_of(effective, path, 1024), read);
      return image_answer(request, effective, image, path.format, false, max_age_seconds);
    }
    case Kind::kItemStatistics: {
      // titiler's item statistics: of the assets stacked, over the preview.
      const StatisticsOptions statistics = statistics_options_of(effective);
      PartOptions part = part_options_of(effective, path, 1024);
      part.max_size = statistics.max_size;
      const ImageData image = mosaic.preview(source.preview_bounds, part, read);
      return cacheable_response(request, to_json(image_statistics(image, statistics)).dump(), "application/json",
                                max_age_seconds);
    }
    case Kind::kStatistics:
      break;
  }
  StatisticsOptions statistics = statistics_options_of(effective);
  statistics.cover_scale = cover_scale_of(effective);
  const PartOptions part = part_options_of(effective, path, 1024);
  return statistics_answer(request, [&](const json& feature, json& properties) {
    const MosaicStatistics result = mosaic.statistics(feature, statistics, part, read);
    properties["statistics"] = to_json(result.bands);
    if (!source.item) {
      properties["used_assets"] = result.assets;
    }
  });
}

HttpResponse asset_statistics_answer(const HttpRequest& request,
                                     const std::vector<std::pair<std::string, std::string>>& hrefs,
                                     std::string_view item_id, int max_age_seconds) {
  std::vector<std::string> wanted = list_param(request, "assets");
  for (const std::string& name : wanted) {
    if (std::none_of(hrefs.begin(), hrefs.end(), [&](const auto& asset) { return asset.first == name; })) {
      throw BadParameter("assets", fmt::format("assets: item '{}' has no asset '{}'", item_id, name));
    }
  }
  const StatisticsOptions statistics = statistics_options_of(request);
  const ReadOptions read = read_options_of(request);
  json answer = json::object();
  for (const auto& [name, href] : hrefs) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end()) {
      answer[name] = to_json(raster_statistics(href, statistics, read));
    }
  }
  return cacheable_response(request, answer.dump(), "application/json", max_age_seconds);
}

HttpResponse cog_feature_statistics(const HttpRequest& request) {
  const std::string url = required_param(request, "url");
  StatisticsOptions statistics = statistics_options_of(request);
  statistics.cover_scale = cover_scale_of(request);
  // TiTiler reads a feature's statistics at the raster's resolution unless told otherwise.
  const PartOptions part = part_options_of(request, PartPath{Kind::kStatistics, {}, 0, 0, ""}, 0);
  const ReadOptions read = read_options_of(request);
  return statistics_answer(request, [&](const json& feature, json& properties) {
    properties["statistics"] = to_json(feature_statistics(url, feature, statistics, part, read));
  });
}

}  // namespace tessera::service
