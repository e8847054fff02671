/* Compiled as strict C99 (-std=c99 -pedantic -Werror): the header must be
 * plain C, and the API must work from C. Usage: test_c_api ROOT_DIR */
#include <stdio.h>
#include <string.h>

#include <tessera/tessera.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static const char* kCollection =
    "{\"type\":\"Collection\",\"stac_version\":\"1.1.0\",\"id\":\"c\",\"description\":\"d\","
    "\"license\":\"CC0-1.0\",\"links\":[],\"extent\":{\"spatial\":{\"bbox\":[[-180,-90,180,90]]},"
    "\"temporal\":{\"interval\":[[null,null]]}}}";

/* One good item and one without geometry/bbox, as a FeatureCollection. */
static const char* kItems =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"stac_version\":\"1.1.0\",\"id\":\"i1\",\"collection\":\"c\","
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"bbox\":[1,2,1,2],"
    "\"properties\":{\"datetime\":\"2021-01-01T00:00:00Z\"},\"links\":[],\"assets\":{}},"
    "{\"type\":\"Feature\",\"stac_version\":\"1.1.0\",\"id\":\"bad\",\"collection\":\"c\","
    "\"properties\":{\"datetime\":\"2021-01-01T00:00:00Z\"},\"links\":[],\"assets\":{}}]}";

/* Queue messages through the C ABI: an SNS-wrapped item, a test event and a
 * broken message, with the report as JSON. */
static void check_ingest(tsr_catalog catalog) {
  tsr_ingest_options options;
  char* report = NULL;
  const char* messages =
      "[\"{\\\"Type\\\": \\\"Notification\\\", \\\"Message\\\": \\\"{}\\\"}\", "
      "\"{\\\"Event\\\": \\\"s3:TestEvent\\\"}\", \"not json\"]";
  CHECK(tsr_ingest_options_init(&options, TSR_INGEST_OPTIONS_VERSION) == TSR_OK);
  CHECK(tsr_ingest_messages(catalog, messages, &options, &report) == TSR_OK);
  CHECK(report != NULL && strstr(report, "\"ignored\"") != NULL && strstr(report, "not valid JSON") != NULL);
  tsr_free(report);
  CHECK(tsr_ingest_messages(catalog, "{}", &options, &report) == TSR_INVALID_INPUT);
  CHECK(tsr_ingest(catalog, "[\"/no/such/folder/items.json\"]", NULL, &report) == TSR_OK);
  CHECK(report != NULL && strstr(report, "cannot open") != NULL);
  tsr_free(report);
  CHECK(tsr_create_item("/no/such/raster.tif", NULL, &report) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "raster.tif") != NULL);
  CHECK(tsr_to_cog("/no/such/raster.tif", "/tmp/never.tif", NULL) == TSR_INVALID_INPUT);
}

static void check_catalog(void) {
  tsr_catalog catalog = NULL;
  tsr_load_options load;
  char* json = NULL;

  CHECK(tsr_catalog_open("sqlite://:memory:", NULL, &catalog) == TSR_OK);
  CHECK(tsr_catalog_upsert_collection(catalog, kCollection) == TSR_OK);
  CHECK(tsr_catalog_upsert_collection(catalog, "{\"id\": \"x\"}") == TSR_INVALID_INPUT);
  CHECK(tsr_load_options_init(&load, TSR_LOAD_OPTIONS_VERSION) == TSR_OK);
  load.mode = "upsert";
  CHECK(tsr_catalog_load_json(catalog, kItems, &load, &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "\"loaded\":1") != NULL && strstr(json, "\"bad\"") != NULL);
  tsr_free(json);
  CHECK(tsr_catalog_search(catalog, "{\"bbox\": [0, 0, 5, 5]}", &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "\"numberReturned\":1") != NULL);
  tsr_free(json);
  CHECK(tsr_catalog_search(catalog, "{\"limit\": -1}", &json) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "limit") != NULL);
  CHECK(tsr_catalog_index_property(catalog, "eo:cloud_cover") == TSR_OK);
  CHECK(tsr_catalog_get_item(catalog, "c", "i1", &json) == TSR_OK);
  tsr_free(json);
  CHECK(tsr_catalog_get_item(catalog, "c", "missing", &json) == TSR_NOT_FOUND);
  check_ingest(catalog);
  tsr_catalog_destroy(&catalog);
  CHECK(catalog == NULL);
}

int main(int argc, char** argv) {
  tsr_storage storage = NULL;
  void* data = NULL;
  size_t size = 0;
  bool exists = true;
  char* json = NULL;

  if (argc != 2) {
    fprintf(stderr, "usage: %s ROOT_DIR\n", argv[0]);
    return 2;
  }
  CHECK(strlen(tsr_version()) > 0);
  CHECK(tsr_storage_open(argv[1], NULL, &storage) == TSR_OK);
  CHECK(tsr_storage_put(storage, "c/hello.txt", "hi from C", 9) == TSR_OK);
  CHECK(tsr_storage_get(storage, "c/hello.txt", &data, &size) == TSR_OK);
  CHECK(size == 9 && memcmp(data, "hi from C", 9) == 0);
  tsr_free(data);
  CHECK(tsr_storage_list(storage, "c/", true, &json) == TSR_OK);
  CHECK(json != NULL && strcmp(json, "[\"c/hello.txt\"]") == 0);
  tsr_free(json);

  /* Documented errors: traversal, missing key, bad URI. */
  CHECK(tsr_storage_put(storage, "../outside", "x", 1) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "..") != NULL);
  CHECK(tsr_storage_get(storage, "c/missing.txt", &data, &size) == TSR_NOT_FOUND);
  CHECK(strstr(tsr_last_error_message(), "c/missing.txt") != NULL);
  CHECK(tsr_storage_remove(storage, "c/hello.txt") == TSR_OK);
  CHECK(tsr_storage_exists(storage, "c/hello.txt", &exists) == TSR_OK && !exists);
  tsr_storage_destroy(&storage);
  CHECK(storage == NULL);
  CHECK(tsr_storage_open("not-a-uri", NULL, &storage) == TSR_INVALID_INPUT);
  CHECK(storage == NULL);

  check_catalog();
  if (failures == 0) {
    printf("C API checks passed\n");
  }
  return failures == 0 ? 0 : 1;
}
