"""The PgSTAC backend against a real pgstac: interoperability with pypgstac and
pgstac's own search(), concurrent loaders, and a server restart between calls.

scripts/test.sh starts the cluster and sets TESSERA_TEST_PGSTAC_URL; in CI a
missing server fails these tests instead of skipping them. Each test has a
database of its own on it (the pgstac_url fixture); the tests that stop and
start the server have a cluster of their own (own_pgstac_cluster).
"""

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest

import tessera
from stac_fixtures import collection, item

if not os.environ.get("TESSERA_TEST_PGSTAC_URL"):
    if os.environ.get("CI"):
        pytest.fail("TESSERA_TEST_PGSTAC_URL is not set: the pgstac cluster did not start", pytrace=False)
    pytest.skip("no pgstac cluster (run scripts/test.sh)", allow_module_level=True)

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def catalog(pgstac_url):
    return tessera.Catalog.open(pgstac_url)


@pytest.fixture
def restartable(own_pgstac_cluster):
    """A catalog on a cluster of the test process's own, emptied, and the control that stops and
    starts that cluster."""
    url, control = own_pgstac_cluster
    cat = tessera.Catalog.open(url)
    for existing in cat.collections():
        cat.delete_collection(existing["id"], cascade=True)
    return url, cat, control


def pgstac_search(url, body):
    with psycopg.connect(url) as connection:
        connection.execute("SET search_path TO pgstac, public")
        return connection.execute("SELECT search(%s::jsonb)", [json.dumps(body)]).fetchone()[0]


def test_items_loaded_by_pypgstac_are_searchable_through_tessera(catalog, pgstac_url, tmp_path):
    catalog.upsert_collection(collection("interop"))
    items = [item(f"py{n}", "interop", f"2022-03-{n + 1:02d}T00:00:00Z", n, 10, **{"eo:cloud_cover": n}) for n in range(5)]
    path = tmp_path / "items.ndjson"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pypgstac.pypgstac", "load", "items", str(path), "--dsn", pgstac_url, "--method", "insert"],
        check=True,
        capture_output=True,
    )
    result = catalog.search(collections=["interop"], sortby="id", limit=10)
    assert [f["id"] for f in result["features"]] == [f"py{n}" for n in range(5)]
    assert catalog.get_item("interop", "py3")["properties"]["eo:cloud_cover"] == 3


def test_items_loaded_by_tessera_are_returned_by_pgstac_search(catalog, pgstac_url):
    catalog.upsert_collection(collection("interop"))
    items = [item(f"ts{n}", "interop", f"2022-03-{n + 1:02d}T00:00:00Z", n, 10) for n in range(4)]
    assert catalog.load(items)["loaded"] == 4
    page = pgstac_search(pgstac_url, {"collections": ["interop"], "limit": 10})
    assert sorted(f["id"] for f in page["features"]) == ["ts0", "ts1", "ts2", "ts3"]
    # cql2-text filters are translated by tessera (pgstac reads only CQL2-JSON).
    result = catalog.search(filter="id IN ('ts1', 'ts2') AND collection = 'interop'")
    assert sorted(f["id"] for f in result["features"]) == ["ts1", "ts2"]


def _load(url, collection_id, start, count):
    cat = tessera.Catalog.open(url)
    items = [item(f"c{n:05d}", collection_id, f"2022-01-{n % 28 + 1:02d}T00:00:00Z", n % 90, n % 80) for n in range(start, start + count)]
    report = cat.load(items, mode="ignore", batch_size=100)
    assert report["failed"] == [], report["failed"][:3]


