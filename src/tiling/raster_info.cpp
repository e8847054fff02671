// Describing a raster: info, statistics and TileJSON.

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/tiling.hpp"
#include "tiling/raster_read.hpp"

namespace tessera {

using nlohmann::json;

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// NaN and infinities have no JSON form; they are written as null.
json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

std::string crs_name(const OGRSpatialReference& srs) {
  const char* authority = srs.GetAuthorityName(nullptr);
  const char* code = srs.GetAuthorityCode(nullptr);
  if (authority != nullptr && code != nullptr) {
    return fmt::format("{}:{}", authority, code);
  }
  return tiling::srs_to_wkt(srs);
}

ZoomRange zoom_range(const tiling::SourceInfo& info, const TileMatrixSet& tms) {
  return zoom_range_for_raster(tms, Crs::from_user_input(tiling::srs_to_wkt(info.srs)), info.transform, info.width,
                               info.height);
}

Bbox geographic_bounds(const tiling::SourceInfo& info) {
  const Crs source = Crs::from_user_input(tiling::srs_to_wkt(info.srs));
  return Transformer(source, Crs::wgs84()).transform_bbox(info.bounds, 21);
}

// Statistics of one band's valid values, with rio-tiler's definitions
// (population std, "nearest rank" quantiles, numpy's histogram).
json band_statistics(std::vector<double> values, std::size_t pixel_count, const StatisticsOptions& options) {
  json stats;
  const double valid = static_cast<double>(values.size());
  std::sort(values.begin(), values.end());
  std::map<double, std::size_t> counts;
  for (const double value : values) {
    ++counts[value];
  }
  auto quantile = [&](double q) {
    const double rank = std::ceil(q * valid) - 1;
    return values[static_cast<std::size_t>(std::clamp(rank, 0.0, valid - 1))];
  };
  if (values.empty()) {
    for (const char* key : {"min", "max", "mean", "std", "median", "majority", "minority"}) {
      stats[key] = nullptr;
    }
    stats["count"] = 0.0;
    stats["sum"] = 0.0;
  } else {
    double sum = 0;
    for (const double value : values) {
      sum += value;
    }
    const double mean = sum / valid;
    double squares = 0;
    for (const double value : values) {
      squares += (value - mean) * (value - mean);
    }
    // numpy's unique + index(max) picks the smallest value among ties.
    auto majority = counts.begin();
    auto minority = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it) {
      if (it->second > majority->second) {
        majority = it;
      }
      if (it->second < minority->second) {
        minority = it;
      }
    }
    stats["min"] = number(values.front());
    stats["max"] = number(values.back());
    stats["mean"] = number(mean);
    stats["count"] = valid;
    stats["sum"] = number(sum);
    stats["std"] = number(std::sqrt(squares / valid));
    stats["median"] = number(quantile(0.5));
    stats["majority"] = number(majority->first);
    stats["minority"] = number(minority->first);
  }
  stats["unique"] = static_cast<double>(counts.size());
  for (const double p : options.percentiles) {
    stats[fmt::format("percentile_{}", static_cast<int>(p))] =
        values.empty() ? json(nullptr) : number(quantile(p / 100));
  }
  if (options.categorical) {
    json keys = json::array();
    json frequencies = json::array();
    for (const auto& [value, count] : counts) {
      keys.push_back(value);
      frequencies.push_back(count);
    }
    stats["histogram"] = {frequencies, keys};
  } else {
    double low = values.empty() ? 0 : values.front();
    double high = values.empty() ? 1 : values.back();
    if (options.histogram_range) {
      std::tie(low, high) = *options.histogram_range;
    }
    if (low == high) {  // numpy widens an empty range by half a unit each way
      low -= 0.5;
      high += 0.5;
    }
    const int bins = options.histogram_bins;
    std::vector<std::size_t> histogram(static_cast<std::size_t>(bins), 0);
    for (const double value : values) {
      if (value < low || value > high) {
        continue;
      }
      const auto bin = std::min(static_cast<int>((value - low) / (high - low) * bins), bins - 1);
      ++histogram[static_cast<std::size_t>(bin)];
    }
    json edges = json::array();
    for (int n = 0; n <= bins; ++n) {
      edges.push_back(low + (high - low) * n / bins);
    }
    stats["histogram"] = {histogram, edges};
  }
  stats["valid_pixels"] = valid;
  stats["masked_pixels"] = static_cast<double>(pixel_count) - valid;
  stats["valid_percent"] = std::round(valid / static_cast<double>(pixel_count) * 100 * 100) / 100;
  return stats;
}

}  // namespace

