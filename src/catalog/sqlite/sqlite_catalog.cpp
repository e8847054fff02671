#include "catalog/sqlite/sqlite_catalog.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "catalog/deadline.hpp"
#include "catalog/free_text.hpp"
#include "catalog/item_changes.hpp"
#include "catalog/outbox_schema.hpp"
#include "catalog/search_page.hpp"
#include "catalog/search_request.hpp"
#include "catalog/sqlite/item_codec.hpp"
#include "catalog/sqlite/sqlite_functions.hpp"
#include "catalog/sqlite/sqlite_query.hpp"
#include "catalog/sqlite/sqlite_schema.sql.hpp"
#include "catalog/stac.hpp"
#include "tessera/datetime.hpp"
#include "tessera/error.hpp"

namespace tessera::catalog::sqlite {

using nlohmann::json;

namespace {

// Connections per file catalog: enough for the host's threads to search in
// parallel; an in-memory database exists only in its one connection.
constexpr std::size_t kFilePoolSize = 8;

// Above this many R*Tree candidates a search scans in sort order and checks
// the bbox inline instead of collecting (and sorting) every candidate.
constexpr int kRtreeCandidateLimit = 4000;

std::optional<double> optional_real(const Statement& statement, int column) {
  return statement.is_null(column) ? std::nullopt : std::optional<double>(statement.real(column));
}

json parse_stored(std::string_view text) { return json::parse(text); }

json parse_stored_item(std::string_view stored) { return json::parse(decompress_item(stored)); }

json column_value(const Statement& statement, int column) {
  switch (statement.column_type(column)) {
    case SQLITE_INTEGER:
      return statement.int64(column);
    case SQLITE_FLOAT:
      return statement.real(column);
    case SQLITE_TEXT:
      return std::string(statement.text(column));
    default:
      return nullptr;
  }
}

// Replaces the free-text row of a collection (none without a description).
void write_collection_text(Connection& connection, const json& collection) {
  const auto& id = collection["id"].get_ref<const std::string&>();
  connection.cached("DELETE FROM collections_fts WHERE id = ?").bind(1, id).run();
  if (const auto text = searchable_text(collection)) {
    connection.cached("INSERT INTO collections_fts (id, text) VALUES (?, ?)")
        .bind(1, id)
        .bind(2, fts5_document(text->description, text->title, text->keywords))
        .run();
  }
}

[[noreturn]] void collection_not_found(std::string_view id) {
  throw Error(ErrorCode::kNotFound, fmt::format("collection '{}' not found", id));
}

}  // namespace

void write_item_text(Connection& connection, std::int64_t rowid, const std::optional<SearchableText>& text) {
  connection.cached("DELETE FROM items_fts WHERE rowid = ?").bind(1, rowid).run();
  if (text) {
    connection.cached("INSERT INTO items_fts (rowid, text) VALUES (?, ?)")
        .bind(1, rowid)
        .bind(2, fts5_document(text->description, text->title, text->keywords))
        .run();
  }
}

SqliteCatalog::SqliteCatalog(const std::string& path, const CatalogOptions& options) : path_(path), options_(options) {
  const bool in_memory = path == ":memory:";
  pool_ = std::make_unique<ConnectionPool>([this] { return connect(); }, in_memory ? 1 : kFilePoolSize);
  database_.sqlite = pool_.get();
  auto connection = pool_->acquire();
  create_schema(*connection);
}

std::unique_ptr<Connection> SqliteCatalog::connect() const {
  // SQLite's per-allocation memory statistics take a global mutex; tessera
  // does not read them. Only possible before SQLite initialises: if another
  // library got there first, the call fails harmlessly.
  static std::once_flag configure_once;
  std::call_once(configure_once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  auto connection =
      std::make_unique<Connection>(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options_.busy_timeout_ms);
  register_functions(connection->get());
  // Large pages keep a whole item (typically 2-10 KB) on one page; the
  // setting only applies to a new database.
  // WAL lets readers (in this and other processes) run while one writer
  // writes; NORMAL synchronous keeps every committed batch intact after a
  // process crash (only an OS crash can lose the last commits).
  // A WAL file keeps the size it grew to (a large load lets it grow to 1
  // GiB) unless journal_size_limit truncates it when a writer restarts it.
  connection->exec(
      "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA "
      "temp_store=MEMORY; PRAGMA journal_size_limit=67108864;");
  connection->exec(kDefaultReadPragmas);
  return connection;
}

void SqliteCatalog::create_schema(Connection& connection) const {
  auto& version_query = connection.cached("PRAGMA user_version");
  version_query.step();
  const auto version = version_query.int64(0);
  version_query.reset();
  if (version > kSchemaVersion) {
    throw Error(ErrorCode::kUnsupported, fmt::format("catalog '{}' has schema version {}, newer than this tessera ({})",
                                                     path_, version, kSchemaVersion));
  }
  if (version == kSchemaVersion) {
    return;
  }
  auto& tables = connection.cached("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  tables.step();
  const auto table_count = tables.int64(0);
  tables.reset();
  if (version == 0 && table_count > 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("'{}' is an SQLite database but not a tessera catalog", path_));
  }
  // Every statement of the schema is CREATE ... IF NOT EXISTS, so running it
  // over an older catalog adds what that version lacked.
  WriteTransaction transaction(connection);
  connection.exec(kSchemaSql);
  connection.exec(kSqliteItemChangesDdl);
  if (version > 0 && version < kFreeTextSchemaVersion) {
    index_free_text(connection);
  }
  connection.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  transaction.commit();
}

void SqliteCatalog::index_free_text(Connection& connection) {
  auto& collections = connection.cached("SELECT content FROM collections");
  while (collections.step()) {
    write_collection_text(connection, parse_stored(collections.text(0)));
  }
  auto& items = connection.cached("SELECT rowid, content FROM items");
  while (items.step()) {
    const json item = parse_stored_item(items.blob(1));
    write_item_text(connection, items.int64(0), searchable_text(item.value("properties", json::object())));
  }
}

// --- Collections -------------------------------------------------------------

void SqliteCatalog::write_collection(const json& collection, CollectionWrite how) {
  validate_collection(collection);
  const auto& id = collection["id"].get_ref<const std::string&>();
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  auto& exists = connection->cached("SELECT 1 FROM collections WHERE id = ?");
  exists.bind(1, id);
  const bool found = exists.step();
  exists.reset();
  if (found && how == CollectionWrite::kCreate) {
    throw Error(ErrorCode::kConflict, fmt::format("collection '{}' already exists", id));
  }
  if (!found && how == CollectionWrite::kUpdate) {
    collection_not_found(id);
  }
  auto& write = connection->cached(
      "INSERT INTO collections (id, content) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET content = excluded.content");
  write.bind(1, id).bind(2, collection.dump()).run();
  write_collection_text(*connection, collection);
  transaction.commit();
}

void SqliteCatalog::create_collection(const json& collection) {
  write_collection(collection, CollectionWrite::kCreate);
}
void SqliteCatalog::update_collection(const json& collection) {
  write_collection(collection, CollectionWrite::kUpdate);
}
void SqliteCatalog::upsert_collection(const json& collection) {
  write_collection(collection, CollectionWrite::kUpsert);
}

void SqliteCatalog::delete_collection(std::string_view id, bool cascade) {
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  auto& exists = connection->cached("SELECT 1 FROM collections WHERE id = ?");
  exists.bind(1, id);
  if (!exists.step()) {
    collection_not_found(id);
  }
  exists.reset();
  auto& count = connection->cached("SELECT count(*) FROM items WHERE collection = ?");
  count.bind(1, id).step();
  const auto items = count.int64(0);
  count.reset();
  if (items > 0 && !cascade) {
    throw Error(ErrorCode::kConflict,
                fmt::format("collection '{}' has {} items; delete them first or pass cascade", id, items));
  }
  connection->cached("DELETE FROM items_rtree WHERE id IN (SELECT rowid FROM items WHERE collection = ?)")
      .bind(1, id)
      .run();
  connection->cached("DELETE FROM items_fts WHERE rowid IN (SELECT rowid FROM items WHERE collection = ?)")
      .bind(1, id)
      .run();
  connection->cached("DELETE FROM collections_fts WHERE id = ?").bind(1, id).run();
  connection->cached("DELETE FROM items WHERE collection = ?").bind(1, id).run();
  connection->cached("DELETE FROM queryables WHERE collection = ?").bind(1, id).run();
  connection->cached("DELETE FROM collections WHERE id = ?").bind(1, id).run();
  transaction.commit();
}

json SqliteCatalog::get_collection(std::string_view id) {
  auto connection = pool_->acquire();
  auto& select = connection->cached("SELECT content FROM collections WHERE id = ?");
  select.bind(1, id);
  if (!select.step()) {
    collection_not_found(id);
  }
  json collection = parse_stored(select.text(0));
  select.reset();
  return collection;
}

json SqliteCatalog::collections() {
  auto connection = pool_->acquire();
  auto& select = connection->cached("SELECT content FROM collections ORDER BY id");
  json all = json::array();
  while (select.step()) {
    all.push_back(parse_stored(select.text(0)));
  }
  return all;
}

json SqliteCatalog::update_collection_extent(std::string_view id) {
  json collection = get_collection(id);
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  auto& extent = connection->cached(
      "SELECT min(minx), min(miny), max(maxx), max(maxy), max(minx > maxx), min(datetime), max(end_datetime), "
      "count(*) FROM items WHERE collection = ?");
  extent.bind(1, id).step();
  if (extent.int64(7) > 0) {
    if (!extent.is_null(0)) {
      const bool crosses = extent.int64(4) != 0;
      collection["extent"]["spatial"]["bbox"] = json::array({json::array(
          {crosses ? -180.0 : extent.real(0), extent.real(1), crosses ? 180.0 : extent.real(2), extent.real(3)})});
    }
    collection["extent"]["temporal"]["interval"] =
        json::array({json::array({format_rfc3339_micros(extent.int64(5)), format_rfc3339_micros(extent.int64(6))})});
  }
  extent.reset();
  connection->cached("UPDATE collections SET content = ? WHERE id = ?").bind(1, collection.dump()).bind(2, id).run();
  transaction.commit();
  return collection;
}

// --- Items -------------------------------------------------------------------

json SqliteCatalog::get_item(std::string_view collection, std::string_view id) {
  auto connection = pool_->acquire();
  auto& select = connection->cached("SELECT content FROM items WHERE collection = ? AND id = ?");
  select.bind(1, collection).bind(2, id);
  if (!select.step()) {
    throw Error(ErrorCode::kNotFound, fmt::format("item '{}' not found in collection '{}'", id, collection));
  }
  json item = parse_stored_item(select.blob(0));
  select.reset();
  return item;
}

// --- Item change events ------------------------------------------------------

std::vector<ItemChange> SqliteCatalog::item_changes(std::int64_t after, std::size_t limit) {
  check_item_changes_limit(limit);
  auto connection = pool_->acquire();
  auto& select = connection->cached(kSqliteItemChangesSelect);
  select.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  std::vector<ItemChange> changes;
  while (select.step()) {
    ItemChange change;
    change.id = select.int64(0);
    change.collection = select.text(1);
    change.item_id = select.text(2);
    change.operation = item_operation_from_name(select.text(3));
    change.old_bbox = item_change_bbox(optional_real(select, 4), optional_real(select, 5), optional_real(select, 6),
                                       optional_real(select, 7));
    change.new_bbox = item_change_bbox(optional_real(select, 8), optional_real(select, 9), optional_real(select, 10),
                                       optional_real(select, 11));
    change.created_us = select.int64(12);
    changes.push_back(std::move(change));
  }
  select.reset();
  return changes;
}

std::int64_t SqliteCatalog::last_item_change() {
  auto connection = pool_->acquire();
  auto& select = connection->cached("SELECT coalesce(max(id), 0) FROM item_changes");
  select.step();
  const auto last = select.int64(0);
  select.reset();
  return last;
}

std::size_t SqliteCatalog::prune_item_changes(std::chrono::seconds age) {
  const std::int64_t cutoff = outbox_now_micros() - std::chrono::duration_cast<std::chrono::microseconds>(age).count();
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  connection->cached("DELETE FROM item_changes WHERE created_us < ?").bind(1, cutoff).run();
  const auto pruned = static_cast<std::size_t>(connection->changes());
  transaction.commit();
  return pruned;
}

void SqliteCatalog::delete_item(std::string_view collection, std::string_view id) {
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  auto& select = connection->cached("SELECT rowid FROM items WHERE collection = ? AND id = ?");
  select.bind(1, collection).bind(2, id);
  if (!select.step()) {
    throw Error(ErrorCode::kNotFound, fmt::format("item '{}' not found in collection '{}'", id, collection));
  }
  const std::int64_t rowid = select.int64(0);
  select.reset();
  connection->cached("DELETE FROM items_rtree WHERE id = ?").bind(1, rowid).run();
  write_item_text(*connection, rowid, std::nullopt);
  connection->cached("DELETE FROM items WHERE rowid = ?").bind(1, rowid).run();
  transaction.commit();
}

// --- Search ------------------------------------------------------------------

SearchPage SqliteCatalog::search_page(const json& request_json) {
  SearchPage page{
      parse_search_request(request_json, {options_.max_limit, options_.max_geometry_vertices}), {}, {}, {}, {}};
  const SearchRequest& request = page.request;
  auto connection = pool_->acquire();
  // The statement timeout, or the caller's earlier deadline (a mosaic's budget).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.statement_timeout_ms);
  if (const auto caller = thread_deadline()) {
    deadline = std::min(deadline, *caller);
  }
  const StatementDeadline interrupt(*connection, deadline);

  SpatialPlan plan = SpatialPlan::kInline;
  if (const auto box = spatial_filter_box(request)) {
    Sql probe;
    probe.append("SELECT count(*) FROM (")
        .append(rtree_rowids(*box))
        .append(" LIMIT ")
        .append(std::to_string(kRtreeCandidateLimit + 1))
        .append(")");
    auto statement = connection->prepare(probe.text);
    probe.bind_to(statement);
    statement.step();
    if (statement.int64(0) <= kRtreeCandidateLimit) {
      plan = SpatialPlan::kRtree;
    }
  }
  // Filters and sorts on a property compare it as its queryable type says
  // (numbers as numbers), which only they need to know.
  SearchTypes types;
  if (request.filter || !request.sortby.empty()) {
    types = SearchTypes(QueryableTypes::of(*connection), request.collections);
  }
  const SearchSql sql = build_search_sql(request, plan, types);

  Sql select;
  select.append("SELECT i.content, i.id, i.collection");
  for (const auto& expression : sql.sort_expressions) {
    select.append(", ").append(expression);
  }
  select.append(" FROM items i WHERE ").append(sql.where);
  if (!sql.keyset.text.empty()) {
    select.append(" AND ").append(sql.keyset);
  }
  select.append(" ").append(sql.order_by).append(" LIMIT ").append(std::to_string(request.limit + 1));

  auto statement = connection->prepare(select.text);
  select.bind_to(statement);
  struct Row {
    std::string item;  // JSON text as stored
    std::string id;
    std::string collection;
    json sort_values;
  };
  std::vector<Row> rows;
  bool more = false;
  while (statement.step()) {
    if (rows.size() == request.limit) {
      more = true;
      break;
    }
    Row row{decompress_item(statement.blob(0)), std::string(statement.text(1)), std::string(statement.text(2)),
            json::array()};
    for (std::size_t n = 0; n < sql.sort_fields.size(); ++n) {
      row.sort_values.push_back(column_value(statement, static_cast<int>(3 + n)));
    }
    rows.push_back(std::move(row));
  }
  if (sql.reversed) {
    std::reverse(rows.begin(), rows.end());
  }

  page.items.reserve(rows.size());
  for (auto& row : rows) {
    page.items.push_back(std::move(row.item));
  }
  if (request.count_matched) {
    // Counting visits every match, so it always narrows through the R*Tree.
    Sql count;
    if (auto bbox_count = bbox_only_count(request)) {
      count = std::move(*bbox_count);
    } else {
      const Sql where =
          plan == SpatialPlan::kRtree ? sql.where : build_search_sql(request, SpatialPlan::kRtree, types).where;
      count.append("SELECT count(*) FROM items i WHERE ").append(where);
    }
    auto counter = connection->prepare(count.text);
    count.bind_to(counter);
    counter.step();
    page.number_matched = counter.int64(0);
  }
  if (!rows.empty()) {
    auto cursor_at = [](const Row& row, bool forward) {
      return PageCursor{forward, row.sort_values, row.id, row.collection}.to_position();
    };
    if (sql.reversed || more) {
      page.next_token = encode_page_token(request, cursor_at(rows.back(), true));
    }
    if (sql.reversed ? more : request.position.has_value()) {
      page.prev_token = encode_page_token(request, cursor_at(rows.front(), false));
    }
  }
  return page;
}

CollectionPage SqliteCatalog::collection_page(const CollectionSearchRequest& request) {
  const SearchRequest& search = request.search;
  Sql select;
  select.append("SELECT content FROM collections");
  if (search.q) {
    select.append(" WHERE id IN (").append(free_text_keys(*search.q, "collections_fts", "id")).append(")");
  }
  select.append(" ORDER BY id");
  auto connection = pool_->acquire();
  auto statement = connection->prepare(select.text);
  select.bind_to(statement);
  // Collections are few: their extents are tested here, as pgstac tests them.
  CollectionPage page;
  while (statement.step()) {
    json collection = parse_stored(statement.text(0));
    if (!collection_in_extent(collection, search)) {
      continue;
    }
    if (static_cast<std::size_t>(page.number_matched) >= request.offset && page.collections.size() < search.limit) {
      page.collections.push_back(std::move(collection));
    }
    ++page.number_matched;
  }
  return page;
}

void SqliteCatalog::index_property(std::string_view property) {
  const std::string name = indexable_property(property);
  if (!is_nullable_field(name)) {
    return;  // id, collection and the datetimes are indexed already
  }
  // The index holds exactly the expressions search sorts and filters by
  // (SQLite matches them to queries on the aliased table).
  const std::string field = fmt::format("tsr_property(content, '{}')", name);
  std::string index_name = "items_property_";
  for (const char c : name) {
    index_name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  auto connection = pool_->acquire();
  connection->exec(fmt::format("CREATE INDEX IF NOT EXISTS \"{}\" ON items (({} IS NULL), {}, collection, id)",
                               index_name, field, field));
  connection->exec("PRAGMA analysis_limit=1000; ANALYZE");
}

json SqliteCatalog::queryables(std::string_view collection) {
  auto connection = pool_->acquire();
  if (!collection.empty()) {
    auto& exists = connection->cached("SELECT 1 FROM collections WHERE id = ?");
    exists.bind(1, collection);
    if (!exists.step()) {
      collection_not_found(collection);
    }
    exists.reset();
  }
  auto& select = collection.empty()
                     ? connection->cached("SELECT name, type FROM queryables ORDER BY name, type")
                     : connection->cached("SELECT name, type FROM queryables WHERE collection = ? ORDER BY name, type");
  if (!collection.empty()) {
    select.bind(1, collection);
  }
  json properties = {
      {"id", {{"title", "Item ID"}, {"type", "string"}}},
      {"collection", {{"title", "Collection ID"}, {"type", "string"}}},
      {"geometry", {{"title", "Item geometry"}, {"$ref", "https://geojson.org/schema/Feature.json"}}},
      {"datetime", {{"title", "Acquisition time"}, {"type", "string"}, {"format", "date-time"}}},
  };
  std::map<std::string, std::set<std::string>> types;
  while (select.step()) {
    types[std::string(select.text(0))].emplace(select.text(1));
  }
  for (auto& [name, type_set] : types) {
    if (name == "datetime") {
      continue;
    }
    // Integers are numbers to queryables, as pgstac registers them.
    if (type_set.erase("integer") > 0) {
      type_set.insert("number");
    }
    type_set.erase("null");
    json schema = json::object();
    if (type_set.size() == 1) {
      schema["type"] = *type_set.begin();
    } else if (type_set.size() > 1) {
      schema["type"] = json(type_set);
    }
    if (name == "start_datetime" || name == "end_datetime" || name == "created" || name == "updated") {
      schema["format"] = "date-time";
    }
    properties[name] = schema;
  }
  return {
      {"$schema", "https://json-schema.org/draft/2019-09/schema"},
      {"$id", collection.empty() ? std::string("queryables") : fmt::format("collections/{}/queryables", collection)},
      {"type", "object"},
      {"title", "Queryables"},
      {"properties", properties},
      {"additionalProperties", true}};
}

// --- Named locks ---------------------------------------------------------------

namespace {

// Created on first use: catalogs that never lock carry no such table.
constexpr const char* kLocksTableSql =
    "CREATE TABLE IF NOT EXISTS tessera_locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "expires_unix_ms INTEGER NOT NULL)";

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool SqliteCatalog::try_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) {
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  connection->exec(kLocksTableSql);
  const std::int64_t now = unix_ms_now();
  connection->prepare("DELETE FROM tessera_locks WHERE name = ? AND expires_unix_ms < ?")
      .bind(1, name)
      .bind(2, now)
      .run();
  auto insert =
      connection->prepare("INSERT OR IGNORE INTO tessera_locks (name, owner, expires_unix_ms) VALUES (?, ?, ?)");
  insert.bind(1, name).bind(2, owner).bind(3, now + std::chrono::milliseconds(lease).count()).run();
  const bool taken = connection->changes() == 1;
  transaction.commit();
  return taken;
}

void SqliteCatalog::renew_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) {
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  connection->exec(kLocksTableSql);
  connection->prepare("UPDATE tessera_locks SET expires_unix_ms = ? WHERE name = ? AND owner = ?")
      .bind(1, unix_ms_now() + std::chrono::milliseconds(lease).count())
      .bind(2, name)
      .bind(3, owner)
      .run();
  const bool held = connection->changes() == 1;
  transaction.commit();
  if (!held) {
    throw Error(ErrorCode::kConflict, fmt::format("lock '{}' was lost (taken over after its lease)", name));
  }
}

void SqliteCatalog::unlock(std::string_view name, std::string_view owner) {
  auto connection = pool_->acquire();
  WriteTransaction transaction(*connection);
  connection->exec(kLocksTableSql);
  connection->prepare("DELETE FROM tessera_locks WHERE name = ? AND owner = ?").bind(1, name).bind(2, owner).run();
  transaction.commit();
}

}  // namespace tessera::catalog::sqlite
