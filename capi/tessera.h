/*
 * tessera C API.
 *
 * A thin, stable C99 interface over the C++ library. Conventions:
 *  - every function returns a tsr_status (TSR_OK on success) unless it cannot fail;
 *  - out-parameters come last; on failure they are left untouched;
 *  - tsr_last_error_message() describes the last failure on the calling thread;
 *  - memory the library hands out is released with tsr_free(), handles with
 *    their tsr_*_destroy() function (both accept NULL);
 *  - strings are UTF-8 and NUL-terminated; structured data is JSON text.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(TESSERA_STATIC_DEFINE)
#define TSR_API
#else
#define TSR_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; the same values as tessera::ErrorCode, and tsr_status_name
 * gives each the same name as C++ and Python (docs/api-names.md). */
typedef enum tsr_status {
  TSR_OK = 0,
  TSR_INVALID_INPUT = 1, /* malformed or out-of-range input */
  TSR_NOT_FOUND = 2,     /* key, item, collection or file does not exist */
  TSR_CONFLICT = 3,      /* already exists, or locked by another writer */
  TSR_IO = 4,            /* reading or writing storage or data failed */
  TSR_UNSUPPORTED = 5,   /* valid request that tessera does not handle */
  TSR_INTERNAL = 6,      /* a bug in tessera */
  TSR_UNAVAILABLE = 7    /* transient failure; retrying may succeed */
} tsr_status;

/* Deprecated: TSR_IO's name before 0.2; the same value. */
#define TSR_IO_ERROR TSR_IO

typedef enum tsr_log_level {
  TSR_LOG_DEBUG = 0,
  TSR_LOG_INFO = 1,
  TSR_LOG_WARNING = 2,
  TSR_LOG_ERROR = 3
} tsr_log_level;

/* ---- Library ------------------------------------------------------------ */

/* The library version, e.g. "0.1.0". Never fails; the string is static. */
TSR_API const char* tsr_version(void);

/* The message of the last failed call on this thread, or "" if none.
 * Valid until the next tessera call on the same thread. */
TSR_API const char* tsr_last_error_message(void);

/* Stable name of a status: "ok", "invalid_input", "not_found", "conflict",
 * "io", "unsupported", "internal", "unavailable" (tessera::error_code_name);
 * "unknown" for any other value. Never fails; the string is static. */
TSR_API const char* tsr_status_name(tsr_status status);

/* Releases memory returned by the library (strings, buffers). NULL is a no-op. */
TSR_API void tsr_free(void* ptr);

/* Receives log messages from any thread. NULL restores the default (stderr). */
typedef void (*tsr_log_callback)(tsr_log_level level, const char* message, void* user_data);
TSR_API tsr_status tsr_set_log_callback(tsr_log_callback callback, tsr_log_level min_level, void* user_data);

/* ---- Storage ------------------------------------------------------------ */

typedef struct tsr_storage_s* tsr_storage;

#define TSR_STORAGE_OPTIONS_VERSION 1

/* Options for tsr_storage_open. Initialise with tsr_storage_options_init so
 * new fields added in later versions get their defaults. */
typedef struct tsr_storage_options {
  unsigned int version;     /* TSR_STORAGE_OPTIONS_VERSION */
  const char* options_json; /* backend settings as a JSON object of strings, or NULL */
} tsr_storage_options;

TSR_API tsr_status tsr_storage_options_init(tsr_storage_options* options, unsigned int version);

/* Opens storage at `uri` (file:///abs/dir or /abs/dir). `options` may be NULL. */
TSR_API tsr_status tsr_storage_open(const char* uri, const tsr_storage_options* options, tsr_storage* out_storage);

/* Closes the storage and sets *storage to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_storage_destroy(tsr_storage* storage);

TSR_API tsr_status tsr_storage_put(tsr_storage storage, const char* key, const void* data, size_t size);
TSR_API tsr_status tsr_storage_put_file(tsr_storage storage, const char* key, const char* source_path);

/* The whole object; *out_data is freed with tsr_free (it is NUL-terminated
 * for convenience; *out_size excludes the terminator). */
TSR_API tsr_status tsr_storage_get(tsr_storage storage, const char* key, void** out_data, size_t* out_size);
TSR_API tsr_status tsr_storage_read_range(tsr_storage storage, const char* key, uint64_t offset, uint64_t length,
                                          void** out_data, size_t* out_size);

TSR_API tsr_status tsr_storage_exists(tsr_storage storage, const char* key, bool* out_exists);

/* {"key": ..., "size": n, "modified_unix_ms": n}; freed with tsr_free. */
TSR_API tsr_status tsr_storage_stat(tsr_storage storage, const char* key, char** out_json);

/* Keys starting with `prefix` (NULL = all) as a sorted JSON array; freed with tsr_free. */
TSR_API tsr_status tsr_storage_list(tsr_storage storage, const char* prefix, bool recursive, char** out_json);

TSR_API tsr_status tsr_storage_remove(tsr_storage storage, const char* key);

/* The absolute URI of `key`; freed with tsr_free. */
TSR_API tsr_status tsr_storage_uri(tsr_storage storage, const char* key, char** out_uri);

/* ---- Catalog ------------------------------------------------------------ */

typedef struct tsr_catalog_s* tsr_catalog;

#define TSR_CATALOG_OPTIONS_VERSION 3

typedef struct tsr_catalog_options {
  unsigned int version;     /* TSR_CATALOG_OPTIONS_VERSION */
  size_t max_limit;         /* largest search limit; default 10000 */
  int busy_timeout_ms;      /* SQLite: wait for another writer before TSR_UNAVAILABLE; default 5000 */
  int statement_timeout_ms; /* PgSTAC: longest statement before TSR_UNAVAILABLE; default 60000 */
  /* Version 2: most vertices of a search's intersects (and, separately, of
   * its filter's geometries); default 100000. */
  size_t max_geometry_vertices;
  /* Version 3: how a catalog over a remote STAC API (stac+https://...) talks
   * to it, as a JSON object (NULL: the defaults): headers, connect_timeout_ms,
   * timeout_ms, max_retries, backoff_base_ms, backoff_cap_ms,
   * requests_per_second, max_response_bytes, ca_file, search_cache_ttl_ms,
   * search_cache_max_bytes, search_store (docs/catalog.md). */
  const char* stac_api_json;
} tsr_catalog_options;

TSR_API tsr_status tsr_catalog_options_init(tsr_catalog_options* options, unsigned int version);

/* Opens sqlite:///abs/path.db, sqlite://:memory:, an absolute .db path,
 * postgresql://... (a database with pgstac) or stac+https://host/path
 * (stac+http:// too: a read-only catalog over a remote STAC API). `options`
 * may be NULL. */
TSR_API tsr_status tsr_catalog_open(const char* uri, const tsr_catalog_options* options, tsr_catalog* out_catalog);

