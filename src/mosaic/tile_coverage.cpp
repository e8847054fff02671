#include "mosaic/tile_coverage.hpp"

#include <map>
#include <mutex>

#include "storage/environment_state.hpp"
#include "tessera/error.hpp"
#include "tiling/raster_read.hpp"

namespace tessera::mosaic {

// Transformers from WGS84 to a grid's CRS, kept for reuse (building one costs
// PROJ database look-ups) and lent to one thread at a time; one set per
// environment state (storage/environment_state.hpp).
class FootprintTransformers {
 public:
  explicit FootprintTransformers(const ReaderConfig& /*config*/) {}

  std::unique_ptr<Transformer> acquire(const Crs& crs, const std::string& key) {
    {
      const std::lock_guard lock(mutex_);
      auto& idle = idle_[key];
      if (!idle.empty()) {
        auto transformer = std::move(idle.back());
        idle.pop_back();
        return transformer;
      }
    }
    return std::make_unique<Transformer>(Crs::wgs84(), crs);
  }

  void release(const std::string& key, std::unique_ptr<Transformer> transformer) {
    const std::lock_guard lock(mutex_);
    if (auto& idle = idle_[key]; idle.size() < 16) {
      idle.push_back(std::move(transformer));
    }
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Transformer>>> idle_;
};

TileCoverage::TileCoverage(const std::vector<Candidate>& candidates, const Crs& crs, const Bbox& bounds, int width,
                           int height)
    : candidates_(candidates),
      bounds_(bounds),
      width_(width),
      height_(height),
      crs_wkt_(crs.to_wkt()),
      footprints_(candidates.size()),
      footprint_known_(candidates.size(), false) {
  if (candidates.size() > 1) {
    transformers_ = storage::current_state()->part<FootprintTransformers>();
    to_grid_ = transformers_->acquire(crs, crs_wkt_);
  }
}

TileCoverage::~TileCoverage() {
  if (to_grid_) {
    transformers_->release(crs_wkt_, std::move(to_grid_));
  }
}

const std::vector<std::uint8_t>& TileCoverage::footprint(std::size_t n) {
  if (!footprint_known_[n]) {
    footprint_known_[n] = true;
    const std::string& geometry = candidates_[n].geometry;
    if (to_grid_ && geometry != "null") {
      try {
        const Geometry footprint = to_grid_->transform(Geometry::from_geojson(nlohmann::json::parse(geometry)));
        footprints_[n] = tiling::rasterize(*footprint.ogr(), bounds_, width_, height_, true);
      } catch (const std::exception&) {
        // e.g. a footprint reaching past the projection's domain: never skipped
      }
    }
  }
  return footprints_[n];
}

Dispatch TileCoverage::decide(std::size_t n, const std::vector<std::uint8_t>& filled,
                              const std::vector<std::size_t>& in_flight) {
  if (n == 0) {
    return Dispatch::kRead;
  }
  const auto& pixels = footprint(n);
  if (pixels.empty()) {
    return Dispatch::kRead;
  }
  bool covered = true;
  for (std::size_t p = 0; p < pixels.size(); ++p) {
    if (pixels[p] == 0 || filled[p] != 0) {
      continue;
    }
    covered = false;
    const bool soon = std::any_of(in_flight.begin(), in_flight.end(), [&](std::size_t r) {
      const auto& other = footprint(r);
      return !other.empty() && other[p] != 0;
    });
    if (!soon) {
      return Dispatch::kRead;
    }
  }
  return covered ? Dispatch::kSkip : Dispatch::kWait;
}

}  // namespace tessera::mosaic
