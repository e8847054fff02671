#include "catalog/search_request.hpp"

#include <cpl_string.h>
#include <fmt/format.h>
#include <ogr_geometry.h>
#include <algorithm>

#include "tessera/datetime.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

namespace tessera::catalog {

using nlohmann::json;

namespace {

[[noreturn]] void fail(std::string_view member, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("search: {}: {}", member, problem));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(separator, start), text.size());
    if (end > start) {
      parts.emplace_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return parts;
}

// A list of strings given as a JSON array or, as in GET requests, "a,b".
std::vector<std::string> string_list(const json& value, std::string_view member) {
  if (value.is_string()) {
    return split(value.get_ref<const std::string&>(), ',');
  }
  if (!value.is_array()) {
    fail(member, fmt::format("expected an array of strings, got {}", value.type_name()));
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      fail(fmt::format("{}[{}]", member, i), fmt::format("expected a string, got {}", value[i].type_name()));
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

constexpr std::int64_t kMicrosPerDay = std::int64_t{86'400'000'000};

// One end of a datetime: a bare date is its whole day, as pgstac reads it, so
// it starts at its midnight and ends at its last microsecond.
std::optional<std::int64_t> parse_datetime_end(std::string_view text, std::string_view member, bool is_start) {
  if (text.empty() || text == "..") {
    return std::nullopt;
  }
  if (auto micros = parse_rfc3339_micros(text)) {
    return micros;
  }
  if (auto midnight = parse_date_micros(text)) {
    return is_start ? *midnight : *midnight + kMicrosPerDay - 1;
  }
  fail(member, fmt::format("'{}' is not an RFC 3339 date-time", text));
}

TimeRange parse_datetime(const json& value) {
  if (!value.is_string()) {
    fail("datetime", fmt::format("expected a string, got {}", value.type_name()));
  }
  const auto& text = value.get_ref<const std::string&>();
  const std::size_t slash = text.find('/');
  TimeRange range;
  if (slash == std::string::npos) {
    range.start = parse_datetime_end(text, "datetime", true);
    if (!range.start) {
      fail("datetime", "an instant cannot be open ('..')");
    }
    range.end = parse_datetime_end(text, "datetime", false);
    return range;
  }
  if (text.find('/', slash + 1) != std::string::npos) {
    fail("datetime", fmt::format("'{}' has more than one '/'", text));
  }
  range.start = parse_datetime_end(std::string_view(text).substr(0, slash), "datetime", true);
  range.end = parse_datetime_end(std::string_view(text).substr(slash + 1), "datetime", false);
  if (!range.start && !range.end) {
    fail("datetime", "both ends of the interval are open");
  }
  if (range.start && range.end && *range.start > *range.end) {
    fail("datetime", fmt::format("interval '{}' ends before it starts", text));
  }
  return range;
}

std::vector<SortKey> parse_sortby(const json& value) {
  std::vector<SortKey> keys;
  if (value.is_string()) {  // GET form: "+a,-b"
    for (auto part : split(value.get_ref<const std::string&>(), ',')) {
      SortKey key;
      if (part.front() == '-' || part.front() == '+') {
        key.descending = part.front() == '-';
        part.erase(0, 1);
      }
      key.field = normalize_field(part);
      keys.push_back(std::move(key));
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      const auto& entry = value[i];
      const std::string where = fmt::format("sortby[{}]", i);
      if (!entry.is_object() || !entry.contains("field") || !entry["field"].is_string()) {
        fail(where, "expected {\"field\": ..., \"direction\": \"asc\"|\"desc\"}");
      }
      SortKey key{normalize_field(entry["field"].get<std::string>()), false};
      if (const auto direction = entry.find("direction"); direction != entry.end()) {
        if (*direction == "desc") {
          key.descending = true;
        } else if (*direction != "asc") {
          fail(where + ".direction", fmt::format("must be 'asc' or 'desc', got {}", direction->dump()));
        }
      }
      keys.push_back(std::move(key));
    }
  } else {
    fail("sortby", fmt::format("expected an array or a string, got {}", value.type_name()));
  }
  for (const auto& key : keys) {
    if (key.field.empty()) {
      fail("sortby", "empty field name");
    }
  }
  return keys;
}

void parse_fields(const json& value, SearchRequest& request) {
  if (value.is_string()) {  // GET form: "a,-b"
    for (auto part : split(value.get_ref<const std::string&>(), ',')) {
      if (part.front() == '-') {
        request.fields_exclude.push_back(part.substr(1));
      } else {
        request.fields_include.push_back(part.front() == '+' ? part.substr(1) : part);
      }
    }
    return;
  }
  if (!value.is_object()) {
    fail("fields", "expected {\"include\": [...], \"exclude\": [...]}");
  }
  // A null include or exclude is given but empty: {"include": null,
  // "exclude": [...]} starts from the default set, as {"include": []} does.
  for (const auto& [name, list] : value.items()) {
    if (name == "include") {
      request.fields_include = list.is_null() ? std::vector<std::string>{} : string_list(list, "fields.include");
      request.fields_include_given = true;
    } else if (name == "exclude") {
      request.fields_exclude = list.is_null() ? std::vector<std::string>{} : string_list(list, "fields.exclude");
    } else {
      fail("fields", fmt::format("unknown member '{}'", name));
    }
  }
}

cql2::Expr parse_filter(const json& filter, const json& language) {
  std::string lang;
  if (!language.is_null()) {
    if (!language.is_string()) {
      fail("filter-lang", "must be a string");
    }
    lang = language.get<std::string>();
    // cql-json: the CQL1-JSON pgstac also reads, which parse_json() accepts.
    if (lang == "cql-json") {
      lang = "cql2-json";
    }
    if (lang != "cql2-json" && lang != "cql2-text") {
      fail("filter-lang", fmt::format("must be 'cql2-json', 'cql2-text' or 'cql-json', got '{}'", lang));
    }
  }
  if (filter.is_string()) {
    if (lang == "cql2-json") {
      fail("filter", "filter-lang is cql2-json but the filter is a string");
    }
    return cql2::parse_text(filter.get_ref<const std::string&>());
  }
  if (lang == "cql2-text") {
    fail("filter", "filter-lang is cql2-text but the filter is not a string");
  }
  return cql2::parse_json(filter, "filter");
}

// --- The query extension ---------------------------------------------------

// `text` as a LIKE pattern that matches it literally.
std::string like_literal(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '%' || c == '_') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// One comparison of the query extension as CQL2-JSON; InvalidInput names `where`.
json query_comparison(const std::string& property, std::string_view name, const json& value, const std::string& where) {
  const json subject = {{"property", property}};
  auto scalar = [&](bool ordered_only) {
    if (value.is_string() || value.is_number() || (!ordered_only && value.is_boolean())) {
      return;
    }
    fail(where,
         fmt::format("expected {}, got {}", ordered_only ? "a string or a number" : "a string, number or boolean",
                     value.dump(-1, ' ', false, json::error_handler_t::replace)));
  };
  static constexpr std::pair<std::string_view, std::string_view> kComparisons[] = {
      {"eq", "="}, {"neq", "<>"}, {"lt", "<"}, {"lte", "<="}, {"gt", ">"}, {"gte", ">="}};
  for (const auto& [query_name, cql2_name] : kComparisons) {
    if (equals_ignoring_case(name, query_name)) {
      scalar(cql2_name != "=" && cql2_name != "<>");
      return {{"op", cql2_name}, {"args", {subject, value}}};
    }
  }
  static constexpr std::pair<std::string_view, std::string_view> kPatterns[] = {
      {"startsWith", "{}%"}, {"endsWith", "%{}"}, {"contains", "%{}%"}};
  for (const auto& [query_name, pattern] : kPatterns) {
    if (equals_ignoring_case(name, query_name)) {
      if (!value.is_string()) {
        fail(where, fmt::format("expected a string, got {}", value.type_name()));
      }
      return {
          {"op", "like"},
          {"args", {subject, fmt::format(fmt::runtime(pattern), like_literal(value.get_ref<const std::string&>()))}}};
    }
  }
  if (equals_ignoring_case(name, "in")) {
    if (!value.is_array() || value.empty()) {
      fail(where, "expected a non-empty array of strings, numbers or booleans");
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      const json& element = value[i];
      const bool same_kind = (element.is_string() && value[0].is_string()) ||
                             (element.is_number() && value[0].is_number()) ||
                             (element.is_boolean() && value[0].is_boolean());
      if (!same_kind) {
        fail(fmt::format("{}[{}]", where, i), "expected strings, numbers or booleans, all of one kind");
      }
    }
    return {{"op", "in"}, {"args", {subject, value}}};
  }
  fail(where, fmt::format("unknown operator '{}' (expected eq, neq, lt, lte, gt, gte, startsWith, endsWith, contains "
                          "or in)",
                          name));
}

// The STAC API query extension ({"eo:cloud_cover": {"lt": 10}}, or its JSON
// text as a GET parameter gives it) as CQL2-JSON: every comparison ANDed, a
// bare value meaning "eq", as pgstac reads it.
json query_to_cql2(const json& given) {
  json query = given;
  if (given.is_string()) {
    query = json::parse(given.get_ref<const std::string&>(), nullptr, false);
    if (query.is_discarded()) {
      fail("query", "is not JSON");
    }
  }
  if (!query.is_object()) {
    fail("query", fmt::format("expected an object of properties, got {}", query.type_name()));
  }
  json comparisons = json::array();
  for (const auto& [raw_property, operations] : query.items()) {
    const std::string where = fmt::format("query.{}", raw_property);
    const std::string property = normalize_field(raw_property);
    if (property.empty()) {
      fail(where, "a property name cannot be empty");
    }
    if (!operations.is_object()) {
      comparisons.push_back(query_comparison(property, "eq", operations, where));
      continue;
    }
    if (operations.empty()) {
      fail(where, "expected at least one operator");
    }
    for (const auto& [name, value] : operations.items()) {
      comparisons.push_back(query_comparison(property, name, value, fmt::format("{}.{}", where, name)));
    }
  }
  if (comparisons.empty()) {
    return nullptr;
  }
  return comparisons.size() == 1 ? comparisons[0] : json{{"op", "and"}, {"args", std::move(comparisons)}};
}

struct DecodedToken {
  json query;
  json position;
  json page;  // {"limit", "fields"} of the page that issued it (older tokens: null)
};

DecodedToken decode_page_token(const json& value) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    fail("token", "expected a non-empty string");
  }
  std::string text = value.get<std::string>();
  for (auto& c : text) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!std::isalnum(static_cast<unsigned char>(c))) {
      fail("token", "is not a token this catalog issued");
    }
  }
  const int size = CPLBase64DecodeInPlace(reinterpret_cast<GByte*>(text.data()));
  const json decoded = json::parse(text.data(), text.data() + size, nullptr, false);
  if (!decoded.is_object() || !decoded.contains("q") || !decoded["q"].is_object() || !decoded.contains("p")) {
    fail("token", "is not a token this catalog issued");
  }
  return {decoded["q"], decoded["p"], decoded.value("s", json())};
}

