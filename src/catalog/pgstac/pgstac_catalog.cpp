#include "catalog/pgstac/pgstac_catalog.hpp"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "catalog/item_changes.hpp"
#include "catalog/load_pipeline.hpp"
#include "catalog/outbox_schema.hpp"
#include "catalog/pgstac/pgstac_rows.hpp"
#include "catalog/search_request.hpp"
#include "catalog/stac.hpp"
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

// pgstac's free-text test of an item (the `q` of stac_search_to_where) is not
// indexed by pgstac: this GIN index holds exactly its expression, character
// for character, so the planner can answer `q` from it. Created once (a
// SHARE lock on items while it builds, bounded by statement_timeout); a role
// that may not create it leaves searches correct, only slower.
constexpr const char* kFreeTextIndexName = "items_tessera_free_text_idx";
constexpr const char* kFreeTextIndexSql =
    "CREATE INDEX IF NOT EXISTS items_tessera_free_text_idx ON items USING gin (("
    "to_tsvector('english', content->'properties'->>'description') || "
    "to_tsvector('english', coalesce(content->'properties'->>'title', '')) || "
    "to_tsvector('english', coalesce(content->'properties'->>'keywords', ''))))";

void ensure_free_text_index(PgConnection& connection) {
  if (connection.scalar("SELECT 1 FROM pg_indexes WHERE schemaname = 'pgstac' AND indexname = $1",
                        {std::string(kFreeTextIndexName)})) {
    return;
  }
  try {
    connection.exec(kFreeTextIndexSql);
  } catch (const Error& error) {
    log(LogLevel::kWarning,
        fmt::format("pgstac: free-text index {} not created; q searches scan the items instead ({})",
                    kFreeTextIndexName, error.what()));
  }
}

// Installs the item change trigger once per database (under the schema lock:
// two processes opening the catalog at once create it once). A role that may
// not create it leaves the catalog usable; item_changes() then says why.
void ensure_item_change_trigger(PgConnection& connection) {
  if (connection.scalar("SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = 'pgstac.items'::regclass",
                        {std::string(kPgItemChangesTrigger)})) {
    return;
  }
  try {
    connection.exec("BEGIN");
    connection.exec(kPgSchemaLock);
    for (const char* statement : kPgItemChangesDdl) {
      connection.exec(statement);
    }
    if (!connection.scalar("SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = 'pgstac.items'::regclass",
                           {std::string(kPgItemChangesTrigger)})) {
      connection.exec(kPgItemChangesCreateTrigger);
    }
    connection.exec("COMMIT");
  } catch (const Error& error) {
    connection.rollback();
    log(LogLevel::kWarning,
        fmt::format("pgstac: item change trigger {} not created; item changes are not recorded ({})",
                    kPgItemChangesTrigger, error.what()));
  }
}

