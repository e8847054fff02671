"""Packaging as a service through a real `tessera serve`: boundaries, the processor registry,
package jobs over HTTP (submitted with a packages:write token, joined when duplicated, cancelled
mid-job), packages listed with public URLs on a web root, validated by `frictionless validate`,
and the OpenAPI document; the same registry and jobs from Python (tessera.PackageJobs).

Jobs are held at a point of their choosing by a source served over HTTP that answers only once
the test opens its gate."""

import functools
import hashlib
import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.request

import numpy
import pytest
import rasterio
from rasterio.transform import from_origin

import tessera
from conftest import RangeRequestHandler
from jwt_fixtures import ISSUER, Signer, jwks
from test_serve import cli_path
from test_serve_auth import request  # (status, headers, body)

SQUARE = {"type": "Polygon", "coordinates": [[[10.1, 45.1], [10.5, 45.1], [10.5, 45.5], [10.1, 45.5], [10.1, 45.1]]]}
FAR = {"type": "Polygon", "coordinates": [[[30, 10], [31, 10], [31, 11], [30, 11], [30, 10]]]}


class GatedHandler(RangeRequestHandler):
    """RangeRequestHandler whose files under gated/ are served only while `gate` is set."""

    gate = threading.Event()
    waiting = threading.Event()  # set once a request waits at the gate

    def send_head(self):
        if self.path.startswith("/gated/"):
            GatedHandler.waiting.set()
            GatedHandler.gate.wait(timeout=120)
        return super().send_head()


def serve_folder(folder, handler=RangeRequestHandler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"

def get_json(url):
    status, _, body = request("GET", url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def wait_for(base, job_id, statuses, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = get_json(f"{base}jobs/{job_id}")
        if record["status"] in statuses:
            return record
        time.sleep(0.1)
    pytest.fail(f"job {job_id} never reached {statuses}: {record}")


def processor_entries(folder, gated_base):
    """elevation/2024.1 (a local raster) and stations/1 and slow/1 (GeoJSON behind the gate), with metadata."""
    raster = folder / "elevation.tif"
    rows, cols = numpy.mgrid[0:100, 0:100]
    with rasterio.open(raster, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint16",
                       crs="EPSG:4326", transform=from_origin(10, 46, 0.01, 0.01), nodata=0) as dst:
        dst.write((100 + rows * 3 + cols).astype("uint16")[numpy.newaxis])
    gated = folder / "served" / "gated"
    gated.mkdir(parents=True)
    for name in ("stations", "slow", "slower"):
        (gated / f"{name}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"station": f"S{i}"},
             "geometry": {"type": "Point", "coordinates": [10.15 + i * 0.02, 45.2]}} for i in range(10)]}))
    metadata = {"author": "Tessera tests", "summary": "Synthetic data", "origin_url": "https://example.org/data",
                "license": {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                            "path": "https://creativecommons.org/licenses/by/4.0/"},
                "citation": "Tessera test data (2026)"}
    return [
        {"name": "elevation", "version": "2024.1", "title": "Elevation", "long_title": "Synthetic elevation",
         "description": "Heights in metres", "type": "raster", "sources": [str(raster)], "formats": ["GeoTIFF"],
         **metadata},
        *({"name": name, "version": "1", "title": name.title(), "type": "vector", "format": "GeoJSON",
           "sources": [f"{gated_base}gated/{name}.geojson"], **metadata} for name in ("stations", "slow", "slower")),
    ]


