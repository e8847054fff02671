// Geobuf (mapbox/geobuf's geobuf.proto, version 1) to GeoJSON, read with
// protozero. Every index and length from the document is checked against what
// it points into before it is used; coordinates are counted against a budget.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <protozero/pbf_reader.hpp>

#include "service/bounded_json.hpp"
#include "tessera/error.hpp"
#include "tessera/geoprocessing.hpp"

namespace tessera {

namespace {

using nlohmann::json;

// Field numbers of geobuf.proto.
namespace data_field {
constexpr std::uint32_t kKeys = 1, kDimensions = 2, kPrecision = 3, kFeatureCollection = 4, kFeature = 5, kGeometry = 6;
}
namespace feature_field {
constexpr std::uint32_t kGeometry = 1, kId = 11, kIntId = 12, kValues = 13, kProperties = 14, kCustomProperties = 15;
}
namespace geometry_field {
constexpr std::uint32_t kType = 1, kLengths = 2, kCoords = 3, kGeometries = 4, kValues = 13, kCustomProperties = 15;
}
namespace collection_field {
constexpr std::uint32_t kFeatures = 1, kValues = 13, kCustomProperties = 15;
}
namespace value_field {
constexpr std::uint32_t kString = 1, kDouble = 2, kPosInt = 3, kNegInt = 4, kBool = 5, kJson = 6;
}

constexpr const char* kGeometryTypes[] = {"Point",   "MultiPoint",   "LineString",        "MultiLineString",
                                          "Polygon", "MultiPolygon", "GeometryCollection"};
constexpr int kMaxDepth = 16;  // nested GeometryCollections
constexpr std::uint32_t kMaxDimensions = 4;
constexpr std::uint32_t kMaxPrecision = 12;

std::string_view view_of(protozero::data_view view) { return {view.data(), view.size()}; }

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorCode::kInvalidInput, fmt::format("geobuf: {}", what));
}

// protozero only asserts a field's wire type (in debug builds) and reads
// past it otherwise: a field of another type than its tag's is refused.
protozero::pbf_reader& typed(protozero::pbf_reader& message, protozero::pbf_wire_type type) {
  if (message.wire_type() != type) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("geobuf: field {} has wire type {}, expected {}", message.tag(),
                                                      static_cast<int>(message.wire_type()), static_cast<int>(type)));
  }
  return message;
}

class Decoder {
 public:
  Decoder(std::string_view bytes, std::size_t max_coordinates) : budget_(max_coordinates) {
    protozero::pbf_reader data(bytes.data(), bytes.size());
    bool has_body = false;
    while (data.next()) {
      switch (data.tag()) {
        case data_field::kKeys:
          keys_.emplace_back(view_of(typed(data, protozero::pbf_wire_type::length_delimited).get_view()));
          break;
        case data_field::kDimensions:
          dimensions_ = typed(data, protozero::pbf_wire_type::varint).get_uint32();
          break;
        case data_field::kPrecision:
          precision_ = typed(data, protozero::pbf_wire_type::varint).get_uint32();
          break;
        case data_field::kFeatureCollection:
        case data_field::kFeature:
        case data_field::kGeometry:
          body_tag_ = data.tag();
          body_ = view_of(typed(data, protozero::pbf_wire_type::length_delimited).get_view());
          has_body = true;
          break;
        default:
          data.skip();
      }
    }
    if (!has_body) {
      malformed("no feature collection, feature or geometry");
    }
    if (dimensions_ < 1 || dimensions_ > kMaxDimensions) {
      malformed(fmt::format("dimensions {} (1 to {} accepted)", dimensions_, kMaxDimensions));
    }
    if (precision_ > kMaxPrecision) {
      malformed(fmt::format("precision {} (at most {} accepted)", precision_, kMaxPrecision));
    }
    scale_ = std::pow(10.0, precision_);
  }

  json decode() {
    protozero::pbf_reader body(body_.data(), body_.size());
    switch (body_tag_) {
      case data_field::kFeatureCollection:
        return collection(body);
      case data_field::kFeature:
        return feature(body, "feature");
      default:
        return geometry(body, "geometry", 0);
    }
  }

