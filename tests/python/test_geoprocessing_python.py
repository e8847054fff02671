"""Geoprocessing services from Python: a GeoprocessingRegistry of Python callables (the GIL
taken only while they run), commands and built-ins, run directly and served by
tessera.Service(geoprocessing=...), and the geometryUri prefix rules of the options."""

import json
import threading
import time

import numpy
import pytest
from rasterio.transform import from_origin

import tessera
from raster_fixtures import write_cog

SKETCH = {"type": "Feature", "properties": {"name": "zone", "other": 1},
          "geometry": {"type": "Polygon", "coordinates": [[[15, 45], [15.01, 45], [15.01, 45.01], [15, 45]]]}}


def request(service, method, path, body=None):
    status, headers, answer = service.handle(method, path, headers=[("Host", "geo.test")],
                                             body=json.dumps(body).encode() if body is not None else b"")
    return status, dict(headers), json.loads(answer) if answer else None


def vertex_count(sketch, context):
    context.log(f"counting {sketch['properties']}")
    return {"vertices": len(sketch["geometry"]["coordinates"][0])}


def test_run_a_python_service_with_its_log():
    registry = tessera.GeoprocessingRegistry()
    registry.add_function({"endpoint": "vertices", "title": "Vertices", "usesAttributes": ["name"]}, vertex_count)
    assert "vertices" in registry and "other" not in registry
    assert registry.services()[0]["title"] == "Vertices"
    result = registry.run("vertices", SKETCH)
    assert result == {"data": {"vertices": 4}, "log": ["counting {'name': 'zone', 'other': 1}"]}
    with pytest.raises(tessera.NotFound, match="nowhere"):
        registry.run("nowhere", SKETCH)


def test_python_failures_keep_their_kind():
    registry = tessera.GeoprocessingRegistry()

    def refuses(sketch, context):
        raise tessera.InvalidInput("not over water")

    def breaks(sketch, context):
        raise ValueError("a bug")

    registry.add_function({"endpoint": "refuses"}, refuses)
    registry.add_function({"endpoint": "breaks"}, breaks)
    registry.add_function({"endpoint": "unserializable"}, lambda sketch, context: {"x": object()})
    with pytest.raises(tessera.InvalidInput, match="not over water"):
        registry.run("refuses", SKETCH)
    with pytest.raises(tessera.InternalError, match="a bug"):
        registry.run("breaks", SKETCH)
    with pytest.raises(tessera.InvalidInput, match="object"):
        registry.run("unserializable", SKETCH)


def test_a_context_kept_past_its_run_refuses_to_work():
    kept = []
    registry = tessera.GeoprocessingRegistry()
    registry.add_function({"endpoint": "keeps"}, lambda sketch, context: kept.append(context) or {})
    registry.run("keeps", SKETCH)
    with pytest.raises(tessera.InvalidInput, match="ended"):
        kept[0].log("too late")
    with pytest.raises(tessera.InvalidInput, match="ended"):
        kept[0].cancelled


def test_metadata_is_checked():
    registry = tessera.GeoprocessingRegistry()
    with pytest.raises(tessera.InvalidInput, match="endpoint"):
        registry.add_function({"endpoint": "a b"}, vertex_count)
    with pytest.raises(tessera.InvalidInput, match="timeout"):
        registry.add_function({"endpoint": "a", "timeout": 0}, vertex_count)
    with pytest.raises(tessera.InvalidInput, match="issAllowList"):
        registry.add_command({"endpoint": "a", "restrictedAccess": True}, ["cat"])
    with pytest.raises(tessera.InvalidInput, match="unknown builtin"):
        registry.add_builtin({"endpoint": "a"}, "buffer", {})
    registry.add_command({"endpoint": "echo"}, ["cat"])
    with pytest.raises(tessera.InvalidInput, match="twice"):
        registry.add_definitions([{"endpoint": "echo", "command": ["cat"]}])


def test_the_gil_is_released_while_a_command_runs(tmp_path):
    registry = tessera.GeoprocessingRegistry()
    registry.add_command({"endpoint": "slow"}, ["sh", "-c", "sleep 1; cat"])
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        assert registry.run("slow", SKETCH)["data"] == SKETCH
    finally:
        stop.set()
        ticker.join()
    assert len(ticks) > 20


