// Mosaic tiles: the catalog search for a tile's items, reads on the shared
// work pool, merged in search order with early exit, and the data cache.

#include "tessera/mosaic.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "tessera/cql2.hpp"
#include "tessera/error.hpp"
#include "tiling/expression.hpp"
#include "tiling/pixel_selection.hpp"
#include "tiling/pixel_type.hpp"
#include "tiling/raster_read.hpp"
#include "tiling/tile_data_cache.hpp"
#include "tiling/work_pool.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr std::pair<PixelSelection, std::string_view> kMethodNames[] = {
    {PixelSelection::kFirst, "first"},
    {PixelSelection::kHighest, "highest"},
    {PixelSelection::kLowest, "lowest"},
    {PixelSelection::kMean, "mean"},
    {PixelSelection::kMedian, "median"},
    {PixelSelection::kStdev, "stdev"},
    {PixelSelection::kCount, "count"},
    {PixelSelection::kLastBandHigh, "last-band-high"},
    {PixelSelection::kLastBandLow, "last-band-low"},
};

// --- Which items, which assets ----------------------------------------------

// One asset band a mosaic reads: "<asset>_b<n>".
struct AssetBand {
  std::string asset;
  int band = 0;
};

AssetBand parse_asset_band(const std::string& name) {
  const auto separator = name.rfind("_b");
  if (separator != std::string::npos && separator > 0 && separator + 2 < name.size() &&
      std::all_of(name.begin() + static_cast<std::ptrdiff_t>(separator) + 2, name.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    const int band = std::stoi(name.substr(separator + 2));
    if (band >= 1) {
      return {name.substr(0, separator), band};
    }
  }
  throw Error(ErrorCode::kInvalidInput,
              fmt::format("mosaic expression: '{}' is not an asset band (write <asset>_b<n>, e.g. visual_b1)", name));
}

// What every item contributes: the assets read, and the expression over
// their bands when there is one.
struct ItemPlan {
  std::vector<std::string> assets;
  std::optional<tiling::Expression> expression;
  std::vector<AssetBand> variables;  // aligned with expression->variables()
};

ItemPlan plan_items(const MosaicOptions& options, const ReadOptions& read) {
  ItemPlan plan;
  const std::string& expression = read.expression.empty() ? options.expression : read.expression;
  if (!expression.empty()) {
    plan.expression = tiling::Expression::parse(expression);
    for (const auto& name : plan.expression->variables()) {
      plan.variables.push_back(parse_asset_band(name));
      if (std::find(plan.assets.begin(), plan.assets.end(), plan.variables.back().asset) == plan.assets.end()) {
        plan.assets.push_back(plan.variables.back().asset);
      }
    }
  } else {
    plan.assets = options.assets;
  }
  if (plan.assets.empty()) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: name the assets to read (assets or an expression over them)");
  }
  return plan;
}

// An item a tile may read: its assets' hrefs and its footprint.
struct Candidate {
  std::string id;
  std::string collection;
  json bbox;
  std::vector<std::pair<std::string, std::string>> hrefs;  // (asset, href), in plan order
  std::string missing_asset;                               // the first asset the item lacks
  json geometry;
};

// An asset href relative to the item's self link is resolved against it.
std::string resolve_href(const json& item, const std::string& href) {
  if (href.find("://") != std::string::npos || href.starts_with("/")) {
    return href;
  }
  for (const auto& link : item.value("links", json::array())) {
    if (link.is_object() && link.value("rel", "") == "self" && link.contains("href") && link["href"].is_string()) {
      const std::string self = link["href"].get<std::string>();
      const auto slash = self.rfind('/');
      if (slash != std::string::npos) {
        return self.substr(0, slash + 1) + (href.starts_with("./") ? href.substr(2) : href);
      }
    }
  }
  return href;
}

Candidate candidate_from(const json& item, const std::vector<std::string>& assets) {
  Candidate candidate;
  candidate.id = item.value("id", "");
  candidate.collection = item.value("collection", "");
  candidate.bbox = item.value("bbox", json());
  candidate.geometry = item.value("geometry", json());
  const json& item_assets = item.contains("assets") && item["assets"].is_object() ? item["assets"] : json::object();
  for (const auto& name : assets) {
    const auto found = item_assets.find(name);
    if (found == item_assets.end() || !found->is_object() || !found->contains("href") ||
        !(*found)["href"].is_string()) {
      if (candidate.missing_asset.empty()) {
        candidate.missing_asset = name;
      }
      continue;
    }
    candidate.hrefs.emplace_back(name, resolve_href(item, (*found)["href"].get<std::string>()));
  }
  return candidate;
}

