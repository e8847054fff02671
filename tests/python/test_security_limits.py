"""Resource limits through the Python API (docs/SECURITY.md lists them): each
has a safe default, is configurable where the table says so, and exceeding it
is a clear InvalidInput naming the field and the limit.

The pgstac cases fail (not skip) in CI when the server is missing.
"""

import json
import math
import uuid

import numpy as np
import pytest
from rasterio.transform import from_origin

import tessera
from raster_fixtures import write_cog
from stac_fixtures import collection, item


def circle(vertices, x=0.0, y=0.0):
    ring = [[x + math.cos(2 * math.pi * n / (vertices - 1)), y + math.sin(2 * math.pi * n / (vertices - 1))] for n in range(vertices - 1)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


@pytest.fixture(params=["sqlite", "pgstac"])
def catalog_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'limits.db'}"
    return request.getfixturevalue("pgstac_url")  # a database of the test's own


def test_search_limit_and_geometry_vertices(catalog_uri):
    catalog = tessera.Catalog.open(catalog_uri, max_limit=50, max_geometry_vertices=1000)
    catalog.upsert_collection(collection("limits"))
    catalog.load([item("l1", "limits", "2022-01-01T00:00:00Z", 0, 0)], mode="upsert")
    with pytest.raises(tessera.InvalidInput, match="limit: 51 is above this catalog's maximum of 50"):
        catalog.search(limit=51)
    assert catalog.search(collections=["limits"], limit=50)["numberReturned"] == 1
    with pytest.raises(tessera.InvalidInput, match="intersects: its geometries have 1001 vertices, more than this catalog's maximum of 1000"):
        catalog.search(intersects=circle(1001))
    with pytest.raises(tessera.InvalidInput, match="filter: its geometries have 1001 vertices"):
        catalog.search(filter={"op": "s_intersects", "args": [{"property": "geometry"}, circle(1001)]})
    # CQL2-text WKT is counted the same way.
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in circle(1001)["coordinates"][0]) + "))"
    with pytest.raises(tessera.InvalidInput, match="filter: its geometries have 1001 vertices"):
        catalog.search(filter=f"S_INTERSECTS(geometry, {wkt})")
    assert [f["id"] for f in catalog.search(intersects=circle(1000), collections=["limits"])["features"]] == ["l1"]
    # The defaults are the documented ones.
    default = tessera.Catalog.open(catalog_uri)
    with pytest.raises(tessera.InvalidInput, match="maximum of 10000"):
        default.search(limit=10001)
    with pytest.raises(tessera.InvalidInput, match="maximum of 100000"):
        default.search(intersects=circle(100001))


def test_queue_messages_are_bounded(tmp_path):
    catalog = tessera.Catalog.open("sqlite://:memory:")
    catalog.upsert_collection(collection("q"))
    small = item("small", "q", "2022-01-01T00:00:00Z", 0, 0)
    large = item("large", "q", "2022-01-01T00:00:00Z", 0, 0, padding="p" * 5000)
    results = tessera.ingest_messages(catalog, [small, large], max_message_bytes=4096, dead_letter=str(tmp_path / "dead.ndjson"))
    assert [r["status"] for r in results] == ["loaded", "failed"]
    assert "larger than max_message_bytes (4096)" in results[1]["error"]
    # The refused message is kept whole for a replay with a larger limit.
    record = json.loads((tmp_path / "dead.ndjson").read_text().splitlines()[0])
    replayed = tessera.ingest_messages(catalog, [json.dumps(record)], max_message_bytes=1 << 20)
    assert replayed[0]["status"] == "loaded"


def test_fetched_objects_are_bounded(s3_env):
    catalog = tessera.Catalog.open("sqlite://:memory:")
    catalog.upsert_collection(collection("q"))
    prefix = f"limits-{uuid.uuid4().hex}"
    storage = tessera.Storage.open(f"s3://{s3_env['bucket']}/{prefix}", s3_env["options"])
    storage.put("items/small.json", json.dumps(item("o-small", "q", "2022-01-01T00:00:00Z", 0, 0)).encode())
    storage.put("items/large.json", json.dumps(item("o-large", "q", "2022-01-01T00:00:00Z", 0, 0, padding="p" * 5000)).encode())
    report = tessera.ingest(catalog, storage.uri("items"), storage_options=s3_env["options"], max_object_bytes=4096)
    assert report["loaded"] == 1
    assert "larger than max_object_bytes (4096)" in json.dumps(report)
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": s3_env["bucket"]}, "object": {"key": f"{prefix}/items/large.json"}}}]}
    results = tessera.ingest_messages(catalog, [event], storage_options=s3_env["options"], max_object_bytes=4096)
    assert results[0]["status"] == "failed" and "larger than max_object_bytes" in results[0]["error"]


@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    data = np.arange(3 * 64 * 64, dtype="uint16").reshape(3, 64, 64) + 1
    return write_cog(tmp_path_factory.mktemp("limits") / "small.tif", data, "EPSG:4326", from_origin(10, 46, 0.01, 0.01), nodata=0)


def test_image_sizes_and_expressions_are_bounded(cog):
    tessera.configure()
    tile = tessera.TileMatrixSet.from_name("WebMercatorQuad").tile(10.3, 45.7, 8)
    with pytest.raises(tessera.InvalidInput, match=r"image size 8193x8193 is out of range \(1 to 8192 pixels a side; ReaderConfig::max_image_size\)"):
        tessera.read_tile(cog, tile.x, tile.y, tile.z, tilesize=8193)
    with pytest.raises(tessera.InvalidInput, match="out of range"):
        tessera.preview(cog, max_size=8193)
    with pytest.raises(tessera.InvalidInput, match="out of range"):
        tessera.part(cog, [10.1, 45.5, 10.5, 45.9], width=9000, height=10)
    assert tessera.read_tile(cog, tile.x, tile.y, tile.z, expression="b1 + " * 100 + "b2").data.shape[0] == 1
    with pytest.raises(tessera.InvalidInput, match="2048"):
        tessera.read_tile(cog, tile.x, tile.y, tile.z, expression="b1" + " + b1" * 600)
    with pytest.raises(tessera.InvalidInput, match="nested deeper than 64 levels"):
        tessera.read_tile(cog, tile.x, tile.y, tile.z, expression="(" * 70 + "b1" + ")" * 70)
    # All three are configurable.
    try:
        tessera.configure(max_image_size=48, max_expression_length=8, max_expression_depth=2)
        assert tessera.preview(cog, max_size=48).data.shape[1:] == (48, 48)
        with pytest.raises(tessera.InvalidInput, match="1 to 48 pixels a side"):
            tessera.preview(cog, max_size=49)
        with pytest.raises(tessera.InvalidInput, match="the limit is 8"):
            tessera.preview(cog, max_size=32, expression="b1 + 1000")
        with pytest.raises(tessera.InvalidInput, match="deeper than 2"):
            tessera.preview(cog, max_size=32, expression="(((b1)))")
    finally:
        tessera.configure()