/* Closes the catalog and sets *catalog to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_catalog_destroy(tsr_catalog* catalog);

/* Collections are STAC Collection JSON objects. */
TSR_API tsr_status tsr_catalog_upsert_collection(tsr_catalog catalog, const char* collection_json);
TSR_API tsr_status tsr_catalog_get_collection(tsr_catalog catalog, const char* id, char** out_json);
/* A JSON array of every collection, ordered by id. */
TSR_API tsr_status tsr_catalog_collections(tsr_catalog catalog, char** out_json);
TSR_API tsr_status tsr_catalog_delete_collection(tsr_catalog catalog, const char* id, bool cascade);

#define TSR_LOAD_OPTIONS_VERSION 1

typedef struct tsr_load_options {
  unsigned int version; /* TSR_LOAD_OPTIONS_VERSION */
  const char* mode;     /* "insert" (default), "ignore" or "upsert" */
  size_t batch_size;    /* items per transaction; default 1000 */
} tsr_load_options;

TSR_API tsr_status tsr_load_options_init(tsr_load_options* options, unsigned int version);

/* Loads an ndjson file, a FeatureCollection or an Item (file path or JSON
 * text). *out_report_json is {"loaded": n, "skipped": n, "failed": [...]}. */
TSR_API tsr_status tsr_catalog_load_file(tsr_catalog catalog, const char* path, const tsr_load_options* options,
                                         char** out_report_json);
TSR_API tsr_status tsr_catalog_load_json(tsr_catalog catalog, const char* json_text, const tsr_load_options* options,
                                         char** out_report_json);

TSR_API tsr_status tsr_catalog_get_item(tsr_catalog catalog, const char* collection, const char* id, char** out_json);
TSR_API tsr_status tsr_catalog_delete_item(tsr_catalog catalog, const char* collection, const char* id);

/* Item change events (every insert, replace and delete of an item, recorded
 * by the database in the transaction of the change) with an id above `after`,
 * oldest first, at most `limit` (1..10000): a JSON array of {"id",
 * "collection", "item_id", "operation": "insert"|"replace"|"delete",
 * "old_bbox"?, "new_bbox"?, "created_us"}, freed with tsr_free. Consumers keep
 * their own cursor (the last id handled). */
TSR_API tsr_status tsr_catalog_item_changes(tsr_catalog catalog, int64_t after, size_t limit, char** out_json);
/* The id of the newest item change (0 for none). */
TSR_API tsr_status tsr_catalog_last_item_change(tsr_catalog catalog, int64_t* out_id);
/* Deletes the item changes older than `age_seconds` (>= 0) and sets *out_pruned to their count. */
TSR_API tsr_status tsr_catalog_prune_item_changes(tsr_catalog catalog, int64_t age_seconds, size_t* out_pruned);

/* STAC API item search: request JSON in, FeatureCollection JSON out. */
TSR_API tsr_status tsr_catalog_search(tsr_catalog catalog, const char* request_json, char** out_json);

/* STAC API collection search: request_json takes bbox, datetime (against
 * each collection's extent), q (free text over title, description and
 * keywords), ids, limit and token. *out_json (freed with tsr_free) is
 * {"collections": [...], "numberMatched", "numberReturned", "next"?,
 * "prev"?}, collections in id order. TSR_INVALID_INPUT names a bad or
 * unknown member. */
TSR_API tsr_status tsr_catalog_search_collections(tsr_catalog catalog, const char* request_json, char** out_json);

/* The STAC API aggregation extension over the items a search matches:
 * request_json takes ids, collections, bbox, intersects, datetime, filter,
 * filter-lang, filter-crs and query as tsr_catalog_search does, plus
 * "aggregations" (an array of names: those tsr_catalog_aggregations lists, or
 * "<property>_frequency") and "centroid_geohash_grid_frequency_precision"
 * (1-12) and "datetime_frequency_interval" (year ... second). *out_json
 * (freed with tsr_free) is {"type": "AggregationCollection", "aggregations":
 * [...]}. TSR_INVALID_INPUT names an unknown aggregation or a bad parameter. */
TSR_API tsr_status tsr_catalog_aggregate(tsr_catalog catalog, const char* request_json, char** out_json);

/* The aggregations tsr_catalog_aggregate offers, as {"type":
 * "AggregationCollection", "aggregations": [{"name", "data_type", ...}]}; for
 * a collection (TSR_NOT_FOUND when it does not exist), or all when NULL. */
TSR_API tsr_status tsr_catalog_aggregations(tsr_catalog catalog, const char* collection, char** out_json);

/* Indexes a property for sorting and filtering (idempotent). */
TSR_API tsr_status tsr_catalog_index_property(tsr_catalog catalog, const char* property);

/* Queryables (JSON Schema) of one collection, or of all when NULL. */
TSR_API tsr_status tsr_catalog_queryables(tsr_catalog catalog, const char* collection, char** out_json);

/* Stores a search request (a mosaic) under a stable id and returns the id in
 * *out_id (freed with tsr_free): pgstac's search hash of the request (without
 * token/limit/context) and of `metadata_json` (a JSON object, NULL = {}), the
 * same on both backends. Registering it again returns the same id. */
TSR_API tsr_status tsr_catalog_register_search(tsr_catalog catalog, const char* request_json, const char* metadata_json,
                                               char** out_id);
/* {"id", "search", "metadata", "lastused", "usecount"}; TSR_NOT_FOUND for an unknown id. */
TSR_API tsr_status tsr_catalog_registered_search(tsr_catalog catalog, const char* id, char** out_json);
/* Every registered search, most recently used first (a JSON array). */
TSR_API tsr_status tsr_catalog_registered_searches(tsr_catalog catalog, char** out_json);

/* Drops what the catalog keeps from its source (a remote STAC API catalog's
 * area cache of search results); a no-op for a local catalog. */
TSR_API tsr_status tsr_catalog_refresh(tsr_catalog catalog);

/* ---- Ingest ------------------------------------------------------------- */

#define TSR_INGEST_OPTIONS_VERSION 3

typedef struct tsr_ingest_options {
  unsigned int version;             /* TSR_INGEST_OPTIONS_VERSION */
  const char* mode;                 /* "upsert" (default), "insert" or "ignore" */
  size_t batch_size;                /* items per batch; default 500 */
  const char* dead_letter;          /* storage URI/folder or .ndjson path, or NULL */
  const char* storage_options_json; /* S3 settings as for tsr_storage_open, or NULL */
  size_t parallel_fetches;          /* objects fetched at once; default 16 */
  /* Version 2: a longer queue message fails unparsed; default 1 MiB. */
  size_t max_message_bytes;
  /* Version 2: a larger fetched object fails unread; default 256 MiB. */
  size_t max_object_bytes;
  /* Version 3: what makes items of raster files and objects (a .tif in a
   * folder or prefix, an S3 event for one), as JSON: {"kind": "builtin" |
   * "command" | "none", "collection", "cog_prefix", "statistics", "command":
   * [argv...], "timeout_seconds", "max_output_bytes", "raster_extensions":
   * [...]} (docs/ingest.md); NULL: none, rasters fail. */
  const char* item_generator_json;
} tsr_ingest_options;

