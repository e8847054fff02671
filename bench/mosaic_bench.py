"""Mosaic benchmark (the dynamic-mosaics issue): tessera.Mosaic vs rio-tiler's mosaic_reader.

Generates (once, cached in the work dir) 5,000 small COG items tiling a
region of northern Italy with overlap: a 50x50 grid of cells, a base layer
of one item per cell and two newer layers over half of the cells each, every
item 256x256 uint16 (DEFLATE, predictor 2, one 256-pixel block), 25% larger
than its cell, jittered, in EPSG:32632, EPSG:3857 or EPSG:4326, the newer
layers with a no-data swath edge. The items go into a SQLite catalog (and a
PgSTAC one with --pgstac URL). Measures in one run, with method "first" and
PNG output (rescaled, colormap):

* (a) a tile one item covers, (b) a tile ~15 items intersect, one at a time;
* (c) a 9x7 viewport at the zoom where each tile spans ~15 items, 2 threads
  (a ThreadPoolExecutor over the tiles), cold (tessera's data cache cleared,
  GDAL block caches emptied) and warm re-styled (same tiles, another
  rescale and colormap);

the same tiles and items with rio-tiler's mosaic_reader (its per-item reads
through `Reader.tile`, FirstMethod). Prints a markdown section and writes it
into BENCHMARKS.md as "## Mosaics". rio-tiler runs from the tiling benchmark's
venv (bench/peer_env.py) under the work dir: the script re-runs itself there, with
the installed tessera package linked in. Not part of the test suite.

    python3 bench/mosaic_bench.py                      # work dir /tmp/tessera-mosaic-bench
    python3 bench/mosaic_bench.py --pgstac postgresql://... --rounds 3 --no-write
"""

import argparse
import concurrent.futures
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work_dir", nargs="?", default="/tmp/tessera-mosaic-bench")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the viewport measures")
    parser.add_argument("--single-rounds", type=int, default=15, help="repetitions of each single-tile measure")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pgstac", help="also measure on this PgSTAC database (its collection is replaced)")
    parser.add_argument("--fresh", action="store_true", help="reload the catalogs")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"))
    return parser.parse_args()


if __name__ == "__main__":
    # Before rasterio and rio-tiler are imported: they are the venv's (the tiling benchmark's pins).
    peer_env.reexec_in(peer_env.ensure_peer(parse_args().work_dir, "rio-tiler", with_tessera=True))

# First: sets the GDAL options both libraries read (same as the tiling benchmark).
from tiling_bench import TILESIZE, BlockCaches, fmt_rate, machine, versions  # noqa: E402

import numpy as np  # noqa: E402
from rio_tiler.colormap import cmap  # noqa: E402
from rio_tiler.io import Reader  # noqa: E402
from rio_tiler.mosaic import mosaic_reader  # noqa: E402
from rio_tiler.mosaic.methods.defaults import FirstMethod  # noqa: E402
from rio_tiler.profiles import img_profiles  # noqa: E402

import tessera  # noqa: E402
from mosaic_items import (CELL, COLLECTION, GRID, SIZE, VIEWPORT, VIEWPORT_ZOOM, ensure_items,  # noqa: E402
                          open_catalog, viewport_tiles)

REPO = Path(__file__).resolve().parent.parent
STYLE_COLD = {"rescale": [(0, 3000)], "colormap": "viridis"}
STYLE_WARM = {"rescale": [(500, 2500)], "colormap": "magma"}
DEFAULT_DATASETS = 64  # tessera.configure()'s dataset_cache_size
OPEN_DATASETS = 1024  # more than a viewport reads


# --------------------------------------------------------------------------- the calls measured


def tessera_call(mosaic, style):
    """Tile z/x/y as numpy arrays (style None) or rendered to PNG with `style`."""
    def call(tile):
        z, x, y = tile
        image = mosaic.tile(x, y, z)
        return image.data if style is None else image.render(format="png", **style)

    return call


def read_item(href, x, y, z):
    with Reader(href) as reader:
        return reader.tile(x, y, z, tilesize=TILESIZE)


