"""Geoprocessing services through `tessera serve --services`: SeaSketch's project document,
tasks of sync and async services (polled and followed by server-sent events), sketches
inline and by geobuf URI (files written by the geobuf package), cacheKey caching, restricted
access with JWTs, rate limits, paged logs, and the built-ins (zonal statistics against
exactextract, overlap, preprocessing)."""

import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import exactextract
import numpy
import pytest
from pyproj import Geod, Transformer
from rasterio.transform import from_origin

from geobuf_fixtures import write_geobuf
from jwt_fixtures import ISSUER, Signer, jwks
from raster_fixtures import write_cog
from test_serve import cli_path

ECHO = """
import json, sys, time
sketch = json.load(sys.stdin)
print("read the sketch", file=sys.stderr)
print("second line", file=sys.stderr)
print("third line", file=sys.stderr)
time.sleep(float(sys.argv[1]))
json.dump({"received": sketch}, sys.stdout)
"""

# A square of about 1.1 km near 15°E 45°N (UTM zone 33N) and the raster under it.
WEST, SOUTH, SIZE = 15.0, 45.0, 0.01
ORIGIN_X, ORIGIN_Y, PIXEL = 499000.0, 4986000.0, 10.0


def square(west=WEST, south=SOUTH, size=SIZE):
    return {"type": "Polygon", "coordinates": [[[west, south], [west + size, south], [west + size, south + size],
                                                [west, south + size], [west, south]]]}


def rectangle(west, south, east, north):
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                [west, south]]]}


def feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def post(base, endpoint, body):
    status, headers, data = call("POST", f"{base}geoprocessing/{endpoint}", body)
    return status, headers, json.loads(data)


