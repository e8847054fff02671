// Fault injection: a full filesystem under local storage, the SQLite catalog
// and package outputs; the S3 server stopped during a multipart upload and
// during a package job. (The SQLite loader killed at random points is in
// test_catalog_sqlite.cpp, PostgreSQL stopped under loads and searches in
// tests/python/test_pgstac.py.)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cpl_conv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tessera/catalog.hpp"
#include "tessera/packaging.hpp"
#include "tessera/storage.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tessera::Catalog;
using tessera::ErrorCode;
using tessera::Storage;
using tessera::testing::TempDir;

namespace {

constexpr std::size_t kMiB = 1 << 20;

// Every file under `root`, temporary ones included (Storage::list hides those).
std::vector<std::string> files_under(const fs::path& root) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      files.push_back(fs::relative(entry.path(), root).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void write_file(const fs::path& path, std::size_t bytes, char fill) {
  std::ofstream(path, std::ios::binary) << std::string(bytes, fill);
}

// A small tmpfs that fills up. The test body runs in a child process with a
// mount namespace of its own, so the mount never outlives the test; a user
// namespace gives an unprivileged run the right to mount it. Failures in the
// child are reported by gtest there and fail the test here.
class FullFilesystem {
 public:
  static constexpr std::size_t kSize = 2 * kMiB;

  template <typename Body>
  static void run(Body&& body) {
    TempDir dir;
    const fs::path mount_point = dir.path() / "disk";
    fs::create_directories(mount_point);
    std::fflush(nullptr);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (!enter_mount_namespace()) {
        std::fprintf(stderr, "cannot make a mount namespace to mount a tmpfs in: %s\n", std::strerror(errno));
        _exit(3);
      }
      if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, fmt::format("size={}", kSize).c_str()) != 0) {
        std::fprintf(stderr, "cannot mount a tmpfs: %s\n", std::strerror(errno));
        _exit(3);
      }
      // Nothing may leave the child: it would go on to run the rest of the suite.
      int status = 0;
      try {
        FullFilesystem disk(mount_point);
        body(disk);
        status = ::testing::Test::HasFailure() ? 1 : 0;
      } catch (const std::exception& error) {
        std::fprintf(stderr, "unexpected exception: %s\n", error.what());
        status = 2;
      }
      std::fflush(nullptr);
      _exit(status);
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the test body crashed (signal " << WTERMSIG(status) << ")";
    ASSERT_NE(WEXITSTATUS(status), 3) << "no tmpfs could be mounted (see stderr)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the checks above, made in the child process, failed";
  }

  [[nodiscard]] const fs::path& path() const { return path_; }
  // Fills the disk but for `left` bytes.
  void fill_leaving(std::size_t left) const {
    const fs::space_info space = fs::space(path_);
    write_file(path_ / "filler", space.available > left ? space.available - left : 0, 'f');
  }
  // Frees the space again.
  void grow() const {
    fs::remove(path_ / "filler");
    ASSERT_EQ(::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0) << std::strerror(errno);
  }

 private:
  explicit FullFilesystem(fs::path path) : path_(std::move(path)) {}

  static bool enter_mount_namespace() {
    if (::unshare(CLONE_NEWNS) != 0) {
      const uid_t uid = getuid();
      const gid_t gid = getgid();
      if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        return false;
      }
      std::ofstream("/proc/self/setgroups") << "deny";
      std::ofstream("/proc/self/uid_map") << fmt::format("0 {} 1", uid);
      std::ofstream("/proc/self/gid_map") << fmt::format("0 {} 1", gid);
    }
    // Mounts made here stay in this namespace.
    return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
  }

  fs::path path_;
};

template <typename Body>
std::string error_of(Body&& body, ErrorCode* code = nullptr) {
  try {
    body();
  } catch (const tessera::Error& error) {
    if (code != nullptr) {
      *code = error.code();
    }
    return error.what();
  }
  return "";
}

// Writes `bytes` bytes into its output folder, after `gate` opens if given.
class BulkProcessor final : public tessera::Processor {
 public:
  explicit BulkProcessor(std::size_t bytes) : bytes_(bytes) {}
  std::promise<void> started;
  std::shared_future<void> gate;

  std::vector<tessera::ProcessedFile> process(const tessera::ProcessorContext& context) override {
    if (gate.valid()) {
      started.set_value();
      gate.wait();
    }
    write_file(context.output_dir / "bulk.bin", bytes_, 'b');
    return {{"bulk.bin", "bin", "application/octet-stream", "", std::nullopt}};
  }

