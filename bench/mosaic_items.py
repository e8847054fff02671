"""The mosaic benchmarks' items (bench/mosaic_bench.py, bench/tile_server_bench.py).

5,000 small COG items over a 50x50 grid of cells around lon 10, lat 46: a base layer
of one item per cell and two newer layers over half of the cells each, every item
256x256 uint16 (DEFLATE, predictor 2, one 256-pixel block), 25% larger than its cell,
jittered, in EPSG:32632, EPSG:3857 or EPSG:4326, the newer layers with a no-data swath
edge; generated once into a work dir (deterministic), and loaded into tessera catalogs.
"""

import json
import os
import time

import morecantile
import numpy as np
import rasterio
from rasterio.transform import from_bounds
from rasterio.warp import transform_bounds

import tessera

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
COLLECTION = "mosaic-bench"
GRID = 50  # cells a side
VIEWPORT_ZOOM = 11
CELL = WEB_MERCATOR.xy_bounds(0, 0, VIEWPORT_ZOOM).right - WEB_MERCATOR.xy_bounds(0, 0, VIEWPORT_ZOOM).left
CELL /= 1.5  # a viewport tile spans 1.5 cells: (1.5 + 1.25)^2 cells x 2 layers on average ~ 15 items
ITEM_SIDE = 1.25 * CELL  # in EPSG:3857 units, before reprojection
JITTER = 0.05 * CELL
CENTRE = (1113194.9, 5780000.0)  # lon 10, lat ~46 in EPSG:3857
SIZE = 256
CRSS = ["EPSG:32632", "EPSG:3857", "EPSG:4326"]
VIEWPORT = (9, 7)  # tiles: columns, rows


# --------------------------------------------------------------------------- items


def item_data(rng, layer):
    """Gradient + noise in 1..~2000; newer layers lose a swath edge (no data, 0)."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    base = 400 + 300 * layer + 2 * rows + cols + rng.integers(0, 60, size=(SIZE, SIZE))
    data = base.astype("uint16")
    if layer > 0:
        cut = rng.uniform(0.1, 0.5) * SIZE
        slope = rng.uniform(-0.5, 0.5)
        data[cols < cut + slope * (rows - SIZE / 2)] = 0
    return data[None]


def plan_items():
    """(id, layer, crs, EPSG:3857 bounds, date) for every item, deterministic."""
    rng = np.random.default_rng(20261122)
    half = GRID * CELL / 2
    plans = []
    for layer in range(3):
        cells = [(i, j) for i in range(GRID) for j in range(GRID)]
        if layer > 0:  # newer layers: half of the cells each
            picked = rng.choice(len(cells), size=len(cells) // 2, replace=False)
            cells = [cells[k] for k in sorted(picked)]
        for i, j in cells:
            cx = CENTRE[0] - half + (i + 0.5) * CELL + rng.uniform(-JITTER, JITTER)
            cy = CENTRE[1] - half + (j + 0.5) * CELL + rng.uniform(-JITTER, JITTER)
            bounds = (cx - ITEM_SIDE / 2, cy - ITEM_SIDE / 2, cx + ITEM_SIDE / 2, cy + ITEM_SIDE / 2)
            day = 1 + layer * 9 + int(rng.integers(0, 9))
            plans.append((f"L{layer}-{i:02d}-{j:02d}", layer, CRSS[(i + j + layer) % 3], bounds,
                          f"2024-{4 + layer:02d}-{day:02d}T10:{i % 60:02d}:{j % 60:02d}Z"))
    return plans


def write_item(folder, rng, plan):
    item_id, layer, crs, bounds, date = plan
    native = transform_bounds("EPSG:3857", crs, *bounds, densify_pts=21)
    path = folder / f"{item_id}.tif"
    with rasterio.open(path, "w", driver="COG", width=SIZE, height=SIZE, count=1, dtype="uint16", crs=crs,
                       transform=from_bounds(*native, SIZE, SIZE), nodata=0, compress="DEFLATE", predictor=2,
                       blocksize=SIZE) as dst:
        dst.write(item_data(rng, layer))
    west, south, east, north = transform_bounds(crs, "EPSG:4326", *native, densify_pts=21)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": item_id, "collection": COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [west, south, east, north], "links": [],
        "properties": {"datetime": date, "proj:code": crs},
        "assets": {"data": {"href": str(path), "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                            "roles": ["data"]}},
    }


def ensure_items(work_dir):
    """The items' STAC JSON (written with the COGs, once); seconds spent generating or None."""
    manifest = work_dir / "items.ndjson"
    if manifest.exists():
        return [json.loads(line) for line in manifest.read_text().splitlines()], None
    started = time.perf_counter()
    folder = work_dir / "cogs"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    items = [write_item(folder, rng, plan) for plan in plan_items()]
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(item) + "\n" for item in items))
    os.replace(tmp, manifest)
    return items, time.perf_counter() - started


def collection():
    return {
        "type": "Collection", "stac_version": "1.1.0", "id": COLLECTION, "description": "mosaic benchmark items",
        "license": "CC-BY-4.0", "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                   "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
    }


def open_catalog(url, items, fresh):
    catalog = tessera.Catalog.open(url)
    present = catalog.search({"collections": [COLLECTION], "limit": 1})
    if fresh or present.get("numberMatched") != len(items):
        for existing in catalog.collections():
            if existing["id"] == COLLECTION:
                catalog.delete_collection(COLLECTION, cascade=True)
        catalog.upsert_collection(collection())
        report = catalog.load(items, mode="upsert")
        if report["loaded"] != len(items):
            raise SystemExit(f"loading the items into {url} failed: {report}")
    return catalog


def viewport_tiles():
    """The VIEWPORT (columns x rows) of VIEWPORT_ZOOM tiles around the region's centre, row by row."""
    lonlat = WEB_MERCATOR.lnglat(*CENTRE)
    centre = WEB_MERCATOR.tile(lonlat.x, lonlat.y, VIEWPORT_ZOOM)
    columns, rows = VIEWPORT
    return [(VIEWPORT_ZOOM, centre.x + dx, centre.y + dy)
            for dy in range(-(rows // 2), rows - rows // 2) for dx in range(-(columns // 2), columns - columns // 2)]
