"""The tiling API: reads, options, rendering, configuration and bad input."""

import io
import json
import os
import uuid

import numpy
import pytest
from rasterio.transform import from_origin

import tessera
from raster_fixtures import write_cog

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def default_configuration():
    tessera.configure()
    yield
    tessera.configure()


@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    """A 3-band uint16 UTM COG: band 1 = column, band 2 = row, band 3 = 7; nodata 0 in the first 10 rows."""
    folder = tmp_path_factory.mktemp("tiling")
    rows, cols = numpy.mgrid[0:600, 0:800]
    data = numpy.stack([cols + 1, rows + 1, numpy.full_like(rows, 7)]).astype("uint16")
    data[:, :10, :] = 0
    return write_cog(folder / "bands.tif", data, "EPSG:32633", from_origin(500000, 5200000, 20, 20), nodata=0)


def centre_tile(href, z):
    bounds = tessera.info(href)["geographic_bounds"]
    tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
    return tms.tile((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, z)


def test_read_tile_gives_bands_mask_and_georeferencing(cog):
    tile = centre_tile(cog, 13)
    image = tessera.tile(cog, tile.x, tile.y, tile.z)
    assert image.data.shape == (3, 256, 256)
    assert image.dtype == "uint16" and image.data.dtype == numpy.uint16
    assert image.mask.shape == (256, 256) and image.mask.dtype == numpy.uint8
    assert set(numpy.unique(image.mask)) <= {0, 255}
    assert image.band_names == ["b1", "b2", "b3"]
    assert numpy.all(image.data[2][image.mask == 255] == 7)
    tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
    assert image.bounds == pytest.approx(tms.xy_bounds(tile))


def test_arrays_are_views_of_the_image(cog):
    tile = centre_tile(cog, 12)
    image = tessera.tile(cog, tile.x, tile.y, tile.z)
    data = image.data
    assert not data.flags["OWNDATA"]
    del image  # the view keeps the buffer alive
    assert int(data.sum()) > 0


def test_indexes_expression_tilesize_and_buffer(cog):
    tile = centre_tile(cog, 13)
    second = tessera.tile(cog, tile.x, tile.y, tile.z, indexes=[2])
    assert second.data.shape == (1, 256, 256)
    both = tessera.tile(cog, tile.x, tile.y, tile.z, expression="b1 * 2; where(b3 == 7, 1, 0)")
    assert both.dtype == "float64"
    assert both.band_names == ["b1 * 2", "where(b3 == 7, 1, 0)"]
    first = tessera.tile(cog, tile.x, tile.y, tile.z, indexes=[1])
    valid = first.mask == 255
    assert numpy.array_equal(both.data[0][valid], first.data[0][valid] * 2.0)
    assert numpy.all(both.data[1][valid] == 1)
    assert tessera.tile(cog, tile.x, tile.y, tile.z, tilesize=512).data.shape == (3, 512, 512)
    assert tessera.tile(cog, tile.x, tile.y, tile.z, buffer=2).data.shape == (3, 260, 260)


def test_nodata_becomes_the_mask(cog):
    # The top rows are nodata: the tile over the top edge has invalid pixels inside the raster.
    info = tessera.info(cog)
    tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
    west, south, east, north = info["geographic_bounds"]
    tile = tms.tile((west + east) / 2, north - 1e-4, 14)
    image = tessera.tile(cog, tile.x, tile.y, tile.z)
    assert 0 < int((image.mask == 0).sum()) < 256 * 256
    assert numpy.all(image.data[0][image.mask == 0] == 0)
    # Overriding nodata: band 3 holds 7 wherever the raster has data, so only
    # the former nodata rows (now 0, a valid value) remain.
    overridden = tessera.tile(cog, tile.x, tile.y, tile.z, nodata=7, indexes=[3])
    assert numpy.array_equal(overridden.mask == 0, overridden.data[0] == 7)
    assert 0 < int((overridden.mask == 255).sum()) < int((image.mask == 0).sum())


def test_point_preview_part_and_feature(cog):
    info = tessera.info(cog)
    west, south, east, north = info["geographic_bounds"]
    lon, lat = (west + east) / 2, (south + north) / 2
    point = tessera.point(cog, lon, lat)
    assert point["band_names"] == ["b1", "b2", "b3"] and point["values"][2] == 7 and point["masked"] is False
    preview = tessera.preview(cog, max_size=200)
    assert preview.data.shape == (3, 150, 200)
    part = tessera.part(cog, [lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01], max_size=64)
    assert max(part.data.shape[1:]) == 64
    triangle = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon, lat + 0.01], [lon - 0.01, lat - 0.01]]],
        },
    }
    clipped = tessera.feature(cog, triangle, max_size=64)
    inside = int((clipped.mask == 255).sum())
    assert 0.3 * clipped.mask.size < inside < 0.7 * clipped.mask.size