def served(tmp_path, registry, **options):
    return tessera.Service(None, stac=False, tiles=False, geoprocessing=tessera.GeoprocessingOptions(
        registry, str(tmp_path / "tasks.sqlite"), **options))


def test_a_service_serves_python_callables(tmp_path):
    registry = tessera.GeoprocessingRegistry()
    registry.add_function({"endpoint": "vertices", "usesAttributes": ["name"]}, vertex_count)
    started = threading.Event()
    release = threading.Event()

    def waits(sketch, context):
        started.set()
        release.wait(10)
        context.log("released")
        return {"waited": True}

    registry.add_function({"endpoint": "waits", "executionMode": "async", "timeout": 30}, waits)
    service = served(tmp_path, registry, title="Python project")

    status, _, task = request(service, "POST", "/geoprocessing/vertices", {"geometry": SKETCH})
    assert status == 200 and task["status"] == "completed" and task["data"] == {"vertices": 4}
    _, _, logs = request(service, "GET", f"/geoprocessing/tasks/{task['id']}/logs")
    assert [event["message"] for event in logs["events"]] == ["counting {'name': 'zone'}"]

    # An async Python service runs on a worker thread while this one keeps the GIL free to poll.
    status, _, task = request(service, "POST", "/geoprocessing/waits", {"geometry": SKETCH})
    assert status == 200 and task["status"] == "pending"
    assert started.wait(10)
    assert request(service, "GET", f"/geoprocessing/tasks/{task['id']}")[2]["status"] == "pending"
    release.set()
    deadline = time.monotonic() + 10
    while (polled := request(service, "GET", f"/geoprocessing/tasks/{task['id']}")[2])["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert polled["status"] == "completed" and polled["data"] == {"waited": True}

    _, _, project = request(service, "GET", "/geoprocessing/")
    assert project["title"] == "Python project"
    assert [s["endpoint"] for s in project["services"]] == ["vertices", "waits"]

    # Served: frozen.
    with pytest.raises(tessera.InvalidInput, match="cannot be added"):
        registry.add_function({"endpoint": "late"}, vertex_count)


@pytest.mark.parametrize("prefixes, loopback, wrong", [
    (["http://example.test/"], False, "not https"),
    (["http://example.test/"], True, "not https"),
    (["http://127.0.0.1.example.test/"], True, "not https"),
    (["http://127.0.0.1:8000/"], False, "not https"),
    (["https://example.test"], False, "ending with '/'"),
    (["https:///sketches/"], False, "ending with '/'"),
    (["https://user@example.test/"], False, "user information"),
])
def test_geometry_uri_prefixes_are_checked(tmp_path, prefixes, loopback, wrong):
    registry = tessera.GeoprocessingRegistry()
    registry.add_command({"endpoint": "echo"}, ["cat"])
    with pytest.raises(tessera.InvalidInput, match=wrong):
        served(tmp_path, registry, geometry_uri_prefixes=prefixes, allow_loopback_geometry_uri=loopback)


def test_geometry_uris_must_be_under_a_prefix(tmp_path):
    registry = tessera.GeoprocessingRegistry()
    registry.add_command({"endpoint": "echo"}, ["cat"])
    service = served(tmp_path, registry, geometry_uri_prefixes=["https://sketches.example.test/v1/",
                                                                "http://127.0.0.1:1/"],
                     allow_loopback_geometry_uri=True)
    for uri in ("https://sketches.example.test.evil.test/v1/a.pbf",
                "https://sketches.example.test/v2/a.pbf",
                "https://sketches.example.test/v1/../v2/a.pbf",
                "http://sketches.example.test/v1/a.pbf",
                "http://127.0.0.1:2/a.pbf",
                "file:///etc/passwd"):
        status, _, answer = request(service, "POST", "/geoprocessing/echo", {"geometryUri": uri})
        assert status == 400 and "allowed prefix" in answer["description"], uri
    # Under a prefix: fetched (nothing listens on port 1: the fetch fails, still a 400 naming geometryUri).
    status, _, answer = request(service, "POST", "/geoprocessing/echo", {"geometryUri": "http://127.0.0.1:1/a.pbf"})
    assert status == 400 and answer["description"].startswith("geometryUri:")
    assert "allowed prefix" not in answer["description"]
    # Without allow_loopback_geometry_uri no loopback prefix can be configured, so none is fetched.
    (tmp_path / "plain").mkdir()
    plain = served(tmp_path / "plain", registry, geometry_uri_prefixes=["https://sketches.example.test/v1/"])
    status, _, answer = request(plain, "POST", "/geoprocessing/echo", {"geometryUri": "http://127.0.0.1:1/a.pbf"})
    assert status == 400 and "allowed prefix" in answer["description"]


def test_zonal_statistics_as_a_call(tmp_path):
    values = numpy.arange(100 * 100, dtype="float32").reshape(1, 100, 100)
    raster = write_cog(tmp_path / "values.tif", values, "EPSG:4326", from_origin(15, 45.01, 0.0001, 0.0001))
    square = {"type": "Polygon", "coordinates": [[[15.001, 45.001], [15.002, 45.001], [15.002, 45.002],
                                                  [15.001, 45.002], [15.001, 45.001]]]}
    result = tessera.zonal_statistics({"type": "Feature", "properties": {}, "geometry": square}, [str(raster)])
    band = result["rasters"][0]["bands"][0]
    # A 10 x 10 pixel square aligned with the grid: rows 80-89, columns 10-19.
    expected = values[0, 80:90, 10:20]
    assert band["count"] == pytest.approx(100)
    assert band["sum"] == pytest.approx(float(expected.sum()))
    assert band["min"] == expected.min() and band["max"] == expected.max()
    assert band["coverage_fraction"] == pytest.approx(1)


def test_the_openapi_document_has_the_geoprocessing_routes(tmp_path):
    from openapi_spec_validator import validate

    registry = tessera.GeoprocessingRegistry()
    registry.add_command({"endpoint": "echo"}, ["cat"])
    catalog = tessera.Catalog.open(f"sqlite://{tmp_path / 'catalog.db'}")
    service = tessera.Service(catalog, tiles=False, geoprocessing=tessera.GeoprocessingOptions(
        registry, str(tmp_path / "tasks.sqlite")))
    status, _, document = request(service, "GET", "/api")
    assert status == 200
    validate(document)
    assert {"/geoprocessing/", "/geoprocessing/{endpoint}", "/geoprocessing/tasks/{taskId}",
            "/geoprocessing/tasks/{taskId}/events", "/geoprocessing/tasks/{taskId}/logs"} <= set(document["paths"])
    assert "GeoprocessingTask" in document["components"]["schemas"]
    # Without geoprocessing services the routes are not listed.
    _, _, plain = request(tessera.Service(catalog, tiles=False), "GET", "/api")
    assert not any(path.startswith("/geoprocessing") for path in plain["paths"])


def test_the_cache_on_s3_is_shared_by_services(tmp_path, s3_env):
    calls = []
    registry = tessera.GeoprocessingRegistry()
    registry.add_function({"endpoint": "counted", "usesAttributes": ["name"]},
                          lambda sketch, context: calls.append(1) or {"calls": len(calls)})
    storage = f"s3://{s3_env['bucket']}/geoprocessing-{time.time_ns()}"
    first, second = (served(tmp_path, registry, storage=storage, storage_options=s3_env["options"])
                     for _ in range(2))
    body = {"geometry": SKETCH, "cacheKey": "v1"}
    status, headers, task = request(first, "POST", "/geoprocessing/counted", body)
    assert status == 200 and task["data"] == {"calls": 1} and "X-Tessera-Cache" not in headers
    # Another server on the same storage answers from the cache without running the service.
    status, headers, task = request(second, "POST", "/geoprocessing/counted", body)
    assert status == 200 and headers.get("X-Tessera-Cache") == "hit" and task["data"] == {"calls": 1}
    assert len(calls) == 1
    # Another value of a property the service uses is another key.
    other = {**SKETCH, "properties": {"name": "elsewhere"}}
    assert request(second, "POST", "/geoprocessing/counted", {"geometry": other, "cacheKey": "v1"})[2]["data"] == {
        "calls": 2}