// Members that define the result set (kept in tokens); the others shape one page.
constexpr std::string_view kQueryMembers[] = {"ids",    "collections", "bbox",   "intersects", "datetime",
                                              "filter", "filter-lang", "sortby", "query",      "q"};
constexpr std::string_view kPageMembers[] = {"limit", "token", "fields", "context", "filter-crs"};

bool is_one_of(std::string_view name, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void parse_query(const json& query, SearchRequest& request) {
  if (const auto it = query.find("ids"); it != query.end()) {
    request.ids = string_list(*it, "ids");
  }
  if (const auto it = query.find("collections"); it != query.end()) {
    request.collections = string_list(*it, "collections");
  }
  if (const auto it = query.find("bbox"); it != query.end()) {
    json box = *it;
    if (box.is_string()) {
      box = json::array();
      for (const auto& part : split(it->get_ref<const std::string&>(), ',')) {
        char* end = nullptr;
        const double number = std::strtod(part.c_str(), &end);
        if (end == part.c_str() || *end != '\0') {
          fail("bbox", fmt::format("'{}' is not a number", part));
        }
        box.push_back(number);
      }
    }
    request.bbox = Bbox::from_json(box, "search: bbox");
  }
  if (const auto it = query.find("intersects"); it != query.end()) {
    if (request.bbox) {
      fail("intersects", "cannot be combined with bbox");
    }
    request.intersects = std::make_shared<const Geometry>(Geometry::from_geojson(*it, "search: intersects"));
  }
  if (const auto it = query.find("datetime"); it != query.end()) {
    request.datetime = parse_datetime(*it);
  }
  if (const auto it = query.find("filter"); it != query.end()) {
    request.filter = parse_filter(*it, query.value("filter-lang", json()));
  }
  // The query extension, ANDed with the filter.
  if (const auto it = query.find("query"); it != query.end()) {
    json translated = query_to_cql2(*it);
    if (!translated.is_null()) {
      if (request.filter) {
        translated = {{"op", "and"}, {"args", {cql2::to_json(*request.filter), std::move(translated)}}};
      }
      request.filter = cql2::parse_json(translated, "query");
    }
  }
  if (const auto it = query.find("sortby"); it != query.end()) {
    request.sortby = parse_sortby(*it);
  }
  if (const auto it = query.find("q"); it != query.end()) {
    request.q = parse_free_text(*it, "search: q");
  }
}

}  // namespace

