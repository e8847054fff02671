#include "catalog/stac.hpp"

#include <fmt/format.h>
#include <ogr_geometry.h>

#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog {

using nlohmann::json;

namespace {

// Collects the context ("item 'x' (collection 'y')") once, for every message.
class Problems {
 public:
  explicit Problems(std::string context) : context_(std::move(context)) {}
  [[noreturn]] void fail(std::string_view field, std::string_view problem) const {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}: {}", context_, field, problem));
  }
  const json& require(const json& object, const char* field, json::value_t type, std::string_view type_name) const {
    const auto it = object.find(field);
    if (it == object.end()) {
      fail(field, "is missing");
    }
    if (it->type() != type) {
      fail(field, fmt::format("must be {}, got {}", type_name, it->type_name()));
    }
    return *it;
  }
  const std::string& require_string(const json& object, const char* field) const {
    const auto& value = require(object, field, json::value_t::string, "a string");
    if (value.get_ref<const std::string&>().empty()) {
      fail(field, "is empty");
    }
    return value.get_ref<const std::string&>();
  }

 private:
  std::string context_;
};

std::string object_context(std::string_view kind, const json& object) {
  const auto id = object.is_object() ? object.find("id") : json::const_iterator();
  if (object.is_object() && id != object.end() && id->is_string()) {
    return fmt::format("{} '{}'", kind, id->get<std::string>());
  }
  return std::string(kind);
}

std::int64_t require_instant(const Problems& problems, const json& properties, const char* field) {
  const auto& value = problems.require(properties, field, json::value_t::string, "an RFC 3339 string");
  const auto micros = parse_rfc3339_micros(value.get_ref<const std::string&>());
  if (!micros) {
    problems.fail(fmt::format("properties.{}", field),
                  fmt::format("'{}' is not an RFC 3339 date-time", value.get<std::string>()));
  }
  return *micros;
}

// Every polygon/line/point part of `geometry` must lie in `box` (a part at a
// time, so a geometry split at the antimeridian fits a box crossing it).
void check_bbox_contains(const Problems& problems, const Bbox& box, const OGRGeometry& geometry) {
  const auto type = wkbFlatten(geometry.getGeometryType());
  if (type == wkbMultiPolygon || type == wkbMultiLineString || type == wkbMultiPoint || type == wkbGeometryCollection) {
    for (const auto* part : *geometry.toGeometryCollection()) {
      check_bbox_contains(problems, box, *part);
    }
    return;
  }
  if (geometry.IsEmpty()) {
    return;
  }
  OGREnvelope envelope;
  geometry.getEnvelope(&envelope);
  const Bbox part{envelope.MinX, envelope.MinY, envelope.MaxX, envelope.MaxY};
  // Tolerates rounding in producers that write bbox and geometry separately.
  const double tolerance = 1e-7 * std::max({1.0, std::abs(box.minx), std::abs(box.maxx), std::abs(box.maxy)});
  if (!box.contains(part, tolerance)) {
    problems.fail("bbox",
                  fmt::format("[{}, {}, {}, {}] does not contain the geometry (extent [{}, {}, {}, {}])", box.minx,
                              box.miny, box.maxx, box.maxy, part.minx, part.miny, part.maxx, part.maxy));
  }
}

}  // namespace

