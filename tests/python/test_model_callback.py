"""Models report their predictions through the callback of `tessera serve --models --runner`, with
no database access: a model written in Python and one in shell (curl) each get their run's
TESSERA_CALLBACK_URL, TESSERA_CALLBACK_TOKEN and TESSERA_RUN_ID and nothing of the host's secrets,
POST a STAC label item to their run's predictions route and end their run; their token opens no
other route (the service runs with --require-auth, so reads need a token too)."""

import json
import socket
import subprocess
import sys
import time

import pytest

import tessera
from jwt_fixtures import ISSUER, Signer, jwks
from stac_fixtures import collection, item
from test_serve import cli_path
from test_serve_auth import request as http_request

# Host variables a model must never see.
HOST_SECRETS = {
    "PGPASSWORD": "pg-secret-callback-1",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-callback-2",
    "DATABASE_URL": "postgresql://user:db-secret-callback-3@localhost/db",
}


def request(method, url, body=None, token=None):
    status, _, payload = http_request(method, url, body, token)
    return status, json.loads(payload or b"null")


def label_item(item_id, geometry):
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "geometry": geometry,
        "bbox": [1, 1, 2, 2],
        "properties": {
            "datetime": "2024-05-02T00:00:00Z",
            "label:properties": ["class"],
            "label:description": "water mask",
            "label:type": "vector",
            "label:tasks": ["segmentation"],
            "label:classes": [{"name": "class", "classes": ["water", "land"]}],
            "label:overviews": [{"property_key": "class", "counts": [{"name": "water", "count": 4}]}],
        },
        "links": [{"rel": "source", "href": "https://example.com/imagery/scene.json"}],
        "assets": {"labels": {"href": f"s3://results/{item_id}.geojson", "type": "application/geo+json"}},
    }


# The Python model: reads the item file it is given, shows what its environment holds, tries its
# token on routes that are not its run's, then reports its prediction and ends its run.
PYTHON_MODEL = r'''
import json, os, sys, urllib.error, urllib.request
item = json.load(open(sys.argv[-1]))
url, token = os.environ["TESSERA_CALLBACK_URL"], os.environ["TESSERA_CALLBACK_TOKEN"]
base = url.split("/models/")[0]

def call(method, target, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(target, data, headers, method=method), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code

print("environment", " ".join(sorted(os.environ)))
print("run", os.environ["TESSERA_RUN_ID"])
print("elsewhere", call("GET", base + "/models"), call("GET", base + "/collections"),
      call("POST", base + "/models", {"name": "x", "command": ["true"]}),
      call("POST", base + "/collections/imagery/items", item),
      call("GET", url.rsplit("/predictions", 1)[0]))
label = json.loads(sys.argv[1])
label["geometry"] = item["geometry"]
print("reported", call("POST", url + "?final=true", label))
'''

# The shell model: curl posts a prepared label item and ends the run.
SHELL_MODEL = (
    'env | cut -d= -f1 | sort | tr "\\n" " "; echo; '
    'curl -s -o /dev/null -w "reported %{http_code}\\n" -X POST '
    '-H "Authorization: Bearer $TESSERA_CALLBACK_TOKEN" -H "Content-Type: application/json" '
    '--data @"$LABEL_FILE" "$TESSERA_CALLBACK_URL?final=true"'
)


