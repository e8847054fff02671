// The tile routes over HTTP, served by `tessera serve` on loopback (the
// tessera_tile_server example's tests, ported when its routes moved into the
// service module): status codes, content types, ETag/304, Cache-Control,
// JSON errors naming the parameter, the href allow-list, TileJSON and the
// mosaic search endpoints; and a server started without a catalog.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tessera/tms.hpp"
#include "tile_sample_data.hpp"

extern char** environ;

namespace {

using nlohmann::json;

// `tessera serve` with `arguments` in a process of its own; its first line
// of output is the base URL, whose port the tests call.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& arguments) {
    std::vector<std::string> argv_text = {TESSERA_CLI_PATH, "serve"};
    argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (std::string& argument : argv_text) {
      argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    int output[2];
    if (::pipe(output) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, output[0]);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(output[1]);
    if (spawned != 0) {
      ::close(output[0]);
      throw std::runtime_error(std::string("cannot start ") + TESSERA_CLI_PATH);
    }
    std::string line;
    char c = 0;
    while (::read(output[0], &c, 1) == 1 && c != '\n') {
      line += c;
    }
    // The rest of the output is not read: the pipe stays open, unread lines
    // are few (the viewer and browser lines).
    output_ = output[0];
    const std::size_t colon = line.rfind(':');
    if (line.rfind("http://", 0) != 0 || colon == std::string::npos) {
      stop();
      throw std::runtime_error("tessera serve printed no base URL: '" + line + "'");
    }
    port_ = std::stoi(line.substr(colon + 1));
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }

  // SIGTERM, then the exit status (0: stopped gracefully).
  int stop() {
    if (pid_ <= 0) {
      return exit_status_;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(output_);
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_status_;
  }

 private:
  pid_t pid_ = -1;
  int output_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
};

// The service's ETag of a body: FNV-1a 64 and the size, in hex, quoted.
std::string expected_etag(std::string_view body) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char byte : body) {
    hash = (hash ^ static_cast<unsigned char>(byte)) * 1099511628211ULL;
  }
  return fmt::format("\"{:016x}-{:x}\"", hash, body.size());
}

class TileServerApi : public ::testing::Test {
 protected:
  // The sample data goes to a folder of this process's own (ctest runs each
  // test in a process of its own, in parallel with the others), the server
  // to a free port.
  static void SetUpTestSuite() {
    folder_ = std::filesystem::temp_directory_path() /
              ("tessera-serve-tiles-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    data_ = tessera::testing::write_sample_data(folder_);
    server_ = std::make_unique<ServeProcess>(
        std::vector<std::string>{"--catalog", data_.catalog_uri, "--allowed-root", data_.folder.string(),
                                 "--allowed-prefix", "https://allowed.example.org/", "--port", "0", "--threads", "4",
                                 "--cache-max-age", "120", "--no-viewer", "--no-browser"});
    port_ = server_->port();
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0);
      server_.reset();
    }
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }

  static httplib::Client client() {
    httplib::Client http("127.0.0.1", port_);
    http.set_read_timeout(30, 0);
    return http;
  }
  static std::string cog_query(std::size_t scene = 0) {
    return "url=" + httplib::detail::encode_query_param(data_.scenes.at(scene).cog.string());
  }
  // The WebMercatorQuad tile holding a scene's centre.
  static std::string tile_of(std::size_t scene, int z) {
    const auto& s = data_.scenes.at(scene);
    const tessera::Tile tile =
        tessera::TileMatrixSet::web_mercator_quad().tile((s.west + s.east) / 2, (s.south + s.north) / 2, z);
    return std::to_string(z) + "/" + std::to_string(tile.x) + "/" + std::to_string(tile.y);
  }
  static std::string register_search(const json& search) {
    const auto response = client().Post("/searches/register", search.dump(), "application/json");
    EXPECT_EQ(response->status, 200) << response->body;
    return json::parse(response->body).at("id").get<std::string>();
  }
  // The service's errors: {"code", "description"}, plus "parameter" when a
  // query parameter is at fault.
  static void expect_json_error(const httplib::Result& response, int status, const std::string& parameter) {
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, status) << response->body;
    EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
    const json body = json::parse(response->body);
    EXPECT_TRUE(body.contains("description")) << response->body;
    if (!parameter.empty()) {
      EXPECT_EQ(body.value("parameter", ""), parameter) << response->body;
    }
  }
  // A 400 whose description says `fragment`: errors the library raises name no parameter.
  static void expect_bad_request(const httplib::Result& response, const std::string& fragment) {
    expect_json_error(response, 400, "");
    EXPECT_NE(json::parse(response->body).value("description", "").find(fragment), std::string::npos) << response->body;
  }

  static inline std::filesystem::path folder_;
  static inline tessera::testing::SampleData data_;
  static inline std::unique_ptr<ServeProcess> server_;
  static inline int port_ = 0;
};

