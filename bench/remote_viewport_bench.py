"""Viewport benchmark of the remote STAC API catalog (issue 19): how many /search requests and how
much time the items of a 63-tile mosaic viewport (9 x 7 WebMercatorQuad tiles) cost through
Catalog.open("stac+http://..."), with the area cache on and off.

The server is tessera's own STAC API (tessera.Service over a SQLite catalog) behind Python's
ThreadingHTTPServer on loopback, which counts the searches it answers and can add a fixed delay
per request (--latency-ms) to stand for a STAC API across a network. Each tile asks
Mosaic.assets_for_tile: the item lookup of Mosaic.tile without the raster reads, which cost the
same either way. The tiles are asked by 8 threads at once (a map client's parallel requests) and
then one after the other. Results are checked equal across the modes and the local catalog.

    PYTHONPATH=build/pyinstall python3 bench/remote_viewport_bench.py [--latency-ms 50]
"""

import argparse
import concurrent.futures
import http.server
import random
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import tessera

ZOOM = 11
CENTER = (10.5, 45.5)  # northern Italy
COLUMNS, ROWS = 9, 7


def make_catalog(path, count, seed=7):
    catalog = tessera.Catalog.open(f"sqlite://{path}")
    catalog.upsert_collection({"type": "Collection", "stac_version": "1.1.0", "id": "s", "description": "bench",
                               "license": "CC-BY-4.0", "links": [],
                               "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                          "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}}})
    rng = random.Random(seed)
    items = []
    for n in range(count):
        x, y, size = rng.uniform(9.0, 12.0), rng.uniform(44.5, 46.5), rng.uniform(0.02, 0.2)
        ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
        items.append({"type": "Feature", "stac_version": "1.1.0", "id": f"i{n:05d}", "collection": "s",
                      "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [x, y, x + size, y + size],
                      "properties": {"datetime": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z",
                                     "eo:cloud_cover": n % 100},
                      "links": [], "assets": {"data": {"href": f"https://data.example.com/{n}.tif"}}})
    report = catalog.load(items)
    assert report["loaded"] == count, report
    return catalog


class CountingServer:
    def __init__(self, service, latency):
        self.searches = 0
        self.requests = 0
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    outer.requests += 1
                    outer.searches += parts.path.endswith("/search")
                if latency:
                    time.sleep(latency)
                status, headers, payload = service.handle(
                    self.command, urllib.parse.unquote(parts.path), urllib.parse.parse_qsl(parts.query),
                    [("Host", self.headers.get("Host", ""))], body)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def viewport():
    import morecantile
    tms = morecantile.tms.get("WebMercatorQuad")
    center = tms.tile(*CENTER, ZOOM)
    return [(center.x + dx, center.y + dy, ZOOM) for dx in range(-(COLUMNS // 2), COLUMNS // 2 + 1)
            for dy in range(-(ROWS // 2), ROWS // 2 + 1)]


def run(mosaic, tiles, threads):
    started = time.perf_counter()
    if threads == 1:
        results = [mosaic.assets_for_tile(x, y, z) for x, y, z in tiles]
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda tile: mosaic.assets_for_tile(*tile), tiles))
    return time.perf_counter() - started, [[entry["id"] for entry in result] for result in results]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tiles = viewport()
    assert len(tiles) == 63
    search = {"collections": ["s"], "filter": "eo:cloud_cover < 60", "filter-lang": "cql2-text"}
    with tempfile.TemporaryDirectory() as folder:
        local = make_catalog(Path(folder) / "catalog.db", args.items)
        server = CountingServer(tessera.Service(local), args.latency_ms / 1000)
        _, expected = run(tessera.Mosaic(local, search, assets=["data"]), tiles, 1)
        rows = []
        for threads in (8, 1):
            for cache in (True, False):
                remote = tessera.Catalog.open("stac+" + server.base,
                                              stac_api={"search_cache_ttl_ms": 60000 if cache else 0})
                mosaic = tessera.Mosaic.from_registered(remote, remote.register_search(search), assets=["data"])
                times, searches = [], []
                for _ in range(args.rounds):
                    remote.refresh()
                    before = server.searches
                    elapsed, ids = run(mosaic, tiles, threads)
                    assert ids == expected, "the remote viewport differs from the local one"
                    times.append(elapsed)
                    searches.append(server.searches - before)
                rows.append((threads, cache, sorted(searches)[len(searches) // 2], sorted(times)[len(times) // 2]))
        local_time, _ = run(tessera.Mosaic(local, search, assets=["data"]), tiles, 8)
    items_per_tile = sum(map(len, expected)) / len(expected)
    print(f"{args.items} items, {items_per_tile:.1f} per tile on average; added latency {args.latency_ms:g} ms "
          f"per request; medians of {args.rounds} rounds; local SQLite catalog, 8 threads: {local_time * 1000:.0f} ms")
    print("| threads | area cache | searches per viewport | time per viewport |")
    print("|---|---|---|---|")
    for threads, cache, searches, elapsed in rows:
        print(f"| {threads} | {'on' if cache else 'off'} | {searches} | {elapsed * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
