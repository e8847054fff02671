// PgSTAC searches: a validated request as the body pgstac's search() takes
// (filters in the CQL2-JSON forms it reads), its page read back as text.

#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "catalog/pgstac/pgstac_catalog.hpp"
#include "catalog/pgstac/pgstac_rows.hpp"
#include "catalog/search_page.hpp"
#include "catalog/search_request.hpp"
#include "catalog/temporal_relation.hpp"
#include "tessera/cql2.hpp"
#include "tessera/error.hpp"
#include "tessera/geometry.hpp"

namespace tessera::catalog::pgstac {

using nlohmann::json;

namespace {

// The pgstac token inside one of tessera's page tokens.
std::string pgstac_token_of(const json& position) {
  if (!position.is_object() || !position.contains("t") || !position["t"].is_string()) {
    throw Error(ErrorCode::kInvalidInput, "search: token: is not a token this catalog issued");
  }
  const auto& token = position["t"].get_ref<const std::string&>();
  if (!token.starts_with("next:") && !token.starts_with("prev:")) {
    throw Error(ErrorCode::kInvalidInput, "search: token: is not a token this catalog issued");
  }
  return token;
}

// The [begin, end] of a temporal operand as CQL2-JSON, or nullopt when it is
// not one pgstac can compare: the item's datetime property is its extent.
std::optional<std::pair<json, json>> temporal_span(const json& operand) {
  if (operand.is_object() && operand.contains("property")) {
    const std::string name = normalize_field(operand["property"].get<std::string>());
    if (name == "datetime") {
      return std::make_pair(json{{"property", "datetime"}}, json{{"property", "end_datetime"}});
    }
    if (name == "start_datetime" || name == "end_datetime") {
      const json column = {{"property", name == "start_datetime" ? "datetime" : "end_datetime"}};
      return std::make_pair(column, column);
    }
    return std::nullopt;
  }
  if (operand.is_object() && (operand.contains("timestamp") || operand.contains("date"))) {
    return std::make_pair(operand, operand);
  }
  if (operand.is_object() && operand.contains("interval") && operand["interval"].size() == 2) {
    auto end = [](const json& value, const char* open) -> std::optional<json> {
      if (value == "..") {
        return json{{"timestamp", open}};
      }
      if (value.is_string()) {
        return json{{"timestamp", value}};
      }
      if (value.is_object() && (value.contains("timestamp") || value.contains("date"))) {
        return value;
      }
      return std::nullopt;
    };
    const auto begin = end(operand["interval"][0], "0001-01-01T00:00:00Z");
    const auto finish = end(operand["interval"][1], "9999-12-31T23:59:59Z");
    if (begin && finish) {
      return std::make_pair(*begin, *finish);
    }
  }
  return std::nullopt;
}

// A temporal relation on the item's datetime as comparisons of pgstac's
// datetime and end_datetime columns: pgstac's own t_* operators compare
// datetime alone, which misses items that carry a range.
std::optional<json> temporal_comparisons(const std::string& op, const json& args) {
  if (args.size() != 2) {
    return std::nullopt;
  }
  const auto a = temporal_span(args[0]);
  const auto b = temporal_span(args[1]);
  if (!a || !b || !args[0].contains("property")) {
    return std::nullopt;
  }
  const auto op_code = cql2::op_from_name(op);
  const TemporalRelation* relation = op_code ? temporal_relation(*op_code) : nullptr;
  if (relation == nullptr) {
    return std::nullopt;
  }
  json clauses = json::array();
  for (const auto& clause : relation->clauses) {
    clauses.push_back(
        {{"op", clause.symbol},
         {"args", {clause.left_begin ? a->first : a->second, clause.right_begin ? b->first : b->second}}});
  }
  if (relation->any) {
    return json{{"op", "or"}, {"args", clauses}};
  }
  return clauses.size() == 1 ? clauses[0] : json{{"op", "and"}, {"args", clauses}};
}

// CQL2-JSON in the forms pgstac's cql2_query reads: BBOX literals become
// GeoJSON polygons, dates the timestamps of their midnight (pgstac reads a
// {"date"} object as null), a_containedBy(a, b) is written as a_contains(b, a),
// and temporal relations on datetime compare the item's whole extent.
// Arithmetic is refused: pgstac 0.10 types the literal it is compared with as
// text and fails. Children first, so the rewrites see rewritten operands.
json pgstac_filter(json node) {
  if (node.is_array()) {
    for (auto& element : node) {
      element = pgstac_filter(std::move(element));
    }
    return node;
  }
  if (!node.is_object()) {
    return node;
  }
  if (node.size() == 1 && node.contains("bbox")) {
    return Geometry::from_bbox(Bbox::from_json(node["bbox"], "filter: bbox")).to_geojson();
  }
  if (node.size() == 1 && node.contains("date") && node["date"].is_string()) {
    return json{{"timestamp", node["date"].get<std::string>() + "T00:00:00Z"}};
  }
  if (node.size() == 1 && node.contains("interval") && node["interval"].is_array()) {
    for (auto& end : node["interval"]) {
      if (end.is_object()) {
        end = pgstac_filter(std::move(end));
      }
    }
    return node;
  }
  if (node.contains("args")) {
    node["args"] = pgstac_filter(std::move(node["args"]));
  }
  if (node.contains("op") && node["op"] == "a_containedBy" && node.contains("args") && node["args"].size() == 2) {
    node["op"] = "a_contains";
    std::swap(node["args"][0], node["args"][1]);
  }
  if (node.contains("op") && node["op"].is_string()) {
    const std::string op = node["op"].get<std::string>();
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%" || op == "div" || op == "^") {
      throw Error(ErrorCode::kUnsupported,
                  fmt::format("search: filter: arithmetic ('{}') is not supported on the PgSTAC backend", op));
    }
    if (op.starts_with("t_")) {
      if (auto rewritten = temporal_comparisons(op, node["args"])) {
        return *rewritten;
      }
    }
  }
  return node;
}

}  // namespace

