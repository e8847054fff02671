"""Matching through the Python contract: models, AOIs, match/match_batch,
run requests written with ingested items, claim/ack/redelivery, the runner,
predictions and summaries, on SQLite and (when its server is set) PgSTAC.

In CI a missing PgSTAC server fails the pgstac cases instead of skipping them.
"""

import json
from pathlib import Path
import sys
import time

import jsonschema
import pytest

import tessera
from stac_fixtures import collection, item

ROOT = Path(__file__).resolve().parents[2]


def square(x, y, size):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def imagery(item_id, x, y, size=1.0, gsd=10.0, collection_id="imagery"):
    bands = [
        {"name": "B04", "common_name": "red", "center_wavelength": 0.665, "full_width_half_max": 0.038},
        {"name": "B08", "common_name": "nir", "center_wavelength": 0.842, "full_width_half_max": 0.145},
    ]
    return item(item_id, collection_id, "2024-05-01T10:00:00Z", x, y, size, gsd=gsd, **{"eo:bands": bands})


def label_item(item_id, water, land):
    labelled = item(item_id, "ignored", "2024-05-02T00:00:00Z", 1, 1)
    labelled["properties"].update(
        {
            "label:properties": ["class"],
            "label:description": "water mask",
            "label:type": "vector",
            "label:tasks": ["segmentation"],
            "label:classes": [{"name": "class", "classes": ["water", "land"]}],
            "label:overviews": [
                {"property_key": "class", "counts": [{"name": "water", "count": water}, {"name": "land", "count": land}]}
            ],
        }
    )
    labelled["links"] = [{"rel": "source", "href": "https://example.com/imagery/scene.json"}]
    labelled["assets"] = {"labels": {"href": f"s3://results/{item_id}.geojson"}}
    return labelled


@pytest.fixture(params=["sqlite", "pgstac"])
def catalog(request, tmp_path):
    if request.param == "sqlite":
        cat = tessera.Catalog.open(f"sqlite://{tmp_path / 'matching.db'}")
    else:
        cat = tessera.Catalog.open(request.getfixturevalue("pgstac_url"))  # a database of the test's own
    cat.create_collection(collection("imagery"))
    return cat


@pytest.fixture
def mt(catalog):
    return tessera.Matcher(catalog)  # on a catalog of the test's own: no AOIs, no events


def test_match_follows_geometry_resolution_and_wavelengths(mt):
    model = mt.add_model({"name": "water", "command": ["/bin/true"]})
    fine = mt.add_aoi({"id": "fine", "model": model, "geometry": square(0, 0, 10), "resolution": 10, "wavelengths": [0.842]})
    coarse = mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 60, "wavelengths": [0.665, 0.842]})
    swir = mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 60, "wavelengths": [1.6]})
    assert fine == "fine"
    expected = sorted([{"model": model, "aoi": fine}, {"model": model, "aoi": coarse}], key=lambda m: m["aoi"])
    assert mt.match(imagery("s2", 1, 1)) == expected
    assert mt.match(imagery("l8", 1, 1, gsd=30)) == [{"model": model, "aoi": coarse}]
    assert mt.match(imagery("far", 50, 50)) == []
    assert swir not in [m["aoi"] for m in mt.match(imagery("s2", 1, 1))]
    batch = mt.match_batch([imagery("s2", 1, 1), imagery("far", 50, 50), imagery("l8", 1, 1, gsd=30)])
    assert batch == [expected, [], [{"model": model, "aoi": coarse}]]
    mt.remove_aoi(coarse)
    assert mt.match(imagery("l8", 1, 1, gsd=30)) == []
    with pytest.raises(tessera.NotFound, match=f"aoi '{coarse}' not found"):
        mt.remove_aoi(coarse)


