// Mosaics: the catalog scan for the items under a tile, a part or a point,
// their reads in search order under the mosaic's caps (ordered_reads.hpp),
// skipping items whose footprint is already filled (tile_coverage.hpp), and
// the assembly of the result on the grid; feature statistics over a part.

#include "tessera/mosaic.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "catalog/deadline.hpp"
#include "mosaic/mosaic_items.hpp"
#include "mosaic/ordered_reads.hpp"
#include "mosaic/pixel_selection.hpp"
#include "mosaic/tile_coverage.hpp"
#include "tessera/error.hpp"
#include "tiling/coverage.hpp"
#include "tiling/href_policy.hpp"
#include "tiling/raster_read.hpp"
#include "tiling/zonal_statistics.hpp"

namespace tessera {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using mosaic::CacheCounts;
using mosaic::Candidate;
using mosaic::ItemPlan;
using mosaic::OrderedReads;
using mosaic::plan_items;
using mosaic::scan_items;
using mosaic::ScanResult;

// Runs a catalog scan under the mosaic's time budget: the catalog interrupts
// a search past `deadline`, reported as the budget running out.
template <typename Scan>
ScanResult scan_within(Clock::time_point deadline, Scan&& scan) {
  const catalog::ScopedDeadline scoped(deadline);
  try {
    return scan();
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kUnavailable && Clock::now() >= deadline) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("mosaic: the catalog scan ran past the time budget (MosaicOptions::time_budget): {}",
                              error.what()));
    }
    throw;
  }
}

// The items whose footprint holds a WGS84 point, with the hrefs of `assets`.
ScanResult scan_at_point(Catalog& catalog, const json& search, const MosaicOptions& options,
                         const std::vector<AssetSelection>& assets, double lon, double lat,
                         Clock::time_point deadline) {
  if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("point ({}, {}) is not a longitude/latitude", lon, lat));
  }
  const json point = {{"type", "Point"}, {"coordinates", {lon, lat}}};
  return scan_within(deadline, [&] { return scan_items(catalog, search, point, assets, options.max_items_scanned); });
}

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& failure) {
    return failure.what();
  } catch (...) {
    return "unknown error";
  }
}

json failure_of(const Candidate& candidate, const std::string& error) {
  return {{"id", candidate.id}, {"collection", candidate.collection}, {"error", error}};
}

// The grid a mosaic is built on: a tile of a tile matrix set, or a part.
struct MosaicGrid {
  Crs crs;
  Bbox bounds;  // in crs
  int width = 0;
  int height = 0;
  json footprint;     // WGS84 GeoJSON: what the scan looks for
  std::string label;  // "tile 12/2134/1456", "part": for errors
};

// How a grid's reads went, for its metadata and errors.
struct TileReport {
  std::size_t items_scanned = 0;
  std::size_t items_read = 0;
  std::size_t items_skipped_covered = 0;
  std::vector<std::string> used;
  std::vector<std::string> band_names;  // the first item's: every item has the same bands
  json failed = json::array();
  std::size_t failed_lacking_asset = 0;  // of `failed`: items without an asset asked for
  std::optional<std::string> stopped_by;
  bool filled = false;
};

