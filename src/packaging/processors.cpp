// The built-in processors: every source of a dataset clipped to the boundary.

#include <fmt/format.h>

#include "packaging/processors.hpp"
#include "tessera/error.hpp"

namespace tessera::packaging {

namespace {

class ClipProcessor final : public Processor {
 public:
  explicit ClipProcessor(bool raster) : raster_(raster) {}

  std::vector<ProcessedFile> process(const ProcessorContext& context) override {
    const DatasetDefinition& dataset = context.dataset;
    ClipOptions options;
    options.all_touched = dataset.options.value("all_touched", false);
    options.format = raster_ ? "" : dataset.format;
    options.storage_options = context.storage_options;
    const char* extension = raster_                          ? ".tif"
                            : dataset.format == "FlatGeobuf" ? ".fgb"
                            : dataset.format == "GeoJSON"    ? ".geojson"
                                                             : ".gpkg";
    std::vector<ProcessedFile> files;
    for (std::size_t i = 0; i < dataset.sources.size(); ++i) {
      const std::string file = dataset.sources.size() == 1 ? dataset.name + extension
                                                           : fmt::format("{}-{}{}", dataset.name, i + 1, extension);
      const std::string destination = (context.output_dir / file).string();
      ClipResult result;
      try {
        result = raster_ ? clip_raster(dataset.sources[i], context.boundary.geometry, destination, options)
                         : clip_vector(dataset.sources[i], context.boundary.geometry, destination, options);
      } catch (const Error& error) {
        // A source the boundary misses is left out; the dataset has no data only if all are.
        if (error.code() == ErrorCode::kNotFound && dataset.sources.size() > 1) {
          continue;
        }
        throw;
      }
      files.push_back({file, result.format, result.media_type, result.crs, result.bbox});
    }
    if (files.empty()) {
      throw Error(ErrorCode::kNotFound,
                  fmt::format("no data for this boundary: it covers none of the sources of '{}'", dataset.name));
    }
    return files;
  }

 private:
  bool raster_;
};

}  // namespace

std::shared_ptr<Processor> raster_processor() { return std::make_shared<ClipProcessor>(true); }
std::shared_ptr<Processor> vector_processor() { return std::make_shared<ClipProcessor>(false); }

}  // namespace tessera::packaging
