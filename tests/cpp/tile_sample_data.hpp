#pragma once

// A small catalog of generated COGs for the tile routes' tests: three
// single-band uint8 scenes (nodata 0) over northern Italy, a month apart,
// with an asset "data" each, in a SQLite catalog.

#include <filesystem>
#include <string>
#include <vector>

namespace tessera::testing {

struct SampleScene {
  std::string id;
  std::string datetime;
  double west, south, east, north;
  std::filesystem::path cog;
};

struct SampleData {
  std::filesystem::path folder;
  std::string catalog_uri;  // sqlite:///<folder>/catalog.db
  std::string collection;   // "sample"
  std::vector<SampleScene> scenes;
};

// Writes the COGs and the catalog into `folder` (emptied first).
SampleData write_sample_data(const std::filesystem::path& folder);

}  // namespace tessera::testing
