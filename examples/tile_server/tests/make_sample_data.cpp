// Writes the tile server's sample data (sample_data.hpp) into a folder and
// prints its catalog URI: the viewer test and the load test serve it.

#include <exception>
#include <iostream>

#include "sample_data.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tile_server_sample_data FOLDER\n";
    return 2;
  }
  try {
    std::cout << tile_server::testing::write_sample_data(argv[1]).catalog_uri << "\n";
  } catch (const std::exception& error) {
    std::cerr << "tile_server_sample_data: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
