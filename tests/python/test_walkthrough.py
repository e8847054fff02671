"""The guided demo (examples/python/walkthrough.py) runs end to end and leaves
what it says it made: matched runs and predictions, a mosaic, a valid package."""

import json
import pathlib
import subprocess
import sys

import frictionless

import tessera

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_walkthrough_runs_end_to_end(tmp_path):
    countries = subprocess.run([str(ROOT / "scripts" / "natural_earth.sh"), str(tmp_path / "data")],
                               check=True, capture_output=True, text=True).stdout.strip()
    work = tmp_path / "walkthrough"
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "walkthrough.py"), str(work), countries],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "[7/7]" in run.stdout and "frictionless validate: valid" in run.stdout

    state = json.loads((work / "walkthrough.json").read_text())
    catalog = tessera.Catalog.open(state["catalog"])
    assert catalog.search({"collections": ["scenes"], "limit": 100})["numberMatched"] == 9
    assert catalog.registered_search(state["search_id"])["metadata"]["name"] == "clear scenes over Luxembourg"
    matcher = tessera.Matcher(catalog)
    # Clear scenes touching the country, each run once and recorded.
    assert matcher.summary("vegetation")["predictions"] == 4
    assert sorted(work.glob("ndvi-9-*.png"))
    report = frictionless.validate(str(work / "packages" / "luxembourg" / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
