// Geoprocessing without HTTP: the geobuf decoder on documents written here
// with protozero (files written by the geobuf package are decoded in
// tests/python/test_geoprocessing.py), the registry's definitions and
// command services, and the /geoprocessing/ routes of a Service.
#include <atomic>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <protozero/pbf_writer.hpp>

#include "tessera/geoprocessing.hpp"
#include "tessera/service.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::ErrorCode;
using tessera::GeoprocessingContext;
using tessera::GeoprocessingRegistry;
using tessera::GeoprocessingServiceInfo;
using tessera::testing::expect_error;

namespace {

// Data {keys: ["name"], feature: {geometry, values: [{string_value}], properties: [0, 0]}}.
std::string feature_geobuf(std::uint32_t type, const std::vector<std::int64_t>& coords,
                           const std::vector<std::uint32_t>& lengths, std::uint32_t property_value_index = 0) {
  std::string geometry;
  {
    protozero::pbf_writer writer(geometry);
    writer.add_enum(1, static_cast<std::int32_t>(type));
    if (!lengths.empty()) {
      writer.add_packed_uint32(2, lengths.begin(), lengths.end());
    }
    writer.add_packed_sint64(3, coords.begin(), coords.end());
  }
  std::string value;
  {
    protozero::pbf_writer writer(value);
    writer.add_string(1, "zone");
  }
  std::string feature;
  {
    protozero::pbf_writer writer(feature);
    writer.add_message(1, geometry);
    writer.add_message(13, value);
    const std::vector<std::uint32_t> properties = {0, property_value_index};
    writer.add_packed_uint32(14, properties.begin(), properties.end());
  }
  std::string data;
  protozero::pbf_writer writer(data);
  writer.add_string(1, "name");
  writer.add_message(5, feature);
  return data;
}

GeoprocessingContext quiet_context() { return GeoprocessingContext(nullptr, nullptr); }

GeoprocessingServiceInfo info(const std::string& endpoint, double timeout = 10) {
  GeoprocessingServiceInfo service;
  service.endpoint = endpoint;
  service.title = endpoint;
  service.timeout_seconds = timeout;
  return service;
}

}  // namespace

TEST(Geobuf, DecodesAPointWithProperties) {
  const json decoded = tessera::decode_geobuf(feature_geobuf(0, {15'500'000, 45'250'000}, {}));
  EXPECT_EQ(decoded["type"], "Feature");
  EXPECT_EQ(decoded["geometry"], json::parse(R"({"type": "Point", "coordinates": [15.5, 45.25]})"));
  EXPECT_EQ(decoded["properties"], json::parse(R"({"name": "zone"})"));
}

TEST(Geobuf, DecodesPolygonRingsDeltaEncodedAndClosed) {
  // One ring of three points, stored without its closing point, deltas from the previous point.
  const json decoded = tessera::decode_geobuf(feature_geobuf(4, {0, 0, 1'000'000, 0, 0, 1'000'000}, {}));
  EXPECT_EQ(decoded["geometry"]["coordinates"], json::parse("[[[0, 0], [1, 0], [1, 1], [0, 0]]]"));
}