std::string normalize_field(std::string_view field) {
  constexpr std::string_view kPrefix = "properties.";
  if (field.starts_with(kPrefix)) {
    field.remove_prefix(kPrefix.size());
  }
  return std::string(field);
}

namespace {

// Search strings are compared with stored JSON text, written into page
// tokens and echoed in messages: each must be UTF-8 (found by fuzz_service:
// a sort key with a stray byte failed the token with an internal error).
void reject_invalid_utf8(const json& value, std::string_view member) {
  try {
    static_cast<void>(value.dump());
  } catch (const json::type_error&) {
    fail(member, "strings must be valid UTF-8");
  }
}

// No stored id, collection or property value can hold a NUL (PostgreSQL text
// cannot), so a search string with one is refused on every backend alike.
void reject_nul_characters(const json& value, std::string_view member) {
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      fail(member, "strings cannot contain NUL characters");
    }
  } else if (value.is_structured()) {
    for (const auto& [key, element] : value.items()) {
      if (key.find('\0') != std::string::npos) {
        fail(member, "strings cannot contain NUL characters");
      }
      reject_nul_characters(element, member);
    }
  }
}

// Points of a geometry, summed over its parts and rings.
std::size_t vertex_count(const OGRGeometry& geometry) {
  const OGRwkbGeometryType type = wkbFlatten(geometry.getGeometryType());
  std::size_t count = 0;
  if (OGR_GT_IsSubClassOf(type, wkbGeometryCollection) != 0) {
    for (const OGRGeometry* part : *geometry.toGeometryCollection()) {
      count += vertex_count(*part);
    }
  } else if (OGR_GT_IsSubClassOf(type, wkbCurvePolygon) != 0) {
    for (const OGRCurve* ring : *geometry.toCurvePolygon()) {
      count += static_cast<std::size_t>(ring->getNumPoints());
    }
  } else if (OGR_GT_IsSubClassOf(type, wkbCurve) != 0) {
    count = static_cast<std::size_t>(geometry.toCurve()->getNumPoints());
  } else {
    count = geometry.IsEmpty() ? 0 : 1;
  }
  return count;
}

