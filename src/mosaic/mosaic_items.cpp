// The items a mosaic tile reads: the search restricted to the tile, the
// assets of each item, and reading one item (through the data cache).

#include "mosaic/mosaic_items.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "catalog/item_scan.hpp"
#include "tessera/cql2.hpp"
#include "tessera/error.hpp"
#include "tiling/href_policy.hpp"
#include "tiling/pixel_type.hpp"
#include "tiling/raster_read.hpp"
#include "tiling/tile_data_cache.hpp"

namespace tessera::mosaic {

using nlohmann::json;

namespace {

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

Candidate candidate_from(catalog::ScannedItem&& item, const std::vector<std::string>& assets) {
  Candidate candidate;
  for (const auto& name : assets) {
    const auto found =
        std::find_if(item.assets.begin(), item.assets.end(), [&](const auto& asset) { return asset.first == name; });
    if (found == item.assets.end()) {
      if (candidate.missing_asset.empty()) {
        candidate.missing_asset = name;
      }
      continue;
    }
    candidate.hrefs.emplace_back(name, catalog::resolved_href(item, found->second));
  }
  candidate.id = std::move(item.id);
  candidate.collection = std::move(item.collection);
  candidate.bbox = std::move(item.bbox);
  candidate.geometry = std::move(item.geometry);
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

}  // namespace

ItemPlan plan_items(const MosaicOptions& options, const ReadOptions& read) {
  ItemPlan plan;
  const std::string& expression = read.expression.empty() ? options.expression : read.expression;
  if (!expression.empty()) {
    plan.expression = tiling::Expression::parse(expression, tiling::expression_limits());
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

ScanResult scan_items(Catalog& catalog, const json& search, const json& geometry,
                      const std::vector<std::string>& assets, std::size_t max_items) {
  ScanResult scan;
  json request = spatial_request(search, geometry);
  request["context"] = false;
  while (scan.candidates.size() < max_items) {
    request["limit"] = std::min<std::size_t>(max_items - scan.candidates.size(), 1000);
    catalog::ScannedPage page = catalog::scan_page(catalog, request);
    for (auto& item : page.items) {
      scan.candidates.push_back(candidate_from(std::move(item), assets));
    }
    if (page.next_token.empty()) {
      return scan;
    }
    request["token"] = std::move(page.next_token);
  }
  // The page ended exactly at the cap: one more item decides whether it cut anything.
  request["limit"] = 1;
  scan.capped = !catalog::scan_page(catalog, request).items.empty();
  return scan;
}

json describe_items(const ScanResult& scan) {
  json items = json::array();
  for (const auto& candidate : scan.candidates) {
    json assets = json::object();
    for (const auto& [asset, href] : candidate.hrefs) {
      assets[asset] = href;
    }
    items.push_back({{"id", candidate.id},
                     {"collection", candidate.collection},
                     {"bbox", candidate.bbox.empty() ? json() : json(candidate.bbox)},
                     {"assets", assets}});
  }
  return items;
}

json tile_geometry(const TileMatrixSet& tms, const Tile& tile) {
  return Geometry::from_bbox(tms.bounds(tile)).to_geojson();
}

std::optional<ImageData> cached_asset_tile(const std::string& href, const TileMatrixSet& tms, const Tile& tile,
                                           int tile_size, const ReadOptions& read, CacheCounts& counts) {
  const auto cache = tiling::current_tile_cache();
  const std::string key = cache_key(href, tms, tile, tile_size, read);
  if (auto cached = cache->find(key)) {
    ++counts.hits;
    return cached->band_count() == 0 ? std::nullopt : std::move(cached);
  }
  ++counts.misses;
  std::optional<ImageData> image = tiling::read_tile_if_covered(href, tms, tile, tile_size, read);
  // "No data here" is remembered too, as an image without bands.
  cache->insert(key, image ? *image : ImageData());
  return image;
}

std::optional<ImageData> read_item(const Candidate& candidate, const ItemPlan& plan, const ReadOptions& read,
                                   const AssetRead& read_asset) {
  if (!candidate.missing_asset.empty()) {
    throw Error(ErrorCode::kNotFound, fmt::format("has no asset '{}'", candidate.missing_asset));
  }
  ReadOptions asset_read = read;
  asset_read.expression.clear();
  std::vector<ImageData> parts;
  for (const auto& [asset, href] : candidate.hrefs) {
    std::optional<ImageData> part = read_asset(href, asset_read);
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

}  // namespace tessera::mosaic
