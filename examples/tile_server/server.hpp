#pragma once

// The tile server: an HTTP server (cpp-httplib) with TiTiler's endpoints for
// single COGs and registered mosaic searches, plus the map viewer.

#include <memory>
#include <string>

#include <httplib.h>

#include "responses.hpp"
#include "tessera/catalog.hpp"

namespace tile_server {

struct ServerOptions {
  // The catalog mosaic searches run on (empty: only /cog endpoints).
  std::string catalog_uri;
  // The bundled viewer (index.html, viewer.js, ...) served at / and /viewer/.
  std::string viewer_dir;
  // A GeoJSON file served as the viewer's base layer (empty: a 10° graticule).
  std::string basemap_path;
  int threads = 8;
  CachePolicy cache;
};

// What every route handler needs.
struct ServerContext {
  ServerOptions options;
  std::unique_ptr<tessera::Catalog> catalog;

  // The catalog, or NotFound when the server runs without one.
  [[nodiscard]] tessera::Catalog& require_catalog() const;
};

class TileServer {
 public:
  explicit TileServer(ServerOptions options);

  // Binds to host:port (port 0: any free port) and returns the port.
  int bind(const std::string& host, int port);
  // Serves until stop() is called (from another thread or a signal handler).
  void run();
  void stop();

 private:
  ServerContext context_;
  httplib::Server http_;
};

// Adds the routes of each area (cog_routes.cpp, search_routes.cpp,
// viewer_routes.cpp).
void add_cog_routes(httplib::Server& http, const ServerContext& context);
void add_search_routes(httplib::Server& http, const ServerContext& context);
void add_viewer_routes(httplib::Server& http, const ServerContext& context);

}  // namespace tile_server