@pytest.fixture
def served(tmp_path, monkeypatch):
    for name, value in HOST_SECRETS.items():
        monkeypatch.setenv(name, value)
    admin = Signer("rsa")
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(admin)))
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    catalog.upsert_collection(collection("imagery"))
    process = subprocess.Popen(
        [cli_path(), "serve", "--catalog", f"sqlite://{catalog_path}", "--port", "0", "--no-tiles", "--no-browser",
         "--jwks", str(keys), "--issuer", ISSUER, "--require-auth", "--runner",
         "--runner-work-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = process.stdout.readline().strip().rstrip("/")
    if not base.startswith("http://"):
        process.kill()
        pytest.fail(f"tessera serve did not start: {process.communicate(timeout=30)}")
    yield base, catalog, admin
    process.terminate()
    process.wait(timeout=30)


def wait_for_runs(base, model, token, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, page = request("GET", f"{base}/models/{model}/runs", token=token)
        assert status == 200, page
        if len(page["runs"]) >= count and all(run["state"] not in ("requested", "submitted", "running")
                                              for run in page["runs"]):
            return page["runs"]
        time.sleep(0.1)
    pytest.fail(f"runs of {model} did not end: {page}")


def run_log(base, model, run, token, timeout=30):
    """The run's whole log, once the runner has collected the model's last output (it may end the run first)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = request("GET", f"{base}/models/{model}/runs/{run}/logs?limit=1000", token=token)[1]["entries"]
        text = "".join(entry["text"] for entry in entries)
        if "reported" in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def test_python_and_shell_models_report_through_the_callback(served, tmp_path):
    base, catalog, admin = served
    writer = admin.token(scope="models:write")
    reader = admin.token(scope="models:read")
    # Models and AOIs over HTTP, with the scope.
    assert request("POST", f"{base}/models", {"name": "py", "command": ["true"]}, admin.token())[0] == 403
    status, python_model = request("POST", f"{base}/models", {
        "name": "python-segmenter",
        "command": [sys.executable, "-c", PYTHON_MODEL, json.dumps(label_item("py-label", None))],
        "item_argument": "file"}, writer)
    assert status == 201, python_model
    label_file = tmp_path / "label.json"
    label_file.write_text(json.dumps(label_item("sh-label", item("scene", "imagery", "2024-05-01T10:00:00Z", 1, 1)
                                                 ["geometry"])))
    status, shell_model = request("POST", f"{base}/models", {
        "name": "shell-segmenter", "command": ["/bin/sh", "-c", SHELL_MODEL],
        "env": {"LABEL_FILE": str(label_file)}}, writer)
    assert status == 201, shell_model
    square = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
    for model in (python_model, shell_model):
        status, aoi = request("POST", f"{base}/models/{model['id']}/aois", {"geometry": square, "resolution": 30},
                              writer)
        assert status == 201, aoi
    # New imagery: the host loads it with the matching hook; the server's runner takes it from there.
    matcher = tessera.Matcher(catalog)
    scene = item("scene", "imagery", "2024-05-01T10:00:00Z", 1, 1, gsd=10)
    assert matcher.load([scene])["loaded"] == 1

    for model, label in ((python_model, "py-label"), (shell_model, "sh-label")):
        [run] = wait_for_runs(base, model["id"], reader, 1)
        logs = run_log(base, model["id"], run["id"], reader)
        assert run["state"] == "succeeded" and run.get("reported") is True, (run, logs)
        assert "reported 201" in logs, logs
        environment = logs.splitlines()[0].split()
        # The callback variables, the allow-list and what the model set: nothing else of the host's.
        assert {"TESSERA_CALLBACK_URL", "TESSERA_CALLBACK_TOKEN", "TESSERA_RUN_ID"} <= set(environment), logs
        for name in HOST_SECRETS:
            assert name not in environment, logs
        for value in HOST_SECRETS.values():
            assert value not in logs
        assert "eyJ" not in logs  # the token is scrubbed from the stored log
        status, prediction = request("GET", f"{base}/models/{model['id']}/predictions/{label}", token=reader)
        assert status == 200 and prediction["properties"]["label:type"] == "vector", prediction
        status, page = request("GET", f"{base}/models/{model['id']}/predictions", token=reader)
        assert status == 200 and [feature["id"] for feature in page["features"]] == [label]
    # The Python model's token opened none of the routes that are not its run's callback.
    [run] = wait_for_runs(base, python_model["id"], reader, 1)
    logs = run_log(base, python_model["id"], run["id"], reader)
    assert "elsewhere 401 401 401 401 401" in logs, logs
    assert f"run {run['id']}" in logs
    summary = request("GET", f"{base}/models/{python_model['id']}/summary", token=reader)[1]
    assert summary["predictions"] == 1 and summary["runs"]["by_state"] == {"succeeded": 1}
    # Events of the run, in order, each with the run.
    kinds = [event["kind"] for event in matcher.events(model=python_model["id"])]
    assert kinds[0] == "run_submitted" and "prediction_received" in kinds and kinds[-1] == "run_succeeded", kinds


def test_runs_report_to_the_callback_url_given_and_a_wildcard_host_prints_a_reachable_url(tmp_path):
    # The server listens on every address; models are told the URL the operator gave (a name, as a proxy
    # or another host would use), and the printed URL is one a client on this machine can open.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    admin = Signer("rsa")
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(admin)))
    writer = admin.token(scope="models:write")
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    catalog.upsert_collection(collection("imagery"))
    process = subprocess.Popen(
        [cli_path(), "serve", "--catalog", f"sqlite://{catalog_path}", "--host", "0.0.0.0", "--port", str(port),
         "--no-tiles", "--no-browser", "--jwks", str(keys), "--issuer", ISSUER, "--runner",
         "--callback-url", f"http://localhost:{port}", "--runner-work-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip().rstrip("/")
        assert base == f"http://127.0.0.1:{port}", (base, process.stderr.read() if not base else "")
        label_file = tmp_path / "label.json"
        label_file.write_text(json.dumps(label_item("cb-label", item("scene", "imagery", "2024-05-01T10:00:00Z",
                                                                       1, 1)["geometry"])))
        status, model = request("POST", f"{base}/models", {
            "name": "callback-url", "command": ["/bin/sh", "-c", 'echo "url $TESSERA_CALLBACK_URL"; ' + SHELL_MODEL],
            "env": {"LABEL_FILE": str(label_file)}}, writer)
        assert status == 201, model
        square = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
        assert request("POST", f"{base}/models/{model['id']}/aois", {"geometry": square, "resolution": 30},
                       writer)[0] == 201
        assert tessera.Matcher(catalog).load([item("scene", "imagery", "2024-05-01T10:00:00Z", 1, 1, gsd=10)])[
            "loaded"] == 1
        [run] = wait_for_runs(base, model["id"], writer, 1)
        logs = run_log(base, model["id"], run["id"], writer)
        assert f"url http://localhost:{port}/models/{model['id']}/runs/{run['id']}/predictions" in logs, logs
        assert run["state"] == "succeeded" and "reported 201" in logs, (run, logs)
    finally:
        process.terminate()
        process.wait(timeout=30)
