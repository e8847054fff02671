#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/export.hpp"
#include "tessera/geometry.hpp"

namespace tessera {

namespace catalog {
struct Database;                 // internal: the backend's database, for tessera's own modules
class LoadWriter;                // internal: a backend's half of a load
struct SearchPage;               // internal: one page of a search as the backend answers it
struct CollectionSearchRequest;  // internal: a checked collection search
struct CollectionPage;           // internal: one page of collections as the backend answers it
}  // namespace catalog

// How load() treats an item whose (collection, id) already exists.
enum class LoadMode {
  kInsert,  // a duplicate is a per-item failure
  kIgnore,  // keep the existing item; the new one counts as skipped
  kUpsert,  // replace the existing item
};

// "insert" | "ignore" | "upsert"; anything else is InvalidInput naming them.
TESSERA_API LoadMode load_mode_from_name(std::string_view name);
TESSERA_API std::string_view load_mode_name(LoadMode mode) noexcept;
TESSERA_API std::vector<std::string> load_mode_names();

// An event a load writes to the catalog's outbox (see docs/matching.md).
struct TESSERA_API OutboxEvent {
  std::string kind;     // what happened, e.g. "run_requested"
  std::string subject;  // whom it concerns (a model id): consumers select by it
  std::string payload;  // JSON text
};

// Returns the outbox events an item causes, given its JSON text.
using OutboxHook = std::function<std::vector<OutboxEvent>(std::string_view item_text)>;

// What happened to an item, as the catalog's change events record it.
enum class ItemOperation {
  kInsert,   // a new (collection, id)
  kReplace,  // an existing item rewritten (upsert, update)
  kDelete,   // the item removed (also by a cascading collection delete)
};
// "insert" | "replace" | "delete".
TESSERA_API ItemOperation item_operation_from_name(std::string_view name);
TESSERA_API std::string_view item_operation_name(ItemOperation operation) noexcept;
TESSERA_API std::vector<std::string> item_operation_names();

// One change to the items, written by the database in the transaction that
// made it (a trigger), whoever wrote it: tessera's loads and deletes, and on
// PgSTAC also pypgstac or any other client. Consumers keep their own cursor
// (the last `id` they handled) and read on from it: reading acknowledges
// nothing, so consumers never interfere with each other.
struct TESSERA_API ItemChange {
  std::int64_t id = 0;  // increasing in commit order of the writers' transactions
  std::string collection;
  std::string item_id;
  ItemOperation operation = ItemOperation::kInsert;
  // The item's bbox before (replace, delete) and after (insert, replace) the
  // change; absent for an item without geometry.
  std::optional<Bbox> old_bbox;
  std::optional<Bbox> new_bbox;
  std::int64_t created_us = 0;  // microseconds since the epoch, the database's clock

  // {"id", "collection", "item_id", "operation", "old_bbox"?, "new_bbox"?, "created_us"}.
  [[nodiscard]] nlohmann::json to_json() const;
};

struct TESSERA_API LoadOptions {
  LoadMode mode = LoadMode::kInsert;
  // Items per transaction: each batch is written all-or-nothing.
  std::size_t batch_size = 1000;
  // Called after each batch with the number of items processed so far.
  std::function<void(std::size_t processed)> progress;
  // Optional: called for every valid item; its events are written in the
  // transaction that writes the item, so they exist exactly when the item
  // does (a skipped item writes none). A hook that throws fails that item.
  OutboxHook outbox;
};

struct TESSERA_API LoadFailure {
  std::string id;          // "" when the item has no readable id
  std::string collection;  // "" when the item names none
  std::string error;       // what is wrong and where
  // The item was refused for a transient reason (server down or restarting,
  // write lock busy, statement timeout): loading it again later may work.
  bool retryable = false;
};

// {"loaded": n, "skipped": n, "failed": [{"id", "collection", "error", "retryable"}]}.
struct TESSERA_API LoadReport {
  std::size_t loaded = 0;
  std::size_t skipped = 0;
  std::vector<LoadFailure> failed;
  // (collection, id) of the skipped items, for callers that attribute them.
  std::vector<std::pair<std::string, std::string>> skipped_items;

