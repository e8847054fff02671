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

/* A 64x64 int32 raster in UTM 33N (40 m pixels, upper-left corner
 * 500000/5000000, around 15.016E 45.142N), value = row * 64 + column:
 * written as an ESRI ASCII grid with an ESRI .prj and made a COG with
 * tsr_to_cog. Its path goes to `cog`. */
static int write_raster(const char* root, char* cog, size_t cog_size) {
  char asc[1024];
  char prj[1024];
  FILE* file = NULL;
  int row = 0;
  int column = 0;

  snprintf(asc, sizeof asc, "%s/utm.asc", root);
  snprintf(prj, sizeof prj, "%s/utm.prj", root);
  snprintf(cog, cog_size, "%s/utm.tif", root);
  file = fopen(asc, "w");
  if (file == NULL) {
    return 0;
  }
  fprintf(file, "ncols 64\nnrows 64\nxllcorner 500000\nyllcorner 4997440\ncellsize 40\nNODATA_value -1\n");
  for (row = 0; row < 64; ++row) {
    for (column = 0; column < 64; ++column) {
      fprintf(file, "%d ", row * 64 + column);
    }
    fprintf(file, "\n");
  }
  fclose(file);
  file = fopen(prj, "w");
  if (file == NULL) {
    return 0;
  }
  fprintf(file,
          "Projection UTM\nZone 33\nDatum WGS84\nSpheroid WGS84\nUnits METERS\nZunits NO\nXshift 0.0\n"
          "Yshift 0.0\nParameters\n");
  fclose(file);
  return tsr_to_cog(asc, cog, NULL) == TSR_OK;
}

/* Tiling through the C ABI: a tile rendered to PNG, preview, point, info,
 * statistics, and the documented errors. */
