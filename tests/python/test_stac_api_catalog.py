"""A remote STAC API as a catalog (Catalog.open("stac+http://...")), against real servers on
loopback: `tessera serve` over a SQLite catalog and stac-fastapi-pgstac (uvicorn, from the venv
scripts/setup.sh makes) over a pgstac database holding the same items. Search results (bbox,
datetime, ids, CQL2, sort, paging) equal the local catalog's, and a mosaic tile built through
the remote catalog equals the local one pixel for pixel; `tessera serve --catalog stac+http://...`
serves the same search tiles as the server it reads. Then faults, served by a small Python
HTTP server: down, slow, 429 with Retry-After, truncated JSON, a looping next link, a page
larger than the limit: clear errors or correct retries, nothing hangs."""

import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import morecantile
import numpy as np
import pytest
from rasterio.transform import from_bounds

import tessera
from pgstac_fixtures import free_port
from raster_fixtures import write_cog
from stac_fixtures import collection, item
from test_serve import cli_path

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
Z, X, Y = 9, 270, 181  # a tile over northern Italy
TILE = WEB_MERCATOR.xy_bounds(X, Y, Z)
SERVERS = ["tessera-serve", "stac-fastapi-pgstac"]


def raster_items(folder):
    """Items whose COGs cover the test tile (whole, left half, right half) on three days."""
    items = []
    middle = (TILE.left + TILE.right) / 2
    parts = {"full": (TILE.left, TILE.bottom, TILE.right, TILE.top),
             "left": (TILE.left, TILE.bottom, middle, TILE.top),
             "right": (middle, TILE.bottom, TILE.right, TILE.top)}
    for day, (part, value) in enumerate([("full", 10), ("left", 20), ("right", 30)], start=1):
        bounds = parts[part]
        width = 256 if part == "full" else 128
        data = np.full((1, 256, width), value, dtype="uint8")
        path = write_cog(folder / f"r{day}.tif", data, "EPSG:3857", from_bounds(*bounds, width, 256), nodata=0)
        west, south = WEB_MERCATOR._to_geographic.transform(bounds[0], bounds[1])
        east, north = WEB_MERCATOR._to_geographic.transform(bounds[2], bounds[3])
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        items.append({"type": "Feature", "stac_version": "1.1.0", "id": f"r{day}", "collection": "m",
                      "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [west, south, east, north],
                      "links": [], "properties": {"datetime": f"2024-02-{day:02d}T00:00:00Z", "eo:cloud_cover": 50},
                      "assets": {"data": {"href": str(path), "type": "image/tiff; application=geotiff"}}})
    return items


def vector_items():
    return [item(f"v{n:02d}", "m", f"2024-01-{n + 1:02d}T00:00:00Z", n % 6, 40 + n // 6,
                 **{"eo:cloud_cover": (n * 7) % 31}) for n in range(18)]


def load(catalog, folder):
    catalog.upsert_collection(collection("m"))
    report = catalog.load(vector_items() + raster_items(folder), mode="upsert")
    assert report["loaded"] == 21, report


def wait_until_up(base, process):
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not answer within 60 s")


def stac_fastapi_uvicorn():
    venvs = Path(os.environ.get("TESSERA_TOOLS_VENVS", "/opt/tessera-tools/venvs"))
    uvicorn = venvs / "stac-fastapi-pgstac" / "bin" / "uvicorn"
    if not uvicorn.exists():
        message = f"stac-fastapi-pgstac's venv is missing ({uvicorn}): run scripts/setup.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(uvicorn)


