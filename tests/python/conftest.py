import functools
import http.server
import io
import os
import pathlib
import subprocess
import tempfile
import threading

import pytest

import tessera
from pgstac_fixtures import free_port, pgstac_cluster_url, pgstac_database, required_server_variable

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def storage(tmp_path):
    return tessera.Storage.open(str(tmp_path / "root"))


@pytest.fixture
def pgstac_url():
    """A pgstac database of the test's own (see pgstac_database): a failure in CI when there is
    no test cluster, else a skip."""
    with pgstac_database() as url:
        yield url


@pytest.fixture(scope="session")
def own_pgstac_cluster():
    """A PostgreSQL + pgstac cluster of the test process's own (each pytest-xdist worker has
    one), for tests that stop and start the server: scripts/pgstac_cluster.sh in a fresh folder,
    on a free port, purged at the end, so the cluster other tests share (in parallel) is never
    stopped. Yields (URL of its pgstac database, control) where control("stop") and
    control("start") stop and start it."""
    pgstac_cluster_url()  # the same prerequisites: a skip, or a failure in CI, without them
    script = str(REPO / "scripts" / "pgstac_cluster.sh")
    # Under /tmp, short: the server's user must reach it, and its socket path has a limit.
    directory = tempfile.mkdtemp(prefix="tsr-pg-", dir="/tmp")
    try:
        for attempt in range(3):
            port = str(free_port())
            run = subprocess.run([script, "start", directory, port], capture_output=True, text=True, timeout=900)
            if run.returncode == 0:
                break
            if attempt == 2 or run.returncode == 2:  # taken ports thrice, or missing prerequisites
                pytest.fail(f"cannot start a pgstac cluster of the test's own: {run.stderr[-2000:]}")
        url = run.stdout.strip().splitlines()[-1]

        def control(action):
            subprocess.run([script, action, directory, *([port] if action == "start" else [])], check=True,
                           capture_output=True, timeout=120)

        yield url, control
    finally:
        subprocess.run([script, "stop", "--purge", directory], capture_output=True, timeout=120)


@pytest.fixture
def s3_env():
    """The test S3 server's bucket and client options (started by scripts/test.sh)."""
    endpoint = required_server_variable("TESSERA_TEST_S3_ENDPOINT", "S3 test server")
    options = {
        "endpoint": endpoint,
        "access_key_id": os.environ["TESSERA_TEST_S3_ACCESS_KEY"],
        "secret_access_key": os.environ["TESSERA_TEST_S3_SECRET_KEY"],
    }
    return {"bucket": os.environ["TESSERA_TEST_S3_BUCKET"], "options": options}


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single byte-range GETs, which GDAL's /vsicurl/ needs,
    and redirects: a request for a name listed in `redirects` gets a 302 to
    its target. With `signature` set (a "name=value" query pair), requests
    without it get a 403, as a store wanting presigned URLs answers."""

    redirects = {}
    signature = None
    refused = 0

    def log_message(self, *args):
        pass

    def send_head(self):
        target = self.redirects.get(self.path.lstrip("/"))
        if target is not None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        query = self.path.partition("?")[2]
        if self.signature is not None and self.signature not in query.split("&"):
            type(self).refused += 1
            self.send_error(403)
            return None
        wanted = self.headers.get("Range", "")
        path = self.translate_path(self.path)
        if not wanted.startswith("bytes=") or not os.path.isfile(path):
            return super().send_head()
        data = open(path, "rb").read()
        first, _, last = wanted[len("bytes="):].partition("-")
        first, last = int(first), min(int(last or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        return io.BytesIO(data[first:last + 1])


@pytest.fixture
def http_folder(tmp_path):
    """Serves tmp_path/"served" over HTTP on loopback; yields (folder, base URL).
    The http_redirects fixture adds redirects to it."""
    folder = tmp_path / "served"
    folder.mkdir()
    RangeRequestHandler.redirects = {}
    RangeRequestHandler.signature = None
    RangeRequestHandler.refused = 0
    handler = functools.partial(RangeRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    tessera.configure()


@pytest.fixture
def http_redirects(http_folder):
    """Redirects served by http_folder: {name under the base URL: Location}."""
    return RangeRequestHandler.redirects


@pytest.fixture(scope="session")
def queue_endpoint():
    """The SQS/SNS-compatible test server's endpoint URL: the one scripts/test.sh started
    (TESSERA_TEST_QUEUE_ENDPOINT), else one of this test process's own, started by
    scripts/queue_server.sh in a fresh folder on a free port and stopped at the end."""
    endpoint = os.environ.get("TESSERA_TEST_QUEUE_ENDPOINT")
    if endpoint:
        yield endpoint
        return
    script = str(REPO / "scripts" / "queue_server.sh")
    directory = tempfile.mkdtemp(prefix="tsr-queue-", dir="/tmp")
    try:
        run = subprocess.run([script, "start", directory, str(free_port())], capture_output=True, text=True,
                             timeout=120)
        if run.returncode == 2:  # moto is not installed
            required_server_variable("TESSERA_TEST_QUEUE_ENDPOINT", "SQS/SNS test server")
        if run.returncode != 0:
            pytest.fail(f"cannot start the SQS/SNS test server: {run.stderr[-2000:]}")
        yield run.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", "--purge", directory], capture_output=True, timeout=120)
