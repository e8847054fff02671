"""Paths and hrefs: GDAL syntax smuggled into hrefs (raw, upper-case,
percent-encoded, after file:// or inside s3:// keys), URLs that climb out of an
allowed prefix, redirects, symlink escapes and driver allow-lists, through the
three readers of hrefs (tiling, ingest create_item, packaging clips), and
storage keys on local and S3 storage.
"""

import os
import uuid

import numpy as np
import pytest
from rasterio.transform import from_origin

import tessera
from raster_fixtures import write_cog

SMUGGLED = [
    "/vsicurl/http://127.0.0.1:9/x.tif",
    "/VSICURL/http://127.0.0.1:9/x.tif",
    "file:///vsicurl/http://127.0.0.1:9/x.tif",
    "file:///%76sicurl/http://127.0.0.1:9/x.tif",
    "file:///%2Fvsis3%2Fbucket%2Fx.tif",
    "data/../vsizip/archive.zip/x.tif",
    "s3://bucket/%2Fvsicurl%2Fhttp:%2F%2F127.0.0.1:9%2Fx.tif",
    "/vsimem/x.tif",
    "/vsistdin/",
    "<VRTDataset rasterXSize='1' rasterYSize='1'></VRTDataset>",
    "PG:dbname=postgres",
    "WMS:http://127.0.0.1:9/wms",
    "ftp://127.0.0.1:9/x.tif",
    "file:///tmp/x.tif%00.png",
    "x.tif\n/vsicurl/http://127.0.0.1:9/",
    "",
]


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    data = np.arange(64 * 64, dtype="uint16").reshape(1, 64, 64) + 1
    return write_cog(tmp_path_factory.mktemp("paths") / "r.tif", data, "EPSG:4326", from_origin(10, 46, 0.01, 0.01), nodata=0)


@pytest.fixture(autouse=True)
def default_configuration():
    tessera.configure()
    yield
    tessera.configure()


def readers(tmp_path):
    """Every public reader of an href, each as a one-argument call."""
    square = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}
    return {
        "tiling": lambda href: tessera.info(href),
        "create_item": lambda href: tessera.create_item(href),
        "clip_raster": lambda href: tessera.clip_raster(href, square, tmp_path / "clip.tif"),
        "clip_vector": lambda href: tessera.clip_vector(href, square, tmp_path / "clip.gpkg"),
    }


@pytest.mark.parametrize("reader", ["tiling", "create_item", "clip_raster", "clip_vector"])
def test_gdal_syntax_is_refused_everywhere(tmp_path, reader):
    read = readers(tmp_path)[reader]
    for href in SMUGGLED:
        with pytest.raises(tessera.InvalidInput):
            read(href)
    assert not (tmp_path / "clip.tif").exists() and not (tmp_path / "clip.gpkg").exists()


@pytest.mark.parametrize("reader", ["tiling", "create_item", "clip_raster"])
def test_urls_stay_under_their_allowed_prefix(tmp_path, http_folder, http_redirects, raster, reader):
    folder, base = http_folder
    (folder / "allowed").mkdir()
    (folder / "secret").mkdir()
    (folder / "allowed" / "r.tif").write_bytes(open(raster, "rb").read())
    (folder / "secret" / "r.tif").write_bytes(open(raster, "rb").read())
    tessera.configure(allowed_prefixes=[base + "allowed/"])
    read = readers(tmp_path)[reader]
    read(base + "allowed/r.tif")  # the allowed one reads
    for href in [
        base + "secret/r.tif",
        base + "allowed/../secret/r.tif",
        base + "allowed/%2e%2e/secret/r.tif",
        base + "allowed/%2E%2E%2Fsecret/r.tif",
        base + "allowed/./../secret/r.tif",
        base + "allowed/..\\secret/r.tif",
        base.replace("127.0.0.1", "127.0.0.1.nip.io") + "allowed/r.tif",
    ]:
        with pytest.raises(tessera.InvalidInput, match="allowed URL prefix|path segments"):
            read(href)
    # A redirect to another scheme is never followed (libcurl allows only
    # HTTP(S) targets), so an allowed server cannot hand out local files.
    http_redirects["allowed/to-file.tif"] = "file://" + str(raster)
    with pytest.raises((tessera.InvalidInput, tessera.NotFound, tessera.StorageError)):
        read(base + "allowed/to-file.tif")