TSR_API tsr_status tsr_ingest_options_init(tsr_ingest_options* options, unsigned int version);

/* Loads files, folders and storage prefixes listed in `sources_json` (a JSON
 * array of strings). *out_report_json: {"loaded", "skipped", "failed",
 * "dead_lettered", "results": [one per source file or object]}. */
TSR_API tsr_status tsr_ingest(tsr_catalog catalog, const char* sources_json, const tsr_ingest_options* options,
                              char** out_report_json);

/* Loads queue messages given as a JSON array of strings (each a message
 * body); the report has one result per message, in order. */
TSR_API tsr_status tsr_ingest_messages(tsr_catalog catalog, const char* messages_json,
                                       const tsr_ingest_options* options, char** out_report_json);

/* Runs the SQS queue loader (docs/ingest.md) on `catalog`. `options_json`:
 * {"queue_url", "dead_letter_queue_url", "batch_size", "batch_window_seconds",
 * "max_receive_count", "concurrency", "until_empty", "wait_seconds",
 * "visibility_timeout_seconds", "queue_options": {"endpoint", "region",
 * "access_key_id", ...}, "mode", "dead_letter", "storage_options",
 * "tombstone_removed", "item_generator": {"kind": "builtin" | "command",
 * "collection", "cog_prefix", "statistics", "command": [argv...],
 * "timeout_seconds", "max_output_bytes", "raster_extensions": [...]}, ...}.
 * `stop` may be NULL; else it is called between
 * batches with `user` and a nonzero answer makes the loader return.
 * *out_report_json: {"batches", "received", "deleted", "retried",
 * "dead_lettered", "loaded", "skipped", "removed", "failed"}. */
TSR_API tsr_status tsr_run_loader(tsr_catalog catalog, const char* options_json, int (*stop)(void* user), void* user,
                                  char** out_report_json);

/* Checks items as a load would, writing nothing. `items` is an Item, a
 * FeatureCollection, a JSON array of Items or ndjson (at most 10000 items).
 * *out_report_json: {"valid", "invalid", "results": [{"id", "collection",
 * "valid", "error"?}]}. */
TSR_API tsr_status tsr_validate(tsr_catalog catalog, const char* items, char** out_report_json);

/* Compares the item objects under `storage_prefix` (path, file:// or s3://)
 * with the catalog's items recorded as loaded from it. `options_json` may be
 * NULL or {"fix": bool, "storage_options": {...}, "mode", "page_size",
 * "max_findings", "item_generator": {...} (as for tsr_run_loader: rasters
 * are listed too, and fix generates their items)}. *out_report_json: {"objects", "missing", "orphaned",
 * "stale", "loaded", "deleted", "findings": [{"kind", "object", "collection",
 * "id", "reason"?}], "findings_truncated"}. */
TSR_API tsr_status tsr_reconcile(tsr_catalog catalog, const char* storage_prefix, const char* options_json,
                                 char** out_report_json);

/* A STAC Item for a raster. `options_json` may be NULL or {"id", "collection",
 * "collection_href", "datetime", "properties": {...}, "statistics": bool,
 * "sensor": "sentinel-2" | "landsat-oli", "storage_options": {...}}. */
TSR_API tsr_status tsr_create_item(const char* href, const char* options_json, char** out_item_json);

/* Converts a raster to a COG at a local path or storage URI; settings for
 * s3:// as a JSON object of strings, or NULL. */
TSR_API tsr_status tsr_to_cog(const char* source, const char* destination, const char* storage_options_json);

/* ---- Matching ----------------------------------------------------------- */

/* Models, AOIs, run-request events and predictions of a catalog (see
 * docs/matching.md). The catalog must outlive the matcher. */
typedef struct tsr_matcher_s* tsr_matcher;

TSR_API tsr_status tsr_matcher_open(tsr_catalog catalog, tsr_matcher* out_matcher);
/* Sets *matcher to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_matcher_destroy(tsr_matcher* matcher);

/* Model {"id"?, "name", "description"?, "command": [...], "runner"?: {"timeout",
 * "concurrency"}} and AOI {"id"?, "model", "geometry", "crs"?, "resolution",
 * "wavelengths"?, "collections"?, "datetime"?, "max_cloud_cover"?, "filter"?}
 * JSON in; the new id out (freed with tsr_free). */
TSR_API tsr_status tsr_matcher_add_model(tsr_matcher matcher, const char* model_json, char** out_id);
TSR_API tsr_status tsr_matcher_add_aoi(tsr_matcher matcher, const char* aoi_json, char** out_id);
TSR_API tsr_status tsr_matcher_remove_aoi(tsr_matcher matcher, const char* aoi_id);

/* A STAC Item in; [{"model", "aoi"}] out, ordered by model then AOI. */
TSR_API tsr_status tsr_matcher_match(tsr_matcher matcher, const char* item_json, char** out_matches_json);
/* A JSON array of Items in; one array of matches per item out. */
TSR_API tsr_status tsr_matcher_match_batch(tsr_matcher matcher, const char* items_json, char** out_matches_json);

/* tsr_catalog_load_json writing a run_requested event with each item that
 * matches, in the item's transaction. */
TSR_API tsr_status tsr_matcher_load_json(tsr_matcher matcher, const char* json_text, const tsr_load_options* options,
                                         char** out_report_json);

/* `query_json` may be NULL or {"claim": bool, "limit": n, "kind", "model",
 * "lease": seconds}; out: a JSON array of {"id", "kind", "model", "payload",
 * "created", "deliveries", "acknowledged"}. Claimed events not acknowledged
 * within the lease are delivered again. */
TSR_API tsr_status tsr_matcher_events(tsr_matcher matcher, const char* query_json, char** out_events_json);
TSR_API tsr_status tsr_matcher_ack(tsr_matcher matcher, int64_t event_id);

/* Stores a STAC label item as a prediction of model/AOI; the prediction id out. */
TSR_API tsr_status tsr_matcher_add_prediction(tsr_matcher matcher, const char* model_id, const char* aoi_id,
                                              const char* label_item_json, char** out_id);
/* Per-model summary; `start`/`end` (RFC 3339) may be NULL for open ends. */
TSR_API tsr_status tsr_matcher_summary(tsr_matcher matcher, const char* model_id, const char* start, const char* end,
                                       char** out_summary_json);

/* Runs, newest first. `query_json` may be NULL or {"model", "aoi", "state",
 * "limit": 1..1000, "token"}; out: {"runs": [...], "next": token or null}. */