TEST_F(TileServerApi, CogTileIsAPngWithStrongEtagAndCacheControl) {
  const auto response = client().Get("/cog/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png?" + cog_query());
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(response->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(response->body.substr(1, 3), "PNG");
  EXPECT_EQ(response->get_header_value("Cache-Control"), "public, max-age=120");
  const std::string etag = response->get_header_value("ETag");
  ASSERT_EQ(etag.front(), '"');
  EXPECT_EQ(etag, expected_etag(response->body));

  const auto cached =
      client().Get("/cog/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png?" + cog_query(), {{"If-None-Match", etag}});
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 304);
  EXPECT_TRUE(cached->body.empty());
  EXPECT_EQ(cached->get_header_value("ETag"), etag);

  const auto coloured = client().Get(
      "/cog/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png?colormap_name=viridis&rescale=0,255&" + cog_query(),
      {{"If-None-Match", etag}});
  ASSERT_TRUE(coloured);
  EXPECT_EQ(coloured->status, 200);
  EXPECT_NE(coloured->get_header_value("ETag"), etag);
}

TEST_F(TileServerApi, ItemAndCollectionRoutesAnswerTitilerPgstacUrls) {
  // A titiler-pgstac client's URL shapes, unchanged: the item TileJSON with
  // assets, rescale and colormap_name, then its tile; the collection's tile.
  const std::string item = "/collections/sample/items/scene-june";
  const auto tilejson =
      client().Get(item + "/WebMercatorQuad/tilejson.json?assets=data&rescale=0,255&colormap_name=viridis");
  ASSERT_TRUE(tilejson);
  ASSERT_EQ(tilejson->status, 200) << tilejson->body;
  std::string tile_url = json::parse(tilejson->body).at("tiles").at(0).get<std::string>();
  const std::string origin = "http://127.0.0.1:" + std::to_string(port_);
  ASSERT_EQ(tile_url.rfind(origin + item + "/tiles/WebMercatorQuad/{z}/{x}/{y}.png?assets=data&", 0), 0u) << tile_url;
  tile_url.replace(tile_url.find("{z}/{x}/{y}"), 11, tile_of(0, 9));
  const auto tile = client().Get(tile_url.substr(origin.size()));
  ASSERT_TRUE(tile);
  EXPECT_EQ(tile->status, 200) << tile->body;
  EXPECT_EQ(tile->get_header_value("Content-Type"), "image/png");
  const auto collection_tile = client().Get("/collections/sample/tiles/WebMercatorQuad/" + tile_of(0, 9) +
                                            ".png?assets=data&rescale=0,255&colormap_name=viridis");
  ASSERT_TRUE(collection_tile);
  EXPECT_EQ(collection_tile->status, 200) << collection_tile->body;
  const auto assets = client().Get(item + "/assets");
  ASSERT_TRUE(assets);
  EXPECT_EQ(json::parse(assets->body), json::array({"data"}));
  expect_json_error(client().Get(item + "/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png?assets=visual"), 400,
                    "assets");
  expect_json_error(client().Get("/collections/sample/items/nope/info"), 404, "");
  expect_json_error(client().Get(item + "/WebMercatorQuad/tilejson.json?assets=data&render_id=x"), 400, "render_id");
}

