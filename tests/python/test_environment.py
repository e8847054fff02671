"""Environments side by side: a public and an internal service in one
process, each reading under its own allow-list and limits inside `with env:`,
from several threads at once, while the process default stays as
tessera.configure() left it."""

import threading

import numpy as np
import pytest
from rasterio.transform import from_origin

import tessera
from conftest import RangeRequestHandler
from raster_fixtures import write_cog


@pytest.fixture
def folders(tmp_path):
    data = np.full((1, 64, 64), 7, dtype="uint8")
    paths = {}
    for name in ("public", "internal"):
        (tmp_path / name).mkdir()
        paths[name] = str(write_cog(tmp_path / name / "r.tif", data, "EPSG:4326", from_origin(10, 46, 0.01, 0.01)))
    return tmp_path, paths


def test_two_environments_serve_their_own_folders_from_threads(folders):
    root, paths = folders
    public = tessera.Environment(tessera.ReaderConfig(allowed_roots=[str(root / "public")], max_image_size=32))
    internal = tessera.Environment(tessera.ReaderConfig(allowed_roots=[str(root / "internal")]))
    problems = []

    def serve(environment, own, other, size):
        with environment:
            for _ in range(20):
                if tessera.info(own)["width"] != 64:
                    problems.append(("info", own))
                if tessera.preview(own, max_size=size).width != size:
                    problems.append(("preview", own))
                try:
                    tessera.info(other)
                    problems.append(("opened", other))
                except tessera.InvalidInput as error:
                    if "outside the allowed" not in str(error):
                        problems.append(("message", str(error)))

    threads = [
        threading.Thread(target=serve, args=(public, paths["public"], paths["internal"], 32)),
        threading.Thread(target=serve, args=(internal, paths["internal"], paths["public"], 64)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []

    with public:
        with pytest.raises(tessera.InvalidInput, match="max_image_size|larger"):
            tessera.preview(paths["public"], max_size=64)
    # Outside every `with`, the process default reads both folders.
    assert tessera.info(paths["public"])["width"] == 64
    assert tessera.info(paths["internal"])["width"] == 64


def test_configure_changes_the_default_and_environments_keep_theirs(folders):
    root, paths = folders
    own = tessera.Environment(tessera.ReaderConfig(allowed_roots=[str(root / "internal")]))
    assert own.config.allowed_roots == [str(root / "internal")]
    try:
        tessera.configure(allowed_roots=[str(root / "public")])
        assert tessera.Environment.default().config.allowed_roots == [str(root / "public")]
        with pytest.raises(tessera.InvalidInput, match="outside the allowed"):
            tessera.info(paths["internal"])
        with own:
            assert tessera.info(paths["internal"])["width"] == 64
            own.configure(tessera.ReaderConfig(allowed_roots=[str(root / "public")]))
            with pytest.raises(tessera.InvalidInput, match="outside the allowed"):
                tessera.info(paths["internal"])
    finally:
        tessera.configure()


def test_settings_are_checked_when_made():
    with pytest.raises(tessera.InvalidInput, match="must end the host with '/'"):
        tessera.Environment(tessera.ReaderConfig(allowed_prefixes=["https://example.com"]))
    with pytest.raises(tessera.InvalidInput, match="positive"):
        tessera.Environment(tessera.ReaderConfig(max_image_size=0))
    assert tessera.ReaderConfig().max_image_size == 8192


def test_hrefs_are_read_through_the_hosts_signer(http_folder):
    """A store that wants a signature on every read (a SAS token, a presigned
    query): the signer adds it after the allow-list accepted the href as
    written, from the read threads."""
    folder, base = http_folder
    data = np.full((1, 64, 64), 9, dtype="uint8")
    write_cog(folder / "r.tif", data, "EPSG:4326", from_origin(10, 46, 0.01, 0.01))
    RangeRequestHandler.signature = "sig=s3cret"
    href = base + "r.tif"

    tessera.configure(allowed_prefixes=[base])
    with pytest.raises(tessera.Error):
        tessera.info(href)
    assert RangeRequestHandler.refused > 0

    signed = []

    def sign(url):
        signed.append(url)
        return url + "?sig=s3cret"

    tessera.configure(allowed_prefixes=[base], href_signer=sign)
    tile = tessera.TileMatrixSet.from_name("WebMercatorQuad").tile(10.3, 45.7, 9)
    image = tessera.tile(href, tile.x, tile.y, tile.z)
    assert image.data.max() == 9
    assert signed and all(url == href for url in signed)
    assert tessera.ReaderConfig(href_signer=sign).href_signer is not None

    # The allow-list still applies to the href as written, not the signed URL.
    with pytest.raises(tessera.InvalidInput, match="allowed URL prefix"):
        tessera.info("http://example.com/r.tif")

    def failing(url):
        raise RuntimeError("token service down")

    tessera.configure(allowed_prefixes=[base], href_signer=failing)
    with pytest.raises(tessera.Unavailable, match="token service down"):
        tessera.info(href)
    tessera.configure(allowed_prefixes=[base], href_signer=lambda url: "/vsimem/x.tif")
    with pytest.raises(tessera.InvalidInput, match="href signer"):
        tessera.info(href)
