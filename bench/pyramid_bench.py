"""Overview pyramid benchmark (issue 18): a z3 tile of the 5,000-item mosaic from its pyramid vs a fresh mosaic.

Uses the mosaic benchmark's items (bench/mosaic_items.py: 5,000 small COGs over a
50x50 grid of cells around lon 10, lat 46; generated once into the items dir) in a
SQLite catalog of its own under the work dir, registers a search over them, builds
its pyramid (WebMercatorQuad to zoom 8, the limit, so each base tile reads a few
hundred items; resampling average) and measures, method "first":

* the z3 tile holding the region, from the pyramid (Pyramid.tile: the stored values
  and mask) and rendered to PNG, median of N;
* the same tile as a fresh mosaic (Mosaic.tile) with the default caps (it stops at
  100 items read) and with caps raised to read what it needs, cold (data cache
  cleared) and warm, median of N;
* the build, and one update after an item is moved (upsert), with the base tiles
  it rebuilt.

Target: the z3 tile from the pyramid in <= 50 ms. Prints a markdown section (and
writes it into BENCHMARKS.md as "## Overview pyramids" unless --no-write). Not part
of the test suite.

    PYTHONPATH=build/pyinstall python3 bench/pyramid_bench.py --rounds 9
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import tessera  # noqa: E402
from mosaic_items import COLLECTION, collection, ensure_items  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MAX_ZOOM = 8
Z3_TILE = (4, 2, 3)  # x, y, z: the region (lon 7..13, lat 43..49) lies inside it
STYLE = {"rescale": [(0, 3000)], "colormap": "viridis"}
# A base tile (z8) meets a few hundred items: "first" needs most of them.
BASE_CAPS = {"max_items_scanned": 5000, "max_items_read": 2000, "time_budget_ms": 120000}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work_dir", nargs="?", default="/tmp/tessera-pyramid-bench")
    parser.add_argument("--items-dir", default="/tmp/tessera-mosaic-bench", help="the mosaic benchmark's items")
    parser.add_argument("--rounds", type=int, default=15, help="repetitions of each tile measure")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"))
    return parser.parse_args()


def median_ms(call, rounds, before=None):
    times = []
    for _ in range(rounds):
        if before:
            before()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def raised_rounds(rounds):
    """Repetitions of the fresh mosaic with raised caps: it reads thousands of items each time."""
    return max(1, rounds // 9)


def compare(stored, fresh):
    """Where the pyramid's tile and a fresh mosaic's agree: the share of pixels with the same mask, and the
    mean and largest absolute difference of the values both hold, relative to the fresh tile's range."""
    both = (stored.mask > 0) & (fresh.mask > 0)
    difference = np.abs(stored.data[0][both].astype(float) - fresh.data[0][both].astype(float))
    spread = float(fresh.data[0][fresh.mask > 0].max() - fresh.data[0][fresh.mask > 0].min())
    return {"mask": float((stored.mask == fresh.mask).mean()), "mean": float(difference.mean()),
            "p99": float(np.percentile(difference, 99)), "spread": spread, "valid": int(both.sum())}


def average_parent(children, size=256):
    """A parent tile from its four children ((dx, dy) -> (values, mask) or absent) by the pyramid's documented
    `average`: the mean of the valid pixels of each 2x2 block, rounded half away from zero, valid where any is."""
    if not children:
        return None
    half = size // 2
    values = np.zeros((size, size))
    mask = np.zeros((size, size), dtype=bool)
    for (dx, dy), (data, valid) in children.items():
        blocks = data.astype(float).reshape(half, 2, half, 2)
        valid_blocks = valid.reshape(half, 2, half, 2)
        counts = valid_blocks.sum(axis=(1, 3))
        sums = (blocks * valid_blocks).sum(axis=(1, 3))
        rows, columns = slice(dy * half, (dy + 1) * half), slice(dx * half, (dx + 1) * half)
        values[rows, columns] = np.where(counts > 0, np.floor(sums / np.maximum(counts, 1) + 0.5), 0)
        mask[rows, columns] = counts > 0
    return (values, mask) if mask.any() else None