TEST_F(TileServerApi, FormatsScaleAndTileSize) {
  const std::string tile = "/cog/tiles/WebMercatorQuad/" + tile_of(0, 9);
  for (const auto& [suffix, type] : {std::pair{".jpeg", "image/jpeg"}, std::pair{".webp", "image/webp"},
                                     std::pair{".npy", "application/x-binary"}, std::pair{"", "image/png"}}) {
    const auto response = client().Get(tile + suffix + "?" + cog_query());
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << suffix << ": " << response->body;
    EXPECT_EQ(response->get_header_value("Content-Type"), type) << suffix;
  }
  // NPY: a uint8 band plus the mask, 512 x 512 at @2x.
  const auto scaled = client().Get(tile + "@2x.npy?" + cog_query());
  ASSERT_TRUE(scaled);
  ASSERT_EQ(scaled->status, 200);
  EXPECT_NE(scaled->body.find("'shape': (2, 512, 512)"), std::string::npos) << scaled->body.substr(0, 120);
  const auto sized = client().Get(tile + ".npy?tilesize=64&" + cog_query());
  ASSERT_TRUE(sized);
  EXPECT_NE(sized->body.find("'shape': (2, 64, 64)"), std::string::npos) << sized->body.substr(0, 120);
}

TEST_F(TileServerApi, BadParametersAre400WithTheParameterNamed) {
  const std::string tile = "/cog/tiles/WebMercatorQuad/" + tile_of(0, 9);
  expect_json_error(client().Get(tile + ".png?rescale=0,abc&" + cog_query()), 400, "rescale");
  expect_json_error(client().Get(tile + ".png?colormap_name=nope&" + cog_query()), 400, "colormap_name");
  expect_json_error(client().Get(tile + ".png?colormap=%7Bbad&" + cog_query()), 400, "colormap");
  expect_json_error(client().Get(tile + ".png?tilesize=0&" + cog_query()), 400, "tilesize");
  expect_json_error(client().Get(tile + ".png?bidx=0&" + cog_query()), 400, "bidx");
  expect_json_error(client().Get(tile + ".png?resampling=sharpest&" + cog_query()), 400, "resampling");
  expect_json_error(client().Get(tile + ".gif?" + cog_query()), 400, "format");
  expect_json_error(client().Get(tile + "@9x.png?" + cog_query()), 400, "scale");
  expect_json_error(client().Get(tile + ".png"), 400, "url");
  // Once one unauthenticated GET killed the server (an expression naming no band).
  expect_bad_request(client().Get(tile + ".png?expression=1&" + cog_query()), "names no band");
  // A buffer is checked before anything is allocated for it.
  expect_bad_request(client().Get(tile + ".png?buffer=20000&" + cog_query()), "buffer");
  expect_bad_request(client().Get(tile + ".png?buffer=1e308&" + cog_query()), "buffer");
  ASSERT_EQ(client().Get(tile + ".png?" + cog_query())->status, 200);  // still serving
  expect_json_error(client().Get("/cog/tiles/NoSuchTms/" + tile_of(0, 9) + ".png?" + cog_query()), 400,
                    "tileMatrixSetId");
  expect_json_error(client().Get("/cog/point/ten,45?" + cog_query()), 400, "lon");
  // A tile beyond the zoom levels of the set is a bad request too.
  expect_json_error(client().Get("/cog/tiles/WebMercatorQuad/30/0/0.png?" + cog_query()), 400, "");
}

TEST_F(TileServerApi, MissingThingsAre404) {
  // The tile exists in the set but the raster does not reach it.
  expect_json_error(client().Get("/cog/tiles/WebMercatorQuad/9/0/0.png?" + cog_query()), 404, "");
  expect_json_error(client().Get("/searches/0123456789abcdef/info"), 404, "");
  expect_json_error(client().Get("/no/such/endpoint"), 404, "");
  const std::string missing = "url=" + httplib::detail::encode_query_param((data_.folder / "missing.tif").string());
  expect_json_error(client().Get("/cog/info?" + missing), 404, "");
}

