"""Tile server load test (issue 10, the tiles issue): tessera's tile routes (`tessera serve`)
against TiTiler, same data, same tile URLs, same run. Two comparisons:

* **COG tiles**: `tessera serve` (no catalog) against TiTiler (titiler.core's
  TilerFactory under uvicorn). Generates (once) a 4096x4096 uint16 DEFLATE COG
  with overviews and lists the WebMercatorQuad tiles over it at zooms 9-13 (PNG,
  rescaled 0-10000, viridis colormap).
* **Mosaic tiles of a registered search**: titiler-pgstac and
  `tessera serve --catalog postgresql://...` on the same pgstac database (a
  throw-away cluster, scripts/pgstac_cluster.sh), and `tessera serve --catalog
  sqlite:///...` holding the same items: bench/mosaic_items.py's 5,000 items
  (generated once). Each server registers the search (the collection) itself;
  the tiles are the mosaic benchmark's 9x7 viewport at z11 and its z12 tiles
  (PNG, assets=data, rescaled 0-3000, viridis). Before timing, every server is
  asked which items each tile reads (`.../assets`), against titiler-pgstac's.

For each server of a comparison, in alternating order each round:

* starts it on loopback (tessera: `tessera serve --threads 8`; the peers:
  `uvicorn --workers 2`, one per core, with the GDAL options tessera applies to
  its own GDAL),
* cycles over the tiles for `--warmup` s (20 by default; the warm-up sizes the
  timed run by its rate),
* runs wrk (Debian) with the Lua script tile_server_requests.lua for as long
  as `--requests` requests take at the warm-up's rate (wrk runs for a
  duration), over `--connections` connections, sampling the server's
  memory (PSS of all its processes, so pages the workers share count once)
  every 0.2 s,
* stops it.

Reports tiles/s, p50/p99 latency, non-200 responses and socket errors, and
memory at the start, peak and end of the timed run (medians of the rounds), and
writes the section "## Tile server" into BENCHMARKS.md. TiTiler and
titiler-pgstac are installed into venvs of their own under the work dir (pins:
bench/peer_env.py) on first use. Not part of the tests.

    cmake --preset release && cmake --build build/release --target tessera_cli
    python3 bench/tile_server_bench.py                 # work dir /tmp/tessera-tile-server-bench
    python3 bench/tile_server_bench.py --rounds 1 --requests 10000 --peer-requests 3000
    python3 bench/tile_server_bench.py --comparisons cog   # no PostgreSQL
"""

import argparse
import json
import math
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import morecantile
import numpy as np
import psycopg
import rasterio
import rasterio.errors
import rasterio.io
import rasterio.warp
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_env  # noqa: E402
from process_memory import process_tree_pss  # noqa: E402
from mosaic_items import COLLECTION, ensure_items, open_catalog, viewport_tiles  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SIZE = 4096
CRS = "EPSG:32632"
ORIGIN = (600000.0, 5100000.0)  # northern Italy, 10 m pixels
ZOOMS = range(9, 14)
MAX_URLS = 400
WARM_SECONDS = 20  # every tile at least once at >= 20 tiles/s
RENDER_QUERY = "rescale=0,10000&colormap_name=viridis"
MOSAIC_QUERY = "assets=data&rescale=0,3000&colormap_name=viridis"
CHECK_TILES = 40  # mosaic tiles whose item lists and pixels are compared across servers
MOSAIC_PEER = "titiler-pgstac"
MOSAIC_PEER_ALL_ITEMS = "titiler-pgstac (no footprint skipping)"
# What tessera sets on its own GDAL unless set (and TiTiler's docs recommend): the peers
# run with the same, or each open of a mosaic item would list its folder of 5,000 files.
PEER_GDAL_ENV = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "VSI_CACHE": "TRUE",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
}
TITILER_APP = """
from fastapi import FastAPI
from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
from titiler.core.factory import TilerFactory

app = FastAPI()
app.include_router(TilerFactory(router_prefix="/cog").router, prefix="/cog")
add_exception_handlers(app, DEFAULT_STATUS_CODES)
"""


