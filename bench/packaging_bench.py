"""Packaging benchmark (the packaging issue): exact clips vs GDAL's command-line tools.

Real boundaries: Natural Earth's 1:110m countries (scripts/natural_earth.sh
fetches them from Debian's python3-geopandas). Generates once, in the work dir:

* a Sentinel-2-like 10980x10980 uint16 COG (10 m, EPSG:32632) over Luxembourg;
* a Germany-sized float32 raster (EPSG:4326, 0.002°, 5500x4500), tiled GeoTIFF;
* 200,000 small polygons with attributes over Germany's bbox (GeoPackage).

Measures, as the median of --rounds runs (files in the page cache):

* tessera.clip_raster (exact) vs `gdal_translate -projwin` (bbox crop only) vs
  `gdalwarp -cutline -crop_to_cutline` (exact), every one writing the same COG
  (DEFLATE, 512-pixel blocks, overviews, NUM_THREADS=ALL_CPUS), with the country
  boundary as Natural Earth draws it and densified to 100k+ vertices; and
  checks that tessera's pixels equal gdalwarp's over gdalwarp's window;
* tessera.clip_vector vs `ogr2ogr -clipsrc` (GeoPackage out), same features.

Targets: exact clip <= 1.2x the bbox crop's time and >= 2x faster than
gdalwarp's cutline; vector clip at least ogr2ogr's speed. Prints a markdown
section and writes it into BENCHMARKS.md as "## Packaging". Not part of the
test suite.

    python3 bench/packaging_bench.py                  # work dir /tmp/tessera-packaging-bench
    python3 bench/packaging_bench.py --rounds 3 --no-write
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
import rasterio.warp
from rasterio.transform import from_origin

import tessera

REPO = Path(__file__).resolve().parents[1]
COG_OPTIONS = ["COMPRESS=DEFLATE", "BLOCKSIZE=512", "OVERVIEWS=AUTO", "NUM_THREADS=ALL_CPUS"]


def run(command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def timed(function, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------- inputs


def countries(work):
    shapefile = subprocess.run([str(REPO / "scripts/natural_earth.sh"), str(work)], check=True,
                               capture_output=True, text=True).stdout.strip()
    geojson = work / "countries.geojson"
    if not geojson.exists():
        run(["ogr2ogr", "-f", "GeoJSON", str(geojson), shapefile])
    features = json.loads(geojson.read_text())["features"]
    return {f["properties"]["name"]: f["geometry"] for f in features}


def vertex_count(geometry):
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return sum(len(ring) for rings in polygons for ring in rings)


def densified(geometry, target):
    """The same outline with extra vertices along every edge, up to about `target` vertices."""
    length = 0.0
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for rings in polygons:
        for ring in rings:
            length += sum(math.dist(a, b) for a, b in zip(ring, ring[1:]))
    step = length / target

    def ring_of(points):
        out = []
        for a, b in zip(points, points[1:]):
            count = max(1, math.ceil(math.dist(a, b) / step))
            out.extend([a[0] + (b[0] - a[0]) * i / count, a[1] + (b[1] - a[1]) * i / count] for i in range(count))
        return out + [points[-1]]

    dense = [[ring_of(ring) for ring in rings] for rings in polygons]
    return {"type": geometry["type"], "coordinates": dense[0] if geometry["type"] == "Polygon" else dense}


def field_like(height, width, seed, dtype):
    """Smooth gradients, blocky field patches and noise, computed a strip at a time."""
    rng = np.random.default_rng(seed)
    patches = rng.integers(500, 4000, size=(height // 256 + 1, width // 256 + 1))
    out = np.empty((height, width), dtype=dtype)
    columns = np.arange(width)
    for top in range(0, height, 1024):
        rows = np.arange(top, min(height, top + 1024))[:, None]
        base = 1000 + 800 * np.sin(rows / 700.0) * np.cos(columns / 900.0)
        block = patches[rows // 256, columns // 256]
        noise = rng.normal(0, 30, size=(rows.shape[0], width))
        out[top:top + rows.shape[0]] = (base + block + noise).astype(dtype)
    return out


def sentinel_cog(work):
    path = work / "s2_like.tif"
    if path.exists():
        return path
    temporary = work / "s2_like.tmp.tif"
    profile = {"driver": "GTiff", "width": 10980, "height": 10980, "count": 1, "dtype": "uint16",
               "crs": "EPSG:32632", "transform": from_origin(250000, 5560000, 10, 10), "nodata": 0,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    with rasterio.open(temporary, "w", **profile) as dst:
        dst.write(field_like(10980, 10980, 1, "uint16"), 1)
    run(["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2", "-co",
         "BLOCKSIZE=512", str(temporary), str(path)])
    temporary.unlink()
    return path


def country_raster(work):
    path = work / "germany_float32.tif"
    if path.exists():
        return path
    profile = {"driver": "GTiff", "width": 5500, "height": 4500, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": from_origin(5.0, 56.0, 0.002, 0.002), "nodata": -9999.0,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(field_like(4500, 5500, 2, "float32") / 10.0, 1)
    return path


def polygons_gpkg(work, bbox, count=200000):
    path = work / "parcels.gpkg"
    if path.exists():
        return path
    rng = np.random.default_rng(3)
    xs = rng.uniform(bbox[0], bbox[2], count)
    ys = rng.uniform(bbox[1], bbox[3], count)
    size = 0.01
    features = [{"type": "Feature", "properties": {"parcel": i, "crop": ["wheat", "maize", "rape"][i % 3]},
                 "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
                                                                  [x, y + size], [x, y]]]}}
                for i, (x, y) in enumerate(zip(xs, ys))]
    source = work / "parcels.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    run(["ogr2ogr", "-f", "GPKG", str(path), str(source), "-nln", "parcels"])
    source.unlink()
    return path


# --------------------------------------------------------------------------- runs


def write_cutline(path, geometry):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": geometry}]}))


def pixels_agree(ours_path, warp_path):
    """Share of gdalwarp's pixels that tessera's clip has equal, over gdalwarp's window."""
    with rasterio.open(ours_path) as ours, rasterio.open(warp_path) as warp:
        col = round((warp.bounds.left - ours.bounds.left) / ours.res[0])
        row = round((ours.bounds.top - warp.bounds.top) / ours.res[1])
        mine = ours.read(1)[row:row + warp.height, col:col + warp.width]
        theirs = warp.read(1)
        equal = (mine == theirs).sum()
        return equal / theirs.size, int(theirs.size - equal), int((theirs != warp.nodata).sum())


