"""tessera.Service and tessera.asgi: the STAC API as a function of requests and
as an ASGI application (driven here the way an ASGI server drives it)."""

import asyncio
import json

import tessera
import tessera.asgi
from stac_fixtures import collection, item


def make_catalog():
    catalog = tessera.Catalog.open("sqlite://:memory:")
    catalog.upsert_collection(collection("c"))
    catalog.load([item(f"i{n}", "c", "2024-01-01T00:00:00Z", n, 0) for n in range(5)])
    return catalog


def call(app, method, path, query=b"", headers=(), body=b"", chunk=None, root_path=""):
    """Runs one request through `app` and returns (status, headers, body)."""
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)] if chunk and body else [body]
    messages = [{"type": "http.request", "body": part, "more_body": n < len(chunks) - 1}
                for n, part in enumerate(chunks)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "scheme": "https",
             "root_path": root_path, "headers": [(b"host", b"api.test")] + [(k.encode(), v.encode()) for k, v in headers]}
    asyncio.run(app(scope, receive, send))
    start, response = sent
    return start["status"], dict(start["headers"]), response["body"]


def test_service_handle_answers_requests():
    service = tessera.Service(make_catalog(), title="T")
    status, headers, body = service.handle("GET", "/", headers=[("Host", "h.test")])
    assert status == 200
    assert dict(headers)["Content-Type"] == "application/json"
    landing = json.loads(body)
    assert landing["title"] == "T" and landing["links"][0]["href"] == "http://h.test/"
    status, _, body = service.handle("POST", "/search", body=b'{"limit": 2}')
    assert status == 200 and len(json.loads(body)["features"]) == 2
    status, _, body = service.handle("GET", "/search", query=[("bbox", "1,2")])
    assert status == 400 and "bbox" in json.loads(body)["description"]


def test_asgi_app_serves_the_stac_api_with_links_from_the_scope():
    app = tessera.asgi.app(make_catalog(), max_body_bytes=1024)
    status, headers, body = call(app, "GET", "/search", query=b"limit=2&fields=-assets")
    assert status == 200 and headers[b"content-type"] == b"application/geo+json"
    page = json.loads(body)
    assert len(page["features"]) == 2 and "assets" not in page["features"][0]
    next_link = next(link for link in page["links"] if link["rel"] == "next")
    assert next_link["href"].startswith("https://api.test/search?token=")
    # Mounted under a path (FastAPI app.mount / root_path): links include it.
    _, _, body = call(app, "GET", "/", root_path="/stac")
    assert json.loads(body)["links"][0]["href"] == "https://api.test/stac/"
    # A body sent in chunks is reassembled; one past the limit is refused.
    status, _, body = call(app, "POST", "/search", body=json.dumps({"ids": ["i1", "i2"]}).encode(), chunk=5)
    assert status == 200 and len(json.loads(body)["features"]) == 2
    status, _, _ = call(app, "POST", "/search", body=b" " * 5000, chunk=1000)
    assert status == 413


def test_asgi_lifespan():
    app = tessera.asgi.app(tessera.Service(make_catalog()))
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_cors_for_the_allowed_origins():
    service = tessera.Service(make_catalog(), cors_origins=["https://browser.test"])
    status, headers, body = service.handle("OPTIONS", "/search", headers=[("Origin", "https://browser.test")])
    assert status == 204 and body == b""
    assert dict(headers)["Access-Control-Allow-Origin"] == "https://browser.test"
    _, headers, _ = service.handle("GET", "/", headers=[("Origin", "https://other.test")])
    assert "Access-Control-Allow-Origin" not in dict(headers)


def test_tile_routes_and_a_service_without_a_catalog(tmp_path):
    viewer = tmp_path / "viewer"
    viewer.mkdir()
    (viewer / "index.html").write_text("<!doctype html><title>viewer</title>")
    service = tessera.Service(None, viewer_dir=str(viewer), cache_max_age_seconds=60)
    status, _, body = service.handle("GET", "/searches/list")
    assert status == 404 and "this service has no catalog" in json.loads(body)["description"]
    status, _, body = service.handle("GET", "/cog/info")
    assert status == 400 and json.loads(body)["parameter"] == "url"
    status, headers, body = service.handle("GET", "/colormaps")
    assert status == 200 and "viridis" in json.loads(body)["colorMaps"]
    assert dict(headers)["Cache-Control"] == "public, max-age=60"
    status, headers, _ = service.handle("GET", "/", headers=[("Host", "h.test")])
    assert status == 302 and dict(headers)["Location"] == "http://h.test/viewer/"
    status, _, body = service.handle("GET", "/viewer/")
    assert status == 200 and b"<title>viewer</title>" in body
    # The same through ASGI, and beside the STAC API on a catalog.
    status, _, _ = call(tessera.asgi.app(None, tiles=True), "GET", "/cog/info")
    assert status == 400
    app = tessera.asgi.app(make_catalog())
    status, _, body = call(app, "POST", "/searches/register", body=b'{"collections": ["c"]}')
    assert status == 200 and json.loads(body)["links"][0]["href"].startswith("https://api.test/searches/")
    status, _, _ = call(tessera.asgi.app(make_catalog(), tiles=False), "GET", "/searches/list")
    assert status == 404
