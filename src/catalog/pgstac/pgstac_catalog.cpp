#include "catalog/pgstac/pgstac_catalog.hpp"

#include <algorithm>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

#include "catalog/feature_collection.hpp"
#include "catalog/outbox_schema.hpp"
#include "catalog/pgstac/pgstac_rows.hpp"
#include "catalog/search_request.hpp"
#include "catalog/stac.hpp"
#include "catalog/temporal_relation.hpp"
#include "tessera/cql2.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"
#include "tessera/log.hpp"

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
  connect_ = [uri, session] { return std::make_unique<PgConnection>(uri, session); };
  pool_ = std::make_unique<PgPool>(connect_, kPoolSize);
  database_.postgres = pool_.get();
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
//
// Loading works as pypgstac's loader does, not through pgstac's staging
// tables (whose trigger dehydrates every row in PL/pgSQL): a second thread
// validates the next batch and builds its rows (content dehydrated against
// the collection's base item exactly as pgstac's content_slim would, EWKB
// geometry, pgstac's datetime columns) while this one writes the current
// batch: check_partition per (collection, partition) and a binary COPY.

namespace {

// A collection as the loader needs it: its time partitioning and base item.
struct CollectionState {
  std::string partition_trunc;  // "", "year" or "month"
  std::shared_ptr<const BaseItem> base;

  [[nodiscard]] bool same_as(const CollectionState& other) const {
    return partition_trunc == other.partition_trunc && base->text == other.base->text && base->id == other.base->id;
  }
};
using CollectionStates = std::map<std::string, std::shared_ptr<const CollectionState>, std::less<>>;

constexpr const char* kCollectionStateSql =
    "SELECT c.id, coalesce(c.partition_trunc, ''), b.base_item_id::text, b.base_item::text "
    "FROM collections c, current_base_item(c.id) b";

CollectionStates read_collection_states(const Result& rows) {
  CollectionStates states;
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    auto state = std::make_shared<CollectionState>();
    state->partition_trunc = PQgetvalue(rows.get(), row, 1);
    std::optional<std::string> base_id;
    if (PQgetisnull(rows.get(), row, 2) == 0) {
      base_id = PQgetvalue(rows.get(), row, 2);
    }
    state->base = std::make_shared<BaseItem>(PQgetvalue(rows.get(), row, 3), std::move(base_id));
    states.emplace(PQgetvalue(rows.get(), row, 0), std::move(state));
  }
  return states;
}

// The collections of one load, read once and shared by its two threads.
class CollectionCache {
 public:
  explicit CollectionCache(PgPool& pool) : pool_(pool) {
    auto connection = pool_.acquire();
    states_ = read_collection_states(connection->exec(kCollectionStateSql));
  }

  // The collection's state, or null when it does not exist (asked once more
  // of the server, in case it was created during the load).
  std::shared_ptr<const CollectionState> get(const std::string& id) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = states_.find(id); it != states_.end()) {
        return it->second;
      }
      if (missing_.contains(id)) {
        return nullptr;
      }
    }
    auto connection = pool_.acquire();
    auto found = read_collection_states(connection->exec(std::string(kCollectionStateSql) + " WHERE c.id = $1", {id}));
    std::lock_guard lock(mutex_);
    if (found.empty()) {
      missing_.insert(id);
      return nullptr;
    }
    states_[id] = found.begin()->second;
    return found.begin()->second;
  }

  void put(const std::string& id, std::shared_ptr<const CollectionState> state) {
    std::lock_guard lock(mutex_);
    if (state) {
      states_[id] = std::move(state);
      missing_.erase(id);
    } else {
      states_.erase(id);
      missing_.insert(id);
    }
  }

 private:
  PgPool& pool_;
  std::mutex mutex_;
  CollectionStates states_;
  std::set<std::string, std::less<>> missing_;
};

// One item ready to write: validated, and its items row as a binary COPY tuple.
struct Row {
  PreparedItem item;
  std::shared_ptr<const CollectionState> state;  // what the row was built against
  std::string tuple;
  std::int32_t bucket = 0;  // its time partition: YYYY, YYYYMM, or 0 when unpartitioned
};

struct PreparedBatch {
  std::size_t count = 0;
  std::vector<Row> rows;
  std::vector<LoadFailure> failed;
};

// The UTC year and month of an instant (days to civil date, H. Hinnant's algorithm).
std::pair<std::int64_t, int> year_month(std::int64_t micros) {
  constexpr std::int64_t kMicrosPerDay = 86'400'000'000;
  std::int64_t days = micros / kMicrosPerDay - (micros % kMicrosPerDay < 0 ? 1 : 0);
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month};
}