def raster_case(work, name, raster, geometry, rounds):
    out = work / "out"
    out.mkdir(exist_ok=True)
    cutline = out / f"{name}.geojson"
    write_cutline(cutline, geometry)
    with rasterio.open(raster) as src:
        crs = src.crs
    local = rasterio.warp.transform_geom("EPSG:4326", crs, geometry)
    xs = [p[0] for rings in ([local["coordinates"]] if local["type"] == "Polygon" else local["coordinates"])
          for ring in rings for p in ring]
    ys = [p[1] for rings in ([local["coordinates"]] if local["type"] == "Polygon" else local["coordinates"])
          for ring in rings for p in ring]
    co = [arg for option in COG_OPTIONS for arg in ("-co", option)]
    # The bbox crop with its overviews computed from the cropped pixels, as a clip must (OVERVIEWS=AUTO
    # copies the source's own overviews when it has some).
    co_regenerated = [arg.replace("OVERVIEWS=AUTO", "OVERVIEWS=IGNORE_EXISTING") for arg in co]
    projwin = ["-projwin", str(min(xs)), str(max(ys)), str(max(xs)), str(min(ys))]
    ours = out / f"{name}_tessera.tif"
    bbox = out / f"{name}_projwin.tif"
    warp = out / f"{name}_gdalwarp.tif"
    results = {
        "tessera": timed(lambda: tessera.clip_raster(str(raster), geometry, str(ours)), rounds),
        "projwin": timed(lambda: run(["gdal_translate", "-q", "-of", "COG", *co, *projwin, str(raster), str(bbox)]),
                         rounds),
        "projwin_regenerated": timed(lambda: run(["gdal_translate", "-q", "-of", "COG", *co_regenerated, *projwin,
                                                  str(raster), str(bbox)]), rounds),
        "gdalwarp": timed(lambda: run(["gdalwarp", "-q", "-overwrite", "-multi", "-wo", "NUM_THREADS=ALL_CPUS",
                                       "-of", "COG", *co, "-cutline", str(cutline), "-crop_to_cutline", str(raster),
                                       str(warp)]), rounds),
    }
    agree, differ, valid = pixels_agree(ours, warp)
    with rasterio.open(ours) as clipped:
        size = f"{clipped.width}x{clipped.height}"
    return {"name": name, "vertices": vertex_count(geometry), "size": size, "agree": agree, "differ": differ,
            "valid": valid, **results}


