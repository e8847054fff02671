"""Tiling benchmark (the tiling issue): tessera vs rio-tiler on a Sentinel-2-like COG.

Generates (once) a 10980x10980 uint16 DEFLATE COG with 512-pixel blocks and
overviews, picks 200 WebMercatorQuad tiles over zooms 8-14, and measures in
one run:

* throughput, tiles/s: `tessera.read_tile` vs rio-tiler `Reader.tile` (one
  Reader per thread, reused; and opened per tile as TiTiler does), raw arrays
  and PNG output, 1 and 2 threads, with a warm and with a cold GDAL block
  cache;
* the decode floor: per tile, only the compressed blocks of the overview
  level the tile is read from, read and decoded once (rasterio windowed read
  of the block-aligned window), against tessera and rio-tiler under the same
  conditions (block cache emptied before every tile).

rio-tiler runs from a venv of its own under the work dir (pins in
bench/peer_env.py), made on first use; the script re-runs itself there, with
the installed tessera package linked in, so both libraries share one process.
Prints a markdown section and writes it into BENCHMARKS.md as "## Tiling".
Not part of the test suite.

    python3 bench/tiling_bench.py                      # work dir /tmp/tessera-tiling-bench
    python3 bench/tiling_bench.py --rounds 3 --no-write
"""

import argparse
import concurrent.futures
import ctypes
import math
import os
import platform
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work_dir", nargs="?", default="/tmp/tessera-tiling-bench")
    parser.add_argument("--tiles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"))
    return parser.parse_args()


if __name__ == "__main__":
    # Before rasterio and rio-tiler are imported: they are the venv's.
    peer_env.reexec_in(peer_env.ensure_peer(parse_args().work_dir, "rio-tiler", with_tessera=True))

# Same GDAL configuration for both libraries (tessera applies these defaults
# to its own GDAL unless set; TiTiler recommends them for rasterio). Set
# before either GDAL initialises so both read them from the environment.
for _key, _value in {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "VSI_CACHE": "TRUE",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
}.items():
    os.environ.setdefault(_key, _value)

import morecantile  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
import rasterio.shutil  # noqa: E402
import rio_tiler  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402
from rasterio.warp import calculate_default_transform, transform_bounds  # noqa: E402
from rasterio.windows import Window  # noqa: E402
from rio_tiler.io import Reader  # noqa: E402
from rio_tiler.profiles import img_profiles  # noqa: E402

import tessera  # noqa: E402

SIZE = 10980
BLOCK = 512
ORIGIN = (399960.0, 5300040.0)  # a real Sentinel-2 tile's (33TWN-like) upper-left corner
CRS = "EPSG:32633"
RESCALE = (0, 10000)
COLD_CACHE_BYTES = 8 * 1024 * 1024
AGREEMENT_TILES = 40
ZOOMS = range(8, 15)


# --------------------------------------------------------------------------- COG


def _value_noise(rng, scale, rows, cols, grid_cache, key, smooth=True):
    """Random grid every `scale` pixels, interpolated (bilinear or nearest) at rows x cols."""
    if key not in grid_cache:
        cells = SIZE // scale + 2
        grid_cache[key] = rng.standard_normal((cells, cells)).astype(np.float32)
    grid = grid_cache[key]
    gy = rows / scale
    gx = cols / scale
    iy = np.floor(gy).astype(np.int64)
    ix = np.floor(gx).astype(np.int64)
    if not smooth:
        return grid[iy][:, ix]
    fy = (gy - iy).astype(np.float32)[:, None]
    fx = (gx - ix).astype(np.float32)[None, :]
    # smoothstep weights: no visible grid lines
    fy = fy * fy * (3 - 2 * fy)
    fx = fx * fx * (3 - 2 * fx)
    top = grid[iy][:, ix] * (1 - fx) + grid[iy][:, ix + 1] * fx
    bottom = grid[iy + 1][:, ix] * (1 - fx) + grid[iy + 1][:, ix + 1] * fx
    return top * (1 - fy) + bottom * fy


