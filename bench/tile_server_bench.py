"""Tile server load test (issue 10): tessera's tile routes (`tessera serve`) against
TiTiler (titiler.core served by uvicorn), same COG, same tile URLs, same run.

Generates (once) a 4096x4096 uint16 DEFLATE COG with overviews, lists the
WebMercatorQuad tiles over it at zooms 9-13 (PNG, rescaled 0-10000, viridis
colormap), then for each server, in alternating order each round:

* starts it on loopback (tessera: `tessera serve --threads 8`;
  TiTiler: `uvicorn --workers 2`, one per core),
* cycles over the tiles for 20 s (warm-up: every tile at least once; its
  rate sizes the timed run),
* runs wrk (Debian) with the Lua script tile_server_requests.lua for as long
  as `--requests` requests take at the warm-up's rate (wrk runs for a
  duration), over `--connections` connections, sampling the server's
  resident memory (all its processes) every 0.2 s,
* stops it.

Reports tiles/s, p50/p99 latency, non-200 responses and socket errors, and
RSS at the start, peak and end of the timed run (medians of the rounds), and
writes the section "## Tile server" into BENCHMARKS.md. TiTiler is installed
into a venv of its own (pinned below) on first use. Not part of the tests.

    cmake --preset release && cmake --build build/release --target tessera_cli
    python3 bench/tile_server_bench.py                 # work dir /tmp/tessera-tile-server-bench
    python3 bench/tile_server_bench.py --rounds 1 --requests 10000 --titiler-requests 3000
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
from pathlib import Path

import morecantile
import numpy as np
import rasterio
import rasterio.warp
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parent.parent
TITILER_PACKAGES = ["titiler.core==0.26.0", "uvicorn==0.54.0", "rio-tiler==7.9.6"]
SIZE = 4096
CRS = "EPSG:32632"
ORIGIN = (600000.0, 5100000.0)  # northern Italy, 10 m pixels
ZOOMS = range(9, 14)
MAX_URLS = 400
WARM_SECONDS = 20  # every tile at least once at >= 20 tiles/s
RENDER_QUERY = "rescale=0,10000&colormap_name=viridis"
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


def titiler_python(work):
    venv = work / "titiler-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *TITILER_PACKAGES],
                       check=True)
    (work / "titiler_app.py").write_text(TITILER_APP)
    return python


def process_tree_rss(pid):
    """Resident memory in bytes of a process and all its descendants."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, AttributeError):
            continue
    return total


class Server:
    def __init__(self, name, command, cwd, port):
        self.name, self.command, self.cwd, self.port = name, command, cwd, port

    def __enter__(self):
        self.process = subprocess.Popen(self.command, cwd=self.cwd, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/docs" if self.name == "TiTiler"
                                       else f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)


def run_wrk(port, paths_file, seconds, connections, rss_of=None):
    """wrk's JSON line for a run of `seconds`, plus RSS samples of `rss_of` (a pid) during it."""
    threads = 2
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(process_tree_rss(rss_of))
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", nargs="?", default="/tmp/tessera-tile-server-bench", type=Path)
    parser.add_argument("--server", type=Path,
                        default=REPO / "build/release/cli/tessera")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--titiler-requests", type=int, help="timed requests for TiTiler (default: --requests)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    args.server = args.server.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()[0]

    cog = args.work / "bench.tif"
    if not cog.exists():
        write_cog(cog)
    paths = tile_paths(cog)
    paths_file = args.work / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    python = titiler_python(args.work)

    servers = {
        "tessera": lambda port: Server("tessera", [str(args.server), "serve", "--port", str(port), "--threads", "8",
                                                   "--allowed-root", str(args.work), "--no-viewer"], args.work, port),
        "TiTiler": lambda port: Server("TiTiler", [str(python), "-m", "uvicorn", "titiler_app:app", "--host",
                                                   "127.0.0.1", "--port", str(port), "--workers", "2",
                                                   "--log-level", "warning"], args.work, port),
    }
    results = {name: [] for name in servers}
    for round_index in range(args.rounds):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        for name in order:
            port = free_port()
            with servers[name](port) as server:
                warm = run_wrk(port, paths_file, WARM_SECONDS, args.connections)
                if warm["non_200"] or warm["socket_errors"] or warm["requests"] < len(paths):
                    print(f"{name} warm-up: {warm['requests']} requests, {warm['non_200']} non-200, "
                          f"{warm['socket_errors']} socket errors", file=sys.stderr)
                # Long enough for --requests at the warm-up's rate.
                requests = args.requests if name == "tessera" else (args.titiler_requests or args.requests)
                seconds = max(5, math.ceil(requests / warm["tiles_per_s"] * 1.05))
                result = run_wrk(port, paths_file, seconds, args.connections, rss_of=server.process.pid)
            results[name].append(result)
            rss = result["rss"]
            print(f"round {round_index + 1} {name}: {result['tiles_per_s']:.1f} tiles/s, "
                  f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
                  f"{result['requests']} requests, {result['non_200']} non-200, {result['socket_errors']} socket "
                  f"errors, RSS {rss[0] / 2**20:.0f} -> {rss[-1] / 2**20:.0f} MiB (peak {max(rss) / 2**20:.0f})",
                  flush=True)

    section = report(args, results, paths, load_before, time.time() - started)
    print(section)
    if not args.no_write:
        write_section(section)