 private:
  static json value(protozero::pbf_reader message, const std::string& where) {
    json result;
    bool set = false;
    while (message.next()) {
      set = true;
      switch (message.tag()) {
        case value_field::kString:
          result = std::string(view_of(typed(message, protozero::pbf_wire_type::length_delimited).get_view()));
          break;
        case value_field::kDouble:
          result = typed(message, protozero::pbf_wire_type::fixed64).get_double();
          break;
        case value_field::kPosInt:
          result = typed(message, protozero::pbf_wire_type::varint).get_uint64();
          break;
        case value_field::kNegInt: {
          const std::uint64_t magnitude = typed(message, protozero::pbf_wire_type::varint).get_uint64();
          if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) {
            malformed(fmt::format("{}: negative integer out of range", where));
          }
          result = -static_cast<std::int64_t>(magnitude);
          break;
        }
        case value_field::kBool:
          result = typed(message, protozero::pbf_wire_type::varint).get_bool();
          break;
        case value_field::kJson: {
          const std::string_view text = view_of(typed(message, protozero::pbf_wire_type::length_delimited).get_view());
          result = service::parse_bounded_json(text);
          if (result.is_discarded()) {
            malformed(fmt::format("{}: json_value is not JSON nested at most {} deep", where, service::kMaxJsonDepth));
          }
          break;
        }
        default:
          message.skip();
          set = false;
      }
    }
    if (!set) {
      return nullptr;
    }
    return result;
  }

  // `pairs` of (key index, value index) into keys_ and `values`, set on `target`.
  void set_pairs(const std::vector<std::uint32_t>& pairs, const std::vector<json>& values, json& target,
                 const std::string& where) const {
    if (pairs.size() % 2 != 0) {
      malformed(fmt::format("{}: an odd number of property indexes", where));
    }
    for (std::size_t i = 0; i < pairs.size(); i += 2) {
      if (pairs[i] >= keys_.size() || pairs[i + 1] >= values.size()) {
        malformed(fmt::format("{}: property index {} out of range", where, i / 2));
      }
      target[keys_[pairs[i]]] = values[pairs[i + 1]];
    }
  }

  static void read_packed(protozero::pbf_reader& message, std::vector<std::uint32_t>& into) {
    for (const std::uint32_t index : typed(message, protozero::pbf_wire_type::length_delimited).get_packed_uint32()) {
      into.push_back(index);
    }
  }

  json collection(protozero::pbf_reader message) {
    json result = {{"type", "FeatureCollection"}, {"features", json::array()}};
    std::vector<json> values;
    std::vector<std::uint32_t> custom;
    while (message.next()) {
      switch (message.tag()) {
        case collection_field::kFeatures:
          result["features"].push_back(feature(typed(message, protozero::pbf_wire_type::length_delimited).get_message(),
                                               fmt::format("features[{}]", result["features"].size())));
          break;
        case collection_field::kValues:
          values.push_back(
              value(typed(message, protozero::pbf_wire_type::length_delimited).get_message(), "feature collection"));
          break;
        case collection_field::kCustomProperties:
          read_packed(message, custom);
          break;
        default:
          message.skip();
      }
    }
    set_pairs(custom, values, result, "feature collection");
    return result;
  }

  json feature(protozero::pbf_reader message, const std::string& where) {
    json result = {{"type", "Feature"}, {"geometry", nullptr}, {"properties", json::object()}};
    std::vector<json> values;
    std::vector<std::uint32_t> properties;
    std::vector<std::uint32_t> custom;
    while (message.next()) {
      switch (message.tag()) {
        case feature_field::kGeometry:
          result["geometry"] = geometry(typed(message, protozero::pbf_wire_type::length_delimited).get_message(),
                                        where + ".geometry", 0);
          break;
        case feature_field::kId:
          result["id"] = std::string(view_of(typed(message, protozero::pbf_wire_type::length_delimited).get_view()));
          break;
        case feature_field::kIntId:
          result["id"] = typed(message, protozero::pbf_wire_type::varint).get_sint64();
          break;
        case feature_field::kValues:
          values.push_back(value(typed(message, protozero::pbf_wire_type::length_delimited).get_message(), where));
          break;
        case feature_field::kProperties:
          read_packed(message, properties);
          break;
        case feature_field::kCustomProperties:
          read_packed(message, custom);
          break;
        default:
          message.skip();
      }
    }
    set_pairs(properties, values, result["properties"], where + ".properties");
    set_pairs(custom, values, result, where);
    return result;
  }

  // Points of `coords[from, from + count * dims)`, delta-decoded when `delta`.
  json points(const std::vector<std::int64_t>& coords, std::size_t from, std::size_t count, bool delta,
              bool close) const {
    json line = json::array();
    std::vector<std::int64_t> previous(dimensions_, 0);
    for (std::size_t n = 0; n < count; ++n) {
      json point = json::array();
      for (std::uint32_t d = 0; d < dimensions_; ++d) {
        const std::int64_t raw = coords[from + n * dimensions_ + d];
        previous[d] = delta ? previous[d] + raw : raw;
        point.push_back(static_cast<double>(previous[d]) / scale_);
      }
      line.push_back(std::move(point));
    }
    if (close && !line.empty()) {
      line.push_back(line.front());
    }
    return line;
  }

  json geometry(protozero::pbf_reader message, const std::string& where, int depth) {
    if (depth > kMaxDepth) {
      malformed(fmt::format("{}: geometry collections nested deeper than {}", where, kMaxDepth));
    }
    std::uint32_t type = 0;
    std::vector<std::uint32_t> lengths;
    std::vector<std::int64_t> coords;
    json geometries = json::array();
    std::vector<json> values;
    std::vector<std::uint32_t> custom;
    while (message.next()) {
      switch (message.tag()) {
        case geometry_field::kType:
          type = typed(message, protozero::pbf_wire_type::varint).get_enum();
          break;
        case geometry_field::kLengths:
          read_packed(message, lengths);
          break;
        case geometry_field::kCoords:
          for (const std::int64_t coordinate :
               typed(message, protozero::pbf_wire_type::length_delimited).get_packed_sint64()) {
            if (budget_ == 0) {
              malformed("more coordinates than the limit");
            }
            --budget_;
            coords.push_back(coordinate);
          }
          break;
        case geometry_field::kGeometries:
          geometries.push_back(geometry(typed(message, protozero::pbf_wire_type::length_delimited).get_message(),
                                        fmt::format("{}.geometries[{}]", where, geometries.size()), depth + 1));
          break;
        case geometry_field::kValues:
          values.push_back(value(typed(message, protozero::pbf_wire_type::length_delimited).get_message(), where));
          break;
        case geometry_field::kCustomProperties:
          read_packed(message, custom);
          break;
        default:
          message.skip();
      }
    }
    if (type >= std::size(kGeometryTypes)) {
      malformed(fmt::format("{}: unknown geometry type {}", where, type));
    }
    if (coords.size() % dimensions_ != 0) {
      malformed(fmt::format("{}: {} coordinate values are not a whole number of {}-dimensional points", where,
                            coords.size(), dimensions_));
    }
    const std::size_t point_count = coords.size() / dimensions_;
    json result = {{"type", kGeometryTypes[type]}};
    switch (type) {
      case 0:  // Point
        if (point_count != 1) {
          malformed(fmt::format("{}: a Point with {} positions", where, point_count));
        }
        result["coordinates"] = points(coords, 0, 1, false, false).front();
        break;
      case 1:  // MultiPoint
      case 2:  // LineString
        result["coordinates"] = points(coords, 0, point_count, true, false);
        break;
      case 3:  // MultiLineString
      case 4:  // Polygon
        result["coordinates"] = lines(coords, lengths, type == 4, where);
        break;
      case 5:  // MultiPolygon
        result["coordinates"] = polygons(coords, lengths, where);
        break;
      default:
        result["geometries"] = std::move(geometries);
    }
    set_pairs(custom, values, result, where);
    return result;
  }

  // Consecutive lines of `lengths[first, first + count)` points from coords
  // at `offset` (advanced past them).
  json line_run(const std::vector<std::int64_t>& coords, const std::vector<std::uint32_t>& lengths, std::size_t first,
                std::size_t count, std::size_t& offset, bool closed, const std::string& where) const {
    json result = json::array();
    for (std::size_t i = first; i < first + count; ++i) {
      const std::size_t available = (coords.size() - offset) / dimensions_;
      if (lengths[i] > available) {
        malformed(fmt::format("{}: a part of {} positions where {} remain", where, lengths[i], available));
      }
      result.push_back(points(coords, offset, lengths[i], true, closed));
      offset += static_cast<std::size_t>(lengths[i]) * dimensions_;
    }
    return result;
  }

  json lines(const std::vector<std::int64_t>& coords, const std::vector<std::uint32_t>& lengths, bool closed,
             const std::string& where) const {
    if (lengths.empty()) {
      return json::array({points(coords, 0, coords.size() / dimensions_, true, closed)});
    }
    std::size_t offset = 0;
    return line_run(coords, lengths, 0, lengths.size(), offset, closed, where);
  }

  json polygons(const std::vector<std::int64_t>& coords, const std::vector<std::uint32_t>& lengths,
                const std::string& where) const {
    if (lengths.empty()) {
      return json::array({json::array({points(coords, 0, coords.size() / dimensions_, true, true)})});
    }
    json result = json::array();
    std::size_t offset = 0;
    std::size_t next = 1;
    for (std::uint32_t polygon = 0; polygon < lengths[0]; ++polygon) {
      if (next >= lengths.size()) {
        malformed(fmt::format("{}: lengths end before polygon {}", where, polygon));
      }
      const std::uint32_t rings = lengths[next++];
      if (rings > lengths.size() - next) {
        malformed(fmt::format("{}: polygon {} has {} rings where {} lengths remain", where, polygon, rings,
                              lengths.size() - next));
      }
      result.push_back(line_run(coords, lengths, next, rings, offset, true, where));
      next += rings;
    }
    return result;
  }

  std::vector<std::string> keys_;
  std::uint32_t dimensions_ = 2;
  std::uint32_t precision_ = 6;
  double scale_ = 1e6;
  std::uint32_t body_tag_ = 0;
  std::string_view body_;
  std::size_t budget_;
};

}  // namespace

json decode_geobuf(std::string_view bytes, std::size_t max_coordinates) {
  try {
    json result = Decoder(bytes, max_coordinates).decode();
    // Strings are bytes in a protocol buffer: refuse any that are not UTF-8
    // here, not when the sketch is written out later.
    (void)result.dump();
    return result;
  } catch (const json::type_error&) {
    throw Error(ErrorCode::kInvalidInput, "geobuf: a string is not UTF-8");
  } catch (const protozero::exception& error) {
    throw Error(ErrorCode::kInvalidInput, fmt::format("geobuf: not a valid protocol buffer: {}", error.what()));
  }
}

}  // namespace tessera
