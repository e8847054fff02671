#include "catalog/sqlite/sqlite_functions.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include <ogr_api.h>
#include <ogr_geometry.h>
#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "catalog/cql2_internal.hpp"
#include "catalog/sqlite/item_codec.hpp"
#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "tessera/geometry.hpp"

namespace tessera::catalog::sqlite {
namespace {

std::string_view text_arg(sqlite3_value* value) {
  const auto* data = reinterpret_cast<const char*>(sqlite3_value_text(value));
  return data == nullptr ? std::string_view() : std::string_view(data, sqlite3_value_bytes(value));
}

std::string_view blob_arg(sqlite3_value* value) {
  const auto* data = static_cast<const char*>(sqlite3_value_blob(value));
  return data == nullptr ? std::string_view() : std::string_view(data, sqlite3_value_bytes(value));
}

bool any_null(int argc, sqlite3_value** argv) {
  return std::any_of(argv, argv + argc, [](sqlite3_value* v) { return sqlite3_value_type(v) == SQLITE_NULL; });
}

std::unique_ptr<OGRGeometry> geometry_from_wkb(std::string_view wkb) {
  OGRGeometry* geometry = nullptr;
  if (OGRGeometryFactory::createFromWkb(wkb.data(), nullptr, &geometry, wkb.size(), wkbVariantIso) != OGRERR_NONE) {
    return nullptr;
  }
  return std::unique_ptr<OGRGeometry>(geometry);
}

// The query-side geometry of a spatial predicate, parsed and prepared once per
// statement (SQLite keeps it as auxiliary data of the constant argument).
struct QueryGeometry {
  std::unique_ptr<OGRGeometry> geometry;
  OGRPreparedGeometryUniquePtr prepared{nullptr};
};

// Calls use(QueryGeometry*) with argument `argument` parsed (nullptr when it
// is not a geometry). SQLite may drop auxiliary data at any time, even inside
// sqlite3_set_auxdata, so the geometry is handed over only after its use.
template <typename Use>
void with_query_geometry(sqlite3_context* context, sqlite3_value* value, int argument, Use&& use) {
  if (auto* cached = static_cast<QueryGeometry*>(sqlite3_get_auxdata(context, argument))) {
    use(cached);
    return;
  }
  auto parsed = std::make_unique<QueryGeometry>();
  parsed->geometry = geometry_from_wkb(blob_arg(value));
  if (!parsed->geometry) {
    use(nullptr);
    return;
  }
  parsed->prepared =
      OGRPreparedGeometryUniquePtr(OGRCreatePreparedGeometry(OGRGeometry::ToHandle(parsed->geometry.get())));
  use(parsed.get());
  sqlite3_set_auxdata(context, argument, parsed.release(), [](void* p) { delete static_cast<QueryGeometry*>(p); });
}

bool relate(int code, const OGRGeometry& a, const OGRGeometry& b) {
  switch (code) {
    case kIntersects:
      return a.Intersects(&b) != FALSE;
    case kEquals:
      // OGR's Equals compares vertices; CQL2 means the same point set.
      return a.Within(&b) != FALSE && b.Within(&a) != FALSE;
    case kDisjoint:
      return a.Disjoint(&b) != FALSE;
    case kTouches:
      return a.Touches(&b) != FALSE;
    case kWithin:
      return a.Within(&b) != FALSE;
    case kOverlaps:
      return a.Overlaps(&b) != FALSE;
    case kCrosses:
      return a.Crosses(&b) != FALSE;
    case kContains:
      return a.Contains(&b) != FALSE;
    default:
      return false;
  }
}

// tsr_spatial(code, item_wkb, query_wkb): the item geometry related to a constant one.
void spatial(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv)) {
    sqlite3_result_null(context);
    return;
  }
  const int code = sqlite3_value_int(argv[0]);
  const auto item = geometry_from_wkb(blob_arg(argv[1]));
  with_query_geometry(context, argv[2], 2, [&](const QueryGeometry* query) {
    if (!item || query == nullptr) {
      sqlite3_result_null(context);
      return;
    }
    bool result = false;
    if (code == kIntersects && query->prepared) {
      result = OGRPreparedGeometryIntersects(query->prepared.get(), OGRGeometry::ToHandle(item.get())) != FALSE;
    } else if (code == kWithin && query->prepared) {
      // The item is within the query geometry exactly when that contains it.
      result = OGRPreparedGeometryContains(query->prepared.get(), OGRGeometry::ToHandle(item.get())) != FALSE;
    } else {
      result = relate(code, *item, *query->geometry);
    }
    sqlite3_result_int(context, result ? 1 : 0);
  });
}

// tsr_spatial2(code, a_wkb, b_wkb): two per-row geometries (no caching).
void spatial_rows(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv)) {
    sqlite3_result_null(context);
    return;
  }
  const auto a = geometry_from_wkb(blob_arg(argv[1]));
  const auto b = geometry_from_wkb(blob_arg(argv[2]));
  if (!a || !b) {
    sqlite3_result_null(context);
    return;
  }
  sqlite3_result_int(context, relate(sqlite3_value_int(argv[0]), *a, *b) ? 1 : 0);
}