 private:
  std::size_t bytes_;
};

fs::path write_boundary(const fs::path& dir) {
  std::ofstream(dir / "boundary.geojson") << R"({"type": "FeatureCollection", "features": [{"type": "Feature",
      "properties": {"name": "Square"},
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]})";
  return dir / "boundary.geojson";
}

const json kBulkDataset =
    json::array({{{"name", "bulk"}, {"version", "1"}, {"sources", {"-"}}, {"type", "vector"}, {"processor", "bulk"}}});

}  // namespace

// --- A full filesystem -----------------------------------------------------------

TEST(FullDisk, StoragePutAndPutFileFailCleanlyAndKeepTheOldObject) {
  TempDir outside;
  write_file(outside.path() / "large.bin", 3 * kMiB, 'x');
  FullFilesystem::run([&](const FullFilesystem& disk) {
    auto storage = Storage::open((disk.path() / "root").string());
    storage->put("kept/object.txt", "the old contents");
    for (const bool from_file : {false, true}) {
      SCOPED_TRACE(from_file ? "put_file" : "put");
      ErrorCode code{};
      const std::string error = error_of(
          [&] {
            if (from_file) {
              storage->put_file("kept/object.txt", outside.path() / "large.bin");
            } else {
              storage->put("kept/object.txt", std::string(3 * kMiB, 'y'));
            }
          },
          &code);
      EXPECT_EQ(code, ErrorCode::kIo) << error;
      EXPECT_NE(error.find("key 'kept/object.txt'"), std::string::npos) << error;
      EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
      // The old object is whole and no temporary file is left behind.
      EXPECT_EQ(storage->get("kept/object.txt"), "the old contents");
      EXPECT_EQ(files_under(disk.path() / "root"), std::vector<std::string>{"kept/object.txt"});
    }
    disk.grow();
    storage->put_file("kept/object.txt", outside.path() / "large.bin");
    EXPECT_EQ(storage->stat("kept/object.txt").size, 3 * kMiB);
  });
}

TEST(FullDisk, SqliteLoadReportsTheFailureKeepsWholeBatchesAndCompletesLater) {
  // Random padding: the catalog compresses item texts, so repetitive ones
  // would never fill the disk.
  std::mt19937 generator(7);
  auto padding = [&] {
    std::string text(600, ' ');
    for (auto& c : text) {
      c = static_cast<char>('a' + generator() % 26);
    }
    return text;
  };
  std::vector<json> items;
  for (int n = 0; n < 4000; ++n) {
    items.push_back({{"type", "Feature"},
                     {"stac_version", "1.1.0"},
                     {"id", fmt::format("item-{:05d}", n)},
                     {"collection", "a"},
                     {"geometry", {{"type", "Point"}, {"coordinates", {n % 180, n % 80}}}},
                     {"bbox", {n % 180, n % 80, n % 180, n % 80}},
                     {"properties", {{"datetime", "2021-01-01T00:00:00Z"}, {"padding", padding()}}},
                     {"links", json::array()},
                     {"assets", json::object()}});
  }
  FullFilesystem::run([&](const FullFilesystem& disk) {
    const std::string path = (disk.path() / "catalog.db").string();
    json collection = {
        {"type", "Collection"},
        {"stac_version", "1.1.0"},
        {"id", "a"},
        {"description", "d"},
        {"license", "CC0-1.0"},
        {"links", json::array()},
        {"extent",
         {{"spatial", {{"bbox", {{-180, -90, 180, 90}}}}}, {"temporal", {{"interval", {{nullptr, nullptr}}}}}}}};
    Catalog::open(path)->upsert_collection(collection);
    tessera::LoadOptions options;
    options.batch_size = 100;
    options.mode = tessera::LoadMode::kIgnore;
    const auto report = Catalog::open(path)->load(items, options);
    ASSERT_FALSE(report.failed.empty()) << "the disk did not fill up";
    EXPECT_NE(report.failed[0].error.find("disk is full"), std::string::npos) << report.failed[0].error;
    EXPECT_FALSE(report.failed[0].retryable);
    EXPECT_EQ(report.loaded % options.batch_size, 0U);
    EXPECT_EQ(report.loaded + report.failed.size(), items.size());
    {
      auto catalog = Catalog::open(path);  // it still opens and answers
      EXPECT_EQ(catalog->search({{"limit", 1}})["numberMatched"].get<std::size_t>(), report.loaded);
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* check = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr);
    ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
    sqlite3_finalize(check);
    sqlite3_close(db);
    disk.grow();
    const auto again = Catalog::open(path)->load(items, options);
    EXPECT_TRUE(again.failed.empty()) << again.to_json().dump();
    EXPECT_EQ(again.skipped, report.loaded);
    EXPECT_EQ(Catalog::open(path)->search({{"limit", 1}})["numberMatched"].get<std::size_t>(), items.size());
  });
}

