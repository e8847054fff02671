// A catalog from C++: load an ndjson file (bad lines are reported, the rest
// kept) and run a STAC search with a CQL2 filter.
// Usage: example_cpp_catalog CATALOG_DB COLLECTION_JSON ITEMS_NDJSON
#include <fstream>
#include <iostream>

#include <tessera/tessera.hpp>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: example_cpp_catalog CATALOG_DB COLLECTION_JSON ITEMS_NDJSON\n";
    return 2;
  }
  try {
    auto catalog = tessera::Catalog::open(std::string("sqlite://") + argv[1]);
    catalog->upsert_collection(nlohmann::json::parse(std::ifstream(argv[2])));
    tessera::LoadOptions options;
    options.mode = tessera::LoadMode::kUpsert;
    const auto report = catalog->load_file(argv[3], options);
    std::cout << "loaded " << report.loaded << ", failed " << report.failed.size() << "\n";
    for (const auto& failure : report.failed) {
      std::cout << "  " << failure.error << "\n";
    }
    const auto result = catalog->search({{"bbox", {7.2, 45.2, 7.8, 46.8}},
                                         {"filter", "eo:cloud_cover < 60 AND platform = 'sentinel-2a'"},
                                         {"sortby", "-datetime"},
                                         {"limit", 3}});
    std::cout << result["numberMatched"] << " matches; newest " << result["numberReturned"] << ":\n";
    for (const auto& feature : result["features"]) {
      std::cout << "  " << feature["id"].get<std::string>() << " " << feature["properties"]["datetime"] << "\n";
    }
    return report.loaded > 0 ? 0 : 1;
  } catch (const tessera::Error& error) {
    std::cerr << tessera::error_code_name(error.code()) << ": " << error.what() << "\n";
    return 1;
  }
}
