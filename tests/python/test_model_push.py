"""Push subscriptions through `tessera serve --models --runner --push`: two pull subscribers, a
webhook (a receiver on loopback that checks each HMAC-SHA256 signature) and the model's SNS topic
(an SQS queue subscribed to it on the queue test server) each receive every event of a run; a
failing receiver's events are retried, become dead letters and are delivered by a replay. Then the
same from Python (Matcher.push_pending, Matcher.dead_letters)."""

import hashlib
import hmac
import http.server
import json
import os
import pathlib
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

import tessera
from stac_fixtures import collection, item
from test_serve import cli_path

REPO = pathlib.Path(__file__).resolve().parents[2]
MOTO_VENV = pathlib.Path(os.environ.get("TESSERA_MOTO_VENV", "/opt/tessera-tools/venvs/moto"))
SECRET = "a-webhook-secret-for-the-tests"
RUN_KINDS = ["run_requested", "run_submitted", "run_started", "run_succeeded"]


def queue_tool(endpoint, *arguments):
    """tests/queue_server/sqs_tool.py in the queue server's venv (its boto3): its output lines."""
    run = subprocess.run([str(MOTO_VENV / "bin" / "python"), str(REPO / "tests" / "queue_server" / "sqs_tool.py"),
                          endpoint, *arguments], capture_output=True, text=True, timeout=120, check=True)
    return run.stdout.splitlines()


