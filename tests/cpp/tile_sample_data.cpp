#include "tile_sample_data.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include <gdal_priv.h>
#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"

namespace tessera::testing {

namespace {

using nlohmann::json;

constexpr int kSize = 256;

// A pattern per scene so tiles of different scenes differ: a diagonal
// gradient, horizontal bands and a checkerboard, all in 1..255.
std::uint8_t pixel_value(int scene, int row, int column) {
  switch (scene) {
    case 0:
      return static_cast<std::uint8_t>(1 + (row + column) * 254 / (2 * (kSize - 1)));
    case 1:
      return static_cast<std::uint8_t>(40 + (row / 32) * 25);
    default:
      return static_cast<std::uint8_t>(((row / 32 + column / 32) % 2 == 0) ? 60 : 220);
  }
}

void write_cog(const SampleScene& scene, int pattern) {
  GDALAllRegister();
  GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
  if (memory == nullptr || cog == nullptr) {
    throw std::runtime_error("GDAL lacks the MEM or COG driver");
  }
  GDALDatasetUniquePtr source(memory->Create("", kSize, kSize, 1, GDT_Byte, nullptr));
  std::vector<std::uint8_t> values(static_cast<std::size_t>(kSize) * kSize);
  for (int row = 0; row < kSize; ++row) {
    for (int column = 0; column < kSize; ++column) {
      values[static_cast<std::size_t>(row) * kSize + column] = pixel_value(pattern, row, column);
    }
  }
  double transform[6] = {scene.west, (scene.east - scene.west) / kSize,   0, scene.north,
                         0,          -(scene.north - scene.south) / kSize};
  source->SetGeoTransform(transform);
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  source->SetSpatialRef(&wgs84);
  GDALRasterBand* band = source->GetRasterBand(1);
  band->SetNoDataValue(0);
  if (band->RasterIO(GF_Write, 0, 0, kSize, kSize, values.data(), kSize, kSize, GDT_Byte, 0, 0, nullptr) != CE_None) {
    throw std::runtime_error("cannot fill " + scene.id);
  }
  const char* options[] = {"BLOCKSIZE=128", nullptr};
  GDALDatasetUniquePtr written(
      cog->CreateCopy(scene.cog.c_str(), source.get(), FALSE, const_cast<char**>(options), nullptr, nullptr));
  if (!written) {
    throw std::runtime_error("cannot write " + scene.cog.string());
  }
}

json item_of(const SampleScene& scene, const std::string& collection) {
  const json ring = {{scene.west, scene.south},
                     {scene.east, scene.south},
                     {scene.east, scene.north},
                     {scene.west, scene.north},
                     {scene.west, scene.south}};
  return {{"type", "Feature"},
          {"stac_version", "1.1.0"},
          {"id", scene.id},
          {"collection", collection},
          {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}},
          {"bbox", {scene.west, scene.south, scene.east, scene.north}},
          {"properties", {{"datetime", scene.datetime}}},
          {"links", json::array()},
          {"assets",
           {{"data",
             {{"href", scene.cog.string()},
              {"type", "image/tiff; application=geotiff; profile=cloud-optimized"},
              {"roles", {"data"}}}}}}};
}

}  // namespace

SampleData write_sample_data(const std::filesystem::path& folder) {
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  SampleData data{std::filesystem::canonical(folder), "", "sample", {}};
  data.catalog_uri = "sqlite:///" + (data.folder / "catalog.db").string();
  data.scenes = {
      {"scene-june", "2024-06-01T10:00:00Z", 10.0, 45.0, 11.0, 46.0, data.folder / "scene-june.tif"},
      {"scene-july", "2024-07-01T10:00:00Z", 10.5, 45.5, 11.5, 46.5, data.folder / "scene-july.tif"},
      {"scene-august", "2024-08-01T10:00:00Z", 11.0, 45.0, 12.0, 46.0, data.folder / "scene-august.tif"},
  };
  std::vector<json> items;
  for (std::size_t i = 0; i < data.scenes.size(); ++i) {
    write_cog(data.scenes[i], static_cast<int>(i));
    items.push_back(item_of(data.scenes[i], data.collection));
  }
  const auto catalog = tessera::Catalog::open(data.catalog_uri);
  catalog->create_collection(
      {{"type", "Collection"},
       {"stac_version", "1.1.0"},
       {"id", data.collection},
       {"description", "Generated scenes for the tile route tests"},
       {"license", "CC0-1.0"},
       {"links", json::array()},
       {"extent",
        {{"spatial", {{"bbox", {{10.0, 45.0, 12.0, 46.5}}}}},
         {"temporal", {{"interval", json::array({json::array({"2024-06-01T00:00:00Z", "2024-08-31T23:59:59Z"})})}}}}}});
  const tessera::LoadReport report = catalog->load(items);
  if (!report.failed.empty() || report.loaded != items.size()) {
    throw std::runtime_error("sample items did not load: " + report.to_json().dump());
  }
  return data;
}

}  // namespace tessera::testing
