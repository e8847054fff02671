"""Item change events and overview pyramids from Python and the CLI: the
events of a load, an upsert and a delete; a pyramid equal to fresh mosaic
tiles, updated from the events; `tessera pyramid` and `tessera serve
--pyramid-dir` keeping it current on its own."""

import json
import subprocess
import time
import urllib.request

import numpy as np
import pytest

import tessera
from test_mosaic import SEARCH, X, Y, Z, add_item, catalog  # noqa: F401 (the fixture)
from test_serve import cli_path

BASE_ZOOM = Z - 1  # the test tile is one quarter of a base tile


def test_item_changes_record_every_write(catalog, tmp_path):  # noqa: F811
    start = catalog.last_item_change()
    add_item(catalog, tmp_path, "a", 1, 10, part="left")
    add_item(catalog, tmp_path, "a", 1, 20, part="right")  # upsert: the footprint moves
    catalog.delete_item("m", "a")
    changes = catalog.item_changes(after=start)
    assert [c["item_id"] for c in changes] == ["a"] * len(changes)
    assert changes[0]["operation"] == "insert" and changes[-1]["operation"] == "delete"
    assert {c["operation"] for c in changes} <= {"insert", "replace", "delete"}
    assert [c["id"] for c in changes] == sorted(c["id"] for c in changes)
    assert "new_bbox" in changes[0] and "old_bbox" in changes[-1] and "new_bbox" not in changes[-1]
    assert catalog.last_item_change() == changes[-1]["id"]
    assert len(catalog.item_changes(after=start, limit=1)) == 1
    with pytest.raises(tessera.InvalidInput, match="limit"):
        catalog.item_changes(after=start, limit=0)
    with pytest.raises(tessera.InvalidInput, match="age_seconds"):
        catalog.prune_item_changes(-1)
    assert catalog.prune_item_changes(3600) == 0
    assert catalog.prune_item_changes(0) >= len(changes)


def test_pyramid_tiles_equal_fresh_mosaics_and_follow_the_catalog(catalog, tmp_path):  # noqa: F811
    add_item(catalog, tmp_path, "old", 1, 10)
    add_item(catalog, tmp_path, "left", 2, 20, part="left")
    search_id = catalog.register_search(SEARCH)
    directory = str(tmp_path / "pyramids")
    pyramid = tessera.Pyramid.build(catalog, directory, search_id, maxzoom=BASE_ZOOM, assets=["data"])
    mosaic = tessera.Mosaic.from_registered(catalog, search_id, assets=["data"])
    # Down to zoom 2, where the test tile (z9) is two pixels, "left" (20) over "old" (10) in one, "old"
    # alone in the other: each pixel is uniform at every level, so averaging changes nothing.
    for z in (BASE_ZOOM, BASE_ZOOM - 3, 2):
        x, y = X >> (Z - z), Y >> (Z - z)
        stored, fresh = pyramid.tile(x, y, z), mosaic.tile(x, y, z)
        assert stored.metadata["source"] == "pyramid"
        assert np.array_equal(stored.mask, fresh.mask), z
        assert np.array_equal(stored.data[:, fresh.mask > 0], fresh.data[:, fresh.mask > 0]), z
    # At zoom 1 the test tile is one pixel over both: the pyramid holds their average (the documented
    # resampling), where a fresh mosaic samples one of them.
    zoom_one = pyramid.tile(X >> (Z - 1), Y >> (Z - 1), 1)
    assert set(np.unique(zoom_one.data[:, zoom_one.mask > 0])) == {15}
    info = pyramid.info()
    assert info["search_id"] == search_id and info["options"]["maxzoom"] == BASE_ZOOM
    assert [level["z"] for level in info["levels"]] == list(range(BASE_ZOOM + 1))
    assert pyramid.update()["cells_rebuilt"] == 0

    add_item(catalog, tmp_path, "right", 3, 30, part="right")
    report = pyramid.update()
    assert report["changes"] == 1 and report["cells_rebuilt"] == 1
    assert tessera.Pyramid.open(catalog, directory, search_id).cursor == report["cursor"]
    base = pyramid.tile(X >> 1, Y >> 1, BASE_ZOOM)
    assert set(np.unique(base.data[:, base.mask > 0])) == {20, 30}

    # The service answers a matching tile from the pyramid, the same bytes as the live mosaic.
    served = tessera.Service(catalog, pyramid_dir=directory)
    live = tessera.Service(catalog)
    path = f"/searches/{search_id}/tiles/WebMercatorQuad/{BASE_ZOOM - 3}/{X >> 4}/{Y >> 4}.png"
    query = [("assets", "data"), ("rescale", "0,40")]
    status, headers, stored_png = served.handle("GET", path, query=query, headers=[("Host", "t")])
    assert status == 200 and ("X-Tessera-Source", "pyramid") in headers
    status, headers, live_png = live.handle("GET", path, query=query, headers=[("Host", "t")])
    assert status == 200 and ("X-Tessera-Source", "mosaic") in headers
    assert stored_png == live_png

    with pytest.raises(tessera.InvalidInput, match="maxzoom"):
        tessera.Pyramid.build(catalog, directory, search_id, maxzoom=12, assets=["data"])
    with pytest.raises(tessera.InvalidInput, match="unknown option"):
        tessera.Pyramid.build(catalog, directory, search_id, max_zoom=4, assets=["data"])
    with pytest.raises(tessera.NotFound):
        tessera.Pyramid.open(catalog, directory, "0123abcd")


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.headers.get("X-Tessera-Source"), response.read()


