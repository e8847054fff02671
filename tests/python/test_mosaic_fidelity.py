"""tessera's mosaic tiles against rio-tiler's `mosaic_reader` over the same items.

Eleven small overlapping uint16 COGs (nodata 0, with a hole and a jagged
no-data edge each) in three CRSs and eleven dates are loaded in a SQLite
catalog: collection "reprojected" holds the UTM 32N and EPSG:4326 items,
"mercator" the EPSG:3857 ones. For WebMercatorQuad tiles at two zooms,
rio-tiler is given the items tessera's search returns for the tile, in the
same order (`Mosaic.assets_for_tile`), and reads each with `Reader.tile`.
Per method (first, highest, mean): masks identical, at least 99.9% of the
valid pixels equal. The figures are printed (pytest -s).

With the EPSG:3857 items included the tiles differ where the single-item
reads already differ (docs/tiling.md: rio-tiler reads a raster in the tile
grid's CRS with GDAL's RasterIO, which keeps a partly covered last column or
row and samples decimated windows one pixel apart from the pixel-centre
rule); that case is a strict expected failure with the measured figures.
The merge itself is checked on every item by feeding tessera's own per-item
reads to rio-tiler's pixel-selection methods.
"""

import morecantile
import numpy
import pytest
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from rio_tiler.mosaic import mosaic_reader
from rio_tiler.mosaic.methods.defaults import FirstMethod, HighestMethod, MeanMethod

import tessera
from raster_fixtures import write_cog
from stac_fixtures import collection

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")

# (crs, upper-left x, upper-left y, pixel size, width, height) around lon 9.5, lat 45.5.
RASTERS = [
    ("EPSG:32632", 520000, 5060000, 60, 400, 360),
    ("EPSG:3857", 1030000, 5725000, 70, 380, 400),
    ("EPSG:4326", 9.15, 45.75, 0.0008, 420, 380),
    ("EPSG:32632", 545000, 5045000, 45, 420, 420),
    ("EPSG:3857", 1060000, 5700000, 55, 360, 380),
    ("EPSG:4326", 9.35, 45.62, 0.0006, 400, 400),
    ("EPSG:32632", 505000, 5030000, 80, 300, 320),
    ("EPSG:3857", 1005000, 5740000, 90, 300, 280),
    ("EPSG:4326", 9.05, 45.55, 0.001, 320, 300),
    ("EPSG:32632", 560000, 5070000, 50, 360, 380),
    ("EPSG:3857", 1045000, 5690000, 65, 420, 360),
]
ZOOMS = (10, 11)
TILES_PER_ZOOM = 4
METHODS = {"first": FirstMethod, "highest": HighestMethod, "mean": MeanMethod}
BOTH = ["reprojected", "mercator"]


