#include "tessera/tms.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <mutex>
#include <numbers>
#include <optional>
#include <span>

#include <cpl_string.h>
#include <fmt/format.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "core/gdal_env.hpp"
#include "tessera/error.hpp"

namespace tessera {

using nlohmann::json;

namespace {

constexpr int kMaxCustomZoom = 30;
constexpr int kBoundsDensifyPoints = 21;  // morecantile's (and pyproj's) densification of reprojected bounds

// --- Reading a document -------------------------------------------------------

[[noreturn]] void invalid(std::string_view where, std::string_view problem) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("tile matrix set: {} {}", where, problem));
}

std::string member_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

const json& required(const json& object, std::string_view key, std::string_view parent) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) {
    invalid(member_path(parent, key), "is missing");
  }
  return *found;
}

const json* optional_member(const json& object, std::string_view key) {
  const auto found = object.find(key);
  return found == object.end() || found->is_null() ? nullptr : &*found;
}

double positive_number(const json& object, std::string_view key, std::string_view parent) {
  const json& value = required(object, key, parent);
  if (!value.is_number() || !(value.get<double>() > 0) || !std::isfinite(value.get<double>())) {
    invalid(member_path(parent, key), "must be a positive number");
  }
  return value.get<double>();
}

// JSON integers, and numbers like 256.0 that pydantic also accepts as integers.
std::int64_t positive_integer(const json& object, std::string_view key, std::string_view parent, std::int64_t max) {
  const json& value = required(object, key, parent);
  const std::string where = member_path(parent, key);
  if (value.is_number_unsigned()) {
    if (const auto number = value.get<std::uint64_t>(); number >= 1 && number <= static_cast<std::uint64_t>(max)) {
      return static_cast<std::int64_t>(number);
    }
  } else if (value.is_number_integer()) {
    if (const auto number = value.get<std::int64_t>(); number >= 1 && number <= max) {
      return number;
    }
  } else if (value.is_number_float()) {
    if (const double number = value.get<double>();
        number >= 1 && number <= static_cast<double>(max) && std::floor(number) == number) {
      return static_cast<std::int64_t>(number);
    }
  } else {
    invalid(where, "must be an integer");
  }
  invalid(where, fmt::format("must be an integer from 1 to {}", max));
}

std::string string_member(const json& value, std::string_view where) {
  if (!value.is_string()) {
    invalid(where, "must be a string");
  }
  return value.get<std::string>();
}

std::array<double, 2> point(const json& object, std::string_view key, std::string_view parent) {
  const json& value = required(object, key, parent);
  if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number()) {
    invalid(member_path(parent, key), "must be an array of two numbers");
  }
  return {value[0].get<double>(), value[1].get<double>()};
}

void check_string_array(const json& value, std::string_view where, std::optional<std::size_t> size) {
  if (!value.is_array() || (size && value.size() != *size) ||
      !std::all_of(value.begin(), value.end(), [](const json& item) { return item.is_string(); })) {
    invalid(where, size ? fmt::format("must be an array of {} strings", *size) : "must be an array of strings");
  }
}

Crs crs_from_text(const std::string& text, std::string_view where) {
  try {
    return Crs::from_user_input(text);
  } catch (const Error& error) {
    invalid(where, error.what());
  }
}

// The "crs" member: a URI or other PROJ-readable string, {"uri": ...} or
// {"wkt": PROJJSON}; ISO 19115 referenceSystem objects cannot be read by PROJ.
Crs read_crs(const json& value) {
  if (value.is_string()) {
    return crs_from_text(value.get<std::string>(), "crs");
  }
  if (!value.is_object()) {
    invalid("crs", "must be a string or an object with \"uri\" or \"wkt\"");
  }
  if (const json* uri = optional_member(value, "uri")) {
    return crs_from_text(string_member(*uri, "crs.uri"), "crs.uri");
  }
  if (const json* wkt = optional_member(value, "wkt")) {
    if (!wkt->is_object() && !wkt->is_string()) {
      invalid("crs.wkt", "must be a PROJJSON object or WKT text");
    }
    return crs_from_text(wkt->is_string() ? wkt->get<std::string>() : wkt->dump(), "crs.wkt");
  }
  if (value.contains("referenceSystem")) {
    throw Error(ErrorCode::kUnsupported,
                "tile matrix set: crs.referenceSystem (ISO 19115) is not supported; give a URI or PROJJSON");
  }
  invalid("crs", "must be a string or an object with \"uri\" or \"wkt\"");
}

