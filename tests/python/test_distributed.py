"""examples/python/distributed_pipeline.py on a Dask LocalCluster of worker processes, against the test
PgSTAC catalog and S3 server: every package is built once (duplicated tasks are kept out by the catalog's
locks) and validates, every item is ingested once, and a second run changes nothing."""

import json
import os
import pathlib
import subprocess
import sys
import time

import frictionless
import numpy
import pytest
import rasterio
from dask import distributed
from rasterio.transform import from_origin

import tessera
from stac_fixtures import collection, item

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
sys.path.insert(0, str(EXAMPLES))
# Worker processes import the example module by name, as a real cluster's workers would from their image.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLES), os.environ.get("PYTHONPATH")]))
import distributed_pipeline as pipeline  # noqa: E402

BOUNDARIES = [f"District {n}" for n in range(6)]
ITEM_FILES, ITEMS_PER_FILE = 6, 10


@pytest.fixture(scope="module")
def client():
    # The workers hold the S3 keys in their environment, as a real cluster's would (docs/distributed.md).
    keys = {"AWS_ACCESS_KEY_ID": os.environ.get("TESSERA_TEST_S3_ACCESS_KEY", ""),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("TESSERA_TEST_S3_SECRET_KEY", "")}
    cluster = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None,
                                       env=keys)
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client




@pytest.fixture
def target(pgstac_url, s3_env):
    run = f"dask-{os.getpid()}-{time.time_ns()}"
    return pipeline.Target(pgstac_url, f"s3://{s3_env['bucket']}/{run}", tuple(s3_env["options"].items()))


def square(x, y, size):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def upload_sources(tmp_path, storage):
    """A 0.01° raster over 10..11 E, 45..46 N and points every 0.05°, uploaded to the shared storage."""
    raster = tmp_path / "elevation.tif"
    rows, cols = numpy.mgrid[0:100, 0:100]
    with rasterio.open(raster, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint16", crs="EPSG:4326",
                       transform=from_origin(10, 46, 0.01, 0.01), nodata=0, tiled=True) as dst:
        dst.write((100 + rows * 3 + cols).astype("uint16")[numpy.newaxis])
    points = tmp_path / "stations.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"station": f"S{i}-{j}"},
         "geometry": {"type": "Point", "coordinates": [10.025 + i * 0.05, 45.025 + j * 0.05]}}
        for i in range(20) for j in range(20)]}))
    storage.put_file("sources/elevation.tif", str(raster))
    storage.put_file("sources/stations.geojson", str(points))
    return [
        {"name": "elevation", "version": "1", "title": "Elevation", "type": "raster",
         "license": {"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"},
         "sources": [storage.uri("sources/elevation.tif")]},
        {"name": "stations", "version": "1", "title": "Stations", "type": "vector", "format": "GeoJSON",
         "license": {"name": "CC0-1.0"}, "sources": [storage.uri("sources/stations.geojson")]},
    ]


