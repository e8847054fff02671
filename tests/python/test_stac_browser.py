"""STAC Browser served by `tessera serve` at /browser/ (scripts/build_stac_browser.sh
builds it), opened in headless Chromium (Debian's, driven by playwright) with
no network but the server: the catalog's collections are listed, a collection
leads to its items, and an item page shows its assets and its footprint on the
map. Screenshots are saved to build/test-artifacts/ (or $TESSERA_TEST_ARTIFACTS).

Without the built browser, playwright or chromium the test is skipped, except
in CI (CI set), where that is a failure."""

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

import tessera
import tessera.asgi
from stac_fixtures import collection, item
from test_asgi import call
from test_serve import cli_path

ROOT = Path(__file__).resolve().parents[2]
STAC_BROWSER_VERSION = "4.0.1"  # scripts/build_stac_browser.sh
CHROMIUM = "/usr/bin/chromium"

# Pixels of the footprint's outline (OpenLayers' default stroke, #3399cc) in
# the map's canvases, counted in the page.
FOOTPRINT_PIXELS = """() => {
  let count = 0;
  for (const canvas of document.querySelectorAll('.map-container canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const context = copy.getContext('2d');
    context.drawImage(canvas, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 128 && data[i] < 120 && data[i + 1] > 110 && data[i + 2] > 160) count++;
    }
  }
  return count;
}"""


def unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def browser_dir():
    default = Path(os.environ.get("TESSERA_TOOLS", "/opt/tessera-tools")) / f"stac-browser-{STAC_BROWSER_VERSION}" / "dist"
    path = Path(os.environ.get("TESSERA_STAC_BROWSER_DIR", default))
    if not (path / "index.html").is_file():
        unavailable(f"STAC Browser is not built in {path}: run scripts/build_stac_browser.sh (scripts/setup.sh does)")
    return path


def artifacts_dir():
    path = Path(os.environ.get("TESSERA_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser_server(tmp_path):
    dist = browser_dir()
    cli = cli_path()
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed (scripts/setup.sh installs it)")
    if not shutil.which(CHROMIUM):
        unavailable(f"{CHROMIUM} is not installed (scripts/setup.sh installs it)")
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    s2 = collection("s2")
    s2["title"] = "Sentinel-2 test scenes"
    catalog.upsert_collection(s2)
    catalog.upsert_collection(dict(collection("dem"), title="Elevation tiles"))
    scenes = []
    for n in range(3):
        scene = item(f"scene-{n}", "s2", f"2024-01-0{n + 1}T00:00:00Z", 5 + n, 45)
        scene["assets"] = {
            "B04": {"href": f"https://example.com/{n}/B04.tif", "title": "Red band", "roles": ["data"],
                    "type": "image/tiff; application=geotiff; profile=cloud-optimized"},
            "metadata": {"href": f"https://example.com/{n}/metadata.xml", "title": "Scene metadata",
                         "roles": ["metadata"], "type": "application/xml"},
        }
        scenes.append(scene)
    assert catalog.load(scenes)["loaded"] == 3
    process = subprocess.Popen([cli, "serve", "--catalog", f"sqlite://{catalog_path}", "--port", "0",
                                "--browser-dir", str(dist)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/"), (base, process.stderr.read())
        assert process.stdout.readline().strip() == f"STAC Browser: {base}browser/"
        yield base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_stac_browser_lists_collections_and_shows_an_item(browser_server):
    from playwright.sync_api import sync_playwright

    base = browser_server
    # The mount without its slash is redirected.
    with urllib.request.urlopen(base + "browser", timeout=30) as response:
        assert response.url == base + "browser/"
    artifacts = artifacts_dir()
    server_errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # Nothing but the server is reachable (the basemap's tiles and the
            # assets' example.com hrefs are refused at once).
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
            page.on("response", lambda response: server_errors.append(f"{response.status} {response.url}")
                    if response.url.startswith(base) and response.status >= 400 else None)

            page.goto(base + "browser/")
            # The catalog is the landing page, titled by the service; both collections are cards.
            page.get_by_role("link", name="Sentinel-2 test scenes").wait_for(timeout=60000)
            page.get_by_role("link", name="Elevation tiles").wait_for()
            assert page.title().startswith("tessera")
            page.screenshot(path=str(artifacts / "stac-browser-catalog.png"))

            page.get_by_role("link", name="Sentinel-2 test scenes").click()
            page.get_by_role("link", name="scene-1").first.click(timeout=60000)
            page.wait_for_url(base + "browser/collections/s2/items/scene-1")
            page.get_by_role("heading", name="scene-1").wait_for(timeout=60000)
            page.get_by_role("heading", name="Assets").wait_for()
            for title in ("Red band", "Scene metadata"):
                page.get_by_text(title, exact=True).wait_for()
            # The footprint is drawn on the map.
            page.wait_for_function(f"() => ({FOOTPRINT_PIXELS})() > 200", timeout=60000)
            page.screenshot(path=str(artifacts / "stac-browser-item.png"))

            # History mode: the item's own URL opens the same page directly.
            page.goto(base + "browser/collections/s2/items/scene-2")
            page.get_by_role("heading", name="scene-2").wait_for(timeout=60000)
            page.get_by_text("Red band", exact=True).wait_for()
        finally:
            browser.close()
    assert server_errors == []
    assert (artifacts / "stac-browser-item.png").stat().st_size > 10000


def test_service_and_asgi_app_serve_a_browser_folder(tmp_path):
    """browser_dir from Python: the Service and the ASGI app (behind a proxy's
    headers) serve the folder and the generated config.js."""
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "js" / "app.0123abcd.js").write_text("run()")
    catalog = tessera.Catalog.open("sqlite://:memory:")
    catalog.upsert_collection(collection("c"))
    service = tessera.Service(catalog, title="My \"STAC\"", browser_dir=str(tmp_path))
    status, headers, body = service.handle("GET", "/browser/config.js", headers=[("Host", "h.test:8000")])
    assert status == 200 and dict(headers)["Content-Type"] == "text/javascript; charset=utf-8"
    prefix = b"window.STAC_BROWSER_CONFIG = "
    assert body.startswith(prefix) and body.endswith(b";\n")
    config = json.loads(body[len(prefix):-2])
    assert config == {"catalogUrl": "http://h.test:8000/", "catalogTitle": 'My "STAC"', "allowExternalAccess": False}
    status, headers, body = service.handle("GET", "/browser/js/app.0123abcd.js")
    assert status == 200 and body == b"run()" and "immutable" in dict(headers)["Cache-Control"]
    assert service.handle("GET", "/browser/../index.html")[0] == 404

    app = tessera.asgi.app(catalog, browser_dir=str(tmp_path))
    status, headers, body = call(app, "GET", "/browser/collections/c")
    assert status == 200 and body == (tmp_path / "index.html").read_bytes()
    # https from the ASGI scope, the prefix from root_path: the landing page's self href.
    status, _, body = call(app, "GET", "/browser/config.js", root_path="/stac")
    assert json.loads(body[len(prefix):-2])["catalogUrl"] == "https://api.test/stac/"
    status, headers, _ = call(app, "GET", "/browser")
    assert status == 301 and headers[b"location"] == b"https://api.test/browser/"
    # Without browser_dir there is no /browser/.
    assert tessera.Service(catalog).handle("GET", "/browser/")[0] == 404