SearchPage PgstacCatalog::search_page(const json& request_json) {
  SearchPage result{
      parse_search_request(request_json, {options_.max_limit, options_.max_geometry_vertices}), {}, {}, {}, {}};
  const SearchRequest& request = result.request;
  // The body pgstac's search() takes, built from the validated request:
  // CQL2-text becomes CQL2-JSON (pgstac reads only JSON), sortby becomes its
  // array form, and fields are applied by tessera so both backends agree.
  json body = json::object();
  if (!request.ids.empty()) {
    body["ids"] = request.ids;
  }
  if (!request.collections.empty()) {
    body["collections"] = request.collections;
  }
  if (request.bbox) {
    // pgstac reads a bbox crossing the antimeridian as the band between its
    // edges: send the two halves as a geometry instead.
    if (request.bbox->crosses_antimeridian()) {
      body["intersects"] = Geometry::from_bbox(*request.bbox).to_geojson();
    } else {
      body["bbox"] = request.bbox->to_json();
    }
  }
  if (request.intersects) {
    body["intersects"] = request.intersects->to_geojson();
  }
  if (request.query.contains("datetime")) {
    body["datetime"] = request.query["datetime"];
  }
  if (request.filter) {
    body["filter"] = pgstac_filter(cql2::to_json(*request.filter));
    body["filter-lang"] = "cql2-json";
  }
  if (request.q) {
    if (!request.q->root) {
      // Only stop words: nothing matches (pgstac's empty tsquery matches nothing too).
      if (request.count_matched) {
        result.number_matched = 0;
      }
      return result;
    }
    body["q"] = to_pgstac_q(*request.q->root);
  }
  if (!request.sortby.empty()) {
    json sortby = json::array();
    for (const auto& key : request.sortby) {
      sortby.push_back({{"field", key.field}, {"direction", key.descending ? "desc" : "asc"}});
    }
    body["sortby"] = sortby;
  }
  body["limit"] = request.limit;
  if (request.position) {
    body["token"] = pgstac_token_of(*request.position);
  }
  // An exact, fresh count when asked for (pgstac caches counts for a day by
  // default); without one, pgstac's own defaults, which skip the statistics.
  // Items come back as stored, with their base item, and are hydrated here:
  // pgstac's PL/pgSQL merge costs ~10 ms an item (BENCHMARKS.md, STAC API).
  body["conf"] = request.count_matched ? json{{"context", "on"}, {"context_stats_ttl", "0"}} : json{{"context", "off"}};
  body["conf"]["nohydrate"] = true;

  std::optional<std::string> page_text;
  for (int attempt = 1;; ++attempt) {
    try {
      auto connection = pool_->acquire();
      page_text = connection->scalar("SELECT search($1::jsonb)", {body.dump()});
      break;
    } catch (const Error& error) {
      // A server restart between calls: retry once on a fresh connection.
      if (!error.retryable() || attempt >= 2) {
        throw;
      }
    }
  }
  // pgstac's page is read with simdjson and its features copied as text.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element page;
  if (!page_text || parser.parse(*page_text).get(page) != simdjson::SUCCESS) {
    throw Error(ErrorCode::kInternal, "pgstac search() returned no JSON page");
  }
  // The features are hydrated from a tree of the page that keeps the text's
  // spellings (numbers, escapes), as pgstac would have written them.
  JsonTree tree;
  tree.parse(*page_text);
  if (const std::int32_t features = tree.find(JsonTree::kRoot, "features");
      features >= 0 && tree.node(features).type == JsonTree::Type::kArray) {
    result.items.reserve(tree.node(features).count);
    for (std::int32_t feature = tree.node(features).first; feature >= 0; feature = tree.node(feature).next) {
      hydrate_feature(tree, feature, result.items.emplace_back());
    }
  }
  std::int64_t matched = 0;
  if (request.count_matched && page["numberMatched"].get(matched) == simdjson::SUCCESS) {
    result.number_matched = matched;
  }
  simdjson::dom::array links;
  if (page["links"].get(links) == simdjson::SUCCESS) {
    for (const auto link : links) {
      std::string_view rel;
      std::string_view href;
      if (link["rel"].get(rel) != simdjson::SUCCESS || link["href"].get(href) != simdjson::SUCCESS) {
        continue;
      }
      const std::size_t at = href.find("token=");
      if ((rel == "next" || rel == "prev") && at != std::string_view::npos) {
        (rel == "next" ? result.next_token : result.prev_token) =
            encode_page_token(request, json{{"t", std::string(href.substr(at + 6))}});
      }
    }
  }
  return result;
}

