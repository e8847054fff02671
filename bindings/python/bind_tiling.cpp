#include <optional>
#include <string_view>
#include <variant>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "json_convert.hpp"
#include "tessera/error.hpp"
#include "tessera/render.hpp"
#include "tessera/tiling.hpp"
#include "tessera/tms.hpp"

namespace tessera::python {
namespace {

py::dtype numpy_dtype(DataType type) { return py::dtype(std::string(data_type_name(type))); }

// A numpy view of a buffer the ImageData shares: the capsule keeps the
// buffer alive as long as the array, so nothing is copied.
template <typename Owner>
py::array view(const Owner& owner, void* data, py::dtype dtype, std::vector<py::ssize_t> shape) {
  auto* keep = new Owner(owner);
  py::capsule base(keep, [](void* pointer) { delete static_cast<Owner*>(pointer); });
  return py::array(std::move(dtype), std::move(shape), {}, data, base);
}

// Rescale ranges as rio-tiler takes them: one (min, max) pair for every band,
// or one pair per band.
std::vector<std::pair<double, double>> rescale_from(const py::object& rescale) {
  std::vector<std::pair<double, double>> ranges;
  if (rescale.is_none()) {
    return ranges;
  }
  const py::sequence sequence = rescale.cast<py::sequence>();
  if (sequence.size() == 2 && !py::isinstance<py::sequence>(sequence[0])) {
    ranges.emplace_back(sequence[0].cast<double>(), sequence[1].cast<double>());
    return ranges;
  }
  for (const auto& range : sequence) {
    const auto pair = range.cast<std::vector<double>>();
    if (pair.size() != 2) {
      throw Error(ErrorCode::kInvalidInput, "rescale: each range must be (min, max)");
    }
    ranges.emplace_back(pair[0], pair[1]);
  }
  return ranges;
}

std::optional<Colormap> colormap_from(const py::object& colormap) {
  if (colormap.is_none()) {
    return std::nullopt;
  }
  if (py::isinstance<py::str>(colormap)) {
    return Colormap::named(colormap.cast<std::string>());
  }
  if (py::isinstance<Colormap>(colormap)) {
    return colormap.cast<Colormap>();
  }
  // rio-tiler colormaps are dicts with int keys; JSON needs string keys.
  if (py::isinstance<py::dict>(colormap)) {
    py::dict keyed;
    for (const auto& [key, value] : colormap.cast<py::dict>()) {
      keyed[py::str(key)] = value;
    }
    return Colormap::from_json(to_json(keyed));
  }
  return Colormap::from_json(to_json(colormap));
}

py::dict point_dict(const PointData& point) {
  py::dict result;
  result["coordinates"] = py::make_tuple(point.lon, point.lat);
  result["values"] = point.values;
  result["band_names"] = point.band_names;
  result["masked"] = point.masked;
  return result;
}

}  // namespace

Tile tile_from(const py::object& x_or_tile, const py::object& y, const py::object& z) {
  if (y.is_none() && z.is_none()) {
    if (py::isinstance<Tile>(x_or_tile)) {
      return x_or_tile.cast<Tile>();
    }
    if (py::isinstance<py::sequence>(x_or_tile) && !py::isinstance<py::str>(x_or_tile) && py::len(x_or_tile) == 3) {
      const auto parts = x_or_tile.cast<py::sequence>();
      return Tile{parts[2].cast<int>(), parts[0].cast<std::int64_t>(), parts[1].cast<std::int64_t>()};
    }
    throw Error(ErrorCode::kInvalidInput, "a tile is (x, y, z) or a Tile");
  }
  if (y.is_none() || z.is_none()) {
    throw Error(ErrorCode::kInvalidInput, "a tile is (x, y, z): give all three, or a Tile");
  }
  return Tile{z.cast<int>(), x_or_tile.cast<std::int64_t>(), y.cast<std::int64_t>()};
}

TileMatrixSet tms_from(const py::object& tms) {
  if (py::isinstance<TileMatrixSet>(tms)) {
    return tms.cast<TileMatrixSet>();
  }
  if (py::isinstance<py::str>(tms)) {
    return TileMatrixSet::from_name(tms.cast<std::string>());
  }
  if (py::isinstance<py::dict>(tms)) {
    return TileMatrixSet::from_json(to_json(tms));
  }
  throw Error(ErrorCode::kInvalidInput, "tms must be a name, a TileMatrixSet or an OGC TileMatrixSet dict");
}

StatisticsOptions statistics_options(int max_size, const std::vector<double>& percentiles, int bins,
                                     const std::optional<std::pair<double, double>>& histogram_range, bool categorical,
                                     std::optional<int> cover_scale) {
  StatisticsOptions statistics;
  statistics.max_size = max_size;
  statistics.percentiles = percentiles;
  statistics.histogram_bins = bins;
  statistics.histogram_range = histogram_range;
  statistics.categorical = categorical;
  statistics.cover_scale = cover_scale;
  return statistics;
}

ReadOptions read_options(const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
                         const std::string& resampling, const std::string& reproject,
                         const std::optional<double>& nodata, bool unscale, double buffer) {
  ReadOptions options;
  options.indexes = indexes.value_or(std::vector<int>{});
  options.expression = expression.value_or("");
  options.resampling = resampling_from_name(resampling);
  options.reproject = resampling_from_name(reproject);
  options.nodata = nodata;
  options.unscale = unscale;
  options.buffer = buffer;
  return options;
}

void bind_tiling(py::module_& m) {
  py::class_<Tile>(m, "Tile")
      .def(py::init([](std::int64_t x, std::int64_t y, int z) {
             return Tile{z, x, y};
           }),
           py::arg("x"), py::arg("y"), py::arg("z"))
      .def_readwrite("z", &Tile::z)
      .def_readwrite("x", &Tile::x)
      .def_readwrite("y", &Tile::y)
      .def("__eq__", [](const Tile& a, const Tile& b) { return a == b; })
      .def("__iter__", [](const Tile& tile) { return py::iter(py::make_tuple(tile.x, tile.y, tile.z)); })
      .def("__repr__", [](const Tile& tile) {
        return "Tile(x=" + std::to_string(tile.x) + ", y=" + std::to_string(tile.y) + ", z=" + std::to_string(tile.z) +
               ")";
      });

  py::class_<TileMatrixSet>(m, "TileMatrixSet")
      .def_static("from_name", &TileMatrixSet::from_name, py::arg("name"))
      .def_static(
          "from_json", [](const py::object& document) { return TileMatrixSet::from_json(to_json(document)); },
          py::arg("document"))
      .def_static("names", &TileMatrixSet::builtin_names)
      .def_property_readonly("id", &TileMatrixSet::id)
      .def_property_readonly("crs", [](const TileMatrixSet& tms) { return tms.crs().to_wkt(); })
      .def_property_readonly("minzoom", &TileMatrixSet::min_zoom)
      .def_property_readonly("maxzoom", &TileMatrixSet::max_zoom)
      .def("to_json", [](const TileMatrixSet& tms) { return from_json(tms.to_json()); })
      .def(
          "xy_bounds",
          [](const TileMatrixSet& tms, const py::object& x, const py::object& y, const py::object& z) {
            const Bbox box = tms.xy_bounds(tile_from(x, y, z));
            return py::make_tuple(box.minx, box.miny, box.maxx, box.maxy);
          },
          py::arg("x"), py::arg("y") = py::none(), py::arg("z") = py::none())
      .def(
          "bounds",
          [](const TileMatrixSet& tms, const py::object& x, const py::object& y, const py::object& z) {
            const Bbox box = tms.bounds(tile_from(x, y, z));
            return py::make_tuple(box.minx, box.miny, box.maxx, box.maxy);
          },
          py::arg("x"), py::arg("y") = py::none(), py::arg("z") = py::none())
      .def("tile", &TileMatrixSet::tile, py::arg("lon"), py::arg("lat"), py::arg("z"))
      .def(
          "tiles",
          [](const TileMatrixSet& tms, const std::vector<double>& bbox, int z) {
            if (bbox.size() != 4) {
              throw Error(ErrorCode::kInvalidInput, "tiles: bbox must be [minx, miny, maxx, maxy]");
            }
            std::vector<Tile> tiles;
            for (const TileRange& range : tms.tile_ranges({bbox[0], bbox[1], bbox[2], bbox[3]}, z)) {
              for (std::int64_t y = range.min_y; y <= range.max_y; ++y) {
                for (std::int64_t x = range.min_x; x <= range.max_x; ++x) {
                  tiles.push_back({z, x, y});
                }
              }
            }
            return tiles;
          },
          py::arg("bbox"), py::arg("z"))
      .def("__repr__", [](const TileMatrixSet& tms) { return "<TileMatrixSet " + tms.id() + ">"; });

  py::class_<Colormap>(m, "Colormap")
      .def_static("named", &Colormap::named, py::arg("name"))
      .def_static("names", &Colormap::names)
      .def_static(
          "from_json", [](const py::object& value) { return *colormap_from(value); }, py::arg("value"))
      .def("to_json", [](const Colormap& colormap) { return from_json(colormap.to_json()); });

  py::class_<ImageData>(m, "ImageData")
      .def_property_readonly("data",
                             [](const ImageData& image) {
                               return view(image.data_owner(), image.data_owner().get(), numpy_dtype(image.data_type()),
                                           {image.band_count(), image.height(), image.width()});
                             })
      .def_property_readonly("mask",
                             [](const ImageData& image) {
                               return view(image.mask_owner(), image.mask_owner().get(), py::dtype("uint8"),
                                           {image.height(), image.width()});
                             })
      .def_property_readonly("count", &ImageData::band_count)
      .def_property_readonly("height", &ImageData::height)
      .def_property_readonly("width", &ImageData::width)
      .def_property_readonly("dtype",
                             [](const ImageData& image) { return std::string(data_type_name(image.data_type())); })
      .def_property_readonly("bounds",
                             [](const ImageData& image) {
                               return py::make_tuple(image.bounds.minx, image.bounds.miny, image.bounds.maxx,
                                                     image.bounds.maxy);
                             })
      .def_property_readonly("crs", [](const ImageData& image) { return image.crs_wkt; })
      .def_property_readonly("band_names", [](const ImageData& image) { return image.band_names; })
      .def_property_readonly("assets", [](const ImageData& image) { return image.assets; })
      .def_property_readonly("metadata", [](const ImageData& image) { return from_json(image.metadata); })
      .def_property_readonly("warnings", [](const ImageData& image) { return image.warnings; })
      .def(
          "render",
          [](const ImageData& image, const std::string& format, const py::object& rescale, const py::object& colormap,
             bool use_palette) {
            RenderOptions options;
            options.format = format;
            options.rescale = rescale_from(rescale);
            options.colormap = colormap_from(colormap);
            options.use_palette = use_palette;
            std::string bytes;
            {
              py::gil_scoped_release release;
              bytes = render(image, options);
            }
            return py::bytes(bytes);
          },
          py::arg("format") = "png", py::arg("rescale") = py::none(), py::arg("colormap") = py::none(),
          py::arg("use_palette") = false)
      .def("__repr__", [](const ImageData& image) {
        return "<ImageData " + std::to_string(image.band_count()) + "x" + std::to_string(image.height()) + "x" +
               std::to_string(image.width()) + " " + std::string(data_type_name(image.data_type())) + ">";
      });

  // rio-tiler's Reader.tile(); read_tile, its name before 0.2, stays an alias.
  const auto tile_function = [](const std::string& href, const py::object& x, const py::object& y, const py::object& z,
                                const py::object& tms, int tilesize, const std::optional<std::vector<int>>& indexes,
                                const std::optional<std::string>& expression, const std::string& resampling,
                                const std::optional<double>& nodata, const std::string& reproject, bool unscale,
                                double buffer) {
    const Tile tile = tile_from(x, y, z);
    const TileMatrixSet matrix_set = tms_from(tms);
    const ReadOptions options = read_options(indexes, expression, resampling, reproject, nodata, unscale, buffer);
    py::gil_scoped_release release;
    return read_tile(href, matrix_set, tile, tilesize, options);
  };
  for (const char* name : {"tile", "read_tile"}) {
    m.def(name, tile_function, py::arg("href"), py::arg("x"), py::arg("y") = py::none(), py::arg("z") = py::none(),
          py::arg("tms") = "WebMercatorQuad", py::arg("tilesize") = 256, py::arg("indexes") = py::none(),
          py::arg("expression") = py::none(), py::arg("resampling") = "nearest", py::arg("nodata") = py::none(),
          py::arg("reproject") = "nearest", py::arg("unscale") = false, py::arg("buffer") = 0.0,
          std::string_view(name) == "tile" ? "The tile (x, y, z) of a raster (C++ read_tile, C tsr_read_tile)."
                                           : "The same as tile() (its name before 0.2).");
  }

  m.def(
      "part",
      [](const std::string& href, const std::vector<double>& bbox, const std::string& bbox_crs,
         const std::optional<std::string>& dst_crs, int max_size, int width, int height,
         const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
         const std::string& resampling, const std::optional<double>& nodata, const std::string& reproject,
         bool unscale) {
        if (bbox.size() != 4) {
          throw Error(ErrorCode::kInvalidInput, "part: bbox must be [minx, miny, maxx, maxy]");
        }
        PartOptions part;
        part.bbox_crs = bbox_crs;
        part.dst_crs = dst_crs.value_or("");
        part.max_size = max_size;
        part.width = width;
        part.height = height;
        const ReadOptions options = read_options(indexes, expression, resampling, reproject, nodata, unscale, 0);
        py::gil_scoped_release release;
        return read_part(href, {bbox[0], bbox[1], bbox[2], bbox[3]}, part, options);
      },
      py::arg("href"), py::arg("bbox"), py::arg("bbox_crs") = "EPSG:4326", py::arg("dst_crs") = py::none(),
      py::arg("max_size") = 1024, py::arg("width") = 0, py::arg("height") = 0, py::arg("indexes") = py::none(),
      py::arg("expression") = py::none(), py::arg("resampling") = "nearest", py::arg("nodata") = py::none(),
      py::arg("reproject") = "nearest", py::arg("unscale") = false);

  m.def(
      "feature",
      [](const std::string& href, const py::object& geojson, const std::string& shape_crs,
         const std::optional<std::string>& dst_crs, int max_size, const std::optional<std::vector<int>>& indexes,
         const std::optional<std::string>& expression, const std::string& resampling,
         const std::optional<double>& nodata) {
        PartOptions part;
        part.bbox_crs = shape_crs;
        part.dst_crs = dst_crs.value_or("");
        part.max_size = max_size;
        const ReadOptions options = read_options(indexes, expression, resampling, "nearest", nodata, false, 0);
        const nlohmann::json shape = to_json(geojson);
        py::gil_scoped_release release;
        return read_feature(href, shape, part, options);
      },
      py::arg("href"), py::arg("geojson"), py::arg("shape_crs") = "EPSG:4326", py::arg("dst_crs") = py::none(),
      py::arg("max_size") = 1024, py::arg("indexes") = py::none(), py::arg("expression") = py::none(),
      py::arg("resampling") = "nearest", py::arg("nodata") = py::none());

  m.def(
      "preview",
      [](const std::string& href, int max_size, const std::optional<std::vector<int>>& indexes,
         const std::optional<std::string>& expression, const std::string& resampling,
         const std::optional<double>& nodata, bool unscale) {
        const ReadOptions options = read_options(indexes, expression, resampling, "nearest", nodata, unscale, 0);
        py::gil_scoped_release release;
        return read_preview(href, max_size, options);
      },
      py::arg("href"), py::arg("max_size") = 1024, py::arg("indexes") = py::none(), py::arg("expression") = py::none(),
      py::arg("resampling") = "nearest", py::arg("nodata") = py::none(), py::arg("unscale") = false);

  m.def(
      "point",
      [](const std::string& href, double lon, double lat, const std::optional<std::vector<int>>& indexes,
         const std::optional<std::string>& expression, const std::optional<double>& nodata, bool unscale) {
        const ReadOptions options = read_options(indexes, expression, "nearest", "nearest", nodata, unscale, 0);
        PointData point;
        {
          py::gil_scoped_release release;
          point = read_point(href, lon, lat, options);
        }
        return point_dict(point);
      },
      py::arg("href"), py::arg("lon"), py::arg("lat"), py::arg("indexes") = py::none(),
      py::arg("expression") = py::none(), py::arg("nodata") = py::none(), py::arg("unscale") = false);

  m.def(
      "info",
      [](const std::string& href, const py::object& tms) {
        const TileMatrixSet matrix_set = tms_from(tms);
        nlohmann::json info;
        {
          py::gil_scoped_release release;
          info = raster_info(href, matrix_set).to_json();
        }
        return from_json(info);
      },
      py::arg("href"), py::arg("tms") = "WebMercatorQuad");

  m.def(
      "statistics",
      [](const std::string& href, int max_size, const std::vector<double>& percentiles, int bins,
         const std::optional<std::pair<double, double>>& histogram_range, bool categorical,
         const std::optional<std::vector<int>>& indexes, const std::optional<std::string>& expression,
         const std::optional<double>& nodata) {
        const StatisticsOptions statistics =
            statistics_options(max_size, percentiles, bins, histogram_range, categorical, std::nullopt);
        const ReadOptions options = read_options(indexes, expression, "nearest", "nearest", nodata, false, 0);
        nlohmann::json result;
        {
          py::gil_scoped_release release;
          result = to_json(raster_statistics(href, statistics, options));
        }
        return from_json(result);
      },
      py::arg("href"), py::arg("max_size") = 1024, py::arg("percentiles") = std::vector<double>{2, 98},
      py::arg("bins") = 10, py::arg("histogram_range") = py::none(), py::arg("categorical") = false,
      py::arg("indexes") = py::none(), py::arg("expression") = py::none(), py::arg("nodata") = py::none());

  m.def(
      "feature_statistics",
      [](const std::string& href, const py::object& geojson, const std::string& shape_crs,
         const std::optional<std::string>& dst_crs, int max_size, int width, int height,
         const std::vector<double>& percentiles, int bins,
         const std::optional<std::pair<double, double>>& histogram_range, bool categorical,
         std::optional<int> cover_scale, const std::optional<std::vector<int>>& indexes,
         const std::optional<std::string>& expression, const std::optional<double>& nodata) {
        const StatisticsOptions statistics =
            statistics_options(max_size, percentiles, bins, histogram_range, categorical, cover_scale);
        const PartOptions part{shape_crs, dst_crs.value_or(""), max_size, width, height};
        const ReadOptions options = read_options(indexes, expression, "nearest", "nearest", nodata, false, 0);
        const nlohmann::json shape = to_json(geojson);
        nlohmann::json result;
        {
          py::gil_scoped_release release;
          result = to_json(feature_statistics(href, shape, statistics, part, options));
        }
        return from_json(result);
      },
      py::arg("href"), py::arg("geojson"), py::arg("shape_crs") = "EPSG:4326", py::arg("dst_crs") = py::none(),
      py::arg("max_size") = 0, py::arg("width") = 0, py::arg("height") = 0,
      py::arg("percentiles") = std::vector<double>{2, 98}, py::arg("bins") = 10,
      py::arg("histogram_range") = py::none(), py::arg("categorical") = false, py::arg("cover_scale") = py::none(),
      py::arg("indexes") = py::none(), py::arg("expression") = py::none(), py::arg("nodata") = py::none(),
      "Statistics per band of the pixels a GeoJSON Feature or (Multi)Polygon covers, each pixel weighed by the "
      "exact share of its area inside the shape (cover_scale: rio-tiler's estimate); read at the raster's "
      "resolution unless max_size, width or height say otherwise.");

  m.def(
      "coverage_fractions",
      [](const py::object& geojson, const std::vector<double>& bounds, int width, int height,
         std::optional<int> cover_scale) {
        if (bounds.size() != 4) {
          throw Error(ErrorCode::kInvalidInput, "coverage_fractions: bounds must be [minx, miny, maxx, maxy]");
        }
        const nlohmann::json shape = to_json(geojson);
        std::vector<double> fractions;
        {
          py::gil_scoped_release release;
          fractions = tessera::coverage_fractions(shape, {bounds[0], bounds[1], bounds[2], bounds[3]}, width, height,
                                                  cover_scale);
        }
        py::array_t<double> result({static_cast<py::ssize_t>(height), static_cast<py::ssize_t>(width)});
        std::copy(fractions.begin(), fractions.end(), result.mutable_data());
        return result;
      },
      py::arg("geojson"), py::arg("bounds"), py::arg("width"), py::arg("height"), py::arg("cover_scale") = py::none(),
      "The share (0 to 1) of each pixel of a width x height grid over bounds that a GeoJSON (Multi)Polygon in the "
      "grid's CRS covers, as a height x width float64 array: exact, or rio-tiler's estimate with cover_scale.");

  m.def(
      "tilejson",
      [](const std::string& href, const std::string& tile_url, const py::object& tms) {
        const TileMatrixSet matrix_set = tms_from(tms);
        nlohmann::json document;
        {
          py::gil_scoped_release release;
          document = tilejson(href, tile_url, matrix_set);
        }
        return from_json(document);
      },
      py::arg("href"), py::arg("tile_url") = "{z}/{x}/{y}.png", py::arg("tms") = "WebMercatorQuad");
}

}  // namespace tessera::python
