// The packaging routes in process (Service::handle): what they answer, the
// 400s naming the bad member, 405s, job submission and status, package URLs.
// Over HTTP with tokens, frictionless, cancellation and the OpenAPI document:
// tests/python/test_package_service.py.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "service_requests.hpp"
#include "tessera/service.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::HttpRequest;
using tessera::testing::get;
using tessera::testing::TempDir;

namespace {

struct PackageService {
  TempDir dir;
  std::unique_ptr<tessera::Service> service;

  explicit PackageService(const std::string& packages_url = "") {
    const json boundaries = {
        {"type", "FeatureCollection"},
        {"features",
         {{{"type", "Feature"},
           {"properties", {{"name", "Lake District"}}},
           {"geometry", {{"type", "Polygon"}, {"coordinates", {{{10, 45}, {11, 45}, {11, 46}, {10, 45}}}}}}}}}};
    std::ofstream(dir.path() / "boundaries.geojson") << boundaries.dump();
    const json points = {{"type", "FeatureCollection"},
                         {"features",
                          {{{"type", "Feature"},
                            {"properties", {{"id", 1}}},
                            {"geometry", {{"type", "Point"}, {"coordinates", {10.6, 45.2}}}}}}}};
    std::ofstream(dir.path() / "points.geojson") << points.dump();
    const json processors = json::array({{{"name", "points"},
                                          {"version", "1"},
                                          {"sources", {(dir.path() / "points.geojson").string()}},
                                          {"type", "vector"},
                                          {"format", "GeoJSON"}}});
    std::ofstream(dir.path() / "processors.json") << processors.dump();
    tessera::ServiceOptions options;
    options.tiles = false;
    options.auth.allow_anonymous_writes = true;
    options.packages.storage = (dir.path() / "packages").string();
    options.packages.boundaries = (dir.path() / "boundaries.geojson").string();
    options.packages.processors = (dir.path() / "processors.json").string();
    options.packages.packages_url = packages_url;
    service = std::make_unique<tessera::Service>(options);
  }

  tessera::HttpResponse send(const std::string& method, const std::string& path, const std::string& body) const {
    HttpRequest request = get(path);
    request.method = method;
    request.body = body;
    return service->handle(request);
  }
};

std::string description(const tessera::HttpResponse& response) {
  return json::parse(response.body).value("description", "");
}

}  // namespace