TEST(Geobuf, RefusesMalformedDocuments) {
  expect_error([] { (void)tessera::decode_geobuf("\xff\xff\xff"); }, ErrorCode::kInvalidInput, "geobuf");
  expect_error([] { (void)tessera::decode_geobuf(""); }, ErrorCode::kInvalidInput, "no feature collection");
  // A value's integer field sent as a length-delimited one (found by fuzz_geobuf; protozero only asserts).
  expect_error(
      [] {
        (void)tessera::decode_geobuf(std::string(
            "\x0a\x04\x6e\x61\x6d\x65\x0a\x01\x6e\x0a\x01\x78\x0a\x02\x6f\x6b\x0a\x01\x6f\x10\x02\x18\x06\x22\x8a\x01"
            "\x0a\x69\x0a\x34\x08\x05\x12\x06\x02\x02\x03\x03\x01\x03\x1a\x28\x00\x00\x80\x89\x7a\x00\x00\x80\x89\x7a"
            "\x80\xb5\x18\x80\xb5\x18\xc0\xcf\x24\x00\x00\xc0\xcf\x24\x80\x92\xf4\x01\x80\x92\xf4\x01\x80\x89\x7a\x00"
            "\x00\x80\x89\x7a\x60\x0e\x6a\x03\x0a\x01\x61\x6a\x02\x20\x03\x6a\x09\x1a\x00\x00\x00\x00\x00\x00\xf8\x3f"
            "\x6a\x02\x28\x01\x6a\x0b\x32\x09\x7b\x22\x6b\x22\x3a\x5b\x31\x5d\x7d\x72\x0a\x00\x00\x01\x01\x02\x02\x03"
            "\x03\x04\x04\x0a\x1d\x0a\x1b\x08\x06\x22\x09\x1a\x07\x80\x89\x7a\x80\x92\xf4\x01\x22\x0c\x08\x02\x1a\x08"
            "\x00\x00\x80\x89\x7a\x80\x89\x7a",
            164));
      },
      ErrorCode::kInvalidInput, "wire type");
  // A property value index past the values.
  expect_error(
      [] {
        (void)tessera::decode_geobuf(feature_geobuf(0, {1, 2}, {}, 7));
      },
      ErrorCode::kInvalidInput, "out of range");
  // Ring lengths longer than the coordinates.
  expect_error(
      [] {
        (void)tessera::decode_geobuf(feature_geobuf(3, {1, 2, 3, 4}, {5, 1}));
      },
      ErrorCode::kInvalidInput, "positions");
  // A Point of two positions, and the coordinate budget.
  expect_error(
      [] {
        (void)tessera::decode_geobuf(feature_geobuf(0, {1, 2, 3, 4}, {}));
      },
      ErrorCode::kInvalidInput, "Point");
  expect_error(
      [] {
        (void)tessera::decode_geobuf(feature_geobuf(2, {1, 2, 3, 4}, {}), 3);
      },
      ErrorCode::kInvalidInput, "limit");
}

TEST(GeoprocessingRegistry, DefinitionsAreChecked) {
  GeoprocessingRegistry registry;
  expect_error([&] { registry.add_definitions(json::parse(R"([{"endpoint": "a/b", "command": ["cat"]}])")); },
               ErrorCode::kInvalidInput, "endpoint");
  expect_error([&] { registry.add_definitions(json::parse(R"([{"endpoint": "a", "command": ["cat"], "x": 1}])")); },
               ErrorCode::kInvalidInput, "services[0].x: unknown member");
  expect_error([&] { registry.add_definitions(json::parse(R"([{"endpoint": "a"}])")); }, ErrorCode::kInvalidInput,
               "either \"command\" or \"builtin\"");
  expect_error([&] { registry.add_definitions(json::parse(R"([{"endpoint": "a", "builtin": "zonal_statistics"}])")); },
               ErrorCode::kInvalidInput, "rasters");
  expect_error(
      [&] {
        registry.add_definitions(json::parse(R"([{"endpoint": "a", "command": ["cat"], "restrictedAccess": true}])"));
      },
      ErrorCode::kInvalidInput, "issAllowList");
  expect_error(
      [&] {
        registry.add_definitions(json::parse(R"([{"endpoint": "a", "command": ["cat"], "executionMode": "x"}])"));
      },
      ErrorCode::kInvalidInput, "sync, async");
  expect_error(
      [&] { registry.add_definitions(json::parse(R"([{"endpoint": "a", "command": ["cat"], "rateLimit": 1e12}])")); },
      ErrorCode::kInvalidInput, "rateLimit");
  expect_error(
      [&] {
        registry.add_definitions(json::parse(
            R"([{"endpoint": "a", "builtin": "zonal_statistics", "rasters": ["x.tif"], "categorical": "yes"}])"));
      },
      ErrorCode::kInvalidInput, "categorical");
  registry.add_definitions(json::parse(R"([{"endpoint": "echo", "command": ["cat"], "executionMode": "async"}])"));
  EXPECT_EQ(registry.info("echo").execution_mode, tessera::ExecutionMode::kAsync);
  expect_error(
      [&] { registry.add_function(info("echo"), [](const json&, const GeoprocessingContext&) { return json(); }); },
      ErrorCode::kInvalidInput, "twice");
}

