"""The PgSTAC backend against a real pgstac: interoperability with pypgstac and
pgstac's own search(), concurrent loaders, and a server restart between calls.

scripts/test.sh starts the cluster and sets TESSERA_TEST_PGSTAC_URL; in CI a
missing server fails these tests instead of skipping them.
"""

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tessera
from stac_fixtures import collection, item

PGSTAC_URL = os.environ.get("TESSERA_TEST_PGSTAC_URL")
REPO = Path(__file__).resolve().parents[2]

if not PGSTAC_URL:
    if os.environ.get("CI"):
        pytest.fail("TESSERA_TEST_PGSTAC_URL is not set: the pgstac cluster did not start", pytrace=False)
    pytest.skip("no pgstac cluster (run scripts/test.sh)", allow_module_level=True)

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def catalog():
    cat = tessera.Catalog.open(PGSTAC_URL)
    for existing in cat.collections():
        cat.delete_collection(existing["id"], cascade=True)
    return cat


def pgstac_search(body):
    with psycopg.connect(PGSTAC_URL) as connection:
        connection.execute("SET search_path TO pgstac, public")
        return connection.execute("SELECT search(%s::jsonb)", [json.dumps(body)]).fetchone()[0]


def test_items_loaded_by_pypgstac_are_searchable_through_tessera(catalog, tmp_path):
    catalog.upsert_collection(collection("interop"))
    items = [item(f"py{n}", "interop", f"2022-03-{n + 1:02d}T00:00:00Z", n, 10, **{"eo:cloud_cover": n}) for n in range(5)]
    path = tmp_path / "items.ndjson"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pypgstac.pypgstac", "load", "items", str(path), "--dsn", PGSTAC_URL, "--method", "insert"],
        check=True,
        capture_output=True,
    )
    result = catalog.search(collections=["interop"], sortby="id", limit=10)
    assert [f["id"] for f in result["features"]] == [f"py{n}" for n in range(5)]
    assert catalog.get_item("interop", "py3")["properties"]["eo:cloud_cover"] == 3


def test_items_loaded_by_tessera_are_returned_by_pgstac_search(catalog):
    catalog.upsert_collection(collection("interop"))
    items = [item(f"ts{n}", "interop", f"2022-03-{n + 1:02d}T00:00:00Z", n, 10) for n in range(4)]
    assert catalog.load(items)["loaded"] == 4
    page = pgstac_search({"collections": ["interop"], "limit": 10})
    assert sorted(f["id"] for f in page["features"]) == ["ts0", "ts1", "ts2", "ts3"]
    # cql2-text filters are translated by tessera (pgstac reads only CQL2-JSON).
    result = catalog.search(filter="id IN ('ts1', 'ts2') AND collection = 'interop'")
    assert sorted(f["id"] for f in result["features"]) == ["ts1", "ts2"]


def _load(url, collection_id, start, count):
    cat = tessera.Catalog.open(url)
    items = [item(f"c{n:05d}", collection_id, f"2022-01-{n % 28 + 1:02d}T00:00:00Z", n % 90, n % 80) for n in range(start, start + count)]
    report = cat.load(items, mode="ignore", batch_size=100)
    assert report["failed"] == [], report["failed"][:3]


def test_concurrent_loaders_store_every_item_once(catalog):
    for name in ("conc-a", "conc-b"):
        catalog.upsert_collection(collection(name))
    context = multiprocessing.get_context("spawn")
    # Two loaders per collection with overlapping ranges, all at once.
    jobs = [("conc-a", 0, 600), ("conc-a", 300, 600), ("conc-b", 0, 600), ("conc-b", 200, 600)]
    processes = [context.Process(target=_load, args=(PGSTAC_URL, *job)) for job in jobs]
    for process in processes:
        process.start()
    searched = 0
    while any(p.is_alive() for p in processes):
        catalog.search(limit=1)  # searches keep answering during the loads
        searched += 1
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    with psycopg.connect(PGSTAC_URL) as connection:
        rows = connection.execute(
            "SELECT collection, count(*), count(DISTINCT id) FROM pgstac.items GROUP BY collection ORDER BY 1"
        ).fetchall()
    assert rows == [("conc-a", 900, 900), ("conc-b", 800, 800)]
    assert searched > 0


def test_reconnects_after_server_restart(catalog):
    catalog.upsert_collection(collection("restart"))
    catalog.load([item("r1", "restart", "2022-01-01T00:00:00Z", 0, 0)])
    assert catalog.search(ids=["r1"])["numberReturned"] == 1
    directory = os.environ.get("TESSERA_PG_DIR", "/tmp/tessera-pgstac")
    script = str(REPO / "scripts" / "pgstac_cluster.sh")
    subprocess.run([script, "stop", directory], check=True, capture_output=True)
    try:
        with pytest.raises(tessera.Unavailable):
            catalog.search(ids=["r1"])
    finally:
        subprocess.run([script, "start", directory], check=True, capture_output=True)
    assert catalog.search(ids=["r1"])["numberReturned"] == 1
    assert catalog.get_item("restart", "r1")["id"] == "r1"


def test_statement_timeout_is_a_retryable_error(catalog):
    catalog.upsert_collection(collection("slow"))
    short = tessera.Catalog.open(PGSTAC_URL, statement_timeout_ms=300)
    with psycopg.connect(PGSTAC_URL) as blocker:
        # Another session holds the collections table, so the write waits past the timeout.
        blocker.execute("LOCK TABLE pgstac.collections IN ACCESS EXCLUSIVE MODE")
        start = time.monotonic()
        with pytest.raises(tessera.Unavailable, match="retryable"):
            short.upsert_collection(collection("slow"))
        assert time.monotonic() - start < 30  # retried with backoff, then gave up: never a hang
    short.upsert_collection(collection("slow"))  # works once the lock is gone


def test_bad_uris_and_missing_pgstac():
    with pytest.raises(tessera.Unavailable, match="cannot connect"):
        tessera.Catalog.open("postgresql://nobody@127.0.0.1:1/none")
    # A database without the pgstac schema is refused, not misread.
    with pytest.raises(tessera.Unsupported, match="pgstac"):
        tessera.Catalog.open(PGSTAC_URL.rsplit("/", 1)[0] + "/postgres")