TEST(ServicePackages, SubmitsAJobAndListsThePackageWithUrls) {
  const PackageService fixture("https://data.example.org/packages/");
  const auto& service = *fixture.service;
  EXPECT_EQ(json::parse(service.handle(get("/boundaries", {{"name", "LAKE"}})).body).size(), 1u);
  EXPECT_EQ(json::parse(service.handle(get("/boundaries", {{"name", "sea"}})).body).size(), 0u);
  EXPECT_EQ(json::parse(service.handle(get("/processors")).body)[0]["name"], "points/1");
  EXPECT_EQ(service.handle(get("/packages/lake-district")).status, 404);

  const auto submitted = fixture.send("POST", "/jobs", R"({"boundary": "Lake District", "processors": ["points/1"]})");
  ASSERT_EQ(submitted.status, 202) << submitted.body;
  const json body = json::parse(submitted.body);
  const std::string id = body["id"];
  EXPECT_EQ(body["location"], "http://tiles.test/jobs/" + id);
  ASSERT_NE(submitted.header("Location"), nullptr);
  EXPECT_EQ(*submitted.header("Location"), "http://tiles.test/jobs/" + id);
  json record = json::object();
  for (int i = 0; i < 600 && record.value("status", "") != "completed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto status = service.handle(get("/jobs/" + id));
    ASSERT_EQ(status.status, 200);
    record = json::parse(status.body);
  }
  ASSERT_EQ(record["status"], "completed") << record.dump();
  EXPECT_EQ(fixture.send("DELETE", "/jobs/" + id, "").status, 200);  // finished already

  const json package = json::parse(service.handle(get("/packages/Lake District")).body);
  EXPECT_EQ(package["datapackage_url"], "https://data.example.org/packages/lake-district/datapackage.json");
  EXPECT_EQ(package["resources"][0]["url"],
            "https://data.example.org/packages/lake-district/datasets/points/1/points.geojson");
  EXPECT_EQ(json::parse(service.handle(get("/packages")).body)[0]["boundary"], "lake-district");
  const auto head = fixture.send("HEAD", "/packages", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST(ServicePackages, RefusesBadRequestsNamingWhat) {
  const PackageService fixture;
  const auto expect_400 = [&](const std::string& body, const std::string& fragment) {
    const auto response = fixture.send("POST", "/jobs", body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_NE(description(response).find(fragment), std::string::npos) << description(response);
  };
  expect_400("{", "not valid JSON");
  expect_400("[]", "must be a JSON object");
  expect_400(R"({"boundary": 5, "processors": ["points/1"]})", "boundary: expected a non-empty string");
  expect_400(R"({"boundary": "Lake District"})", "processors: expected an array of 1 to 100");
  expect_400(R"({"boundary": "Lake District", "processors": [""]})", "processors[0]: expected a non-empty string");
  expect_400(R"({"boundary": "Lake District", "processors": ["points"]})", "'points' is not a processor name");
  expect_400(R"({"boundary": "Lake District", "processors": ["points/1"], "priority": 1})", "priority: unknown member");
  json many = {{"boundary", "Lake District"}, {"processors", json::array()}};
  for (int i = 0; i < 101; ++i) {
    many["processors"].push_back("points/1");
  }
  expect_400(many.dump(), "processors: expected an array of 1 to 100");
  EXPECT_EQ(fixture.send("POST", "/jobs", R"({"boundary": "Nowhere", "processors": ["points/1"]})").status, 404);
  EXPECT_EQ(fixture.service->handle(get("/jobs", {{"limit", "abc"}})).status, 400);
  EXPECT_EQ(fixture.service->handle(get("/jobs", {{"status", "done"}})).status, 400);
  EXPECT_EQ(fixture.service->handle(get("/boundaries", {{"point", "10.5"}})).status, 400);
  EXPECT_EQ(fixture.service->handle(get("/jobs/..")).status, 404);
  EXPECT_EQ(fixture.service->handle(get("/processors/points/9")).status, 404);
  const auto put = fixture.send("PUT", "/jobs", "{}");
  EXPECT_EQ(put.status, 405);
  ASSERT_NE(put.header("Allow"), nullptr);
  EXPECT_EQ(*put.header("Allow"), "GET, HEAD, POST");
  EXPECT_EQ(fixture.send("POST", "/processors", "{}").status, 405);
  const auto upload = fixture.send(
      "POST", "/boundaries",
      R"({"type": "Feature", "properties": {"name": "Sea"}, "geometry": {"type": "Point", "coordinates": [1, 2]}})");
  EXPECT_EQ(upload.status, 201) << upload.body;
  EXPECT_EQ(json::parse(upload.body), json::parse(R"([{"id": "sea", "name": "Sea", "long_name": "Sea"}])"));
  const auto unnamed = fixture.send(
      "POST", "/boundaries",
      R"({"type": "Feature", "properties": {"label": "Sea"}, "geometry": {"type": "Point", "coordinates": [1, 2]}})");
  EXPECT_EQ(unnamed.status, 400);
  EXPECT_NE(description(unnamed).find("has no field 'name'"), std::string::npos) << description(unnamed);
  EXPECT_EQ(fixture.send("POST", "/boundaries", R"({"type": "Point", "coordinates": [1, 2]})").status, 400);

  tessera::ServiceOptions options;
  options.tiles = false;
  options.packages.storage = (fixture.dir.path() / "other").string();
  options.packages.packages_url = "ftp://example.org/";
  EXPECT_THROW(tessera::Service{options}, tessera::Error);
  options.packages.packages_url.clear();
  options.packages.processors = (fixture.dir.path() / "missing.json").string();
  EXPECT_THROW(tessera::Service{options}, tessera::Error);
}