TEST_F(TileServerApi, HrefsOutsideTheAllowListAreRefused) {
  const auto outside = client().Get("/cog/info?url=%2Fetc%2Fpasswd");
  expect_json_error(outside, 400, "");
  EXPECT_NE(json::parse(outside->body).at("description").get<std::string>().find("outside the allowed"),
            std::string::npos);
  const auto url = client().Get("/cog/info?url=https%3A%2F%2Fevil.example.com%2Fa.tif");
  expect_json_error(url, 400, "");
  EXPECT_NE(json::parse(url->body).at("description").get<std::string>().find("evil.example.com"), std::string::npos);
  expect_json_error(client().Get("/cog/info?url=%2Fvsicurl%2Fhttp%3A%2F%2Fx%2Fa.tif"), 400, "");
}

TEST_F(TileServerApi, CogTilejsonInfoPointAndStatistics) {
  const auto tilejson = client().Get("/cog/WebMercatorQuad/tilejson.json?rescale=0,255&" + cog_query());
  ASSERT_TRUE(tilejson);
  ASSERT_EQ(tilejson->status, 200) << tilejson->body;
  EXPECT_EQ(tilejson->get_header_value("Content-Type"), "application/json");
  const json document = json::parse(tilejson->body);
  EXPECT_EQ(document.at("tilejson"), "3.0.0");
  const std::string url = document.at("tiles").at(0).get<std::string>();
  EXPECT_EQ(url.rfind("http://127.0.0.1:" + std::to_string(port_) + "/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.png?", 0),
            0u)
      << url;
  EXPECT_NE(url.find("rescale=0%2C255"), std::string::npos) << url;
  EXPECT_NEAR(document.at("bounds").at(0).get<double>(), 10.0, 1e-6);
  EXPECT_NEAR(document.at("bounds").at(3).get<double>(), 46.0, 1e-6);

  const json info = json::parse(client().Get("/cog/info?" + cog_query())->body);
  EXPECT_EQ(info.at("width"), 256);
  EXPECT_EQ(info.at("dtype"), "uint8");

  // Scene 0 is a diagonal gradient: the top-left corner is 1.
  const auto point = client().Get("/cog/point/10.001,45.999?" + cog_query());
  ASSERT_EQ(point->status, 200) << point->body;
  EXPECT_EQ(json::parse(point->body).at("values"), json::array({1.0}));

  const json statistics = json::parse(client().Get("/cog/statistics?" + cog_query())->body);
  EXPECT_EQ(statistics.at("b1").at("min"), 1.0);
  EXPECT_EQ(statistics.at("b1").at("max"), 255.0);
}

TEST_F(TileServerApi, SearchesRegisterListTileAssetsAndPoint) {
  const std::string all = register_search({{"collections", {"sample"}}, {"metadata", {{"name", "all"}}}});
  const std::string june =
      register_search({{"collections", {"sample"}}, {"datetime", "2024-06-01T00:00:00Z/2024-06-30T23:59:59Z"}});
  EXPECT_NE(all, june);

  const auto list = client().Get("/searches/list");
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(list->get_header_value("Cache-Control"), "no-store");
  std::set<std::string> ids;
  const json listed = json::parse(list->body);
  for (const json& entry : listed.at("searches")) {
    ids.insert(entry.at("search").at("id").get<std::string>());
  }
  EXPECT_TRUE(ids.contains(all) && ids.contains(june));
  EXPECT_EQ(json::parse(client().Get("/searches/" + all + "/info")->body).at("metadata").at("name"), "all");

  // The centre of the June scene is covered by June and July; newest first.
  const std::string tile = tile_of(0, 9);
  const json assets =
      json::parse(client().Get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile + "/assets?assets=data")->body);
  ASSERT_EQ(assets.size(), 2u) << assets;
  EXPECT_EQ(assets.at(0).at("id"), "scene-july");
  EXPECT_EQ(assets.at(1).at("id"), "scene-june");
  const json june_assets =
      json::parse(client().Get("/searches/" + june + "/tiles/WebMercatorQuad/" + tile + "/assets?assets=data")->body);
  ASSERT_EQ(june_assets.size(), 1u);
  EXPECT_EQ(june_assets.at(0).at("id"), "scene-june");

  const auto png = client().Get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile +
                                ".png?assets=data&colormap_name=viridis&rescale=0,255");
  ASSERT_EQ(png->status, 200) << png->body;
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  const auto june_png = client().Get("/searches/" + june + "/tiles/WebMercatorQuad/" + tile +
                                     ".png?assets=data&colormap_name=viridis&rescale=0,255");
  ASSERT_EQ(june_png->status, 200);
  EXPECT_NE(png->get_header_value("ETag"), june_png->get_header_value("ETag"));

  const json point_assets =
      json::parse(client().Get("/searches/" + all + "/point/10.75,45.75/assets?assets=data")->body);
  ASSERT_EQ(point_assets.size(), 2u);
  const json values = json::parse(client().Get("/searches/" + all + "/point/10.75,45.75?assets=data")->body);
  ASSERT_EQ(values.at("values").size(), 2u) << values;
  EXPECT_EQ(values.at("values").at(0).at("id"), "scene-july");
  EXPECT_EQ(values.at("values").at(0).at("band_names"), json::array({"data_b1"}));
  // July is horizontal bands of 40 + 25 per 32 rows: 10.75,45.75 is row 192.
  EXPECT_EQ(values.at("values").at(0).at("values"), json::array({190.0}));

  const json tilejson =
      json::parse(client().Get("/searches/" + all + "/WebMercatorQuad/tilejson.json?assets=data")->body);
  EXPECT_NE(tilejson.at("tiles").at(0).get<std::string>().find("/searches/" + all +
                                                               "/tiles/WebMercatorQuad/{z}/{x}/{y}.png?assets=data"),
            std::string::npos)
      << tilejson;
}