def generate_cog(path):
    """Sentinel-2-like band: gradients, smooth multi-scale noise, field-like patches,
    sensor noise, a no-data swath edge; written in 512-row strips, then COG-copied."""
    raw = path.with_name(path.stem + ".raw.tif")
    rng = np.random.default_rng(20261121)
    grids = {}
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 1,
        "dtype": "uint16",
        "crs": CRS,
        "transform": from_origin(ORIGIN[0], ORIGIN[1], 10.0, 10.0),
        "nodata": 0,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
    }
    cols = np.arange(SIZE, dtype=np.float64)
    started = time.perf_counter()
    with rasterio.open(raw, "w", **profile) as dst:
        for row0 in range(0, SIZE, BLOCK):
            height = min(BLOCK, SIZE - row0)
            rows = np.arange(row0, row0 + height, dtype=np.float64)
            value = (1400 + 900 * (cols / SIZE))[None, :] + (600 * (rows / SIZE))[:, None]
            for scale, amplitude in ((2048, 900), (512, 500), (128, 250), (32, 90)):
                value = value + amplitude * _value_noise(rng, scale, rows, cols, grids, scale)
            value = value + 220 * _value_noise(rng, 40, rows, cols, grids, "fields", smooth=False)
            value = value + rng.normal(0, 18, size=(height, SIZE)).astype(np.float32)
            data = np.clip(value, 1, 10000).astype(np.uint16)
            # no-data beyond a diagonal swath edge, as on many Sentinel-2 tiles
            edge = 0.3 * SIZE * (1 - rows / SIZE)
            data[cols[None, :] < edge[:, None]] = 0
            dst.write(data, 1, window=Window(0, row0, SIZE, height))
    tmp = path.with_name(path.name + ".tmp")
    rasterio.shutil.copy(
        raw,
        tmp,
        driver="COG",
        COMPRESS="DEFLATE",
        PREDICTOR="YES",
        BLOCKSIZE=str(BLOCK),
        OVERVIEW_RESAMPLING="AVERAGE",
        RESAMPLING="AVERAGE",
    )
    os.replace(tmp, path)
    raw.unlink()
    return time.perf_counter() - started


def ensure_cog(work_dir):
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "s2-like-b04.tif"
    if path.exists():
        with rasterio.open(path) as src:
            if src.width == SIZE and src.height == SIZE and src.overviews(1):
                return path, None
    return path, generate_cog(path)


# --------------------------------------------------------------------------- tiles


def pick_tiles(path, count, seed):
    """`count` WebMercatorQuad tiles over zooms 8-14 that overlap the raster, spread
    evenly over the zooms (all of a zoom when it has fewer), in a shuffled order."""
    tms = morecantile.tms.get("WebMercatorQuad")
    with rasterio.open(path) as src:
        lonlat = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        raster = src.bounds
        crs = src.crs
    available = {}
    for z in ZOOMS:
        tiles = []
        for tile in tms.tiles(*lonlat, [z]):
            b = tms.xy_bounds(tile)
            left, bottom, right, top = transform_bounds("EPSG:3857", crs, *b, densify_pts=21)
            if left < raster.right and right > raster.left and bottom < raster.top and top > raster.bottom:
                tiles.append((z, tile.x, tile.y))
        available[z] = tiles
    rng = random.Random(seed)
    chosen = []
    remaining = count
    by_size = sorted(ZOOMS, key=lambda z: len(available[z]))
    for n, z in enumerate(by_size):
        quota = remaining // (len(by_size) - n)
        take = min(quota, len(available[z]))
        chosen += rng.sample(available[z], take)
        remaining -= take
    rng.shuffle(chosen)
    return chosen


# --------------------------------------------------------------------------- GDAL block caches


class BlockCaches:
    """GDAL's block cache of both libraries in this process: tessera's (the system
    libgdal) and rasterio's (its bundled libgdal), driven through ctypes."""

    def __init__(self):
        paths = []
        with open("/proc/self/maps") as maps:
            for line in maps:
                name = line.split()[-1]
                if re.search(r"/libgdal[^/]*\.so", name) and name not in paths:
                    paths.append(name)
        self.libs = {}
        for path in paths:
            lib = ctypes.CDLL(path)
            lib.GDALGetCacheMax64.restype = ctypes.c_int64
            lib.GDALGetCacheUsed64.restype = ctypes.c_int64
            lib.GDALSetCacheMax64.argtypes = [ctypes.c_int64]
            self.libs[path] = lib
        if len(self.libs) != 2:
            raise SystemExit(f"expected two libgdal in the process (tessera's, rasterio's), found {paths}")
        self.default = {path: lib.GDALGetCacheMax64() for path, lib in self.libs.items()}
        # tessera's: the one rasterio did not bring
        self.system = next(lib for path, lib in self.libs.items() if "rasterio" not in path)

    def set_max(self, size):
        for path, lib in self.libs.items():
            lib.GDALSetCacheMax64(self.default[path] if size is None else size)

    def flush(self):
        """Drops every cached block (setting the limit to 0 evicts them all)."""
        for lib in self.libs.values():
            size = lib.GDALGetCacheMax64()
            lib.GDALSetCacheMax64(0)
            lib.GDALSetCacheMax64(size)

    def used(self):
        return sum(lib.GDALGetCacheUsed64() for lib in self.libs.values())