def write_cog(path):
    """Smooth gradients plus noise, nodata 0 in one corner: a COG of 4096 px a side."""
    rng = np.random.default_rng(10)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    data = 2000 + 3000 * np.sin(rows / 300) * np.cos(cols / 410) + 2500 * (cols / SIZE)
    data += rng.normal(0, 150, size=(SIZE, SIZE)).astype(np.float32)
    data = np.clip(data, 1, 10000).astype(np.uint16)
    data[rows + cols < SIZE / 4] = 0
    profile = dict(driver="GTiff", width=SIZE, height=SIZE, count=1, dtype="uint16", crs=CRS, nodata=0,
                   transform=from_origin(ORIGIN[0], ORIGIN[1], 10, 10))
    plain = path.with_suffix(".plain.tif")
    with rasterio.open(plain, "w", **profile) as dst:
        dst.write(data, 1)
    subprocess.run(["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2",
                    "-co", "BLOCKSIZE=512", "-co", "OVERVIEW_RESAMPLING=AVERAGE", str(plain), str(path)], check=True)
    plain.unlink()


def tile_paths(cog):
    """Tiles overlapping the raster itself (not just its WGS84 envelope, whose
    corners both servers answer with 404)."""
    with rasterio.open(cog) as src:
        bounds = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        raster = src.bounds
    tms = morecantile.tms.get("WebMercatorQuad")

    def overlaps(tile):
        left, bottom, right, top = rasterio.warp.transform_bounds("EPSG:3857", CRS, *tms.xy_bounds(tile))
        return left < raster.right and right > raster.left and bottom < raster.top and top > raster.bottom

    tiles = [t for z in ZOOMS for t in tms.tiles(*bounds, zooms=[z]) if overlaps(t)]
    random.Random(10).shuffle(tiles)
    query = f"url={urllib.parse.quote(str(cog), safe='')}&{RENDER_QUERY}"
    return [f"/cog/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png?{query}" for t in tiles[:MAX_URLS]]


def mosaic_tiles():
    """The mosaic benchmark's viewport (z11) and the z12 tiles it holds, shuffled."""
    viewport = viewport_tiles()
    children = [(z + 1, 2 * x + dx, 2 * y + dy) for z, x, y in viewport for dy in (0, 1) for dx in (0, 1)]
    tiles = viewport + children
    random.Random(11).shuffle(tiles)
    return tiles


def mosaic_paths(search_id, tiles):
    return [f"/searches/{search_id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png?{MOSAIC_QUERY}" for z, x, y in tiles]