def districts(tmp_path):
    """Six 0.25° squares over the sources, as a GeoJSON file."""
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name},
         "geometry": square(10.1 + 0.3 * (n % 3), 45.1 + 0.4 * (n // 3), 0.25)} for n, name in enumerate(BOUNDARIES)]}))
    return str(path)


def package_objects(storage):
    """What the packages consist of on S3 (not the job records under .tessera/): key -> (size, modified)."""
    return {key: (storage.stat(key)["size"], storage.stat(key)["modified_unix_ms"])
            for key in storage.list() if not key.startswith((".tessera/", "sources/"))}


def test_packages_across_dask_workers_are_built_once_and_rerun_is_a_no_op(client, target, tmp_path):
    _, storage = pipeline.connect(target)
    datasets = upload_sources(tmp_path, storage)
    assert pipeline.add_boundaries(target, districts(tmp_path), "name") == BOUNDARIES

    # Every boundary is submitted twice, as a retried or overlapping request would be.
    statuses = pipeline.package_all(client, target, BOUNDARIES * 2, datasets, "first")
    assert {status["status"] for status in statuses} == {"completed"}
    ids = [f"district-{n}" for n in range(6)]
    for n, boundary_id in enumerate(ids):
        for dataset in range(2):
            outcomes = sorted(statuses[copy * 6 + n]["datasets"][dataset]["status"] for copy in range(2))
            assert outcomes == ["completed", "skipped"], (boundary_id, dataset)
        provenance = json.loads(storage.get(f"{boundary_id}/provenance.json"))
        assert sorted(entry["dataset"] for entry in provenance["entries"]) == ["elevation", "stations"]
        package = json.loads(storage.get(f"{boundary_id}/datapackage.json"))
        assert [r["path"] for r in package["resources"]] == [
            "datasets/elevation/1/elevation.tif", "datasets/stations/1/stations.geojson"]
        local = tmp_path / "copies" / boundary_id
        for key in storage.list(f"{boundary_id}/"):
            (local / key).parent.mkdir(parents=True, exist_ok=True)
            (local / key).write_bytes(storage.get(key))
        report = frictionless.validate(str(local / boundary_id / "datapackage.json"))
        assert report.valid, report.flatten(["type", "note"])
    published = package_objects(storage)
    assert sorted(published) == sorted(f"{b}/{file}" for b in ids for file in [
        "datapackage.json", "provenance.json", "index.html", "license.html", "thumbnail.png",
        "datasets/elevation/1/elevation.tif", "datasets/stations/1/stations.geojson"])

    # S3 times have one-second resolution: a rewrite in the second run would show.
    time.sleep(1.1)
    statuses = pipeline.package_all(client, target, BOUNDARIES, datasets, "second")
    assert [[d["status"] for d in status["datasets"]] for status in statuses] == [["skipped", "skipped"]] * 6
    assert package_objects(storage) == published


def test_item_files_across_dask_workers_are_ingested_once(client, target):
    catalog, storage = pipeline.connect(target)
    collection_id = target.storage.rsplit("/", 1)[1]
    catalog.create_collection(collection(collection_id))
    for f in range(ITEM_FILES):
        lines = [json.dumps(item(f"{collection_id}-{f}-{n}", collection_id, f"2024-01-{f + 1:02d}T10:00:00Z",
                                 n, f)) for n in range(ITEMS_PER_FILE)]
        storage.put(f"stac/part-{f}.ndjson", ("\n".join(lines) + "\n").encode())
    files = pipeline.item_files(target, [f"{target.storage}/stac/"])
    assert len(files) == ITEM_FILES

    total = ITEM_FILES * ITEMS_PER_FILE
    reports = pipeline.ingest_all(client, target, files)
    assert [(r["loaded"], r["skipped"], r["failed"]) for r in reports] == [(ITEMS_PER_FILE, 0, 0)] * ITEM_FILES
    found = catalog.search(collections=[collection_id], limit=total + 10)
    assert sorted(f["id"] for f in found["features"]) == sorted(
        f"{collection_id}-{f}-{n}" for f in range(ITEM_FILES) for n in range(ITEMS_PER_FILE))

    again = pipeline.ingest_all(client, target, files)
    assert [(r["loaded"], r["skipped"], r["failed"]) for r in again] == [(0, ITEMS_PER_FILE, 0)] * ITEM_FILES
    assert len(catalog.search(collections=[collection_id], limit=total + 10)["features"]) == total

    # The command line on the same cluster: it sends only the endpoint, lists and ingests on the workers,
    # which use their own S3 keys; the client has none.
    endpoint = dict(target.storage_options)["endpoint"]
    command = subprocess.run(
        [sys.executable, str(EXAMPLES / "distributed_pipeline.py"), "ingest", "--catalog", target.catalog,
         "--scheduler", client.scheduler.address, "--storage-option", f"endpoint={endpoint}",
         f"{target.storage}/stac/"], env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        capture_output=True, text=True, timeout=120)
    assert command.returncode == 0, command.stderr
    assert json.loads(command.stdout) == {"files": ITEM_FILES, "loaded": 0, "skipped": total, "failed": 0}
    catalog.delete_collection(collection_id, cascade=True)


# A builder holding the catalog's lock on district-0's elevation, stuck in its processor until it is killed.
STUCK_BUILDER = """
import json, sys, time
import tessera

class Stuck(tessera.Processor):
    def process(self, context):
        print("building", flush=True)
        time.sleep(120)

target = json.loads(sys.argv[1])
packager = tessera.Packager(tessera.Storage.open(target["storage"], target["options"]),
                            tessera.Catalog.open(target["catalog"]))
packager.register_processor("stuck", Stuck())
packager.build("District 0", [json.loads(sys.argv[2])], job_id="killed")
"""


def test_a_builder_killed_mid_job_leaves_nothing_and_the_rerun_completes(client, target, tmp_path):
    _, storage = pipeline.connect(target)
    datasets = upload_sources(tmp_path, storage)
    pipeline.add_boundaries(target, districts(tmp_path), "name")
    settings = json.dumps({"catalog": target.catalog, "storage": target.storage, "options": target.options()})
    builder = subprocess.Popen([sys.executable, "-c", STUCK_BUILDER, settings,
                                json.dumps(dict(datasets[0], processor="stuck"))], stdout=subprocess.PIPE, text=True)
    try:
        assert builder.stdout.readline() == "building\n"
        # Another worker meanwhile finds the dataset locked and, not waiting, reports it in progress.
        busy = pipeline.package_boundary(target, "District 0", datasets[:1], "busy", wait_for_locks=False)
        assert busy["datasets"][0]["status"] == "in_progress"
    finally:
        builder.kill()  # as a worker dies: no cleanup runs
        builder.wait()
    assert json.loads(storage.get(".tessera/jobs/killed.json"))["status"] == "running"
    assert [key for key in storage.list() if key.startswith(("district-0/datasets/", ".tessera/outputs/"))] == []

    # PostgreSQL dropped the dead session's advisory lock: the re-run builds the dataset.
    [status] = pipeline.package_all(client, target, ["District 0"], datasets[:1], "rerun")
    assert status["datasets"][0]["status"] == "completed"
    provenance = json.loads(storage.get("district-0/provenance.json"))
    assert [(entry["dataset"], entry["job"]) for entry in provenance["entries"]] == [("elevation", "rerun-0")]


def test_package_jobs_handed_to_dask_run_there_and_duplicates_join(client, target, tmp_path):
    """tessera.PackageJobs with an executor: each job becomes the example's package_boundary task on a worker;
    its status, a duplicate submission and the result go through the job records on the shared storage."""
    catalog, storage = pipeline.connect(target)
    datasets = upload_sources(tmp_path, storage)
    pipeline.add_boundaries(target, districts(tmp_path), "name")
    packager = tessera.Packager(storage, catalog)
    assert packager.add_processors(datasets) == ["elevation/1", "stations/1"]
    futures = []

    def to_dask(job):
        futures.append(client.submit(pipeline.package_boundary, target, job["boundary"], job["datasets"], job["id"],
                                     pure=False))

    jobs = tessera.PackageJobs(packager, executor=to_dask)
    first = jobs.submit("District 4", ["elevation/1", "stations/1"])
    # Pending or running on the cluster: the same submission joins it.
    duplicate = jobs.submit("district-4", ["stations/1", "elevation/1"])
    assert duplicate["id"] == first["id"] and duplicate["duplicate"]
    assert len(futures) == 1
    [result] = client.gather(futures)
    assert result["id"] == first["id"] and result["status"] == "completed", result
    status = jobs.status(first["id"])
    assert status["status"] == "completed" and [d["status"] for d in status["datasets"]] == ["completed"] * 2
    assert [job["id"] for job in jobs.list(status="completed")] == [first["id"]]
    assert storage.exists("district-4/index.html") and storage.exists("district-4/datapackage.json")
    # Finished: a new submission is a new job on the cluster.
    assert jobs.submit("District 4", ["elevation/1", "stations/1"])["id"] != first["id"]
    client.gather(futures)

