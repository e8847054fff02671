// Catalog benchmark (issue: SQLite catalog). Generates a Sentinel-2-like
// catalog (UTM-grid footprints, ~40 properties, ~15 assets, several years,
// three collections) as ndjson, loads it, and measures a query mix.
//
//   catalog_bench --items 1000000 --dir /tmp/tessera-bench --queries 100 [--batch-size 20000]
//                 [--reuse: keep the generated ndjson and database] [--load-only]
//
// Prints one JSON document with the figures BENCHMARKS.md records.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "tessera/catalog.hpp"
#include "tessera/datetime.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::size_t items = 1000000;
  fs::path dir = "/tmp/tessera-bench";
  int queries = 200;
  bool reuse = false;
  bool load_only = false;
  std::size_t batch_size = 20000;
};

Args parse_args(int argc, char** argv) {
  Args args;
  for (int n = 1; n < argc; ++n) {
    const std::string arg = argv[n];
    auto next = [&] { return std::string(argv[++n]); };
    if (arg == "--items") {
      args.items = std::stoul(next());
    } else if (arg == "--dir") {
      args.dir = next();
    } else if (arg == "--queries") {
      args.queries = std::stoi(next());
    } else if (arg == "--batch-size") {
      args.batch_size = std::stoul(next());
    } else if (arg == "--load-only") {
      args.load_only = true;
    } else if (arg == "--reuse") {
      args.reuse = true;
    } else {
      throw std::runtime_error("unknown argument " + arg);
    }
  }
  return args;
}

// Tiles of a 1 x 0.9 degree grid over land-heavy regions, revisited every
// 5 days from 2019 on: enough tiles that 1M items span several years.
struct Tile {
  double lon;
  double lat;
  std::string name;
  int epsg;
};

std::vector<Tile> make_tiles() {
  std::vector<Tile> tiles;
  const struct {
    double west, south, east, north;
  } regions[] = {{-10, 36, 30, 60}, {-124, 30, -70, 49}, {-75, -35, -40, 5}, {10, -30, 40, 10}, {70, 10, 120, 45}};
  for (const auto& region : regions) {
    for (double lat = region.south; lat < region.north; lat += 0.9) {
      for (double lon = region.west; lon < region.east; lon += 1.0) {
        const int zone = static_cast<int>(std::floor((lon + 180) / 6)) + 1;
        tiles.push_back({lon, lat,
                         fmt::format("{}{}{}", zone, static_cast<char>('C' + static_cast<int>((lat + 80) / 8) % 20),
                                     tiles.size() % 676),
                         (lat >= 0 ? 32600 : 32700) + zone});
      }
    }
  }
  return tiles;
}

const char* kBands[] = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"};
const double kCenters[] = {0.443, 0.49, 0.56, 0.665, 0.704, 0.74, 0.783, 0.842, 0.865, 0.945, 1.61, 2.19};

