#include "tessera/pyramid.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "catalog/item_scan.hpp"
#include "core/enum_names.hpp"
#include "mosaic/pyramid_resample.hpp"
#include "mosaic/pyramid_store.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr core::EnumName<PyramidResampling> kPyramidResamplingNames[] = {
    {PyramidResampling::kAverage, "average"},
    {PyramidResampling::kNearest, "nearest"},
};
constexpr core::NameTable<PyramidResampling> kPyramidResampling{"pyramid resampling", kPyramidResamplingNames};
static_assert(kPyramidResampling.covers(PyramidResampling::kAverage, PyramidResampling::kNearest));

constexpr int kMinPyramidTileSize = 16;
constexpr int kMaxPyramidTileSize = 1024;
// Store connections per pyramid: tile reads at once, an update's transaction among them.
constexpr std::size_t kStoreConnections = 4;
// Item changes read per call while an update catches up.
constexpr std::size_t kChangesPerRead = 1000;
// Items per page while a build finds the base tiles.
constexpr int kItemsPerScanPage = 1000;

// A tile as an ordered key (z, x, y).
using Cell = std::tuple<int, std::int64_t, std::int64_t>;
using Cells = std::set<Cell>;

Tile tile_of(const Cell& cell) { return {std::get<0>(cell), std::get<1>(cell), std::get<2>(cell)}; }

[[noreturn]] void bad_option(std::string_view key, std::string_view why) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("pyramid options: {}: {}", key, why));
}

// Search ids name files: only what pgstac's hashes and readable names use.
void check_search_id(std::string_view search_id) {
  constexpr std::size_t kMaxSearchIdLength = 128;
  const bool named =
      !search_id.empty() && search_id.size() <= kMaxSearchIdLength &&
      std::all_of(search_id.begin(), search_id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
  if (!named) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("search id '{}' cannot name a pyramid (1-{} of A-Z a-z 0-9 - _)",
                                                      search_id, kMaxSearchIdLength));
  }
}

std::filesystem::path pyramid_path(const std::filesystem::path& directory, std::string_view search_id) {
  check_search_id(search_id);
  return directory / fmt::format("{}.pyramid", search_id);
}

// The tile matrix set of valid options; everything a build would trip on is
// refused here, before any read.
TileMatrixSet checked_tms(const PyramidOptions& options) {
  TileMatrixSet tms = TileMatrixSet::from_name(options.tms);
  if (options.max_zoom < tms.min_zoom() || options.max_zoom > tms.max_zoom()) {
    bad_option("maxzoom", fmt::format("{} is outside {}'s zooms {}..{}", options.max_zoom, options.tms, tms.min_zoom(),
                                      tms.max_zoom()));
  }
  const TileMatrix& base = tms.matrix(options.max_zoom);
  if (base.matrix_width > kMaxPyramidBaseTiles / std::max<std::int64_t>(base.matrix_height, 1)) {
    bad_option("maxzoom",
               fmt::format("zoom {} of {} has {} x {} tiles, more than the {} a pyramid may hold", options.max_zoom,
                           options.tms, base.matrix_width, base.matrix_height, kMaxPyramidBaseTiles));
  }
  for (int z = tms.min_zoom(); z < options.max_zoom; ++z) {
    const TileMatrix& parent = tms.matrix(z);
    const TileMatrix& child = tms.matrix(z + 1);
    if (child.matrix_width != 2 * parent.matrix_width || child.matrix_height != 2 * parent.matrix_height) {
      bad_option("tms",
                 fmt::format("{} is not a quadtree at zoom {} (each tile must have four children)", options.tms, z));
    }
  }
  if (options.tile_size < kMinPyramidTileSize || options.tile_size > kMaxPyramidTileSize ||
      options.tile_size % 2 != 0) {
    bad_option("tilesize", fmt::format("{} is not an even size in {}..{}", options.tile_size, kMinPyramidTileSize,
                                       kMaxPyramidTileSize));
  }
  return tms;
}