TSR_API tsr_status tsr_matcher_runs(tsr_matcher matcher, const char* query_json, char** out_runs_json);
TSR_API tsr_status tsr_matcher_get_run(tsr_matcher matcher, const char* run_id, char** out_run_json);
/* Cancels a run that has not ended (TSR_CONFLICT when it has); out: the run. */
TSR_API tsr_status tsr_matcher_cancel_run(tsr_matcher matcher, const char* run_id, char** out_run_json);
/* A page of a run's log. `query_json` may be NULL or {"limit", "token"}; out:
 * {"entries": [{"seq", "time", "text"}], "nextToken": token or null}. */
TSR_API tsr_status tsr_matcher_run_logs(tsr_matcher matcher, const char* run_id, const char* query_json,
                                        char** out_logs_json);

/* Subscribers: each has a cursor and acknowledgements of its own.
 * subscription_json: {"id"?, "model"? (absent: every model),
 * "visibility_timeout"? (seconds, 300), "from_start"?}; out: it as stored.
 * A push subscription adds "webhook": {"url": "https://...", "secret"} or
 * "sns": {"topic_arn"?} and "max_attempts"?, "backoff_seconds"?,
 * "max_backoff_seconds"? (docs/matching.md); the secret is never handed out. */
TSR_API tsr_status tsr_matcher_add_subscription(tsr_matcher matcher, const char* subscription_json,
                                                char** out_subscription_json);
TSR_API tsr_status tsr_matcher_delete_subscription(tsr_matcher matcher, const char* subscription_id);
/* Up to `limit` (1..1000) events for the subscriber, leased for its visibility
 * timeout; out: a JSON array of events as tsr_matcher_events gives them. */
TSR_API tsr_status tsr_matcher_receive(tsr_matcher matcher, const char* subscription_id, size_t limit,
                                       char** out_events_json);
TSR_API tsr_status tsr_matcher_acknowledge(tsr_matcher matcher, const char* subscription_id, int64_t event_id);
/* Delivers every event from `from_event_id` on to the subscriber again. */
TSR_API tsr_status tsr_matcher_replay(tsr_matcher matcher, const char* subscription_id, int64_t from_event_id);
/* A push subscription's dead letters. `query_json` may be NULL or {"limit",
 * "token"}; out: {"dead_letters": [{"event", "attempts", "error", "failed"}],
 * "next": token or null}. */
TSR_API tsr_status tsr_matcher_dead_letters(tsr_matcher matcher, const char* subscription_id, const char* query_json,
                                            char** out_dead_letters_json);
/* One pass of an event pusher over every push subscription. `options_json`
 * may be NULL or {"timeout", "batch", "poll", "allow_loopback", "sns":
 * {"endpoint", "region", "access_key_id", "secret_access_key",
 * "session_token"}}; out: {"delivered", "retried", "dead_lettered"}. */
TSR_API tsr_status tsr_matcher_push_pending(tsr_matcher matcher, const char* options_json, char** out_counts_json);

/* Retention: deletes acknowledged events, ended runs and their logs older than
 * {"older_than_days": n} (default 30; `options_json` may be NULL); nothing
 * pending. out: {"events", "runs", "run_logs"}, the counts deleted. */
TSR_API tsr_status tsr_matcher_prune(tsr_matcher matcher, const char* options_json, char** out_counts_json);

/* Runs the pending run requests until each run has ended, as local processes
 * or, with "command_executor": {"submit": [...], "status": [...], "cancel":
 * [...], "command_timeout"?}, through a batch system's commands. `options_json`
 * may be NULL or {"concurrency", "lease", "max_runs", "work_dir", "poll",
 * "command_executor"?}; out: a JSON array of the runs as they ended (each with
 * "kind", its final event, and "log"). */
TSR_API tsr_status tsr_runner_run_pending(tsr_matcher matcher, const char* options_json, char** out_records_json);

/* ---- Tiling ------------------------------------------------------------- */

/* Options of the tiling functions are JSON objects (NULL or "" = defaults).
 * Unknown keys, values of the wrong type and invalid JSON are
 * TSR_INVALID_INPUT naming the key or the byte; a null value is the same as
 * leaving the key out. The read functions share these keys:
 *   "indexes":    1-based band indexes, e.g. [1, 2, 3] or 1 (default: every band but alpha)
 *   "expression": band math on b1..bN, ';' between output bands, e.g. "(b2-b1)/(b2+b1)"
 *   "resampling": when reading at another resolution: "nearest" (default), "bilinear",
 *                 "cubic", "cubic_spline", "lanczos", "average", "mode", "gauss", "rms",
 *                 "max", "min", "med", "q1", "q3", "sum"
 *   "reproject":  the same names, when warping to another CRS (default "nearest")
 *   "nodata":     a number, or "nan", overriding the raster's nodata value
 *   "unscale":    true to apply the bands' scale and offset (float32 out)
 *
 * Which hrefs may be read is set by tsr_configure_reader (or per thread with
 * tsr_environment_use):
 * by default local paths and file:// anywhere, s3:// with the environment's
 * settings and no http(s) URLs. GDAL /vsi prefixes and other GDAL name
 * syntax are always refused (TSR_INVALID_INPUT); a missing raster is
 * TSR_NOT_FOUND. Every function may be called from any thread. */

/* Pixels read from a raster: bands x height x width values of one data type,
 * band-major and contiguous (numpy's C order), plus a height x width
 * validity mask (255 = valid, 0 = no data). */
typedef struct tsr_image_s* tsr_image;

/* Replaces the process-wide reader configuration; NULL restores the defaults.
 * {"allowed_prefixes": ["https://host/path/", ...]   http(s) hrefs must start with one
 *                                                     (each must end its host with '/'),
 *  "allowed_roots": ["/data", ...]                    when set, local paths and file://
 *                                                     hrefs must lie inside one (symlinks
 *                                                     resolved),
 *  "storage_options": {"endpoint": "...", ...}        settings for s3:// hrefs, as for
 *                                                     tsr_storage_open,
 *  "allowed_drivers": ["GTiff", "COG", ...]           GDAL drivers a raster href may be opened with,
 *  "allowed_vector_drivers": ["GPKG", ...]            GDAL drivers a vector href may be opened with,
 *  "dataset_cache_size": 256,                         open datasets kept for reuse,
 *  "tile_cache_bytes": 268435456,                     decoded mosaic item tiles kept,
 *  "max_image_size": 8192,                            largest image width/height read,
 *  "max_expression_length": 2048,                     longest band-math expression (bytes),
 *  "max_expression_depth": 64,                        deepest expression nesting,
 *  "max_request_values": 268435456}                   values (pixels x bands, stacked
 *                                                     mosaic items) one request may hold.
 * Open datasets are dropped from the cache. */
TSR_API tsr_status tsr_configure_reader(const char* config_json);

/* An environment of the host's own: the settings above (config_json as for
 * tsr_configure_reader) with their own caches and read threads, so one
 * process can serve, say, a public and an internal audience under different
 * allow-lists. Reads use the environment current on their thread:
 * tsr_environment_use(env) makes `env` current on the calling thread,
 * tsr_environment_use(NULL) the process default again. An environment must
 * not be destroyed while a thread uses it. */