def resampled_fresh(mosaic, x, y, z, base_zoom):
    """Tile z/x/y made by the documented resampling from fresh mosaic tiles at the base zoom."""
    if z == base_zoom:
        try:
            tile = mosaic.tile(x, y, z)
        except tessera.NotFound:
            return None
        return tile.data[0], tile.mask > 0
    children = {}
    for dy in (0, 1):
        for dx in (0, 1):
            child = resampled_fresh(mosaic, 2 * x + dx, 2 * y + dy, z + 1, base_zoom)
            if child is not None:
                children[(dx, dy)] = child
    return average_parent(children)


def machine():
    cpus = os.cpu_count()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    load = os.getloadavg()[0]
    return f"{cpus} vCPU, {model}, Linux {platform.release()}; 1-minute load average {load:.1f} at the start"


def open_catalog(path, items):
    catalog = tessera.Catalog.open(f"sqlite://{path}")
    if catalog.search({"collections": [COLLECTION], "limit": 1}).get("numberMatched") != len(items):
        catalog.upsert_collection(collection())
        report = catalog.load(items, mode="upsert")
        if report["loaded"] != len(items):
            raise SystemExit(f"loading the items failed: {report}")
    return catalog


def replace_section(text, section, heading="## Overview pyramids"):
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(heading))
    return text[:start] + section + (text[end + 1:] if end >= 0 else "")


