"""Items create_item makes from COGs pass stac-validator, offline.

stac-validator (tests/stac_validator/requirements.txt) runs from a venv of its own that
scripts/setup.sh makes under $TESSERA_TOOLS_VENVS (default /opt/tessera-tools/venvs). Its
--schema-config answers every schema the STAC 1.1.0 Item schema reaches from tests/stac_validator/
schemas/, and a proxy that refuses every connection keeps it from fetching anything else (see
tests/stac_validator/README.md). RFC 7946's ring orientation, which no schema states, is checked
here: exterior rings counter-clockwise.
"""

import json
import os
import subprocess
from pathlib import Path

import numpy
import pytest
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

import tessera
from raster_fixtures import write_cog

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_CONFIG = ROOT / "tests" / "stac_validator" / "schema-config.json"
# Nothing listens on port 9 (discard): any fetch the schema config does not answer fails at once.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}

# 20 rasters of the shapes items come in: (name, EPSG, origin x, origin y, pixel size, band colour
# interpretations or a Sentinel-2 band name for one-band files).
RASTERS = [
    ("utm33-rgb", 32633, 500000, 5200000, 30, "rgb"),
    ("utm33-B04", 32633, 400000, 5300000, 10, "B04"),
    ("utm33-B08", 32633, 400000, 5300000, 10, "B08"),
    ("utm33-B8A", 32633, 400000, 5300000, 20, "B8A"),
    ("utm33-B11", 32633, 400000, 5300000, 20, "B11"),
    ("utm10-north", 32610, 550000, 4100000, 60, None),
    ("utm56-south", 32756, 330000, 6250000, 30, None),
    ("utm60-dateline", 32660, 600000, 7000000, 4000, None),
    ("utm01-dateline", 32601, 100000, 7000000, 4000, None),
    ("wgs84-europe", 4326, 10.0, 50.0, 0.001, "rgb"),
    ("wgs84-tropics", 4326, -60.0, 5.0, 0.0005, None),
    ("wgs84-south", 4326, 140.0, -30.0, 0.01, None),
    ("webmercator", 3857, 1113194.9, 6446275.8, 50, "rgb"),
    ("laea-europe", 3035, 4321000, 3210000, 100, None),
    ("polar-north", 3413, -200000, 200000, 1000, None),
    ("polar-south", 3031, -100000, 100000, 1000, None),
    ("lambert-conus", 5070, 1000000, 2000000, 30, None),
    ("british-grid", 27700, 400000, 300000, 25, None),
    ("swiss-grid", 2056, 2600000, 1200000, 10, "B02"),
    ("rd-new", 28992, 150000, 450000, 5, None),
]


def validator():
    venvs = Path(os.environ.get("TESSERA_TOOLS_VENVS", "/opt/tessera-tools/venvs"))
    program = venvs / "stac-validator" / "bin" / "stac-validator"
    if not program.exists():
        message = f"stac-validator's venv is missing ({program}): run scripts/setup.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(program)


def make_cog(folder, name, epsg, x, y, size, bands):
    rng = numpy.random.default_rng(len(name))
    count = 3 if bands == "rgb" else 1
    data = rng.integers(1, 4000, size=(count, 64, 48)).astype("uint16")
    interpretation = [ColorInterp.red, ColorInterp.green, ColorInterp.blue] if bands == "rgb" else None
    file_name = f"T33UUP_20230501_{bands}.tif" if bands not in (None, "rgb") else f"{name}.tif"
    (folder / name).mkdir()
    return write_cog(folder / name / file_name, data, f"EPSG:{epsg}", from_origin(x, y, size, size), nodata=0,
                     colorinterp=interpretation)


def signed_area(ring):
    """Twice the ring's signed area: positive when counter-clockwise."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:]))


def polygons(geometry):
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def test_items_made_from_cogs_pass_stac_validator(tmp_path):
    program = validator()
    paths = []
    for name, epsg, x, y, size, bands in RASTERS:
        cog = make_cog(tmp_path, name, epsg, x, y, size, bands)
        item = tessera.create_item(cog, id=name, collection="rasters", datetime="2023-05-01T10:00:00Z",
                                   sensor="sentinel-2" if bands not in (None, "rgb") else None)
        assert item["properties"]["gsd"] > 0, name
        assert {"rel": "collection", "href": "../collection.json", "type": "application/json"} in item["links"]
        for polygon in polygons(item["geometry"]):
            assert signed_area(polygon[0]) > 0, f"{name}: exterior ring is clockwise"
            for hole in polygon[1:]:
                assert signed_area(hole) < 0, f"{name}: hole is counter-clockwise"
        if bands == "rgb":
            names = [band.get("eo:common_name") for band in item["properties"]["bands"]]
            assert names == ["red", "green", "blue"], name
        elif bands is not None:
            assert item["properties"]["bands"][0]["eo:center_wavelength"] > 0, name
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(item))
        paths.append(path)
    assert len(paths) == 20
    failures = []
    for path in paths:
        run = subprocess.run([program, "validate", str(path), "--core", "--schema-config", str(SCHEMA_CONFIG)],
                             capture_output=True, text=True, env={**os.environ, **NO_NETWORK}, timeout=120)
        report = json.loads(run.stdout[run.stdout.index("["):run.stdout.rindex("]") + 1])
        if run.returncode != 0 or not report[0]["valid_stac"]:
            failures.append(f"{path.name}: {report[0].get('error_message')}")
    assert not failures, "\n".join(failures)


def test_the_validator_sees_what_create_item_used_to_get_wrong(tmp_path):
    # The offline set-up finds the error items had before: a collection without its link.
    program = validator()
    item = tessera.create_item(make_cog(tmp_path, "plain", 32633, 500000, 5200000, 30, None), collection="rasters")
    item["links"] = []
    path = tmp_path / "unlinked.json"
    path.write_text(json.dumps(item))
    run = subprocess.run([program, "validate", str(path), "--core", "--schema-config", str(SCHEMA_CONFIG)],
                         capture_output=True, text=True, env={**os.environ, **NO_NETWORK}, timeout=120)
    assert run.returncode == 1
    assert "missing a link with rel='collection'" in run.stdout