# --------------------------------------------------------------------------- the calls measured


TILESIZE = 256  # rio-tiler 9 takes the tile matrix's size unless told; named on both sides


class Peer:
    """rio-tiler: one Reader per thread, opened once and reused."""

    def __init__(self, href):
        self.href = href
        self.local = threading.local()

    def reader(self):
        reader = getattr(self.local, "reader", None)
        if reader is None:
            reader = self.local.reader = Reader(self.href)
        return reader

    def raw(self, tile):
        z, x, y = tile
        return self.reader().tile(x, y, z, tilesize=TILESIZE)

    def png(self, tile):
        img = self.raw(tile)
        img.rescale(in_range=(RESCALE,))
        return img.render(img_format="PNG", **img_profiles.get("png"))

    def raw_open_per_tile(self, tile):
        z, x, y = tile
        with Reader(self.href) as reader:
            return reader.tile(x, y, z, tilesize=TILESIZE)


def tessera_raw(href):
    def call(tile):
        z, x, y = tile
        return tessera.read_tile(href, x, y, z, tilesize=TILESIZE)

    return call


def tessera_png(href):
    def call(tile):
        z, x, y = tile
        return tessera.read_tile(href, x, y, z, tilesize=TILESIZE).render(format="png", rescale=[RESCALE])

    return call


# --------------------------------------------------------------------------- the decode floor


