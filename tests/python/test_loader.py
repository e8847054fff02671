"""The queue loader from Python and the CLI against the SQS-compatible test server, validate
and reconcile."""
import json
import os
import pathlib
import subprocess
import sys
import uuid

import numpy

import pytest

import tessera
from raster_fixtures import write_plain
from rasterio.transform import from_origin
from stac_fixtures import collection, item

REPO = pathlib.Path(__file__).resolve().parents[2]
MOTO_VENV = pathlib.Path(os.environ.get("TESSERA_MOTO_VENV", "/opt/tessera-tools/venvs/moto"))
QUEUE_OPTIONS = {"region": "us-east-1", "access_key_id": "tessera", "secret_access_key": "tessera-secret"}


def sqs(endpoint, command, target, stdin=""):
    """Runs tests/queue_server/sqs_tool.py in the queue server's venv (its boto3)."""
    run = subprocess.run([str(MOTO_VENV / "bin" / "python"), str(REPO / "tests" / "queue_server" / "sqs_tool.py"),
                          endpoint, command, target], input=stdin, capture_output=True, text=True, timeout=120,
                         check=True)
    return run.stdout.splitlines()


@pytest.fixture
def queues(queue_endpoint):
    name = f"py-{uuid.uuid4().hex[:12]}"
    return {"endpoint": queue_endpoint, "queue": sqs(queue_endpoint, "create", name)[0],
            "dead": sqs(queue_endpoint, "create", name + "-dead")[0]}


@pytest.fixture
def catalog(tmp_path):
    cat = tessera.Catalog.open(f"sqlite://{tmp_path / 'c.db'}")
    cat.upsert_collection(collection("a"))
    return cat


def test_run_loader_loads_deletes_and_dead_letters(catalog, queues):
    good = [json.dumps(item(f"q{n}", "a", "2022-01-01T00:00:00Z", n, 0)) for n in range(12)]
    sqs(queues["endpoint"], "send", queues["queue"], "\n".join(good + ["{ not json"]) + "\n")
    batches = []
    totals = tessera.run_loader(catalog, queues["queue"], dead_letter_queue_url=queues["dead"],
                                queue_options={"endpoint": queues["endpoint"], **QUEUE_OPTIONS}, until_empty=True,
                                wait_seconds=1, batch_window_seconds=0.5, batch_size=500, on_batch=batches.append)
    assert totals["loaded"] == 12
    assert totals["dead_lettered"] == 1
    assert totals["deleted"] == 13
    assert sum(batch["received"] for batch in batches) == 13
    dead = [json.loads(line) for line in sqs(queues["endpoint"], "drain", queues["dead"])]
    assert [d["body"] for d in dead] == ["{ not json"]
    assert "not valid JSON" in dead[0]["attributes"]["tessera_error"]
    assert catalog.search({"limit": 1})["numberMatched"] == 12


def test_run_loader_refuses_bad_options(catalog):
    with pytest.raises(tessera.InvalidInput, match="batch_size"):
        tessera.run_loader(catalog, "http://127.0.0.1:9/1/q", batch_size="many")
    with pytest.raises(tessera.InvalidInput, match="unknown member 'bogus'"):
        tessera.run_loader(catalog, "http://127.0.0.1:9/1/q", bogus=1)