def test_antimeridian_and_polar_aois(mt):
    model = mt.add_model({"name": "polar", "command": ["/bin/true"]})
    fiji = mt.add_aoi({"model": model, "geometry": square(175, -20, 10), "resolution": 30})
    arctic = mt.add_aoi(
        {"model": model, "geometry": square(-1e6, -1e6, 2e6), "crs": "EPSG:3413", "resolution": 30}
    )
    assert mt.get_aoi(fiji)["geometry"]["type"] == "MultiPolygon"
    assert [m["aoi"] for m in mt.match(imagery("west", -179.5, -15, 0.5))] == [fiji]
    assert [m["aoi"] for m in mt.match(imagery("pole", 100, 85))] == [arctic]
    assert mt.match(imagery("temperate", 100, 50)) == []


def test_bad_input_names_the_field(mt):
    model = mt.add_model({"name": "m", "command": ["/bin/true"]})
    with pytest.raises(tessera.InvalidInput, match="resolution"):
        mt.add_aoi({"model": model, "geometry": square(0, 0, 1), "resolution": -5})
    with pytest.raises(tessera.InvalidInput, match=r"wavelengths\[0\]"):
        mt.add_aoi({"model": model, "geometry": square(0, 0, 1), "resolution": 5, "wavelengths": [0.1]})
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(tessera.InvalidInput, match="geometry: is not valid"):
        mt.add_aoi({"model": model, "geometry": bowtie, "resolution": 5})
    with pytest.raises(tessera.InvalidInput, match="command"):
        mt.add_model({"name": "no command"})
    mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30, "wavelengths": [0.665]})
    bad = imagery("bad", 1, 1)
    bad["properties"]["eo:bands"][0]["full_width_half_max"] = -1
    with pytest.raises(tessera.InvalidInput, match=r"item 'bad': properties.eo:bands\[0\].full_width_half_max"):
        mt.match(bad)
    with pytest.raises(tessera.InvalidInput, match="label:type"):
        labelled = label_item("x", 1, 1)
        labelled["properties"]["label:type"] = "tile"
        mt.add_prediction(model, mt.aois(model)[0]["id"], labelled)


def test_ingest_writes_run_requests_that_are_claimed_acked_and_redelivered(mt, catalog, tmp_path):
    model = mt.add_model({"name": "on-ingest", "command": ["/bin/true"]})
    aoi = mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30, "wavelengths": [0.842]})
    source = tmp_path / "items.ndjson"
    source.write_text("\n".join(json.dumps(i) for i in [imagery("a", 1, 1), imagery("b", 2, 2), imagery("c", 40, 40)]))
    report = tessera.ingest(catalog, [str(source)], matcher=mt)
    assert report["loaded"] == 3
    pending = mt.events(model=model)
    assert [(e["kind"], e["payload"]["item"], e["payload"]["aoi"]) for e in pending] == [
        ("run_requested", "a", aoi),
        ("run_requested", "b", aoi),
    ]
    first = mt.events(claim=True, model=model, lease=0.2)
    assert [e["deliveries"] for e in first] == [1, 1]
    assert mt.events(claim=True, model=model) == []  # leased to the first consumer
    mt.ack(first[0]["id"])
    time.sleep(0.3)
    again = mt.events(claim=True, model=model)
    assert [(e["id"], e["deliveries"]) for e in again] == [(first[1]["id"], 2)]
    mt.ack(again[0]["id"])
    assert mt.events(model=model) == []
    # Matcher.load does the same for items given directly.
    mt.load([imagery("d", 3, 3)])
    assert [e["payload"]["item"] for e in mt.events(model=model)] == ["d"]