TEST_F(TileServerApi, SearchErrors) {
  expect_json_error(client().Post("/searches/register", "{not json", "application/json"), 400, "");
  expect_json_error(client().Post("/searches/register", "[1]", "application/json"), 400, "body");
  expect_json_error(client().Post("/searches/register", R"({"bbox": [1, 2]})", "application/json"), 400, "");
  const std::string all = register_search({{"collections", {"sample"}}});
  expect_json_error(client().Get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png"), 400,
                    "assets");
  expect_json_error(client().Get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile_of(0, 9) +
                                 ".png?assets=data&pixel_selection=loudest"),
                    400, "pixel_selection");
  expect_bad_request(
      client().Get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png?assets=data&buffer=20000"),
      "buffer");
  expect_json_error(client().Get("/searches/" + all + "/tiles/WebMercatorQuad/" + tile_of(0, 9) + ".png?expression=1"),
                    400, "");
  // No item over the Pacific.
  expect_json_error(client().Get("/searches/" + all + "/tiles/WebMercatorQuad/9/0/255.png?assets=data"), 404, "");
}

TEST_F(TileServerApi, TheStacApiIsServedBesideTheTiles) {
  const auto collections = client().Get("/collections");
  ASSERT_TRUE(collections);
  ASSERT_EQ(collections->status, 200) << collections->body;
  EXPECT_EQ(json::parse(collections->body).at("collections").at(0).at("id"), "sample");
  const auto colormaps = client().Get("/colormaps");
  ASSERT_TRUE(colormaps);
  EXPECT_EQ(colormaps->status, 200);
  EXPECT_EQ(client().Get("/healthz")->status, 200);
}

TEST(ServeWithoutCatalog, ServesCogTilesAndRefusesSearches) {
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() /
      ("tessera-serve-no-catalog-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  const auto data = tessera::testing::write_sample_data(folder);
  ServeProcess server({"--allowed-root", data.folder.string(), "--port", "0", "--no-viewer"});
  httplib::Client http("127.0.0.1", server.port());
  http.set_read_timeout(30, 0);
  const std::string url = httplib::detail::encode_query_param(data.scenes.at(0).cog.string());
  const auto info = http.Get("/cog/info?url=" + url);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200) << info->body;
  const auto searches = http.Get("/searches/list");
  ASSERT_TRUE(searches);
  EXPECT_EQ(searches->status, 404);
  EXPECT_NE(searches->body.find("this service has no catalog"), std::string::npos) << searches->body;
  EXPECT_EQ(http.Get("/")->status, 404);  // no STAC API, no viewer
  EXPECT_EQ(server.stop(), 0);
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
}

}  // namespace