bool is_northing_name(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return name == "Y" || name == "LAT" || name == "N";
}

// morecantile's test for lat/lon-like axis order: the abbreviation of the
// CRS's first axis. PROJJSON carries it; OGR's axis API does not.
bool first_axis_is_northing(const Crs& crs) {
  const json projjson = json::parse(crs.to_projjson(), nullptr, false);
  const json* node = &projjson;
  // Bound and compound CRSs keep their axes in the source CRS or first component.
  while (node->is_object() && !node->contains("coordinate_system")) {
    if (const auto source = node->find("source_crs"); source != node->end()) {
      node = &*source;
    } else if (const auto parts = node->find("components");
               parts != node->end() && parts->is_array() && !parts->empty()) {
      node = &parts->front();
    } else {
      return false;
    }
  }
  if (!node->is_object() || !node->at("coordinate_system").is_object()) {
    return false;
  }
  const json axes = node->at("coordinate_system").value("axis", json::array());
  if (!axes.is_array() || axes.empty() || !axes[0].is_object() || !axes[0].contains("abbreviation") ||
      !axes[0]["abbreviation"].is_string()) {
    return false;
  }
  return is_northing_name(axes[0]["abbreviation"].get<std::string>());
}

// metersPerUnit of OGC 17-083r4 (table 2, note g), which turns a cell size
// into a scale denominator.
double meters_per_unit(const Crs& crs) {
  const OGRSpatialReference& srs = *crs.ogr();
  if (crs.is_geographic()) {
    const double radians_per_unit = srs.GetAngularUnits();
    if (std::abs(radians_per_unit - std::numbers::pi / 180.0) > 1e-12) {
      throw Error(ErrorCode::kUnsupported,
                  fmt::format("{} has angular units other than degrees", crs.authority_code()));
    }
    return 2 * std::numbers::pi * srs.GetSemiMajor() / 360.0;
  }
  return srs.GetLinearUnits();
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || text.front() == '+') {
    return std::nullopt;
  }
  return value;
}

TileMatrix read_matrix(const json& value, const std::string& where, bool axes_inverted) {
  if (!value.is_object()) {
    invalid(where, "must be an object");
  }
  TileMatrix matrix;
  matrix.id = string_member(required(value, "id", where), member_path(where, "id"));
  matrix.scale_denominator = positive_number(value, "scaleDenominator", where);
  matrix.cell_size = positive_number(value, "cellSize", where);
  if (const json* corner = optional_member(value, "cornerOfOrigin")) {
    const std::string text = string_member(*corner, member_path(where, "cornerOfOrigin"));
    if (text != "topLeft" && text != "bottomLeft") {
      invalid(member_path(where, "cornerOfOrigin"),
              fmt::format("must be \"topLeft\" or \"bottomLeft\", not \"{}\"", text));
    }
    matrix.origin_bottom_left = text == "bottomLeft";
  }
  const auto origin = point(value, "pointOfOrigin", where);
  matrix.origin_x = axes_inverted ? origin[1] : origin[0];
  matrix.origin_y = axes_inverted ? origin[0] : origin[1];
  if (!std::isfinite(matrix.origin_x) || !std::isfinite(matrix.origin_y)) {
    invalid(member_path(where, "pointOfOrigin"), "must be finite");
  }
  constexpr std::int64_t kMaxTileSize = std::numeric_limits<int>::max();
  // Tile indexes stay exact in doubles below 2^53.
  constexpr std::int64_t kMaxMatrixSize = std::int64_t{1} << 53;
  matrix.tile_width = static_cast<int>(positive_integer(value, "tileWidth", where, kMaxTileSize));
  matrix.tile_height = static_cast<int>(positive_integer(value, "tileHeight", where, kMaxTileSize));
  matrix.matrix_width = positive_integer(value, "matrixWidth", where, kMaxMatrixSize);
  matrix.matrix_height = positive_integer(value, "matrixHeight", where, kMaxMatrixSize);
  if (const json* widths = optional_member(value, "variableMatrixWidths")) {
    if (!widths->is_array()) {
      invalid(member_path(where, "variableMatrixWidths"), "must be an array");
    }
    if (!widths->empty()) {
      throw Error(ErrorCode::kUnsupported, fmt::format("tile matrix set: {} (coalesced tiles) is not supported",
                                                       member_path(where, "variableMatrixWidths")));
    }
  }
  return matrix;
}

// --- Tile arithmetic (morecantile's expressions, for the same roundings) ------