  [[nodiscard]] nlohmann::json to_json() const;
  void merge(const LoadReport& other);
};

// How a catalog over a remote STAC API (`stac+https://...`) talks to it.
// See docs/catalog.md, "A STAC API as a catalog".
struct TESSERA_API StacApiOptions {
  // Sent with every request (e.g. {"Authorization": "Bearer ..."} or
  // {"X-API-Key": "..."}); names and values without CR/LF.
  std::map<std::string, std::string> headers;
  // Longest wait for a connection, and for a whole request (the retries of
  // one call each get the full time).
  int connect_timeout_ms = 10000;
  int timeout_ms = 60000;
  // Retries after a connection failure, 429 or 5xx, waiting
  // min(backoff_cap_ms, backoff_base_ms * 2^attempt) or the server's
  // Retry-After (capped by backoff_cap_ms too), whichever is longer.
  int max_retries = 3;
  int backoff_base_ms = 200;
  int backoff_cap_ms = 10000;
  // Most requests per second to the server (a token bucket); 0: no cap.
  double requests_per_second = 0;
  // A larger response body fails the call (Io) before it is read whole.
  std::size_t max_response_bytes = std::size_t{64} << 20;
  // PEM bundle of the CAs to trust instead of the system's; TLS
  // verification is always on.
  std::string ca_file;
  // Spatial searches (mosaics) are answered from the items of an enclosing
  // area, fetched once and kept this long; 0 turns the area cache off.
  int search_cache_ttl_ms = 60000;
  // Most bytes of item text the area cache keeps; an area with more is not
  // cached (its searches go to the server).
  std::size_t search_cache_max_bytes = std::size_t{128} << 20;
  // Where registered searches and named locks are kept: a SQLite file path,
  // or "" for memory (gone when the catalog closes).
  std::string search_store;

  // Reads the options as JSON: the members above by name (headers an object
  // of strings). InvalidInput names an unknown member or a bad value.
  static StacApiOptions from_json(const nlohmann::json& options);
};

struct TESSERA_API CatalogOptions {
  // The largest `limit` a search may ask for.
  std::size_t max_limit = 10000;
  // The most vertices a search's geometries may have (intersects, and the
  // geometry literals of its filter, counted separately).
  std::size_t max_geometry_vertices = 100000;
  // How long a writer waits for another process's write lock before the call
  // fails with a retryable Unavailable error.
  int busy_timeout_ms = 5000;
  // Longest a statement may run before it fails with a retryable
  // Unavailable: PgSTAC's statement_timeout; on SQLite, searches are
  // interrupted past it (progress handler).
  int statement_timeout_ms = 60000;
  // For a catalog over a remote STAC API.
  StacApiOptions stac_api;
};

// A STAC catalog: collections, items, bulk load and STAC-API item search.
// Backends (SQLite, PgSTAC) implement this one interface and give the same
// answers. Instances are safe to use from several threads.
class TESSERA_API Catalog {
 public:
  virtual ~Catalog();

  // `sqlite:///abs/path.db`, `sqlite://:memory:` (or `:memory:`), a plain
  // path ending in .db/.sqlite, or `postgresql://user@host:port/db` (any
  // libpq URI; passwords from the URI, PGPASSWORD or ~/.pgpass) of a database
  // with the pgstac schema, or `stac+https://host/path` (`stac+http://` too)
  // for a read-only catalog over the STAC API whose landing page is at
  // https://host/path (options.stac_api).
  static std::unique_ptr<Catalog> open(std::string_view uri, const CatalogOptions& options = {});

  // --- Collections ---------------------------------------------------------
  // Validated STAC Collections stored whole. create: Conflict if the id
  // exists; update: NotFound if it does not; upsert: either.
  virtual void create_collection(const nlohmann::json& collection) = 0;
  virtual void update_collection(const nlohmann::json& collection) = 0;
  virtual void upsert_collection(const nlohmann::json& collection) = 0;
  // Conflict when the collection still has items and `cascade` is false.
  virtual void delete_collection(std::string_view id, bool cascade = false) = 0;
  virtual nlohmann::json get_collection(std::string_view id) = 0;
  // Every collection, ordered by id.
  virtual nlohmann::json collections() = 0;
  // Recomputes extent.spatial.bbox and extent.temporal.interval from the
  // items, stores and returns the updated collection.
  virtual nlohmann::json update_collection_extent(std::string_view id) = 0;