@pytest.fixture(params=SERVERS)
def served(request, tmp_path):
    """(local catalog, remote catalog over a server of the same items)."""
    tessera.configure(allowed_roots=[str(tmp_path)])
    tessera.clear_tile_cache()
    if request.param == "tessera-serve":
        path = tmp_path / "catalog.db"
        local = tessera.Catalog.open(f"sqlite://{path}")
        load(local, tmp_path)
        command = [cli_path(), "serve", "--catalog", f"sqlite://{path}", "--port", "0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        base = process.stdout.readline().strip()
        env = None
    else:
        uvicorn = stac_fastapi_uvicorn()
        url = request.getfixturevalue("pgstac_url")
        local = tessera.Catalog.open(url)
        load(local, tmp_path)
        parts = urllib.parse.urlsplit(url)
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(PGUSER=parts.username, PGPASSWORD=parts.password or "", PGHOST=parts.hostname,
                   PGPORT=str(parts.port), PGDATABASE=parts.path.lstrip("/"))
        port = free_port()
        process = subprocess.Popen([uvicorn, "stac_fastapi.pgstac.app:create_app", "--factory", "--host", "127.0.0.1",
                                    "--port", str(port), "--no-access-log"], env=env, cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(base, process)
        yield local, tessera.Catalog.open("stac+" + base, stac_api={"timeout_ms": 30000})
    finally:
        process.kill()
        process.wait(timeout=30)
        tessera.configure()


def compared(page):
    """The members of each feature both servers store as given (they add links of their own)."""
    return [{key: feature.get(key) for key in ("id", "collection", "geometry", "bbox", "properties", "assets")}
            for feature in page["features"]]


def walk(catalog, request):
    """Every item id of `request`, page after page by its next tokens."""
    ids, request = [], dict(request)
    for _ in range(100):
        page = catalog.search(request)
        ids += [feature["id"] for feature in page["features"]]
        if "next" not in page:
            return ids
        request = {"token": page["next"]}
    raise AssertionError("more than 100 pages")


SEARCHES = [
    {"limit": 4},
    {"bbox": [1.5, 40.5, 3.2, 41.5], "limit": 3},
    {"intersects": {"type": "Point", "coordinates": [2.5, 41.5]}},
    {"datetime": "2024-01-05T00:00:00Z/2024-01-12T00:00:00Z", "limit": 3},
    {"ids": ["v03", "v11", "r2", "missing"]},
    {"filter": "\"eo:cloud_cover\" < 15 AND id LIKE 'v%'", "filter-lang": "cql2-text", "limit": 5},
    {"filter": {"op": "s_intersects", "args": [{"property": "geometry"},
                                                {"type": "Polygon", "coordinates": [[[0, 40], [3, 40], [3, 41],
                                                                                     [0, 41], [0, 40]]]}]}},
    {"sortby": [{"field": "properties.eo:cloud_cover", "direction": "asc"}, {"field": "id", "direction": "asc"}],
     "limit": 6},
    {"sortby": "-datetime", "collections": ["m"], "limit": 7},
]


@pytest.mark.parametrize("search", SEARCHES, ids=range(len(SEARCHES)))
def test_searches_equal_the_local_catalogs(served, search):
    local, remote = served
    expected = walk(local, search)
    assert expected, "the case matches nothing"
    assert walk(remote, search) == expected
    assert compared(remote.search(search)) == compared(local.search(search))


def test_item_collections_and_writes(served):
    local, remote = served
    assert remote.get_item("m", "v01")["id"] == local.get_item("m", "v01")["id"]
    with pytest.raises(tessera.NotFound):
        remote.get_item("m", "nope")
    assert [entry["id"] for entry in remote.collections()] == ["m"]
    with pytest.raises(tessera.Unsupported):
        remote.upsert_collection(collection("x"))
    with pytest.raises(tessera.Unsupported):
        remote.load(vector_items()[:1])


def test_a_mosaic_tile_through_the_remote_equals_the_local_one(served):
    local, remote = served
    search = {"collections": ["m"], "filter": "id LIKE 'r%'", "filter-lang": "cql2-text"}
    search_id = remote.register_search(search, metadata={"name": "rasters"})
    assert search_id == local.register_search(search, metadata={"name": "rasters"})
    for method in ["first", "highest", "count"]:
        expected = tessera.Mosaic(local, search, assets=["data"], method=method).tile(X, Y, Z)
        tessera.clear_tile_cache()
        actual = tessera.Mosaic.from_registered(remote, search_id, assets=["data"], method=method).tile(X, Y, Z)
        assert np.array_equal(actual.data, expected.data), method
        assert np.array_equal(actual.mask, expected.mask), method


def start_serve(*arguments):
    process = subprocess.Popen([cli_path(), "serve", "--port", "0", *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    base = process.stdout.readline().strip()
    wait_until_up(base, process)
    return process, base.rstrip("/")


def post_json(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_tessera_serve_over_a_remote_catalog_serves_the_same_tiles(tmp_path):
    path = tmp_path / "catalog.db"
    load(tessera.Catalog.open(f"sqlite://{path}"), tmp_path)
    processes = []
    try:
        upstream_process, upstream = start_serve("--catalog", f"sqlite://{path}", "--allowed-root", str(tmp_path))
        processes.append(upstream_process)
        downstream_process, downstream = start_serve(
            "--catalog", f"stac+{upstream}/", "--stac-api", json.dumps({"timeout_ms": 10000}),
            "--allowed-root", str(tmp_path))
        processes.append(downstream_process)
        search = {"collections": ["m"], "filter": "id LIKE 'r%'", "filter-lang": "cql2-text"}
        search_id = post_json(f"{downstream}/searches/register", search)["id"]
        assert post_json(f"{upstream}/searches/register", search)["id"] == search_id
        tiles = []
        for base in (upstream, downstream):
            url = f"{base}/searches/{search_id}/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png?assets=data"
            with urllib.request.urlopen(url, timeout=30) as response:
                tiles.append(response.read())
        assert tiles[0][1:4] == b"PNG" and tiles[0] == tiles[1]
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)


# --- Faults ----------------------------------------------------------------------------------

CONFORMANCE = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"]
FAST = {"timeout_ms": 2000, "connect_timeout_ms": 1000, "backoff_base_ms": 10, "backoff_cap_ms": 2000,
        "search_cache_ttl_ms": 0}


class FaultServer:
    """A STAC API whose /search answers are `answer(handler, body)` -> (status, headers, bytes)."""

    def __init__(self, answer):
        self.calls = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                landing = {"type": "Catalog", "id": "fault", "conformsTo": CONFORMANCE,
                           "links": [{"rel": "search", "href": outer.base + "search", "method": "POST"}]}
                self.reply(200, {"Content-Type": "application/json"}, json.dumps(landing).encode())

            def do_POST(self):
                outer.calls += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self.reply(*answer(outer, body))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def feature_collection(count, links=()):
    features = [item(f"f{n}", "m", "2024-01-01T00:00:00Z", n, 0) for n in range(count)]
    return json.dumps({"type": "FeatureCollection", "features": features, "links": list(links)}).encode()


@pytest.fixture
def fault_server():
    servers = []

    def start(answer):
        servers.append(FaultServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_429_with_retry_after_is_retried(fault_server):
    def answer(server, body):
        if server.calls == 1:
            return 429, {"Retry-After": "1"}, b"{}"
        return 200, {"Content-Type": "application/geo+json"}, feature_collection(2)

    server = fault_server(answer)
    remote = tessera.Catalog.open("stac+" + server.base, stac_api=FAST)
    started = time.monotonic()
    assert [feature["id"] for feature in remote.search({})["features"]] == ["f0", "f1"]
    assert server.calls == 2 and time.monotonic() - started >= 0.9


def test_5xx_retries_end_in_unavailable(fault_server):
    server = fault_server(lambda server, body: (503, {}, b"busy"))
    remote = tessera.Catalog.open("stac+" + server.base, stac_api={**FAST, "max_retries": 2})
    with pytest.raises(tessera.Unavailable, match="after 3 attempts"):
        remote.search({})
    assert server.calls == 3


def test_slow_server_times_out(fault_server):
    def answer(server, body):
        time.sleep(1.5)
        return 200, {}, feature_collection(1)

    remote = tessera.Catalog.open("stac+" + fault_server(answer).base, stac_api={**FAST, "timeout_ms": 300})
    started = time.monotonic()
    with pytest.raises(tessera.Unavailable, match="timed out"):
        remote.search({})
    assert time.monotonic() - started < 1.5


def test_server_down_is_unavailable():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(tessera.Unavailable):
        tessera.Catalog.open(f"stac+http://127.0.0.1:{port}/", stac_api=FAST)
    assert time.monotonic() - started < 5


def test_bad_pages_are_clear_errors(fault_server):
    answers = {"truncated": feature_collection(3)[:-40], "oversized": feature_collection(5)}
    state = {"case": "truncated"}
    server = fault_server(lambda server, body: (200, {}, answers[state["case"]]))
    remote = tessera.Catalog.open("stac+" + server.base, stac_api=FAST)
    with pytest.raises(tessera.IoError, match="not valid JSON"):
        remote.search({})
    state["case"] = "oversized"
    with pytest.raises(tessera.IoError, match="more than the limit of 2"):
        remote.search({"limit": 2})


def test_a_looping_next_link_stops(fault_server):
    def answer(server, body):
        link = {"rel": "next", "href": server.base + "search", "method": "POST", "body": {"token": "again"}}
        return 200, {}, feature_collection(1, [link])

    remote = tessera.Catalog.open("stac+" + fault_server(answer).base, stac_api=FAST)
    request = {"limit": 1}
    with pytest.raises(tessera.IoError, match="loops back"):
        for _ in range(50):
            request = {"token": remote.search(request)["next"]}


def test_options_are_checked():
    with pytest.raises(tessera.InvalidInput, match="unknown option 'retries'"):
        tessera.Catalog.open("stac+http://127.0.0.1:1/", stac_api={"retries": 2})
    with pytest.raises(tessera.InvalidInput, match="user-info"):
        tessera.Catalog.open("stac+http://me:secret@127.0.0.1:1/")
