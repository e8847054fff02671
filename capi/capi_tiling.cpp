// The tiling C entry points: tiles/parts/features/
// previews as tsr_image handles, points/info/statistics/TileJSON as JSON, and
// rendering images to bytes.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "capi_options.hpp"
#include "tessera/colormap.hpp"
#include "tessera/image.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

// The opaque handles behind tsr_image and tsr_mosaic.
struct tsr_image_s {
  tessera::ImageData impl;
};
struct tsr_mosaic_s {
  std::unique_ptr<tessera::Mosaic> impl;
};

namespace {

using nlohmann::json;
using tessera::Error;
using tessera::ErrorCode;
using tessera::capi::catalog_of;
using tessera::capi::guarded;
using tessera::capi::Options;

// The keys every read takes; the functions add their own.
#define TSR_READ_KEYS "indexes", "expression", "resampling", "reproject", "nodata", "unscale"

tessera::ReadOptions read_options_of(const Options& options) {
  tessera::ReadOptions parsed;
  if (const json* indexes = options.find("indexes")) {
    // One band index or an array of them, 1-based.
    const json list = indexes->is_array() ? *indexes : json::array({*indexes});
    for (const auto& index : list) {
      const auto band = Options::integer_of(index, 1, std::numeric_limits<int>::max());
      if (!band) {
        options.fail("indexes", "a band index (1, 2, ...) or an array of them");
      }
      parsed.indexes.push_back(static_cast<int>(*band));
    }
  }
  parsed.expression = options.string("expression").value_or("");
  if (const auto name = options.string("resampling")) {
    parsed.resampling = tessera::resampling_from_name(*name);
  }
  if (const auto name = options.string("reproject")) {
    parsed.reproject = tessera::resampling_from_name(*name);
  }
  if (const json* nodata = options.find("nodata")) {
    // JSON has no NaN: "nan" (and "inf", "-inf") are accepted as strings.
    if (nodata->is_number()) {
      parsed.nodata = nodata->get<double>();
    } else if (nodata->is_string() && (*nodata == "nan" || *nodata == "NaN")) {
      parsed.nodata = std::numeric_limits<double>::quiet_NaN();
    } else if (nodata->is_string() && (*nodata == "inf" || *nodata == "-inf")) {
      parsed.nodata = (*nodata == "inf" ? 1.0 : -1.0) * std::numeric_limits<double>::infinity();
    } else {
      options.fail("nodata", "a number or \"nan\"");
    }
  }
  parsed.unscale = options.boolean("unscale").value_or(false);
  if (const auto buffer = options.number("buffer")) {
    parsed.buffer = *buffer;
  }
  return parsed;
}

tessera::PartOptions part_options_of(const Options& options) {
  tessera::PartOptions parsed;
  parsed.bbox_crs = options.string("bbox_crs").value_or(parsed.bbox_crs);
  parsed.dst_crs = options.string("dst_crs").value_or("");
  parsed.max_size = options.int32("max_size", 0).value_or(parsed.max_size);
  parsed.width = options.int32("width", 0).value_or(0);
  parsed.height = options.int32("height", 0).value_or(0);
  return parsed;
}

#define TSR_STATISTICS_KEYS "percentiles", "histogram_bins", "histogram_range", "categorical"

tessera::StatisticsOptions statistics_options_of(const Options& options) {
  tessera::StatisticsOptions statistics;
  statistics.max_size = options.int32("max_size", 0).value_or(statistics.max_size);
  statistics.percentiles = options.numbers("percentiles").value_or(statistics.percentiles);
  statistics.histogram_bins = options.int32("histogram_bins").value_or(statistics.histogram_bins);
  if (const auto range = options.numbers("histogram_range")) {
    if (range->size() != 2) {
      options.fail("histogram_range", "[min, max]");
    }
    statistics.histogram_range = std::pair((*range)[0], (*range)[1]);
  }
  statistics.categorical = options.boolean("categorical").value_or(false);
  statistics.cover_scale = options.int32("cover_scale", 1, 1000);
  return statistics;
}

// A GeoJSON text argument; InvalidInput naming the function when it is not JSON.
json geojson_of(const char* geojson, const char* function) {
  json shape = json::parse(geojson, nullptr, false);
  if (shape.is_discarded()) {
    throw Error(ErrorCode::kInvalidInput, std::string(function) + ": geojson is not valid JSON");
  }
  return shape;
}

// NULL: WebMercatorQuad; text starting with '{': an OGC TMS 2.0 document;
// anything else: a name for TileMatrixSet::from_name.
tessera::TileMatrixSet tms_of(const char* tms) {
  if (tms == nullptr) {
    return tessera::TileMatrixSet::web_mercator_quad();
  }
  const std::string_view text(tms);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    return tessera::TileMatrixSet::from_json_text(text);
  }
  return tessera::TileMatrixSet::from_name(text);
}

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

