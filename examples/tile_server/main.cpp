// tessera_tile_server: tessera::Service embedded in an HTTP server of one's
// own (cpp-httplib here). The service answers requests given as data: the
// tile routes (/cog/..., /searches/...), the map viewer at /viewer/, and the
// STAC API when a catalog is given. `tessera serve` (cli/serve_command.cpp)
// is the complete server (thread pool sizing, keep-alive, graceful stop,
// access control); this is the few lines any host needs. See docs/service.md.
//
//   tessera_tile_server --allowed-root /data [--catalog sqlite:///data/c.db] [--port 8000]

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>
#include <CLI/CLI.hpp>

#include "tessera/catalog.hpp"
#include "tessera/environment.hpp"
#include "tessera/service.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tessera tile server: TiTiler-style tiles of COGs and catalog mosaics, with a map viewer"};
  std::string catalog_uri;
  std::string host = "127.0.0.1";
  int port = 8000;
  tessera::ReaderConfig reader = tessera::reader_config();
  tessera::ServiceOptions options;
  options.viewer_dir = TILE_SERVER_VIEWER_DIR;
  app.add_option("--catalog", catalog_uri, "Catalog URI for /searches and the STAC API (sqlite:///path.db, ...)");
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port (0: any free port)")->capture_default_str();
  app.add_option("--allowed-root", reader.allowed_roots, "Local folder hrefs may lie in (repeatable)");
  app.add_option("--allowed-prefix", reader.allowed_prefixes, "http(s) URL prefix hrefs may start with (repeatable)");
  app.add_option("--viewer-dir", options.viewer_dir, "The bundled viewer folder")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    tessera::configure(reader);  // the href allow-lists every read obeys
    const std::unique_ptr<tessera::Catalog> catalog =
        catalog_uri.empty() ? nullptr : tessera::Catalog::open(catalog_uri);
    const auto service =
        catalog ? std::make_unique<tessera::Service>(*catalog, options) : std::make_unique<tessera::Service>(options);

    // Every request goes to the service: the HTTP library's request in, its
    // response out. The service is thread-safe; httplib calls it from its pool.
    httplib::Server http;
    http.set_payload_max_length(options.max_body_bytes);
    const auto handler = [&service](const httplib::Request& from, httplib::Response& to) {
      tessera::HttpRequest request;
      request.method = from.method;
      request.path = from.path;  // percent-decoded by httplib
      request.query.assign(from.params.begin(), from.params.end());
      request.headers.assign(from.headers.begin(), from.headers.end());
      request.body = from.body;
      tessera::HttpResponse response = service->handle(request);
      to.status = response.status;
      // httplib sets Content-Type with the body; the other headers as they are.
      const std::string* content_type = response.header("Content-Type");
      for (const auto& [name, value] : response.headers) {
        if (&value != content_type) {
          to.set_header(name, value);
        }
      }
      if (!response.body.empty() || content_type != nullptr) {
        to.set_content(std::move(response.body), content_type != nullptr ? *content_type : std::string());
      }
    };
    for (const auto route : {&httplib::Server::Get, &httplib::Server::Post, &httplib::Server::Put,
                             &httplib::Server::Patch, &httplib::Server::Delete, &httplib::Server::Options}) {
      (http.*route)(R"(/.*)", handler);
    }
    const int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
    if (bound < 0) {
      std::cerr << "tessera_tile_server: cannot listen on " << host << ":" << port << "\n";
      return 1;
    }
    std::cout << "tile server listening on http://" << host << ":" << bound << "/ (viewer: /viewer/)" << std::endl;
    http.listen_after_bind();
  } catch (const std::exception& error) {
    std::cerr << "tessera_tile_server: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