def rio_tiler_call(assets, style):
    """rio-tiler's equivalent of tessera_call over the same hrefs."""
    colormap = cmap.get(style["colormap"]) if style else None

    def call(tile):
        z, x, y = tile
        image, _ = mosaic_reader(assets[tile], read_item, x, y, z, pixel_selection=FirstMethod())
        if style is None:
            return image.data
        image.rescale(in_range=style["rescale"])
        return image.render(img_format="PNG", colormap=colormap, **img_profiles.get("png"))

    return call


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_tiles(pool, call, tiles):
    if pool is None:
        for tile in tiles:
            call(tile)
    else:
        for _ in pool.map(call, tiles):
            pass


# --------------------------------------------------------------------------- tiles


def pick_tiles(mosaic):
    """The viewport (9x7 around the region's centre at VIEWPORT_ZOOM), the tile of it whose
    item count is nearest 15, and a tile two zooms down that exactly one item intersects."""
    viewport = viewport_tiles()
    counts = {tile: len(mosaic.assets_for_tile(tile[1], tile[2], tile[0])) for tile in viewport}
    fifteen = min(viewport, key=lambda tile: (abs(counts[tile] - 15), tile))
    one = None
    for z, x, y in viewport:
        for dx in range(4):
            for dy in range(4):
                child = (z + 2, 4 * x + dx, 4 * y + dy)
                if len(mosaic.assets_for_tile(child[1], child[2], child[0])) == 1:
                    one = child
                    break
            if one:
                break
        if one:
            break
    if one is None:
        raise SystemExit("no tile of the viewport has a child tile only one item intersects")
    return viewport, counts, fifteen, one


def hrefs_for(mosaic, tiles):
    return {tile: [entry["assets"]["data"] for entry in mosaic.assets_for_tile(tile[1], tile[2], tile[0])] for tile in tiles}


def agreement(mosaic, assets, tiles):
    """Share of pixels where tessera's and rio-tiler's tiles have the same mask and value."""
    same = total = 0
    for z, x, y in tiles:
        ours = mosaic.tile(x, y, z)
        theirs, _ = mosaic_reader(assets[(z, x, y)], read_item, x, y, z, pixel_selection=FirstMethod())
        valid = ours.mask > 0
        same += int(np.count_nonzero((valid == (theirs.mask > 0)) & (~valid | (ours.data[0] == theirs.data[0]))))
        total += valid.size
    return same / total


# --------------------------------------------------------------------------- report