// The mosaic's search restricted to `geometry` (WGS84 GeoJSON): its own
// bbox/intersects and filter are kept as one CQL2-JSON filter.
json spatial_request(const json& search, const json& geometry) {
  json request = search;
  std::vector<json> clauses;
  if (const auto bbox = request.find("bbox"); bbox != request.end() && !bbox->is_null()) {
    clauses.push_back({{"op", "s_intersects"}, {"args", {{{"property", "geometry"}}, {{"bbox", *bbox}}}}});
  }
  if (const auto shape = request.find("intersects"); shape != request.end() && !shape->is_null()) {
    clauses.push_back({{"op", "s_intersects"}, {"args", {{{"property", "geometry"}}, *shape}}});
  }
  if (const auto filter = request.find("filter"); filter != request.end() && !filter->is_null()) {
    clauses.push_back(filter->is_string() ? cql2::text_to_json(filter->get_ref<const std::string&>()) : *filter);
  }
  for (const char* member : {"bbox", "intersects", "filter", "filter-lang", "token", "limit", "fields", "context"}) {
    request.erase(member);
  }
  request["intersects"] = geometry;
  if (!clauses.empty()) {
    request["filter"] = clauses.size() == 1 ? clauses.front() : json{{"op", "and"}, {"args", clauses}};
    request["filter-lang"] = "cql2-json";
  }
  return request;
}

struct ScanResult {
  std::vector<Candidate> candidates;
  bool capped = false;  // max_items_scanned left items unvisited
};

ScanResult scan_items(Catalog& catalog, const json& search, const json& geometry,
                      const std::vector<std::string>& assets, std::size_t max_items) {
  ScanResult scan;
  json request = spatial_request(search, geometry);
  request["context"] = false;
  while (scan.candidates.size() < max_items) {
    request["limit"] = std::min<std::size_t>(max_items - scan.candidates.size(), 1000);
    const json page = catalog.search(request);
    for (const auto& item : page["features"]) {
      scan.candidates.push_back(candidate_from(item, assets));
    }
    const auto next = page.find("next");
    if (next == page.end() || !next->is_string()) {
      return scan;
    }
    request["token"] = *next;
  }
  // The page ended exactly at the cap: one more item decides whether it cut anything.
  request["limit"] = 1;
  scan.capped = !catalog.search(request)["features"].empty();
  return scan;
}

// What assets_for_tile/point answer: each item with the hrefs it would be read from.
json describe_items(const ScanResult& scan) {
  json items = json::array();
  for (const auto& candidate : scan.candidates) {
    json assets = json::object();
    for (const auto& [asset, href] : candidate.hrefs) {
      assets[asset] = href;
    }
    items.push_back(
        {{"id", candidate.id}, {"collection", candidate.collection}, {"bbox", candidate.bbox}, {"assets", assets}});
  }
  return items;
}

json tile_geometry(const TileMatrixSet& tms, const Tile& tile) {
  return Geometry::from_bbox(tms.bounds(tile)).to_geojson();
}

// --- Reading one item ---------------------------------------------------------

std::string cache_key(std::string_view href, const TileMatrixSet& tms, const Tile& tile, int tile_size,
                      const ReadOptions& read) {
  std::string indexes;
  for (const int index : read.indexes) {
    indexes += fmt::format("{},", index);
  }
  return fmt::format("{}\n{}\n{}/{}/{}\n{}\n{}\n{}/{}\n{}\n{}\n{}", href, tms.id(), tile.z, tile.x, tile.y, tile_size,
                     indexes, resampling_name(read.resampling), resampling_name(read.reproject),
                     read.nodata ? fmt::format("{}", *read.nodata) : "-", read.unscale, read.buffer);
}