std::optional<double> optional_number(const PGresult* rows, int row, int column) {
  return PQgetisnull(rows, row, column) ? std::nullopt
                                        : std::optional<double>(std::stod(PQgetvalue(rows, row, column)));
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
  ensure_free_text_index(*connection);
  ensure_item_change_trigger(*connection);
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

json PgstacCatalog::get_item(std::string_view collection, std::string_view id) {
  // pgstac's get_item() hydrated in C++ (see search_page).
  auto connection = pool_->acquire();
  const std::optional<std::string> stored =
      connection->scalar("SELECT content_nonhydrated(i) FROM items i WHERE i.collection = $2 AND i.id = $1",
                         {std::string(id), std::string(collection)});
  if (!stored) {
    throw Error(ErrorCode::kNotFound, fmt::format("item '{}' not found in collection '{}'", id, collection));
  }
  JsonTree tree;
  tree.parse(*stored);
  std::string item;
  hydrate_feature(tree, JsonTree::kRoot, item);
  return parse_json_text(item);
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

// --- Item change events ------------------------------------------------------

std::vector<ItemChange> PgstacCatalog::item_changes(std::int64_t after, std::size_t limit) {
  check_item_changes_limit(limit);
  auto connection = pool_->acquire();
  const auto rows = connection->exec(kPgItemChangesSelect, {std::to_string(after), std::to_string(limit)});
  std::vector<ItemChange> changes;
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    const auto text = [&](int column) { return std::string(PQgetvalue(rows.get(), row, column)); };
    const auto number = [&](int column) { return optional_number(rows.get(), row, column); };
    ItemChange change;
    change.id = std::stoll(text(0));
    change.collection = text(1);
    change.item_id = text(2);
    change.operation = item_operation_from_name(text(3));
    change.old_bbox = item_change_bbox(number(4), number(5), number(6), number(7));
    change.new_bbox = item_change_bbox(number(8), number(9), number(10), number(11));
    change.created_us = std::stoll(text(12));
    changes.push_back(std::move(change));
  }
  return changes;
}

std::int64_t PgstacCatalog::last_item_change() {
  auto connection = pool_->acquire();
  return std::stoll(*connection->scalar("SELECT coalesce(max(id), 0) FROM tessera.item_changes"));
}

std::size_t PgstacCatalog::prune_item_changes(std::chrono::seconds age) {
  const std::int64_t cutoff = outbox_now_micros() - std::chrono::duration_cast<std::chrono::microseconds>(age).count();
  auto connection = pool_->acquire();
  const auto pruned =
      connection->exec("DELETE FROM tessera.item_changes WHERE created_us < $1", {std::to_string(cutoff)});
  return static_cast<std::size_t>(std::stoull(PQcmdTuples(pruned.get())));
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

namespace {

// The JSON Schema type of a property from the JSON types its values have in a
// collection, or null when they disagree (pgstac then reads it as text).
json inferred_definition(const std::string& name, const json& types) {
  if (!types.is_array() || types.size() != 1 || !types[0].is_string()) {
    return nullptr;
  }
  const auto& type = types[0].get_ref<const std::string&>();
  if (type != "number" && type != "string" && type != "boolean" && type != "array") {
    return nullptr;
  }
  json definition = {{"type", type}};
  if (type == "string" &&
      (name == "start_datetime" || name == "end_datetime" || name == "created" || name == "updated")) {
    definition["format"] = "date-time";
  }
  return definition;
}

}  // namespace

void PgstacCatalog::index_property(std::string_view property) {
  const std::string name = indexable_property(property);
  if (name == "id" || name == "collection" || name == "datetime" || name == "end_datetime" || name == "geometry") {
    return;  // pgstac indexes these columns itself
  }
  with_transaction(*pool_, [&](PgConnection& connection) {
    // One indexed, typed queryable per collection that has the property;
    // pgstac then builds the index on its partitions, and compares and sorts
    // the property by its type (to_float for numbers). A queryable that
    // declares a type (tessera's loads register one) keeps it; otherwise the
    // type is what the collection's values have, so a collection another tool
    // loaded (pypgstac) sorts eo:cloud_cover as numbers too.
    const Result rows = connection.exec(
        "SELECT c.id, q.definition, q.property_wrapper, "
        "(SELECT jsonb_agg(DISTINCT jsonb_typeof(i.content->'properties'->$1)) FROM items i "
        "WHERE i.collection = c.id AND jsonb_typeof(i.content->'properties'->$1) <> 'null') "
        "FROM collections c LEFT JOIN LATERAL (SELECT q.definition, q.property_wrapper FROM queryables q "
        "WHERE q.name = $1 AND (q.collection_ids IS NULL OR c.id = ANY (q.collection_ids)) "
        "ORDER BY q.collection_ids IS NULL, q.id LIMIT 1) q ON TRUE ORDER BY c.id",
        {name});
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      const auto text = [&](int column) -> std::optional<std::string> {
        if (PQgetisnull(rows.get(), row, column) != 0) {
          return std::nullopt;
        }
        return std::string(PQgetvalue(rows.get(), row, column));
      };
      const std::string collection = *text(0);
      const json types = text(3) ? json::parse(*text(3)) : json();
      if (types.is_null()) {
        continue;  // no item of this collection has the property
      }
      json definition = text(1) ? json::parse(*text(1)) : json();
      const std::optional<std::string> wrapper = text(2);
      const bool typed = definition.is_object() && (definition.contains("type") || definition.contains("format"));
      if (!typed && !wrapper) {
        definition = inferred_definition(name, types);
      }
      connection.exec("SELECT upsert_queryable($1, $2::jsonb, $3, 'BTREE', ARRAY[$4])",
                      {name, definition.is_null() ? Param() : Param(definition.dump()), wrapper, collection});
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