json raster_info(std::string_view href, const TileMatrixSet& tms) {
  auto raster = tiling::open_raster(href);
  const tiling::SourceInfo& info = raster.info;
  GDALDataset& dataset = *raster.dataset;
  json result;
  result["bounds"] = {info.bounds.minx, info.bounds.miny, info.bounds.maxx, info.bounds.maxy};
  const Bbox geographic = geographic_bounds(info);
  result["geographic_bounds"] = {geographic.minx, geographic.miny, geographic.maxx, geographic.maxy};
  result["crs"] = crs_name(info.srs);
  result["crs_wkt"] = tiling::srs_to_wkt(info.srs);
  const ZoomRange zooms = zoom_range(info, tms);
  result["minzoom"] = zooms.min_zoom;
  result["maxzoom"] = zooms.max_zoom;
  result["tms"] = tms.id();
  result["driver"] = dataset.GetDriver() != nullptr ? dataset.GetDriver()->GetDescription() : "";
  result["width"] = info.width;
  result["height"] = info.height;
  result["count"] = info.band_count;
  result["dtype"] = lower(GDALGetDataTypeName(info.type));
  if (info.type == GDT_Byte) {
    result["dtype"] = "uint8";
  }
  result["nodata_value"] = info.nodata ? number(*info.nodata) : json(nullptr);
  GDALRasterBand* first = dataset.GetRasterBand(1);
  const int mask_flags = first->GetMaskFlags();
  result["nodata_type"] = info.nodata                           ? "Nodata"
                          : info.alpha_band > 0                 ? "Alpha"
                          : (mask_flags & GMF_PER_DATASET) != 0 ? "Mask"
                                                                : "None";
  json descriptions = json::array();
  json metadata = json::array();
  json colorinterp = json::array();
  json scales = json::array();
  json offsets = json::array();
  for (int b = 1; b <= info.band_count; ++b) {
    GDALRasterBand* band = dataset.GetRasterBand(b);
    const std::string name = fmt::format("b{}", b);
    descriptions.push_back({name, band->GetDescription()});
    json band_metadata = json::object();
    if (char** items = band->GetMetadata(); items != nullptr) {
      for (char** item = items; *item != nullptr; ++item) {
        char* key = nullptr;
        const char* value = CPLParseNameValue(*item, &key);
        if (key != nullptr && value != nullptr) {
          band_metadata[key] = value;
        }
        CPLFree(key);
      }
    }
    metadata.push_back({name, band_metadata});
    colorinterp.push_back(lower(GDALGetColorInterpretationName(band->GetColorInterpretation())));
    scales.push_back(band->GetScale());
    offsets.push_back(band->GetOffset());
  }
  result["band_descriptions"] = descriptions;
  result["band_metadata"] = metadata;
  result["colorinterp"] = colorinterp;
  result["scales"] = scales;
  result["offsets"] = offsets;
  json overviews = json::array();
  for (int n = 0; n < first->GetOverviewCount(); ++n) {
    const int overview_width = first->GetOverview(n)->GetXSize();
    overviews.push_back(static_cast<int>(std::nearbyint(static_cast<double>(info.width) / overview_width)));
  }
  result["overviews"] = overviews;
  if (GDALColorTable* table = first->GetColorTable(); table != nullptr) {
    json colormap = json::object();
    for (int n = 0; n < table->GetColorEntryCount(); ++n) {
      const GDALColorEntry* entry = table->GetColorEntry(n);
      colormap[std::to_string(n)] = {entry->c1, entry->c2, entry->c3, entry->c4};
    }
    result["colormap"] = colormap;
  }
  return result;
}

json raster_statistics(std::string_view href, const StatisticsOptions& statistics, const ReadOptions& options) {
  if (statistics.histogram_bins < 1 || statistics.histogram_bins > 10000) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("histogram_bins {} is out of range (1 to 10000)", statistics.histogram_bins));
  }
  for (const double p : statistics.percentiles) {
    if (!(p >= 0 && p <= 100)) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("percentile {} is out of range (0 to 100)", p));
    }
  }
  const ImageData image = read_preview(href, statistics.max_size, options);
  // The image's mask keeps a pixel when any band has data; statistics are
  // per band, so each band's own nodata values are left out too (as in
  // rio-tiler's per-band masked arrays).
  std::optional<double> nodata = options.nodata;
  if (!nodata && options.expression.empty()) {
    nodata = tiling::open_raster(href).info.nodata;
  }
  json result = json::object();
  std::vector<double> values;
  for (int b = 0; b < image.band_count(); ++b) {
    values.clear();
    for (std::size_t p = 0; p < image.pixel_count(); ++p) {
      const double value = tiling::value_at(image, b, p);
      if (image.mask()[p] != 0 && std::isfinite(value) && !(nodata && value == *nodata)) {
        values.push_back(value);
      }
    }
    result[image.band_names[static_cast<std::size_t>(b)]] = band_statistics(values, image.pixel_count(), statistics);
  }
  return result;
}

json tilejson(std::string_view href, std::string_view tile_url, const TileMatrixSet& tms) {
  if (tile_url.find("{z}") == std::string_view::npos || tile_url.find("{x}") == std::string_view::npos ||
      tile_url.find("{y}") == std::string_view::npos) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("tile URL '{}' lacks a {{z}}, {{x}} or {{y}} placeholder", tile_url));
  }
  auto raster = tiling::open_raster(href);
  const ZoomRange zooms = zoom_range(raster.info, tms);
  const Bbox bounds = geographic_bounds(raster.info);
  return {
      {"tilejson", "3.0.0"},
      {"name", std::string(href)},
      {"tiles", {std::string(tile_url)}},
      {"scheme", "xyz"},
      {"minzoom", zooms.min_zoom},
      {"maxzoom", zooms.max_zoom},
      {"bounds", {bounds.minx, bounds.miny, bounds.maxx, bounds.maxy}},
      {"center", {(bounds.minx + bounds.maxx) / 2, (bounds.miny + bounds.maxy) / 2, zooms.min_zoom}},
  };
}

}  // namespace tessera
