"""Per-asset band selection in mosaics and item tiles: the shapes Python takes
(names, TiTiler 2's "B04|bidx=1", rio-tiler's {"name", "indexes"} dicts),
asset_as_band, both expression spellings, and an item tile of two assets (one
band each, and an expression across them) against rio-tiler 9.4's STACReader
(the test environment's pinned rio-tiler, scripts/setup.sh)."""

import json
from importlib.metadata import version

import morecantile
import numpy as np
import pytest
from rasterio.transform import from_bounds
from rio_tiler.io import STACReader

import tessera
from raster_fixtures import write_cog
from stac_fixtures import collection

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
Z, X, Y = 9, 270, 181  # a tile over northern Italy
TILE = WEB_MERCATOR.xy_bounds(X, Y, Z)


def _bands(seed, count):
    """`count` uint16 bands of noise in 1..60000 with a no-data (0) corner of their own."""
    rng = np.random.default_rng(seed)
    data = rng.integers(1, 60000, size=(count, 300, 300), dtype="uint16")
    data[:, : 40 + 10 * seed, : 30 + 5 * seed] = 0
    return data


@pytest.fixture
def item(tmp_path):
    """A catalog with one item over (and beyond) the test tile: asset "rgb" (3 bands) and
    "nir" (1 band), in EPSG:3857 at a resolution of their own; the item as a file too."""
    tessera.configure(allowed_roots=[str(tmp_path)])
    tessera.clear_tile_cache()
    pad = (TILE.right - TILE.left) * 0.1
    bounds = (TILE.left - pad, TILE.bottom - pad, TILE.right + pad, TILE.top + pad)
    transform = from_bounds(*bounds, 300, 300)
    rgb = write_cog(tmp_path / "rgb.tif", _bands(1, 3), "EPSG:3857", transform, nodata=0)
    nir = write_cog(tmp_path / "nir.tif", _bands(2, 1), "EPSG:3857", transform, nodata=0)
    west, south = WEB_MERCATOR._to_geographic.transform(bounds[0], bounds[1])
    east, north = WEB_MERCATOR._to_geographic.transform(bounds[2], bounds[3])
    cog = "image/tiff; application=geotiff; profile=cloud-optimized"
    feature = {
        "type": "Feature", "stac_version": "1.1.0", "id": "scene", "collection": "m", "links": [],
        "geometry": {"type": "Polygon",
                     "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]},
        "bbox": [west, south, east, north], "properties": {"datetime": "2024-06-01T00:00:00Z"},
        "assets": {"rgb": {"href": rgb, "type": cog}, "nir": {"href": nir, "type": cog}},
    }
    catalog = tessera.Catalog.open(f"sqlite://{tmp_path / 'catalog.db'}")
    catalog.upsert_collection(collection("m"))
    assert catalog.load([feature])["loaded"] == 1
    path = tmp_path / "item.json"
    path.write_text(json.dumps(feature))
    yield catalog, path, {"rgb": rgb, "nir": nir}
    tessera.configure()


def item_tile(catalog, assets, **options):
    """The item's tile as the item routes read it: a mosaic over that item alone."""
    return tessera.Mosaic(catalog, {"collections": ["m"], "ids": ["scene"]}, assets=assets, **options).tile(X, Y, Z)


def single_band(href, band):
    return tessera.tile(href, X, Y, Z, indexes=[band])


def test_every_shape_selects_the_bands_read_singly(item):
    catalog, _, hrefs = item
    expected = [single_band(hrefs["rgb"], 3), single_band(hrefs["rgb"], 1), single_band(hrefs["nir"], 1)]
    for assets in (
        [{"name": "rgb", "indexes": [3, 1]}, "nir"],
        ["rgb|bidx=3,1", {"name": "nir"}],
        ("rgb|bidx=3,1", "nir|bidx=1"),
    ):
        image = item_tile(catalog, assets)
        assert image.band_names == ["rgb_b3", "rgb_b1", "nir_b1"], assets
        for band, alone in enumerate(expected):
            valid = image.mask > 0
            np.testing.assert_array_equal(image.data[band][valid], alone.data[0][valid])
        # Valid where every asset is.
        np.testing.assert_array_equal(image.mask, np.minimum(expected[0].mask, expected[2].mask))

    as_bands = item_tile(catalog, ["rgb|bidx=2", "nir"], asset_as_band=True)
    assert as_bands.band_names == ["rgb", "nir"]
    by_name = item_tile(catalog, None, expression="rgb_b2 + nir_b1")
    by_position = item_tile(catalog, ["rgb|bidx=2", "nir"], expression="b1 + b2")
    by_asset = item_tile(catalog, ["rgb|bidx=2", "nir"], expression="rgb + nir", asset_as_band=True)
    np.testing.assert_array_equal(by_position.data, by_name.data)
    np.testing.assert_array_equal(by_asset.data, by_name.data)


@pytest.mark.parametrize(
    ("assets", "options", "message"),
    [
        (["rgb|bidx=0"], {}, "not an integer from 1"),
        (["rgb|indexes=1"], {}, "unknown option 'indexes'"),
        ([{"name": "rgb", "indexes": [1.5]}], {}, "not a band index"),
        ([{"name": "rgb", "bidx": [1]}], {}, "unknown key 'bidx'"),
        ([7], {}, "an asset is a name"),
        ("rgb", {}, "list of names"),
        (["rgb"], {"expression": "b1 + rgb_b1"}, "not an asset band"),
    ],
)
def test_malformed_selections_are_invalid_input(item, assets, options, message):
    with pytest.raises(tessera.InvalidInput, match=message):
        item_tile(item[0], assets, **options)


def test_bands_an_asset_lacks_name_the_asset(item):
    with pytest.raises(tessera.InvalidInput, match=r"asset 'nir' has 1 band\(s\): band 2 does not exist"):
        item_tile(item[0], ["rgb|bidx=1", "nir|bidx=2"])
    with pytest.raises(tessera.InvalidInput, match="asset_as_band: asset 'rgb' gives 3 bands"):
        item_tile(item[0], ["rgb"], asset_as_band=True)


def rio_tiler9_tile(item_path, assets, expression=None):
    """The item's tile as rio-tiler's STACReader reads it: data, validity (no band
    masked in its masked array: rio-tiler 9's `mask` is scaled to the data type) and
    band descriptions."""
    with STACReader(str(item_path)) as reader:
        image = reader.tile(X, Y, Z, assets=assets, expression=expression, tilesize=256)
    valid = ~np.ma.getmaskarray(image.array).any(axis=0)
    return {"data": image.data, "valid": valid, "band_descriptions": image.band_descriptions}


@pytest.mark.parametrize("expression", [None, "(b2 - b1) / (b2 + b1)"])
def test_two_assets_one_band_each_equal_rio_tiler_9(item, expression):
    catalog, item_path, _ = item
    peer = rio_tiler9_tile(item_path, [{"name": "rgb", "indexes": [3]}, {"name": "nir", "indexes": [1]}], expression)
    assert version("rio-tiler").startswith("9.")
    ours = item_tile(catalog, ["rgb|bidx=3", "nir|bidx=1"], expression=expression)
    valid = ours.mask > 0
    np.testing.assert_array_equal(valid, peer["valid"])
    assert valid.sum() > 1000  # the no-data corners leave most of the tile
    # rio-tiler 9's band descriptions are tessera's band names: "<asset>_b<n>", and
    # an expression's text with its b<n> so named.
    assert [str(name) for name in peer["band_descriptions"]] == ours.band_names
    if expression is None:
        assert ours.band_names == ["rgb_b3", "nir_b1"]
        np.testing.assert_array_equal(ours.data[:, valid], peer["data"][:, valid])
    else:
        assert ours.band_names == ["(nir_b1 - rgb_b3) / (nir_b1 + rgb_b3)"]
        np.testing.assert_allclose(ours.data[:, valid], peer["data"][:, valid], rtol=1e-12)