@pytest.fixture
def package_server(tmp_path):
    """`tessera serve` with the packaging routes over a local storage published on a web root."""
    GatedHandler.gate.set()
    GatedHandler.waiting.clear()
    (tmp_path / "served").mkdir()
    sources, sources_base = serve_folder(tmp_path / "served", GatedHandler)
    entries = processor_entries(tmp_path, sources_base)
    (tmp_path / "processors.json").write_text(json.dumps(entries))
    boundaries = tmp_path / "districts.geojson"
    boundaries.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"NAME": "Lake District", "LONG": "The Lake District"}, "geometry": SQUARE},
        {"type": "Feature", "properties": {"NAME": "Far Away", "LONG": "Far Away Land"}, "geometry": FAR}]}))
    root = tmp_path / "packages"
    root.mkdir()
    web, web_base = serve_folder(root)
    signer = Signer("rsa")
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(signer)))
    catalog = tmp_path / "catalog.db"
    tessera.Catalog.open(f"sqlite://{catalog}")
    process = subprocess.Popen(
        [cli_path(), "serve", "--catalog", f"sqlite://{catalog}", "--no-tiles", "--port", "0",
         "--jwks", str(keys), "--issuer", ISSUER, "--allowed-prefix", sources_base,
         "--packages", str(root), "--boundaries", str(boundaries), "--boundary-name-field", "NAME",
         "--boundary-long-name-field", "LONG", "--processors", str(tmp_path / "processors.json"),
         "--packages-url", web_base, "--package-lock-timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = process.stdout.readline().strip()
    if not base.startswith("http://"):
        process.kill()
        pytest.fail(f"tessera serve did not start: {process.communicate(timeout=30)}")
    try:
        yield {"base": base, "root": root, "web": web_base, "token": signer.token(scope="packages:write"),
               "signer": signer}
    finally:
        GatedHandler.gate.set()
        process.terminate()
        process.wait(timeout=60)
        web.shutdown()
        sources.shutdown()


def test_boundaries_and_processors(package_server):
    base = package_server["base"]
    boundaries = get_json(base + "boundaries")
    assert [(b["id"], b["name"], b["long_name"]) for b in boundaries] == [
        ("far-away", "Far Away", "Far Away Land"), ("lake-district", "Lake District", "The Lake District")]
    assert boundaries[1]["bbox"] == pytest.approx([10.1, 45.1, 10.5, 45.5])
    assert [b["id"] for b in get_json(base + "boundaries?name=lake")] == ["lake-district"]
    assert [b["id"] for b in get_json(base + "boundaries?point=30.5,10.5")] == ["far-away"]
    assert get_json(base + "boundaries?point=0,0") == []
    status, _, body = request("GET", base + "boundaries?point=200,0")
    assert status == 400 and "point" in json.loads(body)["description"]
    feature = get_json(base + "boundaries/Lake%20District")
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    assert request("GET", base + "boundaries/nowhere")[0] == 404

    processors = get_json(base + "processors")
    assert [p["name"] for p in processors] == ["elevation/2024.1", "slow/1", "slower/1", "stations/1"]
    elevation = get_json(base + "processors/elevation/2024.1")
    assert elevation == {
        "name": "elevation/2024.1", "dataset": "elevation", "version": "2024.1", "description": "Heights in metres",
        "author": "Tessera tests", "title": "Elevation", "long_title": "Synthetic elevation",
        "summary": "Synthetic data", "citation": "Tessera test data (2026)",
        "license": {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                    "path": "https://creativecommons.org/licenses/by/4.0/"},
        "origin_url": "https://example.org/data", "formats": ["GeoTIFF"]}
    assert request("GET", base + "processors/elevation/1999")[0] == 404
    assert get_json(base + "packages") == []
    assert request("GET", base + "packages/lake-district")[0] == 404


def test_a_job_over_http_builds_a_valid_package_with_public_urls(package_server):
    base, token = package_server["base"], package_server["token"]
    job = {"boundary": "Lake District", "processors": ["elevation/2024.1", "stations/1"]}
    status, headers, body = request("POST", base + "jobs", job)
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
    assert request("POST", base + "jobs", job, package_server["signer"].token(scope="stac:write"))[0] == 403
    assert request("POST", base + "jobs", {"boundary": "Lake District", "processors": []}, token)[0] == 400
    assert request("POST", base + "jobs", {"boundary": "Lake District", "processors": ["x/1"]}, token)[0] == 404
    assert request("POST", base + "jobs", {"boundary": "Nowhere", "processors": ["stations/1"]}, token)[0] == 404
    status, _, body = request("POST", base + "jobs", dict(job, extra=1), token)
    assert status == 400 and "extra: unknown member" in json.loads(body)["description"]

    status, headers, body = request("POST", base + "jobs", job, token)
    assert status == 202, body
    submitted = json.loads(body)
    assert submitted["status"] == "pending" and headers["Location"] == submitted["location"]
    assert submitted["location"] == f"{base}jobs/{submitted['id']}"
    done = wait_for(base, submitted["id"], {"completed", "failed", "cancelled"})
    assert done["status"] == "completed", done
    assert [d["status"] for d in done["datasets"]] == ["completed", "completed"]
    assert all(d["percent"] == 100.0 for d in done["datasets"])
    assert {p["dataset"] for p in done["provenance"]} == {"elevation", "stations"}
    assert [j["id"] for j in get_json(base + "jobs?status=completed&boundary=lake-district")] == [submitted["id"]]
    assert get_json(base + "jobs?status=running") == []
    assert request("GET", base + "jobs?status=finished")[0] == 400
    assert request("GET", base + "jobs?limit=0")[0] == 400

    root = package_server["root"]
    result = subprocess.run([sys.executable, "-m", "frictionless", "validate", "--json",
                             str(root / "lake-district" / "datapackage.json")], capture_output=True, text=True)
    assert json.loads(result.stdout)["valid"], result.stdout + result.stderr

    assert get_json(base + "packages") == [{"boundary": "lake-district", "name": "Lake District",
                                            "long_name": "The Lake District",
                                            "datapackage_url": package_server["web"] + "lake-district/datapackage.json"}]
    package = get_json(base + "packages/Lake%20District")
    assert package["datapackage"]["name"] == "lake-district"
    assert {r["dataset"] for r in package["resources"]} == {"elevation", "stations"}
    for resource in package["resources"]:
        with urllib.request.urlopen(resource["url"], timeout=30) as response:
            assert "sha256:" + hashlib.sha256(response.read()).hexdigest() == resource["hash"]
    for page in ("index.html", "license.html", "thumbnail.png"):
        assert (root / "lake-district" / page).is_file()


def test_duplicates_join_the_running_job_and_cancel_stops_it(package_server):
    base, token, root = package_server["base"], package_server["token"], package_server["root"]
    GatedHandler.gate.clear()
    job = {"boundary": "lake-district", "processors": ["slow/1"]}
    first = json.loads(request("POST", base + "jobs", job, token)[2])
    assert GatedHandler.waiting.wait(timeout=60)
    record = get_json(f"{base}jobs/{first['id']}")
    assert record["status"] == "running" and record["datasets"][0]["step"] == "processing"
    # The same boundary (by name) and processors join it.
    status, _, body = request("POST", base + "jobs", {"boundary": "Lake District", "processors": ["slow/1"]}, token)
    assert status == 202 and json.loads(body)["id"] == first["id"]

    assert request("DELETE", f"{base}jobs/{first['id']}")[0] == 401
    status, _, body = request("DELETE", f"{base}jobs/{first['id']}", token=token)
    assert status == 202 and json.loads(body)["cancel_requested"] is True
    GatedHandler.gate.set()  # the read finishes; the job stops before uploading
    stopped = wait_for(base, first["id"], {"completed", "failed", "cancelled"})
    assert stopped["status"] == "cancelled" and stopped["datasets"][0]["status"] == "cancelled"
    assert not (root / "lake-district").exists()  # nothing published, no partial file
    assert not list((root / ".tessera" / "locks").rglob("*.json"))  # its locks released
    assert request("DELETE", f"{base}jobs/{first['id']}", token=token)[0] == 200  # already finished
    assert request("DELETE", f"{base}jobs/nope", token=token)[0] == 404

    # The next submission is a new job, which runs at once and completes.
    again = json.loads(request("POST", base + "jobs", job, token)[2])
    assert again["id"] != first["id"]
    assert wait_for(base, again["id"], {"completed", "failed", "cancelled"})["status"] == "completed"
    assert (root / "lake-district" / "datasets" / "slow" / "1" / "slow.geojson").is_file()
    assert [j["status"] for j in get_json(base + "jobs?boundary=Lake%20District")] == ["completed", "cancelled"]


def test_openapi_document_has_the_package_routes_and_is_valid(package_server):
    from openapi_spec_validator import validate

    document = get_json(package_server["base"] + "api")
    validate(document)
    for path in ("/boundaries", "/boundaries/{name}", "/processors", "/processors/{dataset}/{version}", "/packages",
                 "/packages/{boundary}", "/jobs", "/jobs/{jobId}"):
        assert path in document["paths"], path
    assert document["paths"]["/jobs"]["post"]["security"] == [{"bearerAuth": ["packages:write"]}]
    assert document["paths"]["/jobs/{jobId}"]["delete"]["security"] == [{"bearerAuth": ["packages:write"]}]


def test_boundary_upload_needs_the_write_scope(package_server):
    base, token = package_server["base"], package_server["token"]
    upload = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "New Ground"}, "geometry": FAR}]}
    assert request("POST", base + "boundaries", upload)[0] == 401
    status, _, body = request("POST", base + "boundaries", upload, token)
    assert status == 201, body
    assert json.loads(body) == [{"id": "new-ground", "name": "New Ground", "long_name": "New Ground"}]
    assert get_json(base + "boundaries/new-ground")["properties"]["name"] == "New Ground"
    status, _, body = request("POST", base + "boundaries", {"type": "Point", "coordinates": [0, 0]}, token)
    assert status == 400 and "FeatureCollection" in json.loads(body)["description"]


