// Item validation on the bulk-load path: simdjson reads the text once, the
// shared GeoJSON reader builds the geometry, and the text is stored as given.
#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <ogr_geometry.h>
#include <simdjson.h>

#include "catalog/stac.hpp"
#include "core/geojson_reader.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

const char* type_name(const element& value) {
  switch (value.type()) {
    case element_type::OBJECT:
      return "object";
    case element_type::ARRAY:
      return "array";
    case element_type::STRING:
      return "string";
    case element_type::INT64:
    case element_type::UINT64:
      return "integer";
    case element_type::DOUBLE:
      return "number";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "null";
}

// simdjson's DOM as seen by the shared GeoJSON reader.
struct SimdjsonAccess {
  using Node = element;
  static bool is_object(const Node& n) { return n.is_object(); }
  static bool is_array(const Node& n) { return n.is_array(); }
  static bool is_number(const Node& n) { return n.is_number(); }
  static bool is_string(const Node& n) { return n.is_string(); }
  static std::optional<Node> member(const Node& n, std::string_view name) {
    element value;
    if (n.get_object().at_key(name).get(value) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    return value;
  }
  static std::size_t size(const Node& n) { return n.get_array().size(); }
  static Node at(const Node& n, std::size_t i) { return n.get_array().at(i).value_unsafe(); }
  static double number(const Node& n) { return n.get_double().value_unsafe(); }
  static std::string_view string(const Node& n) { return n.get_string().value_unsafe(); }
  static std::string type_name(const Node& n) { return catalog::type_name(n); }
};

class Problems {
 public:
  explicit Problems(std::string context) : context_(std::move(context)) {}
  [[noreturn]] void fail(std::string_view field, std::string_view problem) const {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}: {}", context_, field, problem));
  }
  [[nodiscard]] const std::string& context() const { return context_; }
  element require(const object& parent, std::string_view field, element_type type, std::string_view wanted) const {
    element value;
    if (parent.at_key(field).get(value) != simdjson::SUCCESS) {
      fail(field, "is missing");
    }
    const bool numeric = type == element_type::DOUBLE && value.is_number();
    if (value.type() != type && !numeric) {
      fail(field, fmt::format("must be {}, got {}", wanted, type_name(value)));
    }
    return value;
  }
  std::string_view require_string(const object& parent, std::string_view field) const {
    const std::string_view text = require(parent, field, element_type::STRING, "a string").get_string().value_unsafe();
    if (text.empty()) {
      fail(field, "is empty");
    }
    // Ids are looked up through C strings (libpq, the C ABI): a NUL would cut them short.
    if (text.find('\0') != std::string_view::npos) {
      fail(field, "contains a NUL character");
    }
    return text;
  }

 private:
  std::string context_;
};

std::optional<std::string_view> string_member(const object& parent, std::string_view field) {
  std::string_view text;
  if (parent.at_key(field).get_string().get(text) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return text;
}

std::int64_t require_instant(const Problems& problems, const object& properties, std::string_view field) {
  const auto text =
      problems.require(properties, field, element_type::STRING, "an RFC 3339 string").get_string().value_unsafe();
  const auto micros = parse_rfc3339_micros(text);
  if (!micros) {
    problems.fail(fmt::format("properties.{}", field), fmt::format("'{}' is not an RFC 3339 date-time", text));
  }
  return *micros;
}

// Every part of `geometry` must lie in `box` (a part at a time, so a geometry
// split at the antimeridian fits a box crossing it).
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

Bbox read_bbox(const Problems& problems, const element& value) {
  simdjson::dom::array numbers;
  if (value.get_array().get(numbers) != simdjson::SUCCESS || (numbers.size() != 4 && numbers.size() != 6)) {
    problems.fail("bbox", "expected an array of 4 or 6 numbers");
  }
  double v[6] = {0, 0, 0, 0, 0, 0};
  std::size_t n = 0;
  for (const element number : numbers) {
    if (!number.is_number() || !std::isfinite(number.get_double().value_unsafe())) {
      problems.fail(fmt::format("bbox[{}]", n), "expected a finite number");
    }
    v[n++] = number.get_double().value_unsafe();
  }
  const std::size_t half = numbers.size() / 2;
  const Bbox box{v[0], v[1], v[half], v[half + 1]};
  if (box.miny > box.maxy) {
    problems.fail("bbox", fmt::format("south ({}) is greater than north ({})", box.miny, box.maxy));
  }
  return box;
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

std::pair<std::string, std::string> item_identity(std::string_view text) {
  element document;
  if (thread_parser().parse(text.data(), text.size()).get(document) != simdjson::SUCCESS || !document.is_object()) {
    return {};
  }
  const object item = document.get_object().value_unsafe();
  return {std::string(string_member(item, "id").value_or("")),
          std::string(string_member(item, "collection").value_or(""))};
}

PreparedItem prepare_item(std::string&& text, const std::unordered_set<std::uint64_t>* known_signatures) {
  element document;
  if (const auto error = thread_parser().parse(text.data(), text.size()).get(document); error != simdjson::SUCCESS) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item: invalid JSON: {}", simdjson::error_message(error)));
  }
  if (!document.is_object()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("item: expected a JSON object, got {}", type_name(document)));
  }
  const object item = document.get_object().value_unsafe();
  PreparedItem prepared;
  std::string context = "item";
  if (const auto id = string_member(item, "id")) {
    context = fmt::format("item '{}'", printable_id(*id));
  }
  if (const auto collection = string_member(item, "collection"); collection && !collection->empty()) {
    context += fmt::format(" (collection '{}')", printable_id(*collection));
  }
  const Problems problems(std::move(context));
  const auto type = problems.require_string(item, "type");
  if (type != "Feature") {
    problems.fail("type", fmt::format("must be 'Feature', got '{}'", type));
  }
  problems.require_string(item, "stac_version");
  prepared.id = problems.require_string(item, "id");
  prepared.collection = problems.require_string(item, "collection");
  problems.require(item, "links", element_type::ARRAY, "an array");
  problems.require(item, "assets", element_type::OBJECT, "an object");
  const object properties =
      problems.require(item, "properties", element_type::OBJECT, "an object").get_object().value_unsafe();

  // Temporal: datetime, or start_datetime and end_datetime when it is null.
  element datetime;
  if (properties.at_key("datetime").get(datetime) != simdjson::SUCCESS) {
    problems.fail("properties.datetime", "is missing (use null with start_datetime/end_datetime for a range)");
  }
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> end;
  element ignored;
  if (properties.at_key("start_datetime").get(ignored) == simdjson::SUCCESS) {
    start = require_instant(problems, properties, "start_datetime");
  }
  if (properties.at_key("end_datetime").get(ignored) == simdjson::SUCCESS) {
    end = require_instant(problems, properties, "end_datetime");
  }
  if (datetime.is_null()) {
    if (!start || !end) {
      problems.fail("properties", "datetime is null, so start_datetime and end_datetime are required");
    }
    prepared.datetime = prepared.pgstac_datetime = *start;
    prepared.end_datetime = prepared.pgstac_end_datetime = *end;
  } else {
    const std::int64_t instant = require_instant(problems, properties, "datetime");
    prepared.datetime = start.value_or(instant);
    prepared.end_datetime = end.value_or(instant);
    prepared.pgstac_datetime = start && end ? *start : instant;
    prepared.pgstac_end_datetime = start && end ? *end : instant;
  }
  if (prepared.datetime > prepared.end_datetime) {
    problems.fail("properties.end_datetime", "is before start_datetime");
  }

  // Spatial: a valid GeoJSON geometry (or null), and a bbox that contains it.
  element geometry_value;
  if (item.at_key("geometry").get(geometry_value) != simdjson::SUCCESS) {
    problems.fail("geometry", "is missing (use null for an item without a location)");
  }
  if (!geometry_value.is_null()) {
    std::unique_ptr<OGRGeometry> geometry;
    try {
      geometry = geojson::Reader<SimdjsonAccess>().geometry(geometry_value, "geometry");
    } catch (const Error& error) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("{}: {}", problems.context(), error.what()));
    }
    if (geometry->IsEmpty()) {
      problems.fail("geometry", "is empty");
    }
    element bbox_value;
    if (item.at_key("bbox").get(bbox_value) != simdjson::SUCCESS) {
      problems.fail("bbox", "is missing (required when geometry is not null)");
    }
    const Bbox box = read_bbox(problems, bbox_value);
    check_bbox_contains(problems, box, *geometry);
    prepared.bbox = box;
    prepared.geometry_wkb.resize(geometry->WkbSize());
    geometry->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(prepared.geometry_wkb.data()), wkbVariantIso);
  }
  // FNV-1a over the collection and each property's name and type.
  std::uint64_t signature = 14695981039346656037ULL;
  auto mix = [&signature](std::string_view bytes) {
    for (const char c : bytes) {
      signature = (signature ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    signature = (signature ^ 0xffU) * 1099511628211ULL;
  };
  mix(prepared.collection);
  for (const auto field : properties) {
    mix(field.key);
    mix(type_name(field.value));
  }
  prepared.property_signature = signature;
  if (known_signatures == nullptr || !known_signatures->contains(signature)) {
    prepared.property_types.reserve(properties.size());
    for (const auto field : properties) {
      prepared.property_types.emplace_back(std::string(field.key), type_name(field.value));
    }
  }
  auto text_of = [&properties](const char* name) -> std::optional<std::string> {
    element value;
    if (properties.at_key(name).get(value) != simdjson::SUCCESS || value.is_null()) {
      return std::nullopt;
    }
    return value.is_string() ? std::string(value.get_string().value_unsafe()) : simdjson::minify(value);
  };
  prepared.searchable_text = searchable_text(text_of("title"), text_of("description"), text_of("keywords"));
  prepared.content = std::move(text);  // only on success: a failed item keeps its text for the report
  return prepared;
}

}  // namespace tessera::catalog