def main():
    args = parse_args()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    items, _ = ensure_items(Path(args.items_dir))
    at_start = machine()
    catalog = open_catalog(work / "catalog.db", items)
    search_id = catalog.register_search({"collections": [COLLECTION]}, metadata={"name": "pyramid bench"})
    x, y, z = Z3_TILE

    started = time.perf_counter()
    pyramid = tessera.Pyramid.build(catalog, str(work / "pyramids"), search_id, maxzoom=MAX_ZOOM, assets=["data"],
                                    resampling="average", **BASE_CAPS)
    build_s = time.perf_counter() - started
    info = pyramid.info()

    from_pyramid = median_ms(lambda: pyramid.tile(x, y, z), args.rounds)
    from_pyramid_png = median_ms(lambda: pyramid.tile(x, y, z).render(format="png", **STYLE), args.rounds)
    default_caps = tessera.Mosaic.from_registered(catalog, search_id, assets=["data"])
    raised_caps = tessera.Mosaic.from_registered(catalog, search_id, assets=["data"], max_items_scanned=5000,
                                                 max_items_read=5000, time_budget=120)
    fresh = {}
    stored = pyramid.tile(x, y, z)
    for name, mosaic in (("default caps", default_caps), ("caps raised", raised_caps)):
        tile = mosaic.tile(x, y, z)
        if name == "caps raised":
            agreement = compare(stored, tile)
        rounds = raised_rounds(args.rounds) if name == "caps raised" else args.rounds
        fresh[name] = {
            "cold": median_ms(lambda m=mosaic: m.tile(x, y, z), rounds, before=tessera.clear_tile_cache),
            "warm": median_ms(lambda m=mosaic: m.tile(x, y, z), rounds),
            "read": tile.metadata.get("items_read"),
            "stopped_by": tile.metadata.get("stopped_by"),
        }

    # The pyramid's tile against fresh mosaic tiles at the base zoom, resampled as documented.
    base_mosaic = tessera.Mosaic.from_registered(catalog, search_id, assets=["data"], **{
        "max_items_scanned": BASE_CAPS["max_items_scanned"], "max_items_read": BASE_CAPS["max_items_read"],
        "time_budget": BASE_CAPS["time_budget_ms"] / 1000})
    expected_values, expected_mask = resampled_fresh(base_mosaic, x, y, z, MAX_ZOOM)
    documented = {"mask": float(((stored.mask > 0) == expected_mask).mean()),
                  "values": float((stored.data[0][expected_mask] == expected_values[expected_mask]).mean())}

    moved = json.loads(json.dumps(items[0]))
    shift = 0.5
    moved["bbox"] = [moved["bbox"][0] + shift, moved["bbox"][1], moved["bbox"][2] + shift, moved["bbox"][3]]
    for ring in moved["geometry"]["coordinates"]:
        for point in ring:
            point[0] += shift
    catalog.load([moved], mode="upsert")
    started = time.perf_counter()
    update = pyramid.update()
    update_s = time.perf_counter() - started
    catalog.load([items[0]], mode="upsert")  # back as it was, for the next run
    pyramid.update()

    met = from_pyramid <= 50
    levels = ", ".join(f"z{level['z']} {level['tiles']}" for level in info["levels"])
    size_mb = sum(level["bytes"] for level in info["levels"]) / 1e6
    lines = [
        "## Overview pyramids",
        "",
        "```sh",
        "pip install --no-build-isolation --target build/pyinstall .",
        f"PYTHONPATH=build/pyinstall python3 bench/pyramid_bench.py --rounds {args.rounds}",
        "```",
        "",
        f"**Machine:** {at_start}, {os.getloadavg()[0]:.1f} at the end (other work shares the machine). "
        f"tessera {tessera.__version__}, Python {platform.python_version()}.",
        "",
        f"The mosaic benchmark's 5,000 items (bench/mosaic_items.py) in a SQLite catalog; one registered search "
        f"over them, method `first`, asset `data`. Pyramid: WebMercatorQuad to zoom {MAX_ZOOM} (the most a pyramid "
        f"may hold), 256 px, resampling `average`, base tiles read with caps raised "
        f"({BASE_CAPS['max_items_read']} reads, {BASE_CAPS['time_budget_ms'] // 1000} s); tiles per level: "
        f"{levels}; {size_mb:.1f} MB; base tiles a cap stopped early: {info['built']['cells_capped']}. "
        f"The tile: z{z}/{x}/{y}, which holds the whole region. Medians of {args.rounds} (the fresh mosaic "
        f"with raised caps: {raised_rounds(args.rounds)}).",
        "",
        f"The pyramid's z{z} tile against fresh mosaic tiles at zoom {MAX_ZOOM} (the same caps) averaged down "
        f"as documented (numpy, level by level): the mask agrees on {100 * documented['mask']:.2f}% of the "
        f"pixels and the values on {100 * documented['values']:.2f}% of the valid ones.",
        "",
        f"Against the fresh mosaic's own z{z} tile (caps raised, every item read): the "
        f"mask is the same on {100 * agreement['mask']:.2f}% of the pixels; on the {agreement['valid']:,} "
        f"pixels both hold, the values differ by {agreement['mean']:.1f} on average and {agreement['p99']:.1f} "
        f"at the 99th percentile (the values span {agreement['spread']:.0f}): the pyramid averages the z"
        f"{MAX_ZOOM} pixels under each z{z} pixel (resampling `average`), the fresh mosaic samples one item "
        "per pixel (nearest), and at the items' no-data edges the average keeps a pixel valid that nearest may "
        "not.",
        "",
        "| measure | ms |",
        "|---|---|",
        f"| z3 tile from the pyramid (values + mask) | {from_pyramid:.2f} |",
        f"| z3 tile from the pyramid, rendered PNG (rescale, colormap) | {from_pyramid_png:.2f} |",
    ]
    for name, measured in fresh.items():
        stopped = f", stopped by {measured['stopped_by']}" if measured["stopped_by"] else ""
        lines.append(f"| z3 fresh mosaic, {name} ({measured['read']} items read{stopped}), cold | "
                     f"{measured['cold']:,.1f} |")
        lines.append(f"| z3 fresh mosaic, {name}, warm (data cache) | {measured['warm']:,.1f} |")
    lines += [
        f"| build (every level) | {1000 * build_s:,.0f} |",
        f"| update after one item moved ({update['cells_rebuilt']} base tiles and their ancestors rebuilt) | "
        f"{1000 * update_s:,.0f} |",
        "",
        f"Target: a z3 tile from the pyramid in <= 50 ms: **{'met' if met else 'missed'}** "
        f"({from_pyramid:.2f} ms).",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        path = Path(args.benchmarks)
        path.write_text(replace_section(path.read_text(), section))


if __name__ == "__main__":
    main()
