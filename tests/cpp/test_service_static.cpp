// STAC Browser at /browser/ (ServiceOptions::browser_dir): its files with
// their media types and caching headers, the generated config.js, index.html
// for the application's own paths, and no way out of the folder (.., hidden
// files, control characters, symbolic links leading outside).
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog_fixtures.hpp"
#include "tessera/error.hpp"
#include "tessera/service.hpp"
#include "test_support.hpp"

using nlohmann::json;
using tessera::HttpRequest;
using tessera::HttpResponse;

namespace {

namespace fs = std::filesystem;

constexpr const char* kIndex = "<!DOCTYPE html><title>browser</title>";
constexpr const char* kSecret = "top secret text";

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class BrowserRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = tessera::Catalog::open(":memory:");
    catalog_->upsert_collection(tessera::testing::make_collection("s2"));
    browser_ = temp_.path() / "dist";
    write_file(browser_ / "index.html", kIndex);
    write_file(browser_ / "js" / "app.1a2b3c4d.js", "console.log('app');");
    write_file(browser_ / "css" / "style.css", "body{}");
    write_file(browser_ / "logo.svg", "<svg/>");
    write_file(browser_ / "fonts" / "icons.WOFF2", "font");
    write_file(browser_ / "data.bin", "bytes");
    write_file(browser_ / ".hidden", kSecret);
    // Outside the served folder, and links to it from inside.
    write_file(temp_.path() / "secret.txt", kSecret);
    fs::create_symlink(temp_.path() / "secret.txt", browser_ / "link.txt");
    fs::create_directory_symlink(temp_.path(), browser_ / "linkdir");
    // A link that stays inside is followed.
    fs::create_symlink(browser_ / "js" / "app.1a2b3c4d.js", browser_ / "inside.js");
    service_ = make_service(browser_.string());
  }

  std::unique_ptr<tessera::Service> make_service(const std::string& folder, std::string title = "tessera") {
    tessera::ServiceOptions options;
    options.title = std::move(title);
    options.browser_dir = folder;
    return std::make_unique<tessera::Service>(*catalog_, options);
  }

  HttpResponse get(const std::string& path,
                   std::vector<std::pair<std::string, std::string>> headers = {{"Host", "stac.test:8080"}},
                   const std::string& method = "GET") const {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.headers = std::move(headers);
    return service_->handle(request);
  }

  static std::string header(const HttpResponse& response, const char* name) {
    const std::string* value = response.header(name);
    return value != nullptr ? *value : std::string();
  }

  // The object config.js assigns to window.STAC_BROWSER_CONFIG.
  static json config_of(const HttpResponse& response) {
    const std::string prefix = "window.STAC_BROWSER_CONFIG = ";
    EXPECT_EQ(response.body.substr(0, prefix.size()), prefix);
    EXPECT_EQ(response.body.substr(response.body.size() - 2), ";\n");
    return json::parse(response.body.substr(prefix.size(), response.body.size() - prefix.size() - 2));
  }

  tessera::testing::TempDir temp_;
  fs::path browser_;
  std::unique_ptr<tessera::Catalog> catalog_;
  std::unique_ptr<tessera::Service> service_;
};

TEST_F(BrowserRoutes, MountWithoutSlashRedirects) {
  HttpRequest request;
  request.path = "/browser";
  request.headers = {{"Host", "stac.test:8080"}};
  request.query = {{"a", "1 2"}};
  const HttpResponse response = service_->handle(request);
  EXPECT_EQ(response.status, 301);
  EXPECT_EQ(header(response, "Location"), "http://stac.test:8080/browser/?a=1%202");
  EXPECT_EQ(header(get("/browser", {{"Host", "x"}, {"X-Forwarded-Proto", "https"}}), "Location"), "https://x/browser/");
  // Only /browser and /browser/...: /browserx is no route of the browser.
  EXPECT_EQ(get("/browserx").status, 404);
}