typedef struct tsr_environment_s* tsr_environment;
TSR_API tsr_status tsr_environment_new(const char* config_json, tsr_environment* out_environment);
TSR_API tsr_status tsr_environment_configure(tsr_environment environment, const char* config_json);
TSR_API tsr_status tsr_environment_use(tsr_environment environment);
/* NULL-safe; sets *environment to NULL. */
TSR_API void tsr_environment_destroy(tsr_environment* environment);

/* Signs an http(s) URL the allow-list accepted before it is read (a SAS
 * token, a presigned query): writes the URL to open, NUL-terminated, into
 * `signed_url` (`capacity` bytes, 16384, the NUL included) and returns 0; any
 * other value fails the read (TSR_UNAVAILABLE). The signed URL must be
 * http(s) without GDAL syntax (else TSR_INVALID_INPUT). Called from read
 * threads at once: it must be thread-safe. */
typedef int (*tsr_href_signer)(void* user_data, const char* url, char* signed_url, size_t capacity);
/* Installs `signer` (NULL: none) with its `user_data` on `environment` (NULL:
 * the process default), keeping the other settings; tsr_configure_reader and
 * tsr_environment_configure keep it. Open datasets are dropped from the cache.
 * `user_data` must stay valid while the signer is installed. */
TSR_API tsr_status tsr_set_href_signer(tsr_environment environment, tsr_href_signer signer, void* user_data);

/* The tile z/x/y of a tile matrix set: `tms` is a name ("WebMercatorQuad",
 * "WorldCRS84Quad", "EPSG:<code>"), an OGC TileMatrixSet 2.0 JSON document,
 * or NULL for WebMercatorQuad. Options: the read keys plus "tilesize" (pixels
 * a side, default 256, at most 8192) and "buffer" (extra pixels on each side,
 * a multiple of 0.5). TSR_INVALID_INPUT for a tile outside the set,
 * TSR_NOT_FOUND for a tile that does not touch the raster. Destroy *out_image
 * with tsr_image_destroy. */
TSR_API tsr_status tsr_read_tile(const char* href, const char* tms, int z, int64_t x, int64_t y,
                                 const char* options_json, tsr_image* out_image);

/* The area `bbox` (minx, miny, maxx, maxy) of the raster. Options: the read
 * keys plus "bbox_crs" (default "EPSG:4326"), "dst_crs" (default: the
 * raster's), "max_size" (longest side when width/height are not set, default
 * 1024, 0 = native resolution), "width", "height" and "buffer". */
TSR_API tsr_status tsr_read_part(const char* href, const double bbox[4], const char* options_json,
                                 tsr_image* out_image);

/* The bounding box of a GeoJSON Feature or geometry, with the pixels outside
 * the shape masked. Options as for tsr_read_part; "bbox_crs" is the CRS of
 * the shape's coordinates. */
TSR_API tsr_status tsr_read_feature(const char* href, const char* geojson, const char* options_json,
                                    tsr_image* out_image);

/* The whole raster, its longest side at most "max_size" pixels (default 1024,
 * 0 = native resolution). Options: the read keys plus "max_size". */
TSR_API tsr_status tsr_read_preview(const char* href, const char* options_json, tsr_image* out_image);

/* The values at a WGS84 point: {"coordinates": [lon, lat], "values": [...]
 * (null for NaN), "band_names": ["b1", ...], "masked": bool}. Options:
 * "indexes", "expression", "nodata", "unscale". TSR_NOT_FOUND when the point
 * is outside the raster. Freed with tsr_free. */
TSR_API tsr_status tsr_read_point(const char* href, double lon, double lat, const char* options_json, char** out_json);

/* Bounds (raster CRS and WGS84), "crs" (e.g. "EPSG:32633"), size, data type,
 * nodata, overviews, min/max zoom in `tms` (as for tsr_read_tile), band
 * descriptions, colour interpretation, scales and offsets, like rio-tiler's
 * info(). Freed with tsr_free. */
TSR_API tsr_status tsr_raster_info(const char* href, const char* tms, char** out_json);

/* Per band ("b1", ...): min, max, mean, count, sum, std, median, majority,
 * minority, unique, histogram, valid_percent, masked_pixels, valid_pixels and
 * percentile_<p>, like rio-tiler's statistics(). Options: the read keys plus
 * "max_size" (statistics of a preview this large, default 1024, 0 = full
 * resolution), "percentiles" (default [2, 98]), "histogram_bins" (default
 * 10), "histogram_range" ([min, max]) and "categorical" (count each distinct
 * value). Freed with tsr_free. */
TSR_API tsr_status tsr_raster_statistics(const char* href, const char* options_json, char** out_json);

/* Statistics (as tsr_raster_statistics) of the pixels a GeoJSON Feature or
 * Polygon/MultiPolygon covers (TiTiler's POST /cog/statistics), exact by
 * default: each pixel weighs the fraction of its area inside the shape
 * ("count" is the sum of the fractions, "sum" of value x fraction, min/max
 * over the pixels the shape overlaps); "cover_scale" (1 to 1000) asks for
 * rio-tiler's estimate instead. Options: the read keys, the statistics keys,
 * "cover_scale", and "bbox_crs" (of the shape), "dst_crs", "max_size"
 * (default 0: native resolution), "width", "height" for the grid read.
 * InvalidInput for another geometry or more than 100000 vertices. Freed with
 * tsr_free. */
TSR_API tsr_status tsr_feature_statistics(const char* href, const char* geojson, const char* options_json,
                                          char** out_json);

/* A TileJSON 3.0.0 document for the raster in `tms` (as for tsr_read_tile),
 * with `tile_url` (with {z}/{x}/{y} placeholders) as its tile source. Freed
 * with tsr_free. */
TSR_API tsr_status tsr_tilejson(const char* href, const char* tile_url, const char* tms, char** out_json);

/* The image's band count, height and width. */
TSR_API tsr_status tsr_image_shape(tsr_image image, int* out_bands, int* out_height, int* out_width);

/* Pixel data types. */
typedef enum tsr_dtype {
  TSR_DTYPE_INVALID = 0, /* a NULL image */
  TSR_DTYPE_UINT8 = 1,
  TSR_DTYPE_INT8 = 2,
  TSR_DTYPE_UINT16 = 3,
  TSR_DTYPE_INT16 = 4,
  TSR_DTYPE_UINT32 = 5,
  TSR_DTYPE_INT32 = 6,
  TSR_DTYPE_FLOAT32 = 7,
  TSR_DTYPE_FLOAT64 = 8
} tsr_dtype;

/* The image's data type; TSR_DTYPE_INVALID for a NULL image. */
TSR_API tsr_dtype tsr_image_dtype(tsr_image image);

/* numpy's name of a data type ("uint8", "int16", "float32", ...); NULL for
 * TSR_DTYPE_INVALID or an unknown value. The string is static. */