// The index of the tile along one axis holding `offset` CRS units from the
// origin; infinite offsets give 0 and others are clamped into the matrix.
std::int64_t tile_index(double offset, double tile_span, std::int64_t count) {
  if (std::isinf(offset)) {
    return 0;
  }
  const double index = std::floor(offset / tile_span);
  if (!(index >= 0)) {
    return 0;
  }
  if (index >= static_cast<double>(count)) {
    return count - 1;
  }
  return static_cast<std::int64_t>(index);
}

Bbox matrix_tile_bounds(const TileMatrix& m, std::int64_t x, std::int64_t y) {
  Bbox box;
  box.minx = m.origin_x + static_cast<double>(x) * m.cell_size * m.tile_width;
  box.maxx = m.origin_x + static_cast<double>(x + 1) * m.cell_size * m.tile_width;
  if (m.origin_bottom_left) {
    box.miny = m.origin_y + static_cast<double>(y) * m.cell_size * m.tile_height;
    box.maxy = m.origin_y + static_cast<double>(y + 1) * m.cell_size * m.tile_height;
  } else {
    box.maxy = m.origin_y - static_cast<double>(y) * m.cell_size * m.tile_height;
    box.miny = m.origin_y - static_cast<double>(y + 1) * m.cell_size * m.tile_height;
  }
  return box;
}

// Whether the antimeridian lies between two longitudes, in morecantile's
// reading: after wrapping to 0..360 the first must be west of 180 and the
// second east of it (it only holds for a set whose east bound is past 180°,
// given as a negative longitude).
bool antimeridian_between(double west, double east) {
  const auto wrap = [](double lon) { return std::fmod(std::clamp(lon, -180.0, 180.0) + 360.0, 360.0); };
  return wrap(west) < 180.0 && 180.0 < wrap(east);
}

// --- Built-in sets ------------------------------------------------------------

// The scale denominators and cell sizes exactly as printed in OGC 17-083r4
// annex D (and in morecantile's copies of the documents), so that tile
// bounds agree with TiTiler's to the last bit.
constexpr double kWebMercatorScaleDenominators[] = {
    559082264.028717, 279541132.014358, 139770566.007179, 69885283.0035897, 34942641.5017948,
    17471320.7508974, 8735660.37544871, 4367830.18772435, 2183915.09386217, 1091957.54693108,
    545978.773465544, 272989.386732772, 136494.693366386, 68247.346683193,  34123.6733415964,
    17061.8366707982, 8530.91833539913, 4265.45916769956, 2132.72958384978, 1066.36479192489,
    533.182395962445, 266.591197981222, 133.295598990611, 66.6477994953056, 33.3238997476528};
constexpr double kWebMercatorCellSizes[] = {
    156543.033928041,  78271.5169640204,   39135.7584820102,   19567.8792410051,   9783.93962050256,
    4891.96981025128,  2445.98490512564,   1222.99245256282,   611.49622628141,    305.748113140704,
    152.874056570352,  76.4370282851762,   38.2185141425881,   19.109257071294,    9.55462853564703,
    4.77731426782351,  2.38865713391175,   1.19432856695587,   0.597164283477939,  0.29858214173897,
    0.149291070869485, 0.0746455354347424, 0.0373227677173712, 0.0186613838586856, 0.0093306919293428};
// WorldCRS84Quad's zoom z has WebMercatorQuad's scale denominator of zoom z + 1.
constexpr double kCrs84CellSizes[] = {0.703125,
                                      0.3515625,
                                      0.17578125,
                                      0.087890625,
                                      0.0439453125,
                                      0.02197265625,
                                      0.010986328125,
                                      0.0054931640625,
                                      0.00274658203125,
                                      0.001373291015625,
                                      0.0006866455078125,
                                      0.00034332275390625,
                                      0.000171661376953125,
                                      8.58306884765625e-05,
                                      4.29153442382812e-05,
                                      2.14576721191406e-05,
                                      1.07288360595703e-05,
                                      5.36441802978515e-06,
                                      2.68220901489258e-06,
                                      1.34110450744629e-06,
                                      6.7055225372314e-07,
                                      3.3527612686157e-07,
                                      1.6763806343079e-07,
                                      8.381903171539e-08};
constexpr double kWebMercatorHalfSide = 20037508.342789244;