@pytest.fixture(scope="module")
def signer():
    return Signer("rsa")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The rasters and layers the built-ins read."""
    folder = tmp_path_factory.mktemp("geodata")
    rows, columns = numpy.mgrid[0:400, 0:400]
    random = numpy.random.default_rng(3)
    values = (50 + 0.5 * rows + columns + random.normal(0, 4, rows.shape)).astype("float32")
    values[100:120, 100:130] = -9999
    classes = ((rows // 40 + columns // 55) % 4 + 1).astype("uint8")
    transform = from_origin(ORIGIN_X, ORIGIN_Y, PIXEL, PIXEL)
    paths = {
        "values": write_cog(folder / "values.tif", values[numpy.newaxis], "EPSG:32633", transform, nodata=-9999),
        "classes": write_cog(folder / "classes.tif", classes[numpy.newaxis], "EPSG:32633", transform, nodata=0),
    }
    habitats = {"type": "FeatureCollection", "features": [
        feature(square(WEST - 0.005, SOUTH - 0.005, 0.01), kind="reef"),
        feature(square(WEST + 0.006, SOUTH + 0.006, 0.01), kind="kelp"),
    ]}
    land = {"type": "FeatureCollection", "features": [feature(rectangle(WEST + 0.5, SOUTH - 0.5, WEST + 0.7, SOUTH + 1))]}
    forbidden = {"type": "FeatureCollection", "features": [feature(square(WEST + 1.0, SOUTH, 0.1))]}
    study = {"type": "FeatureCollection", "features": [feature(square(WEST - 1, SOUTH - 1, 3))]}
    for name, value in {"habitats": habitats, "land": land, "forbidden": forbidden, "study": study}.items():
        (folder / f"{name}.geojson").write_text(json.dumps(value))
        paths[name] = str(folder / f"{name}.geojson")
    paths["folder"] = str(folder)
    return paths


@pytest.fixture(scope="module")
def http_root(tmp_path_factory):
    """A loopback HTTP server of geobuf files: (folder, base URL)."""
    import functools
    import http.server
    import threading
    folder = tmp_path_factory.mktemp("geobufs")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def served(tmp_path_factory, data, signer, http_root):
    folder = tmp_path_factory.mktemp("geoserve")
    echo = folder / "echo.py"
    echo.write_text(ECHO)
    keys = folder / "jwks.json"
    keys.write_text(json.dumps(jwks(signer)))
    services = [
        {"title": "Echo", "endpoint": "echo", "command": [sys.executable, str(echo), "0"],
         "usesAttributes": ["name"], "timeout": 30},
        {"title": "Slow echo", "endpoint": "slow", "executionMode": "async", "command": [sys.executable, str(echo), "1"],
         "timeout": 30},
        {"title": "Too slow", "endpoint": "too-slow", "command": [sys.executable, str(echo), "30"], "timeout": 1},
        {"title": "Restricted", "endpoint": "restricted", "command": [sys.executable, str(echo), "0"],
         "restrictedAccess": True, "issAllowList": [ISSUER]},
        {"title": "Limited", "endpoint": "limited", "command": [sys.executable, str(echo), "0"],
         "rateLimit": 2, "rateLimitPeriod": "daily"},
        {"title": "Zonal statistics", "endpoint": "zonal", "builtin": "zonal_statistics",
         "rasters": [data["values"]]},
        {"title": "Classes", "endpoint": "classes", "builtin": "zonal_statistics", "rasters": [data["classes"]],
         "categorical": True},
        {"title": "Habitat overlap", "endpoint": "overlap", "builtin": "overlap", "layers": [data["habitats"]],
         "attribute": "kind"},
        {"title": "Clip to ocean", "endpoint": "clip", "builtin": "preprocess", "studyArea": data["study"],
         "forbidden": data["forbidden"], "shoreline": data["land"], "usesAttributes": ["name"]},
    ]
    definitions = folder / "services.json"
    definitions.write_text(json.dumps(services))
    process = subprocess.Popen(
        [cli_path(), "serve", "--port", "0", "--no-tiles", "--services", str(definitions),
         "--geoprocessing-tasks", str(folder / "tasks.sqlite"), "--geoprocessing-storage", str(folder / "storage"),
         "--jwks", str(keys), "--allowed-root", data["folder"], "--geometry-uri-prefix", http_root[1],
         "--allow-loopback-geometry-uri"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = process.stdout.readline().strip()
    if not base.startswith("http://"):
        process.kill()
        pytest.fail(f"tessera serve did not start: {process.communicate(timeout=30)}")
    yield base, folder
    process.terminate()
    process.wait(timeout=30)


def test_project_document(served):
    base, _ = served
    status, _, body = call("GET", f"{base}geoprocessing/")
    assert status == 200
    project = json.loads(body)
    assert project["apiVersion"] and project["serviceUri"] == f"{base}geoprocessing/"
    by_endpoint = {service["endpoint"]: service for service in project["services"]}
    assert by_endpoint["slow"]["executionMode"] == "async" and by_endpoint["echo"]["executionMode"] == "sync"
    assert by_endpoint["echo"]["usesAttributes"] == ["name"] and by_endpoint["too-slow"]["timeout"] == 1
    assert by_endpoint["restricted"]["restrictedAccess"] is True
    assert by_endpoint["restricted"]["issAllowList"] == [ISSUER]
    assert by_endpoint["limited"]["rateLimited"] is True and by_endpoint["limited"]["rateLimit"] == 2
    assert [s["endpoint"] for s in project["preprocessingServices"]] == ["clip"]
    assert "clip" not in [s["endpoint"] for s in project["geoprocessingServices"]]
    for key in ("medianDuration", "medianCost", "rateLimitConsumed"):
        assert key in by_endpoint["echo"]
    # Medians come from past runs.
    post(base, "echo", {"geometry": feature(square())})
    project = json.loads(call("GET", f"{base}geoprocessing/")[2])
    echo = next(s for s in project["services"] if s["endpoint"] == "echo")
    assert echo["medianDuration"] > 0 and echo["medianCost"] > 0


def test_sync_service_with_an_inline_sketch(served):
    base, _ = served
    sketch = feature(square(), name="my zone", secret="not for the service")
    status, _, task = post(base, "echo", {"geometry": sketch})
    assert status == 200 and task["status"] == "completed", task
    assert task["data"]["received"]["geometry"] == sketch["geometry"]
    # Only the usesAttributes properties reach the service.
    assert task["data"]["received"]["properties"] == {"name": "my zone"}
    assert task["duration"] > 0 and task["startedAt"].endswith("Z") and task["geometryUri"] == ""
    assert task["location"].startswith(f"{base}geoprocessing/tasks/")
    status, _, body = call("GET", task["location"])
    assert status == 200 and json.loads(body)["data"] == task["data"]


def test_a_sketch_collection(served):
    base, _ = served
    collection = {"type": "FeatureCollection", "properties": {"name": "network"}, "features": [
        feature(square(), folderId="f1"), feature(square(WEST + 0.02))]}
    status, _, task = post(base, "echo", {"geometry": collection})
    assert status == 200 and task["status"] == "completed"
    received = task["data"]["received"]
    assert received["properties"] == {"name": "network"}
    assert received["features"][0]["properties"] == {"folderId": "f1"}


def test_async_service_is_polled_and_followed(served):
    base, _ = served
    status, _, task = post(base, "slow", {"geometry": feature(square())})
    assert status == 200 and task["status"] == "pending" and task["data"] is None
    # Server-sent events: one event when the task has finished, then the stream ends.
    status, headers, events = call("GET", task["location"] + "/events")
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    lines = events.decode().splitlines()
    assert "event: done" in lines
    finished = json.loads(next(line for line in lines if line.startswith("data: "))[len("data: "):])
    assert finished["status"] == "completed" and finished["data"]["received"]["type"] == "Feature"
    # Already finished: the stream answers at once (no wait, no race).
    started = time.monotonic()
    status, _, events = call("GET", task["location"] + "/events")
    assert status == 200 and "event: done" in events.decode() and time.monotonic() - started < 5
    polled = json.loads(call("GET", task["location"])[2])
    assert polled["status"] == "completed" and polled["duration"] >= 1000


def test_timeouts_fail_the_task(served):
    base, _ = served
    status, _, task = post(base, "too-slow", {"geometry": feature(square())})
    assert status == 200 and task["status"] == "failed" and "1 s" in task["error"]


def test_logs_page(served):
    base, _ = served
    _, _, task = post(base, "echo", {"geometry": feature(square())})
    logs_url = task["logUriTemplate"].replace("{?limit,nextToken}", "")
    assert logs_url == task["location"] + "/logs"
    everything = json.loads(call("GET", logs_url)[2])
    messages = [event["message"] for event in everything["events"]]
    assert messages == ["read the sketch", "second line", "third line"] and everything["nextToken"] is None
    first = json.loads(call("GET", logs_url + "?limit=2")[2])
    assert [event["message"] for event in first["events"]] == messages[:2] and first["nextToken"]
    second = json.loads(call("GET", f"{logs_url}?limit=2&nextToken={first['nextToken']}")[2])
    assert [event["message"] for event in second["events"]] == messages[2:] and second["nextToken"] is None
    assert call("GET", logs_url + "?limit=0")[0] == 400
    assert call("GET", logs_url + "?nextToken=abc")[0] == 400


def test_cache_key(served):
    base, _ = served
    sketch = feature(square(), name="a")
    status, headers, first = post(base, "echo", {"geometry": sketch, "cacheKey": "v1"})
    assert status == 200 and "X-Tessera-Cache" not in headers
    status, headers, second = post(base, "echo", {"geometry": sketch, "cacheKey": "v1"})
    assert headers.get("X-Tessera-Cache") == "hit" and second["data"] == first["data"]
    assert second["id"] != first["id"] and second["status"] == "completed"
    # Another geometry, another usesAttributes value or another key: not the cached answer.
    for body in ({"geometry": feature(square(WEST + 0.001), name="a"), "cacheKey": "v1"},
                 {"geometry": feature(square(), name="b"), "cacheKey": "v1"},
                 {"geometry": sketch, "cacheKey": "v2"}):
        assert "X-Tessera-Cache" not in post(base, "echo", body)[1]
    # A property the service does not use is not part of the key.
    other = feature(square(), name="a", unused=1)
    assert post(base, "echo", {"geometry": other, "cacheKey": "v1"})[1].get("X-Tessera-Cache") == "hit"
    # Without a cacheKey nothing is cached.
    assert "X-Tessera-Cache" not in post(base, "echo", {"geometry": sketch})[1]
    assert "X-Tessera-Cache" not in post(base, "echo", {"geometry": sketch})[1]


def test_restricted_access(served, signer):
    base, _ = served
    body = {"geometry": feature(square())}
    status, _, task = post(base, "restricted", {**body, "token": signer.token()})
    assert status == 200 and task["status"] == "completed"
    allowed = signer.token(allowedEndpoints=["restricted"])
    assert post(base, "restricted", {**body, "token": allowed})[0] == 200
    cases = {
        "no token": None,
        "expired": signer.token(expires_in=-3600),
        "wrong issuer": signer.token(iss="https://elsewhere.test"),
        "wrong endpoint": signer.token(allowedEndpoints=["echo"]),
        "foreign key": Signer("rsa", kid=signer.kid).token(),
        "garbage": "not.a.token",
    }
    for case, token in cases.items():
        status, _, answer = post(base, "restricted", {**body, **({"token": token} if token else {})})
        assert status == 403, case
        assert answer["code"] == "Forbidden" and answer["description"], case
    assert "expired" in post(base, "restricted", {**body, "token": cases["expired"]})[2]["description"]
    assert "issAllowList" in post(base, "restricted", {**body, "token": cases["wrong issuer"]})[2]["description"]


def test_rate_limit(served):
    base, _ = served
    body = {"geometry": feature(square())}
    assert post(base, "limited", body)[0] == 200
    assert post(base, "limited", body)[0] == 200
    status, _, answer = post(base, "limited", body)
    assert status == 429 and answer["rateLimitConsumed"] == 2 and answer["rateLimit"] == 2
    project = json.loads(call("GET", f"{base}geoprocessing/")[2])
    assert next(s for s in project["services"] if s["endpoint"] == "limited")["rateLimitConsumed"] == 2


def test_bad_requests(served):
    base, _ = served
    assert post(base, "nowhere", {"geometry": feature(square())})[0] == 404
    assert post(base, "echo", {})[0] == 400
    assert post(base, "echo", {"geometry": {"type": "Point"}})[0] == 400
    assert post(base, "echo", {"geometry": feature(square()), "geometryUri": "https://x.test/a"})[0] == 400
    status, _, answer = post(base, "echo", {"geometryUri": "https://elsewhere.test/sketch.pbf"})
    assert status == 400 and "allowed prefix" in answer["description"]
    assert call("GET", f"{base}geoprocessing/tasks/{'0' * 32}")[0] == 404
    assert call("GET", f"{base}geoprocessing/tasks/../../etc")[0] == 404


@pytest.mark.parametrize("geojson", [
    feature(square(), name="by uri"),
    {"type": "FeatureCollection", "features": [feature(square(), name="one"), feature(
        {"type": "MultiPolygon", "coordinates": [square(WEST + 0.02)["coordinates"],
                                                 square(WEST + 0.04)["coordinates"]]}, name="two")]},
    feature({"type": "LineString", "coordinates": [[15.0, 45.0], [15.001, 45.002], [15.003, 45.001]]}),
])
def test_geometry_uri_with_geobuf(served, http_root, geojson):
    base, _ = served
    folder, url = http_root
    name = f"sketch-{abs(hash(json.dumps(geojson)))}.pbf"
    write_geobuf(folder / name, geojson)
    status, _, task = post(base, "echo", {"geometryUri": url + name})
    assert status == 200 and task["status"] == "completed", task
    assert task["geometryUri"] == url + name
    received = task["data"]["received"]
    features = received["features"] if received["type"] == "FeatureCollection" else [received]
    expected = geojson["features"] if geojson["type"] == "FeatureCollection" else [geojson]
    for got, want in zip(features, expected, strict=True):
        assert got["geometry"]["type"] == want["geometry"]["type"]
        assert flat(got["geometry"]["coordinates"]) == pytest.approx(flat(want["geometry"]["coordinates"]), abs=1e-6)
        assert got["properties"] == {key: value for key, value in want["properties"].items() if key == "name"}
    assert post(base, "echo", {"geometryUri": url + "missing.pbf"})[0] == 400
    (folder / "garbage.pbf").write_bytes(b"\xff\xff\xff\xff")
    assert post(base, "echo", {"geometryUri": url + "garbage.pbf"})[0] == 400


def flat(coordinates):
    if isinstance(coordinates, (int, float)):
        return [coordinates]
    return [value for part in coordinates for value in flat(part)]


def utm_polygon(geometry):
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32633", always_xy=True)
    return {"type": "Polygon", "coordinates": [[list(to_utm.transform(x, y)) for x, y in ring]
                                               for ring in geometry["coordinates"]]}


ZONES = {
    "square": square(15.0, 45.0, 0.01),
    "triangle": {"type": "Polygon", "coordinates": [[[14.995, 44.995], [15.02, 45.003], [15.004, 45.015],
                                                     [14.995, 44.995]]]},
}


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_zonal_statistics_match_exactextract(served, data, zone):
    base, _ = served
    status, _, task = post(base, "zonal", {"geometry": feature(ZONES[zone])})
    assert status == 200 and task["status"] == "completed", task
    ours = task["data"]["rasters"][0]["bands"][0]
    theirs = exactextract.exact_extract(data["values"], [feature(utm_polygon(ZONES[zone]))],
                                        ["count", "sum", "mean", "min", "max"], output="geojson")[0]["properties"]
    for key in ("count", "sum", "mean"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key
    assert ours["min"] == theirs["min"] and ours["max"] == theirs["max"]
    assert ours["area"] == pytest.approx(ours["count"] * PIXEL * PIXEL)
    assert 0 < ours["coverage_fraction"] <= 1


def test_categorical_zonal_statistics_match_exactextract(served, data):
    base, _ = served
    status, _, task = post(base, "classes", {"geometry": feature(ZONES["triangle"])})
    assert status == 200 and task["status"] == "completed", task
    classes = task["data"]["rasters"][0]["bands"][0]["classes"]
    theirs = exactextract.exact_extract(data["classes"], [feature(utm_polygon(ZONES["triangle"]))],
                                        ["unique", "frac"], output="geojson")[0]["properties"]
    expected = dict(zip((str(int(v)) for v in theirs["unique"]), theirs["frac"]))
    assert sorted(classes) == sorted(expected)
    for value, fraction in expected.items():
        assert classes[value]["frac"] == pytest.approx(fraction, rel=1e-6)


def test_overlap_is_geodesic_by_attribute(served):
    base, _ = served
    status, _, task = post(base, "overlap", {"geometry": feature(square())})
    assert status == 200 and task["status"] == "completed", task
    layer = task["data"]["layers"][0]
    geod = Geod(ellps="WGS84")

    def area(west, south, east, north):
        return abs(geod.polygon_area_perimeter([west, east, east, west], [south, south, north, north])[0])

    reef = area(WEST, SOUTH, WEST + 0.005, SOUTH + 0.005)
    kelp = area(WEST + 0.006, SOUTH + 0.006, WEST + 0.01, SOUTH + 0.01)
    assert layer["byAttribute"]["reef"] == pytest.approx(reef, rel=1e-6)
    assert layer["byAttribute"]["kelp"] == pytest.approx(kelp, rel=1e-6)
    assert layer["area"] == pytest.approx(reef + kelp, rel=1e-6)
    assert layer["sketchArea"] == pytest.approx(area(WEST, SOUTH, WEST + SIZE, SOUTH + SIZE), rel=1e-6)


def test_preprocessing(served):
    base, _ = served
    # A polygon half on land is clipped to the shoreline; usesAttributes are kept.
    half = feature(square(WEST + 0.4, SOUTH + 0.05, 0.2), name="zone", other=1)
    status, _, task = post(base, "clip", {"geometry": half})
    assert status == 200 and task["status"] == "completed", task
    clipped = task["data"]
    assert clipped["properties"] == {"name": "zone"}
    assert max(x for x, _ in clipped["geometry"]["coordinates"][0]) == pytest.approx(WEST + 0.5)
    # Points and lines are accepted.
    point = feature({"type": "Point", "coordinates": [WEST + 0.1, SOUTH + 0.1]})
    assert post(base, "clip", {"geometry": point})[2]["status"] == "completed"
    line = feature({"type": "LineString", "coordinates": [[WEST + 0.4, SOUTH + 0.1], [WEST + 0.6, SOUTH + 0.1]]})
    task = post(base, "clip", {"geometry": line})[2]
    assert task["status"] == "completed"
    assert max(x for x, _ in task["data"]["geometry"]["coordinates"]) == pytest.approx(WEST + 0.5)
    # Rejections say why.
    reasons = {
        "inside a forbidden area": feature(square(WEST + 1.02, SOUTH + 0.02, 0.01)),
        "outside of the study area": feature(square(WEST + 5, SOUTH, 0.01)),
        "on land": feature({"type": "Point", "coordinates": [WEST + 0.6, SOUTH + 0.1]}),
        "not a valid polygon": feature({"type": "Polygon", "coordinates": [[[15, 45], [15.1, 45.1], [15.1, 45],
                                                                             [15, 45.1], [15, 45]]]}),
    }
    for reason, sketch in reasons.items():
        task = post(base, "clip", {"geometry": sketch})[2]
        assert task["status"] == "failed" and reason in task["error"], (reason, task)


def test_prune_keeps_recent_tasks(served):
    base, folder = served
    run = subprocess.run([cli_path(), "geoprocessing", "prune", "--tasks", str(folder / "tasks.sqlite")],
                         capture_output=True, text=True, check=True)
    assert json.loads(run.stdout) == {"removed": 0}
    # The one maintenance command prunes the task file too (with or without a catalog).
    run = subprocess.run([cli_path(), "maintenance", "--geoprocessing-tasks", str(folder / "tasks.sqlite")],
                         capture_output=True, text=True, check=True)
    assert json.loads(run.stdout) == {"geoprocessing_tasks": 0}
    refused = subprocess.run([cli_path(), "maintenance"], capture_output=True, text=True)
    assert refused.returncode != 0 and "--geoprocessing-tasks" in refused.stderr
    assert math.isfinite(json.loads(call("GET", f"{base}geoprocessing/")[2])["services"][0]["medianDuration"])


@pytest.mark.parametrize("prefix, flags", [
    ("http://127.0.0.1:1/", []),
    ("http://example.test/", ["--allow-loopback-geometry-uri"]),
    ("https://example.test", []),
])
def test_serve_refuses_geometry_uri_prefixes_it_cannot_trust(tmp_path, prefix, flags):
    services = tmp_path / "services.json"
    services.write_text(json.dumps([{"endpoint": "echo", "command": ["cat"]}]))
    run = subprocess.run([cli_path(), "serve", "--port", "0", "--no-tiles", "--services", str(services),
                          "--geoprocessing-tasks", str(tmp_path / "tasks.sqlite"), "--geometry-uri-prefix", prefix,
                          *flags], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "geometryUri prefix" in run.stderr, run.stderr


def test_the_example_project(tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "geoprocessing"
    process = subprocess.Popen(
        [cli_path(), "serve", "--port", "0", "--no-tiles", "--services", "services.json", "--geoprocessing-tasks",
         str(tmp_path / "tasks.sqlite"), "--geoprocessing-storage", str(tmp_path / "cache")],
        cwd=example, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http://"), process.stderr.read() if process.poll() is not None else base
        sketch = {"type": "FeatureCollection", "properties": {}, "features": [
            feature({"type": "Point", "coordinates": [15, 45]}), feature(square())]}
        status, _, task = post(base, "summary", {"geometry": sketch})
        assert status == 200 and task["data"] == {"features": 2, "vertices": 6, "types": ["Point", "Polygon"]}
        status, _, task = post(base, "summary-async", {"geometry": sketch, "cacheKey": "v1"})
        assert status == 200 and task["status"] == "pending"
        events = call("GET", task["location"] + "/events")[2].decode()
        assert "event: done" in events
        logs = json.loads(call("GET", task["location"] + "/logs")[2])
        assert logs["events"][0]["message"] == "summarising 2 feature(s)"
        status, _, task = post(base, "clip", {"geometry": feature(square(), name="kept", other=1)})
        assert task["status"] == "completed" and task["data"]["properties"] == {"name": "kept"}
    finally:
        process.terminate()
        process.wait(timeout=30)