def noisy_raster(rng, width, height):
    """uint16 noise in 1..9999 with nodata (0): a rectangular hole and a jagged left edge."""
    data = rng.integers(1, 10000, size=(1, height, width), dtype="uint16")
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    data[0, top : top + height // 4, left : left + width // 3] = 0
    edge = width // 6 + rng.integers(0, 8, size=(height, 1))
    data[0][numpy.arange(width)[None, :] < edge] = 0
    return data


def footprint(crs, transform, width, height):
    """The raster's bounds in lon/lat (densified) as a bbox polygon: never smaller than its data."""
    left, top = transform * (0, 0)
    right, bottom = transform * (width, height)
    west, south, east, north = transform_bounds(crs, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}, [west, south, east, north]


@pytest.fixture(scope="module")
def mosaic_catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mosaic-fidelity")
    rng = numpy.random.default_rng(7)
    catalog = tessera.Catalog.open(f"sqlite://{folder / 'catalog.db'}")
    for name in BOTH:
        catalog.upsert_collection(collection(name))
    items = []
    for n, (crs, x0, y0, size, width, height) in enumerate(RASTERS):
        transform = from_origin(x0, y0, size, size)
        path = write_cog(folder / f"item{n:02d}.tif", noisy_raster(rng, width, height), crs, transform, nodata=0,
                         blocksize=128)
        geometry, bbox = footprint(crs, transform, width, height)
        items.append({
            "type": "Feature", "stac_version": "1.1.0", "id": f"item{n:02d}",
            "collection": "mercator" if crs == "EPSG:3857" else "reprojected",
            "geometry": geometry, "bbox": bbox, "links": [],
            "properties": {"datetime": f"2024-03-{(n * 5) % 11 + 1:02d}T10:00:00Z"},  # eleven distinct dates
            "assets": {"data": {"href": path, "type": "image/tiff; application=geotiff; profile=cloud-optimized"}},
        })
    report = catalog.load(items, mode="upsert")
    assert report["loaded"] == len(items), report
    tessera.configure(allowed_roots=[str(folder)])
    tessera.clear_tile_cache()
    yield catalog, items
    tessera.configure()


def tiles_with_overlap(mosaic, items):
    """Per zoom, the TILES_PER_ZOOM tiles over the items with the most items, then by position."""
    west, south = (min(item["bbox"][i] for item in items) for i in (0, 1))
    east, north = (max(item["bbox"][i] for item in items) for i in (2, 3))
    chosen = []
    for z in ZOOMS:
        ranked = sorted((-len(mosaic.assets_for_tile(t.x, t.y, t.z)), t.x, t.y)
                        for t in WEB_MERCATOR.tiles(west, south, east, north, zooms=[z]))
        chosen += [(z, x, y) for _, x, y in ranked[:TILES_PER_ZOOM]]
    return chosen


def read_with_rio_tiler(href, x, y, z):
    with Reader(href) as reader:
        return reader.tile(x, y, z)


def read_with_tessera(href, x, y, z):
    image = tessera.read_tile(href, x, y, z)
    if not image.mask.any():
        raise TileOutsideBounds(href)  # what rio-tiler's reader says for a tile without data
    invalid = numpy.broadcast_to(image.mask == 0, image.data.shape)
    return ImageData(numpy.ma.MaskedArray(image.data.copy(), mask=invalid.copy()))


def compare(catalog, items, collections, method, reader):
    """Agreement over the tiles: (tiles, items per tile, equal share, valid pixels, mask mismatches)."""
    chosen = [item for item in items if item["collection"] in collections]
    mosaic = tessera.Mosaic(catalog, {"collections": collections}, assets=["data"], method=method)
    tiles = tiles_with_overlap(mosaic, chosen)
    equal_pixels = valid_pixels = 0
    mask_mismatches = []
    overlaps = []
    for z, x, y in tiles:
        hrefs = [entry["assets"]["data"] for entry in mosaic.assets_for_tile(x, y, z)]
        overlaps.append(len(hrefs))
        actual = mosaic.tile(x, y, z)
        expected, _ = mosaic_reader(hrefs, reader, x, y, z, pixel_selection=METHODS[method](), threads=0)
        assert actual.data.shape == expected.data.shape and actual.dtype == str(expected.data.dtype)
        expected_valid = ~numpy.logical_or.reduce(expected.array.mask, axis=0)  # one band: its mask
        actual_valid = actual.mask == 255
        if not numpy.array_equal(actual_valid, expected_valid):
            mask_mismatches.append(((z, x, y), int((actual_valid != expected_valid).sum())))
        both = actual_valid & expected_valid
        equal_pixels += int((actual.data[0][both] == expected.data[0][both]).sum())
        valid_pixels += int(both.sum())
    share = equal_pixels / max(valid_pixels, 1)
    print(f"{method} over {collections}: {len(tiles)} tiles (items per tile {overlaps}), "
          f"{share:.5%} of {valid_pixels} valid pixels equal, mask mismatches (tile, pixels) {mask_mismatches}")
    assert min(overlaps) >= 3, overlaps  # real mosaics: every tile combines several items
    return share, mask_mismatches


@pytest.mark.parametrize("method", list(METHODS))
def test_mosaic_of_reprojected_items_matches_rio_tiler(mosaic_catalog, method):
    share, mask_mismatches = compare(*mosaic_catalog, ["reprojected"], method, read_with_rio_tiler)
    assert not mask_mismatches
    assert share >= 0.999


# Measured with rio-tiler 9.4.12 / rasterio 1.4.4 (GDAL 3.10.3), the same figures as with 7.9.6: masks differ on 5 of
# the 8 tiles (2 to 286 pixels: the partly covered last column/row rio-tiler keeps),
# valid pixels equal 97.46% (first), 96.95% (highest), 96.19% (mean) -- mostly on
# the z10 tiles, where the EPSG:3857 items are read decimated.
@pytest.mark.xfail(reason="EPSG:3857 items: single-item reads differ from rio-tiler's (docs/tiling.md)",
                   strict=True)
@pytest.mark.parametrize("method", list(METHODS))
def test_mosaic_with_items_in_the_tile_crs_matches_rio_tiler(mosaic_catalog, method):
    share, mask_mismatches = compare(*mosaic_catalog, BOTH, method, read_with_rio_tiler)
    assert not mask_mismatches
    assert share >= 0.999


@pytest.mark.parametrize("method", list(METHODS))
def test_pixel_selection_matches_rio_tiler_methods_on_every_item(mosaic_catalog, method):
    """rio-tiler's methods fed with tessera's own per-item reads: the merge alone, exactly."""
    share, mask_mismatches = compare(*mosaic_catalog, BOTH, method, read_with_tessera)
    assert not mask_mismatches
    assert share == 1.0
