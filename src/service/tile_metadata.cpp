#include "service/tile_metadata.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <libxml/xmlwriter.h>

#include "service/http_support.hpp"
#include "service/tile_links.hpp"
#include "service/tile_params.hpp"
#include "tessera/error.hpp"
#include "tessera/render.hpp"

namespace tessera::service {

using nlohmann::json;

namespace {

constexpr std::string_view kTilingSchemeRel = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
constexpr std::string_view kCrs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

// The tile matrix sets the routes take by name and list.
std::vector<TileMatrixSet> listed_sets() {
  std::vector<TileMatrixSet> sets;
  for (const std::string& name : TileMatrixSet::builtin_names()) {
    sets.push_back(TileMatrixSet::from_name(name));
  }
  return sets;
}

// The tile ranges of zoom `min`..`max` over `bounds`, as OGC API Tiles'
// tileMatrixSetLimits (a range split by the antimeridian is merged).
json tile_matrix_limits(const TileMatrixSet& tms, const Bbox& bounds, int min, int max) {
  json limits = json::array();
  for (int z = std::max(min, tms.min_zoom()); z <= std::min(max, tms.max_zoom()); ++z) {
    const std::vector<TileRange> ranges = tms.tile_ranges(bounds, z);
    if (ranges.empty()) {
      continue;
    }
    TileRange merged = ranges.front();
    for (const TileRange& range : ranges) {
      merged.min_x = std::min(merged.min_x, range.min_x);
      merged.min_y = std::min(merged.min_y, range.min_y);
      merged.max_x = std::max(merged.max_x, range.max_x);
      merged.max_y = std::max(merged.max_y, range.max_y);
    }
    limits.push_back({{"tileMatrix", tms.matrix(z).id},
                      {"minTileRow", merged.min_y},
                      {"maxTileRow", merged.max_y},
                      {"minTileCol", merged.min_x},
                      {"maxTileCol", merged.max_x}});
  }
  return limits;
}

// The source's zoom range in `tms`, clamped to the set.
std::pair<int, int> source_zooms(const TileSourceMetadata& source, const TileMatrixSet& tms) {
  auto [min, max] = source.zooms ? source.zooms(tms) : std::pair{tms.min_zoom(), tms.max_zoom()};
  return {std::clamp(min, tms.min_zoom(), tms.max_zoom()), std::clamp(max, tms.min_zoom(), tms.max_zoom())};
}

json bounding_box(const Bbox& bounds) {
  return {{"lowerLeft", {bounds.minx, bounds.miny}}, {"upperRight", {bounds.maxx, bounds.maxy}}, {"crs", kCrs84}};
}

json tiling_scheme_link(const HttpRequest& request, const TileMatrixSet& tms) {
  return {{"href", fmt::format("{}/tileMatrixSets/{}", base_url(request), query_escape(tms.id()))},
          {"rel", kTilingSchemeRel},
          {"type", "application/json"},
          {"title", fmt::format("Definition of '{}' tileMatrixSet", tms.id())}};
}

// The templated tile URL of the source in `tms`, with `query` ("" or "?...").
std::string tile_template(const TileSourceMetadata& source, const TileMatrixSet& tms, std::string_view query) {
  return fmt::format("{}/tiles/{}/{{z}}/{{x}}/{{y}}{}", source.url, query_escape(tms.id()), query);
}

// `pairs` as a query string without the leading '?'.
std::string encode_query(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string query;
  for (const auto& [name, value] : pairs) {
    query += fmt::format("{}{}={}", query.empty() ? "" : "&", query_escape(name), query_escape(value));
  }
  return query;
}

// --- WMTS --------------------------------------------------------------------

// One WMTS layer: a tile matrix set and the tile parameters of a render.
struct WmtsLayer {
  std::string identifier;
  const TileMatrixSet* tms = nullptr;
  std::string query;  // without '?'
  std::pair<int, int> zooms;
};

// zooms=<tms>::<min>,<max> (repeatable; "*" for every set), TiTiler's
// override of the layers' zoom ranges.
std::map<std::string, std::pair<int, int>> zoom_overrides(const HttpRequest& request) {
  std::map<std::string, std::pair<int, int>> overrides;
  for (const auto& [name, value] : request.query) {
    if (name != "zooms") {
      continue;
    }
    const std::size_t separator = value.find("::");
    const std::size_t comma = value.find(',', separator == std::string::npos ? 0 : separator);
    if (separator == std::string::npos || separator == 0 || comma == std::string::npos) {
      throw BadParameter("zooms", fmt::format("zooms: '{}' is not <tileMatrixSetId>::<minzoom>,<maxzoom>",
                                              value.substr(0, std::min<std::size_t>(value.size(), 64))));
    }
    const int min = integer_of(std::string_view(value).substr(separator + 2, comma - separator - 2), "zooms");
    const int max = integer_of(std::string_view(value).substr(comma + 1), "zooms");
    if (min > max) {
      throw BadParameter("zooms", fmt::format("zooms: minzoom {} is above maxzoom {}", min, max));
    }
    overrides[value.substr(0, separator)] = {min, max};
  }
  return overrides;
}

bool boolean_param(const HttpRequest& request, std::string_view name) {
  const std::string* value = param(request, name);
  if (value == nullptr) {
    return false;
  }
  if (*value == "true" || *value == "1" || *value == "yes") {
    return true;
  }
  if (*value == "false" || *value == "0" || *value == "no") {
    return false;
  }
  throw BadParameter(std::string(name), fmt::format("{}: '{}' is not a boolean", name, *value));
}

// "EPSG:<code>" for a CRS URI of the EPSG register (ArcMap reads only that
// form), else the URI.
std::string epsg_form(const std::string& crs_uri) {
  constexpr std::string_view kEpsgUri = "http://www.opengis.net/def/crs/EPSG/0/";
  return crs_uri.starts_with(kEpsgUri) ? "EPSG:" + crs_uri.substr(kEpsgUri.size()) : crs_uri;
}

std::string crs_uri_of(const TileMatrixSet& tms) {
  const json crs = tms.to_json()["crs"];
  if (crs.is_string()) {
    return crs.get<std::string>();
  }
  return crs.is_object() && crs.contains("uri") && crs["uri"].is_string() ? crs["uri"].get<std::string>()
                                                                          : tms.crs().to_wkt();
}

// libxml2's text writer, freed on every path; a failed write is an Internal error.
class XmlWriter {
 public:
  XmlWriter() : buffer_(xmlBufferCreate(), xmlBufferFree) {
    if (buffer_ == nullptr) {
      throw Error(ErrorCode::kInternal, "WMTS: cannot allocate the XML buffer");
    }
    writer_.reset(xmlNewTextWriterMemory(buffer_.get(), 0));
    if (writer_ == nullptr) {
      throw Error(ErrorCode::kInternal, "WMTS: cannot create the XML writer");
    }
    check(xmlTextWriterSetIndent(writer_.get(), 1));
    check(xmlTextWriterStartDocument(writer_.get(), "1.0", "UTF-8", nullptr));
  }