struct CacheCounts {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

// One asset's tile, from the cache or read (nullopt: no data there).
std::optional<ImageData> asset_tile(const std::string& href, const TileMatrixSet& tms, const Tile& tile, int tile_size,
                                    const ReadOptions& read, CacheCounts& counts) {
  auto& cache = tiling::TileDataCache::instance();
  const std::string key = cache_key(href, tms, tile, tile_size, read);
  if (auto cached = cache.find(key)) {
    ++counts.hits;
    return cached->band_count() == 0 ? std::nullopt : std::move(cached);
  }
  ++counts.misses;
  std::optional<ImageData> image = tiling::read_tile_if_covered(href, tms, tile, tile_size, read);
  // "No data here" is remembered too, as an image without bands.
  cache.insert(key, image ? *image : ImageData());
  return image;
}

// The item's assets stacked into one image (bands "<asset>_b<n>", valid where
// every asset is), then the expression when there is one.
std::optional<ImageData> read_item(const Candidate& candidate, const ItemPlan& plan, const TileMatrixSet& tms,
                                   const Tile& tile, int tile_size, const ReadOptions& read, CacheCounts& counts) {
  if (!candidate.missing_asset.empty()) {
    throw Error(ErrorCode::kNotFound, fmt::format("has no asset '{}'", candidate.missing_asset));
  }
  ReadOptions asset_read = read;
  asset_read.expression.clear();
  std::vector<ImageData> parts;
  for (const auto& [asset, href] : candidate.hrefs) {
    std::optional<ImageData> part = asset_tile(href, tms, tile, tile_size, asset_read, counts);
    if (!part) {
      return std::nullopt;
    }
    parts.push_back(std::move(*part));
  }
  if (parts.size() == 1 && !plan.expression) {
    ImageData image = parts.front();  // shares the cached buffers, which nobody writes
    for (auto& name : image.band_names) {
      name = fmt::format("{}_{}", candidate.hrefs.front().first, name);
    }
    return image;
  }
  int band_count = 0;
  DataType type = parts.front().data_type();
  for (const auto& part : parts) {
    band_count += part.band_count();
    if (part.data_type() != type) {
      type = DataType::kFloat64;
    }
  }
  ImageData stacked(type, band_count, parts.front().height(), parts.front().width());
  std::fill_n(stacked.mask(), stacked.pixel_count(), 255);
  int band = 0;
  std::map<std::string, int> band_of;
  for (std::size_t n = 0; n < parts.size(); ++n) {
    const ImageData& part = parts[n];
    for (int b = 0; b < part.band_count(); ++b, ++band) {
      tiling::with_pixel_type(type, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = stacked.band<T>(band);
        for (std::size_t p = 0; p < part.pixel_count(); ++p) {
          out[p] = static_cast<T>(tiling::value_at(part, b, p));
        }
      });
      const std::string name = fmt::format("{}_b{}", candidate.hrefs[n].first, b + 1);
      stacked.band_names.push_back(name);
      band_of[name] = band;
    }
    for (std::size_t p = 0; p < part.pixel_count(); ++p) {
      if (part.mask()[p] == 0) {
        stacked.mask()[p] = 0;
      }
    }
  }
  stacked.bounds = parts.front().bounds;
  stacked.crs_wkt = parts.front().crs_wkt;
  if (!plan.expression) {
    return stacked;
  }
  std::vector<std::vector<double>> inputs;
  std::vector<const double*> input_pointers;
  for (std::size_t v = 0; v < plan.variables.size(); ++v) {
    const auto found = band_of.find(plan.expression->variables()[v]);
    if (found == band_of.end()) {
      throw Error(ErrorCode::kInvalidInput,
                  fmt::format("asset '{}' has no band {}", plan.variables[v].asset, plan.variables[v].band));
    }
    inputs.emplace_back(stacked.pixel_count());
    for (std::size_t p = 0; p < stacked.pixel_count(); ++p) {
      inputs.back()[p] = tiling::value_at(stacked, found->second, p);
    }
    input_pointers.push_back(inputs.back().data());
  }
  ImageData evaluated(DataType::kFloat64, static_cast<int>(plan.expression->output_count()), stacked.height(),
                      stacked.width());
  std::vector<double*> outputs;
  for (int o = 0; o < evaluated.band_count(); ++o) {
    outputs.push_back(evaluated.band<double>(o));
  }
  plan.expression->evaluate(input_pointers, stacked.pixel_count(), outputs);
  std::copy_n(stacked.mask(), stacked.pixel_count(), evaluated.mask());
  evaluated.band_names = plan.expression->output_texts();
  evaluated.bounds = stacked.bounds;
  evaluated.crs_wkt = stacked.crs_wkt;
  return evaluated;
}

// --- Footprints on the tile grid (skipping covered items) -----------------------