TSR_API const char* tsr_dtype_name(tsr_dtype dtype);

/* The values (bands x height x width of tsr_image_dtype, band-major) and the
 * mask (height x width bytes, 255 = valid); NULL for a NULL image. Owned by
 * the image: valid until tsr_image_destroy. */
TSR_API const void* tsr_image_data(tsr_image image);
TSR_API const uint8_t* tsr_image_mask(tsr_image image);

/* {"count", "height", "width", "dtype", "bounds": [minx, miny, maxx, maxy]
 * (in the image's CRS), "crs_wkt", "band_names", "has_palette", "warnings"}.
 * Freed with tsr_free. */
TSR_API tsr_status tsr_image_info(tsr_image image, char** out_json);

/* Encodes the image, like rio-tiler's render and TiTiler's parameters:
 * {"format": "png" (default), "jpeg", "webp", "tif" or "npy",
 *  "rescale": [min, max] for every band, or [[min, max], ...] one per band,
 *  "colormap": a name ("viridis", ...), {"<value>": [r, g, b, a] or "#rrggbb", ...}
 *              or [[[min, max], colour], ...] (single-band images),
 *  "use_palette": colour with the raster's own colour table (default false),
 *  "add_mask": write the mask as alpha (default true),
 *  "jpeg_quality": 1-100 (default 85), "webp_quality": 1-100 (default 75)}.
 * NULL = PNG with defaults. *out_data is freed with tsr_free. */
TSR_API tsr_status tsr_image_render(tsr_image image, const char* render_json, void** out_data, size_t* out_size);

/* The Content-Type of a tsr_image_render format ("image/png", ...), or NULL
 * for an unknown format (tsr_last_error_message says why). The string is
 * static. */
TSR_API const char* tsr_render_media_type(const char* format);

/* Releases the image and sets *image to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_image_destroy(tsr_image* image);

/* ---- Mosaics -------------------------------------------------------------- */

/* Tiles built from every catalog item a search matches. */
typedef struct tsr_mosaic_s* tsr_mosaic;

/* A mosaic over `catalog` (which must outlive it) and `search_json` (a
 * request as tsr_catalog_search takes). Options:
 * {"assets": ["visual"]             assets read from each item, bands stacked;
 *                                   an asset with its bands: "B04|bidx=1,2" or
 *                                   {"name": "B04", "indexes": [1, 2]},
 *  "expression": "(b2-b1)/(b2+b1)"  band math over b<n> (the n-th band of the
 *                                   stack) or "<asset>_b<n>" names ("B08_b1 - B04_b1"),
 *  "asset_as_band": false           each asset gives one band named after it,
 *  "method": "first"                first, highest, lowest, mean, median, stdev,
 *                                   count, last-band-high, last-band-low,
 *  "max_items_scanned": 1000, "max_items_read": 100, "time_budget_ms": 5000,
 *  "skip_covered": true}            items whose footprint is already filled are not read.
 * Destroy with tsr_mosaic_destroy. */
TSR_API tsr_status tsr_mosaic_create(tsr_catalog catalog, const char* search_json, const char* options_json,
                                     tsr_mosaic* out_mosaic);
/* The same over a search registered with tsr_catalog_register_search. */
TSR_API tsr_status tsr_mosaic_from_registered(tsr_catalog catalog, const char* search_id, const char* options_json,
                                              tsr_mosaic* out_mosaic);
/* The tile z/x/y (tms and options as for tsr_read_tile). tsr_image_info's
 * "assets" lists the items used and "metadata" how the tile was built (items
 * scanned/read, "stopped_by" a cap, "failed" items, cache hits/misses).
 * TSR_NOT_FOUND when no item has data there, TSR_IO when every read failed. */
TSR_API tsr_status tsr_mosaic_tile(tsr_mosaic mosaic, const char* tms, int z, int64_t x, int64_t y,
                                   const char* options_json, tsr_image* out_image);
/* The items (id, collection, bbox, assets: {name: href}) a tile / a WGS84
 * point would read, in order, as a JSON array. Freed with tsr_free. */
TSR_API tsr_status tsr_mosaic_assets_for_tile(tsr_mosaic mosaic, const char* tms, int z, int64_t x, int64_t y,
                                              char** out_json);
TSR_API tsr_status tsr_mosaic_assets_for_point(tsr_mosaic mosaic, double lon, double lat, char** out_json);
/* The values of every item under a WGS84 point, for each of the mosaic's
 * assets, in order: {"coordinates", "values": [{"id", "collection", "values",
 * "band_names"}], "stopped_by"?}; bounded by max_items_read and the time
 * budget. options_json: the read options of tsr_read_tile, or NULL. */
TSR_API tsr_status tsr_mosaic_point(tsr_mosaic mosaic, double lon, double lat, const char* options_json,
                                    char** out_json);
/* The area bbox (in "bbox_crs", default EPSG:4326) on a grid in "dst_crs"
 * (default: bbox_crs) of "width" x "height" pixels, else "max_size" (default
 * 1024) on the longest side, built like a tile (tsr_image_info's "assets" and
 * "metadata" too). Options: the read keys and those. */
TSR_API tsr_status tsr_mosaic_part(tsr_mosaic mosaic, const double bbox[4], const char* options_json,
                                   tsr_image* out_image);
/* The part over a GeoJSON Feature's or geometry's bounding box, the pixels
 * the shape does not touch masked. Options as for tsr_mosaic_part. */
TSR_API tsr_status tsr_mosaic_feature(tsr_mosaic mosaic, const char* geojson, const char* options_json,
                                      tsr_image* out_image);
/* The part over "bounds" ([minx, miny, maxx, maxy], WGS84), else over the
 * union of the bboxes of the items the search matches (at most
 * max_items_scanned). Options: the read keys, "bounds", "dst_crs",
 * "max_size", "width", "height". */
TSR_API tsr_status tsr_mosaic_preview(tsr_mosaic mosaic, const char* options_json, tsr_image* out_image);
/* Statistics of the pixels a GeoJSON Feature or Polygon/MultiPolygon covers,
 * over the mosaic's part of its bounding box (exact as for
 * tsr_feature_statistics): {"statistics": {band: {...}}, "assets": [item
 * ids used]}. Options as for tsr_feature_statistics (max_size default
 * 1024). Freed with tsr_free. */
TSR_API tsr_status tsr_mosaic_statistics(tsr_mosaic mosaic, const char* geojson, const char* options_json,
                                         char** out_json);
/* Destroys the mosaic and sets *mosaic to NULL; NULL-safe. */
TSR_API void tsr_mosaic_destroy(tsr_mosaic* mosaic);

/* ---- Overview pyramids ---------------------------------------------------- */

/* The low zooms of a registered search's mosaic as stored tiles, in
 * `<directory>/<search id>.pyramid`, kept current from the item changes. */
typedef struct tsr_pyramid_s* tsr_pyramid;

