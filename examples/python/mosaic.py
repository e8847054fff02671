"""A dynamic mosaic from Python: synthetic scenes (two UTM zones and WGS84,
different dates, overlapping, with no-data edges) go into a catalog, a search
over them is registered, and a whole viewport of the mosaic is rendered into
one PNG you can look at (plus the same viewport re-styled from the cache).

Usage: python3 examples/python/mosaic.py WORK_DIR
"""

import pathlib
import sys
import time

import numpy
import rasterio
from rasterio.transform import from_origin

import tessera

work = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-mosaic")
(work / "scenes").mkdir(parents=True, exist_ok=True)
tessera.configure(allowed_roots=[str(work)])

# Twelve 512 x 512 scenes on a 4 x 3 grid around Lake Geneva, each shifted so
# neighbours overlap; every scene has its own brightness, a no-data frame and
# a date (newest last).
catalog = tessera.Catalog.open(f"sqlite://{work / 'catalog.db'}")
catalog.upsert_collection(
    {
        "type": "Collection", "stac_version": "1.1.0", "id": "scenes", "description": "synthetic scenes",
        "license": "CC-BY-4.0", "links": [],
        "extent": {"spatial": {"bbox": [[5.5, 45.8, 7.5, 46.8]]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
    }
)
rows, cols = numpy.mgrid[0:512, 0:512] / 512.0
items = []
for n in range(12):
    column, row = n % 4, n // 4
    if n % 3 == 0:
        crs, origin, size = "EPSG:4326", (5.6 + 0.45 * column, 46.7 - 0.3 * row), 0.0012
    else:
        crs, origin, size = "EPSG:32632", (250000 + 35000 * column, 5180000 - 30000 * row), 90
    data = (1500 + 400 * n + 900 * numpy.sin(7 * cols + n) * numpy.cos(5 * rows)).astype("uint16")
    data[:16, :] = data[-16:, :] = data[:, :16] = data[:, -16:] = 0
    path = work / "scenes" / f"scene-{n:02d}.tif"
    profile = dict(driver="COG", width=512, height=512, count=1, dtype="uint16", crs=crs,
                   transform=from_origin(*origin, size, size), nodata=0, compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    items.append(tessera.create_item(str(path), collection="scenes", datetime=f"2024-06-{n + 1:02d}T10:00:00Z"))
print("loaded", catalog.load(items, mode="upsert")["loaded"], "scenes")

search_id = catalog.register_search({"collections": ["scenes"]}, metadata={"name": "lake geneva"})
asset = next(iter(items[0]["assets"]))
mosaic = tessera.Mosaic.from_registered(catalog, search_id, assets=[asset], method="first")
print("registered search", search_id, "- reading asset", repr(asset))

# A 4 x 3 tile viewport at zoom 9, rendered tile by tile and stitched.
tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
corner = tms.tile(5.8, 46.65, 9)
columns, rows_ = 4, 3


def viewport(colour):
    canvas = numpy.zeros((4, 256 * rows_, 256 * columns), dtype="uint8")
    read = 0
    for dy in range(rows_):
        for dx in range(columns):
            try:
                tile = mosaic.tile(corner.x + dx, corner.y + dy, 9)
            except tessera.NotFound:
                continue
            read += tile.metadata["items_read"]
            rgba = colour(tile.data[0].astype("float64"))
            rgba[3] = tile.mask
            canvas[:, dy * 256:(dy + 1) * 256, dx * 256:(dx + 1) * 256] = rgba
    return canvas, read


def grey(values):
    scaled = numpy.clip(values / 6000 * 255, 0, 255).astype("uint8")
    return numpy.stack([scaled, scaled, scaled, scaled])


def warm(values):
    scaled = numpy.clip(values / 6000, 0, 1)
    return numpy.stack([(255 * scaled).astype("uint8"), (180 * scaled).astype("uint8"),
                        (90 * (1 - scaled)).astype("uint8"), numpy.zeros_like(scaled, dtype="uint8")])


for name, colour in (("mosaic.png", grey), ("mosaic-restyled.png", warm)):
    started = time.perf_counter()
    canvas, read = viewport(colour)
    elapsed = time.perf_counter() - started
    with rasterio.open(work / name, "w", driver="PNG", width=canvas.shape[2], height=canvas.shape[1], count=4,
                       dtype="uint8") as png:
        png.write(canvas)
    print(f"{work / name}: {columns}x{rows_} tiles in {elapsed * 1000:.0f} ms ({read} item reads)")
stats = tessera.tile_cache_stats()
print(f"data cache: {stats['hits']} hits, {stats['misses']} misses, {stats['bytes'] // 1024} KiB")
print("items under the viewport's first tile:", [entry["id"] for entry in mosaic.assets_for_tile(corner.x, corner.y, 9)])