Bbox bbox_args(sqlite3_value** argv) {
  return Bbox{sqlite3_value_double(argv[0]), sqlite3_value_double(argv[1]), sqlite3_value_double(argv[2]),
              sqlite3_value_double(argv[3])};
}

// tsr_bbox_intersects(minx, miny, maxx, maxy, qminx, qminy, qmaxx, qmaxy), antimeridian-aware.
void bbox_intersects(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv)) {
    sqlite3_result_int(context, 0);
    return;
  }
  sqlite3_result_int(context, bbox_args(argv).intersects(bbox_args(argv + 4)) ? 1 : 0);
}

// tsr_in_bbox(item_wkb, minx, miny, maxx, maxy, qminx, qminy, qmaxx, qmaxy, query_wkb):
// the exact "geometry intersects the search bbox" test, skipping the geometry
// when the item's bbox already lies inside the search box.
void in_bbox(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv)) {
    sqlite3_result_int(context, 0);
    return;
  }
  const Bbox item = bbox_args(argv + 1);
  const Bbox query = bbox_args(argv + 5);
  if (!item.intersects(query)) {
    sqlite3_result_int(context, 0);
    return;
  }
  if (query.contains(item)) {
    sqlite3_result_int(context, 1);
    return;
  }
  const auto geometry = geometry_from_wkb(blob_arg(argv[0]));
  with_query_geometry(context, argv[9], 9, [&](const QueryGeometry* box) {
    const bool hit = geometry && box != nullptr &&
                     OGRPreparedGeometryIntersects(box->prepared.get(), OGRGeometry::ToHandle(geometry.get())) != FALSE;
    sqlite3_result_int(context, hit ? 1 : 0);
  });
}

void like(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv) || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_null(context);
    return;
  }
  // The pattern is compiled once per statement: SQLite keeps it with the
  // constant argument across rows.
  auto* pattern = static_cast<cql2::detail::LikePattern*>(sqlite3_get_auxdata(context, 1));
  if (pattern == nullptr) {
    auto compiled = std::make_unique<cql2::detail::LikePattern>(text_arg(argv[1]));
    const bool matched = compiled->matches(text_arg(argv[0]));
    sqlite3_set_auxdata(context, 1, compiled.release(),
                        [](void* p) { delete static_cast<cql2::detail::LikePattern*>(p); });
    sqlite3_result_int(context, matched ? 1 : 0);
    return;
  }
  sqlite3_result_int(context, pattern->matches(text_arg(argv[0])) ? 1 : 0);
}

template <std::string (*Transform)(std::string_view)>
void text_transform(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_value(context, argv[0]);
    return;
  }
  const std::string result = Transform(text_arg(argv[0]));
  sqlite3_result_text64(context, result.data(), result.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

std::string casei(std::string_view text) { return cql2::detail::fold_case(text); }
std::string accenti(std::string_view text) { return cql2::detail::strip_accents(text); }

// tsr_micros(text): an RFC 3339 timestamp or date as microseconds, else NULL.
void micros(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_null(context);
    return;
  }
  const auto text = text_arg(argv[0]);
  auto value = parse_rfc3339_micros(text);
  if (!value) {
    value = parse_date_micros(text);
  }
  if (value) {
    sqlite3_result_int64(context, *value);
  } else {
    sqlite3_result_null(context);
  }
}

// tsr_number(value): a value read as a number, as pgstac's to_float reads a
// property whose queryable type is number: numbers as they are, text that
// reads as a number (number_from_text) as that number, anything else NULL
// (pgstac fails the search there instead).
void number(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  switch (sqlite3_value_type(argv[0])) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      sqlite3_result_value(context, argv[0]);
      return;
    case SQLITE_TEXT:
      if (const auto value = cql2::detail::number_from_text(text_arg(argv[0]))) {
        sqlite3_result_double(context, *value);
        return;
      }
      break;
    default:
      break;
  }
  sqlite3_result_null(context);
}

bool array_has(const nlohmann::json& array, const nlohmann::json& element) {
  return std::find(array.begin(), array.end(), element) != array.end();
}

bool contains_all(const nlohmann::json& a, const nlohmann::json& b) {
  return std::all_of(b.begin(), b.end(), [&](const nlohmann::json& e) { return array_has(a, e); });
}