def vector_case(work, geometry, source, rounds):
    out = work / "out"
    cutline = out / "vector_cutline.geojson"
    write_cutline(cutline, geometry)
    ours = out / "parcels_tessera.gpkg"
    theirs = out / "parcels_ogr2ogr.gpkg"

    def ogr2ogr():
        theirs.unlink(missing_ok=True)
        run(["ogr2ogr", "-f", "GPKG", "-clipsrc", str(cutline), str(theirs), str(source)])

    results = {"tessera": timed(lambda: tessera.clip_vector(str(source), geometry, str(ours)), rounds),
               "ogr2ogr": timed(ogr2ogr, rounds)}
    count = lambda path: int(subprocess.run(["ogrinfo", "-q", "-sql", "SELECT COUNT(*) AS n FROM parcels", str(path)],
                                            check=True, capture_output=True, text=True).stdout.split("=")[-1])
    return {**results, "features_tessera": count(ours), "features_ogr2ogr": count(theirs)}


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
    return (f"{os.cpu_count()} vCPU, {cpu}, {ram_kib / 2**20:.0f} GiB RAM, Linux {platform.release()}; "
            f"1-minute load average {os.getloadavg()[0]:.1f} at the start")


NOTES = (
    "\n### Where the time goes\n\n"
    "Every tool here spends most of its time writing the COG (DEFLATE of the full-resolution image and of the "
    "overviews it computes); tessera's own work is one windowed read (GeoTIFF blocks decoded on every core), the "
    "mask and the nodata fill. Rasterizing the boundary in strips of 64 rows, each with only the edges that cross "
    "it, makes a 120k-150k-vertex boundary cost about 0.1 s more than the 7-58-vertex one, where gdalwarp's cutline "
    "costs 3-5x more. The plain bbox crop of the S2 COG is faster than tessera because it copies the source's "
    "overviews instead of computing them (with them recomputed it is slower than tessera's exact clip), so that "
    "target is missed against a crop that does less work. Against gdalwarp, tessera is 2.6x faster on the uint16 "
    "COG but only 1.4x on the float32 raster with the 58-vertex boundary: there DEFLATE of float noise dominates "
    "and gdalwarp's warp of a same-CRS window is cheap, so the >= 2x target is missed; with the dense boundaries "
    "it is met by 4.6-10.6x. The vector clip keeps features inside the boundary whole after a prepared-geometry "
    "test and cuts only the crossing ones, where ogr2ogr -clipsrc intersects every feature.\n"
)


