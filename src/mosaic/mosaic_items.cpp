// The items a mosaic tile reads: the search restricted to the tile, the
// assets of each item, and reading one item (through the data cache).

#include "mosaic/mosaic_items.hpp"

#include <algorithm>
#include <cctype>
#include <exception>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

// "<asset>_b<n>" (rio-tiler 7's multi-asset band names): the asset and n.
std::optional<std::pair<std::string, int>> asset_band_of(const std::string& name) {
  const auto separator = name.rfind("_b");
  if (separator == std::string::npos || separator == 0 || separator + 2 >= name.size() ||
      name.size() - separator - 2 > 6 ||
      !std::all_of(name.begin() + static_cast<std::ptrdiff_t>(separator) + 2, name.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int band = std::stoi(name.substr(separator + 2));
  return band >= 1 ? std::optional(std::pair{name.substr(0, separator), band}) : std::nullopt;
}

// "b<n>" (rio-tiler 9's names of a multi-asset read's bands): n.
std::optional<int> stack_position_of(const std::string& name) {
  if (name.size() < 2 || name.size() > 7 || name[0] != 'b' ||
      !std::all_of(name.begin() + 1, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int band = std::stoi(name.substr(1));
  return band >= 1 ? std::optional(band) : std::nullopt;
}

// `text` with each "b<n>" word replaced by the n-th of `names` (rio-tiler 9
// names an expression's output so: "(b2 - b1)" over B04_b1, B08_b1 is
// "(B08_b1 - B04_b1)").
std::string with_stack_names(const std::string& text, const std::vector<std::string>& names) {
  std::string named;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
    if (!word_char(text[start])) {
      named += text[start++];
      continue;
    }
    std::size_t end = start;
    while (end < text.size() && word_char(text[end])) {
      ++end;
    }
    const std::string word = text.substr(start, end - start);
    const auto position = stack_position_of(word);
    named += position && static_cast<std::size_t>(*position) <= names.size() ? names[*position - 1] : word;
    start = end;
  }
  return named;
}

AssetSelection& selection_of(std::vector<AssetSelection>& assets, const std::string& name) {
  const auto found =
      std::find_if(assets.begin(), assets.end(), [&](const AssetSelection& asset) { return asset.name == name; });
  return found != assets.end() ? *found : assets.emplace_back(name);
}

// The stack's band names for an asset's part: "<asset>_b<n>", or the asset.
std::vector<std::string> stack_names(const std::string& asset, const ImageData& part, bool asset_as_band) {
  if (asset_as_band) {
    if (part.band_count() != 1) {
      throw BandSelectionError(
          fmt::format("asset_as_band: asset '{}' gives {} bands, not one (select one with {}|bidx=<n>)", asset,
                      part.band_count(), asset));
    }
    return {asset};
  }
  std::vector<std::string> names;
  for (const auto& band : part.band_names) {
    names.push_back(fmt::format("{}_{}", asset, band));
  }
  return names;
}

Candidate candidate_from(catalog::ScannedItem&& item, const std::vector<AssetSelection>& assets) {
  Candidate candidate;
  for (const auto& selection : assets) {
    const std::string& name = selection.name;
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

// Reads one asset with `read_asset`; an index beyond the asset's bands is a
// BandSelectionError naming both.
std::optional<ImageData> read_selected_bands(const std::string& asset, const std::string& href, const ReadOptions& read,
                                             const AssetRead& read_asset) {
  try {
    return read_asset(href, read);
  } catch (const Error& error) {
    // The read refuses a band it lacks as InvalidInput among others: the
    // raster's band count (its dataset is cached by now) tells which.
    if (error.code() == ErrorCode::kInvalidInput && !read.indexes.empty()) {
      const int band_count = tiling::open_raster(href).info.band_count;
      for (const int index : read.indexes) {
        if (index > band_count) {
          throw BandSelectionError(
              fmt::format("asset '{}' has {} band(s): band {} does not exist", asset, band_count, index));
        }
      }
    }
    throw;
  }
}

}  // namespace

void rethrow_band_selection_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const BandSelectionError&) {
    throw;
  } catch (...) {  // NOLINT(bugprone-empty-catch): any other failure is the caller's to report
  }
}

ItemPlan plan_items(const MosaicOptions& options, const ReadOptions& read) {
  ItemPlan plan;
  plan.asset_as_band = options.asset_as_band;
  const std::string& expression = read.expression.empty() ? options.expression : read.expression;
  if (expression.empty()) {
    plan.assets = options.assets;
  } else {
    plan.expression = tiling::Expression::parse(expression, tiling::expression_limits());
    const auto& variables = plan.expression->variables();
    if (variables.empty()) {
      throw Error(
          ErrorCode::kInvalidInput,
          fmt::format("mosaic expression '{}' names no band (b<n> of the assets read, or <asset>_b<n>)", expression));
    }
    const bool positional = std::all_of(variables.begin(), variables.end(),
                                        [](const std::string& name) { return stack_position_of(name).has_value(); });
    if (positional) {
      // rio-tiler 9: b<n> counts the bands of the assets read, in order.
      if (options.assets.empty()) {
        throw Error(ErrorCode::kInvalidInput,
                    fmt::format("mosaic expression '{}': b<n> counts the bands of the assets read; name the assets "
                                "(or write <asset>_b<n>)",
                                expression));
      }
      plan.assets = options.assets;
      for (const auto& name : variables) {
        plan.variables.push_back({"", *stack_position_of(name) - 1});
      }
    } else {
      // rio-tiler 7: each variable names an asset's band (or, with
      // asset_as_band, the asset); only the bands named are read.
      for (const auto& name : variables) {
        if (const auto asset_band = asset_band_of(name); asset_band && !options.asset_as_band) {
          auto& indexes = selection_of(plan.assets, asset_band->first).indexes;
          if (std::find(indexes.begin(), indexes.end(), asset_band->second) == indexes.end()) {
            indexes.push_back(asset_band->second);
          }
        } else if (options.asset_as_band) {
          // The asset's band: as `assets` selects it when it lists the asset.
          AssetSelection& selection = selection_of(plan.assets, name);
          const auto listed = std::find_if(options.assets.begin(), options.assets.end(),
                                           [&](const AssetSelection& asset) { return asset.name == name; });
          if (listed != options.assets.end()) {
            selection.indexes = listed->indexes;
          }
        } else {
          throw Error(ErrorCode::kInvalidInput,
                      fmt::format("mosaic expression: '{}' is not an asset band (write <asset>_b<n>, e.g. visual_b1, "
                                  "or b<n> for the n-th band of the assets read, not both)",
                                  name));
        }
        plan.variables.push_back({name, -1});
      }
    }
  }
  if (plan.assets.empty()) {
    throw Error(ErrorCode::kInvalidInput, "mosaic: name the assets to read (assets or an expression over them)");
  }
  return plan;
}

ScanResult scan_items(Catalog& catalog, const json& search, const json& geometry,
                      const std::vector<AssetSelection>& assets, std::size_t max_items) {
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
  std::vector<ImageData> parts;
  std::vector<std::string> names;  // the stack's band names
  for (std::size_t n = 0; n < candidate.hrefs.size(); ++n) {
    const auto& [asset, href] = candidate.hrefs[n];
    ReadOptions asset_read = read;
    asset_read.expression.clear();
    if (!plan.assets[n].indexes.empty()) {
      asset_read.indexes = plan.assets[n].indexes;
    }
    std::optional<ImageData> part = read_selected_bands(asset, href, asset_read, read_asset);
    if (!part) {
      return std::nullopt;
    }
    for (auto& name : stack_names(asset, *part, plan.asset_as_band)) {
      names.push_back(std::move(name));
    }
    parts.push_back(std::move(*part));
  }
  if (parts.size() == 1 && !plan.expression) {
    ImageData image = parts.front();  // shares the cached buffers, which nobody writes
    image.band_names = std::move(names);
    return image;
  }
  const DataType type =
      std::all_of(parts.begin(), parts.end(),
                  [&](const ImageData& part) { return part.data_type() == parts.front().data_type(); })
          ? parts.front().data_type()
          : DataType::kFloat64;
  const int band_count = static_cast<int>(names.size());
  // Each part was within the budget alone; their stack is checked before it is made.
  tiling::check_request_values(static_cast<double>(band_count) * static_cast<double>(parts.front().pixel_count()),
                               "the stack of an item's asset bands");
  ImageData stacked(type, band_count, parts.front().height(), parts.front().width());
  std::fill_n(stacked.mask(), stacked.pixel_count(), 255);
  int band = 0;
  for (const ImageData& part : parts) {
    for (int b = 0; b < part.band_count(); ++b, ++band) {
      tiling::with_pixel_type(type, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = stacked.band<T>(band);
        for (std::size_t p = 0; p < part.pixel_count(); ++p) {
          out[p] = static_cast<T>(tiling::value_at(part, b, p));
        }
      });
    }
    for (std::size_t p = 0; p < part.pixel_count(); ++p) {
      if (part.mask()[p] == 0) {
        stacked.mask()[p] = 0;
      }
    }
  }
  stacked.band_names = std::move(names);
  stacked.bounds = parts.front().bounds;
  stacked.crs_wkt = parts.front().crs_wkt;
  if (!plan.expression) {
    return stacked;
  }
  std::vector<std::vector<double>> inputs;
  std::vector<const double*> input_pointers;
  for (const StackBand& variable : plan.variables) {
    int source = variable.position;
    if (variable.name.empty() && source >= band_count) {
      throw BandSelectionError(fmt::format("mosaic expression: b{} is beyond the {} band(s) the assets give ({})",
                                           source + 1, band_count, fmt::join(stacked.band_names, ", ")));
    }
    if (!variable.name.empty()) {
      const auto found = std::find(stacked.band_names.begin(), stacked.band_names.end(), variable.name);
      if (found == stacked.band_names.end()) {
        throw BandSelectionError(fmt::format("mosaic expression: no band '{}' among the bands read ({})", variable.name,
                                             fmt::join(stacked.band_names, ", ")));
      }
      source = static_cast<int>(found - stacked.band_names.begin());
    }
    inputs.emplace_back(stacked.pixel_count());
    for (std::size_t p = 0; p < stacked.pixel_count(); ++p) {
      inputs.back()[p] = tiling::value_at(stacked, source, p);
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
  for (const auto& text : plan.expression->output_texts()) {
    evaluated.band_names.push_back(with_stack_names(text, stacked.band_names));
  }
  evaluated.bounds = stacked.bounds;
  evaluated.crs_wkt = stacked.crs_wkt;
  return evaluated;
}

}  // namespace tessera::mosaic
