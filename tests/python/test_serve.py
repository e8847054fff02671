"""`tessera serve` over HTTP: the base URL as its first line, the STAC API
answered to pystac-client (the same items as Catalog.search, page after
page), JSON errors, oversized bodies refused, and a graceful SIGTERM."""

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pystac_client import Client

import tessera
from stac_fixtures import collection, item

ROOT = Path(__file__).resolve().parents[2]


def cli_path():
    path = Path(os.environ.get("TESSERA_CLI", ROOT / "build" / "dev" / "cli" / "tessera"))
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the tessera CLI is not built at {path} (set TESSERA_CLI)")
        pytest.skip(f"the tessera CLI is not built at {path}")
    return str(path)


@pytest.fixture
def served(tmp_path):
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    catalog.upsert_collection(collection("s2"))
    items = [item(f"item-{n:02d}", "s2", f"2024-01-{n + 1:02d}T00:00:00Z", n % 10, 40 + n // 10, **{"eo:cloud_cover": n})
             for n in range(25)]
    assert catalog.load(items)["loaded"] == 25
    process = subprocess.Popen([cli_path(), "serve", "--catalog", f"sqlite://{catalog_path}", "--port", "0",
                                "--max-body-bytes", "4096"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/"), base
        yield base, catalog, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def fetch(url, body=None):
    request = urllib.request.Request(url, data=None if body is None else body.encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, error.headers.get("Content-Type"), json.loads(payload) if payload else None


def test_pystac_client_pages_through_the_same_items_as_the_library(served):
    base, catalog, _ = served
    client = Client.open(base)
    assert [c.id for c in client.get_collections()] == ["s2"]
    for method in ("GET", "POST"):
        search = client.search(collections=["s2"], bbox=[2, 40, 7, 42], filter="\"eo:cloud_cover\" >= 3",
                               filter_lang="cql2-text", sortby="-eo:cloud_cover", limit=4, method=method)
        served_ids = [item.id for item in search.items()]
        expected = []
        request = {"collections": ["s2"], "bbox": [2, 40, 7, 42], "filter": "\"eo:cloud_cover\" >= 3",
                   "sortby": [{"field": "eo:cloud_cover", "direction": "desc"}], "limit": 4}
        while True:
            page = catalog.search(request)
            expected += [feature["id"] for feature in page["features"]]
            if not page.get("next"):
                break
            request["token"] = page["next"]
        assert served_ids == expected, method
        assert len(served_ids) > 4  # more than one page


def test_api_is_a_valid_openapi_document(served):
    from openapi_spec_validator import validate

    base, _, _ = served
    status, content_type, document = fetch(base + "api")
    assert status == 200 and content_type == "application/vnd.oai.openapi+json;version=3.0"
    validate(document)
    _, _, landing = fetch(base)
    assert any(link["rel"] == "service-desc" and link["type"] == content_type for link in landing["links"])


def test_errors_are_json_and_large_bodies_are_refused(served):
    base, _, _ = served
    status, content_type, body = fetch(base + "search?bbox=1,2,x,4")
    assert status == 400 and content_type == "application/json"
    assert body["code"] == "BadRequest" and "bbox" in body["description"]
    status, _, body = fetch(base + "collections/none")
    assert status == 404 and "none" in body["description"]
    status, _, _ = fetch(base + "search", body=json.dumps({"ids": ["x" * 5000]}))
    assert status == 413
    status, _, body = fetch(base + "collections/s2/items/item-03")
    assert status == 200 and body["id"] == "item-03"


def test_sigterm_stops_the_server(served):
    base, _, process = served
    assert fetch(base)[0] == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
