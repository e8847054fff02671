// Matching benchmark (issue 8): N AOIs (worldwide random polygons plus a
// dense regional cluster) and M imagery items; match() latency, match_batch()
// throughput, a brute-force agreement check on a sample, and the same
// matching as one PostGIS query per item on the same AOIs, side by side.
//
//   matching_bench --aois 1000000 --items 100000 --sample 500 [--skew 0.05] \
//                  [--postgis postgresql://tessera:tessera@127.0.0.1:55434/pgstac]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <random>
#include <set>

#include <fmt/format.h>
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include "tessera/catalog.hpp"
#include "tessera/geometry.hpp"
#include "tessera/matching.hpp"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kModels = 5;
// The wavelength sets AOIs ask for (µm).
const std::vector<std::vector<double>> kWavelengthSets = {{}, {0.665}, {0.665, 0.842}, {1.61}, {0.49, 0.56, 0.665}};
const double kResolutions[] = {10, 20, 30, 60};

struct Band {
  double center, width;
};
// Sentinel-2-like at 10 m and Landsat-like at 30 m.
const std::vector<Band> kSentinelBands = {{0.49, 0.065}, {0.56, 0.035}, {0.665, 0.03}, {0.842, 0.115}, {1.61, 0.09}};
const std::vector<Band> kLandsatBands = {{0.48, 0.06}, {0.56, 0.057}, {0.655, 0.037}, {0.865, 0.028}, {1.61, 0.085}};

struct AoiSpec {
  std::string id;
  std::string model;
  json geometry;
  double resolution;
  std::vector<double> wavelengths;
};

// A star-shaped polygon of 6-9 vertices around (x, y); longitudes may pass
// 180 (tessera splits those at the antimeridian).
json random_polygon(std::mt19937_64& random, double x, double y, double radius) {
  std::uniform_real_distribution<double> unit(0.6, 1.0);
  const int vertices = 6 + static_cast<int>(random() % 4);
  json ring = json::array();
  for (int n = 0; n < vertices; ++n) {
    const double angle = 2 * M_PI * n / vertices;
    const double r = radius * unit(random);
    ring.push_back({x + r * std::cos(angle), std::clamp(y + r * std::sin(angle), -89.9, 89.9)});
  }
  ring.push_back(ring.front());
  return {{"type", "Polygon"}, {"coordinates", json::array({ring})}};
}

std::vector<AoiSpec> make_aois(std::size_t count, std::mt19937_64& random) {
  std::uniform_real_distribution<double> lon(-180, 180), lat(-75, 75), world_radius(0.05, 1.0);
  std::normal_distribution<double> cluster(0.0, 1.0);
  std::uniform_real_distribution<double> cluster_radius(0.005, 0.05);
  std::vector<AoiSpec> aois;
  aois.reserve(count);
  for (std::size_t n = 0; n < count; ++n) {
    AoiSpec aoi;
    aoi.id = fmt::format("aoi{:07}", n);
    aoi.model = fmt::format("model{}", n % kModels);
    // One in ten is in a dense cluster of small fields over central Europe
    // (about 8 x 6 degrees around 10 E, 50 N).
    aoi.geometry = n % 10 == 0 ? random_polygon(random, 10 + 2 * cluster(random), 50 + 1.5 * cluster(random),
                                                cluster_radius(random))
                               : random_polygon(random, lon(random), lat(random), world_radius(random));
    aoi.resolution = kResolutions[random() % 4];
    aoi.wavelengths = kWavelengthSets[random() % kWavelengthSets.size()];
    aois.push_back(std::move(aoi));
  }
  return aois;
}

