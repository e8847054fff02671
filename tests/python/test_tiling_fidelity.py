"""tessera's tiles against rio-tiler's for the same z/x/y and options (nearest resampling).

Masks must be identical and at least 99.9% of the valid pixels equal; the
figures per raster are printed (pytest -s) so differences can be recorded.
"""

import numpy
import pytest
from rio_tiler.constants import WGS84_CRS
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

import tessera
from raster_fixtures import fidelity_rasters, overview_levels_raster


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    return fidelity_rasters(tmp_path_factory.mktemp("fidelity"))


def geographic(reader):
    return reader.get_geographic_bounds(WGS84_CRS)


def tiles_to_compare(reader, limit_per_zoom=6):
    """Every zoom from the raster's minzoom to one past its maxzoom; at each,
    up to `limit_per_zoom` tiles spread over the raster, edges included."""
    tiles = []
    for z in range(reader.minzoom, reader.maxzoom + 2):
        covering = list(reader.tms.tiles(*geographic(reader), zooms=[z]))
        if len(covering) > limit_per_zoom:
            step = (len(covering) - 1) / (limit_per_zoom - 1)
            covering = [covering[round(n * step)] for n in range(limit_per_zoom)]
        tiles.extend(covering)
    return tiles


def rio_tiler_validity(image):
    """Where rio-tiler's ImageData is valid: any band unmasked. (Its `.mask`
    is in the data's type since rio-tiler 8: 0 and the type's maximum, or a
    raster's own alpha band as it is; tessera's mask is uint8 0/255.)"""
    return numpy.logical_or.reduce(~numpy.ma.getmaskarray(image.array), axis=0)


def compare(href, tile, **options):
    with Reader(href) as reader:
        try:
            expected = reader.tile(tile.x, tile.y, tile.z, **options)
        except TileOutsideBounds:
            return None
    actual = tessera.read_tile(href, tile.x, tile.y, tile.z, **options)
    assert actual.data.shape == expected.data.shape
    assert actual.dtype == str(expected.data.dtype)
    assert set(numpy.unique(actual.mask)) <= {0, 255}
    valid = rio_tiler_validity(expected)
    mask_equal = numpy.array_equal(actual.mask == 255, valid)
    both = numpy.broadcast_to(valid, expected.data.shape)
    same = (actual.data == expected.data) | (numpy.isnan(actual.data) & numpy.isnan(expected.data))
    return mask_equal, int(same[both].sum()), int(both.sum())


@pytest.mark.parametrize(
    "name",
    [
        "uint8_nodata_utm",
        "uint16_mask_utm",
        "int16_nodata_geographic",
        # Same CRS as the tile grid: rio-tiler reads windows past the raster's
        # edge through rasterio's boundless VRT, where GDAL 3.10 keeps the
        # partly covered last row/column and, from an overview, lands one
        # pixel apart from the pixel-centre rule in places (about 5% of the
        # pixels here). Recorded in docs/tiling.md; tracked as a miss.
        pytest.param(
            "float32_nan_mercator",
            marks=pytest.mark.xfail(
                reason="same-CRS boundless reads differ from rio-tiler's (GDAL 3.10 VRT)", strict=True
            ),
        ),
        "rgba_utm",
        "uint16_no_overviews_utm",
        "rgba_partial_alpha_utm",
    ],
)
def test_tiles_match_rio_tiler(rasters, name):
    href = rasters[name]
    with Reader(href) as reader:
        tiles = tiles_to_compare(reader)
    compared = 0
    equal_pixels = 0
    valid_pixels = 0
    mask_mismatches = []
    for tile in tiles:
        outcome = compare(href, tile)
        if outcome is None:
            continue
        mask_equal, equal, valid = outcome
        compared += 1
        equal_pixels += equal
        valid_pixels += valid
        if not mask_equal:
            mask_mismatches.append((tile.z, tile.x, tile.y))
    assert compared >= 5
    share = equal_pixels / max(valid_pixels, 1)
    print(f"{name}: {compared} tiles, {share:.5%} of {valid_pixels} valid pixels equal")
    assert not mask_mismatches, f"masks differ for tiles {mask_mismatches}"
    assert share >= 0.999


def test_options_match_rio_tiler(rasters):
    href = rasters["uint16_mask_utm"]
    with Reader(href) as reader:
        tile = tiles_to_compare(reader)[-3]
    for options in ({"indexes": [2]}, {"tilesize": 512}, {"nodata": 0}, {"buffer": 2}):
        mask_equal, equal, valid = compare(href, tile, **options)
        assert mask_equal, options
        assert equal >= 0.999 * valid, options


def test_overview_level_per_zoom_matches_rio_tiler(tmp_path):
    """Each overview level holds its own constant, so a tile's value says
    which level was read; tessera must choose as rio-tiler does."""
    href = overview_levels_raster(tmp_path)
    chosen = {}
    with Reader(href) as reader:
        for z in range(reader.minzoom - 1, reader.maxzoom + 2):
            center = reader.tms.tile(
                (geographic(reader)[0] + geographic(reader)[2]) / 2,
                (geographic(reader)[1] + geographic(reader)[3]) / 2,
                z,
            )
            expected = reader.tile(center.x, center.y, center.z)
            actual = tessera.read_tile(href, center.x, center.y, center.z)
            expected_level = int(numpy.bincount(expected.data[0][rio_tiler_validity(expected)]).argmax())
            actual_level = int(numpy.bincount(actual.data[0][actual.mask > 0]).argmax())
            chosen[z] = (expected_level, actual_level)
    print("zoom: (rio-tiler level value, tessera level value)", chosen)
    assert all(expected == actual for expected, actual in chosen.values()), chosen
    # Coarser zooms read coarser overviews: the level values never decrease as zoom falls.
    levels = [chosen[z][1] for z in sorted(chosen)]
    assert levels == sorted(levels, reverse=True)
    assert len(set(levels)) >= 4