TEST(FullDisk, PackageJobFailsWithoutTornOutputsAndARerunCompletes) {
  TempDir outside;
  const fs::path boundary = write_boundary(outside.path());
  FullFilesystem::run([&](const FullFilesystem& disk) {
    auto storage = Storage::open((disk.path() / "out").string());
    tessera::Packager packager(*storage);
    packager.register_processor("bulk", std::make_shared<BulkProcessor>(kMiB));
    packager.add_boundaries(boundary.string());
    disk.fill_leaving(256 * 1024);  // room for the records, not for the output
    tessera::BuildOptions options;
    options.job_id = "full";
    ErrorCode code{};
    const std::string error = error_of([&] { packager.build("square", kBulkDataset, options); }, &code);
    EXPECT_EQ(code, ErrorCode::kIo) << error;
    EXPECT_NE(error.find("package job full: bulk: cannot write key 'square/datasets/bulk/1/bulk.bin'"),
              std::string::npos)
        << error;
    const json status = packager.job_status("full");
    EXPECT_EQ(status["status"], "failed");
    EXPECT_EQ(status["datasets"][0]["status"], "failed");
    for (const auto& file : files_under(disk.path() / "out")) {
      EXPECT_EQ(file.find(".tessera-tmp-"), std::string::npos) << file;
      EXPECT_EQ(file.find("bulk.bin"), std::string::npos) << "a partial output was published: " << file;
    }
    disk.grow();
    const json package = packager.build("square", kBulkDataset, options);
    EXPECT_EQ(package["resources"][0]["bytes"], kMiB);
    EXPECT_EQ(packager.job_status("full")["status"], "completed");
  });
}

// --- The S3 server stopped mid-way ---------------------------------------------------

namespace {

// An S3 server of the test's own (versitygw through scripts/s3_server.sh, in
// a temporary folder, on a free loopback port) that the test stops and starts:
// the server other tests share is never stopped, so these run in parallel
// with them. Stopped and removed at scope exit.
class S3Server {
 public:
  // The server, or none when versitygw is not installed (a failure in CI).
  static std::unique_ptr<S3Server> start_own() {
    auto server = std::unique_ptr<S3Server>(new S3Server());
    for (int attempt = 1;; ++attempt) {
      server->port_ = free_port();
      const int status = server->run(fmt::format("start {} {} >/dev/null", server->folder().string(), server->port_));
      if (status == 0) {
        return server;
      }
      if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {  // no versitygw
        if (std::getenv("CI") != nullptr) {
          ADD_FAILURE() << "versitygw is missing: scripts/setup.sh installs it";
        }
        return nullptr;
      }
      if (attempt == 3) {  // the port was taken meanwhile, twice
        ADD_FAILURE() << "cannot start an S3 server of the test's own (scripts/s3_server.sh)";
        return nullptr;
      }
    }
  }
  ~S3Server() { run("stop --purge " + folder().string()); }
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  void stop() const { ASSERT_EQ(run("stop " + folder().string()), 0); }
  void start() const { ASSERT_EQ(run(fmt::format("start {} {} >/dev/null", folder().string(), port_)), 0); }

  // The keys and bucket scripts/s3_server.sh sets up.
  [[nodiscard]] tessera::StorageOptions options() const {
    return {{"endpoint", fmt::format("http://127.0.0.1:{}", port_)},
            {"access_key_id", "tessera"},
            {"secret_access_key", "tessera-secret"},
            {"region", "us-east-1"}};
  }
  static std::string fresh_root(const std::string& name) {
    return fmt::format("s3://tessera-test/{}-{}", name, std::random_device{}());
  }