/* Builds (or rebuilds) the pyramid of registered search `search_id`. Options
 * (NULL = defaults): {"tms": "WebMercatorQuad", "maxzoom": 6, "tilesize": 256,
 * "resampling": "average" | "nearest", and the options of tsr_mosaic_create}.
 * A base level of more than 65,536 tiles is TSR_INVALID_INPUT before any read.
 * Destroy with tsr_pyramid_destroy; `catalog` must outlive the pyramid. */
TSR_API tsr_status tsr_pyramid_build(tsr_catalog catalog, const char* directory, const char* search_id,
                                     const char* options_json, tsr_pyramid* out_pyramid);
/* The pyramid stored for `search_id`; TSR_NOT_FOUND when there is none. */
TSR_API tsr_status tsr_pyramid_open(tsr_catalog catalog, const char* directory, const char* search_id,
                                    tsr_pyramid* out_pyramid);
/* Applies the item changes after the pyramid's cursor; *out_json (tsr_free):
 * {"cursor", "changes", "cells_rebuilt", "cells_capped", "tiles_written", "tiles_removed"}. */
TSR_API tsr_status tsr_pyramid_update(tsr_pyramid pyramid, char** out_json);
/* {"search_id", "path", "options", "cursor", "built", "levels": [{"z", "tiles", "bytes"}]}. */
TSR_API tsr_status tsr_pyramid_info(tsr_pyramid pyramid, char** out_json);
/* The stored tile z/x/y (z up to maxzoom, the pyramid's tile matrix set);
 * TSR_NOT_FOUND when no item has data there. */
TSR_API tsr_status tsr_pyramid_tile(tsr_pyramid pyramid, int z, int64_t x, int64_t y, tsr_image* out_image);
/* Destroys the pyramid handle (not its file) and sets *pyramid to NULL; NULL-safe. */
TSR_API void tsr_pyramid_destroy(tsr_pyramid* pyramid);

/* {"hits", "misses", "entries", "bytes", "capacity_bytes"} of the mosaic data
 * cache (freed with tsr_free); tsr_clear_tile_cache empties it. */
TSR_API tsr_status tsr_tile_cache_stats(char** out_json);
TSR_API tsr_status tsr_clear_tile_cache(void);

/* ---- Packaging ---------------------------------------------------------- */

/* Geometries are GeoJSON text in WGS84 (a geometry or a Feature). Options are
 * JSON objects (NULL or "" = defaults). Results are JSON text freed with
 * tsr_free. A boundary that covers none of the data is TSR_NOT_FOUND
 * ("no data for this boundary"). */

/* Exact raster clip written as a COG in the source grid.
 * options_json: {"all_touched": false, "storage_options": {...}}.
 * *out_result_json: {"destination", "bytes", "crs", "bbox", "width", "height", "media_type", "format"}. */
TSR_API tsr_status tsr_clip_raster(const char* src, const char* geometry_json, const char* dst,
                                   const char* options_json, char** out_result_json);

/* Vector clip. options_json: {"format": "GPKG" | "FlatGeobuf" | "GeoJSON" (default: from dst's
 * extension), "storage_options": {...}}. *out_result_json has "features" instead of width/height. */
TSR_API tsr_status tsr_clip_vector(const char* src, const char* geometry_json, const char* dst,
                                   const char* options_json, char** out_result_json);

/* Validates and clips a user sketch (Polygon/MultiPolygon). options_json:
 * {"clip_to": GeoJSON or an OGR source path, "erase": GeoJSON or a path,
 *  "keep_largest": false, "max_area_km2": 1e6, "max_vertices": 100000, "cache_key": ""}.
 * cache: a storage the results are cached on, or NULL.
 * *out_result_json: {"geometry", "bbox", "area_km2", "key", "cached"}. */
TSR_API tsr_status tsr_preprocess_sketch(const char* sketch_json, const char* options_json, tsr_storage cache,
                                         char** out_result_json);

/* Builds data packages on a storage. The storage (and catalog, may be NULL)
 * must outlive the packager. */
typedef struct tsr_packager_s* tsr_packager;

/* Called from worker threads, one call at a time. */
typedef void (*tsr_progress_callback)(double percent, const char* step, void* user_data);

TSR_API tsr_status tsr_packager_create(tsr_storage storage, tsr_catalog catalog, tsr_packager* out_packager);

/* source: an OGR source. options_json: {"name_field": "name", "long_name_field", "layer"}.
 * *out_json: [{"id", "name", "long_name"}]. */
TSR_API tsr_status tsr_packager_add_boundaries(tsr_packager packager, const char* source, const char* options_json,
                                               char** out_json);

/* [{"id", "name", "long_name", "bbox"}]. */
TSR_API tsr_status tsr_packager_boundaries(tsr_packager packager, char** out_json);

/* datasets_json: an array of dataset definitions (see docs/packaging.md).
 * options_json: {"job_id", "parallelism": 2, "wait_for_locks": true, "lock_timeout_ms": 1800000,
 * "storage_options": {...}}.
 * *out_package_json: the datapackage.json written. progress may be NULL. */
TSR_API tsr_status tsr_packager_build(tsr_packager packager, const char* boundary, const char* datasets_json,
                                      const char* options_json, tsr_progress_callback progress, void* user_data,
                                      char** out_package_json);

/* {"id", "boundary", "status", "error", "percent", "step", "datasets": [...], ...}. */
TSR_API tsr_status tsr_packager_job_status(tsr_packager packager, const char* job_id, char** out_json);

/* Asks a job to stop at its next step boundary, from any process sharing the
 * storage; it publishes nothing more and releases its locks. *out_json: its
 * status (with "cancel_requested": true unless it had finished). */
TSR_API tsr_status tsr_packager_cancel_job(tsr_packager packager, const char* job_id, char** out_json);

/* The processor registry: dataset versions a package can be asked for by
 * "<dataset>/<version>". entries_json: an array of dataset definitions with
 * processor metadata beside ("author", "long_title", "summary", "origin_url",
 * "formats"); *out_names_json: their names. */
TSR_API tsr_status tsr_packager_add_processors(tsr_packager packager, const char* entries_json, char** out_names_json);

/* [{"name", "dataset", "version", "description", "author", "title", "long_title",
 * "summary", "citation", "license": {"name", "title", "path"}, "origin_url", "formats"}]. */
TSR_API tsr_status tsr_packager_processors(tsr_packager packager, char** out_json);

/* One processor's metadata; TSR_NOT_FOUND for an unknown one. */
TSR_API tsr_status tsr_packager_processor(tsr_packager packager, const char* dataset, const char* version,
                                          char** out_json);

/* Releases the packager and sets *packager to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_packager_destroy(tsr_packager* packager);

/* Package jobs by boundary and processor names, run on a pool of worker
 * threads; a submission of the same boundary and processors while such a job
 * runs joins it. The packager must outlive it. */
typedef struct tsr_package_jobs_s* tsr_package_jobs;