  void start(const char* name) { check(xmlTextWriterStartElement(writer_.get(), as_xml(name))); }
  void end() { check(xmlTextWriterEndElement(writer_.get())); }
  void attribute(const char* name, std::string_view value) {
    const std::string text(value);
    check(xmlTextWriterWriteAttribute(writer_.get(), as_xml(name), as_xml(text.c_str())));
  }
  void element(const char* name, std::string_view text) {
    const std::string value(text);
    check(xmlTextWriterWriteElement(writer_.get(), as_xml(name), as_xml(value.c_str())));
  }

  std::string finish() {
    check(xmlTextWriterEndDocument(writer_.get()));
    writer_.reset();  // flushes into the buffer
    return {reinterpret_cast<const char*>(xmlBufferContent(buffer_.get())),
            static_cast<std::size_t>(xmlBufferLength(buffer_.get()))};
  }

 private:
  struct WriterFree {
    void operator()(xmlTextWriterPtr writer) const { xmlFreeTextWriter(writer); }
  };
  static const xmlChar* as_xml(const char* text) { return reinterpret_cast<const xmlChar*>(text); }
  static void check(int result) {
    if (result < 0) {
      throw Error(ErrorCode::kInternal, "WMTS: writing the capabilities document failed");
    }
  }

  std::unique_ptr<xmlBuffer, void (*)(xmlBufferPtr)> buffer_;
  std::unique_ptr<xmlTextWriter, WriterFree> writer_;
};

void write_get_operation(XmlWriter& xml, const char* name, const std::string& url) {
  xml.start("ows:Operation");
  xml.attribute("name", name);
  xml.start("ows:DCP");
  xml.start("ows:HTTP");
  xml.start("ows:Get");
  xml.attribute("xlink:href", url);
  xml.start("ows:Constraint");
  xml.attribute("name", "GetEncoding");
  xml.start("ows:AllowedValues");
  xml.element("ows:Value", "RESTful");
  xml.end();
  xml.end();
  xml.end();
  xml.end();
  xml.end();
  xml.end();
}

void write_layer(XmlWriter& xml, const WmtsLayer& layer, const TileSourceMetadata& source, std::string_view format,
                 std::string_view media_type) {
  xml.start("Layer");
  xml.element("ows:Title", layer.identifier);
  xml.element("ows:Identifier", layer.identifier);
  xml.start("ows:WGS84BoundingBox");
  xml.attribute("crs", "urn:ogc:def:crs:OGC:2:84");
  xml.element("ows:LowerCorner", fmt::format("{} {}", source.bounds.minx, source.bounds.miny));
  xml.element("ows:UpperCorner", fmt::format("{} {}", source.bounds.maxx, source.bounds.maxy));
  xml.end();
  xml.start("Style");
  xml.attribute("isDefault", "true");
  xml.element("ows:Title", "default");
  xml.element("ows:Identifier", "default");
  xml.end();
  xml.element("Format", media_type);
  xml.start("TileMatrixSetLink");
  xml.element("TileMatrixSet", layer.tms->id());
  xml.start("TileMatrixSetLimits");
  for (const json& limit : tile_matrix_limits(*layer.tms, source.bounds, layer.zooms.first, layer.zooms.second)) {
    xml.start("TileMatrixLimits");
    xml.element("TileMatrix", limit["tileMatrix"].get<std::string>());
    static constexpr std::pair<const char*, const char*> kLimits[] = {{"MinTileRow", "minTileRow"},
                                                                      {"MaxTileRow", "maxTileRow"},
                                                                      {"MinTileCol", "minTileCol"},
                                                                      {"MaxTileCol", "maxTileCol"}};
    for (const auto& [element, member] : kLimits) {
      xml.element(element, std::to_string(limit[member].get<std::int64_t>()));
    }
    xml.end();
  }
  xml.end();
  xml.end();
  xml.start("ResourceURL");
  xml.attribute("format", media_type);
  xml.attribute("resourceType", "tile");
  xml.attribute("template",
                fmt::format("{}/tiles/{}/{{TileMatrix}}/{{TileCol}}/{{TileRow}}.{}{}{}", source.url,
                            query_escape(layer.tms->id()), format, layer.query.empty() ? "" : "?", layer.query));
  xml.end();
  xml.end();
}

void write_tile_matrix_set(XmlWriter& xml, const TileMatrixSet& tms, bool use_epsg) {
  const json document = tms.to_json();
  const std::string crs = crs_uri_of(tms);
  xml.start("TileMatrixSet");
  xml.element("ows:Identifier", tms.id());
  xml.element("ows:SupportedCRS", use_epsg ? epsg_form(crs) : crs);
  for (const json& matrix : document["tileMatrices"]) {
    xml.start("TileMatrix");
    xml.element("ows:Identifier", matrix["id"].get<std::string>());
    xml.element("ScaleDenominator", fmt::format("{}", matrix["scaleDenominator"].get<double>()));
    xml.element("TopLeftCorner", fmt::format("{} {}", matrix["pointOfOrigin"][0].get<double>(),
                                             matrix["pointOfOrigin"][1].get<double>()));
    xml.element("TileWidth", std::to_string(matrix["tileWidth"].get<int>()));
    xml.element("TileHeight", std::to_string(matrix["tileHeight"].get<int>()));
    xml.element("MatrixWidth", std::to_string(matrix["matrixWidth"].get<std::int64_t>()));
    xml.element("MatrixHeight", std::to_string(matrix["matrixHeight"].get<std::int64_t>()));
    xml.end();
  }
  xml.end();
}

// The parameters WMTS itself takes (and OGC KVP names a client may add),
// which are not the layer's tile parameters.
bool is_wmts_parameter(std::string_view name) {
  static constexpr std::string_view kNames[] = {"tile_format",    "use_epsg",     "tilesize",       "zooms",
                                                "service",        "request",      "acceptversions", "sections",
                                                "updatesequence", "acceptformats"};
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [&](std::string_view known) { return equals_ignoring_case(known, name); });
}

}  // namespace

