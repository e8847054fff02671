// Writes the tile routes' sample data (tile_sample_data.hpp) into a folder
// and prints its catalog URI: the viewer test serves it.

#include <exception>
#include <iostream>

#include "tile_sample_data.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_tile_sample_data FOLDER\n";
    return 2;
  }
  try {
    std::cout << tessera::testing::write_sample_data(argv[1]).catalog_uri << "\n";
  } catch (const std::exception& error) {
    std::cerr << "write_tile_sample_data: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
