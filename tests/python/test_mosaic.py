"""Dynamic mosaics on both catalog backends: pixel selection, early exit,
caps, partial failures, the data cache, registered searches."""

import os

import morecantile
import numpy as np
import pytest
from rasterio.transform import from_bounds

import tessera
from raster_fixtures import write_cog
from stac_fixtures import collection

PGSTAC_URL = os.environ.get("TESSERA_TEST_PGSTAC_URL")
BACKENDS = ["sqlite"] + (["pgstac"] if PGSTAC_URL else [])
if os.environ.get("CI") and not PGSTAC_URL:
    raise RuntimeError("TESSERA_TEST_PGSTAC_URL is not set: the PgSTAC test server did not start")

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
Z, X, Y = 9, 270, 181  # a tile over northern Italy (lon 9.84..10.55)
TILE = WEB_MERCATOR.xy_bounds(X, Y, Z)


@pytest.fixture(params=BACKENDS)
def catalog(request, tmp_path):
    if request.param == "pgstac":
        cat = tessera.Catalog.open(request.getfixturevalue("pgstac_url"))  # a database of the test's own
    else:
        cat = tessera.Catalog.open(f"sqlite://{tmp_path / 'catalog.db'}")
    cat.upsert_collection(collection("m"))
    tessera.configure(allowed_roots=[str(tmp_path)])
    tessera.clear_tile_cache()
    yield cat
    tessera.configure()


def _footprint(bounds_3857):
    left, bottom, right, top = bounds_3857
    west, south = WEB_MERCATOR._to_geographic.transform(left, bottom)
    east, north = WEB_MERCATOR._to_geographic.transform(right, top)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}, [west, south, east, north]


def add_item(catalog, folder, item_id, day, value, part="full", asset="data", crs="EPSG:3857", bands=1, href=None):
    """An item whose raster covers the test tile (or its left/right half) with `value`."""
    left, bottom, right, top = TILE.left, TILE.bottom, TILE.right, TILE.top
    middle = (left + right) / 2
    bounds = {"full": (left, bottom, right, top), "left": (left, bottom, middle, top),
              "right": (middle, bottom, right, top)}[part]
    width = 256 if part == "full" else 128
    data = np.full((bands, 256, width), value, dtype="uint8")
    for b in range(1, bands):
        data[b] = value + 10 * b
    path = href or write_cog(folder / f"{item_id}.tif", data, crs, from_bounds(*bounds, width, 256), nodata=0)
    geometry, bbox = _footprint(bounds)
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": item_id, "collection": "m",
        "geometry": geometry, "bbox": bbox, "links": [],
        "properties": {"datetime": f"2024-01-{day:02d}T00:00:00Z"},
        "assets": {asset: {"href": str(path), "type": "image/tiff; application=geotiff"}},
    }
    report = catalog.load([item], mode="upsert")
    assert report["loaded"] == 1, report
    return item


SEARCH = {"collections": ["m"]}


def test_first_fills_from_the_newest_item_and_stops(catalog, tmp_path):
    for day, value in [(1, 10), (2, 20), (3, 30)]:
        add_item(catalog, tmp_path, f"full-{day}", day, value)
    image = tessera.Mosaic(catalog, SEARCH, assets=["data"]).tile(X, Y, Z)
    assert image.data.shape == (1, 256, 256)
    assert (image.data == 30).all() and (image.mask == 255).all()
    assert image.assets == ["full-3"]
    # The older items were never opened: the newest covered the tile.
    assert image.metadata["items_scanned"] == 3
    assert image.metadata["items_read"] == 1 and image.metadata["items_used"] == 1
    assert image.metadata["cache"]["misses"] == 1
    assert image.metadata["filled"] is True and image.metadata["stopped_by"] is None


def test_first_without_footprint_skipping_still_stops_as_reads_complete(catalog, tmp_path):
    for day in range(1, 41):
        add_item(catalog, tmp_path, f"full-{day:02d}", day % 28 + 1, day)
    image = tessera.Mosaic(catalog, SEARCH, assets=["data"], skip_covered=False).tile(X, Y, Z)
    assert (image.mask == 255).all()
    assert len(image.assets) == 1
    # At most one pool's worth of reads was in flight when the tile filled.
    assert image.metadata["items_read"] <= 16
    assert image.metadata["cache"]["misses"] <= 16