// The finished grid: the selected pixels, named, with the
// items used and how the tile was built. NotFound when no item had data;
// InvalidInput when every item read lacked an asset asked for (the request
// names assets the items do not have); Io when every item read failed.
ImageData assemble(mosaic::PixelSelector& selector, TileReport report, const CacheCounts& cache, const MosaicGrid& grid,
                   PixelSelection method) {
  std::optional<ImageData> result = selector.result();
  if (!result) {
    if (!report.failed.empty() && report.failed.size() == report.items_read &&
        report.failed_lacking_asset == report.failed.size()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("mosaic {}: no item read has the assets asked for (first: {}: {})", grid.label,
                              report.failed[0]["id"].get<std::string>(), report.failed[0]["error"].get<std::string>()));
    }
    if (!report.failed.empty() && report.failed.size() == report.items_read) {
      throw Error(ErrorCode::kIo,
                  fmt::format("mosaic {}: every item failed to read (first: {}: {})", grid.label,
                              report.failed[0]["id"].get<std::string>(), report.failed[0]["error"].get<std::string>()));
    }
    throw Error(
        ErrorCode::kNotFound,
        fmt::format("mosaic {}: no item has data there ({} item(s) scanned{})", grid.label, report.items_scanned,
                    report.stopped_by ? fmt::format(", stopped by {}", *report.stopped_by) : ""));
  }
  ImageData image = std::move(*result);
  image.bounds = grid.bounds;
  image.crs_wkt = grid.crs.to_wkt();
  if (method == PixelSelection::kCount) {
    report.band_names = {"count"};
  } else if (method == PixelSelection::kLastBandHigh || method == PixelSelection::kLastBandLow) {
    report.band_names.pop_back();
  }
  image.band_names = std::move(report.band_names);
  for (const auto& failure : report.failed) {
    image.warnings.push_back(
        fmt::format("item '{}' skipped: {}", failure["id"].get<std::string>(), failure["error"].get<std::string>()));
  }
  image.metadata = {{"method", pixel_selection_name(method)},
                    {"items_scanned", report.items_scanned},
                    {"items_read", report.items_read},
                    {"items_used", report.used.size()},
                    {"items_skipped_covered", report.items_skipped_covered},
                    {"filled", selector.filled()},
                    {"stopped_by", report.stopped_by ? json(*report.stopped_by) : json()},
                    {"failed", std::move(report.failed)},
                    {"cache", {{"hits", cache.hits.load()}, {"misses", cache.misses.load()}}}};
  image.assets = std::move(report.used);
  return image;
}

// A CRS given by a caller, read under GDAL's limits for user input (no file
// or URL is read for it).
Crs crs_of(const std::string& definition, std::string_view what) {
  return Crs::from_user_input(tiling::srs_to_wkt(tiling::srs_from_user_input(definition, what)));
}

// The grid of a mosaic part: `bbox` (in part.bbox_crs) in part.dst_crs
// (default: part.bbox_crs), sized by width/height or max_size.
MosaicGrid part_grid(const Bbox& bbox, const PartOptions& part) {
  if (part.width < 0 || part.height < 0 || part.max_size < 0) {
    throw Error(ErrorCode::kInvalidInput, "mosaic part: width, height and max_size must not be negative");
  }
  if (part.width == 0 && part.height == 0 && part.max_size == 0) {
    throw Error(ErrorCode::kInvalidInput,
                "mosaic part: set width, height or max_size (a mosaic has no native resolution)");
  }
  if (!std::isfinite(bbox.minx) || !std::isfinite(bbox.miny) || !std::isfinite(bbox.maxx) ||
      !std::isfinite(bbox.maxy) || !(bbox.maxx > bbox.minx) || !(bbox.maxy > bbox.miny)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("mosaic part: bbox [{}, {}, {}, {}] is empty or not finite (maxx <= minx or maxy <= miny)",
                            bbox.minx, bbox.miny, bbox.maxx, bbox.maxy));
  }
  const Crs bbox_crs = crs_of(part.bbox_crs, "bbox CRS");
  const Crs crs = part.dst_crs.empty() ? bbox_crs : crs_of(part.dst_crs, "destination CRS");
  const Bbox bounds = crs.same_as(bbox_crs) ? bbox : Transformer(bbox_crs, crs).transform_bbox(bbox, 21);
  const double ratio = (bounds.maxy - bounds.miny) / (bounds.maxx - bounds.minx);
  double width = part.width;
  double height = part.height;
  if (part.width > 0 && part.height == 0) {
    height = std::ceil(width * ratio);
  } else if (part.height > 0 && part.width == 0) {
    width = std::ceil(height / ratio);
  } else if (part.width == 0) {
    width = ratio > 1 ? std::ceil(part.max_size / ratio) : part.max_size;
    height = ratio > 1 ? part.max_size : std::ceil(part.max_size * ratio);
  }
  // Checked as doubles: an extreme aspect ratio must not overflow the int.
  const double largest = tiling::current_config()->max_image_size;
  const auto side = [&](double pixels) { return static_cast<int>(std::clamp(pixels, 1.0, largest + 1)); };
  tiling::check_image_size(side(width), side(height));
  const Bbox footprint =
      bbox_crs.same_as(Crs::wgs84()) ? bbox : Transformer(bbox_crs, Crs::wgs84()).transform_bbox(bbox, 21);
  return {crs, bounds, side(width), side(height), Geometry::from_bbox(footprint).to_geojson(), "part"};
}