// Builds `row`'s tuple from its item and state. Throws InvalidInput for an
// item pgstac cannot store.
void build_row(Row& row) {
  const PreparedItem& item = row.item;
  if (item.geometry_wkb.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("item '{}' (collection '{}'): geometry: null is not supported by pgstac "
                            "(its items.geometry column is NOT NULL)",
                            item.id, item.collection));
  }
  thread_local JsonTree tree;
  thread_local std::string content;
  tree.parse(item.content);
  dehydrate_content(tree, *row.state->base, content);
  row.tuple.clear();
  append_item_tuple(row.tuple, item.id, item.geometry_wkb, item.collection, item.pgstac_datetime,
                    item.pgstac_end_datetime, content);
  row.bucket = 0;
  if (!row.state->partition_trunc.empty()) {
    const auto [year, month] = year_month(item.pgstac_datetime);
    row.bucket = static_cast<std::int32_t>(row.state->partition_trunc == "year" ? year : year * 100 + month);
  }
}

// What one load has done to a time partition's constraints.
struct PartitionState {
  int widened_exactly = 0;  // times check_partition widened them to a batch's range
  bool opened = false;      // widened to the partition's whole range, tightened at the end
};
// (collection, bucket) -> state; the partitions opened, to tighten after the load.
struct LoadPartitions {
  std::map<std::pair<std::string, std::int32_t>, PartitionState> states;
  std::set<std::string> opened;
};