// Hands an image out as a new handle; *out is set only once nothing can fail.
void hand_out_image(tessera::ImageData image, tsr_image* out_image) {
  auto handle = std::make_unique<tsr_image_s>();
  handle->impl = std::move(image);
  *out_image = handle.release();
}

tessera::RenderOptions render_options_of(const char* render_json) {
  const Options options(render_json, "tsr_image_render", "render_json",
                        {"format", "rescale", "colormap", "use_palette", "add_mask", "jpeg_quality", "webp_quality"});
  tessera::RenderOptions parsed;
  parsed.format = options.string("format").value_or(parsed.format);
  if (const json* rescale = options.find("rescale")) {
    // [min, max] for every band, or [[min, max], ...] one per band.
    const bool single = rescale->is_array() && rescale->size() == 2 && (*rescale)[0].is_number();
    const json ranges = single ? json::array({*rescale}) : *rescale;
    if (!ranges.is_array()) {
      options.fail("rescale", "[min, max] or [[min, max], ...]");
    }
    for (const auto& range : ranges) {
      if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number()) {
        options.fail("rescale", "[min, max] or [[min, max], ...]");
      }
      parsed.rescale.emplace_back(range[0].get<double>(), range[1].get<double>());
    }
  }
  if (const json* colormap = options.find("colormap")) {
    if (colormap->is_string()) {
      parsed.colormap = tessera::Colormap::named(colormap->get<std::string>());
    } else if (colormap->is_object() || colormap->is_array()) {
      parsed.colormap = tessera::Colormap::from_json(*colormap);
    } else {
      options.fail("colormap", "a colormap name, a {\"value\": colour} object or an array of intervals");
    }
  }
  parsed.use_palette = options.boolean("use_palette").value_or(parsed.use_palette);
  parsed.add_mask = options.boolean("add_mask").value_or(parsed.add_mask);
  parsed.jpeg_quality = options.int32("jpeg_quality", 1, 100).value_or(parsed.jpeg_quality);
  parsed.webp_quality = options.int32("webp_quality", 1, 100).value_or(parsed.webp_quality);
  return parsed;
}

// A NUL-terminated copy of `text` that lives as long as the process, for the
// functions that return a static string (the set holds a handful of names).
const char* interned(std::string_view text) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> strings;
  const std::lock_guard lock(mutex);
  auto found = strings.find(text);
  if (found == strings.end()) {
    found = strings.emplace(text).first;
  }
  return found->c_str();
}

const tessera::ImageData& image_of(tsr_image image, const char* function) {
  return tessera::capi::require(image, function, "image")->impl;
}

tessera::MosaicOptions mosaic_options_of(const char* options_json, const char* function) {
  const Options options(options_json, function, "options_json",
                        {"assets", "expression", "asset_as_band", "method", "max_items_scanned", "max_items_read",
                         "time_budget_ms", "skip_covered"});
  tessera::MosaicOptions parsed;
  if (const auto* assets = options.find("assets")) {
    if (!assets->is_array()) {
      throw tessera::Error(tessera::ErrorCode::kInvalidInput,
                           options.where() + ": 'assets' must be a list of names or {\"name\", \"indexes\"} objects");
    }
    for (const auto& asset : *assets) {
      try {
        parsed.assets.push_back(tessera::asset_selection_from_json(asset));
      } catch (const tessera::Error& error) {
        throw tessera::Error(error.code(), options.where() + ": assets: " + error.what());
      }
    }
  }
  parsed.expression = options.string("expression").value_or("");
  parsed.asset_as_band = options.boolean("asset_as_band").value_or(false);
  if (const auto method = options.string("method")) {
    parsed.method = tessera::pixel_selection_from_name(*method);
  }
  const auto limit = std::numeric_limits<std::int64_t>::max();
  parsed.max_items_scanned = static_cast<std::size_t>(
      options.integer("max_items_scanned", 1, limit).value_or(static_cast<std::int64_t>(parsed.max_items_scanned)));
  parsed.max_items_read = static_cast<std::size_t>(
      options.integer("max_items_read", 1, limit).value_or(static_cast<std::int64_t>(parsed.max_items_read)));
  parsed.time_budget =
      std::chrono::milliseconds(options.integer("time_budget_ms", 1, limit).value_or(parsed.time_budget.count()));
  parsed.skip_covered = options.boolean("skip_covered").value_or(parsed.skip_covered);
  return parsed;
}