def test_cli_builds_and_serve_keeps_the_pyramid_current(tmp_path):
    catalog_uri = f"sqlite://{tmp_path / 'catalog.db'}"
    catalog = tessera.Catalog.open(catalog_uri)
    from stac_fixtures import collection
    catalog.upsert_collection(collection("m"))
    add_item(catalog, tmp_path, "left", 1, 20, part="left")
    search_id = catalog.register_search(SEARCH)
    directory = tmp_path / "pyramids"
    cli = cli_path()
    built = subprocess.run([cli, "pyramid", "build", catalog_uri, search_id, "--dir", str(directory), "--maxzoom",
                            str(BASE_ZOOM), "--assets", "data"], capture_output=True, text=True, check=True)
    assert json.loads(built.stdout)["options"]["maxzoom"] == BASE_ZOOM
    refused = subprocess.run([cli, "pyramid", "build", catalog_uri, search_id, "--dir", str(directory), "--maxzoom",
                              "30", "--assets", "data"], capture_output=True, text=True)
    assert refused.returncode != 0 and "maxzoom" in refused.stderr

    process = subprocess.Popen([cli, "serve", "--catalog", catalog_uri, "--port", "0", "--no-stac",
                                "--allowed-root", str(tmp_path), "--pyramid-dir", str(directory),
                                "--pyramid-update-seconds", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        base = process.stdout.readline().strip()
        z, x, y = BASE_ZOOM - 2, X >> 3, Y >> 3
        url = f"{base}searches/{search_id}/tiles/WebMercatorQuad/{z}/{x}/{y}.npy?assets=data"
        source, before = fetch(url)
        assert source == "pyramid"
        assert fetch(url + "&nodata=5")[0] == "mosaic"
        add_item(catalog, tmp_path, "right", 2, 30, part="right")
        deadline = time.monotonic() + 30
        while fetch(url)[1] == before and time.monotonic() < deadline:
            time.sleep(0.5)
        assert fetch(url)[1] != before  # the serve loop applied the new item
        info = subprocess.run([cli, "pyramid", "info", catalog_uri, search_id, "--dir", str(directory)],
                              capture_output=True, text=True, check=True)
        assert json.loads(info.stdout)["cursor"] == catalog.last_item_change()
    finally:
        process.terminate()
        process.wait(timeout=30)
