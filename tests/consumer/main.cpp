// Uses the installed tessera through both its C++ API and its C ABI.
#include <cstdio>
#include <iostream>

#include <tessera/tessera.h>
#include <tessera/tessera.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tessera_consumer ROOT_DIR\n";
    return 2;
  }
  auto storage = tessera::Storage::open(argv[1]);
  storage->put("consumer.txt", "installed tree works");
  tsr_storage c_storage = nullptr;
  void* data = nullptr;
  size_t size = 0;
  if (tsr_storage_open(argv[1], nullptr, &c_storage) != TSR_OK ||
      tsr_storage_get(c_storage, "consumer.txt", &data, &size) != TSR_OK) {
    std::cerr << "C ABI failed: " << tsr_last_error_message() << "\n";
    return 1;
  }
  std::cout << "tessera " << tessera::version() << " consumer read: " << std::string(static_cast<char*>(data), size)
            << "\n";
  tsr_free(data);
  tsr_storage_destroy(&c_storage);
  return 0;
}