def replace_section(text, section, heading="## Mosaics"):
    """Replaces the `heading` section (up to the next '## ' heading) or appends it."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + tail if tail else "")


def ms(seconds):
    return f"{seconds * 1e3:,.1f}"


def verdict(met):
    return "**MET**" if met else "**MISSED**"


def main():
    args = parse_args()
    total_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)

    items, generated = ensure_items(work_dir)
    if generated is not None:
        print(f"generated {len(items)} items in {generated:.0f} s", file=sys.stderr)
    size_mb = sum(Path(item["assets"]["data"]["href"]).stat().st_size for item in items) / 1e6
    tessera.configure(allowed_roots=[str(work_dir)])
    backends = {"SQLite": f"sqlite://{work_dir / 'catalog.db'}"}
    if args.pgstac:
        backends["PgSTAC"] = args.pgstac
    load_seconds = {}
    catalogs = {}
    for name, url in backends.items():
        load_seconds[name] = timed(lambda: catalogs.__setitem__(name, open_catalog(url, items, args.fresh)))
    search = {"collections": [COLLECTION]}
    mosaics = {name: tessera.Mosaic(catalog, search, assets=["data"], method="first")
               for name, catalog in catalogs.items()}
    reference = mosaics["SQLite"]
    viewport, counts, fifteen, one = pick_tiles(reference)
    assets = hrefs_for(reference, viewport + [one])
    for name, mosaic in mosaics.items():  # both backends return the same items in the same order
        if name != "SQLite" and hrefs_for(mosaic, viewport) != {t: assets[t] for t in viewport}:
            raise SystemExit(f"{name} lists other items than SQLite for the viewport's tiles")
    print(f"viewport {viewport[0]}..{viewport[-1]}, items per tile {sorted(counts.values())}; "
          f"15-item tile {fifteen} ({counts[fifteen]}), one-item tile {one}", file=sys.stderr)

    caches = BlockCaches()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)

    def cold():
        tessera.clear_tile_cache()
        caches.flush()

    # Work per tile (not timed): what tessera read, and what rio-tiler read.
    cold()
    metadata = {tile: reference.tile(tile[1], tile[2], tile[0]).metadata for tile in viewport + [one]}
    rio_used = {(z, x, y): len(mosaic_reader(assets[(z, x, y)], read_item, x, y, z, pixel_selection=FirstMethod())[1])
                for z, x, y in viewport + [one]}
    agree = agreement(reference, assets, viewport)

    # ----- single tiles, one at a time; then the viewport on `args.threads` threads.
    # Each measure is (cold, warm): tessera's warm run hits its data cache (PNG: re-styled).
    outputs = {"array": (None, None), "PNG": (STYLE_COLD, STYLE_WARM)}
    named = {"one-item": one, "~15-item": fifteen}
    single = {}  # (library, tile name, output, cache) -> [seconds]
    for _ in range(args.single_rounds):
        for label, tile in named.items():
            for output, (first_style, second_style) in outputs.items():
                for name, mosaic in mosaics.items():
                    cold()
                    for cache, style in (("cold", first_style), ("warm", second_style)):
                        seconds = timed(lambda: tessera_call(mosaic, style)(tile))
                        single.setdefault((name, label, output, cache), []).append(seconds)
                caches.flush()
                for cache, style in (("cold", first_style), ("warm", second_style)):
                    seconds = timed(lambda: rio_tiler_call(assets, style)(tile))
                    single.setdefault(("rio-tiler", label, output, cache), []).append(seconds)
    print(f"single tiles done ({time.perf_counter() - total_start:.0f} s)", file=sys.stderr)

    # Informative: tessera with enough open-dataset cache for every item of the viewport
    # (the block caches are still emptied, the data cache cleared).
    open_datasets = f"{next(iter(mosaics))}, dataset cache {OPEN_DATASETS}"
    runners = []  # (library, configure before, output, cold call, warm call)
    for output, (first_style, second_style) in outputs.items():
        for name, mosaic in mosaics.items():
            runners.append((name, None, output, tessera_call(mosaic, first_style), tessera_call(mosaic, second_style)))
        runners.append((open_datasets, OPEN_DATASETS, output, tessera_call(reference, first_style),
                        tessera_call(reference, second_style)))
        runners.append(("rio-tiler", None, output, rio_tiler_call(assets, first_style),
                        rio_tiler_call(assets, second_style)))
    view = {}  # (library, output, cache) -> [seconds]
    for round_ in range(args.rounds):
        for name, dataset_cache, output, cold_call, warm_call in runners if round_ % 2 == 0 else reversed(runners):
            tessera.configure(allowed_roots=[str(work_dir)], dataset_cache_size=dataset_cache or DEFAULT_DATASETS)
            if dataset_cache:
                run_tiles(pool, cold_call, viewport)  # not timed: opens every item's dataset
            cold()
            view.setdefault((name, output, "cold"), []).append(timed(lambda: run_tiles(pool, cold_call, viewport)))
            view.setdefault((name, output, "warm"), []).append(timed(lambda: run_tiles(pool, warm_call, viewport)))
        print(f"viewport round {round_ + 1}/{args.rounds} done ({time.perf_counter() - total_start:.0f} s)",
              file=sys.stderr)
    tessera.configure(allowed_roots=[str(work_dir)])
    pool.shutdown()

    # PNG encoding alone (both libraries write the same bytes): the ~15-item tile's image, re-rendered.
    image = reference.tile(fifteen[1], fifteen[2], fifteen[0])
    encode = statistics.median(timed(lambda: image.render(format="png", **STYLE_COLD)) for _ in range(20))

    # ----- markdown
    single_med = {key: statistics.median(values) for key, values in single.items()}
    view_med = {key: statistics.median(values) for key, values in view.items()}
    n = len(viewport)
    mean_of = lambda field: statistics.mean(metadata[t][field] for t in viewport)  # noqa: E731
    out = ["## Mosaics\n\n"]
    out.append("```sh\npip install --no-build-isolation .      # Release build (pyproject.toml)\n")
    out.append(f"python3 bench/mosaic_bench.py {args.work_dir}")
    if args.rounds != 3 or args.single_rounds != 15 or args.threads != 2:
        out.append(f" --rounds {args.rounds} --single-rounds {args.single_rounds} --threads {args.threads}")
    if args.pgstac:
        out.append(" --pgstac postgresql://...   # a scripts/pgstac_cluster.sh server")
    out.append("\n```\n\n")
    out.append(
        f"**Machine:** {machine()}; 1-minute load average {load_start:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end of the run (other work shares the machine, so every figure is "
        f"slower than on an idle one). **Versions:** {versions()}.\n\n"
    )
    out.append(
        f"The items: {len(items):,} COGs, {SIZE}x{SIZE} uint16, DEFLATE with predictor 2, one {SIZE}-pixel block "
        f"(no overviews), {size_mb:.0f} MB in all, over a {GRID}x{GRID} grid of {CELL / 1000:.1f} km cells (EPSG:3857 "
        f"units) around lon 10, lat 46: a base layer with one item per cell and two newer layers over half of the "
        f"cells each, every item 1.25 cells wide, jittered by up to 5%, in EPSG:32632, EPSG:3857 or EPSG:4326 "
        f"(a third each), the newer layers with a no-data swath edge (10-50% of the item). Items are listed "
        f"newest first (the default order); method `first`. Catalog load: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in load_seconds.items())
        + (f" (items generated now in {generated:.0f} s)" if generated is not None else " (COGs reused)") + ".\n\n"
    )
    out.append(
        f"Tiles: WebMercatorQuad, 256 px. Output **array** = the mosaic's numpy data and mask; **PNG** = rendered "
        f"(rescale {STYLE_COLD['rescale'][0]}, colormap `{STYLE_COLD['colormap']}`; re-styled: rescale "
        f"{STYLE_WARM['rescale'][0]}, `{STYLE_WARM['colormap']}`). The viewport is {VIEWPORT[0]}x{VIEWPORT[1]} tiles "
        f"at z{VIEWPORT_ZOOM} around the centre ({min(counts.values())} to {max(counts.values())} items intersect a "
        f"tile, {statistics.mean(counts.values()):.1f} on average); tessera read {mean_of('items_read'):.1f} items "
        f"per tile on average and used {mean_of('items_used'):.1f} (skipped {mean_of('items_skipped_covered'):.1f} "
        f"as covered), rio-tiler used {statistics.mean(rio_used[t] for t in viewport):.1f}: most of a tile's items "
        f"are needed, as the newer layers cover half of the cells and have no-data edges. The ~15-item tile is "
        f"z{fifteen[0]}/{fifteen[1]}/{fifteen[2]} ({counts[fifteen]} items intersect it; tessera read "
        f"{metadata[fifteen]['items_read']}), the one-item tile z{one[0]}/{one[1]}/{one[2]}. Pixels (value and "
        f"mask) agree with rio-tiler on {agree:.2%} of the viewport (the rest: EPSG:3857 items, the single-read "
        f"difference recorded in docs/tiling.md).\n\n"
    )
    out.append(
        "rio-tiler: `mosaic_reader(hrefs, reader, x, y, z, pixel_selection=FirstMethod())` with its default "
        "threads (cpu count x 5 per tile), `reader` opening a `Reader` per item and calling `.tile()`, then "
        "`rescale` and `render(img_format=\"PNG\", colormap=...)`. It is handed each tile's hrefs in tessera's "
        "order, found beforehand and not timed, whereas tessera's times include its catalog search per tile. "
        "**Cold** = tessera's data cache cleared (`clear_tile_cache()`) and both GDAL block caches emptied before "
        f"the single tile or the viewport; tessera's open datasets stay (its default cache keeps "
        f"{DEFAULT_DATASETS}; the viewport reads several hundred items, so most are opened again; the row "
        f"\"dataset cache {OPEN_DATASETS}\" opens them all in an untimed pass first and keeps them open). **Warm** = the same tiles right after (PNG: "
        "re-styled); rio-tiler has no data cache, so its warm run reads again (the files are in the OS page cache "
        f"throughout). Single tiles are timed one at a time, median of {args.single_rounds}; the viewport runs on "
        f"a ThreadPoolExecutor of {args.threads} threads for both libraries (tessera's own read pool: 4 threads on "
        f"2 cores), median of {args.rounds} rounds.\n\n"
    )
    libraries = list(mosaics) + [open_datasets]
    out.append("| measure | output | " + " | ".join(f"tessera ({name})" for name in libraries)
               + " | rio-tiler | ratio |\n")
    out.append("|---|---|" + "---|" * (len(libraries) + 2) + "\n")
    ratios = {}
    for output in outputs:
        for label in named:
            for cache in ("cold", "warm"):
                ours = [single_med[(name, label, output, cache)] for name in mosaics]
                theirs = single_med[("rio-tiler", label, output, cache)]
                ratios[(label, output, cache)] = theirs / ours[0]
                out.append(f"| {label} tile, {cache}, ms | {output} | " + " | ".join(ms(v) for v in ours) + " | — | "
                           + f"{ms(theirs)} | {theirs / ours[0]:.1f}× |\n")
        for cache in ("cold", "warm"):
            ours = [view_med[(name, output, cache)] for name in libraries]
            theirs = view_med[("rio-tiler", output, cache)]
            ratios[("viewport", output, cache)] = theirs / ours[0]
            out.append(f"| viewport ({n} tiles), {cache}, ms | {output} | "
                       + " | ".join(f"{ms(v)} ({fmt_rate(n / v)} tiles/s)" for v in ours)
                       + f" | {ms(theirs)} ({fmt_rate(n / theirs)} tiles/s) | {theirs / ours[0]:.1f}× |\n")
    out.append(
        "\nRatio = rio-tiler's time / tessera's on SQLite (the throughput ratio). PNG encoding alone (zlib level 6, "
        f"the same bytes from both libraries) takes {ms(encode)} ms for the ~15-item tile's image, so a PNG "
        f"viewport spends about {ms(encode * n / args.threads)} ms encoding on {args.threads} threads whatever "
        "the cache does.\n"
    )

    def each_output(measure, fmt, met):
        """'array: value [PgSTAC value] MET; PNG: ...' for a measure(backend, output)."""
        parts = []
        for output in outputs:
            value = measure("SQLite", output)
            text = f"{output}: {fmt(value)}"
            if args.pgstac:
                text += f" (PgSTAC {fmt(measure('PgSTAC', output))})"
            parts.append(f"{text} {verdict(met(value))}")
        return "; ".join(parts)

    out.append("\n### Targets (tessera on SQLite; the verdict is SQLite's)\n\n")
    out.append("| target | result |\n|---|---|\n")
    out.append("| ~15-item tile ≤ 2× a one-item tile, cold | " + each_output(
        lambda b, o: single_med[(b, "~15-item", o, "cold")] / single_med[(b, "one-item", o, "cold")],
        lambda v: f"{v:.1f}×", lambda v: v <= 2) + " |\n")
    out.append(f"| {n}-tile viewport ≤ 0.5 s on {args.threads} cores, cold | " + each_output(
        lambda b, o: view_med[(b, o, "cold")], lambda v: f"{v:.2f} s", lambda v: v <= 0.5) + " |\n")
    out.append("| viewport with a warm cache (PNG: re-styled) ≥ 10× faster than cold | " + each_output(
        lambda b, o: view_med[(b, o, "cold")] / view_med[(b, o, "warm")], lambda v: f"{v:.1f}×",
        lambda v: v >= 10) + " |\n")
    lowest = {output: min(r for key, r in ratios.items() if key[1] == output) for output in outputs}
    out.append("| ≥ 5× rio-tiler throughput (lowest ratio of the 6 measures per output) | "
               + "; ".join(f"{output}: {v:.1f}× {verdict(v >= 5)}" for output, v in lowest.items()) + " |\n\n")
    out.append(f"Run time {time.perf_counter() - total_start:.0f} s.\n")
    section = "".join(out)
    print(section)
    if not args.no_write:
        target = Path(args.benchmarks)
        target.write_text(replace_section(target.read_text(), section))
        print(f"wrote the Mosaics section of {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
