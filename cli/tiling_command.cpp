#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "tessera/colormap.hpp"
#include "tessera/error.hpp"
#include "tessera/mosaic.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tessera::cli {

using nlohmann::json;

namespace {

// The options every read takes, and how the image is written.
struct ReadArgs {
  std::string href;
  std::vector<int> indexes;
  std::string expression;
  std::string resampling = "nearest";
  std::string reproject = "nearest";
  double nodata = 0;
  CLI::Option* nodata_option = nullptr;
  bool unscale = false;
  std::string tms = "WebMercatorQuad";
};

struct RenderArgs {
  std::string output;
  std::string format;
  std::vector<std::string> rescale;
  std::string colormap;
  bool palette = false;
};

void add_read_options(CLI::App* command, ReadArgs& args, bool with_resampling) {
  command->add_option("--indexes", args.indexes, "1-based band indexes, e.g. 1,2,3 (default: every band but alpha)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->check(CLI::PositiveNumber);
  command->add_option("--expression", args.expression, "Band math on b1..bN, ';' between output bands");
  if (with_resampling) {
    const std::string names = joined(resampling_names());
    command->add_option("--resampling", args.resampling,
                        "Resampling when reading at another resolution: " + names + " (default nearest)");
    command->add_option("--reproject", args.reproject,
                        "Resampling when warping to another CRS: " + names + " (default nearest)");
  }
  args.nodata_option = command->add_option("--nodata", args.nodata, "Overrides the raster's nodata value");
  command->add_flag("--unscale", args.unscale, "Apply the bands' scale and offset");
}

void add_render_options(CLI::App* command, RenderArgs& args) {
  command->add_option("-o,--output", args.output, "Output file, or - for standard output")->required();
  command->add_option("--format", args.format, "Image format (default: from the output's extension)")
      ->check(CLI::IsMember(render_format_names(), CLI::ignore_case));
  command->add_option("--rescale", args.rescale, "MIN,MAX to 0-255; once for every band or once per band")
      ->allow_extra_args(false);
  command->add_option("--colormap", args.colormap, "A colormap name (e.g. viridis) or rio-tiler colormap JSON");
  command->add_flag("--palette", args.palette, "Colour with the raster's own colour table");
}

// A local user names the href on the command line, so an http(s) href's own
// host is allowed (a server sets ReaderConfig from its configuration instead).
void allow_href(const std::string& href) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (href.starts_with(scheme)) {
      const auto host_end = href.find('/', scheme.size());
      if (host_end != std::string::npos) {
        ReaderConfig config = reader_config();
        config.allowed_prefixes = {href.substr(0, host_end + 1)};
        configure(config);
      }
    }
  }
}

ReadOptions read_options_of(const ReadArgs& args) {
  allow_href(args.href);
  ReadOptions options;
  options.indexes = args.indexes;
  options.expression = args.expression;
  options.resampling = resampling_from_name(args.resampling);
  options.reproject = resampling_from_name(args.reproject);
  if (args.nodata_option != nullptr && args.nodata_option->count() > 0) {
    options.nodata = args.nodata;
  }
  options.unscale = args.unscale;
  return options;
}

// A name ("WebMercatorQuad", "EPSG:3035", ...) or an OGC TileMatrixSet 2.0 JSON file.
TileMatrixSet tms_of(const std::string& tms) {
  if (tms.ends_with(".json")) {
    std::ifstream input(tms);
    if (!input) {
      throw Error(ErrorCode::kNotFound, "cannot open tile matrix set file '" + tms + "'");
    }
    return TileMatrixSet::from_json_text(std::string(std::istreambuf_iterator<char>(input), {}));
  }
  return TileMatrixSet::from_name(tms);
}

double parse_number(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value)) {
    throw Error(ErrorCode::kInvalidInput, what + ": '" + text + "' is not a number");
  }
  return value;
}

RenderOptions render_options_of(const RenderArgs& args) {
  RenderOptions options;
  if (!args.format.empty()) {
    options.format = args.format;
  } else {
    // The output's extension, or PNG.
    const auto dot = args.output.rfind('.');
    const std::string extension = dot == std::string::npos ? "" : args.output.substr(dot + 1);
    for (const std::string_view known : {"png", "jpeg", "jpg", "webp", "tif", "npy"}) {
      if (extension == known) {
        options.format = std::string(known);
      }
    }
    if (extension == "tiff") {
      options.format = "tif";
    }
  }
  for (const auto& range : args.rescale) {
    const auto comma = range.find(',');
    if (comma == std::string::npos) {
      throw Error(ErrorCode::kInvalidInput, "--rescale: '" + range + "' is not MIN,MAX");
    }
    options.rescale.emplace_back(parse_number(range.substr(0, comma), "--rescale"),
                                 parse_number(range.substr(comma + 1), "--rescale"));
  }
  if (!args.colormap.empty()) {
    if (args.colormap.front() == '{' || args.colormap.front() == '[') {
      const json value = json::parse(args.colormap, nullptr, false);
      if (value.is_discarded()) {
        throw Error(ErrorCode::kInvalidInput, "--colormap: not valid JSON");
      }
      options.colormap = Colormap::from_json(value);
    } else {
      options.colormap = Colormap::named(args.colormap);
    }
  }
  options.use_palette = args.palette;
  return options;
}