const tessera::Mosaic& mosaic_of(tsr_mosaic mosaic, const char* function) {
  return *tessera::capi::require(mosaic, function, "mosaic")->impl;
}

void hand_out_mosaic(tessera::Mosaic mosaic, tsr_mosaic* out_mosaic) {
  auto handle = std::make_unique<tsr_mosaic_s>();
  handle->impl = std::make_unique<tessera::Mosaic>(std::move(mosaic));
  *out_mosaic = handle.release();
}

}  // namespace

extern "C" {

tsr_status tsr_read_tile(const char* href, const char* tms, int z, int64_t x, int64_t y, const char* options_json,
                         tsr_image* out_image) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json", {TSR_READ_KEYS, "tilesize", "buffer"});
    const int tile_size = options.int32("tilesize").value_or(256);
    const tessera::ReadOptions read = read_options_of(options);
    hand_out_image(tessera::read_tile(href, tms_of(tms), tessera::Tile{z, x, y}, tile_size, read), out_image);
  });
}

tsr_status tsr_read_part(const char* href, const double bbox[4], const char* options_json, tsr_image* out_image) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(bbox);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json",
                          {TSR_READ_KEYS, "buffer", "bbox_crs", "dst_crs", "max_size", "width", "height"});
    const tessera::PartOptions part = part_options_of(options);
    const tessera::ReadOptions read = read_options_of(options);
    hand_out_image(tessera::read_part(href, tessera::Bbox{bbox[0], bbox[1], bbox[2], bbox[3]}, part, read), out_image);
  });
}

tsr_status tsr_read_feature(const char* href, const char* geojson, const char* options_json, tsr_image* out_image) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(geojson);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json",
                          {TSR_READ_KEYS, "buffer", "bbox_crs", "dst_crs", "max_size", "width", "height"});
    const tessera::PartOptions part = part_options_of(options);
    const tessera::ReadOptions read = read_options_of(options);
    hand_out_image(tessera::read_feature(href, geojson_of(geojson, __func__), part, read), out_image);
  });
}

tsr_status tsr_read_preview(const char* href, const char* options_json, tsr_image* out_image) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json", {TSR_READ_KEYS, "max_size"});
    const int max_size = options.int32("max_size", 0).value_or(1024);
    const tessera::ReadOptions read = read_options_of(options);
    hand_out_image(tessera::read_preview(href, max_size, read), out_image);
  });
}

tsr_status tsr_read_point(const char* href, double lon, double lat, const char* options_json, char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(out_json);
    const Options options(options_json, __func__, "options_json", {"indexes", "expression", "nodata", "unscale"});
    const tessera::PointData point = tessera::read_point(href, lon, lat, read_options_of(options));
    json values = json::array();
    for (const double value : point.values) {
      values.push_back(finite_or_null(value));
    }
    const json result = {{"coordinates", {point.lon, point.lat}},
                         {"values", values},
                         {"band_names", point.band_names},
                         {"masked", point.masked}};
    *out_json = tessera::capi::copy_string(result.dump());
  });
}

tsr_status tsr_raster_info(const char* href, const char* tms, char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(tessera::raster_info(href, tms_of(tms)).to_json().dump());
  });
}

tsr_status tsr_raster_statistics(const char* href, const char* options_json, char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(out_json);
    const Options options(options_json, __func__, "options_json", {TSR_READ_KEYS, "max_size", TSR_STATISTICS_KEYS});
    const tessera::StatisticsOptions statistics = statistics_options_of(options);
    const tessera::ReadOptions read = read_options_of(options);
    *out_json = tessera::capi::copy_string(tessera::to_json(tessera::raster_statistics(href, statistics, read)).dump());
  });
}

tsr_status tsr_feature_statistics(const char* href, const char* geojson, const char* options_json, char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(geojson);
    TSR_REQUIRE(out_json);
    const Options options(
        options_json, __func__, "options_json",
        {TSR_READ_KEYS, TSR_STATISTICS_KEYS, "cover_scale", "bbox_crs", "dst_crs", "max_size", "width", "height"});
    const tessera::StatisticsOptions statistics = statistics_options_of(options);
    tessera::PartOptions part = part_options_of(options);
    part.max_size = options.int32("max_size", 0).value_or(0);  // native resolution by default, as TiTiler
    const auto result =
        tessera::feature_statistics(href, geojson_of(geojson, __func__), statistics, part, read_options_of(options));
    *out_json = tessera::capi::copy_string(tessera::to_json(result).dump());
  });
}