json tile_matrix_set_list(const HttpRequest& request) {
  json sets = json::array();
  for (const TileMatrixSet& tms : listed_sets()) {
    const json document = tms.to_json();
    json entry = {{"id", tms.id()}, {"links", {tiling_scheme_link(request, tms)}}};
    for (const char* member : {"title", "uri", "crs"}) {
      if (document.contains(member)) {
        entry[member] = document[member];
      }
    }
    sets.push_back(std::move(entry));
  }
  return {{"tileMatrixSets", std::move(sets)}};
}

json tile_matrix_set_document(std::string_view id) {
  const std::vector<std::string> names = TileMatrixSet::builtin_names();
  if (std::find(names.begin(), names.end(), id) == names.end() && !id.starts_with("EPSG:")) {
    throw HttpError(404, "NotFound",
                    fmt::format("no tile matrix set '{}' (listed: {}; any EPSG:<code> is accepted too)",
                                id.substr(0, std::min<std::size_t>(id.size(), 64)), fmt::join(names, ", ")));
  }
  return tms_of(id).to_json();
}

json tileset_list(const HttpRequest& request, const TileSourceMetadata& source) {
  const std::string query = query_string_of(request);
  json tilesets = json::array();
  for (const TileMatrixSet& tms : listed_sets()) {
    tilesets.push_back({{"title", fmt::format("tileset tiled using {} TileMatrixSet", tms.id())},
                        {"dataType", "map"},
                        {"crs", tms.to_json()["crs"]},
                        {"boundingBox", bounding_box(source.bounds)},
                        {"links",
                         {{{"href", fmt::format("{}/tiles/{}{}", source.url, query_escape(tms.id()), query)},
                           {"rel", "self"},
                           {"type", "application/json"},
                           {"title", fmt::format("Tileset tiled using {} TileMatrixSet", tms.id())}},
                          {{"href", tile_template(source, tms, query)},
                           {"rel", "item"},
                           {"title", "Templated link for retrieving Raster tiles"},
                           {"templated", true}},
                          tiling_scheme_link(request, tms)}}});
  }
  return {{"tilesets", std::move(tilesets)}};
}