 private:
  S3Server() = default;
  [[nodiscard]] fs::path folder() const { return dir_.path() / "server"; }
  // A port the kernel just handed out and took back: free, barring a race
  // (start_own then tries another).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    if (fd >= 0) {
      ::close(fd);
    }
    return port;
  }
  int run(const std::string& arguments) const {
    std::fflush(nullptr);
    return std::system(fmt::format("{}/scripts/s3_server.sh {}", TESSERA_SOURCE_DIR, arguments).c_str());
  }
  TempDir dir_;
  int port_ = 0;
};

}  // namespace

TEST(S3Outage, MultipartUploadCutOffLeavesNoObjectAndARetryCompletes) {
  const auto server = S3Server::start_own();
  if (!server) {
    GTEST_SKIP() << "no S3 server to stop (versitygw is not installed: scripts/setup.sh)";
  }
  TempDir dir;
  auto storage = Storage::open(S3Server::fresh_root("outage"), server->options());
  // 5 MiB parts (the S3 minimum) so that a 12 MiB upload is multipart.
  CPLSetConfigOption("VSIS3_CHUNK_SIZE", "5");
  // The source is a pipe: the first parts go up, then the server stops,
  // then the rest arrives.
  const fs::path pipe = dir.path() / "source.fifo";
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  auto upload =
      std::async(std::launch::async, [&] { return error_of([&] { storage->put_file("big/object.bin", pipe); }); });
  {
    std::ofstream writer(pipe, std::ios::binary);
    writer << std::string(9 * kMiB, 'a') << std::flush;  // put_file reads 8 MiB: one part goes up
    std::this_thread::sleep_for(std::chrono::seconds(1));
    server->stop();
    writer << std::string(3 * kMiB, 'b');
  }
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(upload.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "the upload hung";
  const std::string error = upload.get();
  CPLSetConfigOption("VSIS3_CHUNK_SIZE", nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_NE(error.find("big/object.bin"), std::string::npos) << "no clear error: '" << error << "'";
  server->start();
  EXPECT_FALSE(storage->exists("big/object.bin")) << "a partial object is visible";
  EXPECT_TRUE(storage->list("big/").empty());
  write_file(dir.path() / "source.bin", 12 * kMiB, 'c');
  storage->put_file("big/object.bin", dir.path() / "source.bin");
  EXPECT_EQ(storage->stat("big/object.bin").size, 12 * kMiB);
}

TEST(S3Outage, PackageJobFailsCleanlyAndARerunCompletes) {
  const auto server = S3Server::start_own();
  if (!server) {
    GTEST_SKIP() << "no S3 server to stop (versitygw is not installed: scripts/setup.sh)";
  }
  TempDir dir;
  auto storage = Storage::open(S3Server::fresh_root("package-outage"), server->options());
  auto processor = std::make_shared<BulkProcessor>(kMiB);
  std::promise<void> open_gate;
  processor->gate = open_gate.get_future().share();
  tessera::Packager packager(*storage);
  packager.register_processor("bulk", processor);
  packager.add_boundaries(write_boundary(dir.path()).string());
  tessera::BuildOptions options;
  options.job_id = "outage";
  auto job = std::async(std::launch::async, [&] {
    ErrorCode code{};
    std::string error = error_of([&] { packager.build("square", kBulkDataset, options); }, &code);
    return std::make_pair(code, error);
  });
  ASSERT_EQ(processor->started.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  server->stop();
  open_gate.set_value();
  ASSERT_EQ(job.wait_for(std::chrono::seconds(120)), std::future_status::ready) << "the job hung";
  const auto [code, error] = job.get();
  EXPECT_TRUE(code == ErrorCode::kUnavailable || code == ErrorCode::kIo) << error;
  EXPECT_NE(error.find("package job outage: "), std::string::npos) << error;
  EXPECT_NE(error.find(storage->root_uri()), std::string::npos) << error;
  server->start();
  EXPECT_FALSE(storage->exists("square/datasets/bulk/1/bulk.bin")) << "a partial output is visible";
  EXPECT_FALSE(storage->exists("square/datapackage.json"));
  // A re-run once the server is back completes (the lock whose release
  // failed during the outage is taken over) and publishes the whole output.
  processor->gate = {};
  const auto started = std::chrono::steady_clock::now();
  const json package = packager.build("square", kBulkDataset, options);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
  EXPECT_EQ(package["resources"][0]["bytes"], kMiB);
  EXPECT_EQ(packager.job_status("outage")["status"], "completed");
  EXPECT_EQ(storage->stat("square/datasets/bulk/1/bulk.bin").size, kMiB);
}
