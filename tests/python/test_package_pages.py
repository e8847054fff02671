"""The human-readable pages of a package (index.html, license.html, thumbnail.png): written with
datapackage.json, valid HTML (html5lib's strict parser), and in headless Chromium (Debian's, driven by
playwright) served from a web root with no other network: they render, the thumbnail loads, every link
to the package's own files resolves, and the console has no errors. Screenshots go to
build/test-artifacts/ (or $TESSERA_TEST_ARTIFACTS).

Without playwright or chromium the browser test is skipped, except in CI (CI set), where that is a
failure."""

import functools
import hashlib
import http.server
import json
import shutil
import threading
import urllib.parse

import html5lib
import numpy
import pytest
import rasterio
from rasterio.transform import from_origin

import tessera
from conftest import RangeRequestHandler
from test_stac_browser import CHROMIUM, artifacts_dir, unavailable

LAKE = {"type": "Polygon", "coordinates": [[[10.1, 45.1], [10.6, 45.15], [10.45, 45.6], [10.15, 45.45],
                                            [10.1, 45.1]]]}


@pytest.fixture
def package_root(tmp_path):
    """A package of a raster and a vector dataset for "Lake <District>" (a name to escape)."""
    raster = tmp_path / "elevation.tif"
    rows, cols = numpy.mgrid[0:100, 0:100]
    with rasterio.open(raster, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint16",
                       crs="EPSG:4326", transform=from_origin(10, 46, 0.01, 0.01), nodata=0) as dst:
        dst.write((100 + rows * 3 + cols).astype("uint16")[numpy.newaxis])
    points = tmp_path / "wells.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": i}, "geometry": {"type": "Point", "coordinates": [10.2 + i / 50, 45.3]}}
        for i in range(10)]}))
    root = tmp_path / "packages"
    packager = tessera.Packager(tessera.Storage.open(str(root)))
    packager.add_boundaries_geojson({"type": "Feature", "properties": {"name": "Lake <District>"}, "geometry": LAKE})
    packager.build("Lake <District>", [
        {"name": "elevation", "version": "2024.1", "title": "Elevation & relief", "description": "Heights <m>",
         "license": {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                     "path": "https://creativecommons.org/licenses/by/4.0/"},
         "citation": "Tessera test data (2026)", "sources": [str(raster)], "type": "raster"},
        {"name": "wells", "version": "1", "title": "Wells", "license": {"name": "ODbL-1.0", "path": "javascript:x()"},
         "sources": [str(points)], "type": "vector", "format": "GeoJSON"},
    ])
    return root / "lake-district"


def test_pages_are_written_with_the_package_and_are_valid_html(package_root):
    package = json.loads((package_root / "datapackage.json").read_text())
    parser = html5lib.HTMLParser(strict=True)
    for page in ("index.html", "license.html"):
        parser.parse((package_root / page).read_bytes())  # raises on any parse error
    index = (package_root / "index.html").read_text()
    assert "Lake &lt;District&gt;" in index and "Lake <District>" not in index
    assert "Elevation &amp; relief" in index and "Heights &lt;m&gt;" in index
    for resource in package["resources"]:
        assert f'href="{resource["path"]}"' in index
        assert resource["hash"].removeprefix("sha256:") in index
    assert "Tessera test data (2026)" in index
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in index
    assert "javascript:" not in index  # a licence path that is not a web address is text, not a link
    licenses = (package_root / "license.html").read_text()
    assert "Creative Commons Attribution 4.0" in licenses and "ODbL-1.0" in licenses
    assert "javascript:" not in licenses
    thumbnail = (package_root / "thumbnail.png").read_bytes()
    assert thumbnail.startswith(b"\x89PNG\r\n\x1a\n")
    with rasterio.open(package_root / "thumbnail.png") as image:
        assert max(image.width, image.height) == 320 and image.count == 4
        red = image.read(1)
        # The boundary is filled, the corners are background.
        assert red[image.height // 2, image.width // 2] == 120 and red[0, 0] == 244


def test_pages_render_in_chromium_and_their_links_resolve(package_root):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (scripts/setup.sh installs it)")
    if not shutil.which(CHROMIUM):
        unavailable(f"{CHROMIUM} is not installed (scripts/setup.sh installs it)")
    handler = functools.partial(RangeRequestHandler, directory=str(package_root.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/lake-district/"
    artifacts = artifacts_dir()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                           else route.abort())
                problems = []
                page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
                        if response.status >= 400 else None)
                for name in ("index.html", "license.html"):
                    page.goto(base + name)
                    page.wait_for_load_state("load")
                    assert page.title().endswith("Lake <District>")
                    links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
                    assert links
                    for link in links:
                        if link.startswith(base):
                            response = page.request.get(link)
                            assert response.status == 200, link
                        else:
                            assert urllib.parse.urlparse(link).scheme == "https", link
                    page.screenshot(path=str(artifacts / f"package-{name}.png"), full_page=True)
                page.goto(base + "index.html")
                size = page.eval_on_selector("img", "image => image.complete ? [image.naturalWidth, "
                                                    "image.naturalHeight] : []")
                assert max(size) == 320 and min(size) > 100  # loaded, longitude scaled by cos(latitude)
                page.get_by_role("heading", name="Elevation & relief").wait_for()
                page.get_by_role("link", name="Licences and citations").click()
                page.wait_for_url(base + "license.html")
                page.get_by_role("heading", name="Creative Commons Attribution 4.0").wait_for()
                assert problems == []
            finally:
                browser.close()
    finally:
        server.shutdown()
    # The files the page links to are the package's, byte for byte.
    package = json.loads((package_root / "datapackage.json").read_text())
    for resource in package["resources"]:
        data = (package_root / resource["path"]).read_bytes()
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