// Writes `rows` in the current transaction; returns what happened to them.
LoadReport write_rows(PgConnection& connection, const std::vector<Row*>& rows, LoadMode mode, CollectionCache& cache,
                      const std::map<std::pair<std::string, std::string>, json>& new_queryables,
                      LoadPartitions& load_partitions, bool lz4) {
  LoadReport written;
  // pgstac's partition maintenance reads the partitions of every collection:
  // two loaders at once failed here ("relation _items_N does not exist") even
  // on different collections. tessera's loaders take turns on this step.
  connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera-load'))");
  if (lz4) {
    // Item content is compressed as it is stored (TOAST): lz4 costs a
    // fraction of the default pglz's time, and every reader decompresses
    // either transparently.
    connection.exec("SET LOCAL default_toast_compression = lz4");
  }
  std::vector<Row*> send;
  send.reserve(rows.size());
  // The collections as they are now, held (FOR SHARE) until commit: a row
  // built against a base item that changed since is rebuilt.
  {
    json ids = json::array();
    for (const Row* row : rows) {
      if (ids.empty() || ids.back() != row->item.collection) {
        ids.push_back(row->item.collection);
      }
    }
    const CollectionStates current = read_collection_states(
        connection.exec(std::string(kCollectionStateSql) +
                            " WHERE c.id IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY c.id FOR SHARE OF c",
                        {ids.dump()}));
    for (Row* row : rows) {
      const auto it = current.find(row->item.collection);
      if (it == current.end()) {
        cache.put(row->item.collection, nullptr);
        written.failed.push_back({row->item.id, row->item.collection,
                                  fmt::format("item '{}': collection '{}' does not exist in the catalog", row->item.id,
                                              row->item.collection)});
        continue;
      }
      if (!row->state->same_as(*it->second)) {
        cache.put(row->item.collection, it->second);
        row->state = it->second;
        build_row(*row);
      }
      send.push_back(row);
    }
  }
  if (mode != LoadMode::kUpsert) {
    // One duplicate fails a whole COPY: find the existing ones first (in any
    // of the collection's partitions).
    std::map<std::string, json> ids_by_collection;
    for (const Row* row : send) {
      ids_by_collection[row->item.collection].push_back(row->item.id);
    }
    std::set<std::pair<std::string, std::string>> existing;
    for (const auto& [collection, ids] : ids_by_collection) {
      const Result found = connection.exec(
          "SELECT id FROM items WHERE collection = $1 AND id IN (SELECT jsonb_array_elements_text($2::jsonb))",
          {collection, ids.dump()});
      for (int row = 0; row < PQntuples(found.get()); ++row) {
        existing.emplace(collection, PQgetvalue(found.get(), row, 0));
      }
    }
    std::erase_if(send, [&](const Row* row) {
      if (!existing.contains({row->item.collection, row->item.id})) {
        return false;
      }
      if (mode == LoadMode::kIgnore) {
        ++written.skipped;
        written.skipped_items.emplace_back(row->item.collection, row->item.id);
      } else {
        written.failed.push_back({row->item.id, row->item.collection,
                                  fmt::format("item '{}' already exists in collection '{}' (load mode insert)",
                                              row->item.id, row->item.collection)});
      }
      return true;
    });
  }
  if (!send.empty()) {
    // Partitions first, as pgstac's staging trigger does: check_partition per
    // (collection, time partition), in that order, with the batch's ranges.
    struct Range {
      std::int64_t lo, hi, end_lo, end_hi;
    };
    std::map<std::pair<std::string_view, std::int32_t>, Range> partitions;
    for (const Row* row : send) {
      const auto dt = row->item.pgstac_datetime;
      const auto edt = row->item.pgstac_end_datetime;
      const auto [it, fresh] = partitions.try_emplace({row->item.collection, row->bucket}, Range{dt, dt, edt, edt});
      if (!fresh) {
        it->second = {std::min(it->second.lo, dt), std::max(it->second.hi, dt), std::min(it->second.end_lo, edt),
                      std::max(it->second.end_hi, edt)};
      }
    }
    // A partition whose constraints already hold the batch's range is left
    // alone (check_partition would return at once). Otherwise check_partition
    // widens them to the union, rebuilding and validating them: a scan of the
    // partition. A load in time order would do that every batch, so the
    // second time in a load the constraints are opened to the partition's
    // whole range instead, and tightened to the data once, after the load.
    std::map<std::pair<std::string_view, std::int32_t>, std::string> leaf;  // -> partition name
    for (const auto& [key, range] : partitions) {
      const std::string collection(key.first);
      const std::string dtrange =
          fmt::format("[{},{}]", format_rfc3339_micros(range.lo), format_rfc3339_micros(range.hi));
      const std::string edtrange =
          fmt::format("[{},{}]", format_rfc3339_micros(range.end_lo), format_rfc3339_micros(range.end_hi));
      const Result held = connection.exec(
          "SELECT ps.partition, m.constraint_dtrange @> $2::tstzrange AND m.constraint_edtrange @> $3::tstzrange "
          "FROM partition_stats ps JOIN LATERAL partition_catalog_meta(ps.partition) m ON TRUE "
          "WHERE ps.collection = $1 AND ps.partition_dtrange @> $2::tstzrange LIMIT 1",
          {collection, dtrange, edtrange});
      if (PQntuples(held.get()) == 1 && std::string_view(PQgetvalue(held.get(), 0, 1)) == "t") {
        leaf[key] = PQgetvalue(held.get(), 0, 0);
        continue;
      }
      PartitionState& state = load_partitions.states[{collection, key.second}];
      std::optional<std::string> name;
      if (state.opened || state.widened_exactly > 0) {
        name = connection.scalar(
            "SELECT check_partition($1, tstzrange(lower(p.partition_range), "
            "upper(p.partition_range) - interval '1 microsecond', '[]'), tstzrange('-infinity', 'infinity', '[]')) "
            "FROM partition_name($1, $2::timestamptz) p",
            {collection, format_rfc3339_micros(range.lo)});
        state.opened = true;
        if (name) {
          load_partitions.opened.insert(*name);
        }
      } else {
        name = connection.scalar("SELECT check_partition($1, $2::tstzrange, $3::tstzrange)",
                                 {collection, dtrange, edtrange});
        ++state.widened_exactly;
      }
      if (!name) {
        throw Error(ErrorCode::kInternal, fmt::format("check_partition returned no partition for '{}'", collection));
      }
      leaf[key] = *name;
    }
    std::vector<std::string_view> data;
    data.reserve(send.size() + 2);
    data.push_back(binary_copy_header());
    for (const Row* row : send) {
      data.push_back(row->tuple);
    }
    data.push_back(binary_copy_trailer());
    constexpr const char* kColumns = "(id, geometry, collection, datetime, end_datetime, content)";
    if (mode == LoadMode::kInsert) {
      // Straight into each leaf partition, as pypgstac does: a COPY into
      // items would also collect every row for its statement trigger, which
      // only records the partition's statistics; that is done here instead.
      std::map<std::string, std::vector<std::string_view>> by_leaf;
      for (const Row* row : send) {
        auto& part = by_leaf[leaf.at({row->item.collection, row->bucket})];
        if (part.empty()) {
          part.push_back(binary_copy_header());
        }
        part.push_back(row->tuple);
      }
      for (auto& [name, part] : by_leaf) {
        part.push_back(binary_copy_trailer());
        connection.copy_in(fmt::format("COPY \"{}\" {} FROM STDIN (FORMAT binary)", name, kColumns), part);
        connection.exec("SELECT update_partition_stats_q($1, true)", {name});
      }
      written.loaded += send.size();
    } else {
      connection.exec("CREATE TEMP TABLE tessera_items_load (LIKE items) ON COMMIT DROP");
      connection.copy_in(fmt::format("COPY tessera_items_load {} FROM STDIN (FORMAT binary)", kColumns), data);
      if (mode == LoadMode::kIgnore) {
        // Rows another writer added since the check above stay and count as skipped.
        const Result inserted = connection.exec(
            "INSERT INTO items SELECT * FROM tessera_items_load ON CONFLICT DO NOTHING "
            "RETURNING collection, id");
        std::set<std::pair<std::string, std::string>> stored;
        for (int row = 0; row < PQntuples(inserted.get()); ++row) {
          stored.emplace(PQgetvalue(inserted.get(), row, 0), PQgetvalue(inserted.get(), row, 1));
        }
        for (const Row* row : send) {
          if (stored.contains({row->item.collection, row->item.id})) {
            ++written.loaded;
          } else {
            ++written.skipped;
            written.skipped_items.emplace_back(row->item.collection, row->item.id);
          }
        }
      } else {
        // pgstac's own upsert (items_staging_upsert): existing rows that
        // differ are locked in a fixed order and deleted, in whichever
        // partition they are, then the new ones inserted.
        connection.exec(
            "WITH locked AS (SELECT o.collection, o.id FROM tessera_items_load s "
            "JOIN items o ON (o.id = s.id AND o.collection = s.collection) WHERE o IS DISTINCT FROM s "
            "ORDER BY o.collection, o.id FOR UPDATE OF o) "
            "DELETE FROM items i USING locked l WHERE i.collection = l.collection AND i.id = l.id");
        connection.exec("INSERT INTO items SELECT * FROM tessera_items_load ON CONFLICT DO NOTHING");
        written.loaded += send.size();
      }
    }
  }
  // Typed queryables, per collection, make pgstac compare and sort numbers as
  // numbers, and list each collection's own properties.
  // One INSERT for all of them: pgstac's statement trigger on queryables then
  // maintains each collection's partition indexes once, not once per
  // property (upsert_queryable is a statement per property, ~70 ms each).
  // Only names no queryable covers yet for the collection are added, so
  // nothing upsert_queryable would replace exists.
  if (!new_queryables.empty()) {
    json entries = json::array();
    for (const auto& [key, schema] : new_queryables) {
      entries.push_back({{"c", key.first}, {"n", key.second}, {"d", schema}});
    }
    connection.exec(
        "INSERT INTO queryables (name, definition, collection_ids) "
        "SELECT e.n, e.d, ARRAY[e.c] FROM jsonb_to_recordset($1::jsonb) AS e(c text, n text, d jsonb) "
        "WHERE NOT EXISTS (SELECT 1 FROM queryables q WHERE q.name = e.n "
        "AND (q.collection_ids IS NULL OR e.c = ANY (q.collection_ids)))",
        {entries.dump()});
  }
  return written;
}

}  // namespace