tsr_status tsr_tilejson(const char* href, const char* tile_url, const char* tms, char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(href);
    TSR_REQUIRE(tile_url);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(tessera::tilejson(href, tile_url, tms_of(tms)).dump());
  });
}

tsr_status tsr_image_shape(tsr_image image, int* out_bands, int* out_height, int* out_width) {
  return guarded([&] {
    const auto& impl = image_of(image, __func__);
    TSR_REQUIRE(out_bands);
    TSR_REQUIRE(out_height);
    TSR_REQUIRE(out_width);
    *out_bands = impl.band_count();
    *out_height = impl.height();
    *out_width = impl.width();
  });
}

// tsr_dtype is DataType + 1: 0 stays free for "no image".
tsr_dtype tsr_image_dtype(tsr_image image) {
  return image == nullptr ? TSR_DTYPE_INVALID : static_cast<tsr_dtype>(static_cast<int>(image->impl.data_type()) + 1);
}

const char* tsr_dtype_name(tsr_dtype dtype) {
  if (dtype < TSR_DTYPE_UINT8 || dtype > TSR_DTYPE_FLOAT64) {
    return nullptr;
  }
  return interned(tessera::data_type_name(static_cast<tessera::DataType>(static_cast<int>(dtype) - 1)));
}

const void* tsr_image_data(tsr_image image) { return image == nullptr ? nullptr : image->impl.data_owner().get(); }

const uint8_t* tsr_image_mask(tsr_image image) { return image == nullptr ? nullptr : image->impl.mask(); }

tsr_status tsr_image_info(tsr_image image, char** out_json) {
  return guarded([&] {
    const auto& impl = image_of(image, __func__);
    TSR_REQUIRE(out_json);
    const json info = {{"count", impl.band_count()},
                       {"height", impl.height()},
                       {"width", impl.width()},
                       {"dtype", tessera::data_type_name(impl.data_type())},
                       {"bounds", {impl.bounds.minx, impl.bounds.miny, impl.bounds.maxx, impl.bounds.maxy}},
                       {"crs_wkt", impl.crs_wkt},
                       {"band_names", impl.band_names},
                       {"has_palette", !impl.palette.empty()},
                       {"warnings", impl.warnings},
                       {"assets", impl.assets},
                       {"metadata", impl.metadata}};
    *out_json = tessera::capi::copy_string(info.dump());
  });
}

tsr_status tsr_image_render(tsr_image image, const char* render_json, void** out_data, size_t* out_size) {
  return guarded([&] {
    const auto& impl = image_of(image, __func__);
    TSR_REQUIRE(out_data);
    TSR_REQUIRE(out_size);
    const std::string bytes = tessera::render(impl, render_options_of(render_json));
    *out_data = tessera::capi::copy_string(bytes);
    *out_size = bytes.size();
  });
}

const char* tsr_render_media_type(const char* format) {
  const char* media_type = nullptr;
  guarded([&] { media_type = interned(tessera::render_media_type(TSR_REQUIRE(format))); });
  return media_type;
}

void tsr_image_destroy(tsr_image* image) {
  if (image == nullptr || *image == nullptr) {
    return;
  }
  delete *image;
  *image = nullptr;
}

// --- Mosaics ------------------------------------------------------------------

tsr_status tsr_mosaic_create(tsr_catalog catalog, const char* search_json, const char* options_json,
                             tsr_mosaic* out_mosaic) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(out_mosaic);
    json search = tessera::capi::parse_json_argument(search_json, __func__, "search_json");
    hand_out_mosaic(tessera::Mosaic(impl, std::move(search), mosaic_options_of(options_json, __func__)), out_mosaic);
  });
}

tsr_status tsr_mosaic_from_registered(tsr_catalog catalog, const char* search_id, const char* options_json,
                                      tsr_mosaic* out_mosaic) {
  return guarded([&] {
    auto& impl = catalog_of(catalog, __func__);
    TSR_REQUIRE(search_id);
    TSR_REQUIRE(out_mosaic);
    hand_out_mosaic(tessera::Mosaic::from_registered(impl, search_id, mosaic_options_of(options_json, __func__)),
                    out_mosaic);
  });
}

