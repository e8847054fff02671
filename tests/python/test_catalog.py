import json
import multiprocessing
import os

import pytest

import tessera
from stac_fixtures import collection, grid_items, item


PGSTAC_URL = os.environ.get("TESSERA_TEST_PGSTAC_URL")
BACKENDS = ["memory", "file"] + (["pgstac"] if PGSTAC_URL else [])


@pytest.fixture(params=BACKENDS)
def catalog(request, tmp_path):
    if request.param == "pgstac":
        cat = tessera.Catalog.open(request.getfixturevalue("pgstac_url"))  # a database of the test's own
    else:
        uri = "sqlite://:memory:" if request.param == "memory" else f"sqlite://{tmp_path / 'catalog.db'}"
        cat = tessera.Catalog.open(uri)
    cat.upsert_collection(collection("a"))
    return cat


def ids(result):
    return [feature["id"] for feature in result["features"]]


def test_collections(catalog):
    assert catalog.get_collection("a")["id"] == "a"
    catalog.upsert_collection(collection("b"))
    assert [c["id"] for c in catalog.collections()] == ["a", "b"]
    with pytest.raises(tessera.Conflict):
        catalog.create_collection(collection("a"))
    with pytest.raises(tessera.NotFound, match="zz"):
        catalog.get_collection("zz")
    bad = collection("bad")
    del bad["extent"]
    with pytest.raises(tessera.InvalidInput, match="collection 'bad': extent"):
        catalog.upsert_collection(bad)
    catalog.load([item("x", "b", "2021-01-01T00:00:00Z", 0, 0)])
    with pytest.raises(tessera.Conflict, match="cascade"):
        catalog.delete_collection("b")
    catalog.delete_collection("b", cascade=True)
    assert [c["id"] for c in catalog.collections()] == ["a"]


def test_load_report_and_round_trip(catalog):
    good = item("good", "a", "2021-01-01T00:00:00Z", 0, 0, extra={"nested": [1, 2.5, None, True]})
    no_datetime = item("no-datetime", "a", "2021-01-01T00:00:00Z", 0, 0)
    del no_datetime["properties"]["datetime"]
    unknown = item("unknown", "nope", "2021-01-01T00:00:00Z", 0, 0)
    report = catalog.load([good, no_datetime, unknown, "not an item"], mode="insert")
    assert report["loaded"] == 1
    assert report["skipped"] == 0
    failed = {f["id"]: f for f in report["failed"]}
    assert set(failed) == {"no-datetime", "unknown", ""}
    assert "properties.datetime" in failed["no-datetime"]["error"]
    assert failed["unknown"]["collection"] == "nope"
    assert catalog.get_item("a", "good") == good

    assert catalog.load([good], mode="ignore")["skipped"] == 1
    changed = dict(good, properties=dict(good["properties"], extra="changed"))
    assert catalog.load([changed], mode="upsert")["loaded"] == 1
    assert catalog.get_item("a", "good")["properties"]["extra"] == "changed"
    assert len(catalog.load([good])["failed"]) == 1  # insert mode: duplicate
    with pytest.raises(tessera.InvalidInput, match="load mode"):
        catalog.load([good], mode="replace")
    catalog.delete_item("a", "good")
    with pytest.raises(tessera.NotFound):
        catalog.get_item("a", "good")


def test_load_sources(catalog, tmp_path):
    items = grid_items()
    path = tmp_path / "items.ndjson"
    path.write_text("\n".join(json.dumps(i) for i in items[:6]) + "\n")
    seen = []
    report = catalog.load(path, batch_size=4, progress=seen.append)
    assert report["loaded"] == 6
    assert seen[-1] == 6
    report = catalog.load({"type": "FeatureCollection", "features": items[6:9]})
    assert report["loaded"] == 3
    report = catalog.load(i for i in items[9:])  # a generator streams
    assert report["loaded"] == 3
    assert catalog.search(limit=1)["numberMatched"] == 12
    with pytest.raises(tessera.NotFound):
        catalog.load(str(tmp_path / "missing.ndjson"))


def test_search(catalog):
    catalog.load(grid_items())
    result = catalog.search({"collections": ["a"], "limit": 3})
    assert ids(result) == ["a11", "a10", "a09"]
    assert result["numberMatched"] == 12 and result["numberReturned"] == 3
    assert ids(catalog.search(bbox=[11.5, 40.5, 12.5, 41.5], sortby="id")) == ["a01", "a02", "a05", "a06"]
    assert ids(catalog.search(filter="eo:cloud_cover < 10", sortby=[{"field": "id", "direction": "asc"}])) == [
        "a00",
        "a01",
    ]
    json_filter = {"op": "=", "args": [{"property": "platform"}, "sentinel-2a"]}
    assert len(ids(catalog.search(filter=json_filter, limit=100))) == 6
    assert ids(catalog.search(datetime="2021-01-03T10:00:00Z")) == ["a02"]
    fields = catalog.search(ids=["a01"], fields={"include": ["properties.platform"]})["features"][0]
    assert fields == {"type": "Feature", "id": "a01", "collection": "a", "properties": {"platform": "sentinel-2b"}}
    point = {"type": "Point", "coordinates": [10.5, 40.5]}
    assert ids(catalog.search(intersects=point)) == ["a00"]


