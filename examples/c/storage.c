/* Storage through the C ABI: write, list, read back, and handle an error.
 * Usage: example_c_storage ROOT_DIR */
#include <stdio.h>

#include <tessera/tessera.h>

static int fail(const char* what, tsr_status status) {
  fprintf(stderr, "%s failed (%s): %s\n", what, tsr_status_name(status), tsr_last_error_message());
  return 1;
}

int main(int argc, char** argv) {
  tsr_storage storage = NULL;
  tsr_status status;
  char* keys = NULL;
  void* data = NULL;
  size_t size = 0;
  const char* root = argc > 1 ? argv[1] : "/tmp/tessera-example-c";

  printf("tessera %s\n", tsr_version());
  if ((status = tsr_storage_open(root, NULL, &storage)) != TSR_OK) {
    return fail("open", status);
  }
  if ((status = tsr_storage_put(storage, "notes/hello.txt", "hello from C", 12)) != TSR_OK) {
    tsr_storage_destroy(&storage);
    return fail("put", status);
  }
  if ((status = tsr_storage_list(storage, "notes/", true, &keys)) == TSR_OK) {
    printf("keys under notes/: %s\n", keys);
    tsr_free(keys);
  }
  if ((status = tsr_storage_get(storage, "notes/hello.txt", &data, &size)) == TSR_OK) {
    printf("notes/hello.txt (%zu bytes): %s\n", size, (const char*)data);
    tsr_free(data);
  }
  /* Keys cannot leave the root: this is refused with TSR_INVALID_INPUT. */
  status = tsr_storage_put(storage, "../escape.txt", "x", 1);
  printf("put ../escape.txt -> %s: %s\n", tsr_status_name(status), tsr_last_error_message());
  tsr_storage_destroy(&storage);
  return status == TSR_INVALID_INPUT ? 0 : 1;
}
