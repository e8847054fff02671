#pragma once

// An HTTP server on loopback for tests (cpp-httplib, in process), and
// tessera's service behind one, as `tessera serve` wraps it.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>

#include "tessera/catalog.hpp"
#include "tessera/service.hpp"

namespace tessera::testing {

// An HTTP server on a loopback port for the test's lifetime, answering
// every request with `handler`; counts the requests it got.
class LoopbackServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    const auto counted = [this](const httplib::Request& request, httplib::Response& response) {
      ++requests_;
      if (request.method == "POST" && request.path.ends_with("/search")) {
        ++searches_;
      } else if (request.method == "GET" && request.path.ends_with("/search")) {
        ++searches_;
      }
      handler_(request, response);
    };
    server_.Get(R"(/.*)", counted);
    server_.Post(R"(/.*)", counted);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop runs would be lost and the join would hang.
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  [[nodiscard]] std::string uri() const { return fmt::format("stac+http://127.0.0.1:{}", port_); }
  [[nodiscard]] std::string base() const { return fmt::format("http://127.0.0.1:{}", port_); }
  [[nodiscard]] int requests() const { return requests_.load(); }
  [[nodiscard]] int searches() const { return searches_.load(); }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> searches_{0};
};

// tessera's service over `catalog`, as `tessera serve` wraps it.
LoopbackServer::Handler service_handler(const tessera::Service& service) {
  return [&service](const httplib::Request& from, httplib::Response& to) {
    tessera::HttpRequest request;
    request.method = from.method;
    request.path = from.path;
    request.query.assign(from.params.begin(), from.params.end());
    request.headers.assign(from.headers.begin(), from.headers.end());
    request.body = from.body;
    tessera::HttpResponse response = service.handle(request);
    to.status = response.status;
    const std::string* content_type = response.header("Content-Type");
    to.set_content(std::move(response.body), content_type != nullptr ? *content_type : "application/json");
  };
}

// A catalog served by tessera's service on a loopback port, for as long as
// it lives (the server stops before the service goes).
class ServedCatalog {
 public:
  explicit ServedCatalog(Catalog& catalog) : service_(catalog), server_(service_handler(service_)) {}

  // The catalog URI reading it back: stac+http://127.0.0.1:PORT.
  [[nodiscard]] std::string uri() const { return server_.uri(); }
  [[nodiscard]] const LoopbackServer& server() const { return server_; }

 private:
  Service service_;
  LoopbackServer server_;
};

}  // namespace tessera::testing