def test_concurrent_loaders_store_every_item_once(catalog, pgstac_url):
    for name in ("conc-a", "conc-b"):
        catalog.upsert_collection(collection(name))
    context = multiprocessing.get_context("spawn")
    # Two loaders per collection with overlapping ranges, all at once.
    jobs = [("conc-a", 0, 600), ("conc-a", 300, 600), ("conc-b", 0, 600), ("conc-b", 200, 600)]
    processes = [context.Process(target=_load, args=(pgstac_url, *job)) for job in jobs]
    for process in processes:
        process.start()
    searched = 0
    while any(p.is_alive() for p in processes):
        catalog.search(limit=1)  # searches keep answering during the loads
        searched += 1
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    with psycopg.connect(pgstac_url) as connection:
        rows = connection.execute(
            "SELECT collection, count(*), count(DISTINCT id) FROM pgstac.items GROUP BY collection ORDER BY 1"
        ).fetchall()
    assert rows == [("conc-a", 900, 900), ("conc-b", 800, 800)]
    assert searched > 0


# The tests below stop and start the server: a cluster of the test process's own (one per
# pytest-xdist worker that runs them), never the one the other tests share.


def test_reconnects_after_server_restart(restartable):
    _, catalog, cluster = restartable
    catalog.upsert_collection(collection("restart"))
    catalog.load([item("r1", "restart", "2022-01-01T00:00:00Z", 0, 0)])
    assert catalog.search(ids=["r1"])["numberReturned"] == 1
    cluster("stop")
    try:
        with pytest.raises(tessera.Unavailable):
            catalog.search(ids=["r1"])
    finally:
        cluster("start")
    assert catalog.search(ids=["r1"])["numberReturned"] == 1
    assert catalog.get_item("restart", "r1")["id"] == "r1"


def _stored_ids(url, collection_id):
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT id FROM pgstac.items WHERE collection = %s", [collection_id]).fetchall()
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), "an item is stored twice"
    return set(ids)


@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_server_stopped_during_a_load_loses_and_duplicates_nothing(restartable, mode):
    """The server stops while batches are being written and comes back a few
    seconds later: the batches written while it was down are reported failed
    and retryable, the load carries on once it is back, and loading the
    failed items again stores every item exactly once."""
    url, catalog, cluster = restartable
    catalog.upsert_collection(collection("outage"))
    items = [item(f"o{n:05d}", "outage", f"2022-01-{n % 28 + 1:02d}T00:00:00Z", n % 90, n % 80, v=1) for n in range(4000)]
    by_id = {i["id"]: i for i in items}
    stop_now = threading.Event()
    stopped = threading.Event()
    restarted = threading.Event()

    def outage():
        stop_now.wait(60)
        try:
            cluster("stop")  # fast shutdown: the in-flight transaction is cut off
            stopped.set()
            time.sleep(1)
        finally:
            cluster("start")
            restarted.set()

    controller = threading.Thread(target=outage)
    controller.start()
    batches = []

    def progress(processed):
        batches.append(processed)
        if len(batches) == 3:
            stop_now.set()
        # The load must not outrun the stop (which takes a second or two):
        # batches keep going, slowly, until the server is down.
        if stop_now.is_set() and not stopped.is_set():
            time.sleep(0.2)

    started = time.monotonic()
    try:
        report = catalog.load(items, mode=mode, batch_size=100, progress=progress)
    finally:
        stop_now.set()
        controller.join(180)
    assert time.monotonic() - started < 120, "the load hung on the stopped server"
    failed = report["failed"]
    assert failed, "the server stop did not land during the load"
    assert all(f["retryable"] and "retryable" in f["error"] for f in failed), failed[:3]
    assert report["loaded"] + len(failed) == len(items)
    assert report["loaded"] > 0, "the load did not resume after the restart"

    # Retrying what failed completes the load. A batch whose COMMIT reached the
    # server just before it stopped is reported failed though stored: insert
    # finds it there (Conflict-like failure), upsert rewrites it.
    again = catalog.load([by_id[f["id"]] for f in failed], mode=mode)
    if mode == "insert":
        assert all("already exists" in f["error"] for f in again["failed"]), again["failed"][:3]
    else:
        assert again["failed"] == []
    assert _stored_ids(url, "outage") == set(by_id)
    assert catalog.search(collections=["outage"], limit=1)["numberMatched"] == len(items)