static void check_tiling(const char* root) {
  char cog[1024];
  char config[1200];
  char missing[1100];
  tsr_image image = NULL;
  int bands = 0;
  int height = 0;
  int width = 0;
  void* data = NULL;
  size_t size = 0;
  char* json = NULL;

  if (!write_raster(root, cog, sizeof cog)) {
    fprintf(stderr, "cannot write the test raster: %s\n", tsr_last_error_message());
    failures++;
    return;
  }
  snprintf(config, sizeof config, "{\"allowed_roots\": [\"%s\"], \"dataset_cache_size\": 8}", root);
  CHECK(tsr_configure_reader(config) == TSR_OK);

  /* The WebMercatorQuad tile 14/8875/5884 lies inside the raster. */
  CHECK(tsr_read_tile(cog, NULL, 14, 8875, 5884, "{\"tilesize\": 256, \"resampling\": \"bilinear\"}", &image) ==
        TSR_OK);
  CHECK(tsr_image_shape(image, &bands, &height, &width) == TSR_OK);
  CHECK(bands == 1 && height == 256 && width == 256);
  CHECK(tsr_image_dtype(image) == TSR_DTYPE_INT32 && strcmp(tsr_dtype_name(tsr_image_dtype(image)), "int32") == 0);
  CHECK(tsr_image_data(image) != NULL);
  CHECK(tsr_image_mask(image) != NULL && tsr_image_mask(image)[0] == 255);
  CHECK(tsr_image_render(image, "{\"rescale\": [0, 4095], \"colormap\": \"viridis\"}", &data, &size) == TSR_OK);
  CHECK(data != NULL && size > 8 && memcmp(data, "\211PNG\r\n\032\n", 8) == 0);
  tsr_free(data);
  data = NULL;
  CHECK(tsr_image_render(image, "{\"format\": \"gif\"}", &data, &size) == TSR_INVALID_INPUT && data == NULL);
  tsr_image_destroy(&image);
  CHECK(image == NULL);
  tsr_image_destroy(&image);
  tsr_image_destroy(NULL);

  CHECK(tsr_read_preview(cog, "{\"max_size\": 32}", &image) == TSR_OK);
  CHECK(tsr_image_shape(image, &bands, &height, &width) == TSR_OK && height == 32 && width == 32);
  tsr_image_destroy(&image);

  CHECK(tsr_raster_info(cog, "WorldCRS84Quad", &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "\"width\":64") != NULL && strstr(json, "\"dtype\":\"int32\"") != NULL);
  tsr_free(json);
  CHECK(tsr_read_point(cog, 15.0163, 45.1420, NULL, &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "\"masked\":false") != NULL && strstr(json, "\"b1\"") != NULL);
  tsr_free(json);
  CHECK(tsr_raster_statistics(cog, "{\"max_size\": 0}", &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "\"max\":4095") != NULL);
  tsr_free(json);
  CHECK(tsr_tilejson(cog, "/tiles/{z}/{x}/{y}.png", NULL, &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "\"tilejson\":\"3.0.0\"") != NULL);
  tsr_free(json);

  /* Errors: bad options, hrefs outside the allowed folder or in GDAL syntax,
   * a missing raster, tiles outside the set or the raster, NULL out-params. */
  json = NULL;
  CHECK(tsr_read_tile(cog, NULL, 14, 8875, 5884, "{\"tilesize\": 256", &image) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "not valid JSON") != NULL && image == NULL);
  CHECK(tsr_read_tile(cog, NULL, 14, 8875, 5884, "{\"tilesize\": 1000000}", &image) == TSR_INVALID_INPUT);
  CHECK(tsr_read_tile(cog, NULL, 14, 8875, 5884, "{\"expression\": \"b1 + (\"}", &image) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "position") != NULL);
  CHECK(tsr_raster_info("/etc/hostname", NULL, &json) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "outside the allowed local folders") != NULL);
  CHECK(tsr_raster_info("/vsimem/utm.tif", NULL, &json) == TSR_INVALID_INPUT);
  CHECK(strstr(tsr_last_error_message(), "/vsi") != NULL && json == NULL);
  snprintf(missing, sizeof missing, "%s/missing.tif", root);
  CHECK(tsr_read_preview(missing, NULL, &image) == TSR_NOT_FOUND);
  CHECK(tsr_read_tile(cog, NULL, 14, -1, 5884, NULL, &image) == TSR_INVALID_INPUT);
  CHECK(tsr_read_tile(cog, NULL, 14, 0, 0, NULL, &image) == TSR_NOT_FOUND);
  CHECK(tsr_read_tile(cog, "NoSuchSet", 14, 0, 0, NULL, &image) == TSR_NOT_FOUND);
  CHECK(tsr_read_preview(cog, NULL, NULL) == TSR_INVALID_INPUT);
  CHECK(tsr_image_shape(NULL, &bands, &height, &width) == TSR_INVALID_INPUT);
  CHECK(tsr_image_dtype(NULL) == TSR_DTYPE_INVALID && tsr_dtype_name(TSR_DTYPE_INVALID) == NULL);
  CHECK(image == NULL);
  CHECK(tsr_configure_reader("{\"allowed_roots\": 1}") == TSR_INVALID_INPUT);
  CHECK(tsr_configure_reader(NULL) == TSR_OK);
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
  CHECK(tsr_catalog_aggregate(catalog, "{\"aggregations\": [\"total_count\", \"collection_frequency\"]}", &json) ==
        TSR_OK);
  CHECK(json != NULL && strstr(json, "\"AggregationCollection\"") != NULL && strstr(json, "\"value\":1") != NULL);
  tsr_free(json);
  json = NULL;
  CHECK(tsr_catalog_aggregate(catalog, "{\"aggregations\": [\"nonsense\"]}", &json) == TSR_INVALID_INPUT);
  CHECK(json == NULL);
  CHECK(strstr(tsr_last_error_message(), "unknown aggregation 'nonsense'") != NULL);
  CHECK(tsr_catalog_aggregate(catalog, "{\"aggregations\": [\"total_count\"]}", NULL) == TSR_INVALID_INPUT);
  CHECK(tsr_catalog_aggregate(catalog, NULL, &json) == TSR_INVALID_INPUT);
  CHECK(tsr_catalog_aggregations(catalog, NULL, &json) == TSR_OK);
  CHECK(json != NULL && strstr(json, "centroid_geohash_grid_frequency") != NULL);
  tsr_free(json);
  json = NULL;
  CHECK(tsr_catalog_aggregations(catalog, "missing", &json) == TSR_NOT_FOUND);
  CHECK(json == NULL);
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
  /* One name per status, the same as C++'s and Python's; TSR_IO_ERROR is TSR_IO's older name. */
  CHECK(strcmp(tsr_status_name(TSR_IO), "io") == 0);
  CHECK(TSR_IO_ERROR == TSR_IO);
  CHECK(strcmp(tsr_status_name(TSR_NOT_FOUND), "not_found") == 0);
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
  check_tiling(argv[1]);
  if (failures == 0) {
    printf("C API checks passed\n");
  }
  return failures == 0 ? 0 : 1;
}