json builtin_document(const char* id, const char* title, const char* crs, std::array<const char*, 2> axes,
                      const char* scale_set, std::span<const double> cells, std::span<const double> scales,
                      std::array<double, 2> origin, std::int64_t zoom0_width) {
  json matrices = json::array();
  for (std::size_t z = 0; z < cells.size(); ++z) {
    const std::int64_t height = std::int64_t{1} << z;
    matrices.push_back({{"id", std::to_string(z)},
                        {"scaleDenominator", scales[z]},
                        {"cellSize", cells[z]},
                        {"cornerOfOrigin", "topLeft"},
                        {"pointOfOrigin", origin},
                        {"tileWidth", 256},
                        {"tileHeight", 256},
                        {"matrixWidth", zoom0_width * height},
                        {"matrixHeight", height}});
  }
  return {{"id", id},
          {"title", title},
          {"uri", fmt::format("http://www.opengis.net/def/tilematrixset/OGC/1.0/{}", id)},
          {"crs", crs},
          {"orderedAxes", axes},
          {"wellKnownScaleSet", scale_set},
          {"tileMatrices", std::move(matrices)}};
}

}  // namespace

// --- Projection ---------------------------------------------------------------

// The WGS84 <-> CRS transformations, made on first use (a set whose CRS has no
// path to WGS84 still serves everything in its own CRS).
struct TileMatrixSet::Projection {
  std::once_flag ready;
  std::mutex mutex;  // an OGR transformation is not thread-safe
  std::optional<Transformer> to_wgs84;
  std::optional<Transformer> from_wgs84;
  Bbox wgs84_extent;  // the set's extent reprojected, to clamp bboxes to (morecantile's tms.bbox)

  void transform(const Transformer& transformer, double* x, double* y) {
    const std::lock_guard lock(mutex);
    transformer.transform(x, y, 1);
  }
};

TileMatrixSet::Projection& TileMatrixSet::projection() const {
  std::call_once(projection_->ready, [this] {
    projection_->to_wgs84.emplace(crs_, Crs::wgs84());
    projection_->from_wgs84.emplace(Crs::wgs84(), crs_);
    projection_->wgs84_extent = projection_->to_wgs84->transform_bbox(extent(), kBoundsDensifyPoints);
  });
  return *projection_;
}

// --- TileMatrixSet ------------------------------------------------------------

TileMatrixSet::TileMatrixSet(std::string id, Crs crs, json crs_member, json metadata, bool axes_inverted,
                             std::vector<TileMatrix> matrices, int min_zoom)
    : id_(std::move(id)),
      crs_(std::move(crs)),
      crs_member_(std::move(crs_member)),
      metadata_(std::move(metadata)),
      axes_inverted_(axes_inverted),
      matrices_(std::move(matrices)),
      min_zoom_(min_zoom),
      projection_(std::make_shared<Projection>()) {}

TileMatrixSet TileMatrixSet::from_json(const json& document) {
  if (!document.is_object()) {
    invalid("document", "must be a JSON object");
  }
  if (document.contains("supportedCRS") || document.contains("tileMatrix")) {
    throw Error(ErrorCode::kUnsupported,
                "tile matrix set: TMS 1.0 documents (supportedCRS, tileMatrix) are not supported; use TMS 2.0");
  }
  Crs crs = read_crs(required(document, "crs", ""));

  json metadata = json::object();
  for (const char* key : {"id", "title", "description", "uri", "wellKnownScaleSet"}) {
    if (const json* value = optional_member(document, key)) {
      metadata[key] = string_member(*value, key);
    }
  }
  if (const json* keywords = optional_member(document, "keywords")) {
    check_string_array(*keywords, "keywords", std::nullopt);
    metadata["keywords"] = *keywords;
  }
  if (const json* box = optional_member(document, "boundingBox")) {
    if (!box->is_object()) {
      invalid("boundingBox", "must be an object");
    }
    // Checked, then kept as written: nothing here depends on it.
    point(*box, "lowerLeft", "boundingBox");
    point(*box, "upperRight", "boundingBox");
    metadata["boundingBox"] = *box;
  }
  bool axes_inverted = false;
  if (const json* axes = optional_member(document, "orderedAxes")) {
    check_string_array(*axes, "orderedAxes", 2);
    metadata["orderedAxes"] = *axes;
    axes_inverted = is_northing_name((*axes)[0].get<std::string>());
  } else {
    axes_inverted = first_axis_is_northing(crs);
  }

  const json& list = required(document, "tileMatrices", "");
  if (!list.is_array() || list.empty()) {
    invalid("tileMatrices", "must be a non-empty array");
  }
  std::vector<TileMatrix> matrices;
  matrices.reserve(list.size());
  int min_zoom = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("tileMatrices[{}]", i);
    TileMatrix matrix = read_matrix(list[i], where, axes_inverted);
    const std::optional<int> zoom = parse_int(matrix.id);
    if (!zoom) {
      invalid(member_path(where, "id"),
              fmt::format("must be an integer zoom level such as \"0\", not \"{}\"", matrix.id));
    }
    // Zoom levels are indexes into the list, so they must follow each other.
    if (matrices.empty()) {
      min_zoom = *zoom;
    } else {
      const int previous = min_zoom + static_cast<int>(matrices.size()) - 1;
      if (previous == std::numeric_limits<int>::max() || *zoom != previous + 1) {
        invalid(member_path(where, "id"),
                fmt::format("is \"{}\" after \"{}\"; tile matrix ids must be consecutive increasing zoom levels",
                            matrix.id, matrices.back().id));
      }
    }
    matrices.push_back(std::move(matrix));
  }
  std::string id = metadata.value("id", "");
  return TileMatrixSet(std::move(id), std::move(crs), document.at("crs"), std::move(metadata), axes_inverted,
                       std::move(matrices), min_zoom);
}