def test_cli_loader_reads_flags_and_variables(tmp_path, catalog, queues):
    cli = os.environ.get("TESSERA_CLI", str(REPO / "build" / "dev" / "cli" / "tessera"))
    if not os.path.exists(cli):
        pytest.fail(f"the tessera CLI is not built at {cli} (set TESSERA_CLI)")
    sqs(queues["endpoint"], "send", queues["queue"],
        "\n".join(json.dumps(item(f"c{n}", "a", "2022-01-01T00:00:00Z", n, 0)) for n in range(5)) + "\n")
    env = dict(os.environ, TESSERA_CATALOG=f"sqlite://{tmp_path / 'c.db'}", TESSERA_QUEUE=queues["queue"],
               TESSERA_BATCH_SIZE="not-a-number", AWS_ACCESS_KEY_ID="tessera", AWS_SECRET_ACCESS_KEY="x",
               AWS_REGION="us-east-1")
    # The flag wins over the (invalid) variable.
    run = subprocess.run([cli, "loader", "--batch-size", "3", "--until-empty", "--wait-seconds", "1", "--quiet"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["loaded"] == 5
    assert catalog.search({"limit": 1})["numberMatched"] == 5


def test_validate_reports_each_item_and_writes_nothing(catalog):
    bad = item("bad", "a", "2022-01-01T00:00:00Z", 0, 0)
    bad["bbox"] = [1, 2]
    report = tessera.validate(catalog, {"type": "FeatureCollection",
                                        "features": [item("ok", "a", "2022-01-01T00:00:00Z", 0, 0), bad]})
    assert (report["valid"], report["invalid"]) == (1, 1)
    assert report["results"][0] == {"id": "ok", "collection": "a", "valid": True}
    assert "bbox" in report["results"][1]["error"]
    assert catalog.search({"limit": 1})["numberMatched"] == 0


def test_reconcile_finds_and_fixes_drift(catalog, tmp_path):
    folder = tmp_path / "items"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps(item("one", "a", "2022-01-01T00:00:00Z", 0, 0)))
    (folder / "gone.json").write_text(json.dumps(item("gone", "a", "2022-01-01T00:00:00Z", 0, 0)))
    assert tessera.ingest(catalog, [folder])["loaded"] == 2
    (folder / "gone.json").unlink()
    (folder / "new.json").write_text(json.dumps(item("new", "a", "2022-01-01T00:00:00Z", 0, 0)))
    found = []
    report = tessera.reconcile(catalog, str(folder), on_finding=found.append)
    assert (report["missing"], report["orphaned"], report["stale"]) == (1, 1, 0)
    assert sorted((f["kind"], f["id"]) for f in found) == [("missing", "new"), ("orphaned", "gone")]
    fixed = tessera.reconcile(catalog, str(folder), fix=True)
    assert (fixed["loaded"], fixed["deleted"]) == (1, 1)
    assert catalog.search({"limit": 1})["numberMatched"] == 2


def s3_event(bucket, key, sequencer="01", name="ObjectCreated:Put"):
    """An S3 event notification as S3 sends them (recorded shape, constructed values)."""
    return json.dumps({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
                                    "s3": {"bucket": {"name": bucket},
                                           "object": {"key": key, "sequencer": sequencer}}}]})


def test_run_loader_makes_items_of_raster_uploads_with_a_callable(catalog, queues, s3_env):
    prefix = f"py-gen-{uuid.uuid4().hex[:10]}"
    storage = tessera.Storage.open(f"s3://{s3_env['bucket']}/{prefix}", s3_env["options"])
    storage.put("scene.tif", b"raw upload bytes")
    storage.put("broken.tif", b"x")
    seen = []

    def generate(uri, item_like):
        seen.append((uri, item_like))
        if uri.endswith("broken.tif"):
            raise ValueError("cannot read the scene")
        item_like["geometry"] = {"type": "Point", "coordinates": [5, 6]}
        item_like["bbox"] = [5, 6, 5, 6]
        item_like["properties"]["datetime"] = "2024-02-01T00:00:00Z"
        return item_like

    sqs(queues["endpoint"], "send", queues["queue"],
        s3_event(s3_env["bucket"], f"{prefix}/scene.tif") + "\n" + s3_event(s3_env["bucket"], f"{prefix}/broken.tif")
        + "\n")
    totals = tessera.run_loader(catalog, queues["queue"], dead_letter_queue_url=queues["dead"],
                                queue_options={"endpoint": queues["endpoint"], **QUEUE_OPTIONS},
                                storage_options=s3_env["options"], until_empty=True, wait_seconds=1,
                                batch_window_seconds=0.5, item_generator={"collection": "a", "callable": generate})
    assert (totals["loaded"], totals["dead_lettered"]) == (1, 1)
    uri = f"s3://{s3_env['bucket']}/{prefix}/scene.tif"
    like = dict(seen)[uri]
    assert (like["id"], like["collection"], like["assets"]["data"]["href"]) == ("scene", "a", uri)
    assert catalog.get_item("a", "scene")["properties"]["datetime"] == "2024-02-01T00:00:00Z"
    dead = [json.loads(line) for line in sqs(queues["endpoint"], "drain", queues["dead"])]
    assert "cannot read the scene" in dead[0]["attributes"]["tessera_error"]
    # The upload is the item's recorded source: reconcile finds it in step, and missing once the item is gone.
    assert tessera.reconcile(catalog, f"s3://{s3_env['bucket']}/{prefix}", storage_options=s3_env["options"],
                             item_generator=generate)["stale"] == 0
    with pytest.raises(tessera.InvalidInput, match="item_generator"):
        tessera.run_loader(catalog, queues["queue"], item_generator=42)