std::string item_id_of(const json& item) {
  if (item.is_object()) {
    const auto it = item.find("id");
    if (it != item.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return {};
}

std::string item_collection_of(const json& item) {
  if (item.is_object()) {
    const auto it = item.find("collection");
    if (it != item.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return {};
}

std::string json_schema_type(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return "string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "null";
  }
}

void validate_collection(const json& collection) {
  if (!collection.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("collection: expected a JSON object, got {}", collection.type_name()));
  }
  const Problems problems(object_context("collection", collection));
  const auto& type = problems.require_string(collection, "type");
  if (type != "Collection") {
    problems.fail("type", fmt::format("must be 'Collection', got '{}'", type));
  }
  problems.require_string(collection, "stac_version");
  problems.require_string(collection, "id");
  problems.require(collection, "description", json::value_t::string, "a string");
  problems.require_string(collection, "license");
  problems.require(collection, "links", json::value_t::array, "an array");
  const auto& extent = problems.require(collection, "extent", json::value_t::object, "an object");
  const Problems extent_problems(object_context("collection", collection) + ": extent");
  const auto& spatial = extent_problems.require(extent, "spatial", json::value_t::object, "an object");
  const auto& bboxes = extent_problems.require(spatial, "bbox", json::value_t::array, "an array of bboxes");
  if (bboxes.empty()) {
    problems.fail("extent.spatial.bbox", "needs at least one bbox");
  }
  for (std::size_t i = 0; i < bboxes.size(); ++i) {
    try {
      (void)Bbox::from_json(bboxes[i], fmt::format("extent.spatial.bbox[{}]", i));
    } catch (const Error& error) {
      problems.fail("extent", error.what());
    }
  }
  const auto& temporal = extent_problems.require(extent, "temporal", json::value_t::object, "an object");
  const auto& intervals = extent_problems.require(temporal, "interval", json::value_t::array, "an array of intervals");
  if (intervals.empty()) {
    problems.fail("extent.temporal.interval", "needs at least one interval");
  }
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    const auto& interval = intervals[i];
    const std::string field = fmt::format("extent.temporal.interval[{}]", i);
    if (!interval.is_array() || interval.size() != 2) {
      problems.fail(field, "must be [start, end]");
    }
    for (const auto& end : interval) {
      if (!end.is_null() && !(end.is_string() && parse_rfc3339_micros(end.get_ref<const std::string&>()))) {
        problems.fail(field, fmt::format("{} is neither null nor an RFC 3339 date-time", end.dump()));
      }
    }
  }
}

PreparedItem prepare_item(const json& item) {
  if (!item.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item: expected a JSON object, got {}", item.type_name()));
  }
  PreparedItem prepared;
  std::string context = object_context("item", item);
  if (const auto collection = item_collection_of(item); !collection.empty()) {
    context += fmt::format(" (collection '{}')", collection);
  }
  const Problems problems(context);
  const auto& type = problems.require_string(item, "type");
  if (type != "Feature") {
    problems.fail("type", fmt::format("must be 'Feature', got '{}'", type));
  }
  problems.require_string(item, "stac_version");
  prepared.id = problems.require_string(item, "id");
  prepared.collection = problems.require_string(item, "collection");
  problems.require(item, "links", json::value_t::array, "an array");
  problems.require(item, "assets", json::value_t::object, "an object");
  const auto& properties = problems.require(item, "properties", json::value_t::object, "an object");

  // Temporal: datetime, or start_datetime and end_datetime when it is null.
  const auto datetime = properties.find("datetime");
  if (datetime == properties.end()) {
    problems.fail("properties.datetime", "is missing (use null with start_datetime/end_datetime for a range)");
  }
  const bool has_start = properties.contains("start_datetime");
  const bool has_end = properties.contains("end_datetime");
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> end;
  if (has_start) {
    start = require_instant(problems, properties, "start_datetime");
  }
  if (has_end) {
    end = require_instant(problems, properties, "end_datetime");
  }
  if (datetime->is_null()) {
    if (!start || !end) {
      problems.fail("properties", "datetime is null, so start_datetime and end_datetime are required");
    }
    prepared.datetime = *start;
    prepared.end_datetime = *end;
  } else {
    const std::int64_t instant = require_instant(problems, properties, "datetime");
    prepared.datetime = start.value_or(instant);
    prepared.end_datetime = end.value_or(instant);
  }
  if (prepared.datetime > prepared.end_datetime) {
    problems.fail("properties.end_datetime", "is before start_datetime");
  }

  // Spatial: a valid GeoJSON geometry (or null), and a bbox that contains it.
  const auto geometry_it = item.find("geometry");
  if (geometry_it == item.end()) {
    problems.fail("geometry", "is missing (use null for an item without a location)");
  }
  if (!geometry_it->is_null()) {
    Geometry geometry;
    try {
      geometry = Geometry::from_geojson(*geometry_it, "geometry");
    } catch (const Error& error) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", context, error.what()));
    }
    if (geometry.is_empty()) {
      problems.fail("geometry", "is empty");
    }
    const auto bbox_it = item.find("bbox");
    if (bbox_it == item.end()) {
      problems.fail("bbox", "is missing (required when geometry is not null)");
    }
    Bbox box;
    try {
      box = Bbox::from_json(*bbox_it, "bbox");
    } catch (const Error& error) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", context, error.what()));
    }
    check_bbox_contains(problems, box, *geometry.ogr());
    prepared.bbox = box;
    prepared.geometry_wkb.resize(geometry.ogr()->WkbSize());
    geometry.ogr()->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(prepared.geometry_wkb.data()), wkbVariantIso);
  }
  prepared.content = item.dump();
  prepared.item = &item;
  return prepared;
}

}  // namespace tessera::catalog
