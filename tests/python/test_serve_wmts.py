"""The OGC descriptions of `tessera serve`'s tile sources read by real clients:
OWSLib reads the WMTS capabilities of a registered search, an item and a raster
and fetches tiles through the templates they declare; the OGC API tilesets and
tile matrix sets are read back as a client walks them."""

import json
import subprocess
import urllib.parse
import urllib.request

import numpy
import pytest
from owslib.wmts import WebMapTileService
from rasterio.transform import from_origin

import tessera
from raster_fixtures import write_cog
from stac_fixtures import collection, item
from test_serve import cli_path


@pytest.fixture
def served(tmp_path):
    data = numpy.arange(512 * 512, dtype=numpy.uint16).reshape(1, 512, 512) % 250 + 1
    # ~1.2 km pixels near (10 E, 45 N) in Web Mercator.
    cog = write_cog(tmp_path / "scene.tif", data.astype(numpy.uint8), "EPSG:3857",
                    from_origin(1113194.9, 5621521.5, 1200, 1200), nodata=0)
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    catalog.upsert_collection(collection("scenes"))
    # The footprint lies inside the raster, so every tile of it has data.
    scene = item("scene-1", "scenes", "2024-05-01T00:00:00Z", 10.5, 41.5, size=3)
    scene["assets"]["data"]["href"] = cog
    assert catalog.load([scene])["loaded"] == 1
    process = subprocess.Popen([cli_path(), "serve", "--catalog", f"sqlite://{catalog_path}", "--port", "0",
                                "--allowed-root", str(tmp_path), "--no-browser", "--no-viewer"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        yield base.rstrip("/"), cog
    finally:
        process.kill()
        process.wait(timeout=30)


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post_json(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def first_tile(wmts, layer_id):
    """The first tile of the layer's lowest zoom its limits list."""
    layer = wmts[layer_id]
    link = next(iter(layer.tilematrixsetlinks.values()))
    matrix, limits = sorted(link.tilematrixlimits.items(), key=lambda entry: int(entry[0]))[0]
    return link.tilematrixset, matrix, limits.mintilerow, limits.mintilecol


@pytest.mark.parametrize("source", ["search", "item", "cog"])
def test_owslib_reads_the_capabilities_and_fetches_png_tiles(served, source):
    base, cog = served
    if source == "search":
        # A search's bounds are its metadata's (else the whole tile matrix set).
        search_id = post_json(f"{base}/searches/register",
                              {"collections": ["scenes"], "metadata": {"bounds": [10.5, 41.5, 13.5, 44.5]}})["id"]
        url = f"{base}/searches/{search_id}/WMTSCapabilities.xml?assets=data&rescale=0,250"
        title = search_id
    elif source == "item":
        url = f"{base}/collections/scenes/items/scene-1/WMTSCapabilities.xml?assets=data"
        title = "scene-1"
    else:
        url = f"{base}/cog/WMTSCapabilities.xml?url={urllib.parse.quote(cog)}"
        title = "cog"
    wmts = WebMapTileService(url)
    assert wmts.identification.type == "OGC WMTS"
    assert set(wmts.tilematrixsets) == {"WebMercatorQuad", "WorldCRS84Quad"}
    layer_id = f"{title}_WebMercatorQuad_default"
    assert layer_id in wmts.contents
    west, south, east, north = wmts[layer_id].boundingBoxWGS84
    assert 9.9 < west < 10.6 and 44.4 < north < 45.1
    tms, matrix, row, col = first_tile(wmts, layer_id)
    assert tms == "WebMercatorQuad"
    tile = wmts.gettile(layer=layer_id, tilematrixset=tms, tilematrix=matrix, row=row, column=col,
                        format="image/png")
    assert tile.read()[1:4] == b"PNG"


def test_tilesets_and_tile_matrix_sets_walk_like_ogc_api_tiles(served):
    base, cog = served
    sets = get_json(f"{base}/tileMatrixSets")["tileMatrixSets"]
    for entry in sets:
        definition = get_json(entry["links"][0]["href"])
        assert definition["id"] == entry["id"]
        assert definition["tileMatrices"][0]["id"] == "0"
    tilesets = get_json(f"{base}/collections/scenes/items/scene-1/tiles?assets=data")["tilesets"]
    assert {tileset["links"][0]["href"].split("?")[0].rsplit("/", 1)[1] for tileset in tilesets} == {
        "WebMercatorQuad", "WorldCRS84Quad"}
    tileset = get_json(f"{base}/collections/scenes/items/scene-1/tiles/WebMercatorQuad?assets=data&maxzoom=8")
    template = next(link["href"] for link in tileset["links"] if link.get("templated"))
    limit = tileset["tileMatrixSetLimits"][-1]
    assert limit["tileMatrix"] == "8"
    tile_url = template.format(z=8, x=limit["minTileCol"], y=limit["minTileRow"]).replace("?", ".png?", 1)
    with urllib.request.urlopen(tile_url, timeout=30) as response:
        assert response.headers["Content-Type"] == "image/png"
