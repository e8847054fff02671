// Mosaic tiles: the catalog search for a tile's items, reads on the
// environment's work pool, merged in search order with early exit, and the data cache.

#include "tessera/mosaic.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "catalog/deadline.hpp"
#include "core/work_pool.hpp"
#include "mosaic/mosaic_items.hpp"
#include "mosaic/pixel_selection.hpp"
#include "storage/environment_state.hpp"
#include "tessera/error.hpp"
#include "tiling/href_policy.hpp"
#include "tiling/raster_read.hpp"

namespace tessera {

using nlohmann::json;

namespace {

using mosaic::CacheCounts;
using mosaic::Candidate;
using mosaic::ItemPlan;
using mosaic::plan_items;
using mosaic::scan_items;
using mosaic::ScanResult;

// --- Footprints on the tile grid (skipping covered items) -----------------------

// Transformers from WGS84 to a TMS CRS, kept for reuse (building one costs
// PROJ database look-ups) and lent to one thread at a time; one set per
// environment state (storage/environment_state.hpp).
class FootprintTransformers {
 public:
  explicit FootprintTransformers(const ReaderConfig& /*config*/) {}
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

// Runs a catalog scan under the mosaic's time budget: the catalog interrupts
// a search past `deadline`, reported as the budget running out.
template <typename Scan>
ScanResult scan_within(std::chrono::steady_clock::time_point deadline, Scan&& scan) {
  const catalog::ScopedDeadline scoped(deadline);
  try {
    return scan();
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kUnavailable && std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorCode::kUnavailable,
                  fmt::format("mosaic: the catalog scan ran past the time budget (MosaicOptions::time_budget): {}",
                              error.what()));
    }
    throw;
  }
}

}  // namespace

Mosaic::Mosaic(Catalog& catalog, json search, MosaicOptions options)
    : catalog_(&catalog), search_(std::move(search)), options_(std::move(options)) {
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
  // Checked before anything is sized by it: the selector keeps grid_size² pixels per band.
  const int grid_size = tiling::buffered_size(tile_size, read.buffer);
  const auto deadline = std::chrono::steady_clock::now() + options_.time_budget;
  const ItemPlan plan = plan_items(options_, read);
  const ScanResult scan = scan_within(deadline, [&] {
    return scan_items(*catalog_, search_, mosaic::tile_geometry(tms, tile), plan.assets, options_.max_items_scanned);
  });
  const auto& candidates = scan.candidates;
  const std::size_t count = candidates.size();

  const bool first = options_.method == PixelSelection::kFirst;
  const bool skip_covered = first && options_.skip_covered && read.buffer == 0;
  const std::size_t budget = tiling::current_config()->max_request_values;
  mosaic::PixelSelector selector(options_.method, grid_size, grid_size, budget);

  // Names the output's CRS and keys the footprint transformers.
  const std::string tms_wkt = tms.crs().to_wkt();
  std::shared_ptr<FootprintTransformers> transformers;
  std::unique_ptr<Transformer> to_tms;
  std::vector<std::vector<std::uint8_t>> footprints(count);
  std::vector<bool> footprint_known(count, false);
  if (skip_covered && count > 1) {
    transformers = storage::current_state()->part<FootprintTransformers>();
    to_tms = transformers->acquire(tms.crs(), tms_wkt);
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
  // Reads run on the current environment's threads, under its settings.
  Environment& environment = Environment::current();
  core::WorkPool& pool = environment.work_pool();
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
        selector.check_budget(*run->images[next_merge]);  // fails the request, not the item
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
    // Start reads, in order, while the caps allow, at most one pool's worth
    // ahead of the oldest unmerged item: a slow read at the front must not let
    // later reads run on unbounded (each would be one more read "first" may not
    // need, and one more image held until the front is merged).
    while (next_dispatch < count && next_dispatch - next_merge < pool.thread_count()) {
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
      pool.submit([run, shared_candidates, shared_plan, n, tms, tile, tile_size, read, &environment] {
        const Environment::Scope scope(environment);
        std::optional<ImageData> image;
        std::string error;
        CacheCounts counts;
        try {
          image = mosaic::read_item((*shared_candidates)[n], *shared_plan, tms, tile, tile_size, read, counts);
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
    transformers->release(tms_wkt, std::move(to_tms));
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
  image.bounds = xy_bounds;
  image.crs_wkt = tms_wkt;
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
  return mosaic::describe_items(scan_within(std::chrono::steady_clock::now() + options_.time_budget, [&] {
    return scan_items(*catalog_, search_, mosaic::tile_geometry(tms, tile), plan_items(options_, {}).assets,
                      options_.max_items_scanned);
  }));
}

json Mosaic::assets_for_point(double lon, double lat) const {
  if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("point ({}, {}) is not a longitude/latitude", lon, lat));
  }
  const json point = {{"type", "Point"}, {"coordinates", {lon, lat}}};
  return mosaic::describe_items(scan_within(std::chrono::steady_clock::now() + options_.time_budget, [&] {
    return scan_items(*catalog_, search_, point, plan_items(options_, {}).assets, options_.max_items_scanned);
  }));
}

json Mosaic::point(double lon, double lat, const ReadOptions& read) const {
  if (options_.assets.empty()) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: point values need the assets to read (MosaicOptions::assets)");
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.time_budget;
  const json items = assets_for_point(lon, lat);
  ReadOptions asset_read = read;
  asset_read.expression.clear();
  json values = json::array();
  std::optional<std::string> stopped_by;
  for (const json& item : items) {
    if (values.size() == options_.max_items_read) {
      stopped_by = "max_items_read";
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      stopped_by = "time_budget";
      break;
    }
    json item_values = json::array();
    json band_names = json::array();
    for (const std::string& asset : options_.assets) {
      const auto href = item.at("assets").find(asset);
      if (href == item.at("assets").end()) {
        continue;  // the item lacks the asset
      }
      try {
        const PointData point = read_point(href->get<std::string>(), lon, lat, asset_read);
        for (std::size_t band = 0; band < point.values.size(); ++band) {
          item_values.push_back(point.masked ? json(nullptr) : json(point.values[band]));
          band_names.push_back(asset + "_" + point.band_names[band]);
        }
      } catch (const Error& error) {
        // The footprint holds the point but the raster's edge pixels may not.
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
      }
    }
    values.push_back({{"id", item.at("id")},
                      {"collection", item.at("collection")},
                      {"values", std::move(item_values)},
                      {"band_names", std::move(band_names)}});
  }
  json result = {{"coordinates", {lon, lat}}, {"values", std::move(values)}};
  if (stopped_by) {
    result["stopped_by"] = *stopped_by;
  }
  return result;
}

}  // namespace tessera
