// tessera_tile_server: serves map tiles of COGs and catalog mosaics over HTTP,
// with a map viewer. See docs/tile_server.md.

#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

#include <CLI/CLI.hpp>

#include "server.hpp"
#include "tessera/tiling.hpp"

namespace {

// SIGINT/SIGTERM stop the server: they are blocked before any thread starts
// (threads inherit the mask) and taken by a thread of their own, which may
// call stop() safely.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tessera tile server: TiTiler-style tiles of COGs and catalog mosaics, with a map viewer"};
  tile_server::ServerOptions options;
  std::string host = "127.0.0.1";
  int port = 8000;
  tessera::ReaderConfig reader = tessera::reader_config();
  options.viewer_dir = TILE_SERVER_VIEWER_DIR;
  app.add_option("--catalog", options.catalog_uri, "Catalog URI for /searches (sqlite:///path.db, postgresql://...)");
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port (0: any free port, printed at start)")->capture_default_str();
  app.add_option("--threads", options.threads, "Request threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--allowed-prefix", reader.allowed_prefixes, "http(s) URL prefix hrefs may start with (repeatable)");
  app.add_option("--allowed-root", reader.allowed_roots, "Local folder hrefs may lie in (repeatable)");
  app.add_option("--viewer-dir", options.viewer_dir, "The bundled viewer folder")->capture_default_str();
  app.add_option("--basemap", options.basemap_path, "GeoJSON file for the viewer's base layer (default: graticule)");
  app.add_option("--cache-max-age", options.cache.max_age_seconds, "Cache-Control max-age of responses, seconds")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const sigset_t stop_signals = block_stop_signals();

  try {
    tessera::configure(reader);
    tile_server::TileServer server(options);
    const int bound_port = server.bind(host, port);
    std::thread signal_thread([&server, &stop_signals] {
      int signal = 0;
      sigwait(&stop_signals, &signal);
      server.stop();
    });
    std::cout << "tile server listening on http://" << host << ":" << bound_port << "/" << std::endl;
    server.run();
    // When the server stopped on its own, the signal thread still waits.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  } catch (const std::exception& error) {
    std::cerr << "tessera_tile_server: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