// The shape of a Feature or geometry reprojected from part.bbox_crs onto an image's CRS.
std::unique_ptr<OGRGeometry> shape_on(const Geometry& shape, const PartOptions& part, const ImageData& image) {
  return tiling::reprojected(*shape.ogr(), tiling::srs_from_user_input(part.bbox_crs, "bbox CRS"),
                             tiling::srs_from_user_input(image.crs_wkt, "image CRS"), "feature");
}

// The mosaic on `grid`: the items of `search` under its footprint read in
// order with `read_asset` (whose cache hits `cache` counts) under the caps of
// `options`, merged by pixel selection. `footprints_on_grid`: the items'
// footprints may be rasterized on the grid to skip covered items.
ImageData build_grid(Catalog& catalog, const json& search, const MosaicOptions& options, const MosaicGrid& grid,
                     const ReadOptions& read, mosaic::AssetRead read_asset, const std::shared_ptr<CacheCounts>& cache,
                     bool footprints_on_grid) {
  const auto deadline = Clock::now() + options.time_budget;
  const auto plan = std::make_shared<const ItemPlan>(plan_items(options, read));
  ScanResult scan = scan_within(
      deadline, [&] { return scan_items(catalog, search, grid.footprint, plan->assets, options.max_items_scanned); });
  const auto candidates = std::make_shared<const std::vector<Candidate>>(std::move(scan.candidates));
  mosaic::PixelSelector selector(options.method, grid.width, grid.height, tiling::current_config()->max_request_values);

  OrderedReads<ImageData>::Read read_item = [candidates, plan, read,
                                             read_asset = std::move(read_asset)](std::size_t n) {
    return mosaic::read_item((*candidates)[n], *plan, read, read_asset);
  };
  const bool first = options.method == PixelSelection::kFirst;
  std::optional<mosaic::TileCoverage> coverage;
  OrderedReads<ImageData>::Decide decide;
  if (first && options.skip_covered && footprints_on_grid) {
    coverage.emplace(*candidates, grid.crs, grid.bounds, grid.width, grid.height);
    decide = [&](std::size_t n, const std::vector<std::size_t>& in_flight) {
      return coverage->decide(n, selector.mask(), in_flight);
    };
  }
  OrderedReads<ImageData> reads(candidates->size(), std::move(read_item), options.max_items_read, deadline,
                                std::move(decide));

  TileReport report;
  report.items_scanned = candidates->size();
  while (auto taken = reads.next()) {
    const Candidate& candidate = (*candidates)[taken->index];
    if (taken->error) {
      mosaic::rethrow_band_selection_error(taken->error);
      report.failed.push_back(failure_of(candidate, message_of(taken->error)));
      report.failed_lacking_asset += candidate.missing_asset.empty() ? 0 : 1;
      continue;
    }
    if (!taken->result) {
      continue;  // no data there
    }
    selector.check_budget(*taken->result);  // fails the request, not the item
    try {
      if (selector.fed() == 0) {
        report.band_names = taken->result->band_names;
      }
      selector.feed(*taken->result);
      report.used.push_back(candidate.id);
    } catch (const Error& error) {
      report.failed.push_back(failure_of(candidate, error.what()));
    }
    if (first && selector.filled()) {
      report.filled = true;
      break;
    }
  }
  report.items_read = reads.reads_started();
  report.items_skipped_covered = reads.skipped();
  report.stopped_by = reads.stopped_by();
  if (!report.stopped_by && scan.capped && !report.filled) {
    report.stopped_by = "max_items_scanned";
  }
  return assemble(selector, std::move(report), *cache, grid, options.method);
}

}  // namespace

void check_mosaic_options(const MosaicOptions& options) {
  if (options.max_items_scanned == 0 || options.max_items_read == 0 || options.time_budget.count() <= 0) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: max_items_scanned, max_items_read and time_budget must be positive");
  }
  static_cast<void>(plan_items(options, {}));
}

Mosaic::Mosaic(Catalog& catalog, json search, MosaicOptions options)
    : catalog_(&catalog), search_(std::move(search)), options_(std::move(options)) {
  if (!search_.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("mosaic: the search must be a JSON object, got {}", search_.type_name()));
  }
  check_mosaic_options(options_);  // now, not per tile
  // A bad search fails here rather than on every tile.
  json probe = search_;
  probe["limit"] = 1;
  probe["context"] = false;
  static_cast<void>(catalog_->search(probe));
}