def test_info_statistics_and_tilejson(cog):
    info = tessera.info(cog)
    assert info["crs"] == "EPSG:32633"
    assert info["dtype"] == "uint16" and info["count"] == 3 and info["nodata_type"] == "Nodata"
    assert info["width"] == 800 and info["height"] == 600
    assert 0 <= info["minzoom"] <= info["maxzoom"] <= 24
    stats = tessera.statistics(cog, max_size=0)
    band3 = stats["b3"]
    assert band3["min"] == 7 and band3["max"] == 7 and band3["std"] == 0
    assert band3["valid_pixels"] == 800 * 590 and band3["masked_pixels"] == 800 * 10
    assert sum(band3["histogram"][0]) == 800 * 590
    assert stats["b1"]["min"] == 1 and stats["b1"]["max"] == 800
    assert stats["b1"]["percentile_2"] <= stats["b1"]["median"] <= stats["b1"]["percentile_98"]
    document = tessera.tilejson(cog, "https://tiles.example/{z}/{x}/{y}.png")
    assert document["tilejson"] == "3.0.0" and document["tiles"] == ["https://tiles.example/{z}/{x}/{y}.png"]
    assert document["minzoom"] == info["minzoom"] and document["maxzoom"] == info["maxzoom"]


def test_render_formats_rescale_and_colormaps(cog):
    tile = centre_tile(cog, 13)
    image = tessera.tile(cog, tile.x, tile.y, tile.z, indexes=[1])
    png = image.render(format="png", rescale=[(0, 800)], colormap="viridis")
    assert png.startswith(PNG_MAGIC)
    assert image.render(format="jpeg", rescale=(0, 800)).startswith(b"\xff\xd8")
    assert image.render(format="webp", rescale=(0, 800))[8:12] == b"WEBP"
    array = numpy.load(io.BytesIO(image.render(format="npy")))
    assert array.shape == (2, 256, 256)  # the data, then the mask
    user = image.render(format="png", rescale=(0, 800), colormap={0: [0, 0, 0, 255], 255: [255, 255, 255, 255]})
    assert user.startswith(PNG_MAGIC)
    assert "viridis_r" in tessera.Colormap.names()
    with pytest.raises(tessera.InvalidInput, match="colormap"):
        image.render(colormap="no-such-map")


def test_allow_list_for_urls_and_local_roots(cog, tmp_path):
    with pytest.raises(tessera.InvalidInput, match="allowed URL prefix"):
        tessera.info("https://example.com/a.tif")
    with pytest.raises(tessera.InvalidInput, match="/vsi"):
        tessera.info("/vsicurl/https://example.com/a.tif")
    with pytest.raises(tessera.InvalidInput):
        tessera.info("PG:dbname=x")
    tessera.configure(allowed_roots=[str(tmp_path)])
    with pytest.raises(tessera.InvalidInput, match="outside the allowed local folders"):
        tessera.info(cog)
    # A symbolic link inside the root that points outside it is refused too.
    link = tmp_path / "link.tif"
    os.symlink(cog, link)
    with pytest.raises(tessera.InvalidInput, match="outside the allowed local folders"):
        tessera.info(str(link))
    tessera.configure(allowed_roots=[os.path.dirname(cog)])
    assert tessera.info("file://" + cog)["count"] == 3
    with pytest.raises(tessera.InvalidInput, match="must end the host"):
        tessera.configure(allowed_prefixes=["https://example.com"])


def test_bad_input_gets_clear_errors(cog, tmp_path):
    tile = centre_tile(cog, 13)
    with pytest.raises(tessera.InvalidInput, match="outside WebMercatorQuad"):
        tessera.tile(cog, 100, 0, 3)
    with pytest.raises(tessera.InvalidInput):
        tessera.tile(cog, 0, 0, 40)
    with pytest.raises(tessera.NotFound, match="outside the bounds"):
        tessera.tile(cog, 0, 0, 5)
    with pytest.raises(tessera.NotFound, match="does not exist"):
        tessera.tile(str(tmp_path / "missing.tif"), tile)
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00 this is not a tiff")
    with pytest.raises(tessera.InvalidInput, match="cannot be read"):
        tessera.info(str(corrupt))
    with pytest.raises(tessera.InvalidInput, match="band 9 does not exist"):
        tessera.tile(cog, tile.x, tile.y, tile.z, indexes=[9])
    with pytest.raises(tessera.InvalidInput, match="position"):
        tessera.tile(cog, tile.x, tile.y, tile.z, expression="b1 +* 2")
    with pytest.raises(tessera.InvalidInput, match="unknown band"):
        tessera.tile(cog, tile.x, tile.y, tile.z, expression="red + 1")
    with pytest.raises(tessera.InvalidInput, match="image size"):
        tessera.tile(cog, tile.x, tile.y, tile.z, tilesize=100000)
    with pytest.raises(tessera.InvalidInput, match="resampling"):
        tessera.tile(cog, tile.x, tile.y, tile.z, resampling="sharpest")
    with pytest.raises(tessera.InvalidInput, match="buffer"):
        tessera.tile(cog, tile.x, tile.y, tile.z, buffer=0.3)
    with pytest.raises(tessera.NotFound, match="outside the bounds"):
        tessera.point(cog, 0.0, 0.0)