/* options_json: {"workers": 2, "max_queued": 1000, "history": 1000,
 * "parallelism": 2, "lock_timeout_ms": 1800000, "storage_options": {...}}. */
TSR_API tsr_status tsr_package_jobs_create(tsr_packager packager, const char* options_json, tsr_package_jobs* out_jobs);

/* processors_json: ["<dataset>/<version>", ...]. *out_json: {"id", "status", "duplicate"}.
 * TSR_UNAVAILABLE when the queue is full. */
TSR_API tsr_status tsr_package_jobs_submit(tsr_package_jobs jobs, const char* boundary, const char* processors_json,
                                           char** out_json);

/* The job's status record (tsr_packager_job_status). */
TSR_API tsr_status tsr_package_jobs_status(tsr_package_jobs jobs, const char* job_id, char** out_json);

/* filter_json: {"status", "boundary", "limit": 100}. *out_json: the status records, newest first. */
TSR_API tsr_status tsr_package_jobs_list(tsr_package_jobs jobs, const char* filter_json, char** out_json);

/* Cancels a queued job at once, a running one at its next step boundary. *out_json: its status. */
TSR_API tsr_status tsr_package_jobs_cancel(tsr_package_jobs jobs, const char* job_id, char** out_json);

/* Cancels the queued jobs, stops the running ones and waits for them; sets *jobs to NULL. */
TSR_API void tsr_package_jobs_destroy(tsr_package_jobs* jobs);

/* ---- Service: the HTTP contracts without sockets (docs/service.md) ---------
 * A service answers HTTP requests given as data; the host owns the sockets:
 * the STAC API, the tile routes (/cog, /searches) and the map viewer. The
 * catalog must outlive the service. Every function may be called from any
 * thread. */
typedef struct tsr_service_s* tsr_service;

/* options_json (NULL: defaults): {"title", "description", "max_body_bytes",
 * "max_limit", "default_limit", "cors_origins": ["https://origin", ...] or ["*"],
 * "browser_dir": a built STAC Browser served at /browser/, "jwks": key set
 * (URL, file or the JSON itself) verifying bearer tokens, "issuers": [...],
 * "audience", "leeway_seconds": 30, "require_auth": false,
 * "allow_anonymous_writes": false, "stac": true (the STAC API), "tiles": true
 * (the tile routes, /colormaps, /basemap.geojson), "viewer_dir": a built map
 * viewer served at /viewer/, "basemap_path": a GeoJSON file for
 * /basemap.geojson, "cache_max_age_seconds": 3600 (the tile answers'
 * Cache-Control), "pyramid_dir": a folder of overview pyramids the
 * registered searches' low-zoom tiles are read from (tsr_pyramid_build),
 * "packages": the packaging routes, {"storage" (URI; required), "storage_options",
 * "boundaries", "boundary_name_field", "boundary_long_name_field", "processors"
 * (a JSON file), "packages_url", "workers", "parallelism", "max_queued",
 * "lock_timeout_ms"}, "geoprocessing": services under /geoprocessing/ (see
 * tsr_geoprocessing_new) {"services": [definitions], "base_dir", "tasks_path"
 * (required), "storage", "storage_options", "title", "async_workers": 2,
 * "geometry_uri_prefixes": ["https://..."], "allow_loopback_geometry_uri": false,
 * "max_geometry_bytes"}, "models": false (the model routes, /models/...; writes
 * need scope "models:write"), "callback_key": the run-token key (at least 32
 * bytes; default: random)}. Writes need a token with scope "stac:write" (STAC) or
 * "packages:write" (package jobs, boundary uploads); geoprocessing services
 * check their own tokens (restrictedAccess).
 * `catalog` may be NULL: no STAC API, and /searches answers 404 (a server of COG tiles). */
TSR_API tsr_status tsr_service_new(tsr_catalog catalog, const char* options_json, tsr_service* out_service);

/* Answers one request. request_json: {"method": "GET", "path": "/search"
 * (percent-decoded), "query": [["name", "value"], ...] or {"name": "value"},
 * "headers": the same forms}; the body is `body_size` bytes at `body` (NULL
 * when 0). *out_response_json: {"status": 200, "headers": [["name", "value"],
 * ...]}; *out_body / *out_body_size: the response body. Free both with
 * tsr_free. HTTP errors are responses (status 4xx/5xx with a JSON body), not
 * failures: a status other than TSR_OK means the request could not be read. */
TSR_API tsr_status tsr_service_handle(tsr_service service, const char* request_json, const void* body, size_t body_size,
                                      char** out_response_json, void** out_body, size_t* out_body_size);

/* Releases the service and sets *service to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_service_destroy(tsr_service* service);

/* ---- Geoprocessing services (docs/geoprocessing.md) -------------------------
 * SeaSketch's geoprocessing and preprocessing services: command-line programs
 * (the sketch as JSON on stdin, the result as JSON on stdout) and the
 * built-ins zonal_statistics, overlap and preprocess. A registry may be used
 * from any thread once made. tsr_service_new serves one (its "geoprocessing"
 * option). */
typedef struct tsr_geoprocessing_s* tsr_geoprocessing;

/* A registry of the services of definitions_json, the JSON array `tessera
 * serve --services` reads: [{"endpoint", "title", "type", "executionMode",
 * "usesAttributes", "timeout", "restrictedAccess", "issAllowList",
 * "rateLimit", "rateLimitPeriod", and "command": [program, args...] or
 * "builtin": "zonal_statistics" ({"rasters": [hrefs], "categorical"}) |
 * "overlap" ({"layers": [sources], "attribute"}) | "preprocess"
 * ({"studyArea", "forbidden", "shoreline"})}, ...]. base_dir (NULL: none)
 * resolves relative command paths and local sources. TSR_INVALID_INPUT names
 * the definition and member at fault. */
TSR_API tsr_status tsr_geoprocessing_new(const char* definitions_json, const char* base_dir,
                                         tsr_geoprocessing* out_registry);

/* *out_json: the services' metadata, [{"endpoint", "title", ...}, ...]. */
TSR_API tsr_status tsr_geoprocessing_services(tsr_geoprocessing registry, char** out_json);

/* Runs the service `endpoint` on the calling thread with sketch_json (a
 * GeoJSON Feature or FeatureCollection). *out_result_json: {"data": the
 * service's result, "log": [lines it logged]}. TSR_NOT_FOUND for an unknown
 * endpoint; a failing service is its error's status (a command that exits
 * non-zero or writes no JSON: TSR_IO; one that times out: TSR_UNAVAILABLE). */
TSR_API tsr_status tsr_geoprocessing_run(tsr_geoprocessing registry, const char* endpoint, const char* sketch_json,
                                         char** out_result_json);

/* Releases the registry and sets *registry to NULL. NULL or *NULL is a no-op. */
TSR_API void tsr_geoprocessing_destroy(tsr_geoprocessing* registry);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_H */