def test_searches_while_the_server_restarts_fail_retryable_and_recover(restartable):
    url, catalog, cluster = restartable
    catalog.upsert_collection(collection("outage-search"))
    items = [item(f"s{n:03d}", "outage-search", "2022-01-01T00:00:00Z", n % 90, 0) for n in range(50)]
    assert catalog.load(items)["loaded"] == len(items)
    outcomes = []
    done = threading.Event()

    def search_until_done():
        while not done.is_set():
            started = time.monotonic()
            try:
                result = catalog.search(collections=["outage-search"], limit=100)
                outcomes.append(("ok", sorted(f["id"] for f in result["features"]), time.monotonic() - started))
            except tessera.Unavailable as error:
                outcomes.append(("unavailable", str(error), time.monotonic() - started))
            time.sleep(0.02)

    searcher = threading.Thread(target=search_until_done)
    searcher.start()
    try:
        time.sleep(0.3)
        cluster("stop")
        time.sleep(0.5)
        with pytest.raises(tessera.Unavailable, match="retryable|cannot connect"):
            tessera.Catalog.open(url)
    finally:
        cluster("start")
        time.sleep(0.5)
        done.set()
        searcher.join(60)
    kinds = [kind for kind, _, _ in outcomes]
    assert "unavailable" in kinds and kinds[-1] == "ok", kinds
    expected = sorted(i["id"] for i in items)
    assert all(found == expected for kind, found, _ in outcomes if kind == "ok")
    assert max(seconds for _, _, seconds in outcomes) < 15, "a search hung on the stopped server"
    assert catalog.search(collections=["outage-search"], limit=100)["numberReturned"] == len(items)


def test_statement_timeout_is_a_retryable_error(catalog, pgstac_url):
    catalog.upsert_collection(collection("slow"))
    short = tessera.Catalog.open(pgstac_url, statement_timeout_ms=300)
    with psycopg.connect(pgstac_url) as blocker:
        # Another session holds the collections table, so the write waits past the timeout.
        blocker.execute("LOCK TABLE pgstac.collections IN ACCESS EXCLUSIVE MODE")
        start = time.monotonic()
        with pytest.raises(tessera.Unavailable, match="retryable"):
            short.upsert_collection(collection("slow"))
        assert time.monotonic() - start < 30  # retried with backoff, then gave up: never a hang
    short.upsert_collection(collection("slow"))  # works once the lock is gone


def test_bad_uris_and_missing_pgstac(pgstac_url):
    with pytest.raises(tessera.Unavailable, match="cannot connect"):
        tessera.Catalog.open("postgresql://nobody@127.0.0.1:1/none")
    # A database without the pgstac schema is refused, not misread.
    with pytest.raises(tessera.Unsupported, match="pgstac"):
        tessera.Catalog.open(pgstac_url.rsplit("/", 1)[0] + "/postgres")


# --- Dehydration: rows tessera builds on the client are pgstac's own ---------

ITEM_ASSETS = {
    "visual": {
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["visual", "data"],
        "title": "Caf\u00e9 \"true\" colour",
        "gsd": 10,
        "eo:bands": [{"name": "B04", "common_name": "red"}, {"name": "B03", "common_name": "green"}],
        "raster:bands": [{"nodata": 0, "scale": 1.5}, {"nodata": 0}],
    },
    "thumbnail": {"type": "image/png", "roles": ["thumbnail"], "title": "Thumbnail"},
    "metadata": {"type": "application/xml", "roles": ["metadata"]},
}