def test_halves_are_combined_in_search_order(catalog, tmp_path):
    add_item(catalog, tmp_path, "left", 2, 7, part="left")
    add_item(catalog, tmp_path, "right", 1, 9, part="right")
    add_item(catalog, tmp_path, "old-full", 0 + 1, 99)  # oldest: only where nothing else has data
    image = tessera.Mosaic(catalog, {"collections": ["m"], "sortby": [{"field": "datetime", "direction": "desc"}]},
                           assets=["data"]).tile(X, Y, Z)
    assert (image.mask == 255).all()
    assert (image.data[0, :, :128] == 7).all()
    # day 1 ties: right and old-full share the date; either way the right half is one item's
    assert set(np.unique(image.data[0, :, 128:])) <= {9, 99}
    assert image.assets[0] == "left"


@pytest.mark.parametrize(
    "method, expected",
    [("highest", 30), ("lowest", 10), ("mean", 20), ("median", 20), ("count", 3)],
)
def test_pixel_selection_methods(catalog, tmp_path, method, expected):
    for day, value in [(1, 10), (2, 30), (3, 20)]:
        add_item(catalog, tmp_path, f"full-{day}", day, value)
    image = tessera.Mosaic(catalog, SEARCH, assets=["data"], method=method).tile(X, Y, Z)
    assert (image.data == expected).all()
    assert image.metadata["items_read"] == 3
    if method == "count":
        assert image.dtype == "uint8" and image.band_names == ["count"]


def test_stdev_median_and_last_band(catalog, tmp_path):
    for day, value in [(1, 10), (2, 30), (3, 20), (4, 40)]:
        add_item(catalog, tmp_path, f"full-{day}", day, value, bands=2)
    stdev = tessera.Mosaic(catalog, SEARCH, assets=["data"], method="stdev").tile(X, Y, Z)
    assert stdev.dtype == "float64"
    assert np.allclose(stdev.data[0], np.std([10, 30, 20, 40]))
    median = tessera.Mosaic(catalog, SEARCH, assets=["data"], method="median").tile(X, Y, Z)
    assert (median.data[0] == 25).all()  # mean of the two middle values, in uint8
    high = tessera.Mosaic(catalog, SEARCH, assets=["data"], method="last-band-high").tile(X, Y, Z)
    assert high.count == 1 and (high.data[0] == 40).all()
    low = tessera.Mosaic(catalog, SEARCH, assets=["data"], method="lastbandlow").tile(X, Y, Z)
    assert (low.data[0] == 10).all()


def test_caps_are_reported(catalog, tmp_path):
    add_item(catalog, tmp_path, "left", 2, 7, part="left")
    add_item(catalog, tmp_path, "right", 1, 9, part="right")
    read_capped = tessera.Mosaic(catalog, SEARCH, assets=["data"], max_items_read=1).tile(X, Y, Z)
    assert read_capped.metadata["stopped_by"] == "max_items_read"
    assert (read_capped.mask[:, :128] == 255).all() and (read_capped.mask[:, 128:] == 0).all()
    scan_capped = tessera.Mosaic(catalog, SEARCH, assets=["data"], max_items_scanned=1).tile(X, Y, Z)
    assert scan_capped.metadata["stopped_by"] == "max_items_scanned"
    assert scan_capped.metadata["items_scanned"] == 1
    # 1 ms cannot read 40 more items (every one is needed for a mean).
    for day in range(3, 43):
        add_item(catalog, tmp_path, f"late-{day}", day % 28 + 1, day)
    mosaic = tessera.Mosaic(catalog, SEARCH, assets=["data"], method="mean", time_budget=1e-9)
    try:
        timed = mosaic.tile(X, Y, Z)
        assert timed.metadata["stopped_by"] == "time_budget"
        assert timed.metadata["items_used"] < 42
    except tessera.NotFound as error:  # not even the first read finished in time
        assert "stopped by time_budget" in str(error)