Mosaic Mosaic::from_registered(Catalog& catalog, std::string_view search_id, MosaicOptions options) {
  return {catalog, catalog.registered_search(search_id)["search"], std::move(options)};
}

std::vector<std::string> Mosaic::assets_read(const ReadOptions& read) const {
  std::vector<std::string> names;
  for (auto& asset : plan_items(options_, read).assets) {
    names.push_back(std::move(asset.name));
  }
  return names;
}

ImageData Mosaic::tile(const TileMatrixSet& tms, const Tile& tile, int tile_size, const ReadOptions& read) const {
  tms.check_tile(tile);
  tiling::check_image_size(tile_size, tile_size);
  // Checked before anything is sized by it: the selector keeps grid_size² pixels per band.
  const int grid_size = tiling::buffered_size(tile_size, read.buffer);
  const MosaicGrid grid{tms.crs(),
                        tms.xy_bounds(tile),
                        grid_size,
                        grid_size,
                        mosaic::tile_geometry(tms, tile),
                        fmt::format("tile {}/{}/{}", tile.z, tile.x, tile.y)};
  const auto cache = std::make_shared<CacheCounts>();
  mosaic::AssetRead read_asset = [cache, tms, tile, tile_size](const std::string& href, const ReadOptions& asset_read) {
    return mosaic::cached_asset_tile(href, tms, tile, tile_size, asset_read, *cache);
  };
  // The footprints are rasterized on the tile without its buffer.
  return build_grid(*catalog_, search_, options_, grid, read, std::move(read_asset), cache, read.buffer == 0);
}

ImageData Mosaic::part(const Bbox& bbox, const PartOptions& part, const ReadOptions& read) const {
  if (read.buffer != 0) {
    throw Error(ErrorCode::kInvalidInput, "mosaic part: buffer applies to tiles only");
  }
  const MosaicGrid grid = part_grid(bbox, part);
  mosaic::AssetRead read_asset = [crs = grid.crs.to_wkt(), bounds = grid.bounds, width = grid.width,
                                  height = grid.height](const std::string& href,
                                                        const ReadOptions& asset_read) -> std::optional<ImageData> {
    ImageData image = read_part(href, bounds, PartOptions{crs, crs, 0, width, height}, asset_read);
    if (std::none_of(image.mask(), image.mask() + image.pixel_count(), [](std::uint8_t m) { return m != 0; })) {
      return std::nullopt;
    }
    return image;
  };
  return build_grid(*catalog_, search_, options_, grid, read, std::move(read_asset), std::make_shared<CacheCounts>(),
                    true);
}

ImageData Mosaic::feature(const json& geojson, const PartOptions& part, const ReadOptions& read) const {
  const Geometry shape = tiling::feature_geometry(geojson, "feature");
  ImageData image = this->part(shape.bbox(), part, read);
  const std::vector<std::uint8_t> touched =
      tiling::rasterize(*shape_on(shape, part, image), image.bounds, image.width(), image.height(), true);
  for (std::size_t p = 0; p < touched.size(); ++p) {
    if (touched[p] == 0) {
      image.mask()[p] = 0;
    }
  }
  return image;
}

ImageData Mosaic::preview(const std::optional<Bbox>& bounds, const PartOptions& part, const ReadOptions& read) const {
  Bbox box;
  if (bounds) {
    box = *bounds;
  } else {
    const json world = Geometry::from_bbox({-180, -90, 180, 90}).to_geojson();
    const ScanResult scan = scan_within(Clock::now() + options_.time_budget, [&] {
      return scan_items(*catalog_, search_, world, plan_items(options_, read).assets, options_.max_items_scanned);
    });
    std::optional<Bbox> items;
    for (const Candidate& candidate : scan.candidates) {
      if (candidate.bbox.size() != 4 && candidate.bbox.size() != 6) {
        continue;
      }
      Bbox item = Bbox::from_json(json(candidate.bbox), "item bbox");
      if (item.crosses_antimeridian()) {
        item.minx = -180;
        item.maxx = 180;
      }
      items = !items ? item
                     : Bbox{std::min(items->minx, item.minx), std::min(items->miny, item.miny),
                            std::max(items->maxx, item.maxx), std::max(items->maxy, item.maxy)};
    }
    if (!items) {
      throw Error(ErrorCode::kNotFound, "mosaic preview: the search matches no item with a bbox");
    }
    box = *items;
  }
  PartOptions onto = part;
  onto.bbox_crs = "EPSG:4326";
  return this->part(box, onto, read);
}