def request(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method),
                                    timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver: verifies the signature as docs/matching.md says a receiver should, answers
    500 while `failing`, else keeps the event."""
    events = []
    attempts = []
    failing = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("X-Tessera-Signature", ""))
        event = json.loads(body)
        Receiver.attempts.append((event["id"], signed, self.headers.get("X-Tessera-Event-Id")))
        status = 401 if not signed else 500 if Receiver.failing else 204
        if status == 204:
            Receiver.events.append(event)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver():
    Receiver.events, Receiver.attempts, Receiver.failing = [], [], False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def pull_all(base, subscription):
    events = []
    while True:
        status, page = request("POST", f"{base}/subscriptions/{subscription}/receive")
        assert status == 200, page
        if not page["events"]:
            return events
        assert request("POST", f"{base}/subscriptions/{subscription}/ack",
                       {"events": [event["id"] for event in page["events"]]})[0] == 204
        events += page["events"]


@pytest.fixture
def served(tmp_path, queue_endpoint, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "tessera", "AWS_SECRET_ACCESS_KEY": "tessera-secret",
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    catalog_path = tmp_path / "catalog.db"
    catalog = tessera.Catalog.open(f"sqlite://{catalog_path}")
    catalog.upsert_collection(collection("imagery"))
    process = subprocess.Popen(
        [cli_path(), "serve", "--catalog", f"sqlite://{catalog_path}", "--port", "0", "--no-tiles", "--no-browser",
         "--allow-anonymous-writes", "--runner", "--runner-work-dir", str(tmp_path / "runs"), "--push",
         "--push-allow-loopback", "--push-poll", "0.1", "--push-sns-endpoint", queue_endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = process.stdout.readline().strip().rstrip("/")
    if not base.startswith("http://"):
        process.kill()
        pytest.fail(f"tessera serve did not start: {process.communicate(timeout=30)}")
    yield base, catalog
    process.terminate()
    process.wait(timeout=30)


def test_subscribers_webhook_and_sns_topic_each_receive_every_event_of_a_run(served, receiver, queue_endpoint):
    base, catalog = served
    model = f"pushed-{uuid.uuid4().hex[:12]}"
    status, created = request("POST", f"{base}/models", {"id": model, "name": "pushed",
                                                         "command": ["/bin/sh", "-c", "sleep 0.5"]})
    assert status == 201, created
    square = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
    assert request("POST", f"{base}/models/{model}/aois", {"geometry": square, "resolution": 30})[0] == 201
    queue = queue_tool(queue_endpoint, "create", f"push-{model}")[0]
    queue_tool(queue_endpoint, "subscribe", queue, f"tessera-model-{model}")
    for subscription in ({"id": "first", "model": model}, {"id": "second"},
                         {"id": "hook", "model": model, "webhook": {"url": receiver, "secret": SECRET},
                          "max_attempts": 2, "backoff_seconds": 0.2},
                         {"id": "topic", "model": model, "sns": {}}):
        status, stored = request("POST", f"{base}/subscriptions", subscription)
        assert status == 201, stored
    # The secret is never handed back; a push subscription is not pulled.
    status, listing = request("GET", f"{base}/subscriptions")
    assert status == 200 and SECRET not in json.dumps(listing)
    assert request("GET", f"{base}/subscriptions/hook")[1]["webhook"] == {"url": receiver}
    assert request("POST", f"{base}/subscriptions/hook/receive")[0] == 409
    assert request("POST", f"{base}/subscriptions",
                   {"webhook": {"url": "http://example.com/hook", "secret": SECRET}})[0] == 400

    matcher = tessera.Matcher(catalog)
    assert matcher.load([item("scene", "imagery", "2024-05-01T10:00:00Z", 1, 1, gsd=10)])["loaded"] == 1
    wait_for(lambda: len(Receiver.events) >= 4, "the webhook's events")
    first = pull_all(base, "first")
    assert sorted(event["kind"] for event in first) == sorted(RUN_KINDS)
    ids = sorted(event["id"] for event in first)
    assert sorted(event["id"] for event in pull_all(base, "second")) == ids
    assert sorted(event["id"] for event in Receiver.events) == ids
    assert all(signed and header == str(event) for event, signed, header in Receiver.attempts)
    published = []
    wait_for(lambda: published.extend(json.loads(line) for line in queue_tool(queue_endpoint, "drain", queue))
             or len(published) >= 4, "the SNS topic's events")
    assert sorted(json.loads(message["body"])["id"] for message in published) == ids
    for message in published:
        assert message["attributes"]["kind"] == json.loads(message["body"])["kind"]

    # The receiver fails: two attempts, then a dead letter; replay delivers it once it is back.
    Receiver.failing = True
    status, _ = request("PUT", f"{base}/models/{model}", {"name": "pushed again", "command": ["/bin/true"]})
    assert status == 200
    letters = wait_for(lambda: request("GET", f"{base}/subscriptions/hook/dead-letters")[1]["dead_letters"],
                       "a dead letter")
    assert [(letter["event"]["kind"], letter["attempts"], letter["error"]) for letter in letters] == [
        ("model_updated", 2, "HTTP 500")]
    Receiver.failing = False
    status, _ = request("POST", f"{base}/subscriptions/hook/replay", {"from": letters[0]["event"]["id"]})
    assert status == 200
    wait_for(lambda: any(event["kind"] == "model_updated" for event in Receiver.events), "the replayed event")
    assert request("GET", f"{base}/subscriptions/hook/dead-letters")[1]["dead_letters"] == []
    assert request("GET", f"{base}/subscriptions/nobody/dead-letters")[0] == 404
    assert request("GET", f"{base}/subscriptions/hook/dead-letters?limit=0")[0] == 400
    openapi = request("GET", f"{base}/api")[1]
    assert "/subscriptions/{subscription}/dead-letters" in openapi["paths"]


def test_push_from_python(tmp_path, receiver):
    catalog = tessera.Catalog.open(f"sqlite://{tmp_path / 'catalog.db'}")
    matcher = tessera.Matcher(catalog)
    model = matcher.add_model({"name": "python", "command": ["/bin/true"]})
    matcher.add_subscription({"id": "hook", "model": model, "max_attempts": 1,
                              "webhook": {"url": receiver, "secret": SECRET}})
    assert "secret" not in matcher.get_subscription("hook")["webhook"]
    Receiver.failing = True
    matcher.emit("run_started", model, {"n": 1})
    assert matcher.push_pending({"allow_loopback": True}) == {"delivered": 0, "retried": 0, "dead_lettered": 1}
    [letter] = matcher.dead_letters("hook")["dead_letters"]
    assert letter["error"] == "HTTP 500" and letter["attempts"] == 1
    Receiver.failing = False
    matcher.replay("hook", letter["event"]["id"])
    assert matcher.push_pending({"allow_loopback": True})["delivered"] == 1
    assert [received["id"] for received in Receiver.events] == [letter["event"]["id"]]
    with pytest.raises(tessera.InvalidInput, match="allow_loopback"):
        matcher.push_pending({"allow_loopback": "yes"})
    with pytest.raises(tessera.Conflict, match="pushed"):
        matcher.receive("hook")