TileMatrixSet TileMatrixSet::from_json_text(std::string_view text) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& error) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("tile matrix set: invalid JSON at byte {}: {}", error.byte, error.what()));
  } catch (const json::exception& error) {
    // A number beyond a double's range is out_of_range, not a parse_error.
    throw Error(ErrorCode::kInvalidInput, fmt::format("tile matrix set: invalid JSON: {}", error.what()));
  }
  return from_json(document);
}

TileMatrixSet TileMatrixSet::web_mercator_quad() {
  static const TileMatrixSet instance = from_json(builtin_document(
      "WebMercatorQuad", "Google Maps Compatible for the World", "http://www.opengis.net/def/crs/EPSG/0/3857",
      {"X", "Y"}, "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible", kWebMercatorCellSizes,
      kWebMercatorScaleDenominators, {-kWebMercatorHalfSide, kWebMercatorHalfSide}, 1));
  return instance;
}

TileMatrixSet TileMatrixSet::world_crs84_quad() {
  static const TileMatrixSet instance = from_json(
      builtin_document("WorldCRS84Quad", "CRS84 for the World", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                       {"Lon", "Lat"}, "http://www.opengis.net/def/wkss/OGC/1.0/GoogleCRS84Quad", kCrs84CellSizes,
                       std::span(kWebMercatorScaleDenominators).subspan(1), {-180.0, 90.0}, 2));
  return instance;
}

TileMatrixSet TileMatrixSet::custom(const Crs& crs, const Bbox& extent, int min_zoom, int max_zoom, int tile_size,
                                    std::string id) {
  if (!std::isfinite(extent.minx) || !std::isfinite(extent.miny) || !std::isfinite(extent.maxx) ||
      !std::isfinite(extent.maxy) || !(extent.maxx > extent.minx) || !(extent.maxy > extent.miny)) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("custom tile matrix set: extent [{}, {}, {}, {}] must be finite with min < max",
                            extent.minx, extent.miny, extent.maxx, extent.maxy));
  }
  if (min_zoom < 0 || max_zoom < min_zoom || max_zoom > kMaxCustomZoom) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("custom tile matrix set: zoom {}..{} must lie within 0..{} with min <= max", min_zoom,
                            max_zoom, kMaxCustomZoom));
  }
  if (tile_size < 1) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("custom tile matrix set: tile size {} must be positive", tile_size));
  }
  const bool inverted = first_axis_is_northing(crs);
  const double units = meters_per_unit(crs);
  const double width = extent.maxx - extent.minx;
  const double height = extent.maxy - extent.miny;
  // 0.28 mm: the OGC's standard rendering pixel size.
  constexpr double kScreenPixelSize = 0.28e-3;

  std::vector<TileMatrix> matrices;
  for (int zoom = min_zoom; zoom <= max_zoom; ++zoom) {
    const double divisor = std::ldexp(1.0, zoom);
    TileMatrix matrix;
    matrix.id = std::to_string(zoom);
    matrix.cell_size = std::max(width / tile_size / divisor, height / tile_size / divisor);
    matrix.scale_denominator = matrix.cell_size * units / kScreenPixelSize;
    matrix.origin_x = extent.minx;
    matrix.origin_y = extent.maxy;
    matrix.tile_width = tile_size;
    matrix.tile_height = tile_size;
    matrix.matrix_width = std::int64_t{1} << zoom;
    matrix.matrix_height = std::int64_t{1} << zoom;
    matrices.push_back(std::move(matrix));
  }

  // As morecantile: an OGC CRS URI when the CRS has an authority code, else PROJJSON.
  json crs_member;
  const std::string code = crs.authority_code();
  if (const auto colon = code.find(':'); colon != std::string::npos) {
    crs_member = fmt::format("http://www.opengis.net/def/crs/{}/0/{}", code.substr(0, colon), code.substr(colon + 1));
  } else {
    crs_member = {{"wkt", json::parse(crs.to_projjson())}};
  }
  json metadata = json::object();
  if (!id.empty()) {
    metadata["id"] = id;
  }
  return TileMatrixSet(std::move(id), crs, std::move(crs_member), std::move(metadata), inverted, std::move(matrices),
                       min_zoom);
}