def test_unreadable_items_do_not_fail_the_tile(catalog, tmp_path):
    add_item(catalog, tmp_path, "broken", 3, 0, href=tmp_path / "missing.tif")
    add_item(catalog, tmp_path, "no-asset", 2, 5, asset="other")
    add_item(catalog, tmp_path, "good", 1, 42)
    image = tessera.Mosaic(catalog, SEARCH, assets=["data"]).tile(X, Y, Z)
    assert (image.data == 42).all()
    failed = {entry["id"]: entry["error"] for entry in image.metadata["failed"]}
    assert set(failed) == {"broken", "no-asset"}
    assert "does not exist" in failed["broken"] and "no asset 'data'" in failed["no-asset"]
    assert any("broken" in warning for warning in image.warnings)


def test_every_item_failing_is_an_error(catalog, tmp_path):
    add_item(catalog, tmp_path, "broken", 3, 0, href=tmp_path / "missing.tif")
    with pytest.raises(tessera.StorageError, match="broken"):
        tessera.Mosaic(catalog, SEARCH, assets=["data"]).tile(X, Y, Z)


def test_every_item_lacking_the_asset_is_invalid_input(catalog, tmp_path):
    add_item(catalog, tmp_path, "no-asset", 2, 5, asset="other")
    with pytest.raises(tessera.InvalidInput, match="no asset 'data'"):
        tessera.Mosaic(catalog, SEARCH, assets=["data"]).tile(X, Y, Z)


def test_data_cache_serves_a_restyled_tile(catalog, tmp_path):
    for day, value in [(1, 10), (2, 30)]:
        add_item(catalog, tmp_path, f"full-{day}", day, value)
    mosaic = tessera.Mosaic(catalog, SEARCH, assets=["data"], method="highest")
    cold = mosaic.tile(X, Y, Z)
    assert cold.metadata["cache"] == {"hits": 0, "misses": 2}
    warm = mosaic.tile(X, Y, Z)
    assert warm.metadata["cache"] == {"hits": 2, "misses": 0}
    assert np.array_equal(cold.data, warm.data)
    assert cold.render(format="png", rescale=[(0, 50)]) != warm.render(format="png", colormap="viridis")
    stats = tessera.tile_cache_stats()
    assert stats["hits"] == 2 and stats["misses"] == 2 and stats["entries"] == 2 and stats["bytes"] > 0
    # Another mosaic over the same items shares the cache.
    other = tessera.Mosaic(catalog, {"collections": ["m"], "ids": ["full-1"]}, assets=["data"]).tile(X, Y, Z)
    assert other.metadata["cache"] == {"hits": 1, "misses": 0}
    tessera.clear_tile_cache()
    assert tessera.tile_cache_stats()["entries"] == 0


def test_registered_search_and_expression(catalog, tmp_path):
    add_item(catalog, tmp_path, "full-1", 1, 12)
    search_id = catalog.register_search({"collections": ["m"], "filter": "id = 'full-1'"}, metadata={"name": "one"})
    assert catalog.registered_search(search_id)["metadata"] == {"name": "one"}
    assert search_id in [entry["id"] for entry in catalog.registered_searches()]
    mosaic = tessera.Mosaic.from_registered(catalog, search_id, expression="data_b1 * 10 + 1")
    image = mosaic.tile(X, Y, Z)
    assert image.dtype == "float64" and (image.data == 121).all()
    assert image.band_names == ["data_b1 * 10 + 1"]
    with pytest.raises(tessera.NotFound):
        tessera.Mosaic.from_registered(catalog, "0" * 32, assets=["data"])


def test_items_in_other_crss_and_resolutions(catalog, tmp_path):
    # The same tile area in WGS84 at another resolution.
    (west, south), (east, north) = (WEB_MERCATOR._to_geographic.transform(TILE.left, TILE.bottom),
                                    WEB_MERCATOR._to_geographic.transform(TILE.right, TILE.top))
    path = write_cog(tmp_path / "wgs84.tif", np.full((1, 100, 100), 77, dtype="uint8"), "EPSG:4326",
                     from_bounds(west - 0.5, south - 0.5, east + 0.5, north + 0.5, 100, 100), nodata=0)
    add_item(catalog, tmp_path, "wgs84", 5, 0, href=path)
    add_item(catalog, tmp_path, "left", 6, 7, part="left")
    image = tessera.Mosaic(catalog, SEARCH, assets=["data"]).tile(X, Y, Z)
    assert (image.mask == 255).all()
    assert (image.data[0, :, :128] == 7).all() and (image.data[0, :, 130:] == 77).all()
    assert image.assets == ["left", "wgs84"]