tsr_status tsr_mosaic_tile(tsr_mosaic mosaic, const char* tms, int z, int64_t x, int64_t y, const char* options_json,
                           tsr_image* out_image) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json", {TSR_READ_KEYS, "tilesize", "buffer"});
    const int tile_size = options.int32("tilesize").value_or(256);
    hand_out_image(impl.tile(tms_of(tms), tessera::Tile{z, x, y}, tile_size, read_options_of(options)), out_image);
  });
}

tsr_status tsr_mosaic_assets_for_tile(tsr_mosaic mosaic, const char* tms, int z, int64_t x, int64_t y,
                                      char** out_json) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(impl.assets_for_tile(tms_of(tms), tessera::Tile{z, x, y}).dump());
  });
}

tsr_status tsr_mosaic_assets_for_point(tsr_mosaic mosaic, double lon, double lat, char** out_json) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(out_json);
    *out_json = tessera::capi::copy_string(impl.assets_for_point(lon, lat).dump());
  });
}

tsr_status tsr_mosaic_point(tsr_mosaic mosaic, double lon, double lat, const char* options_json, char** out_json) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(out_json);
    const Options options(options_json, __func__, "options_json", {TSR_READ_KEYS});
    *out_json = tessera::capi::copy_string(impl.point(lon, lat, read_options_of(options)).dump());
  });
}

tsr_status tsr_mosaic_part(tsr_mosaic mosaic, const double bbox[4], const char* options_json, tsr_image* out_image) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(bbox);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json",
                          {TSR_READ_KEYS, "bbox_crs", "dst_crs", "max_size", "width", "height"});
    hand_out_image(impl.part(tessera::Bbox{bbox[0], bbox[1], bbox[2], bbox[3]}, part_options_of(options),
                             read_options_of(options)),
                   out_image);
  });
}

tsr_status tsr_mosaic_feature(tsr_mosaic mosaic, const char* geojson, const char* options_json, tsr_image* out_image) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(geojson);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json",
                          {TSR_READ_KEYS, "bbox_crs", "dst_crs", "max_size", "width", "height"});
    hand_out_image(impl.feature(geojson_of(geojson, __func__), part_options_of(options), read_options_of(options)),
                   out_image);
  });
}

tsr_status tsr_mosaic_preview(tsr_mosaic mosaic, const char* options_json, tsr_image* out_image) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(out_image);
    const Options options(options_json, __func__, "options_json",
                          {TSR_READ_KEYS, "bounds", "dst_crs", "max_size", "width", "height"});
    std::optional<tessera::Bbox> bounds;
    if (const auto box = options.numbers("bounds")) {
      if (box->size() != 4) {
        options.fail("bounds", "[minx, miny, maxx, maxy]");
      }
      bounds = tessera::Bbox{(*box)[0], (*box)[1], (*box)[2], (*box)[3]};
    }
    hand_out_image(impl.preview(bounds, part_options_of(options), read_options_of(options)), out_image);
  });
}

tsr_status tsr_mosaic_statistics(tsr_mosaic mosaic, const char* geojson, const char* options_json, char** out_json) {
  return guarded([&] {
    const auto& impl = mosaic_of(mosaic, __func__);
    TSR_REQUIRE(geojson);
    TSR_REQUIRE(out_json);
    const Options options(
        options_json, __func__, "options_json",
        {TSR_READ_KEYS, TSR_STATISTICS_KEYS, "cover_scale", "bbox_crs", "dst_crs", "max_size", "width", "height"});
    const tessera::MosaicStatistics result =
        impl.statistics(geojson_of(geojson, __func__), statistics_options_of(options), part_options_of(options),
                        read_options_of(options));
    const json answer = {{"statistics", tessera::to_json(result.bands)}, {"assets", result.assets}};
    *out_json = tessera::capi::copy_string(answer.dump());
  });
}

void tsr_mosaic_destroy(tsr_mosaic* mosaic) {
  if (mosaic == nullptr || *mosaic == nullptr) {
    return;
  }
  delete *mosaic;
  *mosaic = nullptr;
}

tsr_status tsr_tile_cache_stats(char** out_json) {
  return guarded([&] {
    TSR_REQUIRE(out_json);
    const tessera::TileCacheStats stats = tessera::tile_cache_stats();
    *out_json = tessera::capi::copy_string(json{
        {"hits", stats.hits},
        {"misses", stats.misses},
        {"entries", stats.entries},
        {"bytes", stats.bytes},
        {"capacity_bytes",
         stats.capacity_bytes}}.dump());
  });
}

tsr_status tsr_clear_tile_cache(void) {
  return guarded([] { tessera::clear_tile_cache(); });
}

}  // extern "C"

#undef TSR_READ_KEYS
#undef TSR_STATISTICS_KEYS