def test_registry_and_jobs_from_python(tmp_path):
    storage = tessera.Storage.open(str(tmp_path / "packages"))
    packager = tessera.Packager(storage)
    packager.add_boundaries_geojson({"type": "Feature", "properties": {"name": "Lake District"}, "geometry": SQUARE})

    class Notes(tessera.Processor):
        def process(self, context):
            (tmp_path / "entered").touch()
            with open(context["output_dir"] + "/notes.txt", "w") as out:
                out.write(context["boundary"]["properties"]["name"])
            return [{"file": "notes.txt", "format": "txt", "media_type": "text/plain"}]

    packager.register_processor("notes", Notes())
    name = packager.add_processor({"name": "notes", "version": "1", "sources": ["-"], "type": "vector",
                                   "processor": "notes", "author": "me", "formats": ["txt"]})
    assert name == "notes/1"
    assert packager.processor("notes", "1")["author"] == "me"
    assert [p["name"] for p in packager.processors()] == ["notes/1"]
    with pytest.raises(tessera.InvalidInput, match="processors\\[0\\].author: expected a string"):
        packager.add_processors([{"name": "x", "version": "1", "sources": ["-"], "type": "vector", "author": 5}])

    jobs = tessera.PackageJobs(packager, workers=1, lock_timeout=30)
    submitted = jobs.submit("Lake District", ["notes/1"])
    deadline = time.time() + 60
    while jobs.status(submitted["id"])["status"] not in ("completed", "failed") and time.time() < deadline:
        time.sleep(0.05)
    assert jobs.status(submitted["id"])["status"] == "completed"
    assert (tmp_path / "packages" / "lake-district" / "datasets" / "notes" / "1" / "notes.txt").read_text() == \
        "Lake District"
    assert [j["id"] for j in jobs.list(status="completed")] == [submitted["id"]]
    assert jobs.cancel(submitted["id"])["status"] == "completed"
    with pytest.raises(tessera.NotFound):
        jobs.status("missing")
    del jobs