def test_tile_matrix_sets(cog):
    assert set(tessera.TileMatrixSet.names()) >= {"WebMercatorQuad", "WorldCRS84Quad"}
    geographic = tessera.TileMatrixSet.from_name("WorldCRS84Quad")
    tile = geographic.tile(15.1, 46.8, 10)
    image = tessera.tile(cog, tile.x, tile.y, tile.z, tms="WorldCRS84Quad")
    assert image.data.shape == (3, 256, 256)
    document = geographic.to_json()
    assert tessera.TileMatrixSet.from_json(json.loads(json.dumps(document))).id == "WorldCRS84Quad"
    utm = tessera.TileMatrixSet.from_name("EPSG:32633")
    assert utm.minzoom == 0


def test_reads_from_s3(cog, s3_env):
    prefix = f"tiling-{uuid.uuid4().hex}"
    storage = tessera.Storage.open(f"s3://{s3_env['bucket']}/{prefix}", s3_env["options"])
    storage.put_file("bands.tif", cog)
    tessera.configure(storage_options=s3_env["options"])
    href = f"s3://{s3_env['bucket']}/{prefix}/bands.tif"
    tile = centre_tile(cog, 13)
    remote = tessera.tile(href, tile.x, tile.y, tile.z)
    local = tessera.tile(cog, tile.x, tile.y, tile.z)
    assert numpy.array_equal(remote.data, local.data) and numpy.array_equal(remote.mask, local.mask)


def test_tiles_are_addressed_x_y_z_as_morecantile_and_rio_tiler_do(cog):
    tms = tessera.TileMatrixSet.from_name("WebMercatorQuad")
    tile = centre_tile(cog, 13)
    assert tuple(tile) == (tile.x, tile.y, tile.z)
    assert tessera.Tile(tile.x, tile.y, tile.z) == tile
    assert tessera.Tile(x=1, y=2, z=3).z == 3 and repr(tessera.Tile(1, 2, 3)) == "Tile(x=1, y=2, z=3)"
    reference = tessera.tile(cog, tile.x, tile.y, tile.z)
    bounds = tessera.info(cog)["geographic_bounds"]
    lon, lat = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    # Unpacking a Tile, passing it whole, or a plain (x, y, z) tuple: the same tile.
    for same in (
        tessera.tile(cog, *tms.tile(lon, lat, 13)),
        tessera.tile(cog, tile),
        tessera.tile(cog, (tile.x, tile.y, tile.z)),
        tessera.tile(cog, x=tile.x, y=tile.y, z=tile.z),
    ):
        assert numpy.array_equal(same.data, reference.data) and same.bounds == reference.bounds
    assert tms.xy_bounds(*tile) == tms.xy_bounds(tile) == reference.bounds
    assert tms.bounds(tile) == tms.bounds(tile.x, tile.y, tile.z)
    with pytest.raises(tessera.InvalidInput, match="x, y, z"):
        tessera.tile(cog, tile.x, tile.y)


def test_hostile_tile_requests_fail_safe(cog):
    tile = centre_tile(cog, 13)
    # An expression naming no band once killed the process (SIGSEGV).
    for constant in ("1", "2 * 3", "1; 2"):
        with pytest.raises(tessera.InvalidInput, match="names no band"):
            tessera.tile(cog, tile, expression=constant)
    # A buffer is checked against the size limit before anything is allocated.
    for buffer in (20000, 45000, 1e300, float("inf"), float("nan"), -1):
        with pytest.raises(tessera.InvalidInput, match="buffer"):
            tessera.tile(cog, tile, buffer=buffer)
    assert tessera.tile(cog, tile).data.shape == (3, 256, 256)  # still alive and well


def test_read_tile_is_the_older_name_of_tile(cog):
    tile = centre_tile(cog, 12)
    assert tessera.read_tile(cog, tile).data.tobytes() == tessera.tile(cog, tile).data.tobytes()


def test_unknown_names_list_the_accepted_ones(cog):
    tile = centre_tile(cog, 12)
    with pytest.raises(tessera.InvalidInput, match=r"unknown resampling 'sharp' \(one of: nearest, bilinear,"):
        tessera.tile(cog, tile, resampling="sharp")
    with pytest.raises(tessera.InvalidInput, match=r"unknown image format 'bmp' \(one of: png, jpeg,"):
        tessera.tile(cog, tile).render(format="bmp")