// The base tiles under a WGS84 bbox.
void add_cells(const TileMatrixSet& tms, int z, const Bbox& bbox, Cells& cells) {
  for (const TileRange& range : tms.tile_ranges(bbox, z)) {
    for (auto y = range.min_y; y <= range.max_y; ++y) {
      for (auto x = range.min_x; x <= range.max_x; ++x) {
        cells.emplace(z, x, y);
      }
    }
  }
}

// Whether a change to an item of `collection` may concern `search` (only a
// search's `collections` list rules items out without reading them).
bool may_concern(const json& search, const std::string& collection) {
  const auto collections = search.find("collections");
  if (collections == search.end() || !collections->is_array() || collections->empty()) {
    return true;
  }
  return std::any_of(collections->begin(), collections->end(), [&](const json& name) {
    return name.is_string() && name.get_ref<const std::string&>() == collection;
  });
}

template <typename T>
T option_value(const json& options, std::string_view key, std::string_view expected) {
  try {
    return options.at(std::string(key)).get<T>();
  } catch (const json::exception&) {
    bad_option(key, fmt::format("expected {}", expected));
  }
}

}  // namespace

PyramidResampling pyramid_resampling_from_name(std::string_view name) { return kPyramidResampling.from_name(name); }

std::string_view pyramid_resampling_name(PyramidResampling resampling) noexcept {
  return kPyramidResampling.name(resampling);
}

std::vector<std::string> pyramid_resampling_names() { return kPyramidResampling.names(); }

namespace {

// The assets in TiTiler 2's text form ("B04|bidx=1"), as stored and shown.
json asset_texts(const std::vector<AssetSelection>& assets) {
  json texts = json::array();
  for (const AssetSelection& asset : assets) {
    texts.push_back(asset_selection_text(asset));
  }
  return texts;
}

}  // namespace

json PyramidOptions::to_json() const {
  return {{"tms", tms},
          {"maxzoom", max_zoom},
          {"tilesize", tile_size},
          {"resampling", pyramid_resampling_name(resampling)},
          {"assets", asset_texts(mosaic.assets)},
          {"asset_as_band", mosaic.asset_as_band},
          {"expression", mosaic.expression},
          {"method", pixel_selection_name(mosaic.method)},
          {"max_items_scanned", mosaic.max_items_scanned},
          {"max_items_read", mosaic.max_items_read},
          {"time_budget_ms", mosaic.time_budget.count()},
          {"skip_covered", mosaic.skip_covered}};
}

PyramidOptions PyramidOptions::from_json(const json& options) {
  if (!options.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "pyramid options: expected a JSON object");
  }
  static const std::set<std::string, std::less<>> kKeys = {
      "tms",        "maxzoom", "tilesize",          "resampling",     "assets",         "asset_as_band",
      "expression", "method",  "max_items_scanned", "max_items_read", "time_budget_ms", "skip_covered"};
  for (const auto& [key, value] : options.items()) {
    if (!kKeys.contains(key)) {
      bad_option(key, fmt::format("unknown option (one of: {})", fmt::join(kKeys, ", ")));
    }
  }
  PyramidOptions parsed;
  const auto has = [&](std::string_view key) { return options.contains(std::string(key)); };
  const auto count = [&](std::string_view key, std::size_t fallback) {
    if (!has(key)) {
      return fallback;
    }
    const auto value = option_value<std::int64_t>(options, key, "a positive integer");
    if (value < 1) {
      bad_option(key, "expected a positive integer");
    }
    return static_cast<std::size_t>(value);
  };
  if (has("tms")) {
    parsed.tms = option_value<std::string>(options, "tms", "a tile matrix set name");
  }
  if (has("maxzoom")) {
    parsed.max_zoom = option_value<int>(options, "maxzoom", "an integer zoom");
  }
  if (has("tilesize")) {
    parsed.tile_size = option_value<int>(options, "tilesize", "an integer size");
  }
  if (has("resampling")) {
    parsed.resampling = pyramid_resampling_from_name(option_value<std::string>(options, "resampling", "a name"));
  }
  if (has("assets")) {
    const json& assets = options["assets"];
    if (!assets.is_array()) {
      bad_option("assets", "expected an array of assets (\"B04\", \"B04|bidx=1\" or {\"name\", \"indexes\"})");
    }
    for (const json& asset : assets) {
      parsed.mosaic.assets.push_back(asset_selection_from_json(asset));
    }
  }
  if (has("asset_as_band")) {
    parsed.mosaic.asset_as_band = option_value<bool>(options, "asset_as_band", "true or false");
  }
  if (has("expression")) {
    parsed.mosaic.expression = option_value<std::string>(options, "expression", "a string");
  }
  if (has("method")) {
    parsed.mosaic.method = pixel_selection_from_name(option_value<std::string>(options, "method", "a name"));
  }
  parsed.mosaic.max_items_scanned = count("max_items_scanned", parsed.mosaic.max_items_scanned);
  parsed.mosaic.max_items_read = count("max_items_read", parsed.mosaic.max_items_read);
  parsed.mosaic.time_budget =
      std::chrono::milliseconds(count("time_budget_ms", static_cast<std::size_t>(parsed.mosaic.time_budget.count())));
  if (has("skip_covered")) {
    parsed.mosaic.skip_covered = option_value<bool>(options, "skip_covered", "true or false");
  }
  return parsed;
}