// Points of the geometry literals of a CQL2 filter.
std::size_t vertex_count(const cql2::Expr& expr) {
  if (const auto* literal = expr.get_if<cql2::GeometryLiteral>()) {
    return vertex_count(*literal->geometry->ogr());
  }
  std::size_t count = 0;
  if (const auto* operation = expr.get_if<cql2::Operation>()) {
    for (const auto& arg : operation->args) {
      count += vertex_count(arg);
    }
  } else if (const auto* array = expr.get_if<cql2::ArrayLiteral>()) {
    for (const auto& item : array->items) {
      count += vertex_count(item);
    }
  }
  return count;
}

void check_vertices(std::string_view member, std::size_t vertices, const SearchLimits& limits) {
  if (vertices > limits.max_geometry_vertices) {
    fail(member, fmt::format("its geometries have {} vertices, more than this catalog's maximum of {}", vertices,
                             limits.max_geometry_vertices));
  }
}

}  // namespace

bool is_plain_property_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':' || c == '-' || c == '.';
  });
}

std::string indexable_property(std::string_view property) {
  std::string name = normalize_field(property);
  if (!is_plain_property_name(name)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("index_property: '{}' has characters outside [A-Za-z0-9_:.-]", property));
  }
  return name;
}

SearchRequest parse_search_request(const json& request, const SearchLimits& limits) {
  if (!request.is_object()) {
    fail("request", fmt::format("expected a JSON object, got {}", request.type_name()));
  }
  for (const auto& [name, value] : request.items()) {
    reject_invalid_utf8(value, name);
    reject_nul_characters(value, name);
  }
  SearchRequest parsed;
  json query = json::object();
  for (const auto& [name, value] : request.items()) {
    if (is_one_of(name, kQueryMembers)) {
      if (!value.is_null()) {
        query[name] = value;
      }
    } else if (!is_one_of(name, kPageMembers)) {
      fail(name, "unknown search parameter");
    }
  }
  // What shapes the pages: the request's own, else what the token's page had,
  // so {"token": next} alone pages on with the same limit and fields.
  json page_shape = json::object();
  if (const auto it = request.find("token"); it != request.end() && !it->is_null()) {
    auto token = decode_page_token(*it);
    // A token alone continues its own query; a client that resends the whole
    // request with it gets that request.
    if (query.empty()) {
      query = std::move(token.query);
    }
    parsed.position = std::move(token.position);
    if (token.page.is_object()) {
      page_shape = std::move(token.page);
    }
  }
  // "fields": null is refused, as the fields extension has it ({} or "" ask
  // for the default shape); "limit": null counts as absent.
  if (const auto it = request.find("fields"); it != request.end() && it->is_null()) {
    fail("fields", "expected {\"include\": [...], \"exclude\": [...]} or \"a,-b\", got null");
  }
  for (const char* member : {"limit", "fields"}) {
    if (const auto it = request.find(member); it != request.end() && !it->is_null()) {
      page_shape[member] = *it;
    }
  }
  // datetime as pgstac also takes it, [start, end]: kept as "start/end".
  if (const auto it = query.find("datetime"); it != query.end() && it->is_array()) {
    if (it->size() != 2) {
      fail("datetime", fmt::format("an array has 2 ends, [start, end], got {}", it->size()));
    }
    std::string text;
    for (std::size_t i = 0; i < 2; ++i) {
      const json& end = (*it)[i];
      if (!end.is_string() && !end.is_null()) {
        fail(fmt::format("datetime[{}]", i), fmt::format("expected a string or null, got {}", end.type_name()));
      }
      text += (i > 0 ? "/" : "") + (end.is_null() ? std::string("..") : end.get<std::string>());
    }
    *it = text;
  }
  parse_query(query, parsed);
  parsed.query = std::move(query);
  // Spatial tests cost time in the number of vertices: a huge literal is
  // refused before any backend sees it.
  if (parsed.intersects) {
    check_vertices("intersects", vertex_count(*parsed.intersects->ogr()), limits);
  }
  if (parsed.filter) {
    check_vertices("filter", vertex_count(*parsed.filter), limits);
  }

  if (const auto it = page_shape.find("limit"); it != page_shape.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
      fail("limit", fmt::format("must be a positive integer, got {}", it->dump()));
    }
    if (it->get<std::uint64_t>() > limits.max_limit) {
      fail("limit",
           fmt::format("{} is above this catalog's maximum of {}", it->get<std::uint64_t>(), limits.max_limit));
    }
    parsed.limit = it->get<std::size_t>();
  }
  if (const auto it = page_shape.find("fields"); it != page_shape.end() && !it->is_null()) {
    parse_fields(*it, parsed);
  }
  parsed.page_shape = std::move(page_shape);
  if (const auto it = request.find("context"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      fail("context", "must be true or false");
    }
    parsed.count_matched = it->get<bool>();
  }
  if (const auto it = request.find("filter-crs"); it != request.end() && !it->is_null()) {
    if (*it != "http://www.opengis.net/def/crs/OGC/1.3/CRS84") {
      fail("filter-crs", "only http://www.opengis.net/def/crs/OGC/1.3/CRS84 is supported");
    }
  }
  return parsed;
}