std::string make_item(std::size_t n, const std::vector<Tile>& tiles, std::mt19937_64& random) {
  const Tile& tile = tiles[n % tiles.size()];
  const std::size_t visit = n / tiles.size();
  static const char* collections[] = {"sentinel-2-l2a", "sentinel-2-l1c", "landsat-c2-l2"};
  const char* collection = collections[n % 7 == 0 ? 2 : (n % 3 == 0 ? 1 : 0)];
  const std::int64_t start = *tessera::parse_rfc3339_micros("2019-01-01T10:00:00Z");
  const std::int64_t micros = start + static_cast<std::int64_t>(visit) * 5 * 86400 * 1000000LL +
                              static_cast<std::int64_t>(n % 3600) * 1000000LL;
  const std::string datetime = tessera::format_rfc3339_micros(micros);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // UTM-grid footprint: a slightly rotated quadrilateral, sometimes clipped
  // to the swath edge (a triangle-ish pentagon).
  const double skew = 0.05 * (unit(random) - 0.5);
  const double x0 = tile.lon;
  const double y0 = tile.lat;
  std::vector<std::pair<double, double>> ring = {
      {x0, y0}, {x0 + 1.05, y0 + skew}, {x0 + 1.05 + skew, y0 + 0.92}, {x0 + skew, y0 + 0.92 + skew}, {x0, y0}};
  double minx = 1e9, miny = 1e9, maxx = -1e9, maxy = -1e9;
  std::string coordinates;
  for (const auto& [x, y] : ring) {
    minx = std::min(minx, x);
    miny = std::min(miny, y);
    maxx = std::max(maxx, x);
    maxy = std::max(maxy, y);
    coordinates += fmt::format("{}[{:.6f},{:.6f}]", coordinates.empty() ? "" : ",", x, y);
  }
  const std::string id = fmt::format("S2_{}_{}_{:07d}", tile.name, datetime.substr(0, 10), n);
  std::string assets;
  for (std::size_t b = 0; b < std::size(kBands); ++b) {
    assets += fmt::format(
        R"("{}":{{"href":"s3://bucket/tiles/{}/{}/{}.tif","type":"image/tiff; application=geotiff; profile=cloud-optimized","roles":["data"],"title":"Band {}","gsd":{},"eo:bands":[{{"name":"{}","center_wavelength":{},"full_width_half_max":0.03}}],"proj:shape":[10980,10980]}},)",
        kBands[b], tile.name, id, kBands[b], kBands[b], b < 4 ? 10 : 20, kBands[b], kCenters[b]);
  }
  assets += fmt::format(
      R"("visual":{{"href":"s3://bucket/tiles/{}/{}/TCI.tif","type":"image/tiff; application=geotiff; profile=cloud-optimized","roles":["visual"]}},)",
      tile.name, id);
  assets += fmt::format(
      R"("thumbnail":{{"href":"https://example.com/{}/thumb.jpg","type":"image/jpeg","roles":["thumbnail"]}},)", id);
  assets += fmt::format(
      R"("metadata":{{"href":"s3://bucket/tiles/{}/{}/MTD.xml","type":"application/xml","roles":["metadata"]}})",
      tile.name, id);
  const double cloud = std::pow(unit(random), 1.7) * 100.0;
  return fmt::format(
      R"({{"type":"Feature","stac_version":"1.1.0","stac_extensions":["https://stac-extensions.github.io/eo/v1.1.0/schema.json","https://stac-extensions.github.io/projection/v1.1.0/schema.json","https://stac-extensions.github.io/view/v1.0.0/schema.json"],"id":"{}","collection":"{}","geometry":{{"type":"Polygon","coordinates":[[{}]]}},"bbox":[{:.6f},{:.6f},{:.6f},{:.6f}],"properties":{{"datetime":"{}","created":"{}","updated":"{}","platform":"{}","constellation":"sentinel-2","instruments":["msi"],"eo:cloud_cover":{:.4f},"eo:snow_cover":{:.3f},"view:off_nadir":{:.3f},"view:sun_azimuth":{:.3f},"view:sun_elevation":{:.3f},"view:incidence_angle":{:.3f},"proj:code":"EPSG:{}","proj:epsg":{},"gsd":10,"mgrs:utm_zone":{},"mgrs:latitude_band":"{}","mgrs:grid_square":"{}","grid:code":"MGRS-{}","s2:mgrs_tile":"{}","s2:product_type":"S2MSI2A","s2:processing_baseline":"05.09","s2:product_uri":"S2B_MSIL2A_{}.SAFE","s2:generation_time":"{}","s2:datatake_id":"GS2B_{}","s2:datatake_type":"INS-NOBS","s2:datastrip_id":"S2B_OPER_MSI_L2A_DS_{}","s2:granule_id":"S2B_OPER_MSI_L2A_TL_{}","s2:reflectance_conversion_factor":{:.6f},"s2:degraded_msi_data_percentage":0.0,"s2:nodata_pixel_percentage":{:.4f},"s2:saturated_defective_pixel_percentage":0.0,"s2:dark_features_percentage":{:.4f},"s2:cloud_shadow_percentage":{:.4f},"s2:vegetation_percentage":{:.4f},"s2:not_vegetated_percentage":{:.4f},"s2:water_percentage":{:.4f},"s2:unclassified_percentage":{:.4f},"s2:medium_proba_clouds_percentage":{:.4f},"s2:high_proba_clouds_percentage":{:.4f},"s2:thin_cirrus_percentage":{:.4f},"s2:snow_ice_percentage":{:.4f},"sat:orbit_state":"descending","sat:relative_orbit":{}}},"links":[{{"rel":"license","href":"https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"}}],"assets":{{{}}}}})", id,
      collection, coordinates, minx, miny, maxx, maxy, datetime, datetime, datetime,
      n % 2 ? "sentinel-2a" : "sentinel-2b", cloud, unit(random) * 5, unit(random) * 10, unit(random) * 360,
      20 + unit(random) * 50, unit(random) * 12, tile.epsg, tile.epsg, tile.epsg % 100, tile.name.substr(2, 1),
      tile.name, tile.name, tile.name, datetime, datetime, n, n, n, 0.97 + unit(random) * 0.06, unit(random) * 50,
      unit(random) * 5, unit(random) * 5, unit(random) * 60, unit(random) * 30, unit(random) * 20, unit(random) * 3,
      cloud * 0.4, cloud * 0.5, cloud * 0.1, unit(random) * 2, 1 + n % 143, assets);
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

template <typename Body>
double time_ms(Body&& body) {
  const auto start = Clock::now();
  body();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  fs::create_directories(args.dir);
  const fs::path ndjson = args.dir / fmt::format("items-{}.ndjson", args.items);
  const fs::path database = args.dir / fmt::format("catalog-{}.db", args.items);
  const auto tiles = make_tiles();
  json report = {{"items", args.items}, {"tiles", tiles.size()}, {"batch_size", args.batch_size}};

  if (!args.reuse || !fs::exists(ndjson)) {
    std::mt19937_64 random(42);
    std::ofstream out(ndjson);
    const double ms = time_ms([&] {
      for (std::size_t n = 0; n < args.items; ++n) {
        out << make_item(n, tiles, random) << '\n';
      }
    });
    std::cerr << fmt::format("generated {} items in {:.1f} s\n", args.items, ms / 1000);
  }
  report["ndjson_bytes"] = fs::file_size(ndjson);

  if (!args.reuse || !fs::exists(database)) {
    fs::remove(database);
    fs::remove(database.string() + "-wal");
    fs::remove(database.string() + "-shm");
    auto catalog = tessera::Catalog::open(database.string());
    for (const char* id : tessera::bench::kCollections) {
      catalog->upsert_collection(tessera::bench::collection_json(id));
    }
    tessera::LoadReport load;
    tessera::LoadOptions options;
    options.batch_size = args.batch_size;
    const double ms = time_ms([&] { load = catalog->load_file(ndjson, options); });
    report["index_property_seconds"] = time_ms([&] { catalog->index_property("eo:cloud_cover"); }) / 1000;
    report["load_seconds"] = ms / 1000;
    report["load_items_per_second"] = static_cast<double>(load.loaded) / (ms / 1000);
    report["load_failed"] = load.failed.size();
    std::cerr << fmt::format("loaded {} items in {:.1f} s ({:.0f}/s)\n", load.loaded, ms / 1000,
                             static_cast<double>(load.loaded) / (ms / 1000));
  }
  std::uintmax_t db_bytes = fs::file_size(database);
  if (fs::exists(database.string() + "-wal")) {
    db_bytes += fs::file_size(database.string() + "-wal");
  }
  report["database_bytes"] = db_bytes;
  report["database_bytes_per_million_items"] = static_cast<double>(db_bytes) * 1e6 / static_cast<double>(args.items);

  if (args.load_only) {
    std::cout << report.dump(2) << std::endl;
    return 0;
  }
  auto catalog = tessera::Catalog::open(database.string());
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::size_t> pick_tile(0, tiles.size() - 1);
  std::uniform_int_distribution<int> pick_month(
      0, std::max<int>(0, static_cast<int>(args.items / tiles.size() * 5 / 30) - 1));
  // A country-sized polygon (roughly France), 14 vertices.
  const json country = {{"type", "Polygon"},
                        {"coordinates",
                         {{{-4.8, 48.4},
                           {-1.8, 49.7},
                           {1.6, 50.9},
                           {4.2, 49.9},
                           {8.2, 48.9},
                           {7.6, 47.6},
                           {6.8, 46.3},
                           {7.7, 43.9},
                           {3.1, 43.1},
                           {-1.8, 43.4},
                           {-1.2, 46.2},
                           {-2.5, 47.3},
                           {-4.5, 47.9},
                           {-4.8, 48.4}}}}};
  const std::int64_t base = *tessera::parse_rfc3339_micros("2019-01-01T00:00:00Z");
  std::map<std::string, std::function<json()>> mix = {
      {"small_bbox",
       [&] {
         const auto& t = tiles[pick_tile(random)];
         return json{{"bbox", {t.lon + 0.3, t.lat + 0.3, t.lon + 0.5, t.lat + 0.5}}, {"limit", 10}};
       }},
      {"continent_bbox",
       [&] {
         return json{{"bbox", {-10, 35, 30, 60}}, {"limit", 10}};
       }},
      {"bbox_datetime_month",
       [&] {
         const auto& t = tiles[pick_tile(random)];
         const std::int64_t start = base + static_cast<std::int64_t>(pick_month(random)) * 30 * 86400 * 1000000LL;
         return json{{"bbox", {t.lon, t.lat, t.lon + 1, t.lat + 1}},
                     {"datetime", tessera::format_rfc3339_micros(start) + "/" +
                                      tessera::format_rfc3339_micros(start + 30 * 86400 * 1000000LL)},
                     {"limit", 100}};
       }},
      {"property_filter",
       [&] {
         return json{{"filter", "eo:cloud_cover < 10"}, {"limit", 10}};
       }},
      {"intersects_country",
       [&] {
         return json{{"intersects", country}, {"limit", 10}};
       }},
      {"sort_cloud_cover",
       [&] {
         return json{{"sortby", "+eo:cloud_cover"}, {"limit", 10}};
       }},
  };
  json queries = json::object();
  for (const bool count : {true, false}) {
    for (const auto& [name, make] : mix) {
      std::vector<double> latencies;
      std::size_t returned = 0;
      for (int q = 0; q < args.queries; ++q) {
        json request = make();
        if (!count) {
          request["context"] = false;
        }
        json result;
        latencies.push_back(time_ms([&] { result = catalog->search(request); }));
        returned += result["numberReturned"].get<std::size_t>();
        if (q == 0 && count) {
          queries[name]["number_matched_first"] = result.value("numberMatched", -1);
        }
      }
      const std::string key = count ? "with_count" : "no_count";
      queries[name][key] = {{"p50_ms", percentile(latencies, 0.5)},
                            {"p99_ms", percentile(latencies, 0.99)},
                            {"mean_returned", static_cast<double>(returned) / args.queries}};
      std::cerr << fmt::format("{:22} {:10} p50 {:8.2f} ms  p99 {:8.2f} ms\n", name, key, percentile(latencies, 0.5),
                               percentile(latencies, 0.99));
    }
  }
  // Deep paging: 100-item pages, 200 pages deep, timing each page.
  {
    std::vector<double> latencies;
    json page = catalog->search({{"limit", 100}, {"context", false}});
    for (int n = 0; n < 200 && page.contains("next"); ++n) {
      latencies.push_back(time_ms([&] {
        page = catalog->search({{"token", page["next"]}, {"limit", 100}, {"context", false}});
      }));
    }
    queries["deep_paging"]["no_count"] = {
        {"p50_ms", percentile(latencies, 0.5)}, {"p99_ms", percentile(latencies, 0.99)}, {"pages", latencies.size()}};
    std::cerr << fmt::format("{:22} {:10} p50 {:8.2f} ms  p99 {:8.2f} ms\n", "deep_paging", "no_count",
                             percentile(latencies, 0.5), percentile(latencies, 0.99));
  }
  report["queries"] = queries;
  std::cout << report.dump(2) << std::endl;
  return 0;
}