def test_redirects_out_of_an_allowed_prefix_are_followed_by_gdal(tmp_path, http_folder, http_redirects, raster):
    """The residual risk docs/SECURITY.md states: GDAL 3.6 follows HTTP
    redirects and has no setting to refuse them, so an allowed server that
    redirects elsewhere (same scheme) is read from there. If this starts to
    fail, GDAL learned to refuse them: update docs/SECURITY.md."""
    folder, base = http_folder
    (folder / "secret").mkdir()
    (folder / "secret" / "r.tif").write_bytes(open(raster, "rb").read())
    tessera.configure(allowed_prefixes=[base + "allowed/"])
    http_redirects["allowed/r.tif"] = base + "secret/r.tif"
    assert tessera.info(base + "allowed/r.tif")["width"] == 64


def test_local_roots_and_symlink_escapes(tmp_path, raster):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    inside = root / "sub" / "r.tif"
    inside.write_bytes(open(raster, "rb").read())
    outside = tmp_path / "outside.tif"
    outside.write_bytes(open(raster, "rb").read())
    os.symlink(outside, root / "link.tif")
    os.symlink(tmp_path, root / "up")
    tessera.configure(allowed_roots=[str(root)])
    for reader in readers(tmp_path).values():
        for href in [
            str(outside),
            "file://" + str(outside),
            str(root / "sub" / ".." / ".." / "outside.tif"),
            "file://" + str(root) + "/sub/%2e%2e/%2e%2e/outside.tif",
            str(root / "link.tif"),
            str(root / "up" / "outside.tif"),
        ]:
            with pytest.raises(tessera.InvalidInput, match="outside the allowed local folders"):
                reader(href)
    assert tessera.info(str(inside))["width"] == 64
    assert tessera.info("file://" + str(inside))["width"] == 64


def test_drivers_outside_the_allow_lists_are_refused(tmp_path, raster):
    # A VRT can name any file or URL: not among the default raster drivers.
    vrt = tmp_path / "r.vrt"
    vrt.write_text(
        f'<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:4326</SRS><GeoTransform>10, 0.01, 0, 46, 0, -0.01</GeoTransform>'
        f'<VRTRasterBand dataType="UInt16" band="1">'
        f'<SimpleSource><SourceFilename>{raster}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
        f"</VRTRasterBand></VRTDataset>"
    )
    square = {"type": "Polygon", "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]}
    for read in (tessera.info, tessera.create_item, lambda h: tessera.clip_raster(h, square, tmp_path / "c.tif")):
        with pytest.raises(tessera.InvalidInput, match="allowed drivers|cannot be read|format"):
            read(str(vrt))
    # An OGR VRT or a CSV is not among the default vector drivers either.
    csv = tmp_path / "points.csv"
    csv.write_text("id,WKT\n1,POINT (10.5 45.5)\n")
    with pytest.raises(tessera.InvalidInput, match="allowed drivers: GPKG, GeoJSON"):
        tessera.clip_vector(str(csv), square, tmp_path / "c.gpkg")
    ogr_vrt = tmp_path / "points.vrt"
    ogr_vrt.write_text(f'<OGRVRTDataSource><OGRVRTLayer name="p"><SrcDataSource>{csv}</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')
    with pytest.raises(tessera.InvalidInput, match="allowed drivers"):
        tessera.clip_vector(str(ogr_vrt), square, tmp_path / "c.gpkg")
    # The host may widen the lists.
    tessera.configure(allowed_vector_drivers=["CSV"], allowed_drivers=["GTiff", "VRT"])
    assert tessera.clip_vector(str(csv), square, tmp_path / "c.gpkg")["bytes"] > 0
    assert tessera.create_item(str(vrt))["id"] == "r"


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_storage_keys_cannot_leave_their_root(tmp_path, request, backend):
    if backend == "local":
        storage = tessera.Storage.open(str(tmp_path / "root"))
    else:
        s3_env = request.getfixturevalue("s3_env")
        storage = tessera.Storage.open(f"s3://{s3_env['bucket']}/paths-{uuid.uuid4().hex}", s3_env["options"])
    for key in ["../escape", "a/../../escape", "/etc/passwd", "a\\..\\b", "a/./b", "a//b", "nul\x00", ".", ".."]:
        with pytest.raises(tessera.InvalidInput):
            storage.put(key, b"x")
        with pytest.raises(tessera.InvalidInput):
            storage.get(key)
    # Percent signs are not decoded in keys: "%2e%2e" is a plain name inside the root.
    storage.put("%2e%2e/kept", b"x")
    assert storage.get("%2e%2e/kept") == b"x"
    assert "%2e%2e/kept" in storage.list("")
    if backend == "local":
        assert (tmp_path / "root" / "%2e%2e" / "kept").exists()
        assert not (tmp_path / "escape").exists()
    # s3:// hrefs: the key is checked the same way.
    with pytest.raises(tessera.InvalidInput):
        tessera.create_item("s3://bucket/../other/x.tif")
    with pytest.raises(tessera.InvalidInput):
        tessera.create_item("s3://bucket/a/%2e%2e/%2e%2e/other/x.tif")
