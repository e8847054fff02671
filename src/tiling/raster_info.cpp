// Describing a raster: info, statistics and TileJSON.

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "tessera/error.hpp"
#include "tessera/tiling.hpp"
#include "tiling/raster_read.hpp"
#include "tiling/zonal_statistics.hpp"

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
  stats["count"] = count;
  stats["sum"] = number(sum);
  stats["std"] = optional_number(std);
  stats["median"] = optional_number(median);
  stats["majority"] = optional_number(majority);
  stats["minority"] = optional_number(minority);
  stats["unique"] = static_cast<double>(unique);
  for (const Percentile& p : percentiles) {
    stats[fmt::format("percentile_{}", static_cast<int>(p.percentile))] = optional_number(p.value);
  }
  // Counts of pixels stay integers (rio-tiler's numpy histogram); weighted counts are fractional.
  json counts = json::array();
  for (const double value : histogram_counts) {
    counts.push_back(std::floor(value) == value && value < 9007199254740992.0 ? json(static_cast<std::uint64_t>(value))
                                                                              : json(value));
  }
  stats["histogram"] = {std::move(counts), histogram_edges};
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
  tiling::check_statistics_options(statistics);
  const ImageData image = read_preview(href, statistics.max_size, options);
  return tiling::image_statistics(image, tiling::statistics_nodata(options, tiling::open_raster(href).info.nodata),
                                  statistics);
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