// Transformers from WGS84 to a TMS CRS, kept for reuse (building one costs
// PROJ database look-ups) and lent to one thread at a time.
class FootprintTransformers {
 public:
  static FootprintTransformers& instance() {
    static FootprintTransformers* const pool = new FootprintTransformers();  // never destroyed, like the caches
    return *pool;
  }
  std::unique_ptr<Transformer> acquire(const Crs& crs, const std::string& key) {
    {
      const std::lock_guard lock(mutex_);
      auto& idle = idle_[key];
      if (!idle.empty()) {
        auto transformer = std::move(idle.back());
        idle.pop_back();
        return transformer;
      }
    }
    return std::make_unique<Transformer>(Crs::wgs84(), crs);
  }
  void release(const std::string& key, std::unique_ptr<Transformer> transformer) {
    const std::lock_guard lock(mutex_);
    if (auto& idle = idle_[key]; idle.size() < 16) {
      idle.push_back(std::move(transformer));
    }
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Transformer>>> idle_;
};

// Pixels of the tile an item's footprint touches (all-touched, so an item is
// only skipped when no pixel it could fill is empty); empty when unknown.
std::vector<std::uint8_t> footprint_pixels(const Candidate& candidate, const Transformer& to_tms, const Bbox& bounds,
                                           int tile_size) {
  if (!candidate.geometry.is_object()) {
    return {};
  }
  try {
    const Geometry footprint = to_tms.transform(Geometry::from_geojson(candidate.geometry));
    return tiling::rasterize(*footprint.ogr(), bounds, tile_size, tile_size, true);
  } catch (const Error&) {
    return {};  // e.g. a footprint reaching past the projection's domain: never skipped
  }
}

// --- One tile being built -------------------------------------------------------

enum class ReadState { kWaiting, kRunning, kRead, kEmpty, kFailed, kSkipped };

// Shared with the reads in flight, which may outlive the call when a cap
// stops the tile before they finish.
struct TileRun {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<ReadState> states;
  std::vector<std::optional<ImageData>> images;
  std::vector<std::string> errors;
  CacheCounts cache;
};

}  // namespace

PixelSelection pixel_selection_from_name(std::string_view name) {
  if (name == "lastbandhigh") {
    return PixelSelection::kLastBandHigh;
  }
  if (name == "lastbandlow") {
    return PixelSelection::kLastBandLow;
  }
  for (const auto& [method, text] : kMethodNames) {
    if (text == name) {
      return method;
    }
  }
  std::string known;
  for (const auto& [method, text] : kMethodNames) {
    known += known.empty() ? std::string(text) : ", " + std::string(text);
  }
  throw Error(ErrorCode::kInvalidInput, fmt::format("unknown pixel selection '{}' (one of: {})", name, known));
}

std::string_view pixel_selection_name(PixelSelection method) noexcept {
  for (const auto& [value, text] : kMethodNames) {
    if (value == method) {
      return text;
    }
  }
  return "unknown";
}

Mosaic::Mosaic(Catalog& catalog, json search, MosaicOptions options)
    : catalog_(&catalog), search_(std::move(search)), options_(std::move(options)) {
  if (options_.version != 1) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("MosaicOptions version {} is not supported (1)", options_.version));
  }
  if (!search_.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("mosaic: the search must be a JSON object, got {}", search_.type_name()));
  }
  if (options_.max_items_scanned == 0 || options_.max_items_read == 0 || options_.time_budget.count() <= 0) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: max_items_scanned, max_items_read and time_budget must be positive");
  }
  static_cast<void>(plan_items(options_, {}));  // the assets/expression are checked now, not per tile
  // A bad search fails here rather than on every tile.
  json probe = search_;
  probe["limit"] = 1;
  probe["context"] = false;
  static_cast<void>(catalog_->search(probe));
}

Mosaic Mosaic::from_registered(Catalog& catalog, std::string_view search_id, MosaicOptions options) {
  return {catalog, catalog.registered_search(search_id)["search"], std::move(options)};
}