json tileset(const HttpRequest& request, const TileSourceMetadata& source, const TileMatrixSet& tms) {
  auto [min, max] = source_zooms(source, tms);
  if (const std::string* value = param(request, "minzoom")) {
    min = integer_of(*value, "minzoom");
  }
  if (const std::string* value = param(request, "maxzoom")) {
    max = integer_of(*value, "maxzoom");
  }
  if (min < tms.min_zoom() || max > tms.max_zoom() || min > max) {
    throw BadParameter("minzoom", fmt::format("minzoom {}, maxzoom {}: not a range of {} (zoom {} to {})", min, max,
                                              tms.id(), tms.min_zoom(), tms.max_zoom()));
  }
  const std::string query = query_string_of(request, {"minzoom", "maxzoom"});
  return {{"title", fmt::format("tileset tiled using {} TileMatrixSet", tms.id())},
          {"dataType", "map"},
          {"crs", tms.to_json()["crs"]},
          {"boundingBox", bounding_box(source.bounds)},
          {"links",
           {{{"href", fmt::format("{}/tiles/{}{}", source.url, query_escape(tms.id()), query_string_of(request))},
             {"rel", "self"},
             {"type", "application/json"},
             {"title", fmt::format("Tileset tiled using {} TileMatrixSet", tms.id())}},
            {{"href", tile_template(source, tms, query)},
             {"rel", "item"},
             {"title", "Templated link for retrieving Raster tiles"},
             {"templated", true}},
            tiling_scheme_link(request, tms)}},
          {"tileMatrixSetLimits", tile_matrix_limits(tms, source.bounds, min, max)}};
}