// Items are squares of 0.5-1.1 degrees; `skew` (degrees) shears them into
// parallelograms, as footprints in UTM are in WGS84 (no rectangle shortcut).
json make_item(std::size_t n, std::mt19937_64& random, double skew) {
  std::uniform_real_distribution<double> lon(-180, 179), lat(-75, 74), size(0.5, 1.1);
  std::normal_distribution<double> cluster(0.0, 1.0);
  const bool dense = n % 10 < 3;  // three in ten over the cluster
  const double s = size(random);
  const double x = dense ? 10 + 2 * cluster(random) - s / 2 : lon(random);
  const double y = dense ? 50 + 1.5 * cluster(random) - s / 2 : lat(random);
  const bool sentinel = random() % 2 == 0;
  json bands = json::array();
  for (const Band& band : sentinel ? kSentinelBands : kLandsatBands) {
    bands.push_back({{"center_wavelength", band.center}, {"full_width_half_max", band.width}});
  }
  const json ring = json::array({json::array({x, y}), json::array({x + s, y}), json::array({x + s + skew, y + s}),
                                 json::array({x + skew, y + s}), json::array({x, y})});
  return {{"type", "Feature"},
          {"stac_version", "1.1.0"},
          {"id", fmt::format("item{:07}", n)},
          {"collection", "imagery"},
          {"geometry", {{"type", "Polygon"}, {"coordinates", json::array({ring})}}},
          {"bbox", {x, y, x + s + skew, y + s}},
          {"properties", {{"datetime", "2024-05-01T10:00:00Z"}, {"gsd", sentinel ? 10.0 : 30.0}, {"eo:bands", bands}}},
          {"links", json::array()},
          {"assets", json::object()}};
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

using MatchSet = std::set<std::pair<std::string, std::string>>;

MatchSet as_set(const std::vector<tessera::Match>& matches) {
  MatchSet set;
  for (const auto& match : matches) {
    set.emplace(match.model, match.aoi);
  }
  return set;
}

// The rules evaluated directly: every AOI's box scanned, OGR/GEOS exact test, bands.
struct BruteForce {
  struct Entry {
    const AoiSpec* spec;
    tessera::Geometry geometry;
    std::vector<tessera::Bbox> boxes;
  };
  std::vector<Entry> entries;

  explicit BruteForce(const std::vector<AoiSpec>& aois) {
    for (const auto& aoi : aois) {
      Entry entry{&aoi, tessera::Geometry::from_geojson(aoi.geometry).to_wgs84(tessera::Crs::wgs84()), {}};
      const json stored = entry.geometry.to_geojson();
      const json polygons =
          stored["type"] == "MultiPolygon" ? stored["coordinates"] : json::array({stored["coordinates"]});
      for (const auto& polygon : polygons) {
        entry.boxes.push_back(tessera::Geometry::from_geojson({{"type", "Polygon"}, {"coordinates", polygon}}).bbox());
      }
      entries.push_back(std::move(entry));
    }
  }

  MatchSet match(const json& item) const {
    const tessera::Geometry footprint = tessera::Geometry::from_geojson(item["geometry"]);
    const tessera::Bbox box = footprint.bbox();
    const double gsd = item["properties"]["gsd"];
    MatchSet found;
    for (const auto& entry : entries) {
      const bool near = std::any_of(entry.boxes.begin(), entry.boxes.end(), [&](const tessera::Bbox& part) {
        return part.minx <= box.maxx && box.minx <= part.maxx && part.miny <= box.maxy && box.miny <= part.maxy;
      });
      if (!near || gsd > entry.spec->resolution) {
        continue;
      }
      const bool covered = std::all_of(entry.spec->wavelengths.begin(), entry.spec->wavelengths.end(), [&](double w) {
        for (const auto& band : item["properties"]["eo:bands"]) {
          const double center = band["center_wavelength"];
          const double width = band["full_width_half_max"];
          if (center - width / 2 <= w && w <= center + width / 2) {
            return true;
          }
        }
        return false;
      });
      if (covered && entry.geometry.intersects(footprint)) {
        found.emplace(entry.spec->model, entry.spec->id);
      }
    }
    return found;
  }
};

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

PgResult must(PGconn* connection, PGresult* result, const char* what) {
  PgResult owned(result);
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_IN) {
    throw std::runtime_error(fmt::format("{}: {}", what, PQerrorMessage(connection)));
  }
  return owned;
}

