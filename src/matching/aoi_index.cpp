#include "matching/aoi_index.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::matching {

using nlohmann::json;

namespace {

// Pending AOIs are scanned one by one until this many (plus an eighth of the
// indexed ones) call for a rebuild of the tree.
constexpr std::size_t kPendingBeforeRebuild = 64;
constexpr std::size_t kTreeNodeCapacity = 10;

Envelope envelope_of(GEOSContextHandle_t context, const GEOSGeometry* geometry) {
  Envelope envelope;
  GEOSGeom_getExtent_r(context, geometry, &envelope.minx, &envelope.miny, &envelope.maxx, &envelope.maxy);
  return envelope;
}

std::optional<std::int64_t> instant(const json& properties, const char* key, std::string_view id) {
  const auto it = properties.find(key);
  if (it == properties.end() || it->is_null()) {
    return std::nullopt;
  }
  std::optional<std::int64_t> micros;
  if (it->is_string()) {
    micros = parse_rfc3339_micros(it->get_ref<const std::string&>());
  }
  if (!micros) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("item '{}': properties.{}: must be an RFC 3339 date-time", id, key));
  }
  return micros;
}

// AOIs with more vertices than this are prepared (indexed segments, O(log n)
// tests); smaller ones are tested against the prepared item geometry, which
// is built once per match however many AOIs it meets.
constexpr int kPrepareAboveVertices = 64;

// A Polygon without holes whose ring is its own bounding box.
bool is_axis_aligned_rectangle(const Geometry& geometry) {
  const OGRGeometry* ogr = geometry.ogr();
  if (ogr == nullptr || wkbFlatten(ogr->getGeometryType()) != wkbPolygon) {
    return false;
  }
  const OGRPolygon* polygon = ogr->toPolygon();
  const OGRLinearRing* ring = polygon->getExteriorRing();
  if (polygon->getNumInteriorRings() != 0 || ring == nullptr || ring->getNumPoints() != 5) {
    return false;
  }
  OGREnvelope box;
  ring->getEnvelope(&box);
  // Every vertex a corner of the box, consecutive ones differing in exactly
  // one coordinate (no degenerate or bow-tie ring).
  for (int n = 0; n < 5; ++n) {
    const double x = ring->getX(n);
    const double y = ring->getY(n);
    if ((x != box.MinX && x != box.MaxX) || (y != box.MinY && y != box.MaxY)) {
      return false;
    }
  }
  for (int n = 0; n < 4; ++n) {
    const bool same_x = ring->getX(n) == ring->getX(n + 1);
    const bool same_y = ring->getY(n) == ring->getY(n + 1);
    if (same_x == same_y) {
      return false;
    }
  }
  return box.MinX < box.MaxX && box.MinY < box.MaxY;
}