def test_runner_executes_commands_and_records_outcomes(mt, catalog, tmp_path):
    script = tmp_path / "model.py"
    script.write_text("import json, sys\nitem = json.load(open(sys.argv[-1]))\nprint('segmented', item['id'])\n")
    ok = mt.add_model({"name": "ok", "command": [sys.executable, str(script)]})
    failing = mt.add_model({"name": "failing", "command": [sys.executable, "-c", "import sys; sys.exit(4)"]})
    slow = mt.add_model(
        {"name": "slow", "command": [sys.executable, "-c", "import time; time.sleep(30)"], "runner": {"timeout": 0.3}}
    )
    for model in (ok, failing, slow):
        mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30})
    mt.load([imagery("scene", 1, 1)])
    started = time.monotonic()
    records = tessera.Runner(mt, concurrency=3, work_dir=str(tmp_path / "work")).run_pending()
    assert time.monotonic() - started < 10
    by_model = {r["model"]: r for r in records}
    assert by_model[ok]["kind"] == "run_succeeded" and by_model[ok]["log"] == "segmented scene\n"
    assert by_model[failing]["kind"] == "run_failed" and by_model[failing]["exit_code"] == 4
    assert by_model[slow]["kind"] == "run_timed_out" and by_model[slow]["timed_out"]
    kinds = [e["kind"] for e in mt.events(model=ok)]
    assert kinds[0] == "run_submitted" and kinds[-1] == "run_succeeded", kinds
    run = mt.get_run(by_model[ok]["id"])
    assert run["state"] == "succeeded" and run["exit_code"] == 0
    assert "".join(e["text"] for e in mt.run_logs(run["id"])["entries"]) == "segmented scene\n"
    assert [r["id"] for r in mt.runs(model=failing, state="failed")["runs"]] == [by_model[failing]["id"]]
    assert tessera.Runner(mt).run_pending() == []
    # Every event matches the documented schema of its kind.
    schema = json.loads((ROOT / "docs" / "schemas" / "matching-events.schema.json").read_text())
    for event in mt.events(limit=1000):
        jsonschema.validate(event, schema)
    assert tessera.run_state_names() == ["requested", "submitted", "running", "succeeded", "failed", "timed_out",
                                         "cancelled"]


class BatchSystem:
    """A pluggable executor: jobs queue, run (with output) and succeed one status call at a time."""

    def __init__(self):
        self.submitted = []
        self.calls = {}

    def submit(self, request):
        self.submitted.append(request)
        job = f"job-{len(self.submitted)}"
        self.calls[job] = 0
        return job

    def status(self, job):
        self.calls[job] += 1
        step = self.calls[job]
        if step == 1:
            return {"state": "submitted"}
        if step == 2:
            return {"state": "running", "log": "queued as " + job + "\n"}
        return {"state": "succeeded", "exit_code": 0, "seconds": 1.5}

    def cancel(self, job):
        raise AssertionError("nothing is cancelled here")


def test_runner_takes_a_pluggable_executor(mt):
    model = mt.add_model({"name": "batch", "command": ["submit-job"], "executor": {"queue": "gpu-small"}})
    mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30})
    mt.load([imagery("scene", 1, 1)])
    batch_system = BatchSystem()
    records = tessera.Runner(mt, executor=batch_system, poll=0.01).run_pending()
    assert [r["kind"] for r in records] == ["run_succeeded"]
    assert records[0]["job"] == "job-1" and records[0]["log"] == "queued as job-1\n"
    [request] = batch_system.submitted
    assert request["command"][0] == "submit-job" and request["item"] == "scene"
    assert request["executor"] == {"queue": "gpu-small"} and request["run"] == records[0]["id"]
    assert [e["kind"] for e in mt.events(model=model)] == ["run_submitted", "run_started", "run_succeeded"]
    with pytest.raises(tessera.InvalidInput, match="submit, status and cancel"):
        tessera.Runner(mt, executor=lambda request: "job")


def test_retention_prunes_what_is_done(mt):
    model = mt.add_model({"name": "quick", "command": ["/bin/true"]})
    mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30})
    mt.load([imagery("scene", 1, 1)])
    [record] = tessera.Runner(mt, poll=0.01).run_pending()
    assert mt.prune() == {"events": 0, "runs": 0, "run_logs": 0}
    time.sleep(0.01)
    assert mt.prune(older_than_days=0) == {"events": 1, "runs": 1, "run_logs": 0}
    with pytest.raises(tessera.NotFound):
        mt.get_run(record["id"])
    # The run's transition events were never acknowledged: they stay.
    assert [e["kind"] for e in mt.events(model=model)][-1] == "run_succeeded"