std::string wmts_capabilities(const HttpRequest& request, const TileSourceMetadata& source) {
  const std::string* format_param = param(request, "tile_format");
  const std::string format = format_param != nullptr ? *format_param : "png";
  std::string media_type;
  try {
    media_type = render_media_type(format);
  } catch (const Error& error) {
    throw BadParameter("tile_format", fmt::format("tile_format: {}", error.what()));
  }
  const bool use_epsg = boolean_param(request, "use_epsg");
  const auto overrides = zoom_overrides(request);
  const std::vector<TileMatrixSet> sets = listed_sets();

  // The zoom range of a layer: zooms=, else the render's minmax_zoom (in
  // WebMercatorQuad, as the render extension defines it), else the source's.
  const auto layer_zooms = [&](const TileMatrixSet& tms, const json* render) {
    for (const std::string& key : {tms.id(), std::string("*")}) {
      if (const auto found = overrides.find(key); found != overrides.end()) {
        return found->second;
      }
    }
    if (render != nullptr && tms.id() == "WebMercatorQuad" && render->contains("minmax_zoom")) {
      const json& range = (*render)["minmax_zoom"];
      if (range.is_array() && range.size() == 2 && range[0].is_number_integer() && range[1].is_number_integer()) {
        return std::pair{range[0].get<int>(), range[1].get<int>()};
      }
    }
    return source_zooms(source, tms);
  };

  std::vector<WmtsLayer> layers;
  if (source.renders.is_object()) {
    for (const auto& [name, render] : source.renders.items()) {
      std::vector<std::pair<std::string, std::string>> parameters;
      for (auto& parameter : render_parameters(render)) {
        if (parameter.first != "minzoom" && parameter.first != "maxzoom") {
          parameters.push_back(std::move(parameter));
        }
      }
      for (const TileMatrixSet& tms : sets) {
        layers.push_back({fmt::format("{}_{}_{}", source.title, tms.id(), name), &tms, encode_query(parameters),
                          layer_zooms(tms, &render)});
      }
    }
  }
  if (source.request_draws) {
    std::vector<std::pair<std::string, std::string>> parameters;
    for (const auto& [name, value] : request.query) {
      if (!is_wmts_parameter(name)) {
        parameters.emplace_back(name, value);
      }
    }
    for (const TileMatrixSet& tms : sets) {
      layers.push_back({fmt::format("{}_{}_default", source.title, tms.id()), &tms, encode_query(parameters),
                        layer_zooms(tms, nullptr)});
    }
  }
  if (layers.empty()) {
    throw BadParameter("assets",
                       "no WMTS layer can be drawn: the source has no renders and the request names no assets or "
                       "expression");
  }

  const std::string self = fmt::format("{}/WMTSCapabilities.xml{}", source.url, query_string_of(request));
  XmlWriter xml;
  xml.start("Capabilities");
  xml.attribute("xmlns", "http://www.opengis.net/wmts/1.0");
  xml.attribute("xmlns:ows", "http://www.opengis.net/ows/1.1");
  xml.attribute("xmlns:xlink", "http://www.w3.org/1999/xlink");
  xml.attribute("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
  xml.attribute("xmlns:gml", "http://www.opengis.net/gml");
  xml.attribute("xsi:schemaLocation",
                "http://www.opengis.net/wmts/1.0 http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd");
  xml.attribute("version", "1.0.0");
  xml.start("ows:ServiceIdentification");
  xml.element("ows:Title", fmt::format("Web Map Tile Service by tessera: {}", source.title));
  xml.element("ows:ServiceType", "OGC WMTS");
  xml.element("ows:ServiceTypeVersion", "1.0.0");
  xml.end();
  xml.start("ows:OperationsMetadata");
  write_get_operation(xml, "GetCapabilities", self);
  write_get_operation(xml, "GetTile", self);
  xml.end();
  xml.start("Contents");
  for (const WmtsLayer& layer : layers) {
    write_layer(xml, layer, source, format, media_type);
  }
  for (const TileMatrixSet& tms : sets) {
    write_tile_matrix_set(xml, tms, use_epsg);
  }
  xml.end();
  xml.start("ServiceMetadataURL");
  xml.attribute("xlink:href", self);
  xml.end();
  xml.end();
  return xml.finish();
}

}  // namespace tessera::service