// tsr_array(code, a_json, b_json): CQL2 array relations with arrays as sets.
void array(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv)) {
    sqlite3_result_null(context);
    return;
  }
  const auto a = nlohmann::json::parse(text_arg(argv[1]), nullptr, false);
  const auto b = nlohmann::json::parse(text_arg(argv[2]), nullptr, false);
  if (!a.is_array() || !b.is_array()) {
    sqlite3_result_null(context);
    return;
  }
  bool result = false;
  switch (sqlite3_value_int(argv[0])) {
    case kArrayEquals:
      result = contains_all(a, b) && contains_all(b, a);
      break;
    case kArrayContains:
      result = contains_all(a, b);
      break;
    case kArrayContainedBy:
      result = contains_all(b, a);
      break;
    case kArrayOverlaps:
      result = std::any_of(a.begin(), a.end(), [&](const nlohmann::json& e) { return array_has(b, e); });
      break;
    default:
      break;
  }
  sqlite3_result_int(context, result ? 1 : 0);
}

// The last item a thread read a property from, decompressed and parsed:
// a filter and a sort on the same row read one item several times.
struct ParsedItem {
  std::string stored;
  simdjson::dom::parser parser;
  simdjson::dom::element properties;
  bool has_properties = false;
};

const ParsedItem& parsed_item(std::string_view stored) {
  thread_local ParsedItem cache;
  if (cache.stored.size() == stored.size() && !stored.empty() &&
      std::equal(stored.begin(), stored.end(), cache.stored.begin())) {
    return cache;
  }
  cache.stored.assign(stored);
  cache.has_properties = false;
  const std::string text = decompress_item(stored);
  simdjson::dom::element document;
  if (cache.parser.parse(text).get(document) == simdjson::SUCCESS &&
      document["properties"].get(cache.properties) == simdjson::SUCCESS && cache.properties.is_object()) {
    cache.has_properties = true;
  }
  return cache;
}

// tsr_property(content, name): one property of a stored item as an SQL value,
// as json_extract gives it (arrays and objects as JSON text, booleans as 0/1,
// missing or null as NULL). Deterministic, so expression indexes can use it.
void property(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (any_null(argc, argv)) {
    sqlite3_result_null(context);
    return;
  }
  try {
    const ParsedItem& item = parsed_item(blob_arg(argv[0]));
    simdjson::dom::element value;
    if (!item.has_properties ||
        item.properties.get_object().at_key(text_arg(argv[1])).get(value) != simdjson::SUCCESS) {
      sqlite3_result_null(context);
      return;
    }
    switch (value.type()) {
      case simdjson::dom::element_type::STRING: {
        const std::string_view text = value.get_string().value_unsafe();
        sqlite3_result_text64(context, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        return;
      }
      case simdjson::dom::element_type::INT64:
        sqlite3_result_int64(context, value.get_int64().value_unsafe());
        return;
      case simdjson::dom::element_type::UINT64:
        sqlite3_result_double(context, static_cast<double>(value.get_uint64().value_unsafe()));
        return;
      case simdjson::dom::element_type::DOUBLE:
        sqlite3_result_double(context, value.get_double().value_unsafe());
        return;
      case simdjson::dom::element_type::BOOL:
        sqlite3_result_int(context, value.get_bool().value_unsafe() ? 1 : 0);
        return;
      case simdjson::dom::element_type::NULL_VALUE:
        sqlite3_result_null(context);
        return;
      default: {
        const std::string text = simdjson::minify(value);
        sqlite3_result_text64(context, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        return;
      }
    }
  } catch (const std::exception& error) {
    sqlite3_result_error(context, error.what(), -1);
  }
}

// tsr_cql2(content, expression): evaluates a CQL2 expression SQL cannot
// express on the stored item itself.
void evaluate_cql2(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  const auto* expression = static_cast<const cql2::Expr*>(sqlite3_value_pointer(argv[1], kExpressionPointerType));
  if (expression == nullptr || sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(context);
    return;
  }
  nlohmann::json item;
  try {
    item = nlohmann::json::parse(decompress_item(blob_arg(argv[0])), nullptr, false);
  } catch (const std::exception& error) {
    sqlite3_result_error(context, error.what(), -1);
    return;
  }
  try {
    sqlite3_result_int(context, cql2::evaluate(*expression, item) ? 1 : 0);
  } catch (const std::exception&) {
    sqlite3_result_null(context);
  }
}

void add(sqlite3* db, const char* name, int argc, void (*function)(sqlite3_context*, int, sqlite3_value**)) {
  sqlite3_create_function_v2(db, name, argc, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, function, nullptr, nullptr,
                             nullptr);
}

}  // namespace

void register_functions(sqlite3* db) {
  add(db, "tsr_spatial", 3, spatial);
  add(db, "tsr_spatial2", 3, spatial_rows);
  add(db, "tsr_bbox_intersects", 8, bbox_intersects);
  add(db, "tsr_in_bbox", 10, in_bbox);
  add(db, "tsr_like", 2, like);
  add(db, "tsr_casei", 1, text_transform<casei>);
  add(db, "tsr_accenti", 1, text_transform<accenti>);
  add(db, "tsr_micros", 1, micros);
  add(db, "tsr_number", 1, number);
  add(db, "tsr_array", 3, array);
  add(db, "tsr_cql2", 2, evaluate_cql2);
  add(db, "tsr_property", 2, property);
}

}  // namespace tessera::catalog::sqlite