// Whether a vertex of a (multi)polygon's outer rings lies in `box`.
bool any_vertex_inside(GEOSContextHandle_t context, const GEOSGeometry* geometry, const Envelope& box) {
  const int parts = GEOSGetNumGeometries_r(context, geometry);
  for (int part = 0; part < parts; ++part) {
    const GEOSGeometry* ring = GEOSGetExteriorRing_r(context, GEOSGetGeometryN_r(context, geometry, part));
    const GEOSCoordSequence* coordinates = ring != nullptr ? GEOSGeom_getCoordSeq_r(context, ring) : nullptr;
    unsigned int size = 0;
    if (coordinates == nullptr || GEOSCoordSeq_getSize_r(context, coordinates, &size) == 0) {
      continue;
    }
    for (unsigned int n = 0; n < size; ++n) {
      double x = 0;
      double y = 0;
      GEOSCoordSeq_getXY_r(context, coordinates, n, &x, &y);
      if (box.minx <= x && x <= box.maxx && box.miny <= y && y <= box.maxy) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

struct AoiIndex::Entry {
  AoiRule rule;
  GeosGeometry geometry;
  GeosPrepared prepared;                 // null for small AOIs
  std::vector<Envelope> part_envelopes;  // one per polygon: an AOI split at the antimeridian has two
  bool removed = false;
};

ItemFacts read_item(const json& item) {
  if (!item.is_object()) {
    throw Error(ErrorCode::kInvalidInput, "item: must be a JSON object (a STAC Item)");
  }
  ItemFacts facts;
  facts.item = &item;
  const std::string id = item.contains("id") && item["id"].is_string() ? item["id"].get<std::string>() : "";
  const auto geometry = item.find("geometry");
  if (geometry == item.end() || geometry->is_null()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item '{}': geometry: required for matching", id));
  }
  facts.geometry = Geometry::from_geojson(*geometry, fmt::format("item '{}': geometry", id));
  if (item.contains("collection") && item["collection"].is_string()) {
    facts.collection = item["collection"].get<std::string>();
  }
  static const json kEmpty = json::object();
  const json& properties = item.contains("properties") && item["properties"].is_object() ? item["properties"] : kEmpty;
  const auto datetime = instant(properties, "datetime", id);
  const auto start = instant(properties, "start_datetime", id);
  const auto end = instant(properties, "end_datetime", id);
  facts.start = start ? start : datetime;
  facts.end = end ? end : datetime;
  if (const auto cloud = properties.find("eo:cloud_cover"); cloud != properties.end() && cloud->is_number()) {
    facts.cloud_cover = cloud->get<double>();
  }
  facts.spectrum = read_spectrum(item);
  return facts;
}

AoiIndex::AoiIndex() : tree_(nullptr, GeosTreeDeleter{context_.get()}) {}

AoiIndex::~AoiIndex() {
  // The tree and every geometry go before the context (declared first).
  tree_.reset();
  entries_.clear();
}

void AoiIndex::add(const Aoi& aoi) {
  remove(aoi.rule.id);
  GEOSContextHandle_t context = context_.get();
  auto entry = std::make_unique<Entry>(
      Entry{aoi.rule,
            GeosGeometry(aoi.geometry.ogr()->exportToGEOS(context), GeosGeometryDeleter{context}),
            GeosPrepared(nullptr, GeosPreparedDeleter{context}),
            {},
            false});
  if (!entry->geometry) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("aoi '{}': geometry: not usable by GEOS ({})", aoi.rule.id, context_.last_error()));
  }
  if (GEOSGetNumCoordinates_r(context, entry->geometry.get()) > kPrepareAboveVertices) {
    entry->prepared.reset(GEOSPrepare_r(context, entry->geometry.get()));
  }
  const int parts = GEOSGetNumGeometries_r(context, entry->geometry.get());
  for (int n = 0; n < parts; ++n) {
    entry->part_envelopes.push_back(envelope_of(context, GEOSGetGeometryN_r(context, entry->geometry.get(), n)));
  }
  by_id_[aoi.rule.id] = entries_.size();
  entries_.push_back(std::move(entry));
}

bool AoiIndex::remove(const std::string& id) {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return false;
  }
  entries_[it->second]->removed = true;
  ++removed_;
  by_id_.erase(it);
  return true;
}

void AoiIndex::clear() {
  tree_.reset();
  entries_.clear();
  by_id_.clear();
  indexed_ = 0;
  removed_ = 0;
}

void AoiIndex::rebuild() {
  GEOSContextHandle_t context = context_.get();
  tree_.reset();
  std::erase_if(entries_, [](const auto& entry) { return entry->removed; });
  removed_ = 0;
  by_id_.clear();
  GeosTree tree(GEOSSTRtree_create_r(context, kTreeNodeCapacity), GeosTreeDeleter{context});
  for (std::size_t position = 0; position < entries_.size(); ++position) {
    const Entry& entry = *entries_[position];
    by_id_[entry.rule.id] = position;
    // Each part is indexed by its own box (the payload is the entry's position).
    const int parts = GEOSGetNumGeometries_r(context, entry.geometry.get());
    for (int n = 0; n < parts; ++n) {
      GEOSSTRtree_insert_r(context, tree.get(), GEOSGetGeometryN_r(context, entry.geometry.get(), n),
                           reinterpret_cast<void*>(position));
    }
  }
  // GEOS builds the tree on its first query; do it now, not inside a match.
  GeosGeometry probe(GEOSGeom_createEmptyPolygon_r(context), GeosGeometryDeleter{context});
  GEOSSTRtree_query_r(
      context, tree.get(), probe.get(), [](void*, void*) {}, nullptr);
  tree_ = std::move(tree);
  indexed_ = entries_.size();
}