TEST_F(BrowserRoutes, IndexAndFilesWithMediaTypesAndCaching) {
  const HttpResponse index = get("/browser/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_FALSE(header(index, "ETag").empty());
  EXPECT_TRUE(header(index, "Last-Modified").ends_with(" GMT"));
  EXPECT_EQ(get("/browser/index.html").body, kIndex);

  const HttpResponse script = get("/browser/js/app.1a2b3c4d.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, "console.log('app');");
  EXPECT_EQ(header(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(script, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(script, "X-Content-Type-Options"), "nosniff");

  const HttpResponse style = get("/browser/css/style.css");
  EXPECT_EQ(header(style, "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(header(style, "Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(header(get("/browser/logo.svg"), "Content-Type"), "image/svg+xml");
  EXPECT_EQ(header(get("/browser/fonts/icons.WOFF2"), "Content-Type"), "font/woff2");
  EXPECT_EQ(header(get("/browser/data.bin"), "Content-Type"), "application/octet-stream");
  // Repeated slashes are one.
  EXPECT_EQ(get("/browser//css//style.css").body, "body{}");
  // A link inside the folder to a file inside it is served.
  EXPECT_EQ(get("/browser/inside.js").body, "console.log('app');");

  const HttpResponse head = get("/browser/css/style.css", {{"Host", "stac.test"}}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(header(head, "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(get("/browser/", {{"Host", "stac.test"}}, "POST").status, 405);
}

TEST_F(BrowserRoutes, ConditionalRequestsAreAnswered304) {
  const HttpResponse first = get("/browser/css/style.css");
  const std::string etag = header(first, "ETag");
  const HttpResponse again = get("/browser/css/style.css", {{"Host", "stac.test"}, {"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(header(again, "ETag"), etag);
  EXPECT_EQ(get("/browser/css/style.css", {{"Host", "stac.test"}, {"If-None-Match", "\"x\", W/" + etag}}).status, 304);
  EXPECT_EQ(get("/browser/css/style.css", {{"Host", "stac.test"}, {"If-None-Match", "\"other\""}}).status, 200);
  EXPECT_EQ(
      get("/browser/css/style.css", {{"Host", "stac.test"}, {"If-Modified-Since", header(first, "Last-Modified")}})
          .status,
      304);
}

TEST_F(BrowserRoutes, ConfigPointsAtTheLandingPageTheClientUsed) {
  const HttpResponse response = get("/browser/config.js");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(header(response, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(response, "Cache-Control"), "no-store");
  const json config = config_of(response);
  const json landing = json::parse(get("/").body);
  std::string self;
  for (const auto& link : landing["links"]) {
    if (link["rel"] == "self") {
      self = link["href"];
    }
  }
  EXPECT_EQ(config["catalogUrl"], self);
  EXPECT_EQ(config["catalogUrl"], "http://stac.test:8080/");
  EXPECT_EQ(config["catalogTitle"], "tessera");
  EXPECT_EQ(config["allowExternalAccess"], false);

  const json proxied = config_of(get(
      "/browser/config.js",
      {{"Host", "internal:8000"}, {"Forwarded", "proto=https;host=stac.example.com"}, {"X-Forwarded-Prefix", "/api"}}));
  EXPECT_EQ(proxied["catalogUrl"], "https://stac.example.com/api/");
  // A header value that is not a plain host cannot reach the script.
  EXPECT_EQ(config_of(get("/browser/config.js", {{"Host", "evil\";alert(1);//"}}))["catalogUrl"], "http://localhost/");
}

TEST_F(BrowserRoutes, ConfigEscapesTheTitle) {
  service_ = make_service(browser_.string(), "a \"title\" </script>\n\u00e9\u2028");
  const HttpResponse response = get("/browser/config.js");
  // One line of ASCII: nothing in the title ends the string or the statement.
  EXPECT_EQ(response.body.find('\n'), response.body.size() - 1);
  EXPECT_TRUE(std::all_of(response.body.begin(), response.body.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  EXPECT_EQ(config_of(response)["catalogTitle"], "a \"title\" </script>\n\u00e9\u2028");
}

TEST_F(BrowserRoutes, ApplicationPathsGetTheIndexAndMissingFiles404) {
  for (const char* path : {"/browser/collections/s2", "/browser/collections/s2/items/item-1", "/browser/search",
                           "/browser/external/example.com", "/browser/collections/s2/items/S2A_T31TCJ.SAFE"}) {
    const HttpResponse response = get(path);
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_EQ(response.body, kIndex) << path;
  }
  const HttpResponse missing = get("/browser/js/missing.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["code"], "NotFound");
  // A missing file: in one of the application's folders, or a top-level name with an extension.
  EXPECT_EQ(get("/browser/css/missing").status, 404);
  EXPECT_EQ(get("/browser/favicon.ico").status, 404);
  // The STAC API is still there.
  EXPECT_EQ(get("/collections/s2").status, 200);
}

TEST_F(BrowserRoutes, HostilePathsNeverLeaveTheFolder) {
  using namespace std::string_literals;
  for (const std::string& path :
       {"/browser/../secret.txt"s, "/browser/js/../../secret.txt"s, "/browser/../../../../etc/passwd"s, "/browser/.."s,
        "/browser/./index.html"s, "/browser/link.txt"s, "/browser/linkdir/secret.txt"s,
        "/browser/linkdir/dist/index.html"s, "/browser/.hidden"s, "/browser/js\\..\\..\\secret.txt"s,
        "/browser/index.html\0.txt"s, "/browser/secret.txt\0"s, "/browser/\x01.txt"s, "/browser//etc/passwd"s,
        "/browser/" + (temp_.path() / "secret.txt").string(), "/browser/" + std::string(5000, 'a') + ".js"}) {
    const HttpResponse response = get(path);
    EXPECT_EQ(response.body.find(kSecret), std::string::npos) << path;
    EXPECT_EQ(response.body.find("root:"), std::string::npos) << path;
    // Either refused (404) or the application's page, never a file outside.
    EXPECT_TRUE(response.status == 404 || (response.status == 200 && response.body == kIndex))
        << path << ": " << response.status;
  }
  // Names with an extension that cannot be served are 404s, not the page.
  EXPECT_EQ(get("/browser/../secret.txt").status, 404);
  EXPECT_EQ(get("/browser/link.txt").status, 404);
  EXPECT_EQ(get("/browser/.hidden").status, 404);
}

TEST_F(BrowserRoutes, FolderMustHoldTheApplication) {
  try {
    make_service((temp_.path() / "none").string());
    FAIL() << "a missing folder was accepted";
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), tessera::ErrorCode::kNotFound);
  }
  fs::create_directories(temp_.path() / "empty");
  try {
    make_service((temp_.path() / "empty").string());
    FAIL() << "a folder without index.html was accepted";
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), tessera::ErrorCode::kNotFound);
    EXPECT_NE(std::string(error.what()).find("build_stac_browser.sh"), std::string::npos);
  }
  // Without browser_dir there is no /browser/.
  const tessera::Service plain(*catalog_);
  HttpRequest request;
  request.path = "/browser/";
  EXPECT_EQ(plain.handle(request).status, 404);
}

}  // namespace
