"""`tessera serve` configured from TESSERA_* environment variables (every option has one, documented in
docs/service.md), with command-line flags winning over them."""

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import tessera
from test_serve import cli_path

ROOT = Path(__file__).resolve().parents[2]


def variables_in_help():
    text = subprocess.run([cli_path(), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\(Env:(TESSERA_[A-Z_]+)\)", text))


def test_every_option_has_a_documented_variable():
    variables = variables_in_help()
    documented = set(re.findall(r"`(TESSERA_[A-Z_]+)`", (ROOT / "docs" / "service.md").read_text()))
    assert len(variables) >= 30
    assert {"TESSERA_CATALOG", "TESSERA_PORT", "TESSERA_JWKS", "TESSERA_PACKAGES", "TESSERA_PACKAGE_LOCK_TIMEOUT",
            "TESSERA_NO_TILES", "TESSERA_CORS"} <= variables
    assert variables - documented == set()


def start(tmp_path, environment, *flags):
    catalog_path = tmp_path / "catalog.db"
    tessera.Catalog.open(f"sqlite://{catalog_path}")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TESSERA_")}
    env.update(TESSERA_CATALOG=f"sqlite://{catalog_path}", TESSERA_PORT="0", TESSERA_NO_TILES="true", **environment)
    process = subprocess.Popen([cli_path(), "serve", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    base = process.stdout.readline().strip()
    if not base.startswith("http://"):
        process.kill()
        pytest.fail(f"tessera serve did not start: {process.communicate(timeout=30)}")
    return base, process


def post_search(base, size, origin=None):
    body = json.dumps({"limit": 1, "ids": ["x" * size]}).encode()
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(base + "search", data=body, headers=headers),
                                    timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_options_from_the_environment_and_flags_win(tmp_path):
    environment = {"TESSERA_MAX_BODY_BYTES": "200", "TESSERA_CORS": "https://a.example,https://b.example",
                   "TESSERA_HOST": "127.0.0.1"}
    base, process = start(tmp_path, environment)
    try:
        assert post_search(base, 10)[0] == 200
        assert post_search(base, 500)[0] == 413
        for origin in ("https://a.example", "https://b.example"):
            assert post_search(base, 10, origin)[1]["Access-Control-Allow-Origin"] == origin
        assert "Access-Control-Allow-Origin" not in post_search(base, 10, "https://c.example")[1]
    finally:
        process.terminate()
        process.wait(timeout=30)

    base, process = start(tmp_path, environment, "--max-body-bytes", "100000", "--cors", "https://c.example")
    try:
        assert post_search(base, 500)[0] == 200
        assert post_search(base, 10, "https://c.example")[1]["Access-Control-Allow-Origin"] == "https://c.example"
        assert "Access-Control-Allow-Origin" not in post_search(base, 10, "https://a.example")[1]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_bad_value_in_the_environment_is_refused(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("TESSERA_")}
    env["TESSERA_PORT"] = "not-a-port"
    result = subprocess.run([cli_path(), "serve", "--no-tiles"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0 and "port" in result.stderr.lower()