class Floor:
    """Per tile: the block-aligned window of the overview level the tile is read
    from, covering the tile's footprint in the raster CRS; read with rasterio
    (datasets opened once per level, block cache emptied before each tile)."""

    def __init__(self, path):
        self.path = path
        with rasterio.open(path) as src:
            self.crs = src.crs
            self.width = src.width
            self.height = src.height
            levels = len(src.overviews(1))
            dst, _, _ = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height, *src.bounds)
            self.native_3857 = dst.a  # the raster's resolution in metres of EPSG:3857
        self.datasets = {-1: rasterio.open(path)}
        for level in range(levels):
            self.datasets[level] = rasterio.open(path, OVERVIEW_LEVEL=level)
        self.tms = morecantile.tms.get("WebMercatorQuad")

    def level_for(self, factor):
        """GDAL's (and tessera's) rule for nearest: the coarsest overview whose
        decimation is below 1.2x the requested one."""
        best, best_resolution = -1, 0.0
        for level, ds in self.datasets.items():
            if level < 0:
                continue
            resolution = min(self.width / ds.width, self.height / ds.height)
            if resolution >= factor * 1.2 or resolution <= best_resolution:
                continue
            best, best_resolution = level, resolution
            if abs(factor - resolution) < 0.1:
                break
        return best

    def plan(self, tile, tilesize=256):
        z, x, y = tile
        b = self.tms.xy_bounds(morecantile.Tile(x, y, z))
        factor = min((b.right - b.left), (b.top - b.bottom)) / tilesize / self.native_3857
        level = self.level_for(factor) if factor > 1 else -1
        ds = self.datasets[level]
        left, bottom, right, top = transform_bounds("EPSG:3857", self.crs, b.left, b.bottom, b.right, b.top, densify_pts=21)
        inverse = ~ds.transform
        col0, row0 = inverse * (left, top)
        col1, row1 = inverse * (right, bottom)
        col0 = max(0, math.floor(col0) // BLOCK * BLOCK)
        row0 = max(0, math.floor(row0) // BLOCK * BLOCK)
        col1 = min(ds.width, -(-math.ceil(col1) // BLOCK) * BLOCK)
        row1 = min(ds.height, -(-math.ceil(row1) // BLOCK) * BLOCK)
        window = Window(col0, row0, col1 - col0, row1 - row0)
        blocks = (-(-(col1 - col0) // BLOCK)) * (-(-(row1 - row0) // BLOCK))
        return level, window, blocks

    def reader(self, plans):
        def call(tile):
            level, window, _ = plans[tile]
            return self.datasets[level].read(1, window=window)

        return call


class SystemGdalFloor:
    """The same reads as Floor, through the system libgdal tessera links (ctypes):
    separates the cost of the GDAL/libtiff build from tessera's own work."""

    def __init__(self, lib, path, levels):
        self.lib = lib
        lib.GDALAllRegister()
        lib.GDALOpenEx.restype = ctypes.c_void_p
        lib.GDALOpenEx.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.GDALGetRasterBand.restype = ctypes.c_void_p
        lib.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.GDALRasterIO.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                     ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                     ctypes.c_int, ctypes.c_int]
        lib.GDALClose.argtypes = [ctypes.c_void_p]
        self.handles = {}
        self.bands = {}
        for level in levels:
            options = (ctypes.c_char_p * 2)(f"OVERVIEW_LEVEL={level}".encode() if level >= 0 else None, None)
            handle = lib.GDALOpenEx(str(path).encode(), 0x02, None, options if level >= 0 else None, None)
            if not handle:
                raise SystemExit(f"system GDAL cannot open {path} at overview level {level}")
            self.handles[level] = handle
            self.bands[level] = lib.GDALGetRasterBand(handle, 1)

    def reader(self, plans):
        def call(tile):
            level, window, _ = plans[tile]
            width, height = int(window.width), int(window.height)
            out = np.empty((height, width), dtype=np.uint16)
            error = self.lib.GDALRasterIO(self.bands[level], 0, int(window.col_off), int(window.row_off), width,
                                          height, out.ctypes.data, width, height, 2, 0, 0)  # GF_Read, GDT_UInt16
            if error:
                raise RuntimeError(f"system GDAL read failed for {tile}")
            return out

        return call

    def close(self):
        for handle in self.handles.values():
            self.lib.GDALClose(handle)


# --------------------------------------------------------------------------- timing


def run_serial(call, tiles):
    start = time.perf_counter()
    for tile in tiles:
        call(tile)
    return time.perf_counter() - start


def run_parallel(pool, call, tiles):
    start = time.perf_counter()
    for _ in pool.map(call, tiles):
        pass
    return time.perf_counter() - start


def run_flushed(call, tiles, caches):
    """Block caches emptied before every tile (not timed); per-tile times."""
    times = []
    for tile in tiles:
        caches.flush()
        start = time.perf_counter()
        call(tile)
        times.append(time.perf_counter() - start)
    return times


def median(values):
    return statistics.median(values)


# --------------------------------------------------------------------------- report


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        ram_kib = int(info.readline().split()[1])
    return f"{os.cpu_count()} vCPU ({len(os.sched_getaffinity(0))} usable), {cpu}, {ram_kib / 2**20:.0f} GiB RAM, Linux {platform.release()}"


def versions():
    """What this process runs: the peer venv's packages (the script re-runs itself there)."""
    deps = tessera.dependency_versions()
    return (
        f"tessera {deps.get('tessera')} (system GDAL {deps.get('gdal')}, PROJ {deps.get('proj')}); "
        f"rio-tiler {rio_tiler.__version__}, rasterio {rasterio.__version__} (bundled GDAL {rasterio.__gdal_version__}), "
        f"morecantile {morecantile.__version__} (rio-tiler's venv, tessera linked in); "
        f"numpy {np.__version__}, Python {platform.python_version()}"
    )


def fmt_rate(value):
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


NOTES = "### Where the time goes"


def replace_section(text, section):
    """Replaces the '## Tiling' section (up to the next '## ' heading) or appends it;
    a hand-written NOTES subsection at its end is kept."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "## Tiling"), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    notes = next((i for i in range(start, end) if lines[i].rstrip() == NOTES), None)
    if notes is not None:
        section = section + "\n" + "".join(lines[notes:end]).rstrip("\n") + "\n"
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + tail if tail else "")


def main():
    args = parse_args()
    total_start = time.perf_counter()
    load_start = os.getloadavg()[0]

    path, generated = ensure_cog(Path(args.work_dir))
    href = str(path)
    tessera.configure(allowed_roots=[str(path.parent)])
    with rasterio.open(path) as src:
        cog = {
            "size_mb": path.stat().st_size / 1e6,
            "overviews": src.overviews(1),
            "ratio": src.width * src.height * 2 / path.stat().st_size,
            "profile": f"{src.profile.get('compress')}, predictor {src.tags(ns='IMAGE_STRUCTURE').get('PREDICTOR', '?')}",
        }
    if generated is not None:
        print(f"generated {path} in {generated:.1f} s", file=sys.stderr)
    tiles = pick_tiles(path, args.tiles, args.seed)
    per_zoom = {z: sum(1 for t in tiles if t[0] == z) for z in ZOOMS}
    print(f"{len(tiles)} tiles, per zoom {per_zoom}", file=sys.stderr)

    caches = BlockCaches()
    peer = Peer(href)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)
    floor = Floor(path)
    plans = {tile: floor.plan(tile) for tile in tiles}

    # Sanity: same pixels on both sides (not timed).
    same = total = 0
    for tile in tiles[:AGREEMENT_TILES]:
        a = tessera.read_tile(href, tile[1], tile[2], tile[0], tilesize=TILESIZE)
        b = peer.raw(tile)
        same += int(np.count_nonzero((a.data == b.data) & ((a.mask > 0) == (b.mask > 0))))
        total += a.data.size
    agreement = same / total

    cases = {
        "raw": [
            ("tessera", 1, tessera_raw(href)),
            ("rio-tiler", 1, peer.raw),
            ("rio-tiler, open per tile", 1, peer.raw_open_per_tile),
            ("tessera", args.threads, tessera_raw(href)),
            ("rio-tiler", args.threads, peer.raw),
            ("rio-tiler, open per tile", args.threads, peer.raw_open_per_tile),
        ],
        "png": [
            ("tessera", 1, tessera_png(href)),
            ("rio-tiler", 1, peer.png),
            ("tessera", args.threads, tessera_png(href)),
            ("rio-tiler", args.threads, peer.png),
        ],
    }
    results = {}  # (cache, output, name, threads) -> [tiles/s per round]
    for cache in ("warm", "cold"):
        caches.set_max(None if cache == "warm" else COLD_CACHE_BYTES)
        flat = [(output, name, threads, call) for output, runs in cases.items() for name, threads, call in runs]
        if cache == "warm":
            # Warm-up: every case once (opens the Readers in the pool's threads, fills the caches).
            for output, name, threads, call in flat:
                run_serial(call, tiles) if threads == 1 else run_parallel(pool, call, tiles)
        for round_ in range(args.rounds):
            order = flat if round_ % 2 == 0 else list(reversed(flat))
            for output, name, threads, call in order:
                seconds = run_serial(call, tiles) if threads == 1 else run_parallel(pool, call, tiles)
                results.setdefault((cache, output, name, threads), []).append(len(tiles) / seconds)
            print(f"{cache} round {round_ + 1}/{args.rounds} done ({time.perf_counter() - total_start:.0f} s)", file=sys.stderr)
    caches.set_max(None)

    # Decode floor, and both libraries under the same conditions.
    system_floor = SystemGdalFloor(caches.system, path, floor.datasets.keys())
    flushed = {"floor": [], "floor, system GDAL": [], "tessera": [], "rio-tiler": []}
    calls = {
        "floor": floor.reader(plans),
        "floor, system GDAL": system_floor.reader(plans),
        "tessera": tessera_raw(href),
        "rio-tiler": peer.raw,
    }
    for round_ in range(args.rounds):
        names = list(calls) if round_ % 2 == 0 else list(reversed(calls))
        for name in names:
            flushed[name].append(run_flushed(calls[name], tiles, caches))
    print(f"floor done ({time.perf_counter() - total_start:.0f} s)", file=sys.stderr)

    def per_tile_median(name, select=None):
        """Median over rounds of the summed per-tile seconds (optionally a subset)."""
        return median([sum(t for tile, t in zip(tiles, run) if select is None or select(tile)) for run in flushed[name]])

    system_floor.close()
    floor_s = per_tile_median("floor")
    system_floor_s = per_tile_median("floor, system GDAL")
    tessera_s = per_tile_median("tessera")
    peer_s = per_tile_median("rio-tiler")
    floor_ratio = tessera_s / floor_s

    # ----- markdown
    rate = {key: median(values) for key, values in results.items()}
    out = []
    out.append("## Tiling\n\n")
    out.append("```sh\npip install --no-build-isolation .      # Release build (pyproject.toml)\n")
    out.append(f"python3 bench/tiling_bench.py {args.work_dir}")
    if args.rounds != 5 or args.tiles != 200 or args.threads != 2 or args.seed != 8:
        out.append(f" --tiles {args.tiles} --rounds {args.rounds} --threads {args.threads} --seed {args.seed}")
    out.append("\n```\n\n")
    load_end = os.getloadavg()[0]
    out.append(
        f"**Machine:** {machine()}; 1-minute load average {load_start:.1f} at the start and {load_end:.1f} at the end "
        f"of the run (other work shares the machine). **Versions:** {versions()}.\n\n"
    )
    out.append(
        f"The COG: {SIZE}x{SIZE} uint16, {CRS}, 10 m pixels from ({ORIGIN[0]:.0f}, {ORIGIN[1]:.0f}), "
        f"COG driver, {cog['profile']}, {BLOCK}-pixel blocks, overviews {cog['overviews']} (average), "
        f"nodata 0 beyond a diagonal swath edge; content is gradients, multi-scale smooth noise, "
        f"field-like patches and sensor noise: {cog['size_mb']:.0f} MB, {cog['ratio']:.2f}:1 compression. "
        f"{len(tiles)} WebMercatorQuad tiles (256 px, nearest) over zooms 8-14 overlapping it "
        f"(per zoom: {', '.join(f'z{z} {n}' for z, n in per_zoom.items())}; seed {args.seed}), shuffled, "
        f"the same list for every case. Each figure is the median of {args.rounds} rounds over all "
        f"tiles (cases in alternating order each round; warm rounds follow one untimed pass of every case); one process; "
        f"the file is in the OS page cache throughout. rio-tiler keeps one `Reader` per thread "
        f"(opened during warm-up); \"open per tile\" opens a `Reader` for each tile, as TiTiler does. "
        f"Both sides run with the same GDAL options (`GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`, "
        f"`VSI_CACHE=TRUE`, ...). Raw = the array and mask in numpy; PNG = rescaled {RESCALE[0]}-{RESCALE[1]} to "
        f"uint8, with alpha, zlevel 6 (tessera `render(format=\"png\", rescale=...)`, rio-tiler "
        f"`rescale(in_range=...)` then `render(img_format=\"PNG\", **img_profiles['png'])`). "
        f"Pixels agree on {agreement:.1%} of the first {min(AGREEMENT_TILES, len(tiles))} tiles' pixels (value and mask).\n\n"
    )
    out.append(
        "Caches: **warm** = GDAL's default block cache (each library's own, "
        f"{max(caches.default.values()) / 2**20:.0f} MiB), so after the warm-up every block a tile needs is "
        "already decoded (except \"open per tile\", whose blocks go with the dataset it closes); "
        f"**cold** = block cache limited to {COLD_CACHE_BYTES // 2**20} MiB (16 blocks) in both libraries, "
        "so nearly every tile decodes its blocks.\n\n"
    )
    out.append("### Throughput, tiles/s (ratio = tessera / rio-tiler with a reused Reader)\n\n")
    out.append("| output | threads | cache | tessera | rio-tiler | ratio | rio-tiler, open per tile (tessera's ratio) | ≥ 5× |\n")
    out.append("|---|---|---|---|---|---|---|---|\n")
    ratios = []
    for output in ("raw", "png"):
        for threads in (1, args.threads):
            for cache in ("warm", "cold"):
                t = rate[(cache, output, "tessera", threads)]
                p = rate[(cache, output, "rio-tiler", threads)]
                o = rate.get((cache, output, "rio-tiler, open per tile", threads))
                ratios.append(t / p)
                out.append(
                    f"| {output} | {threads} | {cache} | {fmt_rate(t)} | {fmt_rate(p)} | **{t / p:.2f}×** | "
                    f"{fmt_rate(o) + f' ({t / o:.1f}×)' if o else '—'} | {'met' if t / p >= 5 else '**missed**'} |\n"
                )
    out.append("\n")
    out.append("### Decode floor (1 thread, block caches emptied before every tile, not timed)\n\n")
    out.append(
        "Floor = for each tile, rasterio `read(window=...)` of the block-aligned window covering the "
        "tile's footprint (tile bounds transformed to the raster CRS, 21 points a side) in the overview "
        "level the tile is read from (the coarsest overview with decimation below 1.2x the tile's, "
        "GDAL's rule for nearest, which tessera and GDAL's warper apply), on a dataset opened with "
        "`OVERVIEW_LEVEL` once per level. It includes fetching each needed block's compressed bytes "
        "(page cache), DEFLATE decoding (libdeflate in both GDAL builds), undoing the predictor and "
        "copying into the output array; it excludes opening, reprojection, resampling, masking and "
        "encoding. Blocks per tile: "
        f"{sum(p[2] for p in plans.values()) / len(plans):.2f} on average. tessera and rio-tiler "
        "are timed the same way (per tile, after emptying the caches; datasets stay open).\n\n"
    )
    out.append(
        "The second floor makes the same reads through the system libgdal that tessera links "
        f"(GDAL {tessera.dependency_versions().get('gdal')}, via ctypes), so its gap to the first is the "
        "GDAL/libtiff build's and its gap to tessera is tessera's own work.\n\n"
    )
    out.append(
        "| zoom | tiles | floor, ms/tile | floor, system GDAL | tessera, ms/tile | tessera / floor | "
        "tessera / system-GDAL floor | rio-tiler, ms/tile |\n"
    )
    out.append("|---|---|---|---|---|---|---|---|\n")
    for z in ZOOMS:
        n = per_zoom[z]
        if not n:
            continue
        sel = lambda tile, z=z: tile[0] == z  # noqa: E731
        f, g = per_tile_median("floor", sel), per_tile_median("floor, system GDAL", sel)
        t, p = per_tile_median("tessera", sel), per_tile_median("rio-tiler", sel)
        out.append(
            f"| {z} | {n} | {f / n * 1e3:.2f} | {g / n * 1e3:.2f} | {t / n * 1e3:.2f} | {t / f:.2f} | {t / g:.2f} | "
            f"{p / n * 1e3:.2f} |\n"
        )
    n = len(tiles)
    out.append(
        f"| all | {n} | **{floor_s / n * 1e3:.2f}** ({n / floor_s:,.0f} tiles/s) | "
        f"{system_floor_s / n * 1e3:.2f} ({n / system_floor_s:,.0f} tiles/s) | "
        f"**{tessera_s / n * 1e3:.2f}** ({n / tessera_s:,.0f} tiles/s) | **{floor_ratio:.2f}** | "
        f"{tessera_s / system_floor_s:.2f} | {peer_s / n * 1e3:.2f} ({n / peer_s:,.0f} tiles/s) |\n\n"
    )
    warm_ms = 1e3 / rate[("warm", "raw", "tessera", 1)]
    out.append(
        f"Per tile, tessera spends {tessera_s / n * 1e3:.2f} ms with nothing cached against the floor's "
        f"{floor_s / n * 1e3:.2f} ms, so {(tessera_s - floor_s) / n * 1e3:.2f} ms go to work other than fetching and "
        f"decoding blocks ({(tessera_s - system_floor_s) / n * 1e3:.2f} ms beyond the same reads through its own "
        f"GDAL); with every block already cached (warm, 1 thread) a tile takes {warm_ms:.2f} ms.\n\n"
    )
    min_ratio = min(ratios)
    out.append("### Targets\n\n")
    out.append("| target | result | |\n|---|---|---|\n")
    out.append(
        f"| ≥ 5× rio-tiler throughput | {min(ratios):.2f}× to {max(ratios):.2f}× over the {len(ratios)} settings "
        f"above | {'**MET**' if min_ratio >= 5 else '**MISSED**'} |\n"
    )
    out.append(
        f"| ≤ 1.5× the decode floor | {floor_ratio:.2f}× ({tessera_s / system_floor_s:.2f}× the system-GDAL floor) | "
        f"{'**MET**' if floor_ratio <= 1.5 else '**MISSED**'} |\n\n"
    )
    out.append(
        f"Run time {time.perf_counter() - total_start:.0f} s"
        + (f" (COG generated in {generated:.0f} s)" if generated is not None else " (COG reused)")
        + ".\n"
    )
    section = "".join(out)
    print(section)
    if not args.no_write:
        target = Path(args.benchmarks)
        target.write_text(replace_section(target.read_text(), section))
        print(f"wrote the Tiling section of {target}", file=sys.stderr)
    pool.shutdown()


if __name__ == "__main__":
    main()
