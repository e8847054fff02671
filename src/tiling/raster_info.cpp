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
BandStatistics band_statistics(std::string band, std::vector<double> values, std::size_t pixel_count,
                               const StatisticsOptions& options) {
  BandStatistics stats;
  stats.band = std::move(band);
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
  stats.count = values.size();
  if (!values.empty()) {
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
    stats.min = values.front();
    stats.max = values.back();
    stats.mean = mean;
    stats.sum = sum;
    stats.std = std::sqrt(squares / valid);
    stats.median = quantile(0.5);
    stats.majority = majority->first;
    stats.minority = minority->first;
  }
  stats.unique = counts.size();
  for (const double p : options.percentiles) {
    stats.percentiles.push_back(
        {p, values.empty() ? std::optional<double>() : std::optional<double>(quantile(p / 100))});
  }
  if (options.categorical) {
    for (const auto& [value, count] : counts) {
      stats.histogram_edges.push_back(value);
      stats.histogram_counts.push_back(count);
    }
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
    stats.histogram_counts.assign(static_cast<std::size_t>(bins), 0);
    for (const double value : values) {
      if (value < low || value > high) {
        continue;
      }
      const auto bin = std::min(static_cast<int>((value - low) / (high - low) * bins), bins - 1);
      ++stats.histogram_counts[static_cast<std::size_t>(bin)];
    }
    for (int n = 0; n <= bins; ++n) {
      stats.histogram_edges.push_back(low + (high - low) * n / bins);
    }
  }
  stats.valid_pixels = values.size();
  stats.masked_pixels = pixel_count - values.size();
  stats.valid_percent = std::round(valid / static_cast<double>(pixel_count) * 100 * 100) / 100;
  return stats;
}

json optional_number(const std::optional<double>& value) { return value ? number(*value) : json(nullptr); }

json bbox_json(const Bbox& box) { return {box.minx, box.miny, box.maxx, box.maxy}; }

}  // namespace

json RasterInfo::to_json() const {
  json result;
  result["bounds"] = bbox_json(bounds);
  result["geographic_bounds"] = bbox_json(geographic_bounds);
  result["crs"] = crs;
  result["crs_wkt"] = crs_wkt;
  result["minzoom"] = minzoom;
  result["maxzoom"] = maxzoom;
  result["tms"] = tms;
  result["driver"] = driver;
  result["width"] = width;
  result["height"] = height;
  result["count"] = count();
  result["dtype"] = data_type_name(dtype);
  result["nodata_value"] = optional_number(nodata_value);
  result["nodata_type"] = nodata_type;
  json descriptions = json::array();
  json metadata = json::array();
  json colorinterps = json::array();
  json scales = json::array();
  json offsets = json::array();
  for (const BandInfo& band : bands) {
    descriptions.push_back({band.name, band.description});
    metadata.push_back({band.name, band.metadata.empty() ? json::object() : json(band.metadata)});
    colorinterps.push_back(band.colorinterp);
    scales.push_back(band.scale);
    offsets.push_back(band.offset);
  }
  result["band_descriptions"] = descriptions;
  result["band_metadata"] = metadata;
  result["colorinterp"] = colorinterps;
  result["scales"] = scales;
  result["offsets"] = offsets;
  result["overviews"] = overviews;
  if (colormap) {
    json entries = json::object();
    for (const auto& [index, rgba] : *colormap) {
      entries[std::to_string(index)] = rgba;
    }
    result["colormap"] = entries;
  }
  return result;
}