// The AOIs in a PostGIS table with a GiST index, as tessera stores them (WGS84, split).
void load_postgis(PGconn* connection, const BruteForce& reference) {
  must(connection, PQexec(connection, "DROP TABLE IF EXISTS bench_aois"), "drop");
  must(connection,
       PQexec(connection,
              "CREATE TABLE bench_aois (id text, model text, geom geometry(Geometry, 4326), resolution float8, "
              "wavelengths float8[])"),
       "create");
  must(connection, PQexec(connection, "COPY bench_aois FROM STDIN"), "copy");
  std::string buffer;
  for (const auto& entry : reference.entries) {
    std::string wavelengths = "{";
    for (std::size_t n = 0; n < entry.spec->wavelengths.size(); ++n) {
      wavelengths += fmt::format("{}{}", n ? "," : "", entry.spec->wavelengths[n]);
    }
    wavelengths += "}";
    buffer += fmt::format("{}\t{}\tSRID=4326;{}\t{}\t{}\n", entry.spec->id, entry.spec->model, entry.geometry.to_wkt(),
                          entry.spec->resolution, wavelengths);
    if (buffer.size() > (1 << 20)) {
      PQputCopyData(connection, buffer.data(), static_cast<int>(buffer.size()));
      buffer.clear();
    }
  }
  PQputCopyData(connection, buffer.data(), static_cast<int>(buffer.size()));
  PQputCopyEnd(connection, nullptr);
  must(connection, PQgetResult(connection), "copy end");
  must(connection, PQexec(connection, "CREATE INDEX ON bench_aois USING gist (geom)"), "index");
  must(connection, PQexec(connection, "ANALYZE bench_aois"), "analyze");
  // The same rules as tessera: exact intersection, GSD, every wavelength in some band.
  must(connection,
       PQprepare(connection, "match",
                 "SELECT model, id FROM bench_aois a WHERE ST_Intersects(a.geom, ST_GeomFromGeoJSON($1)) "
                 "AND $2::float8 <= a.resolution AND NOT EXISTS (SELECT 1 FROM unnest(a.wavelengths) w "
                 "WHERE NOT EXISTS (SELECT 1 FROM unnest($3::float8[], $4::float8[]) b(lo, hi) "
                 "WHERE w BETWEEN lo AND hi)) ORDER BY model, id",
                 4, nullptr),
       "prepare");
}