json PyramidUpdate::to_json() const {
  return {{"cursor", cursor},
          {"changes", changes},
          {"cells_rebuilt", cells_rebuilt},
          {"cells_capped", cells_capped},
          {"tiles_written", tiles_written},
          {"tiles_removed", tiles_removed}};
}

struct Pyramid::State {
  Catalog* catalog = nullptr;
  std::string search_id;
  std::filesystem::path path;
  json search;
  PyramidOptions options;
  TileMatrixSet tms;
  mosaic::StorePool pool;
  // One update at a time in this process (other processes wait on the
  // store's write lock).
  std::mutex update_mutex;

  State(Catalog& catalog_, std::string id, std::filesystem::path file, json search_, PyramidOptions options_,
        TileMatrixSet tms_)
      : catalog(&catalog_),
        search_id(std::move(id)),
        path(std::move(file)),
        search(std::move(search_)),
        options(std::move(options_)),
        tms(std::move(tms_)),
        pool([this] { return mosaic::open_store(path, false); }, kStoreConnections) {}

  // Reads the base tiles `cells` again from the items, then their ancestors
  // from the stored children, in `store`'s open transaction.
  void rebuild(mosaic::StoreConnection& store, const Cells& cells, PyramidUpdate& report) const {
    const Mosaic mosaic(*catalog, search, options.mosaic);
    const auto keep = [&](const Tile& tile, const std::optional<ImageData>& image) {
      if (image) {
        mosaic::put_stored_tile(store, tile, *image);
        ++report.tiles_written;
      } else if (mosaic::remove_stored_tile(store, tile)) {
        ++report.tiles_removed;
      }
    };
    for (const Cell& cell : cells) {
      const Tile tile = tile_of(cell);
      std::optional<ImageData> image;
      try {
        image = mosaic.tile(tms, tile, options.tile_size);
      } catch (const Error& error) {
        if (error.code() != ErrorCode::kNotFound) {
          throw;
        }
      }
      keep(tile, image);
      ++report.cells_rebuilt;
      if (image && !image->metadata.value("stopped_by", nlohmann::json()).is_null()) {
        ++report.cells_capped;
      }
    }
    Cells level = cells;
    for (int z = options.max_zoom - 1; z >= tms.min_zoom(); --z) {
      Cells parents;
      for (const Cell& cell : level) {
        parents.emplace(z, std::get<1>(cell) / 2, std::get<2>(cell) / 2);
      }
      for (const Cell& cell : parents) {
        const Tile parent = tile_of(cell);
        std::array<std::optional<ImageData>, 4> children;
        std::array<const ImageData*, 4> present{};
        for (int quadrant = 0; quadrant < 4; ++quadrant) {
          const auto at = static_cast<std::size_t>(quadrant);
          children[at] = mosaic::stored_tile(store, {z + 1, parent.x * 2 + quadrant % 2, parent.y * 2 + quadrant / 2},
                                             options.tile_size);
          present[at] = children[at] ? &*children[at] : nullptr;
        }
        keep(parent, mosaic::parent_tile(present, options.tile_size, options.resampling));
      }
      level = std::move(parents);
    }
  }
};

