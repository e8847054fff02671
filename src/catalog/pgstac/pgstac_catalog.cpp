#include "catalog/pgstac/pgstac_catalog.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

#include "catalog/feature_collection.hpp"
#include "catalog/search_request.hpp"
#include "catalog/stac.hpp"
#include "catalog/temporal_relation.hpp"
#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::pgstac {

using nlohmann::json;

namespace {

constexpr std::size_t kPoolSize = 8;

json parse_json_text(const std::optional<std::string>& text) { return text ? json::parse(*text) : json(); }

[[noreturn]] void collection_not_found(std::string_view id) {
  throw Error(ErrorCode::kNotFound, fmt::format("collection '{}' not found", id));
}

// The JSON Schema of a queryable, as SQLite's queryables() reports it too.
json queryable_schema(const std::string& name, std::string_view json_type) {
  json schema = {{"type", json_type == "integer" ? "number" : json_type}};
  if (name == "start_datetime" || name == "end_datetime" || name == "created" || name == "updated") {
    schema["format"] = "date-time";
  }
  return schema;
}

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
// GeoJSON polygons, a_containedBy(a, b) is written as a_contains(b, a), and
// temporal relations on datetime compare the item's whole extent.
// Arithmetic is refused: pgstac 0.10 types the literal it is compared with as
// text and fails.
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
  if (node.contains("args")) {
    node["args"] = pgstac_filter(std::move(node["args"]));
  }
  return node;
}

}  // namespace

PgstacCatalog::PgstacCatalog(const std::string& uri, const CatalogOptions& options) : options_(options) {
  // pgstac finds its tables through the search_path; statement_timeout keeps
  // a stuck server from hanging the caller.
  const std::string session =
      fmt::format("-c search_path=pgstac,public -c statement_timeout={}", options.statement_timeout_ms);
  pool_ = std::make_unique<PgPool>([uri, session] { return std::make_unique<PgConnection>(uri, session); }, kPoolSize);
  auto connection = pool_->acquire();
  try {
    connection->scalar("SELECT pgstac.get_version()");
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kUnavailable) {
      throw;
    }
    throw Error(ErrorCode::kUnsupported,
                fmt::format("the database has no pgstac schema (install it with pypgstac migrate): {}", error.what()));
  }
}

bool PgstacCatalog::collection_exists(PgConnection& connection, std::string_view id) {
  return connection.scalar("SELECT 1 FROM collections WHERE id = $1", {std::string(id)}).has_value();
}

// --- Collections -------------------------------------------------------------

void PgstacCatalog::create_collection(const json& collection) {
  validate_collection(collection);
  const auto& id = collection["id"].get_ref<const std::string&>();
  with_transaction(*pool_, [&](PgConnection& connection) {
    if (collection_exists(connection, id)) {
      throw Error(ErrorCode::kConflict, fmt::format("collection '{}' already exists", id));
    }
    connection.exec("SELECT create_collection($1::jsonb)", {collection.dump()});
  });
}

void PgstacCatalog::update_collection(const json& collection) {
  validate_collection(collection);
  const auto& id = collection["id"].get_ref<const std::string&>();
  with_transaction(*pool_, [&](PgConnection& connection) {
    if (!collection_exists(connection, id)) {
      collection_not_found(id);
    }
    connection.exec("SELECT update_collection($1::jsonb)", {collection.dump()});
  });
}

void PgstacCatalog::upsert_collection(const json& collection) {
  validate_collection(collection);
  with_transaction(*pool_, [&](PgConnection& connection) {
    connection.exec("SELECT upsert_collection($1::jsonb)", {collection.dump()});
  });
}

void PgstacCatalog::delete_collection(std::string_view id, bool cascade) {
  with_transaction(*pool_, [&](PgConnection& connection) {
    if (!collection_exists(connection, id)) {
      collection_not_found(id);
    }
    const auto items =
        std::stoll(*connection.scalar("SELECT count(*) FROM items WHERE collection = $1", {std::string(id)}));
    if (items > 0 && !cascade) {
      throw Error(ErrorCode::kConflict,
                  fmt::format("collection '{}' has {} items; delete them first or pass cascade", id, items));
    }
    connection.exec("SELECT delete_collection($1)", {std::string(id)});
    // Queryables registered for this collection stop naming it; those that
    // named only it go (an empty list would mean every collection to pgstac).
    connection.exec("DELETE FROM queryables WHERE collection_ids = ARRAY[$1]", {std::string(id)});
    connection.exec(
        "UPDATE queryables SET collection_ids = array_remove(collection_ids, $1) "
        "WHERE $1 = ANY (collection_ids)",
        {std::string(id)});
  });
}