MatchSet postgis_match(PGconn* connection, const json& item) {
  std::string lows = "{", highs = "{";
  bool first = true;
  for (const auto& band : item["properties"]["eo:bands"]) {
    const double center = band["center_wavelength"];
    const double width = band["full_width_half_max"];
    lows += fmt::format("{}{}", first ? "" : ",", center - width / 2);
    highs += fmt::format("{}{}", first ? "" : ",", center + width / 2);
    first = false;
  }
  lows += "}";
  highs += "}";
  const std::string geometry = item["geometry"].dump();
  const std::string gsd = fmt::format("{}", item["properties"]["gsd"].get<double>());
  const char* values[] = {geometry.c_str(), gsd.c_str(), lows.c_str(), highs.c_str()};
  PgResult result = must(connection, PQexecPrepared(connection, "match", 4, values, nullptr, nullptr, 0), "match");
  MatchSet found;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    found.emplace(PQgetvalue(result.get(), row, 0), PQgetvalue(result.get(), row, 1));
  }
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t aoi_count = 100000;
  std::size_t item_count = 10000;
  std::size_t sample = 1000;
  std::string postgis;
  double skew = 0;
  for (int n = 1; n + 1 < argc; n += 2) {
    const std::string arg = argv[n];
    if (arg == "--aois") {
      aoi_count = std::stoul(argv[n + 1]);
    } else if (arg == "--items") {
      item_count = std::stoul(argv[n + 1]);
    } else if (arg == "--sample") {
      sample = std::stoul(argv[n + 1]);
    } else if (arg == "--skew") {
      skew = std::stod(argv[n + 1]);
    } else if (arg == "--postgis") {
      postgis = argv[n + 1];
    } else {
      std::cerr << "unknown option " << arg << "\n";
      return 2;
    }
  }
  std::mt19937_64 random(20261121);
  auto started = Clock::now();
  const std::vector<AoiSpec> aois = make_aois(aoi_count, random);
  std::vector<json> items;
  items.reserve(item_count);
  for (std::size_t n = 0; n < item_count; ++n) {
    items.push_back(make_item(n, random, skew));
  }
  fmt::print("generated {} AOIs and {} items in {:.1f} s\n", aoi_count, item_count,
             std::chrono::duration<double>(Clock::now() - started).count());

  auto catalog = tessera::Catalog::open(":memory:");
  tessera::Matcher matcher(*catalog);
  for (int n = 0; n < kModels; ++n) {
    matcher.add_model({{"id", fmt::format("model{}", n)}, {"name", "bench"}, {"command", {"/bin/true"}}});
  }
  started = Clock::now();
  for (const auto& aoi : aois) {
    matcher.add_aoi({{"id", aoi.id},
                     {"model", aoi.model},
                     {"geometry", aoi.geometry},
                     {"resolution", aoi.resolution},
                     {"wavelengths", aoi.wavelengths}});
  }
  const double add_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  started = Clock::now();
  (void)matcher.match(items.front());  // builds the STR-tree
  const double build_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  fmt::print("add_aoi: {:.1f} s ({:.0f} AOIs/s, validated, reprojected, stored); index build: {:.2f} s\n", add_seconds,
             static_cast<double>(aoi_count) / add_seconds, build_seconds);

  std::vector<double> latencies;
  latencies.reserve(items.size());
  std::size_t total_matches = 0;
  std::vector<std::vector<tessera::Match>> results;
  results.reserve(items.size());
  for (const auto& item : items) {
    const auto start = Clock::now();
    auto matches = matcher.match(item);
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    total_matches += matches.size();
    results.push_back(std::move(matches));
  }
  fmt::print("match: p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us; {:.2f} matches per item\n",
             percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0),
             static_cast<double>(total_matches) / static_cast<double>(items.size()));

  started = Clock::now();
  constexpr std::size_t kBatch = 1000;
  for (std::size_t offset = 0; offset < items.size(); offset += kBatch) {
    const std::vector<json> batch(items.begin() + static_cast<std::ptrdiff_t>(offset),
                                  items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), offset + kBatch)));
    (void)matcher.match_batch(batch);
  }
  const double batch_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  fmt::print("match_batch (batches of {}): {:.0f} items/s\n", kBatch,
             static_cast<double>(items.size()) / batch_seconds);

  sample = std::min(sample, items.size());
  started = Clock::now();
  const BruteForce reference(aois);
  std::size_t agree = 0;
  for (std::size_t n = 0; n < sample; ++n) {
    agree += reference.match(items[n]) == as_set(results[n]) ? 1 : 0;
  }
  fmt::print("brute force agreement: {}/{} items ({:.2f}%) in {:.1f} s\n", agree, sample,
             100.0 * static_cast<double>(agree) / static_cast<double>(sample),
             std::chrono::duration<double>(Clock::now() - started).count());

  if (!postgis.empty()) {
    PGconn* connection = PQconnectdb(postgis.c_str());
    if (PQstatus(connection) != CONNECTION_OK) {
      std::cerr << "PostGIS: " << PQerrorMessage(connection);
      return 1;
    }
    started = Clock::now();
    load_postgis(connection, reference);
    fmt::print("PostGIS: loaded and indexed {} AOIs in {:.1f} s\n", aoi_count,
               std::chrono::duration<double>(Clock::now() - started).count());
    std::vector<double> pg_latencies;
    std::size_t pg_agree = 0;
    for (std::size_t n = 0; n < sample; ++n) {
      const auto start = Clock::now();
      const MatchSet found = postgis_match(connection, items[n]);
      pg_latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      pg_agree += found == as_set(results[n]) ? 1 : 0;
    }
    fmt::print("PostGIS one query per item ({} items): p50 {:.1f} us, p99 {:.1f} us; agreement {}/{}\n", sample,
               percentile(pg_latencies, 0.5), percentile(pg_latencies, 0.99), pg_agree, sample);
    std::vector<double> sampled(latencies.begin(), latencies.begin() + static_cast<std::ptrdiff_t>(sample));
    fmt::print("speed-up on the same items: p50 {:.1f}x, p99 {:.1f}x\n",
               percentile(pg_latencies, 0.5) / percentile(sampled, 0.5),
               percentile(pg_latencies, 0.99) / percentile(sampled, 0.99));
    PQfinish(connection);
  }
  return 0;
}
