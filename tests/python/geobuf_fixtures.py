"""Geobuf documents written by the `geobuf` package from PyPI, the reference the service's
decoder is tested against. It runs from a venv of its own, pinned in
tests/geobuf/requirements.txt and made by scripts/setup.sh ($TESSERA_TOOLS_VENVS, default
/opt/tessera-tools/venvs)."""

import json
import os
import subprocess
from pathlib import Path

import pytest


def geobuf_python():
    venvs = Path(os.environ.get("TESSERA_TOOLS_VENVS", "/opt/tessera-tools/venvs"))
    python = venvs / "geobuf" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"the geobuf venv is missing ({python}): run scripts/setup.sh")
    return str(python)


def write_geobuf(path, geojson, precision=6):
    """Encodes `geojson` with geobuf.encode into `path`."""
    script = ("import json, sys, geobuf; "
              "sys.stdout.buffer.write(geobuf.encode(json.load(sys.stdin), int(sys.argv[1])))")
    run = subprocess.run([geobuf_python(), "-c", script, str(precision)], input=json.dumps(geojson).encode(),
                         capture_output=True, check=True)
    Path(path).write_bytes(run.stdout)
    return path