def test_predictions_and_summary(mt, catalog):
    model = mt.add_model({"name": "segmenter", "command": ["/bin/true"]})
    first = mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30})
    second = mt.add_aoi({"model": model, "geometry": square(20, 0, 10), "resolution": 30})
    mt.add_prediction(model, first, label_item("p1", 10, 90))
    mt.add_prediction(model, second, label_item("p2", 1, 0))
    assert catalog.get_item(f"{model}-predictions", "p1")["properties"]["label:type"] == "vector"
    summary = mt.summary(model)
    assert summary["predictions"] == 2
    assert summary["latest"]["item"] == "p2"
    assert summary["by_aoi"][first]["classes"] == {"water": 10, "land": 90}
    assert summary["classes"] == {"water": 11, "land": 90}
    assert mt.summary(model, start="2999-01-01T00:00:00Z")["predictions"] == 0
    assert [e["kind"] for e in mt.events(model=model)] == ["prediction_received"] * 2
    missing = label_item("bad", 1, 1)
    del missing["links"]
    with pytest.raises(tessera.InvalidInput, match='links: a link with rel "source"'):
        mt.add_prediction(model, first, missing)


def test_model_update_emits_an_event_and_state_survives_reopening(mt, catalog):
    model = mt.add_model({"name": "v1", "command": ["/bin/true"], "runner": {"timeout": 60, "concurrency": 2}})
    aoi = mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30})
    stored = mt.get_model(model)
    stored["name"] = "v2"
    mt.update_model(stored)
    assert [e["kind"] for e in mt.events(model=model)] == ["model_updated"]
    reopened = tessera.Matcher(catalog)
    assert reopened.get_model(model)["name"] == "v2"
    assert reopened.get_model(model)["runner"] == {"timeout": 60, "concurrency": 2}
    assert reopened.match(imagery("x", 1, 1)) == [{"model": model, "aoi": aoi}]


def test_runner_isolates_models_from_the_host(mt, catalog, tmp_path, monkeypatch):
    """Ids cannot steer file writes; models see no host credentials; secrets are scrubbed from records."""
    monkeypatch.setenv("PGPASSWORD", "pg-secret-python-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-python-2")
    monkeypatch.setenv("MODEL_API_TOKEN", "named-token-python-3")
    victim = tmp_path / "escape"
    victim.mkdir()
    (victim / "PWNED.json").write_text("original")
    script = (
        "import json, os, sys\n"
        "item = json.load(open(sys.argv[-1]))\n"
        "print(os.path.basename(sys.argv[-1]), oct(os.stat('.').st_mode & 0o777), item['id'])\n"
        "print(sorted(os.environ))\n"
        "print(os.environ.get('MODEL_API_TOKEN'))\n"
    )
    model = mt.add_model({
        "name": "isolated", "command": [sys.executable, "-c", script],
        "env": {"MODEL_SETTING": "on"}, "inherit_env": ["MODEL_API_TOKEN"],
    })
    mt.add_aoi({"model": model, "geometry": square(0, 0, 10), "resolution": 30})
    mt.load([imagery("../escape/PWNED", 1, 1)])
    work = tmp_path / "work"
    [record] = tessera.Runner(mt, work_dir=str(work)).run_pending()
    assert record["kind"] == "run_succeeded", record
    log = record["log"]
    assert log.startswith("item.json 0o700 ../escape/PWNED\n"), log
    assert "MODEL_SETTING" in log and "PGPASSWORD" not in log and "AWS_SECRET_ACCESS_KEY" not in log
    for secret in ("pg-secret-python-1", "aws-secret-python-2", "named-token-python-3"):
        assert secret not in log
    assert "***" in log  # the named token reached the model but not the record
    assert (victim / "PWNED.json").read_text() == "original"
    assert list(work.iterdir()) == []
