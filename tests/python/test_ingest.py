import json
import os
import uuid

import pytest

import tessera
from stac_fixtures import collection, item


@pytest.fixture
def catalog():
    cat = tessera.Catalog.open("sqlite://:memory:")
    cat.upsert_collection(collection("a"))
    return cat


def test_ingest_files_and_folders(catalog, tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "one.ndjson").write_text(
        "\n".join(json.dumps(item(f"f{n}", "a", "2022-01-01T00:00:00Z", n, 0)) for n in range(3)) + "\n"
    )
    (tmp_path / "in" / "sub" / "fc.json").write_text(
        json.dumps({"type": "FeatureCollection", "features": [item("g", "a", "2022-01-01T00:00:00Z", 0, 0)]})
    )
    report = tessera.ingest(catalog, [tmp_path / "in"], mode="upsert", batch_size=2)
    assert report["loaded"] == 4
    assert [r["status"] for r in report["results"]] == ["loaded", "loaded"]
    assert tessera.ingest(catalog, str(tmp_path / "in" / "one.ndjson"), mode="ignore")["skipped"] == 3


def test_ingest_messages_and_dead_letters(catalog, tmp_path):
    dead = tmp_path / "dead.ndjson"
    messages = [
        item("m1", "a", "2022-01-01T00:00:00Z", 0, 0),  # a dict
        json.dumps({"Type": "Notification", "Message": json.dumps(item("m2", "a", "2022-01-01T00:00:00Z", 0, 0))}),
        json.dumps({"Event": "s3:TestEvent"}),
        "{ not json",
        json.dumps(item("m3", "later", "2022-01-01T00:00:00Z", 0, 0)),
    ]
    results = tessera.ingest_messages(catalog, messages, dead_letter=str(dead))
    assert [r["status"] for r in results] == ["loaded", "loaded", "ignored", "failed", "failed"]
    assert "later" in results[4]["failed"][0]["error"]
    records = dead.read_text().splitlines()
    assert len(records) == 2
    catalog.upsert_collection(collection("later"))
    replayed = tessera.ingest_messages(catalog, records)
    assert [r["status"] for r in replayed] == ["failed", "loaded"]
    assert catalog.get_item("later", "m3")["id"] == "m3"
    with pytest.raises(tessera.InvalidInput):
        tessera.ingest_messages(catalog, [42])
    with pytest.raises(tessera.InvalidInput, match="load mode"):
        tessera.ingest_messages(catalog, [], mode="merge")


@pytest.mark.skipif(not os.environ.get("TESSERA_TEST_S3_ENDPOINT"), reason="no S3 test server")
def test_ingest_s3_events_and_prefixes(catalog):
    options = {
        "endpoint": os.environ["TESSERA_TEST_S3_ENDPOINT"],
        "access_key_id": os.environ["TESSERA_TEST_S3_ACCESS_KEY"],
        "secret_access_key": os.environ["TESSERA_TEST_S3_SECRET_KEY"],
    }
    bucket = os.environ["TESSERA_TEST_S3_BUCKET"]
    prefix = f"py-ingest-{uuid.uuid4().hex}"
    storage = tessera.Storage.open(f"s3://{bucket}/{prefix}", options=options)
    storage.put("a b.json", json.dumps(item("s1", "a", "2022-01-01T00:00:00Z", 0, 0)).encode())
    for n in range(5):
        storage.put(f"many/{n}.json", json.dumps(item(f"p{n}", "a", "2022-01-01T00:00:00Z", n, 0)).encode())
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": f"{prefix}/a+b.json"}}}]}
    sns = {"Type": "Notification", "Message": json.dumps(event)}
    results = tessera.ingest_messages(catalog, [sns], storage_options=options)
    assert results[0]["status"] == "loaded", results
    report = tessera.ingest(catalog, [f"s3://{bucket}/{prefix}/many"], storage_options=options)
    assert report["loaded"] == 5
    # An object named like a file is read alone (as a distributed run's task does).
    one = tessera.ingest(catalog, [f"s3://{bucket}/{prefix}/many/0.json"], mode="ignore", storage_options=options)
    assert (one["loaded"], one["skipped"], [r["source"] for r in one["results"]]) == (
        0, 1, [f"s3://{bucket}/{prefix}/many/0.json"])


def _tiff(path, epsg=32633):
    """A small georeferenced GeoTIFF written through tessera's own COG conversion input: a GDAL VRT."""
    vrt = path.with_suffix(".vrt")
    vrt.write_text(
        f"""<VRTDataset rasterXSize="64" rasterYSize="48">
  <SRS>EPSG:{epsg}</SRS>
  <GeoTransform>500000, 30, 0, 5200000, 0, -30</GeoTransform>
  <VRTRasterBand dataType="UInt16" band="1"><NoDataValue>0</NoDataValue></VRTRasterBand>
</VRTDataset>"""
    )
    tessera.to_cog(str(vrt), str(path))
    return path


def test_create_item_and_to_cog(tmp_path):
    cog = _tiff(tmp_path / "scene.tif")
    item = tessera.create_item(str(cog), collection="a", datetime="2023-01-01T00:00:00Z", properties={"platform": "x"})
    assert item["id"] == "scene"
    assert item["properties"]["proj:code"] == "EPSG:32633"
    assert item["properties"]["platform"] == "x"
    assert item["assets"]["data"]["type"].endswith("profile=cloud-optimized")
    cat = tessera.Catalog.open("sqlite://:memory:")
    cat.upsert_collection(collection("a"))
    assert cat.load([item])["loaded"] == 1
    (tmp_path / "notes.txt").write_text("not a raster")
    with pytest.raises(tessera.InvalidInput, match="not a raster"):
        tessera.create_item(str(tmp_path / "notes.txt"))