def test_paging(catalog):
    catalog.load(grid_items())
    seen = []
    page = catalog.search(limit=5)
    while True:
        seen += ids(page)
        if "next" not in page:
            break
        page = catalog.search(token=page["next"], limit=5)
    assert seen == [f"a{n:02d}" for n in range(11, -1, -1)]
    back = catalog.search(token=page["prev"], limit=5)
    assert ids(back) == seen[5:10]


@pytest.mark.parametrize(
    "request_, fragment",
    [
        ({"bbox": [1, 2, 3]}, "bbox"),
        ({"datetime": "nope"}, "datetime"),
        ({"limit": 0}, "limit"),
        ({"filter": "eo:cloud_cover <"}, "CQL2"),
        ({"bogus": 1}, "unknown search parameter"),
        ({"token": "not-a-token"}, "token"),
    ],
)
def test_bad_requests(catalog, request_, fragment):
    with pytest.raises(tessera.InvalidInput, match=fragment):
        catalog.search(request_)


def test_bad_python_values(catalog):
    with pytest.raises(tessera.InvalidInput, match="cannot convert"):
        catalog.search({"bbox": {1, 2, 3, 4}})
    with pytest.raises(tessera.InvalidInput):
        catalog.search([1, 2])


def test_injection_changes_nothing(catalog):
    catalog.load(grid_items())
    for payload in ["'; DROP TABLE items; --", '" OR 1=1 --', "a') OR ('1'='1"]:
        assert ids(catalog.search(ids=[payload])) == []
        assert ids(catalog.search(collections=[payload])) == []
        assert ids(catalog.search(filter={"op": "=", "args": [{"property": payload}, 1]})) == []
        assert ids(catalog.search(filter={"op": "=", "args": [{"property": "platform"}, payload]})) == []
        assert catalog.search(sortby=[{"field": payload}], limit=1)["numberMatched"] == 12
    assert catalog.search(limit=1)["numberMatched"] == 12


def test_index_property(catalog):
    catalog.load(grid_items())
    before = ids(catalog.search(sortby="-eo:cloud_cover", limit=5))
    catalog.index_property("eo:cloud_cover")
    assert ids(catalog.search(sortby="-eo:cloud_cover", limit=5)) == before
    with pytest.raises(tessera.InvalidInput):
        catalog.index_property("x'; --")


def test_queryables(catalog):
    catalog.load(grid_items())
    queryables = catalog.queryables("a")
    assert queryables["properties"]["eo:cloud_cover"]["type"] == "number"
    assert queryables["properties"]["platform"]["type"] == "string"
    assert "eo:cloud_cover" in catalog.queryables()["properties"]
    with pytest.raises(tessera.NotFound):
        catalog.queryables("nope")


def _load_in_child(uri, items):
    tessera.Catalog.open(uri).load(items, mode="ignore", batch_size=100)


def test_other_processes_read_while_one_writes(tmp_path):
    uri = f"sqlite://{tmp_path / 'shared.db'}"
    cat = tessera.Catalog.open(uri)
    cat.upsert_collection(collection("a"))
    items = [item(f"p{n:05d}", "a", "2021-01-01T00:00:00Z", n % 100, n // 100 % 80) for n in range(3000)]
    process = multiprocessing.get_context("spawn").Process(target=_load_in_child, args=(uri, items))
    process.start()
    counts = []
    while process.is_alive():
        counts.append(cat.search(limit=1)["numberMatched"])
    process.join()
    assert process.exitcode == 0
    assert counts == sorted(counts)  # readers saw whole batches, never a decrease
    assert cat.search(limit=1)["numberMatched"] == 3000


def _load_forever(uri, items):
    tessera.Catalog.open(uri).load(items, mode="ignore", batch_size=200)


def test_killed_loader_leaves_whole_batches(tmp_path):
    import os
    import signal
    import sqlite3
    import time

    path = tmp_path / "killed.db"
    uri = f"sqlite://{path}"
    tessera.Catalog.open(uri).upsert_collection(collection("a"))
    items = [item(f"k{n:05d}", "a", "2021-01-01T00:00:00Z", n % 100, n // 100 % 80) for n in range(8000)]
    context = multiprocessing.get_context("spawn")
    for delay in (0.3, 0.6, 0.9):
        process = context.Process(target=_load_forever, args=(uri, items))
        process.start()
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            count = db.execute("SELECT count(*) FROM items").fetchone()[0]
        assert count % 200 == 0, f"a batch was torn: {count} items"
    report = tessera.Catalog.open(uri).load(items, mode="ignore", batch_size=200)
    assert report["failed"] == []
    assert report["loaded"] + report["skipped"] == len(items)
    assert tessera.Catalog.open(uri).search(limit=1)["numberMatched"] == len(items)