TEST(GeoprocessingRegistry, CommandsTakeJsonOnStdinAndAreKilledAfterTheTimeout) {
  GeoprocessingRegistry registry;
  registry.add_command(info("echo"), {"cat"});
  registry.add_command(info("slow", 1), {"sleep", "30"});
  registry.add_command(info("fails"), {"sh", "-c", "echo broken input >&2; exit 3"});
  registry.add_command(info("silent"), {"true"});
  const json sketch = {{"type", "Feature"}, {"properties", json::object()}, {"geometry", nullptr}};
  EXPECT_EQ(registry.run("echo", sketch, quiet_context()), sketch);
  const auto started = std::chrono::steady_clock::now();
  expect_error([&] { (void)registry.run("slow", sketch, quiet_context()); }, ErrorCode::kUnavailable, "1 s");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  expect_error([&] { (void)registry.run("fails", sketch, quiet_context()); }, ErrorCode::kIo,
               "exited with status 3: broken input");
  expect_error([&] { (void)registry.run("silent", sketch, quiet_context()); }, ErrorCode::kIo, "JSON");
  expect_error([&] { (void)registry.run("nowhere", sketch, quiet_context()); }, ErrorCode::kNotFound, "nowhere");
}

TEST(GeoprocessingRoutes, RunAFunctionAndListIt) {
  tessera::testing::TempDir folder;
  auto registry = std::make_shared<GeoprocessingRegistry>();
  registry->add_function(info("area"), [](const json& sketch, const GeoprocessingContext& context) {
    context.log("measuring");
    return json{{"type", sketch["geometry"]["type"]}};
  });
  tessera::ServiceOptions options;
  options.stac = false;
  options.tiles = false;
  options.geoprocessing.registry = registry;
  options.geoprocessing.tasks_path = (folder.path() / "tasks.sqlite").string();
  const tessera::Service service(options);
  tessera::HttpRequest request;
  request.method = "POST";
  request.path = "/geoprocessing/area";
  request.headers = {{"Host", "example.test"}};
  request.body =
      R"({"geometry": {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}})";
  const tessera::HttpResponse run = service.handle(request);
  ASSERT_EQ(run.status, 200) << run.body;
  const json task = json::parse(run.body);
  EXPECT_EQ(task["status"], "completed");
  EXPECT_EQ(task["data"], json::parse(R"({"type": "Point"})"));
  request.method = "GET";
  request.path = task["location"].get<std::string>().substr(std::string("http://example.test").size()) + "/logs";
  request.body.clear();
  const json logs = json::parse(service.handle(request).body);
  ASSERT_EQ(logs["events"].size(), 1U);
  EXPECT_EQ(logs["events"][0]["message"], "measuring");
  request.path = "/geoprocessing/";
  const json project = json::parse(service.handle(request).body);
  EXPECT_EQ(project["services"][0]["endpoint"], "area");
  EXPECT_EQ(project["serviceUri"], "http://example.test/geoprocessing/");
  request.method = "POST";
  request.path = "/geoprocessing/area";
  request.body = "[]";
  EXPECT_EQ(service.handle(request).status, 400);
  // Nesting deeper than any sketch is refused before it is built.
  request.body = R"({"geometry": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  const tessera::HttpResponse deep = service.handle(request);
  EXPECT_EQ(deep.status, 400);
  EXPECT_NE(deep.body.find("nested at most 128 deep"), std::string::npos) << deep.body;
}