std::vector<std::string> TileMatrixSet::builtin_names() { return {"WebMercatorQuad", "WorldCRS84Quad"}; }

TileMatrixSet TileMatrixSet::from_name(std::string_view name) {
  if (name == "WebMercatorQuad") {
    return web_mercator_quad();
  }
  if (name == "WorldCRS84Quad") {
    return world_crs84_quad();
  }
  constexpr std::string_view kEpsgPrefix = "EPSG:";
  const std::optional<int> code =
      name.starts_with(kEpsgPrefix) ? parse_int(name.substr(kEpsgPrefix.size())) : std::nullopt;
  if (!code || *code <= 0) {
    throw Error(ErrorCode::kNotFound,
                fmt::format("unknown tile matrix set '{}'; use WebMercatorQuad, WorldCRS84Quad or EPSG:<code>", name));
  }
  const Crs crs = Crs::from_epsg(*code);
  Bbox area;
  if (!crs.ogr()->GetAreaOfUse(&area.minx, &area.miny, &area.maxx, &area.maxy, nullptr) || area.minx == -1000) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("{} has no area of use to tile", name));
  }
  const Bbox extent = Transformer(Crs::wgs84(), crs).transform_bbox(area, kBoundsDensifyPoints);
  return custom(crs, extent, 0, 24, 256, std::string(name));
}

std::string TileMatrixSet::name() const { return id_.empty() ? "the tile matrix set" : id_; }

const TileMatrix& TileMatrixSet::matrix(int z) const {
  if (z < min_zoom() || z > max_zoom()) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("zoom {} is outside {} (zoom {}..{})", z, name(), min_zoom(), max_zoom()));
  }
  return matrices_[static_cast<std::size_t>(z - min_zoom())];
}

json TileMatrixSet::to_json() const {
  json document = metadata_;
  document["crs"] = crs_member_;
  json matrices = json::array();
  for (const TileMatrix& m : matrices_) {
    const std::array<double, 2> origin =
        axes_inverted_ ? std::array{m.origin_y, m.origin_x} : std::array{m.origin_x, m.origin_y};
    matrices.push_back({{"id", m.id},
                        {"scaleDenominator", m.scale_denominator},
                        {"cellSize", m.cell_size},
                        {"cornerOfOrigin", m.origin_bottom_left ? "bottomLeft" : "topLeft"},
                        {"pointOfOrigin", origin},
                        {"tileWidth", m.tile_width},
                        {"tileHeight", m.tile_height},
                        {"matrixWidth", m.matrix_width},
                        {"matrixHeight", m.matrix_height}});
  }
  document["tileMatrices"] = std::move(matrices);
  return document;
}

bool TileMatrixSet::tile_exists(const Tile& tile) const noexcept {
  if (tile.z < min_zoom() || tile.z > max_zoom()) {
    return false;
  }
  const TileMatrix& m = matrices_[static_cast<std::size_t>(tile.z - min_zoom())];
  return tile.x >= 0 && tile.x < m.matrix_width && tile.y >= 0 && tile.y < m.matrix_height;
}

void TileMatrixSet::check_tile(const Tile& tile) const {
  if (tile.z < min_zoom() || tile.z > max_zoom()) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("tile {}/{}/{} is outside {} (zoom {}..{})", tile.z, tile.x,
                                                      tile.y, name(), min_zoom(), max_zoom()));
  }
  if (!tile_exists(tile)) {
    const TileMatrix& m = matrix(tile.z);
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("tile {}/{}/{} is outside {} (zoom {}: x 0..{}, y 0..{})", tile.z, tile.x, tile.y, name(),
                            tile.z, m.matrix_width - 1, m.matrix_height - 1));
  }
}