def _without_null_members(value):
    """What pgstac keeps of an item: JSON null object members go (array elements stay)."""
    if isinstance(value, dict):
        return {k: _without_null_members(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_null_members(v) for v in value]
    return value


def _dehydration_items(collection_id, version):
    """Items whose values partly equal and partly differ from the collection's item_assets."""
    base = item("plain", collection_id, "2023-01-02T03:04:05.123456Z", 1, 2, v=version)
    base["assets"] = {
        # Same type, roles, title and bands as item_assets: only the href is the item's own.
        "visual": {
            "href": "s3://bucket/plain/visual.tif",
            "type": ITEM_ASSETS["visual"]["type"],
            "roles": ["visual", "data"],
            "title": ITEM_ASSETS["visual"]["title"],
            "gsd": 10.0,  # equal as a number
            "eo:bands": [{"name": "B04", "common_name": "red"}, {"name": "B03", "common_name": "green"}],
            "raster:bands": [{"nodata": 0, "scale": 1.5}, {"nodata": 0}],
        },
        "thumbnail": {"href": "https://example.com/plain.png", "type": "image/png", "roles": ["thumbnail"], "title": "Thumbnail"},
        # "metadata" is absent: pgstac marks it so it is not rehydrated.
    }
    differing = item(
        "differing",
        collection_id,
        "2023-02-01T00:00:00+02:00",
        -5,
        -5,
        v=version,
        explicit_null=None,
        nested={"a": {"b": 1, "c": None, "d": [1, None, {"e": None, "f": "g"}]}, "empty": {}, "list": []},
        backslashes="C:\\temp\\b and a tab\t and a newline\n",
        unicode="\u00e9\u4e2d\U0001F600",
        big=12345678901234567890,
        decimals=1.10,
        exponent=1e-7,
    )
    differing["assets"] = {
        "visual": {
            "href": "s3://bucket/differing/visual.tif",
            "type": ITEM_ASSETS["visual"]["type"],
            "roles": ["visual"],  # shorter than the base's: kept whole
            "title": None,  # explicitly null where the base has a title: not rehydrated
            "gsd": 20,
            "eo:bands": [{"name": "B04", "common_name": "red"}, {"name": "B8A"}],  # same length, one differs
            "raster:bands": [None, {"nodata": 0, "unit": "m"}],
        },
        "thumbnail": {"href": "https://example.com/differing.png", "type": "image/jpeg"},
        "metadata": {"href": "https://example.com/differing.xml", "type": "application/xml", "roles": ["metadata"]},
        "extra": {"href": "https://example.com/extra.json", "roles": []},
    }
    differing["stac_version"] = "1.0.0"  # differs from the collection's
    differing["stac_extensions"] = ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"]
    differing["links"] = [{"rel": "self", "href": "https://example.com/differing.json"}]
    differing["custom"] = {"kept": True, "null": None}
    # A range, with datetime set too: pgstac's columns take start and end.
    ranged = item("ranged", collection_id, "2023-03-05T00:00:00Z", 100, 10, v=version)
    ranged["properties"]["start_datetime"] = "2023-03-01T00:00:00Z"
    ranged["properties"]["end_datetime"] = "2023-03-31T23:59:59.999999Z"
    ranged["assets"] = {}
    # Only start_datetime: pgstac's columns take datetime for both ends.
    half = item("half-range", collection_id, "2023-04-05T00:00:00Z", 100, 10, v=version)
    half["properties"]["start_datetime"] = "2023-04-01T00:00:00Z"
    # A 3D MultiPolygon and a range with datetime null.
    solid = item("solid", collection_id, "2023-05-01T00:00:00Z", 0, 0, v=version)
    solid["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [[[[0, 0, 1], [1, 0, 1.5], [1, 1, 2], [0, 0, 1]]], [[[2, 2, 0], [3, 2, 0], [3, 3, 0], [2, 2, 0]]]],
    }
    solid["bbox"] = [0, 0, 0, 3, 3, 2]
    solid["properties"]["datetime"] = None
    solid["properties"]["start_datetime"] = "2023-05-01T00:00:00Z"
    solid["properties"]["end_datetime"] = "2023-05-02T00:00:00Z"
    point = item("point", collection_id, "2023-06-01T12:00:00Z", 0, 0, v=version)
    point["geometry"] = {"type": "Point", "coordinates": [-179.999999999, 89.123456789012345]}
    point["bbox"] = [-179.999999999, 89.123456789012345, -179.999999999, 89.123456789012345]
    return [base, differing, ranged, half, solid, point]


def _check_rows_are_pgstacs(connection, collection_id, items):
    for original in items:
        row = connection.execute(
            """
            SELECT i.content = d.content, i.content, d.content,
                   i.datetime = d.datetime AND i.end_datetime = d.end_datetime,
                   ST_AsEWKB(i.geometry) = ST_AsEWKB(d.geometry),
                   get_item(i.id, i.collection)
            FROM items i, content_dehydrate(%s::jsonb) d
            WHERE i.collection = %s AND i.id = %s
            """,
            [json.dumps(original), collection_id, original["id"]],
        ).fetchone()
        assert row is not None, original["id"]
        same_content, mine, theirs, same_times, same_geometry, hydrated = row
        assert same_content, (original["id"], mine, theirs)
        assert same_times, original["id"]
        assert same_geometry, original["id"]
        assert hydrated == _without_null_members(original), original["id"]


def _check_hydration_is_pgstacs(catalog, url, collection_id):
    """tessera's search and get_item (stored rows hydrated in C++) against pgstac's search() and
    get_item() (hydrated in PL/pgSQL), on every item of the collection."""
    theirs = pgstac_search(url, {"collections": [collection_id], "limit": 1000})["features"]
    mine = catalog.search(collections=[collection_id], limit=1000)["features"]
    assert theirs and {f["id"]: f for f in mine} == {f["id"]: f for f in theirs}
    with psycopg.connect(url) as connection:
        connection.execute("SET search_path TO pgstac, public")
        for feature in theirs:
            own = connection.execute("SELECT get_item(%s, %s)", [feature["id"], collection_id]).fetchone()[0]
            assert catalog.get_item(collection_id, feature["id"]) == own == feature


def test_hydration_follows_pgstacs_merge_rules(catalog, pgstac_url):
    """Stored contents pgstac's loader never writes but its merge_jsonb() defines: the marker of
    a deleted key, empty objects and arrays on both sides (jsonb_object_agg and jsonb_agg over no
    rows are NULL, so the member goes), arrays of equal and of different lengths, nulls inside
    arrays, escaped keys and strings, numbers spelled as stored, and a collection without
    item_assets."""
    cid = "merge-rules"
    catalog.upsert_collection(dict(collection(cid), item_assets={
        "a": {"type": "image/tiff", "roles": ["data"], "empty": {}, "none": [], "nested": {"x": 1, "y": {"z": 2}},
              "bands": [{"name": "b1"}, {"name": "b2", "nodata": 0}], "tab\tkey": "v"},
        "gone": {"type": "text/plain"},
    }))
    marker = "\U0001235F\u203B"  # pgstac's "𒍟※": a key the item had not
    stored = [
        {"assets": {"a": {"href": "a.tif", "empty": {}, "none": [], "nested": {"y": {"w": 3}},
                          "bands": [{"nodata": 5}, None], "tab\tkey": "own"}, "gone": marker},
         "properties": {"datetime": "2023-01-01T00:00:00Z", "n": 1.50, "e": 1e-7, "big": 12345678901234567890,
                        "s": "quote \" and \u00e9", "list": [None, {"k": None}], "obj": {"k": None}}},
        {"assets": {"a": {"href": "b.tif", "bands": [{"name": "only"}], "roles": marker}},
         "properties": {"datetime": "2023-01-01T00:00:00Z"}},
        {"properties": {"datetime": "2023-01-01T00:00:00Z"}, "assets": {}},
    ]
    # A loaded item makes the collection's partition; the rows share its datetime, inside the
    # partition's constraints.
    assert catalog.load([item("loaded", cid, "2023-01-01T00:00:00Z", 9, 9)])["loaded"] == 1
    with psycopg.connect(pgstac_url) as connection:
        connection.execute("SET search_path TO pgstac, public")
        for n, content in enumerate(stored):
            connection.execute(
                "INSERT INTO items (id, collection, geometry, datetime, end_datetime, content) "
                "VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, 1), 4326), %s, %s, %s::jsonb)",
                [f"r{n}", cid, n, content["properties"]["datetime"], content["properties"]["datetime"],
                 json.dumps(content)],
            )
    _check_hydration_is_pgstacs(catalog, pgstac_url, cid)
    plain = "merge-rules-plain"
    catalog.upsert_collection(collection(plain))
    assert catalog.load([item("p0", plain, "2023-01-01T00:00:00Z", 0, 0)])["loaded"] == 1
    _check_hydration_is_pgstacs(catalog, pgstac_url, plain)


@pytest.mark.parametrize("mode", ["insert", "ignore", "upsert"])
@pytest.mark.parametrize("variant", ["base-item", "edited-base-item", "monthly"])
def test_loaded_rows_are_the_ones_pgstac_builds(catalog, pgstac_url, mode, variant):
    cid = "dehydrate"
    described = dict(collection(cid), item_assets=ITEM_ASSETS)
    catalog.upsert_collection(described)
    edited = variant == "edited-base-item"
    if variant == "monthly":
        with psycopg.connect(pgstac_url) as connection:
            connection.execute("UPDATE pgstac.collections SET partition_trunc = 'month' WHERE id = %s", [cid])
    if edited:
        # After an edit pgstac tags each item with the base item it was dehydrated against.
        described["item_assets"] = dict(ITEM_ASSETS, overview={"type": "image/png", "roles": ["overview"]})
        catalog.upsert_collection(described)
    items = _dehydration_items(cid, version=2)
    if mode == "upsert":
        # Older versions first, some in other months: upsert replaces them wherever they are.
        older = _dehydration_items(cid, version=1)
        older[1]["properties"]["datetime"] = "2022-12-31T00:00:00Z"
        assert catalog.load(older)["loaded"] == len(older)
    report = catalog.load(items, mode=mode, batch_size=4)
    assert report["failed"] == [], report["failed"]
    assert report["loaded"] == len(items)
    with psycopg.connect(pgstac_url) as connection:
        connection.execute("SET search_path TO pgstac, public")
        if edited:
            tags = connection.execute("SELECT DISTINCT content->>'pgstac:base_item' FROM items WHERE collection = %s", [cid]).fetchall()
            assert len(tags) == 1 and tags[0][0] is not None
        _check_rows_are_pgstacs(connection, cid, items)
        assert connection.execute("SELECT count(*) FROM items WHERE collection = %s", [cid]).fetchone()[0] == len(items)
    # pgstac's own search() returns them hydrated too, and tessera, which
    # hydrates in C++ what it reads, returns exactly what pgstac would.
    page = pgstac_search(pgstac_url, {"collections": [cid], "limit": 100})
    assert {f["id"]: f for f in page["features"]} == {i["id"]: _without_null_members(i) for i in items}
    _check_hydration_is_pgstacs(catalog, pgstac_url, cid)
    if mode != "insert":
        again = catalog.load(items, mode=mode)
        assert again["failed"] == []
        assert (again["skipped"] if mode == "ignore" else again["loaded"]) == len(items)


def test_items_pgstac_cannot_store_fail_alone(catalog):
    catalog.upsert_collection(collection("alone"))
    good = [item(f"g{n}", "alone", "2023-01-01T00:00:00Z", n, 0) for n in range(5)]
    no_geometry = item("no-geometry", "alone", "2023-01-01T00:00:00Z", 0, 0)
    no_geometry["geometry"] = None
    del no_geometry["bbox"]
    # Valid JSON that jsonb refuses: a NUL character in a string.
    nul = item("nul", "alone", "2023-01-01T00:00:00Z", 0, 0, text="a\u0000b")
    report = catalog.load(good[:2] + [no_geometry, nul] + good[2:], batch_size=10)
    assert report["loaded"] == 5, report
    failed = {f["id"]: f["error"] for f in report["failed"]}
    assert set(failed) == {"no-geometry", "nul"}
    assert "NOT NULL" in failed["no-geometry"]
    assert sorted(f["id"] for f in catalog.search(collections=["alone"], limit=10)["features"]) == [f"g{n}" for n in range(5)]