def test_cli_reconcile_takes_the_generator_flags(tmp_path, catalog):
    cli = os.environ.get("TESSERA_CLI", str(REPO / "build" / "dev" / "cli" / "tessera"))
    if not os.path.exists(cli):
        pytest.fail(f"the tessera CLI is not built at {cli} (set TESSERA_CLI)")
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "made.tif").write_bytes(b"II*\x00 not really a raster")
    command = json.dumps(["python3", "-c", "import json, sys; i = json.load(sys.stdin); "
                          "i.update(geometry={'type': 'Point', 'coordinates': [0, 0]}, bbox=[0, 0, 0, 0]); "
                          "i['properties']['datetime'] = '2024-01-01T00:00:00Z'; print(json.dumps(i))"])
    env = dict(os.environ, TESSERA_ITEM_COMMAND=command, TESSERA_ITEM_COLLECTION="a")
    run = subprocess.run([cli, "reconcile", "--catalog", f"sqlite://{tmp_path / 'c.db'}", str(folder),
                          "--item-generator", "command", "--fix", "--quiet"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[0])["kind"] == "missing"
    assert catalog.get_item("a", "made")["assets"]["data"]["href"] == f"file://{folder / 'made.tif'}"


# A command generator: completes the item-like JSON on stdin (geometry, datetime, the URI it got as last
# argument) and prints it.
COMPLETE_ITEM = [sys.executable, "-c",
                 "import json, sys; i = json.load(sys.stdin); "
                 "i.update(geometry={'type': 'Point', 'coordinates': [0, 0]}, bbox=[0, 0, 0, 0]); "
                 "i['properties'].update(datetime='2024-01-01T00:00:00Z', uploaded=sys.argv[1]); print(json.dumps(i))"]


def raw_geotiff(path):
    """A plain (not cloud-optimised) GeoTIFF, as an upload would be."""
    return write_plain(path, numpy.full((1, 32, 32), 7, dtype="uint8"), from_origin(500000, 5200000, 30, 30),
                       crs="EPSG:32633")


def test_ingest_makes_items_of_rasters_with_the_item_generator(catalog, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    raw_geotiff(folder / "scene.tif")
    (folder / "one.json").write_text(json.dumps(item("one", "a", "2022-01-01T00:00:00Z", 0, 0)))
    # Without a generator a folder's rasters are not sources.
    assert [r["source"] for r in tessera.ingest(catalog, folder)["results"]] == [str(folder / "one.json")]
    report = tessera.ingest(catalog, folder, item_generator={"kind": "builtin", "collection": "a"})
    assert report["loaded"] == 2, report
    scene = catalog.get_item("a", "scene")
    assert scene["assets"]["data"]["href"] == f"file://{folder / 'scene.tif'}"
    assert scene["properties"]["proj:code"] == "EPSG:32633"
    # A command generator, and a callable, for a raster given as a file.
    other = raw_geotiff(tmp_path / "other.tif")
    report = tessera.ingest(catalog, [other], item_generator={"kind": "command", "collection": "a",
                                                              "command": COMPLETE_ITEM})
    assert report["loaded"] == 1, report
    assert catalog.get_item("a", "other")["properties"]["uploaded"] == f"file://{other}"
    seen = []

    def generate(uri, item_like):
        seen.append(uri)
        return tessera.create_item(uri, id="called", collection="a")

    assert tessera.ingest(catalog, [other], item_generator=generate)["loaded"] == 1
    assert seen == [f"file://{other}"]
    assert catalog.get_item("a", "called")["assets"]["data"]["href"] == f"file://{other}"
    with pytest.raises(tessera.InvalidInput, match="item_generator"):
        tessera.ingest(catalog, [other], item_generator={"kind": "sometimes"})


def test_cli_ingest_takes_the_generator_flags(tmp_path, catalog):
    cli = os.environ.get("TESSERA_CLI", str(REPO / "build" / "dev" / "cli" / "tessera"))
    if not os.path.exists(cli):
        pytest.fail(f"the tessera CLI is not built at {cli} (set TESSERA_CLI)")
    uri = f"sqlite://{tmp_path / 'c.db'}"
    folder = tmp_path / "uploads"
    folder.mkdir()
    raw_geotiff(folder / "scene.tif")
    run = subprocess.run([cli, "ingest", uri, str(folder), "--item-generator", "builtin", "--item-collection", "a",
                          "--quiet"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "loaded 1," in run.stderr
    assert catalog.get_item("a", "scene")["assets"]["data"]["href"] == f"file://{folder / 'scene.tif'}"
    # A command generator over a file:// prefix.
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    raw_geotiff(prefix / "made.tif")
    run = subprocess.run([cli, "ingest", uri, f"file://{prefix}", "--item-generator", "command", "--item-collection",
                          "a", "--item-command", json.dumps(COMPLETE_ITEM), "--quiet"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert catalog.get_item("a", "made")["properties"]["uploaded"] == f"file://{prefix / 'made.tif'}"
    # A bad flag value is refused before anything loads.
    run = subprocess.run([cli, "ingest", uri, str(folder), "--item-generator", "command"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0
    assert "command" in run.stderr
