#include "server.hpp"

#include <stdexcept>
#include <utility>

#include "tessera/error.hpp"

namespace tile_server {

tessera::Catalog& ServerContext::require_catalog() const {
  if (!catalog) {
    throw tessera::Error(tessera::ErrorCode::kNotFound, "this server has no catalog (start it with --catalog)");
  }
  return *catalog;
}

TileServer::TileServer(ServerOptions options) {
  context_.options = std::move(options);
  if (!context_.options.catalog_uri.empty()) {
    context_.catalog = tessera::Catalog::open(context_.options.catalog_uri);
  }
  const int threads = context_.options.threads;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  // MapLibre loads its worker as an ES module, which browsers only run when
  // served as JavaScript.
  http_.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  // Search bodies are small; larger ones are refused with 413.
  http_.set_payload_max_length(std::size_t{1} << 20);
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
    send_error(response, std::move(error));
  });
  // Paths no route matches: a JSON 404 like every other error.
  http_.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (response.status == 404 && response.body.empty()) {
      send_json(response, {{"detail", "no such endpoint: " + request.path}}, 404);
    }
  });
  add_cog_routes(http_, context_);
  add_search_routes(http_, context_);
  add_viewer_routes(http_, context_);
}

int TileServer::bind(const std::string& host, int port) {
  const int bound = port == 0 ? http_.bind_to_any_port(host) : (http_.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  }
  return bound;
}

void TileServer::run() { http_.listen_after_bind(); }

void TileServer::stop() { http_.stop(); }

}  // namespace tile_server