void write_output(const std::string& bytes, const std::string& output) {
  if (output == "-") {
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return;
  }
  std::ofstream file(output, std::ios::binary);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) {
    throw Error(ErrorCode::kIo, "cannot write '" + output + "'");
  }
}

}  // namespace

void add_tiling_commands(CLI::App& app) {
  // tessera tile HREF Z X Y -o FILE
  {
    struct Args {
      ReadArgs read;
      RenderArgs render;
      int z = 0;
      std::int64_t x = 0;
      std::int64_t y = 0;
      int tile_size = 256;
      double buffer = 0;
    };
    auto args = std::make_shared<Args>();
    auto* tile = app.add_subcommand("tile", "Render one map tile of a raster (COG, GeoTIFF, ...)");
    tile->add_option("HREF", args->read.href, "Raster path, file://, s3:// or http(s):// URL")->required();
    tile->add_option("Z", args->z, "Zoom level")->required();
    tile->add_option("X", args->x, "Column")->required();
    tile->add_option("Y", args->y, "Row")->required();
    tile->add_option("--tms", args->read.tms,
                     "Tile matrix set: WebMercatorQuad (default), WorldCRS84Quad, EPSG:<code> or a TMS JSON file");
    tile->add_option("--tilesize", args->tile_size, "Pixels a side (default 256)");
    tile->add_option("--buffer", args->buffer, "Extra pixels on each side, a multiple of 0.5");
    add_read_options(tile, args->read, true);
    add_render_options(tile, args->render);
    tile->callback([args] {
      ReadOptions options = read_options_of(args->read);
      options.buffer = args->buffer;
      const ImageData image =
          read_tile(args->read.href, tms_of(args->read.tms), Tile{args->z, args->x, args->y}, args->tile_size, options);
      write_output(render(image, render_options_of(args->render)), args->render.output);
    });
  }

  // tessera mosaic CATALOG Z X Y --search JSON --assets NAME -o FILE
  {
    struct Args {
      ReadArgs read;
      RenderArgs render;
      std::string catalog;
      std::string search = "{}";
      std::string search_id;
      std::vector<std::string> assets;
      bool asset_as_band = false;
      std::string method = "first";
      int z = 0;
      std::int64_t x = 0;
      std::int64_t y = 0;
      int tile_size = 256;
    };
    auto args = std::make_shared<Args>();
    auto* command = app.add_subcommand("mosaic", "Render one map tile of a mosaic of the items a catalog search finds");
    command->add_option("CATALOG", args->catalog, "Catalog URI (sqlite:///path.db, postgresql://...)")->required();
    command->add_option("Z", args->z, "Zoom level")->required();
    command->add_option("X", args->x, "Column")->required();
    command->add_option("Y", args->y, "Row")->required();
    auto* search = command->add_option("--search", args->search, "The search request as JSON (default: every item)");
    command->add_option("--search-id", args->search_id, "A registered search's id instead of --search")
        ->excludes(search);
    command
        ->add_option("--assets", args->assets,
                     "Assets read from each item, e.g. visual or B04,B03,B02; B04|bidx=2 takes band 2 of B04")
        ->delimiter(',');
    command->add_flag("--asset-as-band", args->asset_as_band, "Each asset gives one band, named after the asset");
    command->add_option("--method", args->method,
                        "Pixel selection: " + joined(pixel_selection_names()) + " (default first)");
    command->add_option("--tms", args->read.tms,
                        "Tile matrix set: WebMercatorQuad (default), WorldCRS84Quad, EPSG:<code> or a TMS JSON file");
    command->add_option("--tilesize", args->tile_size, "Pixels a side (default 256)");
    add_read_options(command, args->read, true);
    add_render_options(command, args->render);
    command->callback([args] {
      MosaicOptions options;
      for (const auto& asset : args->assets) {
        options.assets.push_back(asset_selection_from_text(asset));
      }
      options.asset_as_band = args->asset_as_band;
      options.method = pixel_selection_from_name(args->method);
      ReadOptions read = read_options_of(args->read);
      options.expression = read.expression;  // over b<n> of the stack, or <asset>_b<n> names
      read.expression.clear();
      const auto catalog = Catalog::open(args->catalog);
      json request;
      try {
        request = json::parse(args->search);
      } catch (const json::parse_error& error) {
        throw Error(ErrorCode::kInvalidInput, std::string("--search is not valid JSON: ") + error.what());
      }
      const Mosaic mosaic = args->search_id.empty() ? Mosaic(*catalog, request, options)
                                                    : Mosaic::from_registered(*catalog, args->search_id, options);
      const ImageData image =
          mosaic.tile(tms_of(args->read.tms), Tile{args->z, args->x, args->y}, args->tile_size, read);
      write_output(render(image, render_options_of(args->render)), args->render.output);
      for (const auto& warning : image.warnings) {
        std::cerr << "warning: " << warning << "\n";
      }
      std::cerr << "items: " << image.metadata["items_scanned"] << " scanned, " << image.metadata["items_read"]
                << " read, " << image.metadata["items_used"] << " used\n";
    });
  }

  // tessera preview HREF -o FILE
  {
    struct Args {
      ReadArgs read;
      RenderArgs render;
      int max_size = 1024;
    };
    auto args = std::make_shared<Args>();
    auto* preview = app.add_subcommand("preview", "Render the whole raster, scaled down");
    preview->add_option("HREF", args->read.href, "Raster path, file://, s3:// or http(s):// URL")->required();
    preview->add_option("--max-size", args->max_size, "Longest side in pixels (default 1024, 0: full resolution)")
        ->check(CLI::NonNegativeNumber);
    add_read_options(preview, args->read, true);
    add_render_options(preview, args->render);
    preview->callback([args] {
      const ImageData image = read_preview(args->read.href, args->max_size, read_options_of(args->read));
      write_output(render(image, render_options_of(args->render)), args->render.output);
    });
  }

  // tessera info HREF
  {
    auto args = std::make_shared<ReadArgs>();
    auto* info = app.add_subcommand("info", "Print a raster's bounds, CRS, size, bands and zoom range as JSON");
    info->add_option("HREF", args->href, "Raster path, file://, s3:// or http(s):// URL")->required();
    info->add_option("--tms", args->tms, "Tile matrix set of the zoom range (default WebMercatorQuad)");
    info->callback([args] {
      allow_href(args->href);
      std::cout << raster_info(args->href, tms_of(args->tms)).to_json().dump(2) << "\n";
    });
  }

  // tessera point HREF LON LAT
  {
    struct Args {
      ReadArgs read;
      double lon = 0;
      double lat = 0;
    };
    auto args = std::make_shared<Args>();
    auto* point = app.add_subcommand("point", "Print the values of a raster at a WGS84 point as JSON");
    point->add_option("HREF", args->read.href, "Raster path, file://, s3:// or http(s):// URL")->required();
    point->add_option("LON", args->lon, "Longitude")->required();
    point->add_option("LAT", args->lat, "Latitude")->required();
    add_read_options(point, args->read, false);
    point->callback([args] {
      const PointData data = read_point(args->read.href, args->lon, args->lat, read_options_of(args->read));
      json values = json::array();
      for (const double value : data.values) {
        values.push_back(std::isfinite(value) ? json(value) : json(nullptr));
      }
      std::cout << json{{"coordinates", {data.lon, data.lat}},
                        {"values", values},
                        {"band_names", data.band_names},
                        {"masked", data.masked}}
                       .dump()
                << "\n";
    });
  }

  // tessera statistics HREF
  {
    struct Args {
      ReadArgs read;
      int max_size = 1024;
      int bins = 10;
      std::vector<double> percentiles = {2, 98};
      bool categorical = false;
    };
    auto args = std::make_shared<Args>();
    auto* statistics = app.add_subcommand("statistics", "Print per-band statistics of a raster as JSON");
    statistics->add_option("HREF", args->read.href, "Raster path, file://, s3:// or http(s):// URL")->required();
    statistics->add_option("--max-size", args->max_size, "Of a preview this large (default 1024, 0: full resolution)")
        ->check(CLI::NonNegativeNumber);
    statistics->add_option("--bins", args->bins, "Histogram bins (default 10)");
    statistics->add_option("--percentiles", args->percentiles, "Percentiles, e.g. 2,98")
        ->delimiter(',')
        ->allow_extra_args(false);
    statistics->add_flag("--categorical", args->categorical, "Count each distinct value");
    add_read_options(statistics, args->read, true);
    statistics->callback([args] {
      StatisticsOptions options;
      options.max_size = args->max_size;
      options.histogram_bins = args->bins;
      options.percentiles = args->percentiles;
      options.categorical = args->categorical;
      std::cout << to_json(raster_statistics(args->read.href, options, read_options_of(args->read))).dump(2) << "\n";
    });
  }
}

}  // namespace tessera::cli
