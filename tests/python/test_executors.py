"""The asynchronous executors beyond local processes: the Dask executor on a distributed
LocalCluster of worker processes, and the command template executor driving a scheduler through its
submit/status/cancel commands (tests/scheduler/fake_scheduler.py)."""

import json
import sys
import time
from pathlib import Path

import pytest
from dask import distributed

import tessera
from stac_fixtures import collection

SCHEDULER = Path(__file__).resolve().parents[1] / "scheduler" / "fake_scheduler.py"
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}


def scene(item_id):
    ring = [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]
    return {"type": "Feature", "stac_version": "1.1.0", "id": item_id, "collection": "imagery",
            "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [1, 1, 2, 2],
            "properties": {"datetime": "2024-05-01T10:00:00Z", "gsd": 10}, "links": [], "assets": {}}


@pytest.fixture
def mt(tmp_path):
    catalog = tessera.Catalog.open(f"sqlite://{tmp_path / 'catalog.db'}")
    catalog.upsert_collection(collection("imagery"))
    matcher = tessera.Matcher(catalog)
    yield matcher


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def test_dask_executor_runs_models_on_workers(mt, client, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dask-host-secret")
    script = ("import json, os, sys; item = json.load(open(sys.argv[-1])); "
              "print('ran', item['id'], 'AWS' in ' '.join(os.environ), os.environ['MODEL_SETTING'])")
    ok = mt.add_model({"name": "ok", "command": [sys.executable, "-c", script], "env": {"MODEL_SETTING": "on"}})
    failing = mt.add_model({"name": "failing", "command": [sys.executable, "-c", "import sys; sys.exit(5)"]})
    slow = mt.add_model({"name": "slow", "command": [sys.executable, "-c", "import time; time.sleep(30)"],
                         "runner": {"timeout": 0.5}})
    for model in (ok, failing, slow):
        mt.add_aoi({"model": model, "geometry": SQUARE, "resolution": 30})
    mt.load([scene("a"), scene("b")])
    started = time.monotonic()
    records = tessera.Runner(mt, executor=tessera.DaskExecutor(client), work_dir=str(tmp_path / "work"),
                             concurrency=6).run_pending()
    assert time.monotonic() - started < 30
    assert len(records) == 6
    by_model = {}
    for record in records:
        by_model.setdefault(record["model"], []).append(record)
    assert sorted(r["log"] for r in by_model[ok]) == ["ran a False on\n", "ran b False on\n"]
    assert all(r["kind"] == "run_succeeded" and r["job"].startswith("tessera-run-") for r in by_model[ok])
    assert all(r["kind"] == "run_failed" and r["exit_code"] == 5 for r in by_model[failing])
    assert all(r["kind"] == "run_timed_out" for r in by_model[slow])
    kinds = [event["kind"] for event in mt.events(model=ok)]
    assert kinds.count("run_submitted") == 2 and kinds.count("run_succeeded") == 2, kinds


def test_command_executor_drives_a_scheduler(mt, tmp_path):
    state = str(tmp_path / "scheduler")
    executor = tessera.CommandExecutor(
        submit=[sys.executable, str(SCHEDULER), state, "submit", "/usr/bin/env", "QUEUE={executor.queue}",
                "{command}"],
        status=[sys.executable, str(SCHEDULER), state, "status", "{job}"],
        cancel=[sys.executable, str(SCHEDULER), state, "cancel", "{job}"])
    model = mt.add_model({"name": "batch", "command": ["/bin/sh", "-c", "echo on $QUEUE with $(basename $0)"],
                          "executor": {"queue": "gpu-small"}})
    mt.add_aoi({"model": model, "geometry": SQUARE, "resolution": 30})
    mt.load([scene("a")])
    [record] = tessera.Runner(mt, executor=executor, poll=0.02, work_dir=str(tmp_path / "work")).run_pending()
    assert record["kind"] == "run_succeeded", record
    assert record["log"] == "on gpu-small with item.json\n"
    assert (Path(state) / record["job"]).is_dir()
    # A model whose settings lack what the template asks for fails at submission, naming it.
    other = mt.add_model({"name": "no-queue", "command": ["/bin/true"]})
    mt.add_aoi({"model": other, "geometry": SQUARE, "resolution": 30})
    mt.load([scene("b")])
    records = tessera.Runner(mt, executor=executor, poll=0.02).run_pending()
    [failed] = [r for r in records if r["model"] == other]
    assert failed["kind"] == "run_failed"
    assert "executor settings have no string or number 'queue'" in failed["error"]