ImageData Mosaic::tile(const TileMatrixSet& tms, const Tile& tile, int tile_size, const ReadOptions& read) const {
  tms.check_tile(tile);
  tiling::check_image_size(tile_size, tile_size);
  const auto deadline = std::chrono::steady_clock::now() + options_.time_budget;
  const ItemPlan plan = plan_items(options_, read);
  const ScanResult scan =
      scan_items(*catalog_, search_, tile_geometry(tms, tile), plan.assets, options_.max_items_scanned);
  const auto& candidates = scan.candidates;
  const std::size_t count = candidates.size();

  const bool first = options_.method == PixelSelection::kFirst;
  const bool skip_covered = first && options_.skip_covered && read.buffer == 0;
  const int grid_size = tile_size + static_cast<int>(2 * read.buffer);
  tiling::PixelSelector selector(options_.method, grid_size, grid_size);

  std::string transformer_key;
  std::unique_ptr<Transformer> to_tms;
  std::vector<std::vector<std::uint8_t>> footprints(count);
  std::vector<bool> footprint_known(count, false);
  if (skip_covered && count > 1) {
    transformer_key = tms.crs().to_wkt();
    to_tms = FootprintTransformers::instance().acquire(tms.crs(), transformer_key);
  }
  const Bbox xy_bounds = tms.xy_bounds(tile);
  auto footprint = [&](std::size_t n) -> const std::vector<std::uint8_t>& {
    if (!footprint_known[n]) {
      footprints[n] = footprint_pixels(candidates[n], *to_tms, xy_bounds, tile_size);
      footprint_known[n] = true;
    }
    return footprints[n];
  };

  auto run = std::make_shared<TileRun>();
  run->states.assign(count, ReadState::kWaiting);
  run->images.resize(count);
  run->errors.resize(count);
  auto& pool = tiling::WorkPool::instance();
  const auto shared_candidates = std::make_shared<const std::vector<Candidate>>(candidates);
  const auto shared_plan = std::make_shared<const ItemPlan>(plan);

  std::size_t next_merge = 0;
  std::size_t next_dispatch = 0;
  std::size_t running = 0;
  std::size_t reads_started = 0;
  std::vector<std::string> used;
  std::vector<std::string> band_names;  // the first item's: every item has the same bands
  json failed = json::array();
  std::optional<std::string> stopped_by;
  bool filled = false;

  std::unique_lock lock(run->mutex);
  for (;;) {
    // Merge finished reads in search order; "first" stops as soon as the tile is full.
    while (next_merge < next_dispatch && run->states[next_merge] != ReadState::kRunning) {
      const ReadState state = run->states[next_merge];
      const Candidate& candidate = candidates[next_merge];
      if (state == ReadState::kRead) {
        try {
          if (selector.fed() == 0) {
            band_names = run->images[next_merge]->band_names;
          }
          selector.feed(*run->images[next_merge]);
          used.push_back(candidate.id);
        } catch (const Error& error) {
          failed.push_back({{"id", candidate.id}, {"collection", candidate.collection}, {"error", error.what()}});
        }
        run->images[next_merge].reset();
      } else if (state == ReadState::kFailed) {
        failed.push_back(
            {{"id", candidate.id}, {"collection", candidate.collection}, {"error", run->errors[next_merge]}});
      }
      ++next_merge;
      if (first && selector.filled()) {
        filled = true;
        break;
      }
    }
    if (filled || next_merge == count) {
      break;
    }
    // Start reads, in order, while threads are free and the caps allow.
    while (next_dispatch < count && running < pool.thread_count()) {
      if (reads_started >= options_.max_items_read) {
        stopped_by = "max_items_read";
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        stopped_by = "time_budget";
        break;
      }
      if (skip_covered && next_dispatch > 0) {
        const auto& pixels = footprint(next_dispatch);
        if (!pixels.empty()) {
          const auto& have = selector.mask();
          bool covered = true;
          bool covered_soon = true;
          for (std::size_t p = 0; p < pixels.size() && covered_soon; ++p) {
            if (pixels[p] == 0 || have[p] != 0) {
              continue;
            }
            covered = false;
            bool in_flight = false;
            for (std::size_t r = next_merge; r < next_dispatch && !in_flight; ++r) {
              in_flight = run->states[r] == ReadState::kRunning && !footprint(r).empty() && footprint(r)[p] != 0;
            }
            covered_soon = in_flight;
          }
          if (covered) {
            run->states[next_dispatch++] = ReadState::kSkipped;
            continue;
          }
          if (covered_soon && running > 0) {
            break;  // wait: the reads in flight should fill what this item would
          }
        }
      }
      const std::size_t n = next_dispatch++;
      run->states[n] = ReadState::kRunning;
      ++running;
      ++reads_started;
      pool.submit([run, shared_candidates, shared_plan, n, tms, tile, tile_size, read] {
        std::optional<ImageData> image;
        std::string error;
        CacheCounts counts;
        try {
          image = read_item((*shared_candidates)[n], *shared_plan, tms, tile, tile_size, read, counts);
        } catch (const std::exception& failure) {
          error = failure.what();
        }
        const std::lock_guard done(run->mutex);
        run->cache.hits += counts.hits;
        run->cache.misses += counts.misses;
        run->states[n] = !error.empty() ? ReadState::kFailed : image ? ReadState::kRead : ReadState::kEmpty;
        run->images[n] = std::move(image);
        run->errors[n] = std::move(error);
        run->changed.notify_all();
      });
    }
    const bool progress_possible = running > 0;
    if (!progress_possible) {
      if (next_merge == next_dispatch) {
        break;  // a cap stopped dispatching and everything started is merged
      }
      continue;
    }
    if (run->changed.wait_until(lock, deadline) == std::cv_status::timeout &&
        run->states[next_merge] == ReadState::kRunning) {
      stopped_by = "time_budget";
      break;
    }
    running = static_cast<std::size_t>(std::count(run->states.begin() + static_cast<std::ptrdiff_t>(next_merge),
                                                  run->states.begin() + static_cast<std::ptrdiff_t>(next_dispatch),
                                                  ReadState::kRunning));
  }
  // Read under the lock: reads stopped by a cap may still be finishing.
  const CacheCounts cache = run->cache;
  const auto skipped_covered = std::count(run->states.begin(), run->states.end(), ReadState::kSkipped);
  lock.unlock();
  if (to_tms) {
    FootprintTransformers::instance().release(transformer_key, std::move(to_tms));
  }
  if (!stopped_by && scan.capped && !filled) {
    stopped_by = "max_items_scanned";
  }

  std::optional<ImageData> result = selector.result();
  if (!result) {
    if (!failed.empty() && failed.size() == reads_started) {
      throw Error(ErrorCode::kIo,
                  fmt::format("mosaic tile {}/{}/{}: every item failed to read (first: {}: {})", tile.z, tile.x, tile.y,
                              failed[0]["id"].get<std::string>(), failed[0]["error"].get<std::string>()));
    }
    throw Error(ErrorCode::kNotFound,
                fmt::format("mosaic tile {}/{}/{}: no item has data there ({} item(s) scanned{})", tile.z, tile.x,
                            tile.y, count, stopped_by ? fmt::format(", stopped by {}", *stopped_by) : ""));
  }
  ImageData image = std::move(*result);
  image.bounds = tms.xy_bounds(tile);
  image.crs_wkt = tms.crs().to_wkt();
  if (options_.method == PixelSelection::kCount) {
    band_names = {"count"};
  } else if (options_.method == PixelSelection::kLastBandHigh || options_.method == PixelSelection::kLastBandLow) {
    band_names.pop_back();
  }
  image.band_names = std::move(band_names);
  image.assets = used;
  for (const auto& failure : failed) {
    image.warnings.push_back(
        fmt::format("item '{}' skipped: {}", failure["id"].get<std::string>(), failure["error"].get<std::string>()));
  }
  image.metadata = {{"method", pixel_selection_name(options_.method)},
                    {"items_scanned", count},
                    {"items_read", reads_started},
                    {"items_used", used.size()},
                    {"items_skipped_covered", skipped_covered},
                    {"filled", selector.filled()},
                    {"stopped_by", stopped_by ? json(*stopped_by) : json()},
                    {"failed", failed},
                    {"cache", {{"hits", cache.hits}, {"misses", cache.misses}}}};
  return image;
}

json Mosaic::assets_for_tile(const TileMatrixSet& tms, const Tile& tile) const {
  tms.check_tile(tile);
  return describe_items(scan_items(*catalog_, search_, tile_geometry(tms, tile), plan_items(options_, {}).assets,
                                   options_.max_items_scanned));
}

json Mosaic::assets_for_point(double lon, double lat) const {
  if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("point ({}, {}) is not a longitude/latitude", lon, lat));
  }
  const json point = {{"type", "Point"}, {"coordinates", {lon, lat}}};
  return describe_items(
      scan_items(*catalog_, search_, point, plan_items(options_, {}).assets, options_.max_items_scanned));
}

}  // namespace tessera
