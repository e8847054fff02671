// A downstream application of an installed tessera: ingest -> search ->
// mosaic tile -> package, on a SQLite catalog and a local storage in
// WORK_DIR, with a raster and a boundary it makes itself.
// Usage: tessera_cpp_consumer WORK_DIR
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <tessera/tessera.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A smooth 0.002° elevation-like surface over Luxembourg as an ESRI ASCII
// grid (plain text GDAL reads), turned into a Cloud-Optimized GeoTIFF.
fs::path make_scene(const fs::path& dir) {
  constexpr int kWidth = 450, kHeight = 450;
  constexpr double kWest = 5.7, kSouth = 49.4, kCell = 0.002;
  std::ofstream grid(dir / "scene.asc");
  grid << "ncols " << kWidth << "\nnrows " << kHeight << "\nxllcorner " << kWest << "\nyllcorner " << kSouth
       << "\ncellsize " << kCell << "\nNODATA_value 0\n";
  for (int row = 0; row < kHeight; ++row) {
    for (int col = 0; col < kWidth; ++col) {
      grid << static_cast<int>(300 + 150 * std::sin(col * 0.05) * std::cos(row * 0.04)) << ' ';
    }
    grid << '\n';
  }
  grid.close();
  std::ofstream(dir / "scene.prj") << R"(GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],)"
                                   << R"(PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]])";
  const fs::path cog = dir / "scene.tif";
  tessera::to_cog((dir / "scene.asc").string(), cog.string());
  return cog;
}

const json kCollection = {
    {"type", "Collection"},
    {"stac_version", "1.1.0"},
    {"id", "scenes"},
    {"description", "generated scenes"},
    {"license", "CC0-1.0"},
    {"links", json::array()},
    {"extent",
     {{"spatial", {{"bbox", {{-180, -90, 180, 90}}}}},
      {"temporal", {{"interval", json::array({json::array({"2024-01-01T00:00:00Z", nullptr})})}}}}}};

// A rough outline of Luxembourg, as a one-feature GeoJSON file.
fs::path make_boundary(const fs::path& dir) {
  const json ring = {{5.73, 49.54}, {5.90, 49.44}, {6.37, 49.46}, {6.53, 49.81},
                     {6.13, 50.13}, {5.80, 49.98}, {5.73, 49.54}};
  const json feature = {{"type", "Feature"},
                        {"properties", {{"name", "Luxembourg"}}},
                        {"geometry", {{"type", "Polygon"}, {"coordinates", json::array({ring})}}}};
  std::ofstream(dir / "luxembourg.geojson")
      << json{{"type", "FeatureCollection"}, {"features", json::array({feature})}}.dump();
  return dir / "luxembourg.geojson";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tessera_cpp_consumer WORK_DIR\n";
    return 2;
  }
  try {
    const fs::path work = fs::absolute(argv[1]);
    fs::create_directories(work);
    std::cout << "tessera " << tessera::version() << "\n";

    // Ingest: a STAC item for the COG, loaded from an ndjson file.
    const fs::path scene = make_scene(work);
    tessera::CreateItemOptions item_options;
    item_options.collection = "scenes";
    item_options.datetime = "2024-06-01T10:00:00Z";
    std::ofstream(work / "items.ndjson") << tessera::create_item(scene.string(), item_options).dump() << "\n";
    auto catalog = tessera::Catalog::open("sqlite://" + (work / "catalog.db").string());
    catalog->upsert_collection(kCollection);
    const tessera::IngestReport ingested = tessera::ingest(*catalog, {(work / "items.ndjson").string()});
    std::cout << "ingest: " << ingested.loaded << " loaded, " << ingested.failed << " failed\n";

    // Search: the items over Luxembourg City.
    const json search = {{"collections", {"scenes"}}, {"bbox", {6.1, 49.6, 6.2, 49.7}}};
    const json found = catalog->search(search);
    std::cout << "search: " << found["features"].size() << " item(s), first " << found["features"][0]["id"] << "\n";

    // Mosaic tile: the web-mercator tile north of the city, rendered as a PNG.
    tessera::ReaderConfig reader;
    reader.allowed_roots = {work.string()};  // the reader opens nothing outside WORK_DIR
    tessera::configure(reader);
    tessera::MosaicOptions mosaic_options;
    mosaic_options.assets = {"data"};
    const tessera::Mosaic mosaic(*catalog, search, mosaic_options);
    const auto tms = tessera::TileMatrixSet::web_mercator_quad();
    const tessera::Tile tile = tms.tile(6.13, 49.7, 10);
    const tessera::ImageData image = mosaic.tile(tms, tile);
    tessera::RenderOptions render;
    render.rescale = {{150, 450}};
    std::ofstream(work / "tile.png", std::ios::binary) << tessera::render(image, render);
    std::cout << "tile " << tile.z << "/" << tile.x << "/" << tile.y << ": " << image.width() << "x" << image.height()
              << " from " << image.assets.size() << " item(s), written to tile.png\n";

    // Package: the raster clipped to the boundary, as a Frictionless Data Package.
    auto storage = tessera::Storage::open((work / "packages").string());
    tessera::Packager packager(*storage, catalog.get());
    packager.add_boundaries(make_boundary(work).string());
    const json datasets = {{{"name", "elevation"},
                            {"version", "1"},
                            {"type", "raster"},
                            {"license", {{"name", "CC0-1.0"}}},
                            {"sources", {scene.string()}}}};
    const json package = packager.build("Luxembourg", datasets);
    for (const auto& resource : package["resources"]) {
      std::cout << "package: luxembourg/" << resource["path"].get<std::string>() << ", " << resource["bytes"]
                << " bytes\n";
    }
    return ingested.loaded == 1 && image.assets.size() == 1 && package["resources"].size() == 1 ? 0 : 1;
  } catch (const tessera::Error& error) {
    std::cerr << tessera::error_code_name(error.code()) << ": " << error.what() << "\n";
    return 1;
  }
}
