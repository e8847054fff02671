#pragma once

// The SQS/SNS-compatible test server (moto in server mode, on loopback):
// the one scripts/test.sh started (TESSERA_TEST_QUEUE_ENDPOINT), else one of
// this test process's own, started by scripts/queue_server.sh and stopped at
// exit. "" when neither can be had (moto not installed): the tests skip.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include <fmt/format.h>

namespace tessera::testing {

class OwnQueueServer {
 public:
  static const std::string& endpoint() {
    static const OwnQueueServer server;
    return server.endpoint_;
  }
  OwnQueueServer(const OwnQueueServer&) = delete;
  OwnQueueServer& operator=(const OwnQueueServer&) = delete;

 private:
  OwnQueueServer() : owner_(::getpid()) {
    if (const char* shared = std::getenv("TESSERA_TEST_QUEUE_ENDPOINT")) {
      endpoint_ = shared;
      return;
    }
    directory_ =
        (std::filesystem::temp_directory_path() / fmt::format("tsr-queue-{}-{:08x}", owner_, std::random_device{}()))
            .string();
    const std::string command =
        fmt::format("{}/scripts/queue_server.sh start {} {} 2>/dev/null", TESSERA_SOURCE_DIR, directory_, free_port());
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      return;
    }
    std::array<char, 256> line{};
    std::string output;
    while (std::fgets(line.data(), line.size(), pipe) != nullptr) {
      output += line.data();
    }
    if (::pclose(pipe) == 0) {
      endpoint_ = output.substr(0, output.find('\n'));
    }
  }
  ~OwnQueueServer() {
    if (!directory_.empty() && ::getpid() == owner_) {
      const std::string command =
          fmt::format("{}/scripts/queue_server.sh stop --purge {} >/dev/null 2>&1", TESSERA_SOURCE_DIR, directory_);
      (void)std::system(command.c_str());
    }
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  pid_t owner_;
  std::string directory_;
  std::string endpoint_;
};

// The queue server's URL ("" when there is none) and client options for it
// (moto accepts any credentials).
inline const std::string& queue_endpoint() { return OwnQueueServer::endpoint(); }

inline std::map<std::string, std::string> queue_options() {
  return {{"endpoint", queue_endpoint()},
          {"region", "us-east-1"},
          {"access_key_id", "tessera"},
          {"secret_access_key", "tessera-secret"}};
}

// A queue name no other test uses.
inline std::string unique_queue_name(const std::string& stem) {
  return fmt::format("{}-{}-{:08x}", stem, ::getpid(), std::random_device{}());
}

}  // namespace tessera::testing