Bbox TileMatrixSet::extent() const {
  const TileMatrix& m = matrices_.front();
  const Bbox first = matrix_tile_bounds(m, 0, 0);
  const Bbox last = matrix_tile_bounds(m, m.matrix_width - 1, m.matrix_height - 1);
  return {first.minx, std::min(first.miny, last.miny), last.maxx, std::max(first.maxy, last.maxy)};
}

Bbox TileMatrixSet::xy_bounds(const Tile& tile) const {
  check_tile(tile);
  return matrix_tile_bounds(matrix(tile.z), tile.x, tile.y);
}

Bbox TileMatrixSet::bounds(const Tile& tile) const {
  const Bbox box = xy_bounds(tile);
  Projection& p = projection();
  double xs[2] = {box.minx, box.maxx};
  double ys[2] = {box.maxy, box.miny};
  for (int i = 0; i < 2; ++i) {
    try {
      p.transform(*p.to_wgs84, &xs[i], &ys[i]);
    } catch (const Error& error) {
      throw Error(ErrorCode::kInvalidInput, fmt::format("a corner of tile {}/{}/{} of {} has no WGS84 position: {}",
                                                        tile.z, tile.x, tile.y, name(), error.what()));
    }
  }
  return {xs[0], ys[1], xs[1], ys[0]};
}

Tile TileMatrixSet::tile(double lon, double lat, int z) const {
  const TileMatrix& m = matrix(z);
  if (!std::isfinite(lon) || !std::isfinite(lat)) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("point ({}, {}) is not finite", lon, lat));
  }
  // morecantile lets PROJ turn such latitudes into infinities and those into
  // row 0, so that -91 lands in the top row; an error is more useful.
  if (std::abs(lat) > 90) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("latitude {} is outside -90..90", lat));
  }
  Projection& p = projection();
  double x = lon;
  double y = lat;
  try {
    p.transform(*p.from_wgs84, &x, &y);
  } catch (const Error& error) {
    throw Error(ErrorCode::kInvalidInput,
                fmt::format("point ({}, {}) cannot be projected to the CRS of {}: {}", lon, lat, name(), error.what()));
  }
  const double row_offset = m.origin_bottom_left ? y - m.origin_y : m.origin_y - y;
  return {z, tile_index(x - m.origin_x, m.cell_size * m.tile_width, m.matrix_width),
          tile_index(row_offset, m.cell_size * m.tile_height, m.matrix_height)};
}

std::vector<TileRange> TileMatrixSet::tile_ranges(const Bbox& wgs84_bbox, int z) const {
  const Bbox& box = wgs84_bbox;
  if (std::isnan(box.minx) || std::isnan(box.miny) || std::isnan(box.maxx) || std::isnan(box.maxy) ||
      box.miny > box.maxy) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("bbox [{}, {}, {}, {}] must not be NaN and needs miny <= maxy",
                                                      box.minx, box.miny, box.maxx, box.maxy));
  }
  const Bbox limits = projection().wgs84_extent;
  std::vector<Bbox> parts;
  if (box.crosses_antimeridian()) {
    parts = {{limits.minx, box.miny, box.maxx, box.maxy}, {box.minx, box.miny, limits.maxx, box.maxy}};
  } else {
    parts = {box};
  }
  // A nudge inwards so that a bbox ending on a tile edge does not reach into the next tile.
  constexpr double kEpsilon = 1e-11;
  std::vector<TileRange> ranges;
  for (const Bbox& part : parts) {
    const double west = std::max(limits.minx, part.minx);
    const double south = std::max(limits.miny, part.miny);
    const double east = antimeridian_between(part.maxx, limits.maxx) ? std::max(limits.maxx, part.maxx)
                                                                     : std::min(limits.maxx, part.maxx);
    const double north = std::min(limits.maxy, part.maxy);
    const Tile north_west = tile(west + kEpsilon, north - kEpsilon, z);
    const Tile south_east = tile(east - kEpsilon, south + kEpsilon, z);
    ranges.push_back({z, std::min(north_west.x, south_east.x), std::min(north_west.y, south_east.y),
                      std::max(north_west.x, south_east.x), std::max(north_west.y, south_east.y)});
  }
  return ranges;
}