Pyramid::Pyramid(std::shared_ptr<State> state) : state_(std::move(state)) {}

bool Pyramid::exists(const std::filesystem::path& directory, std::string_view search_id) {
  std::error_code error;
  return std::filesystem::exists(pyramid_path(directory, search_id), error);
}

Pyramid Pyramid::build(Catalog& catalog, const std::filesystem::path& directory, std::string_view search_id,
                       const PyramidOptions& options) {
  const auto path = pyramid_path(directory, search_id);
  TileMatrixSet tms = checked_tms(options);
  json search = catalog.registered_search(search_id)["search"];
  // Checks the assets, expression and caps, and that the search runs.
  static_cast<void>(Mosaic(catalog, search, options.mosaic));
  // Taken before the items are read: a change made while they are is
  // applied again by the next update (rebuilding a tile twice is harmless).
  const std::int64_t cursor = catalog.last_item_change();
  Cells cells;
  json request = search;
  request["context"] = false;
  request["limit"] = kItemsPerScanPage;
  for (;;) {
    catalog::ScannedPage page = catalog::scan_page(catalog, request);
    for (const auto& item : page.items) {
      if (item.bbox.empty()) {
        continue;  // no geometry: no mosaic tile reads it
      }
      add_cells(tms, options.max_zoom, Bbox::from_json(json(item.bbox), "bbox"), cells);
    }
    if (page.next_token.empty()) {
      break;
    }
    request["token"] = std::move(page.next_token);
  }

  std::error_code error;
  std::filesystem::create_directories(directory, error);
  auto state = std::make_shared<State>(catalog, std::string(search_id), path, search, options, std::move(tms));
  // A pyramid stored before is replaced in one transaction: its readers see
  // the old tiles until the new ones are all there.
  auto store = mosaic::open_store(path, true);
  PyramidUpdate report;
  {
    catalog::sqlite::WriteTransaction transaction(*store);
    store->exec("DELETE FROM tiles");
    mosaic::put_store_setting(*store, "search_id", search_id);
    mosaic::put_store_setting(*store, "search", search.dump());
    mosaic::put_store_setting(*store, "options", options.to_json().dump());
    mosaic::put_store_setting(*store, "cursor", std::to_string(cursor));
    state->rebuild(*store, cells, report);
    report.cursor = cursor;
    mosaic::put_store_setting(*store, "built", report.to_json().dump());
    transaction.commit();
  }
  return Pyramid(std::move(state));
}

Pyramid Pyramid::open(Catalog& catalog, const std::filesystem::path& directory, std::string_view search_id) {
  const auto path = pyramid_path(directory, search_id);
  auto store = mosaic::open_store(path, false);
  const auto stored_id = mosaic::store_setting(*store, "search_id");
  const auto options = mosaic::store_setting(*store, "options");
  const auto search = mosaic::store_setting(*store, "search");
  if (!stored_id || !options || !search) {
    throw Error(ErrorCode::kNotFound, fmt::format("pyramid '{}' was never built", path.string()));
  }
  if (*stored_id != search_id) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("pyramid '{}' holds search '{}', not '{}'", path.string(), *stored_id, search_id));
  }
  PyramidOptions parsed = PyramidOptions::from_json(json::parse(*options));
  TileMatrixSet tms = checked_tms(parsed);
  return Pyramid(std::make_shared<State>(catalog, std::string(search_id), path, json::parse(*search), std::move(parsed),
                                         std::move(tms)));
}