MosaicStatistics Mosaic::statistics(const json& geojson, const StatisticsOptions& statistics, const PartOptions& part,
                                    const ReadOptions& read) const {
  tiling::check_statistics_options(statistics);
  const Geometry shape = tiling::feature_geometry(geojson, "feature");
  tiling::check_area_shape(*shape.ogr(), "feature");
  const ImageData image = this->part(shape.bbox(), part, read);
  return {tiling::shape_statistics(image, *shape_on(shape, part, image), read.nodata, statistics), image.assets};
}

json Mosaic::assets_for_tile(const TileMatrixSet& tms, const Tile& tile) const {
  tms.check_tile(tile);
  return mosaic::describe_items(scan_within(Clock::now() + options_.time_budget, [&] {
    return scan_items(*catalog_, search_, mosaic::tile_geometry(tms, tile), plan_items(options_, {}).assets,
                      options_.max_items_scanned);
  }));
}

json Mosaic::assets_for_point(double lon, double lat) const {
  return mosaic::describe_items(scan_at_point(*catalog_, search_, options_, plan_items(options_, {}).assets, lon, lat,
                                              Clock::now() + options_.time_budget));
}

json Mosaic::point(double lon, double lat, const ReadOptions& read) const {
  if (options_.assets.empty()) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: point values need the assets to read (MosaicOptions::assets)");
  }
  // One budget for the scan and the reads.
  const auto deadline = Clock::now() + options_.time_budget;
  const auto candidates = std::make_shared<const std::vector<Candidate>>(
      scan_at_point(*catalog_, search_, options_, options_.assets, lon, lat, deadline).candidates);
  ReadOptions asset_read = read;
  asset_read.expression.clear();
  OrderedReads<json>::Read read_values = [candidates, assets = options_.assets, asset_as_band = options_.asset_as_band,
                                          asset_read, lon, lat](std::size_t n) -> std::optional<json> {
    const Candidate& candidate = (*candidates)[n];
    json values = json::array();
    json band_names = json::array();
    std::size_t selection = 0;
    for (const auto& [asset, href] : candidate.hrefs) {
      while (assets[selection].name != asset) {
        ++selection;  // the hrefs follow `assets` but skip those the item lacks
      }
      ReadOptions bands_read = asset_read;
      if (!assets[selection].indexes.empty()) {
        bands_read.indexes = assets[selection].indexes;
      }
      ++selection;
      try {
        const PointData point = read_point(href, lon, lat, bands_read);
        if (asset_as_band && point.values.size() != 1) {
          throw mosaic::BandSelectionError(
              fmt::format("asset_as_band: asset '{}' gives {} bands, not one", asset, point.values.size()));
        }
        for (std::size_t band = 0; band < point.values.size(); ++band) {
          values.push_back(point.masked ? json(nullptr) : json(point.values[band]));
          band_names.push_back(asset_as_band ? asset : asset + "_" + point.band_names[band]);
        }
      } catch (const mosaic::BandSelectionError&) {
        throw;
      } catch (const Error& error) {
        if (error.code() == ErrorCode::kInvalidInput) {  // e.g. a band the asset lacks: say which asset
          throw Error(ErrorCode::kInvalidInput, fmt::format("asset '{}': {}", asset, error.what()));
        }
        // The footprint holds the point but the raster's edge pixels may not.
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
      }
    }
    return json{{"id", candidate.id},
                {"collection", candidate.collection},
                {"values", std::move(values)},
                {"band_names", std::move(band_names)}};
  };
  OrderedReads<json> reads(candidates->size(), std::move(read_values), options_.max_items_read, deadline);
  json values = json::array();
  while (auto taken = reads.next()) {
    if (taken->error) {
      std::rethrow_exception(taken->error);  // a raster that cannot be read fails the request
    }
    values.push_back(std::move(*taken->result));
  }
  json result = {{"coordinates", {lon, lat}}, {"values", std::move(values)}};
  if (reads.stopped_by()) {
    result["stopped_by"] = *reads.stopped_by();
  }
  return result;
}

}  // namespace tessera