namespace {

// The outbox events of the rows `written` reports neither failed nor skipped,
// in the transaction that wrote them.
void write_outbox_events(PgConnection& connection, const std::vector<Row*>& rows, const LoadReport& written) {
  std::set<std::pair<std::string_view, std::string_view>> not_written;
  for (const auto& failure : written.failed) {
    not_written.emplace(failure.collection, failure.id);
  }
  for (const auto& [collection, id] : written.skipped_items) {
    not_written.emplace(collection, id);
  }
  json events = json::array();
  for (const Row* row : rows) {
    if (row->item.outbox_events.empty() || not_written.contains({row->item.collection, row->item.id})) {
      continue;
    }
    for (const auto& event : row->item.outbox_events) {
      events.push_back({{"kind", event.kind}, {"subject", event.subject}, {"payload", json::parse(event.payload)}});
    }
  }
  if (!events.empty()) {
    connection.exec(kPgOutboxInsert, {events.dump(), std::to_string(outbox_now_micros())});
  }
}

}  // namespace

LoadReport PgstacCatalog::load_items(ItemSource& source, const LoadOptions& options) {
  if (options.batch_size == 0) {
    throw Error(ErrorCode::kInvalidInput, "load: batch_size must be at least 1");
  }
  LoadReport report;
  CollectionCache collections(*pool_);
  std::set<std::pair<std::string, std::string>> known_queryables;  // (collection, property)
  bool lz4 = false;  // the server can compress with lz4 (PostgreSQL 14+ built with it)
  {
    auto connection = pool_->acquire();
    lz4 = connection
              ->scalar("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)")
              .has_value();
    const Result names = connection->exec(
        "SELECT c.id, q.name FROM queryables q JOIN collections c "
        "ON q.collection_ids IS NULL OR c.id = ANY (q.collection_ids)");
    for (int row = 0; row < PQntuples(names.get()); ++row) {
      known_queryables.emplace(PQgetvalue(names.get(), row, 0), PQgetvalue(names.get(), row, 1));
    }
  }
  // Reading, validating and building the rows of the next batch run on a
  // second thread while this one writes the current batch. Only one
  // preparation runs at a time, so the source is never read from two threads.
  auto prepare_next = [&source, &options, &collections]() -> std::optional<PreparedBatch> {
    std::vector<ItemText> texts;
    if (!source.next(texts, options.batch_size)) {
      return std::nullopt;
    }
    PreparedBatch batch;
    batch.count = texts.size();
    batch.rows.reserve(texts.size());
    for (auto& text : texts) {
      Row row;
      try {
        // Validation is tessera's, the same as on SQLite, so both backends
        // accept and reject the same items with the same messages.
        row.item = prepare_item(std::move(text.text));
        if (options.outbox) {
          row.item.outbox_events = options.outbox(row.item.content);
        }
        row.state = collections.get(row.item.collection);
        if (!row.state) {
          batch.failed.push_back({row.item.id, row.item.collection,
                                  fmt::format("item '{}': collection '{}' does not exist in the catalog", row.item.id,
                                              row.item.collection)});
          continue;
        }
        build_row(row);
        batch.rows.push_back(std::move(row));
      } catch (const Error& error) {
        // An item that passed validation has moved its text into row.item.
        auto [id, collection] =
            row.item.id.empty() ? item_identity(text.text) : std::make_pair(row.item.id, row.item.collection);
        const std::string where = text.line > 0 ? fmt::format("{} line {}: ", source.name(), text.line) : std::string();
        batch.failed.push_back({std::move(id), std::move(collection), where + error.what()});
      }
    }
    return batch;
  };
  if (options.outbox) {
    with_transaction(*pool_, [](PgConnection& connection) {
      connection.exec(kPgSchemaLock);
      for (const char* statement : kPgOutboxDdl) {
        connection.exec(statement);
      }
    });
  }
  LoadPartitions load_partitions;
  std::size_t processed = 0;
  auto next = std::async(std::launch::async, prepare_next);
  for (;;) {
    std::optional<PreparedBatch> batch = next.get();
    if (!batch) {
      break;
    }
    next = std::async(std::launch::async, prepare_next);
    processed += batch->count;
    report.failed.insert(report.failed.end(), batch->failed.begin(), batch->failed.end());
    std::vector<Row>& rows = batch->rows;
    // Within a batch, insert keeps the first copy of an id (the others fail),
    // ignore keeps the first (the others are skipped), upsert the last.
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> chosen;
    std::vector<bool> write(rows.size(), false);
    LoadReport batch_report;
    for (std::size_t n = 0; n < rows.size(); ++n) {
      const PreparedItem& item = rows[n].item;
      const auto [it, fresh] =
          chosen.emplace(std::pair<std::string_view, std::string_view>(item.collection, item.id), n);
      if (fresh) {
        write[n] = true;
      } else if (options.mode == LoadMode::kUpsert) {
        write[it->second] = false;
        ++batch_report.loaded;  // replaced by a later copy in the same batch
        it->second = n;
        write[n] = true;
      } else if (options.mode == LoadMode::kIgnore) {
        ++batch_report.skipped;
        batch_report.skipped_items.emplace_back(item.collection, item.id);
      } else {
        batch_report.failed.push_back(
            {item.id, item.collection,
             fmt::format("item '{}' already exists in collection '{}' (load mode insert)", item.id, item.collection)});
      }
    }
    // (collection, property) -> JSON Schema of queryables this batch adds.
    std::map<std::pair<std::string, std::string>, json> new_queryables;
    std::vector<Row*> to_write;
    for (std::size_t n = 0; n < rows.size(); ++n) {
      if (!write[n]) {
        continue;
      }
      to_write.push_back(&rows[n]);
      for (const auto& [name, type] : rows[n].item.property_types) {
        if (!known_queryables.contains({rows[n].item.collection, name}) && std::string_view(type) != "null") {
          new_queryables.emplace(std::make_pair(rows[n].item.collection, name), queryable_schema(name, type));
        }
      }
    }
    // A batch the server refuses is split until the items it refuses are
    // alone, so one bad item never costs the good ones of its batch.
    std::function<void(const std::vector<Row*>&)> write_part = [&](const std::vector<Row*>& part) {
      if (part.empty()) {
        return;
      }
      try {
        LoadReport written;
        with_transaction(*pool_, [&](PgConnection& connection) {
          written = write_rows(connection, part, options.mode, collections, new_queryables, load_partitions, lz4);
          write_outbox_events(connection, part, written);
        });
        batch_report.merge(written);
        for (const auto& [key, schema] : new_queryables) {
          known_queryables.insert(key);
        }
      } catch (const Error& error) {
        // Only what an item can cause (bad data, a duplicate) is worth a split.
        const bool item_error = error.code() == ErrorCode::kInvalidInput || error.code() == ErrorCode::kConflict;
        if (!item_error || part.size() == 1) {
          const char* what = part.size() == 1 ? "not written" : "batch not written";
          for (const Row* row : part) {
            batch_report.failed.push_back({row->item.id, row->item.collection,
                                           fmt::format("item '{}': {}: {}", row->item.id, what, error.what()),
                                           error.retryable()});
          }
          return;
        }
        const auto half = part.begin() + static_cast<std::ptrdiff_t>(part.size() / 2);
        write_part(std::vector<Row*>(part.begin(), half));
        write_part(std::vector<Row*>(half, part.end()));
      }
    };
    write_part(to_write);
    report.merge(batch_report);
    if (options.progress) {
      options.progress(processed);
    }
  }
  // Partitions whose constraints were opened get them fitted to their data
  // (and their observed ranges recorded), as pypgstac does after each chunk.
  // The items are committed: a failure here is only logged.
  for (const auto& name : load_partitions.opened) {
    try {
      with_transaction(*pool_, [&](PgConnection& connection) {
        connection.exec("SELECT pg_advisory_xact_lock(hashtext('tessera-load'))");
        connection.exec("SELECT update_partition_stats_q($1)", {name});
      });
    } catch (const Error& error) {
      log(LogLevel::kWarning,
          fmt::format("pgstac partition {}: statistics not updated ({}); run update_partition_stats", name,
                      error.what()));
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
  const SearchRequest request =
      parse_search_request(request_json, {options_.max_limit, options_.max_geometry_vertices});
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

// --- Named locks ---------------------------------------------------------------

bool PgstacCatalog::try_lock(std::string_view name, std::string_view owner, std::chrono::seconds /*lease*/) {
  const std::lock_guard lock(locks_mutex_);
  if (locks_.contains(name)) {
    return false;
  }
  auto connection = connect_();
  if (connection->scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", {std::string(name)}) != "t") {
    return false;
  }
  locks_.emplace(std::string(name), std::make_pair(std::string(owner), std::move(connection)));
  return true;
}

void PgstacCatalog::renew_lock(std::string_view name, std::string_view /*owner*/, std::chrono::seconds /*lease*/) {
  // The advisory lock lives as long as its session: renewing is checking
  // that the session is still there.
  std::unique_ptr<PgConnection> lost;
  {
    const std::lock_guard lock(locks_mutex_);
    const auto found = locks_.find(name);
    if (found == locks_.end()) {
      throw Error(ErrorCode::kConflict, fmt::format("lock '{}' is not held", name));
    }
    try {
      static_cast<void>(found->second.second->scalar("SELECT 1", {}));
      return;
    } catch (const Error&) {
      lost = std::move(found->second.second);
      locks_.erase(found);
    }
  }
  throw Error(ErrorCode::kConflict, fmt::format("lock '{}' was lost: the PostgreSQL session holding it is gone", name));
}

void PgstacCatalog::unlock(std::string_view name, std::string_view owner) {
  std::unique_ptr<PgConnection> connection;
  {
    const std::lock_guard lock(locks_mutex_);
    const auto found = locks_.find(name);
    if (found == locks_.end() || found->second.first != owner) {
      return;
    }
    connection = std::move(found->second.second);
    locks_.erase(found);
  }
  // Closing the session releases its advisory locks either way.
  connection->exec("SELECT pg_advisory_unlock(hashtextextended($1, 0))", {std::string(name)});
}

}  // namespace tessera::catalog::pgstac