bool AoiIndex::meets(const Entry& entry, const ItemFacts& item, ItemGeometry& geometry) const {
  const AoiRule& rule = entry.rule;
  if (!rule.collections.empty() &&
      !std::binary_search(rule.collections.begin(), rule.collections.end(), item.collection)) {
    return false;
  }
  if (rule.start && (!item.end || *item.end < *rule.start)) {
    return false;
  }
  if (rule.end && (!item.start || *item.start > *rule.end)) {
    return false;
  }
  if (rule.max_cloud_cover && (!item.cloud_cover || *item.cloud_cover > *rule.max_cloud_cover)) {
    return false;
  }
  if (!item.spectrum.satisfies(rule.wavelengths, rule.resolution)) {
    return false;
  }
  if (!geometry_meets(entry, geometry)) {
    return false;
  }
  return !rule.filter || cql2::evaluate(*rule.filter, *item.item);
}

bool AoiIndex::geometry_meets(const Entry& entry, ItemGeometry& geometry) const {
  const auto& parts = entry.part_envelopes;
  if (std::none_of(parts.begin(), parts.end(),
                   [&](const Envelope& part) { return part.intersects(geometry.envelope); })) {
    return false;
  }
  // An item that is an axis-aligned rectangle contains any AOI part whose box
  // it contains, and meets any AOI with a vertex inside it: no GEOS predicate
  // needed (the common case of many small AOIs, and most partial overlaps).
  if (geometry.is_rectangle &&
      std::any_of(parts.begin(), parts.end(), [&](const Envelope& part) { return geometry.envelope.contains(part); })) {
    return true;
  }
  GEOSContextHandle_t context = context_.get();
  if (geometry.is_rectangle && any_vertex_inside(context, entry.geometry.get(), geometry.envelope)) {
    return true;  // a vertex of the AOI lies in the rectangular item
  }
  char intersects = 0;
  if (entry.prepared) {
    intersects = GEOSPreparedIntersects_r(context, entry.prepared.get(), geometry.geometry.get());
  } else {
    if (!geometry.prepared) {
      geometry.prepared.reset(GEOSPrepare_r(context, geometry.geometry.get()));
    }
    intersects = GEOSPreparedIntersects_r(context, geometry.prepared.get(), entry.geometry.get());
  }
  if (intersects == 2) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("item '{}': geometry: intersection test with aoi '{}' failed ({})", geometry.id,
                            entry.rule.id, context_.last_error()));
  }
  return intersects == 1;
}

std::vector<Match> AoiIndex::match(const ItemFacts& item) {
  if (entries_.size() - indexed_ > kPendingBeforeRebuild + indexed_ / 8 || removed_ > entries_.size() / 4 + 64) {
    rebuild();
  }
  GEOSContextHandle_t context = context_.get();
  ItemGeometry geometry{GeosGeometry(item.geometry.ogr()->exportToGEOS(context), GeosGeometryDeleter{context}),
                        GeosPrepared(nullptr, GeosPreparedDeleter{context}),
                        {},
                        is_axis_aligned_rectangle(item.geometry),
                        item.item->value("id", std::string())};
  if (!geometry.geometry) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("item '{}': geometry: not usable by GEOS ({})", geometry.id, context_.last_error()));
  }
  geometry.envelope = envelope_of(context, geometry.geometry.get());
  std::vector<std::size_t> candidates;
  if (tree_) {
    GEOSSTRtree_query_r(
        context, tree_.get(), geometry.geometry.get(),
        [](void* payload, void* found) {
          static_cast<std::vector<std::size_t>*>(found)->push_back(reinterpret_cast<std::size_t>(payload));
        },
        &candidates);
  }
  for (std::size_t position = indexed_; position < entries_.size(); ++position) {
    const auto& parts = entries_[position]->part_envelopes;
    if (std::any_of(parts.begin(), parts.end(),
                    [&](const Envelope& part) { return part.intersects(geometry.envelope); })) {
      candidates.push_back(position);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<Match> matches;
  for (const std::size_t position : candidates) {
    const Entry& entry = *entries_[position];
    if (!entry.removed && meets(entry, item, geometry)) {
      matches.push_back({entry.rule.model, entry.rule.id});
    }
  }
  std::sort(matches.begin(), matches.end(),
            [](const Match& a, const Match& b) { return std::tie(a.model, a.aoi) < std::tie(b.model, b.aoi); });
  return matches;
}

}  // namespace tessera::matching