json PgstacCatalog::get_collection(std::string_view id) {
  auto connection = pool_->acquire();
  json collection = parse_json_text(connection->scalar("SELECT get_collection($1)", {std::string(id)}));
  if (collection.is_null()) {
    collection_not_found(id);
  }
  return collection;
}

json PgstacCatalog::collections() {
  auto connection = pool_->acquire();
  json all = parse_json_text(connection->scalar("SELECT all_collections()"));
  if (!all.is_array()) {
    return json::array();
  }
  std::sort(all.begin(), all.end(), [](const json& a, const json& b) { return a.value("id", "") < b.value("id", ""); });
  return all;
}

json PgstacCatalog::update_collection_extent(std::string_view id) {
  json collection = get_collection(id);
  auto connection = pool_->acquire();
  const Result extent = connection->exec(
      "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
      "(extract(epoch FROM lo) * 1000000)::bigint, (extract(epoch FROM hi) * 1000000)::bigint, n "
      "FROM (SELECT ST_Extent(geometry) e, min(datetime) lo, max(end_datetime) hi, count(*) n "
      "FROM items WHERE collection = $1) t",
      {std::string(id)});
  const auto value = [&](int column) { return std::string(PQgetvalue(extent.get(), 0, column)); };
  if (std::stoll(value(6)) > 0) {
    if (PQgetisnull(extent.get(), 0, 0) == 0) {
      collection["extent"]["spatial"]["bbox"] = json::array(
          {json::array({std::stod(value(0)), std::stod(value(1)), std::stod(value(2)), std::stod(value(3))})});
    }
    collection["extent"]["temporal"]["interval"] = json::array(
        {json::array({format_rfc3339_micros(std::stoll(value(4))), format_rfc3339_micros(std::stoll(value(5)))})});
    connection->exec("SELECT update_collection($1::jsonb)", {collection.dump()});
  }
  return collection;
}

// --- Items -------------------------------------------------------------------