def test_service_in_python_on_s3_lists_the_bucket_urls(s3_env, tmp_path):
    prefix = f"packaging-service-{time.time_ns()}"
    storage_uri = f"s3://{s3_env['bucket']}/{prefix}"
    storage = tessera.Storage.open(storage_uri, s3_env["options"])
    packager = tessera.Packager(storage)
    packager.add_boundaries_geojson({"type": "Feature", "properties": {"name": "Lake District"}, "geometry": SQUARE})
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [10.2, 45.2]}}]}))
    packager.build("Lake District", [{"name": "points", "version": "1", "sources": [str(points)], "type": "vector",
                                      "format": "GeoJSON"}])
    service = tessera.Service(None, tiles=False, packages={"storage": storage_uri,
                                                           "storage_options": s3_env["options"], "workers": 1})
    status, _, body = service.handle("GET", "/packages/lake-district")
    assert status == 200, body
    package = json.loads(body)
    endpoint = s3_env["options"]["endpoint"].rstrip("/")
    base = f"{endpoint}/{s3_env['bucket']}/{prefix}/lake-district/"
    assert package["datapackage_url"] == base + "datapackage.json"
    assert [r["url"] for r in package["resources"]] == [base + "datasets/points/1/points.geojson"]
    status, _, body = service.handle("POST", "/jobs", body=json.dumps(
        {"boundary": "Lake District", "processors": ["points/1"]}).encode())
    assert status == 401  # no key set: writes are refused
    with pytest.raises(tessera.InvalidInput, match="packages.workers"):
        tessera.Service(None, packages={"storage": storage_uri, "workers": 0})
    with pytest.raises(tessera.InvalidInput, match="packages.storage: required"):
        tessera.Service(None, packages={"boundaries": "x.geojson"})