def test_assets_for_tile_and_point(catalog, tmp_path):
    add_item(catalog, tmp_path, "left", 2, 7, part="left")
    add_item(catalog, tmp_path, "right", 1, 9, part="right")
    mosaic = tessera.Mosaic(catalog, SEARCH, assets=["data"])
    listed = mosaic.assets_for_tile(X, Y, Z)
    assert [entry["id"] for entry in listed] == ["left", "right"]
    assert listed[0]["assets"]["data"].endswith("left.tif")
    west, south = WEB_MERCATOR._to_geographic.transform(TILE.left + 1000, TILE.bottom + 1000)
    assert [entry["id"] for entry in mosaic.assets_for_point(west, south)] == ["left"]
    assert mosaic.assets_for_tile(X + 5, Y, Z) == []
    with pytest.raises(tessera.NotFound, match="no item"):
        mosaic.tile(X + 5, Y, Z)


def test_bad_mosaic_definitions(catalog):
    with pytest.raises(tessera.InvalidInput, match="pixel selection"):
        tessera.Mosaic(catalog, SEARCH, assets=["data"], method="brightest")
    with pytest.raises(tessera.InvalidInput, match="assets"):
        tessera.Mosaic(catalog, SEARCH)
    with pytest.raises(tessera.InvalidInput, match="asset band"):
        tessera.Mosaic(catalog, SEARCH, expression="visual * 2")
    # rio-tiler 9's b<n> counts the bands of the assets read: there are none.
    with pytest.raises(tessera.InvalidInput, match="name the assets"):
        tessera.Mosaic(catalog, SEARCH, expression="b1 * 2")
    with pytest.raises(tessera.InvalidInput, match="bbox"):
        tessera.Mosaic(catalog, {"bbox": [1, 2, 3]}, assets=["data"])
    with pytest.raises(tessera.InvalidInput, match="time_budget"):
        tessera.Mosaic(catalog, SEARCH, assets=["data"], time_budget=0)
    with pytest.raises(tessera.InvalidInput, match="longitude"):
        tessera.Mosaic(catalog, SEARCH, assets=["data"]).assets_for_point(200, 0)


def test_items_crossing_the_antimeridian(catalog, tmp_path):
    # A UTM zone 60 scene reaching past 180 degrees: its footprint is split
    # in two, and tiles on both sides of the antimeridian read it.
    data = np.full((1, 200, 200), 5, dtype="uint8")
    path = write_cog(tmp_path / "dateline.tif", data, "EPSG:32660", from_bounds(650000, 4900000, 850000, 5100000,
                                                                                 200, 200), nodata=0)
    item = tessera.create_item(path, collection="m", datetime="2024-02-01T00:00:00Z")
    assert item["geometry"]["type"] == "MultiPolygon"
    assert catalog.load([item])["loaded"] == 1
    mosaic = tessera.Mosaic(catalog, SEARCH, assets=list(item["assets"]))
    for lon in (179.5, -179.7):
        tile = WEB_MERCATOR.tile(lon, 45.0, 7)
        image = mosaic.tile(tile)
        assert image.assets == [item["id"]]
        assert (image.data[0][image.mask == 255] == 5).all() and (image.mask == 255).any()
        assert [entry["id"] for entry in mosaic.assets_for_point(lon, 45.0)] == [item["id"]]


def test_hostile_mosaic_requests_are_refused_before_allocation(catalog, tmp_path):
    import resource

    add_item(catalog, tmp_path, "full-1", 1, 10)
    mosaic = tessera.Mosaic(catalog, SEARCH, assets=["data"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # buffer=20000 once allocated ~1.6 GB before the size check.
    for buffer in (20000, 45000, 1e300, float("inf")):
        with pytest.raises(tessera.InvalidInput, match="buffer"):
            mosaic.tile(X, Y, Z, buffer=buffer)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB
    with pytest.raises(tessera.InvalidInput):
        mosaic.tile(X, Y, Z, expression="1")
    assert mosaic.tile(tessera.Tile(X, Y, Z)).assets == ["full-1"]