PyramidUpdate Pyramid::update() {
  State& state = *state_;
  const std::lock_guard lock(state.update_mutex);
  auto store = state.pool.acquire();
  catalog::sqlite::WriteTransaction transaction(*store);
  PyramidUpdate report;
  // Read in the write transaction: another process's update that committed
  // first has moved it.
  report.cursor = std::stoll(mosaic::store_setting(*store, "cursor").value_or("0"));
  Cells cells;
  for (;;) {
    const std::vector<ItemChange> changes = state.catalog->item_changes(report.cursor, kChangesPerRead);
    for (const ItemChange& change : changes) {
      if (may_concern(state.search, change.collection)) {
        for (const auto& bbox : {change.old_bbox, change.new_bbox}) {
          if (bbox) {
            add_cells(state.tms, state.options.max_zoom, *bbox, cells);
          }
        }
      }
      report.cursor = change.id;
      ++report.changes;
    }
    if (changes.size() < kChangesPerRead) {
      break;
    }
  }
  state.rebuild(*store, cells, report);
  mosaic::put_store_setting(*store, "cursor", std::to_string(report.cursor));
  transaction.commit();
  return report;
}

const std::string& Pyramid::search_id() const noexcept { return state_->search_id; }

const PyramidOptions& Pyramid::options() const noexcept { return state_->options; }

const TileMatrixSet& Pyramid::tms() const noexcept { return state_->tms; }

std::int64_t Pyramid::cursor() const {
  auto store = state_->pool.acquire();
  return std::stoll(mosaic::store_setting(*store, "cursor").value_or("0"));
}

json Pyramid::info() const {
  auto store = state_->pool.acquire();
  json levels = json::array();
  auto& select = store->cached("SELECT z, count(*), sum(length(data)) FROM tiles GROUP BY z ORDER BY z");
  while (select.step()) {
    levels.push_back({{"z", select.int64(0)}, {"tiles", select.int64(1)}, {"bytes", select.int64(2)}});
  }
  select.reset();
  return {{"search_id", state_->search_id},
          {"path", state_->path.string()},
          {"options", state_->options.to_json()},
          {"cursor", std::stoll(mosaic::store_setting(*store, "cursor").value_or("0"))},
          {"built", json::parse(mosaic::store_setting(*store, "built").value_or("null"))},
          {"levels", std::move(levels)}};
}

bool Pyramid::serves(const TileMatrixSet& tms, const Tile& tile, int tile_size, const MosaicOptions& mosaic,
                     const ReadOptions& read) const {
  const State& state = *state_;
  const MosaicOptions& stored = state.options.mosaic;
  // The caps of a request bound its work, not its pixels: they are not compared.
  return tms.id() == state.tms.id() && tile_size == state.options.tile_size && tile.z >= state.tms.min_zoom() &&
         tile.z <= state.options.max_zoom && mosaic.assets == stored.assets &&
         mosaic.asset_as_band == stored.asset_as_band && mosaic.expression == stored.expression &&
         mosaic.method == stored.method && read.indexes.empty() && read.expression.empty() &&
         read.resampling == Resampling::kNearest && read.reproject == Resampling::kNearest && !read.nodata &&
         !read.unscale && read.buffer == 0;
}

ImageData Pyramid::tile(const Tile& tile) const {
  const State& state = *state_;
  state.tms.check_tile(tile);
  if (tile.z > state.options.max_zoom) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("tile {}/{}/{} is above the pyramid's max zoom {}", tile.z,
                                                      tile.x, tile.y, state.options.max_zoom));
  }
  std::optional<ImageData> image;
  {
    auto store = state_->pool.acquire();
    image = mosaic::stored_tile(*store, tile, state.options.tile_size);
  }
  if (!image) {
    throw Error(ErrorCode::kNotFound, fmt::format("no item of search '{}' has data in tile {}/{}/{}", state.search_id,
                                                  tile.z, tile.x, tile.y));
  }
  image->bounds = state.tms.xy_bounds(tile);
  image->crs_wkt = state.tms.crs().to_wkt();
  image->metadata = {{"source", "pyramid"}, {"pyramid_maxzoom", state.options.max_zoom}};
  return *image;
}

}  // namespace tessera