def median(results, key):
    return statistics.median(r[key] for r in results)


def rss_median(results, pick):
    return statistics.median(pick(r["rss"]) for r in results) / 2**20


def report(args, results, paths, load_before, seconds):
    titiler_versions = subprocess.run(
        [str(args.work / "titiler-venv/bin/python"), "-c",
         "from importlib.metadata import version as v; print(v('titiler.core'), v('uvicorn'), v('fastapi'), "
         "v('rio-tiler'), v('rasterio'))"], capture_output=True, text=True, check=True).stdout.split()
    zooms = sorted({int(p.split("/")[4]) for p in paths})
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    rows = []
    for name, runs in results.items():
        rows.append(
            f"| {name} | {median(runs, 'tiles_per_s'):.0f} | {median(runs, 'p50_us') / 1000:.1f} | "
            f"{median(runs, 'p99_us') / 1000:.1f} | {sum(r['non_200'] + r['socket_errors'] for r in runs)} | "
            f"{rss_median(runs, lambda s: s[0]):.0f} | {rss_median(runs, max):.0f} | "
            f"{rss_median(runs, lambda s: s[-1]):.0f} |")
    tessera, titiler = results["tessera"], results["TiTiler"]
    ratio = median(tessera, "tiles_per_s") / median(titiler, "tiles_per_s")
    p99_ratio = median(titiler, "p99_us") / median(tessera, "p99_us")
    growth = rss_median(tessera, lambda s: s[-1]) - rss_median(tessera, lambda s: s[len(s) // 2])
    return f"""## Tile server (issue 10)

```sh
cmake --preset release && cmake --build build/release --target tessera_cli
python3 bench/tile_server_bench.py /tmp/tessera-tile-server-bench   # installs TiTiler into a venv there
```

**Machine:** {os.cpu_count()} vCPU, {cpu}, {memory:.0f} GiB RAM, Linux {platform.release()}; 1-minute load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (other work shares the machine). **Versions:** tessera 0.1.0 (Release, system GDAL {system_gdal_version()}), cpp-httplib 0.11.4, wrk {wrk_version}; titiler.core {titiler_versions[0]}, uvicorn {titiler_versions[1]}, fastapi {titiler_versions[2]}, rio-tiler {titiler_versions[3]}, rasterio {titiler_versions[4]}; Python {platform.python_version()}.

The COG: {SIZE}x{SIZE} uint16, {CRS}, 10 m pixels, COG driver, deflate, predictor 2, 512-pixel blocks, average overviews, nodata 0 in one corner. {len(paths)} WebMercatorQuad tiles over zooms {zooms[0]}-{zooms[-1]} (PNG, 256 px, `{RENDER_QUERY}`), shuffled; the same paths for both servers (`/cog/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?url=...`). Servers on loopback, sharing the 2 cores with wrk (2 threads, {args.connections} connections): tessera `tessera serve --threads 8` (no catalog), TiTiler `uvicorn --workers 2`. Per server and round: 20 s untimed over the tiles (each at least once), then a timed run sized for {args.requests} requests (TiTiler: {args.titiler_requests or args.requests}) at the warm-up's rate (requests made: {", ".join(str(r["requests"]) for runs in results.values() for r in runs)}); RSS of the server's processes sampled every 0.2 s during the timed run. Medians of {args.rounds} rounds, servers in alternating order.

| server | tiles/s | p50 ms | p99 ms | errors (all rounds) | RSS start MiB | RSS peak MiB | RSS end MiB |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

tessera serves **{ratio:.2f}×** TiTiler's tiles/s with a **{p99_ratio:.2f}×** lower p99 latency. tessera's memory over the timed run: {growth:+.0f} MiB from its middle to its end (median of rounds), {"flat" if abs(growth) < 10 else "NOT flat"}.

Run time {seconds:.0f} s.
"""


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