int TileMatrixSet::zoom_for_resolution(double resolution, ZoomStrategy strategy) const {
  if (!(resolution > 0) || !std::isfinite(resolution)) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("resolution {} must be a positive number", resolution));
  }
  // Relative difference under which a resolution counts as a level's own (GDAL's COG driver).
  const auto same = [resolution](double level) { return std::abs(resolution - level) / level <= 1e-8; };
  int zoom = min_zoom();
  double level = this->resolution(zoom);
  while (!(resolution > level || same(level)) && zoom < max_zoom()) {
    level = this->resolution(++zoom);
  }
  // The first level at least as coarse as `resolution`, or max_zoom. morecantile
  // compares with zoom 0 here, not min_zoom, and "lower" steps down from
  // max_zoom even for resolutions finer than it; both kept for identical answers.
  if (zoom > 0 && !same(level)) {
    const int coarser = std::max(zoom - 1, min_zoom());
    switch (strategy) {
      case ZoomStrategy::kLower:
        zoom = coarser;
        break;
      case ZoomStrategy::kUpper:
        break;
      case ZoomStrategy::kAuto:
        if (this->resolution(coarser) / resolution < resolution / level) {
          zoom = coarser;
        }
        break;
    }
  }
  return zoom;
}

// --- Zoom levels for a raster -------------------------------------------------

namespace {

struct WarpedGrid {
  double resolution;
  std::int64_t width;
  std::int64_t height;
};

// GDAL's suggested output grid for warping the raster into `target`, as
// rasterio's calculate_default_transform (which rio-tiler uses) asks for it.
WarpedGrid suggested_warp_grid(const Crs& source, const std::array<double, 6>& geotransform, int width, int height,
                               const Crs& target) {
  gdal::ensure_initialized();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("MEM");
  if (driver == nullptr) {
    throw Error(ErrorCode::kInternal, "GDAL's MEM driver is not available");
  }
  // A band-less dataset: the transformer needs only its size, geotransform and CRS.
  GDALDatasetUniquePtr dataset(driver->Create("", width, height, 0, GDT_Byte, nullptr));
  if (!dataset) {
    gdal::throw_last_error(ErrorCode::kInternal, "cannot create an in-memory dataset");
  }
  double transform[6];
  std::copy(geotransform.begin(), geotransform.end(), transform);
  dataset->SetGeoTransform(transform);
  dataset->SetSpatialRef(source.ogr());

  CPLStringList options;
  options.SetNameValue("DST_SRS", target.to_wkt().c_str());
  const std::unique_ptr<void, void (*)(void*)> transformer(
      GDALCreateGenImgProjTransformer2(GDALDataset::ToHandle(dataset.get()), nullptr, options.List()),
      GDALDestroyGenImgProjTransformer);
  if (!transformer) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "the raster cannot be reprojected to the tile matrix set's CRS");
  }
  double out[6] = {};
  int pixels = 0;
  int lines = 0;
  if (GDALSuggestedWarpOutput(GDALDataset::ToHandle(dataset.get()), GDALGenImgProjTransform, transformer.get(), out,
                              &pixels, &lines) != CE_None) {
    gdal::throw_last_error(ErrorCode::kInvalidInput, "the raster's extent cannot be reprojected to the set's CRS");
  }
  return {std::max(std::abs(out[1]), std::abs(out[5])), pixels, lines};
}

}  // namespace

ZoomRange zoom_range_for_raster(const TileMatrixSet& tms, const Crs& raster_crs,
                                const std::array<double, 6>& geotransform, int width, int height) {
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("raster size {}x{} must be positive", width, height));
  }
  if (!std::all_of(geotransform.begin(), geotransform.end(), [](double v) { return std::isfinite(v); }) ||
      geotransform[1] == 0 || geotransform[5] == 0) {
    throw Error(ErrorCode::kInvalidInput, "raster geotransform must be finite with non-zero pixel sizes");
  }
  const WarpedGrid grid =
      raster_crs.same_as(tms.crs())
          ? WarpedGrid{std::max(std::abs(geotransform[1]), std::abs(geotransform[5])), width, height}
          : suggested_warp_grid(raster_crs, geotransform, width, height, tms.crs());
  // rio-tiler's (rasterio's) maximum overview level: halve until the smaller
  // side fits in one tile of the set's first matrix.
  const std::int64_t tile_size = tms.matrix(tms.min_zoom()).tile_width;
  std::int64_t factor = 1;
  while (std::min(grid.width / factor, grid.height / factor) > tile_size) {
    factor *= 2;
  }
  return {tms.zoom_for_resolution(grid.resolution * static_cast<double>(factor)),
          tms.zoom_for_resolution(grid.resolution)};
}

}  // namespace tessera