  // --- Items ---------------------------------------------------------------
  // Validates and writes items in batches. A bad item never stops or rolls
  // back the good ones: it is reported in LoadReport::failed.
  LoadReport load(const std::vector<nlohmann::json>& items, const LoadOptions& options = {});
  // Streams an ndjson file, a FeatureCollection or a single Item from disk.
  LoadReport load_file(const std::filesystem::path& path, const LoadOptions& options = {});
  // The same for text already in memory.
  LoadReport load_text(std::string_view text, const LoadOptions& options = {});
  // Items each already a JSON text of its own, stored as given.
  LoadReport load_texts(std::vector<std::string> items, const LoadOptions& options = {});

  virtual nlohmann::json get_item(std::string_view collection, std::string_view id) = 0;
  virtual void delete_item(std::string_view collection, std::string_view id) = 0;

  // --- Item change events ----------------------------------------------------
  // The changes with an id above `after`, oldest first, at most `limit`
  // (1..10000, else InvalidInput). On PgSTAC the trigger that records them is
  // installed when the catalog is first opened by a role allowed to (changes
  // before that were not recorded).
  virtual std::vector<ItemChange> item_changes(std::int64_t after, std::size_t limit = 1000) = 0;
  // The id of the newest change (0 when there is none): a consumer starting
  // from the catalog as it is now begins after it.
  virtual std::int64_t last_item_change() = 0;
  // Deletes the changes recorded more than `age` ago and returns how many
  // (consumers further behind than that must rebuild from the items).
  virtual std::size_t prune_item_changes(std::chrono::seconds age) = 0;

  // --- Search --------------------------------------------------------------
  // STAC API item search. `request` takes ids, collections, bbox, intersects,
  // datetime, filter (+ filter-lang cql2-json | cql2-text), sortby, fields,
  // limit, token and context (false skips numberMatched). Returns a
  // FeatureCollection with numberReturned, numberMatched and next/prev tokens.
  nlohmann::json search(const nlohmann::json& request);
  // The same result as JSON text, built from the stored items without
  // parsing them: cheaper for callers that serialise the result anyway.
  std::string search_text(const nlohmann::json& request);
  // The page behind both, as the backend answers it: the stored item texts
  // and the page tokens (for tessera's own modules, which read a few fields
  // of each item; the type is internal: src/catalog/search_page.hpp).
  virtual catalog::SearchPage search_page(const nlohmann::json& request) = 0;

  // STAC API collection search (Collection Search extension v1.0.0-rc.1).
  // `request` takes bbox and datetime (met by the collection's first extent
  // bbox and interval, as pgstac reads them), q (free text, as search()),
  // ids, limit (default 10) and token. Collections come in id order. Returns
  // {"collections": [...], "numberMatched", "numberReturned", "next"?,
  // "prev"?}: the tokens continue the search ({"token": next} alone keeps
  // its query and limit). InvalidInput names a bad or unknown member.
  nlohmann::json search_collections(const nlohmann::json& request);

  // Adds an index for sorting and filtering on `property` (like a pgstac
  // queryable's property_index_type), so sortby and comparisons on it avoid a
  // scan of every item. Idempotent. InvalidInput for names outside
  // [A-Za-z0-9_:.-].
  virtual void index_property(std::string_view property) = 0;

  // JSON Schema of the properties present in the items of `collection` (all
  // collections when empty), as the STAC API queryables endpoint serves it.
  virtual nlohmann::json queryables(std::string_view collection = {}) = 0;

  // --- Aggregation -------------------------------------------------------------
  // The STAC API aggregation extension (v0.3.0) over the items a search would
  // match. `request` takes the search members ids, collections, bbox,
  // intersects, datetime, filter (+ filter-lang, filter-crs) and query (limit
  // is ignored), plus `aggregations`: a non-empty array of names, each one
  // aggregations() lists or `<property>_frequency` (counts by the value of
  // any property), and their parameters `centroid_geohash_grid_frequency_precision`
  // (1-12, default 1) and `datetime_frequency_interval` (year, quarter, month
  // (the default), week, day, hour, minute, second). Returns
  // {"type": "AggregationCollection", "aggregations": [...]} in the order
  // asked for: {"name", "data_type", "value"} for single values,
  // {"name", "data_type": "frequency_distribution", "buckets": [{"key",
  // "data_type", "frequency", "from"?, "to"?}], "overflow"} for counts (at most
  // 10,000 buckets each; items of further keys count in `overflow`).
  // InvalidInput names an unknown aggregation or a bad parameter. Both
  // backends give the same answers (docs/catalog.md).
  nlohmann::json aggregate(const nlohmann::json& request);
  // {"type": "AggregationCollection", "aggregations": [{"name", "data_type",
  // "frequency_distribution_data_type"?}, ...]}: the named aggregations
  // offered, for every collection (`collection` only checks that it exists:
  // NotFound).
  nlohmann::json aggregations(std::string_view collection = {});