LoadReport PgstacCatalog::load_items(ItemSource& source, const LoadOptions& options) {
  if (options.batch_size == 0) {
    throw Error(ErrorCode::kInvalidInput, "load: batch_size must be at least 1");
  }
  LoadReport report;
  std::set<std::string> known_collections;
  std::set<std::pair<std::string, std::string>> known_queryables;  // (collection, property)
  {
    auto connection = pool_->acquire();
    const Result ids = connection->exec("SELECT id FROM collections");
    for (int row = 0; row < PQntuples(ids.get()); ++row) {
      known_collections.emplace(PQgetvalue(ids.get(), row, 0));
    }
    const Result names = connection->exec(
        "SELECT c.id, q.name FROM queryables q JOIN collections c "
        "ON q.collection_ids IS NULL OR c.id = ANY (q.collection_ids)");
    for (int row = 0; row < PQntuples(names.get()); ++row) {
      known_queryables.emplace(PQgetvalue(names.get(), row, 0), PQgetvalue(names.get(), row, 1));
    }
  }
  const char* staging = options.mode == LoadMode::kInsert   ? "COPY items_staging (content) FROM STDIN"
                        : options.mode == LoadMode::kIgnore ? "COPY items_staging_ignore (content) FROM STDIN"
                                                            : "COPY items_staging_upsert (content) FROM STDIN";
  std::vector<ItemText> texts;
  std::size_t processed = 0;
  while (source.next(texts, options.batch_size)) {
    processed += texts.size();
    // Validation is tessera's, the same as on SQLite, so both backends accept
    // and reject the same items with the same messages.
    std::vector<PreparedItem> batch;
    for (auto& text : texts) {
      try {
        PreparedItem item = prepare_item(std::move(text.text));
        if (known_collections.contains(item.collection)) {
          batch.push_back(std::move(item));
        } else {
          report.failed.push_back(
              {item.id, item.collection,
               fmt::format("item '{}': collection '{}' does not exist in the catalog", item.id, item.collection)});
        }
      } catch (const Error& error) {
        auto [id, collection] = item_identity(text.text);
        const std::string where = text.line > 0 ? fmt::format("{} line {}: ", source.name(), text.line) : std::string();
        report.failed.push_back({std::move(id), std::move(collection), where + error.what()});
      }
    }
    // Within a batch, insert keeps the first copy of an id (the others fail),
    // ignore keeps the first (the others are skipped), upsert the last.
    std::map<std::pair<std::string, std::string>, std::size_t> chosen;
    std::vector<bool> write(batch.size(), false);
    LoadReport batch_report;
    for (std::size_t n = 0; n < batch.size(); ++n) {
      const auto key = std::make_pair(batch[n].collection, batch[n].id);
      const auto [it, fresh] = chosen.emplace(key, n);
      if (fresh) {
        write[n] = true;
      } else if (options.mode == LoadMode::kUpsert) {
        write[it->second] = false;
        ++batch_report.loaded;  // replaced by a later copy in the same batch
        it->second = n;
        write[n] = true;
      } else if (options.mode == LoadMode::kIgnore) {
        ++batch_report.skipped;
        batch_report.skipped_items.emplace_back(batch[n].collection, batch[n].id);
      } else {
        batch_report.failed.push_back({batch[n].id, batch[n].collection,
                                       fmt::format("item '{}' already exists in collection '{}' (load mode insert)",
                                                   batch[n].id, batch[n].collection)});
      }
    }
    // (collection, property) -> JSON Schema of queryables this batch adds.
    std::map<std::pair<std::string, std::string>, json> new_queryables;
    for (std::size_t n = 0; n < batch.size(); ++n) {
      for (const auto& [name, type] : batch[n].property_types) {
        if (write[n] && !known_queryables.contains({batch[n].collection, name}) && std::string_view(type) != "null") {
          new_queryables.emplace(std::make_pair(batch[n].collection, name), queryable_schema(name, type));
        }
      }
    }
    try {
      LoadReport written;
      with_transaction(*pool_, [&](PgConnection& connection) {
        written = LoadReport{};
        std::vector<bool> send = write;
        // pgstac creates and maintains partitions inside the load, and its
        // maintenance reads the partitions of every collection: two loaders at
        // once failed here ("relation _items_N does not exist") even on
        // different collections. tessera's loaders take turns on this step.
        connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera-load'))");
        if (options.mode != LoadMode::kUpsert) {
          // pgstac fails a whole COPY on one duplicate: find the existing ones first.
          std::map<std::string, json> ids_by_collection;
          for (std::size_t n = 0; n < batch.size(); ++n) {
            if (send[n]) {
              ids_by_collection[batch[n].collection].push_back(batch[n].id);
            }
          }
          std::set<std::pair<std::string, std::string>> existing;
          for (const auto& [collection, ids] : ids_by_collection) {
            const Result rows = connection.exec(
                "SELECT id FROM items WHERE collection = $1 AND id IN (SELECT jsonb_array_elements_text($2::jsonb))",
                {collection, ids.dump()});
            for (int row = 0; row < PQntuples(rows.get()); ++row) {
              existing.emplace(collection, PQgetvalue(rows.get(), row, 0));
            }
          }
          for (std::size_t n = 0; n < batch.size(); ++n) {
            if (send[n] && existing.contains({batch[n].collection, batch[n].id})) {
              send[n] = false;
              if (options.mode == LoadMode::kIgnore) {
                ++written.skipped;
                written.skipped_items.emplace_back(batch[n].collection, batch[n].id);
              } else {
                written.failed.push_back({batch[n].id, batch[n].collection,
                                          fmt::format("item '{}' already exists in collection '{}' (load mode insert)",
                                                      batch[n].id, batch[n].collection)});
              }
            }
          }
        }
        std::vector<std::string> rows;
        for (std::size_t n = 0; n < batch.size(); ++n) {
          if (send[n]) {
            rows.push_back(copy_escape(batch[n].content) + '\n');
            ++written.loaded;
          }
        }
        std::vector<std::string_view> views(rows.begin(), rows.end());
        if (!views.empty()) {
          connection.copy_in(staging, views);
        }
        // Typed queryables, per collection, make pgstac compare and sort
        // numbers as numbers, and list each collection's own properties.
        for (const auto& [key, schema] : new_queryables) {
          connection.exec(
              "SELECT upsert_queryable($1, $2::jsonb, NULL, NULL, ARRAY[$3]) WHERE NOT EXISTS "
              "(SELECT 1 FROM queryables WHERE name = $1 AND (collection_ids IS NULL OR $3 = ANY (collection_ids)))",
              {key.second, schema.dump(), key.first});
        }
      });
      batch_report.merge(written);
      for (const auto& [key, schema] : new_queryables) {
        known_queryables.insert(key);
      }
    } catch (const Error& error) {
      batch_report = LoadReport{};
      for (std::size_t n = 0; n < batch.size(); ++n) {
        batch_report.failed.push_back(
            {batch[n].id, batch[n].collection, fmt::format("batch not written: {}", error.what())});
      }
    }
    report.merge(batch_report);
    if (options.progress) {
      options.progress(processed);
    }
  }
  return report;
}