std::vector<SortKey> effective_sort(const SearchRequest& request) {
  std::vector<SortKey> keys = request.sortby;
  if (keys.empty()) {
    keys.push_back({"datetime", true});
  }
  // pgstac 0.10's total order: collection, then id, in the first key's direction.
  const bool descending = keys.front().descending;
  keys.push_back({"collection", descending});
  keys.push_back({"id", descending});
  return keys;
}

std::string encode_page_token(const SearchRequest& request, const json& position) {
  json payload = {{"q", request.query}, {"p", position}};
  if (!request.page_shape.empty()) {
    payload["s"] = request.page_shape;
  }
  const std::string text = payload.dump();
  char* encoded = CPLBase64Encode(static_cast<int>(text.size()), reinterpret_cast<const GByte*>(text.data()));
  std::string token(encoded);
  CPLFree(encoded);
  std::string url_safe;
  url_safe.reserve(token.size());
  for (const char c : token) {
    if (c == '+') {
      url_safe.push_back('-');
    } else if (c == '/') {
      url_safe.push_back('_');
    } else if (c != '=') {
      url_safe.push_back(c);
    }
  }
  return url_safe;
}

namespace {

std::vector<std::string> path_of(const std::string& field) {
  // "properties.eo:cloud_cover" -> ["properties", "eo:cloud_cover"]: only the
  // first dot separates, property names may contain dots themselves.
  const std::size_t dot = field.find('.');
  if (dot == std::string::npos) {
    return {field};
  }
  return {field.substr(0, dot), field.substr(dot + 1)};
}

void copy_path(const json& from, json& to, const std::vector<std::string>& path) {
  const auto top = from.find(path[0]);
  if (top == from.end()) {
    return;
  }
  if (path.size() == 1) {
    to[path[0]] = *top;
    return;
  }
  if (!top->is_object()) {
    return;
  }
  const auto inner = top->find(path[1]);
  if (inner != top->end()) {
    to[path[0]][path[1]] = *inner;
  }
}

void erase_path(json& item, const std::vector<std::string>& path) {
  if (path.size() == 1) {
    item.erase(path[0]);
    return;
  }
  const auto top = item.find(path[0]);
  if (top != item.end() && top->is_object()) {
    top->erase(path[1]);
  }
}

}  // namespace