def register_search(base):
    """Registers the collection's search on a server; its id."""
    request = urllib.request.Request(f"{base}/searches/register", method="POST",
                                     data=json.dumps({"collections": [COLLECTION]}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["id"]


def tile_items(base, search_id, tile):
    """Ids of the items a server lists for a mosaic tile (`.../assets`), in its order."""
    z, x, y = tile
    url = f"{base}/searches/{search_id}/tiles/WebMercatorQuad/{z}/{x}/{y}/assets?assets=data"
    with urllib.request.urlopen(url, timeout=60) as response:
        return [entry["id"] for entry in json.load(response)]


def tile_pixels(base, path):
    """The RGBA pixels of a PNG tile (bands x rows x columns)."""
    with urllib.request.urlopen(base + path, timeout=60) as response, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.io.MemoryFile(response.read()) as memory, memory.open() as image:
            return image.read()


def is_subsequence(short, long):
    remaining = iter(long)
    return all(any(entry == candidate for candidate in remaining) for entry in short)


def start_pgstac(args):
    return subprocess.run(["bash", str(REPO / "scripts/pgstac_cluster.sh"), "start", str(args.pg_dir),
                           str(args.pg_port)], check=True, capture_output=True, text=True,
                          start_new_session=True).stdout.strip()


def stop_pgstac(args):
    subprocess.run(["bash", str(REPO / "scripts/pgstac_cluster.sh"), "stop", str(args.pg_dir)],
                   capture_output=True, start_new_session=True)


class Server:
    """A server on 127.0.0.1:`port`, up once `ready_path` answers; its output goes to WORK/<name>.log."""

    def __init__(self, name, command, cwd, port, ready_path, env=None):
        self.name, self.command, self.cwd, self.port, self.ready_path = name, command, cwd, port, ready_path
        self.env = None if env is None else {**os.environ, **env}
        self.base = f"http://127.0.0.1:{port}"
        self.log = Path(cwd) / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".log")

    def __enter__(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=log)
        deadline = time.time() + 90
        while time.time() < deadline and self.process.poll() is None:
            try:
                urllib.request.urlopen(self.base + self.ready_path, timeout=2)
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not start, see {self.log}")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_wrk(port, paths_file, seconds, connections, rss_of=None):
    """wrk's JSON line for a run of `seconds`, plus memory (PSS) samples of `rss_of` (a pid) during it."""
    threads = 2
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(process_tree_pss(rss_of))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample)
    if rss_of:
        sampler.start()
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
         "-s", str(REPO / "bench" / "tile_server_requests.lua"), f"http://127.0.0.1:{port}",
         "--", str(paths_file)],
        check=True, capture_output=True, text=True).stdout
    stop.set()
    if rss_of:
        sampler.join()
    result = json.loads(output.strip().splitlines()[-1])
    result["tiles_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    result["rss"] = samples
    return result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", nargs="?", default="/tmp/tessera-tile-server-bench", type=Path)
    parser.add_argument("--server", type=Path, default=REPO / "build/release/cli/tessera",
                        help="the tessera binary (`tessera serve`)")
    parser.add_argument("--comparisons", default="cog,mosaic",
                        help="which to run: cog (tessera vs TiTiler), mosaic (vs titiler-pgstac; starts PostgreSQL)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10000, help="timed requests for tessera")
    parser.add_argument("--peer-requests", "--titiler-requests", type=int, dest="peer_requests",
                        help="timed requests for TiTiler and titiler-pgstac (default: --requests)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=WARM_SECONDS, help="untimed seconds before each timed run")
    parser.add_argument("--pg-dir", type=Path, default=Path("/tmp/tessera-tile-server-pgstac"))
    parser.add_argument("--pg-port", type=int, default=55493)
    parser.add_argument("--keep-cluster", action="store_true", help="leave the PostgreSQL cluster running")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    args.comparisons = [name.strip() for name in args.comparisons.split(",") if name.strip()]
    unknown = set(args.comparisons) - {"cog", "mosaic"}
    if unknown or not args.comparisons:
        parser.error(f"--comparisons takes cog and/or mosaic, not {sorted(unknown) or 'nothing'}")
    return args


def run_comparison(args, servers):
    """`servers`: {name: (server for a port, its paths file once started)}; each started in turn per round
    (alternating order), warmed up, then timed under wrk. {name: [timed run per round]}."""
    results = {name: [] for name in servers}
    for round_index in range(args.rounds):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        for name in order:
            make, paths_for = servers[name]
            port = free_port()
            with make(port) as server:
                paths_file = paths_for(server)
                paths = paths_file.read_text().split()
                warm = run_wrk(port, paths_file, args.warmup, args.connections)
                if warm["non_200"] or warm["socket_errors"] or warm["requests"] < len(paths):
                    print(f"{name} warm-up: {warm['requests']} requests, {warm['non_200']} non-200, "
                          f"{warm['socket_errors']} socket errors", file=sys.stderr)
                # Long enough for the requests wanted at the warm-up's rate.
                requests = args.requests if name.startswith("tessera") else (args.peer_requests or args.requests)
                seconds = max(5, math.ceil(requests / max(warm["tiles_per_s"], 0.1) * 1.05))
                result = run_wrk(port, paths_file, seconds, args.connections, rss_of=server.process.pid)
            results[name].append(result)
            rss = result["rss"]
            print(f"round {round_index + 1} {name}: {result['tiles_per_s']:.1f} tiles/s, "
                  f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
                  f"{result['requests']} requests, {result['non_200']} non-200, {result['socket_errors']} socket "
                  f"errors, PSS {rss[0] / 2**20:.0f} -> {rss[-1] / 2**20:.0f} MiB (peak {max(rss) / 2**20:.0f})",
                  file=sys.stderr, flush=True)
    return results


def compare_cog(args):
    cog = args.work / "bench.tif"
    if not cog.exists():
        write_cog(cog)
    paths = tile_paths(cog)
    paths_file = args.work / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    python = peer_env.ensure_peer(args.work, "titiler-core")
    (args.work / "titiler_app.py").write_text(TITILER_APP)
    servers = {
        "tessera": (lambda port: Server("tessera", [str(args.server), "serve", "--port", str(port), "--threads", "8",
                                                    "--allowed-root", str(args.work), "--no-viewer", "--no-browser"],
                                        args.work, port, "/healthz"),
                    lambda server: paths_file),
        "TiTiler": (lambda port: Server("TiTiler", [str(python), "-m", "uvicorn", "titiler_app:app", "--host",
                                                    "127.0.0.1", "--port", str(port), "--workers", "2",
                                                    "--log-level", "warning"], args.work, port, "/docs",
                                        env=PEER_GDAL_ENV),
                    lambda server: paths_file),
    }
    return {"results": run_comparison(args, servers), "paths": paths,
            "versions": peer_env.installed_versions(python, ["titiler.core", "uvicorn", "fastapi", "rio-tiler",
                                                             "rasterio"])}


def compare_mosaic(args):
    python = peer_env.ensure_peer(args.work, "titiler-pgstac")
    folder = args.work / "mosaic"
    folder.mkdir(exist_ok=True)
    items, generated = ensure_items(folder)
    if generated is not None:
        print(f"generated {len(items)} mosaic items in {generated:.0f} s", file=sys.stderr)
    tiles = mosaic_tiles()
    pg_url = start_pgstac(args)
    try:
        sqlite_url = f"sqlite://{folder / 'catalog.db'}"
        for url in (pg_url, sqlite_url):
            open_catalog(url, items, fresh=False)
        searches, tile_answers = {}, {}

        def paths_for(server):
            """Registers the search on the server (each does it itself) and writes its tile paths; the first
            time, also fetches the first tiles' item lists and pixels (before any timed request)."""
            search_id = register_search(server.base)
            searches[server.name] = search_id
            paths = mosaic_paths(search_id, tiles)
            if server.name not in tile_answers:
                checked = tiles[:CHECK_TILES]
                tile_answers[server.name] = {
                    "items": {tile: tile_items(server.base, search_id, tile) for tile in checked},
                    "pixels": {tile: tile_pixels(server.base, path) for tile, path in zip(checked, paths)}}
            paths_file = args.work / f"paths-{re.sub(r'[^a-z0-9]+', '-', server.name.lower()).strip('-')}.txt"
            paths_file.write_text("\n".join(paths) + "\n")
            return paths_file

        def tessera_server(name, catalog):
            return (lambda port: Server(name, [str(args.server), "serve", "--catalog", catalog, "--port", str(port),
                                               "--threads", "8", "--allowed-root", str(folder), "--no-viewer",
                                               "--no-browser"], args.work, port, "/healthz"),
                    paths_for)

        peer_cwd = args.work / "peer-cwd"  # no .env file there for pydantic-settings to read
        peer_cwd.mkdir(exist_ok=True)

        def titiler_pgstac(name, settings):
            return (lambda port: Server(name, [str(python), "-m", "uvicorn", "titiler.pgstac.main:app", "--host",
                                               "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level",
                                               "warning"], peer_cwd, port, "/healthz",
                                        env={**PEER_GDAL_ENV, "DATABASE_URL": pg_url, **settings}),
                    paths_for)

        servers = {
            MOSAIC_PEER: titiler_pgstac(MOSAIC_PEER, {}),
            # Its defaults skip items by footprint, no-data or not, which leaves holes where a newer item's
            # no-data edge lies over an older one: this one reads on until the pixels are filled, as tessera.
            MOSAIC_PEER_ALL_ITEMS: titiler_pgstac(MOSAIC_PEER_ALL_ITEMS, {"TITILER_PGSTAC_SEARCH_EXITWHENFULL": "false",
                                                                          "TITILER_PGSTAC_SEARCH_SKIPCOVERED": "false"}),
            "tessera (PgSTAC)": tessera_server("tessera (PgSTAC)", pg_url),
            "tessera (SQLite)": tessera_server("tessera (SQLite)", sqlite_url),
        }
        results = run_comparison(args, servers)
        with psycopg.connect(pg_url) as connection:
            database = [connection.execute("SHOW server_version").fetchone()[0].split()[0],
                        connection.execute("SELECT pgstac.get_version()").fetchone()[0]]
    finally:
        if not args.keep_cluster:
            stop_pgstac(args)
    return {"results": results, "tiles": tiles, "items": len(items), "searches": searches,
            "tile_answers": tile_answers, "database": database,
            "versions": peer_env.installed_versions(python, ["titiler.pgstac", "titiler.core", "titiler.mosaic",
                                                             "rio-tiler", "rasterio", "psycopg", "uvicorn",
                                                             "fastapi"])}


def main():
    args = parse_args()
    args.server = args.server.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()[0]
    measured = {}
    if "cog" in args.comparisons:
        measured["cog"] = compare_cog(args)
    if "mosaic" in args.comparisons:
        measured["mosaic"] = compare_mosaic(args)
    section = report(args, measured, load_before, time.time() - started)
    print(section)
    if not args.no_write:
        write_section(section)


def median(results, key):
    return statistics.median(r[key] for r in results)


def rss_median(results, pick):
    return statistics.median(pick(r["rss"]) for r in results) / 2**20


def table(results):
    rows = ["| server | tiles/s | p50 ms | p99 ms | errors (all rounds) | PSS start MiB | PSS peak MiB | PSS end MiB |",
            "|---|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        rows.append(
            f"| {name} | {median(runs, 'tiles_per_s'):.0f} | {median(runs, 'p50_us') / 1000:.1f} | "
            f"{median(runs, 'p99_us') / 1000:.1f} | {sum(r['non_200'] + r['socket_errors'] for r in runs)} | "
            f"{rss_median(runs, lambda s: s[0]):.0f} | {rss_median(runs, max):.0f} | "
            f"{rss_median(runs, lambda s: s[-1]):.0f} |")
    return "\n".join(rows)


def versus(results, name, peer):
    """'N× the peer's tiles/s with a M× lower p99 latency' for server `name`."""
    ratio = median(results[name], "tiles_per_s") / median(results[peer], "tiles_per_s")
    p99_ratio = median(results[peer], "p99_us") / median(results[name], "p99_us")
    return f"**{ratio:.2f}×** {peer}'s tiles/s with a **{p99_ratio:.2f}×** lower p99 latency"


def memory_growth(runs):
    growth = rss_median(runs, lambda s: s[-1]) - rss_median(runs, lambda s: s[len(s) // 2])
    return f"{growth:+.0f} MiB from its middle to its end (median of rounds), {'flat' if abs(growth) < 10 else 'NOT flat'}"


def requests_made(results):
    return ", ".join(str(r["requests"]) for runs in results.values() for r in runs)


def cog_section(args, measured):
    results, paths, peer = measured["results"], measured["paths"], measured["versions"]
    zooms = sorted({int(p.split("/")[4]) for p in paths})
    return f"""The COG: {SIZE}x{SIZE} uint16, {CRS}, 10 m pixels, COG driver, deflate, predictor 2, 512-pixel blocks, average overviews, nodata 0 in one corner. {len(paths)} WebMercatorQuad tiles over zooms {zooms[0]}-{zooms[-1]} (PNG, 256 px, `{RENDER_QUERY}`), shuffled; the same paths for both servers (`/cog/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?url=...`). TiTiler: titiler.core {peer['titiler.core']} (`TilerFactory` mounted at `/cog`), uvicorn {peer['uvicorn']}, fastapi {peer['fastapi']}, rio-tiler {peer['rio-tiler']}, rasterio {peer['rasterio']}, in a venv of its own. Timed requests sized for {args.requests} (TiTiler: {args.peer_requests or args.requests}); requests made: {requests_made(results)}.

{table(results)}

tessera serves {versus(results, "tessera", "TiTiler")}. tessera's memory over the timed run: {memory_growth(results["tessera"])}.
"""


def mosaic_section(args, measured):
    results, tiles, peer = measured["results"], measured["tiles"], measured["versions"]
    postgres, pgstac = measured["database"]
    searches = measured["searches"]
    ids = "the same id on every server" if len(set(searches.values())) == 1 else \
        "ids " + ", ".join(f"{name} `{value}`" for name, value in searches.items())
    answers = measured["tile_answers"]
    reference = MOSAIC_PEER
    items_of = {name: answers[name]["items"] for name in answers}
    listed = "; ".join(f"{name} {statistics.mean(len(ids) for ids in items_of[name].values()):.1f}"
                       for name in answers)
    checks = []
    for name in answers:
        if name == reference:
            continue
        same = subset = 0
        for tile, theirs in items_of[reference].items():
            ours = items_of[name][tile]
            same += ours == theirs
            subset += ours != theirs and is_subsequence(theirs, ours)
        differ = len(items_of[reference]) - same - subset
        checked = list(items_of[reference])
        total = sum(answers[name]["pixels"][tile][0].size for tile in checked)

        def share(count):
            return f"{sum(count(tile) for tile in checked) / total:.2%}"

        def equal_to(peer):
            return share(lambda tile: int(np.count_nonzero(
                (answers[name]["pixels"][tile] == answers[peer]["pixels"][tile]).all(axis=0))))

        checks.append(f"| {name} | {same} | {subset} | {differ} | {equal_to(reference)} | "
                      f"{equal_to(MOSAIC_PEER_ALL_ITEMS)} | "
                      f"{share(lambda tile: int(np.count_nonzero(answers[name]['pixels'][tile][-1])))} |")
    peer_valid = sum(int(np.count_nonzero(answers[reference]["pixels"][tile][-1])) for tile in items_of[reference])
    peer_valid /= sum(answers[reference]["pixels"][tile][0].size for tile in items_of[reference])
    zooms = sorted({tile[0] for tile in tiles})
    return f"""### Mosaic tiles of a registered search

The items: bench/mosaic_items.py's {measured['items']:,} COGs (256x256 uint16, one block each, in EPSG:32632, EPSG:3857 or EPSG:4326, three layers, 8 to 23 items intersect a z11 tile), one collection, loaded with tessera into a pgstac database (PostgreSQL {postgres}, pgstac {pgstac}, a throw-away cluster of scripts/pgstac_cluster.sh) and into a SQLite catalog. Each server registers `{{"collections": ["{COLLECTION}"]}}` itself (`POST /searches/register`: {ids}). {len(tiles)} WebMercatorQuad tiles, zooms {zooms[0]}-{zooms[-1]} (the mosaic benchmark's 9x7 viewport at z11 and the z12 tiles in it), shuffled; `/searches/{{id}}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?{MOSAIC_QUERY}`, items newest first, first valid pixel wins. Servers: titiler-pgstac {peer['titiler.pgstac']} (its own app, `titiler.pgstac.main:app`, with `DATABASE_URL` and every other setting at its default; titiler.core {peer['titiler.core']}, titiler.mosaic {peer['titiler.mosaic']}, rio-tiler {peer['rio-tiler']}, rasterio {peer['rasterio']}, psycopg {peer['psycopg']}, uvicorn {peer['uvicorn']}, fastapi {peer['fastapi']}, in a venv of its own) under `uvicorn --workers 2`; the same with `TITILER_PGSTAC_SEARCH_EXITWHENFULL=false` and `TITILER_PGSTAC_SEARCH_SKIPCOVERED=false` ("{MOSAIC_PEER_ALL_ITEMS}": pgstac then returns every item the tile intersects, and rio-tiler's mosaic reader stops once the pixels are filled, as tessera does); `tessera serve --catalog postgresql://... --threads 8` on the same database; `tessera serve --catalog sqlite:///... --threads 8`. Tiles repeat during a run (wrk cycles over the list), so a server's caches count (tessera keeps decoded mosaic tiles; titiler-pgstac caches search look-ups). Timed requests sized for {args.requests} (titiler-pgstac: {args.peer_requests or args.requests}); requests made: {requests_made(results)}.

Same tiles? The first {CHECK_TILES} tiles, fetched once from every server before timing: the items each lists for a tile (`/searches/{{id}}/tiles/.../assets`; per tile on average: {listed}) against titiler-pgstac's list, and the PNG pixels (RGBA) against titiler-pgstac's. titiler-pgstac (defaults) lists the items pgstac's `geojsonsearch` returns with its defaults `exitwhenfull` and `skipcovered` (it stops once item footprints cover the tile, whatever their no-data); tessera lists every item the tile intersects, and its reads skip the items that fall only on filled pixels and stop once every pixel is filled (docs/mosaic.md).

| server | same items, same order | titiler-pgstac's items in the same order among more | other | pixels equal to titiler-pgstac's | pixels equal to {MOSAIC_PEER_ALL_ITEMS}'s | valid (alpha) pixels (titiler-pgstac: {peer_valid:.2%}) |
|---|---|---|---|---|---|---|
{chr(10).join(checks)}

{table(results)}

""" + "\n".join(f"{name} serves {versus(results, name, peer_name)}." for name in results if name.startswith("tessera")
                for peer_name in (MOSAIC_PEER, MOSAIC_PEER_ALL_ITEMS)) + "\n"


def report(args, measured, load_before, seconds):
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    command = " ".join(["python3 bench/tile_server_bench.py"] + sys.argv[1:])
    parts = [f"""## Tile server (issue 10)

```sh
cmake --preset release && cmake --build build/release --target tessera_cli
{command}   # installs TiTiler and titiler-pgstac into venvs there
```

**Machine:** {os.cpu_count()} vCPU, {cpu}, {memory:.0f} GiB RAM, Linux {platform.release()}; 1-minute load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (other work shares the machine). **Versions:** tessera 0.1.0 (system GDAL {system_gdal_version()}), cpp-httplib 0.11.4, wrk {wrk_version}; the peers' below; Python {platform.python_version()}.

Servers on loopback, sharing the 2 cores with wrk (2 threads, {args.connections} connections): tessera `tessera serve --threads 8`, the peers `uvicorn --workers 2` (one per core) with the GDAL options tessera applies to its own GDAL ({", ".join(f"`{key}={value}`" for key, value in PEER_GDAL_ENV.items())}). Per server and round: {args.warmup} s untimed over the tiles, then a timed run sized for the requests wanted at the warm-up's rate; memory of the server's processes (PSS, proportional set size, so pages the uvicorn workers share count once) sampled every 0.2 s during the timed run. Medians of {args.rounds} rounds, servers in alternating order.
"""]
    if "cog" in measured:
        parts.append("### COG tiles\n\n" + cog_section(args, measured["cog"]))
    if "mosaic" in measured:
        parts.append(mosaic_section(args, measured["mosaic"]))
    parts.append(f"Run time {seconds:.0f} s.\n")
    return "\n".join(parts)


def system_gdal_version():
    return subprocess.run(["gdal-config", "--version"], capture_output=True, text=True).stdout.strip()


def write_section(section):
    path = REPO / "BENCHMARKS.md"
    text = path.read_text()
    pattern = re.compile(r"## Tile server \(issue 10\)\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(section.strip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