def section(cases, vector, rounds):
    deps = tessera.dependency_versions()
    gdal = subprocess.run(["gdalinfo", "--version"], capture_output=True, text=True).stdout.strip()
    lines = ["## Packaging\n\n", "```sh\npip install --no-build-isolation .      # Release build\n"
             "python3 bench/packaging_bench.py /tmp/tessera-packaging-bench\n```\n\n",
             f"**Machine:** {machine()}. **Versions:** tessera {deps.get('tessera')} (GDAL {deps.get('gdal')}), "
             f"command-line tools {gdal}; Python {platform.python_version()}.\n\n",
             "Boundaries: Natural Earth 1:110m countries (Debian python3-geopandas' naturalearth_lowres, fetched by "
             "`scripts/natural_earth.sh`), as drawn and densified along their edges to 100k+ vertices. Rasters: a "
             "10980x10980 uint16 DEFLATE COG (10 m, EPSG:32632) over Luxembourg, and a 5500x4500 float32 tiled "
             "GeoTIFF (0.002°, EPSG:4326) over Germany. Every tool writes a COG with the same creation options "
             f"({', '.join(COG_OPTIONS)}); gdalwarp also gets `-multi -wo NUM_THREADS=ALL_CPUS`. Times are "
             f"medians of {rounds} runs, in seconds, files in the page cache. Pixels: share of gdalwarp's output "
             "pixels that tessera's clip has equal (over gdalwarp's window, which drops the edge pixels only partly "
             "inside the boundary's extent; tessera keeps them). The bbox crop is timed twice: as is "
             "(`OVERVIEWS=AUTO`, which copies the source's overviews when it has some: the S2 COG does, the float32 "
             "raster does not) and with `OVERVIEWS=IGNORE_EXISTING` (overviews computed from the cropped pixels, as "
             "a clip must since the source's overviews mix pixels from outside the boundary); the target is "
             "checked against the first.\n\n",
             "| raster, boundary | vertices | output | tessera exact | gdal_translate -projwin (bbox) | "
             "bbox, overviews recomputed | gdalwarp cutline | tessera / bbox (≤ 1.2) | gdalwarp / tessera (≥ 2) | "
             "pixels equal to gdalwarp |\n",
             "|---|---|---|---|---|---|---|---|---|---|\n"]
    for case in cases:
        over_bbox = case["tessera"] / case["projwin"]
        speedup = case["gdalwarp"] / case["tessera"]
        lines.append(
            f"| {case['name']} | {case['vertices']:,} | {case['size']} | {case['tessera']:.2f} | "
            f"{case['projwin']:.2f} | {case['projwin_regenerated']:.2f} | {case['gdalwarp']:.2f} | {over_bbox:.2f}× {'met' if over_bbox <= 1.2 else '**MISSED**'} | "
            f"{speedup:.2f}× {'met' if speedup >= 2 else '**MISSED**'} | {100 * case['agree']:.4f}% "
            f"({case['differ']} differ) |\n")
    ratio = vector["ogr2ogr"] / vector["tessera"]
    lines += ["\nVector: 200,000 0.01° squares with two attributes over Germany's bbox (GeoPackage) clipped to "
              "Germany, GeoPackage out.\n\n",
              "| tool | seconds | features out |\n|---|---|---|\n",
              f"| tessera clip_vector | {vector['tessera']:.2f} | {vector['features_tessera']:,} |\n",
              f"| ogr2ogr -clipsrc | {vector['ogr2ogr']:.2f} | {vector['features_ogr2ogr']:,} |\n",
              f"\ntessera is {ratio:.2f}× ogr2ogr's speed (target ≥ 1×: {'met' if ratio >= 1 else '**MISSED**'}).\n",
              NOTES]
    return "".join(lines)


def replace_section(text, new):
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "## Packaging"), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + new
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + new + ("\n" + tail if tail else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work_dir", nargs="?", default="/tmp/tessera-packaging-bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"))
    args = parser.parse_args()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    borders = countries(work)
    luxembourg, germany = borders["Luxembourg"], borders["Germany"]
    s2 = sentinel_cog(work)
    float_raster = country_raster(work)
    cases = [
        raster_case(work, "S2 uint16, Luxembourg", s2, luxembourg, args.rounds),
        raster_case(work, "S2 uint16, Luxembourg densified", s2, densified(luxembourg, 120000), args.rounds),
        raster_case(work, "float32, Germany", float_raster, germany, args.rounds),
        raster_case(work, "float32, Germany densified", float_raster, densified(germany, 150000), args.rounds),
    ]
    xs = [p[0] for ring in germany["coordinates"] for p in ring] if germany["type"] == "Polygon" else \
        [p[0] for rings in germany["coordinates"] for ring in rings for p in ring]
    ys = [p[1] for ring in germany["coordinates"] for p in ring] if germany["type"] == "Polygon" else \
        [p[1] for rings in germany["coordinates"] for ring in rings for p in ring]
    vector = vector_case(work, germany, polygons_gpkg(work, (min(xs), min(ys), max(xs), max(ys))), args.rounds)
    text = section(cases, vector, args.rounds)
    print(text)
    if not args.no_write:
        path = Path(args.benchmarks)
        path.write_text(replace_section(path.read_text(), text))


if __name__ == "__main__":
    sys.exit(main())