void apply_fields(json& item, const SearchRequest& request) {
  const auto& include = request.fields_include;
  const auto& exclude = request.fields_exclude;
  if (!include.empty()) {
    // pgstac's include: the listed paths plus id and collection; tessera also
    // keeps type, so the item stays a GeoJSON Feature.
    json kept = json::object();
    for (const auto& field : {"type", "id", "collection"}) {
      copy_path(item, kept, {field});
    }
    for (const auto& field : include) {
      copy_path(item, kept, path_of(field));
    }
    item = std::move(kept);
  } else if (request.fields_include_given && !exclude.empty()) {
    // An include given as [] or null with an exclude: the STAC default set.
    static const std::vector<std::string> kDefaults = {"type",   "stac_version",       "stac_extensions", "id",
                                                       "bbox",   "geometry",           "collection",      "links",
                                                       "assets", "properties.datetime"};
    json kept = json::object();
    for (const auto& field : kDefaults) {
      copy_path(item, kept, path_of(field));
    }
    item = std::move(kept);
  }
  for (const auto& field : exclude) {
    if (std::find(include.begin(), include.end(), field) != include.end()) {
      continue;  // a field in both is included
    }
    // An excluded parent keeps its included children ("-properties,
    // +properties.eo:cloud_cover" keeps that one property).
    const std::string prefix = field + ".";
    json children = json::object();
    for (const auto& included : include) {
      if (included.starts_with(prefix)) {
        copy_path(item, children, path_of(included));
      }
    }
    erase_path(item, path_of(field));
    for (const auto& [name, value] : children.items()) {
      for (const auto& [child, child_value] : value.items()) {
        item[name][child] = child_value;
      }
    }
  }
}

}  // namespace tessera::catalog
