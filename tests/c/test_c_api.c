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

  if (failures == 0) {
    printf("C API checks passed\n");
  }
  return failures == 0 ? 0 : 1;
}
