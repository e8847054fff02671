"""stac-api-validator 0.6.8 against `tessera serve`, on SQLite and on PgSTAC, offline.

The validator runs in a venv of its own (scripts/setup.sh makes it under
$TESSERA_TOOLS_VENVS, default /opt/tessera-tools/venvs) through tests/stac_api/run_validator.py,
which answers its schema fetches from local files and refuses every host but loopback. It is
given every conformance class the landing page advertises that it can check, and must finish
with exit 0 and "Errors: none".

The transaction class runs with a bearer token (scope stac:write) that `tessera serve --jwks`
verifies, on a collection of its own.
"""

import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

import tessera
from jwt_fixtures import Signer, jwks
from stac_fixtures import collection, item
from test_serve import cli_path

ROOT = Path(__file__).resolve().parents[2]
RUN_VALIDATOR = ROOT / "tests" / "stac_api" / "run_validator.py"
COLLECTION = "validator-s2"
TRANSACTION_COLLECTION = "validator-writes"  # the transaction class writes and deletes here
ITEM_COUNT = 36  # several pages at the default limit; the validator pages with limit=1 too
# Intersects some of the items below (and none of the one near 20°E 20°N).
GEOMETRY = '{"type":"Polygon","coordinates":[[[1,40],[9,40],[9,44],[1,44],[1,40]]]}'
# The property the Fields tests include and exclude (--fields-nested-property).
FIELDS_NESTED_PROPERTY = "properties.eo:cloud_cover"
# The Query tests' fields and values, all sent as strings: eo:cloud_cover is a number, compared
# with the strings read as numbers (its queryable type); 20.0 and 80.0 are values of the fixture,
# so eq finds an item and lte/gte their bounds. The validator checks "in" results with
# set(values).isdisjoint(set(value)), which only single-letter or array values pass: the MGRS
# latitude band.
QUERY_OPTIONS = ["--query-comparison-field", "eo:cloud_cover", "--query-eq-value", "20",
                 "--query-neq-value", "20", "--query-lt-value", "20", "--query-lte-value", "20",
                 "--query-gt-value", "80", "--query-gte-value", "80",
                 "--query-substring-field", "platform", "--query-starts-with-value", "sentinel",
                 "--query-ends-with-value", "2b", "--query-contains-value", "inel-2",
                 "--query-in-field", "mgrs:latitude_band", "--query-in-values", "S,T"]

# The landing page's conformsTo (STAC API 1.0.x, any pre-release) -> the validator's
# --conformance names. "transaction" is passed only with run_validator(transaction=...).
STAC_API_CLASS = re.compile(r"https://api\.stacspec\.org/v1\.0\.[^/]*/(.+)")
VALIDATOR_CLASSES = {
    "core": "core",
    "browseable": "browseable",
    "children": "children",
    "collections": "collections",
    "ogcapi-features": "features",
    "ogcapi-features#fields": "features#fields",
    "ogcapi-features#sort": "features#sort",
    "ogcapi-features#query": "features#query",
    "ogcapi-features/extensions/transaction": "transaction",
    "item-search": "item-search",
    "item-search#filter": "filter",
    "item-search#fields": "item-search#fields",
    "item-search#sort": "item-search#sort",
    "item-search#query": "item-search#query",
}


def validator_python():
    venvs = Path(os.environ.get("TESSERA_TOOLS_VENVS", "/opt/tessera-tools/venvs"))
    python = venvs / "stac-api-validator" / "bin" / "python"
    if not python.exists():
        message = f"stac-api-validator's venv is missing ({python}): run scripts/setup.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(python)


def validator_classes(landing):
    """The validator's names for the classes `landing` advertises, in a stable order."""
    classes = []
    for uri in landing.get("conformsTo", []):
        match = STAC_API_CLASS.fullmatch(uri)
        name = match and VALIDATOR_CLASSES.get(match.group(1))
        if name and name not in classes:
            classes.append(name)
    return classes


def run_validator(base, classes, collection_id, transaction=None):
    """Runs the validator on `base` for `classes`; returns (exit code, output).

    transaction: None, or (collection id, bearer token) to add the transaction class:
    --conformance transaction --transaction-collection C --auth-bearer-token TOKEN (the token
    is then sent on every request)."""
    arguments = ["--root-url", base, "--collection", collection_id, "--geometry", GEOMETRY,
                 "--fields-nested-property", FIELDS_NESTED_PROPERTY, "--validate-pagination", *QUERY_OPTIONS]
    for name in classes:
        if name != "transaction":
            arguments += ["--conformance", name]
    if transaction is not None:
        transaction_collection, token = transaction
        arguments += ["--conformance", "transaction", "--transaction-collection", transaction_collection,
                      "--auth-bearer-token", token]
    run = subprocess.run([validator_python(), str(RUN_VALIDATOR), *arguments], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=900)
    return run.returncode, run.stdout


