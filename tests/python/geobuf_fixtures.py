"""Geobuf documents written by the `geobuf` package from PyPI, pinned, in a venv of its own
(build/venvs/geobuf, made on first use): the reference the service's decoder is tested against."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GEOBUF_PIN = "geobuf==2.0.1"
VENV = Path(os.environ.get("TESSERA_GEOBUF_VENV", Path(__file__).resolve().parents[2] / "build" / "venvs" / "geobuf"))


def geobuf_python():
    python = VENV / "bin" / "python"
    pin_file = VENV / "pin.txt"
    if not python.exists() or not pin_file.exists() or pin_file.read_text() != GEOBUF_PIN:
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], capture_output=True, text=True)
        installed = made.returncode == 0 and subprocess.run(
            [str(python), "-m", "pip", "install", "-q", GEOBUF_PIN], capture_output=True, text=True).returncode == 0
        if not installed:
            pytest.fail(f"cannot make the geobuf venv at {VENV} ({GEOBUF_PIN})")
        pin_file.write_text(GEOBUF_PIN)
    return str(python)


def write_geobuf(path, geojson, precision=6):
    """Encodes `geojson` with geobuf.encode into `path`."""
    script = ("import json, sys, geobuf; "
              "sys.stdout.buffer.write(geobuf.encode(json.load(sys.stdin), int(sys.argv[1])))")
    run = subprocess.run([geobuf_python(), "-c", script, str(precision)], input=json.dumps(geojson).encode(),
                         capture_output=True, check=True)
    Path(path).write_bytes(run.stdout)
    return path
