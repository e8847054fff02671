// Geoprocessing through the C ABI: a registry made from service definitions
// (JSON), one run with JSON in and out, and a Service serving the
// definitions under /geoprocessing/.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <tessera/tessera.h>
#include "test_support.hpp"

using nlohmann::json;

namespace {

// Takes a string handed out by the C ABI and frees it.
std::string take(char* text) {
  std::string copy = text != nullptr ? text : "";
  tsr_free(text);
  return copy;
}

std::string last_error() { return tsr_last_error_message() != nullptr ? tsr_last_error_message() : ""; }

constexpr const char* kDefinitions = R"([
  {"endpoint": "echo", "title": "Echo", "command": ["cat"], "usesAttributes": ["name"]},
  {"endpoint": "fails", "command": ["sh", "-c", "echo no sketch for me >&2; exit 2"]}
])";
constexpr const char* kSketch =
    R"({"type": "Feature", "properties": {"name": "zone"}, "geometry": {"type": "Point", "coordinates": [1, 2]}})";

}  // namespace

TEST(CApiGeoprocessing, RegistryFromDefinitionsRunsAService) {
  tsr_geoprocessing registry = nullptr;
  ASSERT_EQ(tsr_geoprocessing_new(kDefinitions, nullptr, &registry), TSR_OK) << last_error();

  char* out = nullptr;
  ASSERT_EQ(tsr_geoprocessing_services(registry, &out), TSR_OK) << last_error();
  const json services = json::parse(take(out));
  ASSERT_EQ(services.size(), 2U);
  EXPECT_EQ(services[0]["endpoint"], "echo");
  EXPECT_EQ(services[0]["usesAttributes"], json::array({"name"}));
  EXPECT_EQ(services[1]["title"], "fails");  // the endpoint when no title is given

  ASSERT_EQ(tsr_geoprocessing_run(registry, "echo", kSketch, &out), TSR_OK) << last_error();
  const json result = json::parse(take(out));
  EXPECT_EQ(result["data"], json::parse(kSketch));
  EXPECT_EQ(result["log"], json::array());

  // The service's failure is the status, its last stderr line in the message.
  EXPECT_EQ(tsr_geoprocessing_run(registry, "fails", kSketch, &out), TSR_IO);
  EXPECT_NE(last_error().find("no sketch for me"), std::string::npos) << last_error();
  EXPECT_EQ(tsr_geoprocessing_run(registry, "nowhere", kSketch, &out), TSR_NOT_FOUND);
  EXPECT_EQ(tsr_geoprocessing_run(registry, "echo", "{not json", &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_geoprocessing_run(registry, nullptr, kSketch, &out), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_geoprocessing_run(registry, "echo", kSketch, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_geoprocessing_run(nullptr, "echo", kSketch, &out), TSR_INVALID_INPUT);
  tsr_geoprocessing_destroy(&registry);
  EXPECT_EQ(registry, nullptr);
  tsr_geoprocessing_destroy(&registry);
  tsr_geoprocessing_destroy(nullptr);
}

TEST(CApiGeoprocessing, DefinitionsAreChecked) {
  tsr_geoprocessing registry = nullptr;
  EXPECT_EQ(tsr_geoprocessing_new(R"([{"endpoint": "a b", "command": ["cat"]}])", nullptr, &registry),
            TSR_INVALID_INPUT);
  EXPECT_NE(last_error().find("endpoint"), std::string::npos) << last_error();
  EXPECT_EQ(tsr_geoprocessing_new(R"([{"endpoint": "z", "builtin": "zonal_statistics"}])", nullptr, &registry),
            TSR_INVALID_INPUT);
  EXPECT_NE(last_error().find("rasters"), std::string::npos) << last_error();
  EXPECT_EQ(tsr_geoprocessing_new(R"({"endpoint": "a"})", nullptr, &registry), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_geoprocessing_new(nullptr, nullptr, &registry), TSR_INVALID_INPUT);
  EXPECT_EQ(tsr_geoprocessing_new("[]", nullptr, nullptr), TSR_INVALID_INPUT);
  EXPECT_EQ(registry, nullptr);
}

TEST(CApiGeoprocessing, AServiceServesTheDefinitions) {
  tessera::testing::TempDir folder;
  const json options = {
      {"stac", false},
      {"tiles", false},
      {"geoprocessing",
       {{"services", json::parse(kDefinitions)}, {"tasks_path", (folder.path() / "tasks.sqlite").string()}}}};
  tsr_service service = nullptr;
  ASSERT_EQ(tsr_service_new(nullptr, options.dump().c_str(), &service), TSR_OK) << last_error();
  const std::string body = json{{"geometry", json::parse(kSketch)}}.dump();
  char* head = nullptr;
  void* answer = nullptr;
  size_t size = 0;
  ASSERT_EQ(tsr_service_handle(service, R"({"method": "POST", "path": "/geoprocessing/echo"})", body.data(),
                               body.size(), &head, &answer, &size),
            TSR_OK)
      << last_error();
  EXPECT_EQ(json::parse(take(head))["status"], 200);
  const json task = json::parse(std::string(static_cast<const char*>(answer), size));
  tsr_free(answer);
  EXPECT_EQ(task["status"], "completed");
  EXPECT_EQ(task["data"]["properties"], json::parse(R"({"name": "zone"})"));
  tsr_service_destroy(&service);

  // The geoprocessing options are checked like the others.
  json wrong = options;
  wrong["geoprocessing"]["workers"] = 2;
  EXPECT_EQ(tsr_service_new(nullptr, wrong.dump().c_str(), &service), TSR_INVALID_INPUT);
  EXPECT_NE(last_error().find("'workers'"), std::string::npos) << last_error();
  wrong = options;
  wrong["geoprocessing"].erase("services");
  EXPECT_EQ(tsr_service_new(nullptr, wrong.dump().c_str(), &service), TSR_INVALID_INPUT);
  EXPECT_NE(last_error().find("'services'"), std::string::npos) << last_error();
  wrong = options;
  wrong["geoprocessing"]["geometry_uri_prefixes"] = {"http://example.test/"};
  EXPECT_EQ(tsr_service_new(nullptr, wrong.dump().c_str(), &service), TSR_INVALID_INPUT);
  EXPECT_NE(last_error().find("https"), std::string::npos) << last_error();
  EXPECT_EQ(service, nullptr);
}