def fixture_objects(asset_base):
    """A collection and ITEM_COUNT items: two years of acquisitions, cloud cover from 0 to 100,
    footprints on a grid over 0-12°E 40-46°N (MGRS latitude band T) plus one near 20°E 20°N
    (band Q; the validator's "ids do not override bbox" test looks there). Assets are served on
    loopback."""
    items = []
    for n in range(ITEM_COUNT):
        year, month, day, hour = 2023 + n % 2, 1 + (n * 7) % 12, 1 + (n * 11) % 28, (n * 5) % 24
        x, y, size = (20.2, 20.2, 0.5) if n == 0 else (n % 6 * 2.0, 40 + n // 6, 1.5)
        feature = item(f"scene-{n:03d}", COLLECTION, f"{year}-{month:02d}-{day:02d}T{hour:02d}:20:00Z", x, y,
                       size=size, **{"eo:cloud_cover": round((n * 37) % 100 + n / 7, 2),
                                     "platform": "sentinel-2a" if n % 2 else "sentinel-2b",
                                     "mgrs:latitude_band": "Q" if n == 0 else "T"})
        feature["assets"] = {"data": {"href": f"{asset_base}{feature['id']}.tif", "type": "image/tiff",
                                      "title": "data", "roles": ["data"]}}
        items.append(feature)
    times = sorted(feature["properties"]["datetime"] for feature in items)
    boxes = [feature["bbox"] for feature in items]
    validator_collection = collection(COLLECTION)
    validator_collection.update(
        title="stac-api-validator fixture", keywords=["sentinel-2", "test"],
        providers=[{"name": "tessera tests", "roles": ["producer", "host"]}],
        extent={"spatial": {"bbox": [[min(b[0] for b in boxes), min(b[1] for b in boxes),
                                      max(b[2] for b in boxes), max(b[3] for b in boxes)]]},
                "temporal": {"interval": [[times[0], times[-1]]]}},
        summaries={"eo:cloud_cover": {"minimum": 0, "maximum": 100}, "platform": ["sentinel-2a", "sentinel-2b"]},
        # One GeoTIFF data asset: the served collection derives a render from it, and every item
        # links to its TileJSON (docs/service.md), so the validator sees the tile links too.
        item_assets={"data": {"type": "image/tiff", "title": "data", "roles": ["data"]}})
    return validator_collection, items


def serve(catalog_uri, log, *options):
    """Starts `tessera serve` on `catalog_uri` (its stderr to the file `log`); (base URL, process)."""
    with open(log, "w") as stderr:
        process = subprocess.Popen([cli_path(), "serve", "--catalog", catalog_uri, "--port", "0", *options],
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    base = process.stdout.readline().strip()
    if not base.startswith("http://127.0.0.1:"):
        process.kill()
        process.wait(timeout=30)
        pytest.fail(f"tessera serve did not start: {base!r} {log.read_text()[-2000:]}")
    return base, process


def check_validator(catalog_uri, http_folder, tmp_path):
    folder, asset_base = http_folder
    validator_collection, items = fixture_objects(asset_base)
    for feature in items:
        (folder / f"{feature['id']}.tif").write_bytes(b"II*\x00")  # the validator opens each asset href
    catalog = tessera.Catalog.open(catalog_uri)
    catalog.upsert_collection(validator_collection)
    catalog.upsert_collection(collection(TRANSACTION_COLLECTION))
    assert catalog.load(items)["loaded"] == ITEM_COUNT
    python = validator_python()  # skip (or fail in CI) before starting a server
    signer = Signer("rsa")
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(signer)))
    log = tmp_path / "serve.log"
    base, process = serve(catalog_uri, log, "--jwks", str(keys))
    try:
        with urllib.request.urlopen(base, timeout=30) as response:
            landing = json.load(response)
        classes = validator_classes(landing)
        assert "core" in classes, landing.get("conformsTo")
        assert "transaction" in classes, landing.get("conformsTo")
        code, output = run_validator(base, classes, COLLECTION,
                                     transaction=(TRANSACTION_COLLECTION, signer.token(expires_in=3600)))
        print(f"{python} {RUN_VALIDATOR} on {base} with {classes}:\n{output}")  # shown on failure
        print(f"tessera serve's log:\n{log.read_text()[-5000:]}")
        errors = output[output.rfind("\nErrors:"):] if "\nErrors:" in output else output[-3000:]
        assert code == 0 and "Errors: none" in output, \
            f"stac-api-validator failed (exit {code}); its whole output is in the captured stdout.{errors}"
    finally:
        process.kill()
        process.wait(timeout=30)


def test_stac_api_validator_on_sqlite(tmp_path, http_folder):
    check_validator(f"sqlite://{tmp_path / 'catalog.db'}", http_folder, tmp_path)


def test_stac_api_validator_on_pgstac(pgstac_url, http_folder, tmp_path):
    check_validator(pgstac_url, http_folder, tmp_path)
