#pragma once

// TiTiler's and titiler-pgstac's part routes below a mosaic's prefix (a
// registered search, a collection, one item): bbox/{minx},{miny},{maxx},{maxy}
// [/{width}x{height}].{format}, POST feature[/{width}x{height}][.{format}],
// preview[/{width}x{height}][.{format}], POST statistics (a Feature or
// FeatureCollection answered with properties.statistics), and for one item
// GET statistics (over its preview) and asset_statistics (per asset); and
// POST /cog/statistics. Internal header.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/geometry.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/service.hpp"

namespace tessera::service {

// What a part path asks for.
struct PartPath {
  enum class Kind { kBbox, kFeature, kPreview, kStatistics, kItemStatistics };
  Kind kind = Kind::kBbox;
  Bbox bbox;      // kBbox
  int width = 0;  // from {width}x{height} in the path; 0 when absent
  int height = 0;
  std::string format;  // image kinds: the path's extension, "png" when absent

  // POST (feature, statistics) or GET.
  [[nodiscard]] bool posted() const noexcept { return kind == Kind::kFeature || kind == Kind::kStatistics; }
};

// The part path `rest` (after the mosaic's prefix) is, for `method`: GET
// statistics is an item's own (`item`), POST statistics any mosaic's;
// nullopt when it is none (no route). BadParameter for a bbox or size that
// does not parse.
std::optional<PartPath> part_path_of(std::span<const std::string_view> rest, std::string_view method, bool item);

// What a part route reads over: the mosaic, and the bounds of its preview
// (the search's metadata bounds, the collection's extent, the item's bbox;
// nullopt: the union of the matching items' bboxes).
struct PartSource {
  const Mosaic& mosaic;
  std::optional<Bbox> preview_bounds;
  bool item = false;  // one item: feature statistics without "used_assets" (titiler's item routes)
};

// The answer to `path` over `source`; `effective` is the request with its
// render's presets, `request` what the client sent (ETags).
HttpResponse part_answer(const HttpRequest& request, const HttpRequest& effective, const PartPath& path,
                         const PartSource& source, int max_age_seconds);

// GET asset_statistics of one item: {asset: {band: statistics}} for the
// `assets` parameter's assets (every asset when absent), `hrefs` (asset, href).
HttpResponse asset_statistics_answer(const HttpRequest& request,
                                     const std::vector<std::pair<std::string, std::string>>& hrefs,
                                     std::string_view item_id, int max_age_seconds);

// POST /cog/statistics: the raster `url`'s statistics per Feature of the body.
HttpResponse cog_feature_statistics(const HttpRequest& request);

}  // namespace tessera::service