json PgstacCatalog::get_item(std::string_view collection, std::string_view id) {
  auto connection = pool_->acquire();
  json item =
      parse_json_text(connection->scalar("SELECT get_item($1, $2)", {std::string(id), std::string(collection)}));
  if (item.is_null()) {
    throw Error(ErrorCode::kNotFound, fmt::format("item '{}' not found in collection '{}'", id, collection));
  }
  return item;
}

void PgstacCatalog::delete_item(std::string_view collection, std::string_view id) {
  with_transaction(*pool_, [&](PgConnection& connection) {
    if (!connection.scalar("SELECT 1 FROM items WHERE collection = $1 AND id = $2",
                           {std::string(collection), std::string(id)})) {
      throw Error(ErrorCode::kNotFound, fmt::format("item '{}' not found in collection '{}'", id, collection));
    }
    connection.exec("SELECT delete_item($1, $2)", {std::string(id), std::string(collection)});
  });
}

// --- Search ------------------------------------------------------------------

std::string PgstacCatalog::search_text(const json& request_json) {
  const SearchRequest request = parse_search_request(request_json, options_.max_limit);
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
  body["conf"] = request.count_matched ? json{{"context", "on"}, {"context_stats_ttl", "0"}} : json{{"context", "off"}};

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
  FeatureCollectionWriter result(request);
  simdjson::dom::array features;
  if (page["features"].get(features) == simdjson::SUCCESS) {
    for (const auto feature : features) {
      result.add(simdjson::minify(feature));
    }
  }
  std::optional<std::int64_t> number_matched;
  std::int64_t matched = 0;
  if (request.count_matched && page["numberMatched"].get(matched) == simdjson::SUCCESS) {
    number_matched = matched;
  }
  std::string tokens[2];  // next, prev
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
        tokens[rel == "next" ? 0 : 1] = encode_page_token(request.query, json{{"t", std::string(href.substr(at + 6))}});
      }
    }
  }
  return result.finish(number_matched, tokens[0], tokens[1]);
}

json PgstacCatalog::queryables(std::string_view collection) {
  auto connection = pool_->acquire();
  if (!collection.empty() && !collection_exists(*connection, collection)) {
    collection_not_found(collection);
  }
  return parse_json_text(collection.empty()
                             ? connection->scalar("SELECT get_queryables(NULL::text)")
                             : connection->scalar("SELECT get_queryables($1::text)", {std::string(collection)}));
}

void PgstacCatalog::index_property(std::string_view property) {
  const std::string name = indexable_property(property);
  if (name == "id" || name == "collection" || name == "datetime" || name == "end_datetime" || name == "geometry") {
    return;  // pgstac indexes these columns itself
  }
  with_transaction(*pool_, [&](PgConnection& connection) {
    // One indexed queryable per collection that has the property, keeping the
    // type its load registered; pgstac then builds the index on its partitions.
    const Result rows = connection.exec(
        "SELECT c.id, (SELECT q.definition FROM queryables q WHERE q.name = $1 AND "
        "(q.collection_ids IS NULL OR c.id = ANY (q.collection_ids)) LIMIT 1) FROM collections c",
        {name});
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      if (PQgetisnull(rows.get(), row, 1) == 0) {
        connection.exec(
            "SELECT upsert_queryable($1, $2::jsonb, NULL, 'BTREE', ARRAY[$3])",
            {name, std::string(PQgetvalue(rows.get(), row, 1)), std::string(PQgetvalue(rows.get(), row, 0))});
      }
    }
  });
}

}  // namespace tessera::catalog::pgstac
