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

/* Status codes; the same values as tessera::ErrorCode. */
typedef enum tsr_status {
  TSR_OK = 0,
  TSR_INVALID_INPUT = 1, /* malformed or out-of-range input */
  TSR_NOT_FOUND = 2,     /* key, item, collection or file does not exist */
  TSR_CONFLICT = 3,      /* already exists, or locked by another writer */
  TSR_IO_ERROR = 4,      /* reading or writing storage or data failed */
  TSR_UNSUPPORTED = 5,   /* valid request that tessera does not handle */
  TSR_INTERNAL = 6,      /* a bug in tessera */
  TSR_UNAVAILABLE = 7    /* transient failure; retrying may succeed */
} tsr_status;

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

/* Stable name of a status, e.g. "not_found". Never fails. */
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

#define TSR_CATALOG_OPTIONS_VERSION 1

typedef struct tsr_catalog_options {
  unsigned int version;     /* TSR_CATALOG_OPTIONS_VERSION */
  size_t max_limit;         /* largest search limit; default 10000 */
  int busy_timeout_ms;      /* SQLite: wait for another writer before TSR_UNAVAILABLE; default 5000 */
  int statement_timeout_ms; /* PgSTAC: longest statement before TSR_UNAVAILABLE; default 60000 */
} tsr_catalog_options;

TSR_API tsr_status tsr_catalog_options_init(tsr_catalog_options* options, unsigned int version);

/* Opens sqlite:///abs/path.db, sqlite://:memory:, an absolute .db path, or
 * postgresql://... (a database with pgstac). `options` may be NULL. */
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

/* STAC API item search: request JSON in, FeatureCollection JSON out. */
TSR_API tsr_status tsr_catalog_search(tsr_catalog catalog, const char* request_json, char** out_json);

/* Indexes a property for sorting and filtering (idempotent). */
TSR_API tsr_status tsr_catalog_index_property(tsr_catalog catalog, const char* property);

/* Queryables (JSON Schema) of one collection, or of all when NULL. */
TSR_API tsr_status tsr_catalog_queryables(tsr_catalog catalog, const char* collection, char** out_json);

/* ---- Ingest ------------------------------------------------------------- */

#define TSR_INGEST_OPTIONS_VERSION 1

typedef struct tsr_ingest_options {
  unsigned int version;             /* TSR_INGEST_OPTIONS_VERSION */
  const char* mode;                 /* "upsert" (default), "insert" or "ignore" */
  size_t batch_size;                /* items per batch; default 500 */
  const char* dead_letter;          /* storage URI/folder or .ndjson path, or NULL */
  const char* storage_options_json; /* S3 settings as for tsr_storage_open, or NULL */
  size_t parallel_fetches;          /* objects fetched at once; default 16 */
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

/* A STAC Item for a raster. `options_json` may be NULL or {"id", "collection",
 * "datetime", "properties": {...}, "statistics": bool, "storage_options": {...}}. */
TSR_API tsr_status tsr_create_item(const char* href, const char* options_json, char** out_item_json);

/* Converts a raster to a COG at a local path or storage URI; settings for
 * s3:// as a JSON object of strings, or NULL. */
TSR_API tsr_status tsr_to_cog(const char* source, const char* destination, const char* storage_options_json);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_H */