RasterInfo raster_info(std::string_view href, const TileMatrixSet& tms) {
  auto raster = tiling::open_raster(href);
  const tiling::SourceInfo& info = raster.info;
  GDALDataset& dataset = *raster.dataset;
  RasterInfo result;
  result.bounds = info.bounds;
  result.geographic_bounds = geographic_bounds(info);
  result.crs = crs_name(info.srs);
  result.crs_wkt = tiling::srs_to_wkt(info.srs);
  const ZoomRange zooms = zoom_range(info, tms);
  result.minzoom = zooms.min_zoom;
  result.maxzoom = zooms.max_zoom;
  result.tms = tms.id();
  result.driver = dataset.GetDriver() != nullptr ? dataset.GetDriver()->GetDescription() : "";
  result.width = info.width;
  result.height = info.height;
  result.dtype = data_type_from_name(info.type == GDT_Byte ? "uint8" : lower(GDALGetDataTypeName(info.type)));
  result.nodata_value = info.nodata;
  GDALRasterBand* first = dataset.GetRasterBand(1);
  const int mask_flags = first->GetMaskFlags();
  result.nodata_type = info.nodata                           ? "Nodata"
                       : info.alpha_band > 0                 ? "Alpha"
                       : (mask_flags & GMF_PER_DATASET) != 0 ? "Mask"
                                                             : "None";
  for (int b = 1; b <= info.band_count; ++b) {
    GDALRasterBand* band = dataset.GetRasterBand(b);
    BandInfo band_info;
    band_info.name = fmt::format("b{}", b);
    band_info.description = band->GetDescription();
    if (char** items = band->GetMetadata(); items != nullptr) {
      for (char** item = items; *item != nullptr; ++item) {
        char* key = nullptr;
        const char* value = CPLParseNameValue(*item, &key);
        if (key != nullptr && value != nullptr) {
          band_info.metadata[key] = value;
        }
        CPLFree(key);
      }
    }
    band_info.colorinterp = lower(GDALGetColorInterpretationName(band->GetColorInterpretation()));
    band_info.scale = band->GetScale();
    band_info.offset = band->GetOffset();
    result.bands.push_back(std::move(band_info));
  }
  for (int n = 0; n < first->GetOverviewCount(); ++n) {
    const int overview_width = first->GetOverview(n)->GetXSize();
    result.overviews.push_back(static_cast<int>(std::nearbyint(static_cast<double>(info.width) / overview_width)));
  }
  if (GDALColorTable* table = first->GetColorTable(); table != nullptr) {
    std::map<int, std::array<int, 4>> colormap;
    for (int n = 0; n < table->GetColorEntryCount(); ++n) {
      const GDALColorEntry* entry = table->GetColorEntry(n);
      colormap[n] = {entry->c1, entry->c2, entry->c3, entry->c4};
    }
    result.colormap = std::move(colormap);
  }
  return result;
}

json BandStatistics::to_json() const {
  json stats;
  stats["min"] = optional_number(min);
  stats["max"] = optional_number(max);
  stats["mean"] = optional_number(mean);
  stats["count"] = static_cast<double>(count);
  stats["sum"] = number(sum);
  stats["std"] = optional_number(std);
  stats["median"] = optional_number(median);
  stats["majority"] = optional_number(majority);
  stats["minority"] = optional_number(minority);
  stats["unique"] = static_cast<double>(unique);
  for (const Percentile& p : percentiles) {
    stats[fmt::format("percentile_{}", static_cast<int>(p.percentile))] = optional_number(p.value);
  }
  stats["histogram"] = {histogram_counts, histogram_edges};
  stats["valid_pixels"] = static_cast<double>(valid_pixels);
  stats["masked_pixels"] = static_cast<double>(masked_pixels);
  stats["valid_percent"] = valid_percent;
  return stats;
}

json to_json(const std::vector<BandStatistics>& statistics) {
  json result = json::object();
  for (const BandStatistics& band : statistics) {
    result[band.band] = band.to_json();
  }
  return result;
}

std::vector<BandStatistics> raster_statistics(std::string_view href, const StatisticsOptions& statistics,
                                              const ReadOptions& options) {
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
  std::vector<BandStatistics> result;
  std::vector<double> values;
  for (int b = 0; b < image.band_count(); ++b) {
    values.clear();
    for (std::size_t p = 0; p < image.pixel_count(); ++p) {
      const double value = tiling::value_at(image, b, p);
      if (image.mask()[p] != 0 && std::isfinite(value) && !(nodata && value == *nodata)) {
        values.push_back(value);
      }
    }
    result.push_back(
        band_statistics(image.band_names[static_cast<std::size_t>(b)], values, image.pixel_count(), statistics));
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
