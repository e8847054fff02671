"""Zonal statistics benchmark (issue 21): tessera.zonal_statistics vs exactextract on a large raster.

Generates once, in the work dir, a 10,000 x 10,000 float32 GeoTIFF (10 m, EPSG:32633,
DEFLATE, 512-pixel tiles, a no-data hole) and measures, for three zones (polygons of
many vertices covering about 60%, 10% and 0.5% of it), count, sum, mean, min and max
of the zone:

* tessera.zonal_statistics (the `zonal_statistics` geoprocessing built-in: the sketch
  in WGS84, reprojected to the raster's CRS, read window by window at native
  resolution), and
* exactextract's exact_extract on the same polygon in the raster's CRS,

as the median of --rounds runs each, taken in turns (the file in the page cache), one
thread each,
and checks that both agree (count, sum, mean within 1e-6, min and max equal).

exactextract runs from the peer venv `exactextract` (bench/PEERS.md) with tessera linked
in: the script restarts itself there. Prints a markdown section and writes it into
BENCHMARKS.md as "## Geoprocessing: zonal statistics" unless --no-write. Not part of
the test suite.

    PYTHONPATH=build/pyinstall python3 bench/geoprocessing_bench.py /tmp/tessera-geoprocessing-bench
"""

import argparse
import math
import platform
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_env import ensure_peer, installed_versions, reexec_in  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
HEADING = "## Geoprocessing: zonal statistics"
ORIGIN_X, ORIGIN_Y, PIXEL = 400000.0, 5100000.0, 10.0
OPERATIONS = ["count", "sum", "mean", "min", "max"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work_dir", nargs="?", default="/tmp/tessera-geoprocessing-bench")
    parser.add_argument("--size", type=int, default=10000, help="raster width and height in pixels")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"))
    return parser.parse_args()


def ensure_raster(work, size):
    """The benchmark raster (made once per size): a smooth field with noise and a no-data hole."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    path = work / f"field-{size}.tif"
    if path.exists():
        return path
    print(f"writing {path}", file=sys.stderr, flush=True)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": "EPSG:32633", "transform": from_origin(ORIGIN_X, ORIGIN_Y, PIXEL, PIXEL), "nodata": -9999.0,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    partial = path.with_suffix(".partial.tif")
    random = np.random.default_rng(21)
    strip = 512
    with rasterio.open(partial, "w", **profile) as raster:
        columns = np.arange(size, dtype="float64")[np.newaxis, :]
        for top in range(0, size, strip):
            rows = np.arange(top, min(top + strip, size), dtype="float64")[:, np.newaxis]
            values = 100 + 40 * np.sin(rows / 700) * np.cos(columns / 900) + random.normal(0, 3, (len(rows), size))
            hole = (np.abs(rows - size * 0.45) < size * 0.03) & (np.abs(columns - size * 0.4) < size * 0.05)
            values[hole] = -9999.0
            raster.write(values.astype("float32")[np.newaxis], window=Window(0, top, size, len(rows)))
    partial.rename(path)
    return path


def zone(size, share, vertices, centre=(0.5, 0.5)):
    """A wavy polygon in the raster's CRS of about `share` of its area, with `vertices` vertices."""
    extent = size * PIXEL
    radius = extent * math.sqrt(share / math.pi)
    cx, cy = ORIGIN_X + extent * centre[0], ORIGIN_Y - extent * centre[1]
    ring = []
    for n in range(vertices):
        angle = 2 * math.pi * n / vertices
        r = radius * (1 + 0.08 * math.sin(7 * angle) + 0.03 * math.cos(23 * angle))
        ring.append([cx + r * math.cos(angle), cy + r * math.sin(angle)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def to_wgs84(polygon):
    from rasterio.warp import transform_geom

    return transform_geom("EPSG:32633", "EPSG:4326", polygon, precision=-1)


def alternating(first, second, rounds):
    """Medians of `rounds` runs of each function, run in turns (so a change in the machine's load
    weighs on both), and the last results."""
    times = ([], [])
    results = [None, None]
    for _ in range(rounds):
        for index, function in enumerate((first, second)):
            start = time.perf_counter()
            results[index] = function()
            times[index].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1]), results


def measure(raster, name, polygon, rounds):
    from exactextract import exact_extract

    import tessera

    sketch = {"type": "Feature", "properties": {}, "geometry": to_wgs84(polygon)}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    ours_time, theirs_time, (ours, theirs) = alternating(
        lambda: tessera.zonal_statistics(sketch, [str(raster)]),
        lambda: exact_extract(str(raster), [feature], OPERATIONS, output="geojson"), rounds)
    band = ours["rasters"][0]["bands"][0]
    reference = theirs[0]["properties"]
    agree = all(math.isclose(band[key], reference[key], rel_tol=1e-6) for key in ("count", "sum", "mean")) and \
        band["min"] == reference["min"] and band["max"] == reference["max"]
    return {"name": name, "vertices": len(polygon["coordinates"][0]) - 1, "pixels": reference["count"],
            "tessera": ours_time, "exactextract": theirs_time, "agree": agree,
            "largest_difference": max(abs(band[key] - reference[key]) / max(abs(reference[key]), 1e-300)
                                      for key in ("count", "sum", "mean"))}


def section(cases, args, versions, machine):
    import tessera

    deps = tessera.dependency_versions()
    lines = [f"{HEADING}\n\n",
             "```sh\npip install --no-build-isolation --target build/pyinstall .   # Release build\n"
             f"PYTHONPATH=build/pyinstall python3 bench/geoprocessing_bench.py {args.work_dir} "
             f"--size {args.size} --rounds {args.rounds}\n```\n\n",
             f"**Machine:** {machine} (other engineers' builds shared the machine: the times swing, the ratio "
             "measured within one run means more). "
             f"**Versions:** tessera {deps.get('tessera')} (GDAL {deps.get('gdal')}), exactextract "
             f"{versions['exactextract']} with rasterio {versions['rasterio']} (its wheel's GDAL), in the "
             f"`exactextract` peer venv; Python {platform.python_version()}.\n\n",
             f"Raster: {args.size:,} x {args.size:,} float32 GeoTIFF (10 m, EPSG:32633, DEFLATE, 512-pixel tiles, "
             "a no-data hole), in the page cache. Zones: wavy polygons given to tessera in WGS84 (it reprojects "
             "them) and to exactextract in the raster's CRS. Statistics: count, sum, mean, min, max. Times are "
             f"medians of {args.rounds} runs taken in turns, in seconds, one thread each.\n\n",
             "| zone | vertices | pixels covered | tessera | exactextract | exactextract / tessera | agree "
             "(1e-6) | largest relative difference |\n",
             "|---|---|---|---|---|---|---|---|\n"]
    for case in cases:
        lines.append(f"| {case['name']} | {case['vertices']:,} | {case['pixels']:,.0f} | {case['tessera']:.2f} | "
                     f"{case['exactextract']:.2f} | {case['exactextract'] / case['tessera']:.2f}× | "
                     f"{'yes' if case['agree'] else '**NO**'} | {case['largest_difference']:.1e} |\n")
    return "".join(lines)


def write_into(path, text):
    """Puts `text` in place of the HEADING section of `path` (up to the next "## "), or at its end."""
    document = path.read_text()
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated, found = pattern.subn(lambda _: text + "\n", document)
    path.write_text(updated if found else document.rstrip("\n") + "\n\n" + text)


def main():
    args = parse_args()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    reexec_in(ensure_peer(work, "exactextract", with_tessera=True))
    from packaging_bench import machine

    machine_line = machine()
    raster = ensure_raster(work, args.size)
    zones = [("large (60%)", zone(args.size, 0.6, 2000)), ("medium (10%)", zone(args.size, 0.1, 500, (0.3, 0.35))),
             ("small (0.5%)", zone(args.size, 0.005, 100, (0.7, 0.6)))]
    cases = []
    for name, polygon in zones:
        cases.append(measure(raster, name, polygon, args.rounds))
        print(cases[-1], file=sys.stderr, flush=True)
    text = section(cases, args, installed_versions(sys.executable, ["exactextract", "rasterio"]), machine_line)
    print(text)
    if not args.no_write:
        write_into(Path(args.benchmarks), text)
    if not all(case["agree"] for case in cases):
        raise SystemExit("tessera and exactextract disagree (see the table)")


if __name__ == "__main__":
    main()
