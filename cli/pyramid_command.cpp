#include <cstddef>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tessera/catalog.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/pyramid.hpp"

namespace tessera::cli {

using nlohmann::json;

void add_pyramid_commands(CLI::App& app) {
  // tessera pyramid build|update|info CATALOG SEARCH_ID --dir DIR
  struct Args {
    std::string catalog;
    std::string search_id;
    std::string directory;
    int max_zoom = PyramidOptions{}.max_zoom;
    std::string tms = PyramidOptions{}.tms;
    int tile_size = PyramidOptions{}.tile_size;
    std::string resampling = "average";
    std::vector<std::string> assets;
    std::string expression;
    std::string method = "first";
    std::size_t max_items_scanned = MosaicOptions{}.max_items_scanned;
    std::size_t max_items_read = MosaicOptions{}.max_items_read;
    std::int64_t time_budget_ms = MosaicOptions{}.time_budget.count();
  };
  auto args = std::make_shared<Args>();
  auto* pyramid = app.add_subcommand("pyramid", "Overview pyramids of registered searches: the low zooms, stored");
  pyramid->require_subcommand(1);
  const auto common = [&args](CLI::App* command) {
    command->add_option("CATALOG", args->catalog, "Catalog URI (sqlite:///path.db, postgresql://...)")->required();
    command->add_option("SEARCH_ID", args->search_id, "The registered search's id")->required();
    command->add_option("--dir", args->directory, "Folder of the pyramids (<search id>.pyramid)")->required();
  };

  auto* build = pyramid->add_subcommand("build", "Build (or rebuild) a search's pyramid from its items");
  common(build);
  build->add_option("--maxzoom", args->max_zoom, "The base level, read from the items")->capture_default_str();
  build->add_option("--tms", args->tms, "A quadtree tile matrix set")->capture_default_str();
  build->add_option("--tilesize", args->tile_size, "Pixels a side of the stored tiles")->capture_default_str();
  build
      ->add_option("--resampling", args->resampling,
                   "How parents are made from their children: " + joined(pyramid_resampling_names()))
      ->capture_default_str();
  build->add_option("--assets", args->assets, "Assets read from each item, e.g. visual or B04,B03,B02")->delimiter(',');
  build->add_option("--expression", args->expression, "Band math over <asset>_b<n> names");
  build->add_option("--method", args->method, "Pixel selection: " + joined(pixel_selection_names()))
      ->capture_default_str();
  build->callback([args] {
    const json options = {{"maxzoom", args->max_zoom},      {"tms", args->tms},       {"tilesize", args->tile_size},
                          {"resampling", args->resampling}, {"assets", args->assets}, {"expression", args->expression},
                          {"method", args->method}};
    const auto catalog = Catalog::open(args->catalog);
    const Pyramid built =
        Pyramid::build(*catalog, args->directory, args->search_id, PyramidOptions::from_json(options));
    std::cout << built.info().dump(2) << "\n";
  });

  auto* update = pyramid->add_subcommand("update", "Apply the catalog's item changes since the last update");
  common(update);
  update->callback([args] {
    const auto catalog = Catalog::open(args->catalog);
    std::cout << Pyramid::open(*catalog, args->directory, args->search_id).update().to_json().dump(2) << "\n";
  });

  auto* info = pyramid->add_subcommand("info", "Print a pyramid's options, cursor and tiles per level as JSON");
  common(info);
  info->callback([args] {
    const auto catalog = Catalog::open(args->catalog);
    std::cout << Pyramid::open(*catalog, args->directory, args->search_id).info().dump(2) << "\n";
  });
}

}  // namespace tessera::cli
