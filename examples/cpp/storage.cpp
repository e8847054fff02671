// Storage from C++: write, list, read back, and handle an error.
// Usage: example_cpp_storage ROOT_DIR
#include <iostream>

#include <tessera/tessera.hpp>

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : "/tmp/tessera-example-cpp";
  std::cout << "tessera " << tessera::version() << "\n";
  auto storage = tessera::Storage::open(root);
  storage->put("notes/hello.txt", "hello from C++");
  for (const auto& key : storage->list("notes/")) {
    std::cout << key << " -> " << storage->get(key) << " (" << storage->uri(key) << ")\n";
  }
  try {
    storage->get("notes/missing.txt");
    return 1;
  } catch (const tessera::Error& error) {
    std::cout << "expected " << tessera::error_code_name(error.code()) << ": " << error.what() << "\n";
  }
  return 0;
}