  // --- Registered searches ---------------------------------------------------
  // Stores a search (the request search() takes) under a stable id, for
  // mosaics to refer to, and returns the id: pgstac's search hash, the md5 of
  // the request without token/limit/context and of `metadata` (a JSON
  // object). The same request gets the same id on both backends; on PgSTAC it
  // is a row of pgstac's searches table, which titiler-pgstac serves too.
  // The request is validated as search() would; a CQL2-text filter is stored
  // as CQL2-JSON. Registering it again returns the same id and counts a use.
  std::string register_search(const nlohmann::json& request, const nlohmann::json& metadata = nlohmann::json::object());
  // {"id", "search", "metadata", "lastused", "usecount"}; NotFound for an unknown id.
  virtual nlohmann::json registered_search(std::string_view id) = 0;
  // Every registered search in that form, most recently used first.
  virtual nlohmann::json registered_searches() = 0;

  // --- Named locks -----------------------------------------------------------
  // Mutual exclusion between processes sharing the catalog, for work built on
  // it (packaging jobs). try_lock takes `name` for `owner` unless another
  // owner holds it, and returns whether it did. SQLite: a row written in a
  // write transaction; a hold older than `lease` is taken over (its holder is
  // presumed dead). PostgreSQL: a session advisory lock on a connection of its
  // own, released by the server if the holder dies.
  virtual bool try_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) = 0;
  // Releases `name` if `owner` holds it.
  virtual void unlock(std::string_view name, std::string_view owner) = 0;
  // Keeps `owner`'s hold on `name` for another `lease` (a holder renews
  // while it works, so a long job is never taken for dead). Conflict when
  // the hold is lost: taken over after its lease, or, on PostgreSQL, the
  // session holding the advisory lock is gone.
  virtual void renew_lock(std::string_view name, std::string_view owner, std::chrono::seconds lease) = 0;

  // Drops what the catalog keeps from its source: a remote catalog's area
  // cache of search results. A local catalog keeps nothing: a no-op.
  virtual void refresh();

  // The backend's database for tessera's own modules that keep tables in it
  // (matching); nullptr for a catalog without one. Not for applications: the
  // type is internal to the library.
  [[nodiscard]] virtual const catalog::Database* database() const noexcept;

  // --- For backend implementations -----------------------------------------
  // One item as JSON text; `line` (1-based, 0 if unknown) locates it in its
  // source for error reports.
  struct ItemText {
    std::string text;
    std::size_t line = 0;
  };
  // Items to load, handed out a batch at a time so a large input never sits
  // in memory whole. Called from one thread at a time, not always the caller's.
  class ItemSource {
   public:
    virtual ~ItemSource() = default;
    // Replaces `batch` with up to `max` items; false when none are left.
    virtual bool next(std::vector<ItemText>& batch, std::size_t max) = 0;
    // Names the input in error reports ("items.ndjson").
    [[nodiscard]] virtual std::string_view name() const = 0;
  };

 protected:
  // What backends implement: their half of one load, which prepares the
  // rows of each validated item and writes them a batch at a time (the type
  // is internal to the library: src/catalog/load_pipeline.hpp).
  virtual std::unique_ptr<catalog::LoadWriter> load_writer(const LoadOptions& options) = 0;
  // One page of a checked collection search: the collections from
  // request.offset on, in id order, and how many match in all.
  virtual catalog::CollectionPage collection_page(const catalog::CollectionSearchRequest& request) = 0;
  // Stores `search` (already canonical) with `metadata` under `id`, or counts
  // another use of it; returns the id it is kept under.
  virtual std::string store_search(const std::string& id, const nlohmann::json& search,
                                   const nlohmann::json& metadata) = 0;
  // The largest `limit` search_page accepts (CatalogOptions::max_limit):
  // scans over every match (aggregate) page by at most this.
  [[nodiscard]] virtual std::size_t max_search_limit() const noexcept;

 private:
  // The one load pipeline behind every load entry point: validates every
  // item of `source` and has the backend write the valid ones, stored as
  // given (src/catalog/load_pipeline.cpp).
  LoadReport load_items(ItemSource& source, const LoadOptions& options);
  LoadReport load_stream(std::istream& input, std::string_view source, const LoadOptions& options);
};

}  // namespace tessera