CollectionPage PgstacCatalog::collection_page(const CollectionSearchRequest& request) {
  const SearchRequest& search = request.search;
  CollectionPage page;
  json body = {
      {"limit", search.limit}, {"offset", request.offset}, {"sortby", {{{"field", "id"}, {"direction", "asc"}}}}};
  if (!search.ids.empty()) {
    body["ids"] = search.ids;
  }
  if (search.bbox) {
    // As for items: a bbox crossing the antimeridian is sent as its two halves.
    if (search.bbox->crosses_antimeridian()) {
      body["intersects"] = Geometry::from_bbox(*search.bbox).to_geojson();
    } else {
      body["bbox"] = search.bbox->to_json();
    }
  }
  if (search.query.contains("datetime")) {
    body["datetime"] = search.query["datetime"];
  }
  if (search.q) {
    if (!search.q->root) {
      return page;  // only stop words: nothing matches
    }
    body["q"] = to_pgstac_q(*search.q->root);
  }
  const auto text = pool_->acquire()->scalar("SELECT collection_search($1::jsonb)", {body.dump()});
  const json answer = text ? json::parse(*text) : json();
  if (!answer.is_object() || !answer.contains("collections") || !answer["collections"].is_array()) {
    throw Error(ErrorCode::kInternal, "pgstac collection_search() returned no collections");
  }
  page.collections = answer["collections"].get<std::vector<json>>();
  page.number_matched = answer.value("numberMatched", std::int64_t{0});
  return page;
}

}  // namespace tessera::catalog::pgstac
