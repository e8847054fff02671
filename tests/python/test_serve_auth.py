"""Writes over HTTP through `tessera serve`: bearer tokens verified against a JWKS
(file and URL), 401/403 as the STAC API transaction routes answer them, reads
public unless --require-auth, anonymous writes on loopback only; the same
checks through tessera.Service in Python."""

import json
import subprocess
import urllib.error
import urllib.request

import pytest

import tessera
from jwt_fixtures import ISSUER, Signer, jwks
from stac_fixtures import collection, item
from test_serve import cli_path


def request(method, url, body=None, token=None, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method),
                                    timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def signers():
    return Signer("rsa"), Signer("ec")


def start(tmp_path, *options):
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    catalog.upsert_collection(collection("s2"))
    process = subprocess.Popen([cli_path(), "serve", "--catalog", f"sqlite://{catalog_path}", "--port", "0", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = process.stdout.readline().strip()
    if not base.startswith("http://"):
        process.kill()
        pytest.fail(f"tessera serve did not start: {process.communicate(timeout=30)}")
    return base, catalog, process


@pytest.fixture
def served_with_keys(tmp_path, signers):
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(*signers)))
    base, catalog, process = start(tmp_path, "--jwks", str(keys), "--issuer", ISSUER)
    yield base, catalog
    process.terminate()
    process.wait(timeout=30)


def test_writes_need_a_token_with_the_scope(served_with_keys, signers):
    base, catalog = served_with_keys
    rsa, ec = signers
    landing = json.loads(request("GET", base)[2])
    assert "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction" in landing["conformsTo"]
    items = base + "collections/s2/items"

    status, headers, body = request("POST", items, item("a", "s2", "2024-01-01T00:00:00Z", 5, 45))
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"], body
    assert json.loads(body)["code"] == "Unauthorized"
    status, headers, _ = request("POST", items, item("a", "s2", "2024-01-01T00:00:00Z", 5, 45), rsa.token(scope="stac:read"))
    assert status == 403 and "insufficient_scope" in headers["WWW-Authenticate"]
    assert request("POST", items, item("a", "s2", "2024-01-01T00:00:00Z", 5, 45), rsa.token(expires_in=-3600))[0] == 401
    assert request("POST", items, item("a", "s2", "2024-01-01T00:00:00Z", 5, 45), Signer("rsa", kid="rsa-key").token())[0] == 401  # not our key
    assert request("POST", items, item("a", "s2", "2024-01-01T00:00:00Z", 5, 45), rsa.token(iss="https://elsewhere.test"))[0] == 403

    status, headers, body = request("POST", items, item("a", "s2", "2024-01-01T00:00:00Z", 5, 45), rsa.token())
    assert status == 201, body
    assert headers["Location"] == items + "/a"
    assert catalog.get_item("s2", "a")["id"] == "a"
    status, headers, body = request("PATCH", items + "/a", {"properties": {"eo:cloud_cover": 42}}, ec.token())
    assert status == 204 and body == b"" and "Content-Type" not in headers
    assert catalog.get_item("s2", "a")["properties"]["eo:cloud_cover"] == 42
    assert request("DELETE", items + "/a", token=ec.token())[0] == 204
    assert request("GET", items + "/a")[0] == 404
    assert request("GET", items)[0] == 200  # reads stay public


def test_keys_from_a_url_and_require_auth(tmp_path, signers, http_folder):
    folder, folder_url = http_folder
    (folder / "jwks.json").write_text(json.dumps(jwks(signers[0])))
    base, _, process = start(tmp_path, "--jwks", folder_url + "jwks.json", "--require-auth")
    try:
        assert request("GET", base)[0] == 401
        assert request("GET", base + "collections", token=signers[0].token(scope="stac:read"))[0] == 200
        assert request("GET", base, token=signers[1].token())[0] == 401  # the EC key is not in this set
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_without_keys_writes_are_refused_unless_anonymous_on_loopback(tmp_path):
    base, _, process = start(tmp_path)
    try:
        landing = json.loads(request("GET", base)[2])
        assert not any("transaction" in uri for uri in landing["conformsTo"])
        assert request("POST", base + "collections", collection("new"))[0] == 401
    finally:
        process.terminate()
        process.wait(timeout=30)
    base, catalog, process = start(tmp_path, "--allow-anonymous-writes")
    try:
        assert request("POST", base + "collections", collection("new"))[0] == 201
        assert catalog.get_collection("new")["id"] == "new"
    finally:
        process.terminate()
        process.wait(timeout=30)
    refused = subprocess.run([cli_path(), "serve", "--catalog", "sqlite://:memory:", "--port", "0", "--host",
                              "0.0.0.0", "--allow-anonymous-writes"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "loopback" in refused.stderr


def test_python_service_takes_the_same_options(tmp_path, signers):
    catalog = tessera.Catalog.open(f"sqlite://{tmp_path / 'py.db'}")
    catalog.upsert_collection(collection("s2"))
    service = tessera.Service(catalog, jwks=json.dumps(jwks(*signers)), issuers=[ISSUER])
    body = json.dumps(item("b", "s2", "2024-01-01T00:00:00Z", 5, 45)).encode()
    status, _, _ = service.handle("POST", "/collections/s2/items", [], [("Content-Type", "application/json")], body)
    assert status == 401
    status, headers, answer = service.handle(
        "POST", "/collections/s2/items", [],
        [("Content-Type", "application/json"), ("Authorization", f"Bearer {signers[1].token()}")], body)
    assert status == 201, answer
    with pytest.raises(tessera.InvalidInput, match="require_auth"):
        tessera.Service(catalog, require_auth=True)
    with pytest.raises(tessera.InvalidInput, match="JWKS"):
        tessera.Service(catalog, jwks='{"keys": []}')
