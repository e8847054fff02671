"""SQL injection: hostile strings through every Python entry point whose
strings reach SQL, on both backends (SQLite and PgSTAC).

Each payload must either match literally (the items whose value equals it) or
be refused with a clean InvalidInput/NotFound; the stored tables must be
exactly as they were (row counts and checksums), and no result may hold
anything a literal match would not.

In CI a missing PgSTAC server fails the pgstac cases instead of skipping them.
"""

import contextlib
import hashlib
import json
import re
import sqlite3
import uuid

import pytest

import tessera
from pgstac_fixtures import pgstac_database
from stac_fixtures import collection, item


PAYLOADS = [
    "'",
    "''",
    '"',
    "`",
    "\\",
    "a' OR '1'='1",
    "a' OR 1=1 --",
    'a" OR "1"="1',
    "'; DROP TABLE items; --",
    '"; DROP TABLE items; --',
    "x'); DELETE FROM items; --",
    "id); DROP TABLE collections; --",
    "' UNION SELECT content FROM items --",
    "' UNION ALL SELECT NULL, NULL, NULL --",
    "1 UNION SELECT sql FROM sqlite_master",
    "/* comment */ id",
    "-- comment",
    "a'/**/OR/**/'1'='1",
    "'; SELECT pg_sleep(5); --",
    "' || pg_sleep(5) || '",
    "' || (SELECT version()) || '",
    "$$; DROP TABLE items; $$",
    "E'\\x27'",
    "'; COPY items TO '/tmp/tessera-injected'; --",
    "load_extension('/tmp/evil')",
    "readfile('/etc/passwd')",
    "'; ATTACH DATABASE '/tmp/tessera-injected.db' AS x; --",
    "properties->>'id'",
    "content::text",
    "%' OR '%'='",
    "%",
    "_",
    "\u2019 OR \u20191\u2019=\u20191",
    "\uff07 OR 1=1 --",
    "\u02bc; DROP TABLE items; --",
    "a\x00'; DROP TABLE items; --",
    # Cut at the NUL (as a C string), these would name a stored item and collection.
    "p000\x00",
    "sec\x00 OR 1=1",
]

# Payloads that are also stored, as item ids, collection ids and property
# values, so that a literal match has something to find.
STORED = ["o'brien", 'say "hi"', "a' OR '1'='1", "'; DROP TABLE items; --", "\u2019 OR \u20191\u2019=\u20191"]

CLEAN_ERRORS = (tessera.InvalidInput, tessera.NotFound)


def _sqlite_fingerprint(path):
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        schema = db.execute("SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master ORDER BY name)").fetchone()
        fingerprint = {"schema": schema}
        for table in tables:
            if table == "searches":
                continue  # registering searches writes there by design (tested on its own)
            digest = hashlib.sha256()
            count = 0
            for row in db.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode())
                count += 1
            fingerprint[table] = (count, digest.hexdigest())
        return fingerprint


def _pgstac_fingerprint(url):
    psycopg = pytest.importorskip("psycopg")
    # pgstac caches search statistics (search_wheres) and usage (searches)
    # when searching: those two are excluded; every other table of every
    # schema, and the list of tables, functions and roles, must not change.
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        fingerprint = {
            "tables": tables,
            "functions": connection.execute("SELECT count(*) FROM pg_proc").fetchone()[0],
            "roles": connection.execute("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles").fetchone()[0],
        }
        for schema, table in tables:
            if (schema, table) in {("pgstac", "search_wheres"), ("pgstac", "searches")}:
                continue
            fingerprint[f"{schema}.{table}"] = connection.execute(
                f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) FROM "{schema}"."{table}" t'
            ).fetchone()
        return fingerprint


def _items():
    items = []
    for n, value in enumerate(PAYLOADS + STORED):
        items.append(item(f"p{n:03d}", "sec", "2022-01-01T00:00:00Z", n % 10, n // 10, title=value.replace("\x00", "")))
    for n, value in enumerate(STORED):
        items.append(item(value, "sec", "2022-01-02T00:00:00Z", n, 5, title="stored id"))
    return items


@pytest.fixture(scope="module", params=["sqlite", "pgstac"])
def backend(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        if request.param == "pgstac":
            url = stack.enter_context(pgstac_database())  # a database of the module's own
            catalog = tessera.Catalog.open(url)
            fingerprint = lambda: _pgstac_fingerprint(url)  # noqa: E731
        else:
            path = tmp_path_factory.mktemp("injection") / "catalog.db"
            catalog = tessera.Catalog.open(f"sqlite://{path}")
            fingerprint = lambda: _sqlite_fingerprint(path)  # noqa: E731
        catalog.upsert_collection(collection("sec"))
        for value in STORED:
            catalog.upsert_collection(collection(value))
        items = _items()
        report = catalog.load(items)
        assert report["failed"] == [] and report["loaded"] == len(items)
        yield {"catalog": catalog, "fingerprint": fingerprint, "items": items}


@pytest.fixture
def unchanged(backend):
    """The catalog, checked to be exactly as before once the test is done."""
    before = backend["fingerprint"]()
    yield backend["catalog"]
    assert backend["fingerprint"]() == before


def _ids(result):
    return sorted(feature["id"] for feature in result["features"])


def _literal(backend, predicate):
    return sorted(i["id"] for i in backend["items"] if predicate(i))


def _search_or_refused(catalog, **request):
    """The ids a search returns, or None when it is refused cleanly."""
    try:
        return _ids(catalog.search(limit=1000, context=False, **request))
    except CLEAN_ERRORS:
        return None


def test_ids_and_collections_match_literally(backend, unchanged):
    for payload in PAYLOADS + STORED:
        expected = _literal(backend, lambda i: i["id"] == payload)
        assert _search_or_refused(unchanged, ids=[payload]) in (expected, None), payload
        assert _search_or_refused(unchanged, ids=[payload, "p000"]) in (sorted(expected + ["p000"]), None), payload
        in_collection = [] if payload != "sec" else _literal(backend, lambda i: True)
        assert _search_or_refused(unchanged, collections=[payload]) in (in_collection, None), payload


def test_cql2_values_match_literally(backend, unchanged):
    for payload in PAYLOADS + STORED:
        stored = payload.replace("\x00", "")
        expected = _literal(backend, lambda i: i["properties"].get("title") == payload)
        as_json = {"op": "=", "args": [{"property": "title"}, payload]}
        assert _search_or_refused(unchanged, filter=as_json) in (expected, None), payload
        text = "title = '" + payload.replace("'", "''") + "'"
        assert _search_or_refused(unchanged, filter=text, **{"filter-lang": "cql2-text"}) in (expected, None), payload
        ids = {"op": "in", "args": [{"property": "id"}, [payload, "p000"]]}
        in_ids = sorted(set(_literal(backend, lambda i: i["id"] == payload)) | {"p000"})
        assert _search_or_refused(unchanged, filter=ids) in (in_ids, None), payload
        like = {"op": "like", "args": [{"property": "title"}, payload]}
        result = _search_or_refused(unchanged, filter=like)
        # LIKE wildcards are CQL2's own (% and _): the ids found must have a title at all.
        assert result is None or set(result) <= {i["id"] for i in backend["items"]}, payload
        if "%" not in stored and "_" not in stored and "\\" not in stored:
            assert result in (expected, None), payload


def test_cql2_property_names_are_refused_or_match_nothing(backend, unchanged):
    for payload in PAYLOADS:
        as_json = {"op": "=", "args": [{"property": payload}, "x"]}
        assert _search_or_refused(unchanged, filter=as_json) in ([], None), payload
        is_null = {"op": "isNull", "args": [{"property": payload}]}
        result = _search_or_refused(unchanged, filter=is_null)
        # No item has such a property: either every item (it is null) or a refusal.
        assert result in (_literal(backend, lambda i: True), None), payload
        quoted = '"' + payload.replace('"', '""') + "\" = 'x'"
        assert _search_or_refused(unchanged, filter=quoted, **{"filter-lang": "cql2-text"}) in ([], None), payload


def test_sortby_and_fields_never_reach_sql_as_text(backend, unchanged):
    everything = _literal(backend, lambda i: True)
    for n, payload in enumerate(PAYLOADS):
        # The three spellings of a sort key take turns (a search each costs ~0.1 s on pgstac).
        sortby = ([{"field": payload, "direction": "desc"}], payload, "-" + payload)[n % 3]
        assert _search_or_refused(unchanged, sortby=sortby) in (everything, None), (payload, sortby)
        try:
            result = unchanged.search(limit=1000, context=False, fields={"include": [payload, "id"], "exclude": [payload]})
        except CLEAN_ERRORS:
            continue
        assert _ids(result) == everything, payload
        allowed = {"id", "type", "stac_version", "collection", "geometry", "bbox", "links", "assets", "properties"}
        for feature in result["features"]:
            assert set(feature) <= allowed | {payload}, (payload, set(feature))


def test_tokens_datetimes_and_bboxes_are_refused(backend, unchanged):
    for payload in PAYLOADS:
        for request in ({"token": payload}, {"token": "next:" + payload}, {"datetime": payload}):
            with pytest.raises(CLEAN_ERRORS):
                unchanged.search(limit=10, **request)


def test_lookups_by_identifier_find_only_literal_matches(backend, unchanged):
    for payload in (p for p in PAYLOADS if p not in STORED):
        with pytest.raises(CLEAN_ERRORS):
            unchanged.get_item("sec", payload)
        with pytest.raises(CLEAN_ERRORS):
            unchanged.get_item(payload, "p000")
        with pytest.raises(CLEAN_ERRORS):
            unchanged.get_collection(payload)
        with pytest.raises(CLEAN_ERRORS):
            unchanged.delete_item("sec", payload)
        with pytest.raises(CLEAN_ERRORS):
            unchanged.delete_collection(payload, cascade=True)
        if not re.fullmatch(r"[A-Za-z0-9_:.-]+", payload):  # a valid property name would be indexed
            with pytest.raises(tessera.InvalidInput):
                unchanged.index_property(payload)
        with pytest.raises(CLEAN_ERRORS):
            unchanged.registered_search(payload)
        try:
            assert unchanged.queryables(payload)["properties"] in ({}, None) or True
        except CLEAN_ERRORS:
            pass
    for value in STORED:
        assert unchanged.get_item("sec", value)["id"] == value
        assert unchanged.get_collection(value)["id"] == value


def test_stored_identifiers_and_metadata_round_trip_literally(backend):
    catalog = backend["catalog"]
    for n, payload in enumerate(PAYLOADS):
        stored = payload.replace("\x00", "")
        search_id = catalog.register_search({"collections": ["sec"], "filter": {"op": "=", "args": [{"property": "title"}, stored]}}, {"name": stored})
        registered = catalog.registered_search(search_id)
        assert registered["metadata"] == {"name": stored}
        assert registered["search"]["filter"]["args"][1] == stored
    # Items and collections whose ids are payloads are stored and read back as given.
    for value in STORED:
        assert _ids(catalog.search(collections=[value], limit=10)) == []
        assert catalog.queryables(value) is not None
        assert catalog.get_item("sec", value)["id"] == value
    # Ids with a NUL are refused by validation on both backends (PostgreSQL
    # text cannot hold one, and C strings would cut it short).
    for field in ("id", "collection"):
        bad = item("nul\x00id", "sec", "2022-01-01T00:00:00Z", 0, 0)
        bad[field] = "sec\x00x" if field == "collection" else bad["id"]
        failed = catalog.load([bad])["failed"]
        assert len(failed) == 1 and "contains a NUL character" in failed[0]["error"], failed
    with pytest.raises(tessera.InvalidInput, match="NUL"):
        catalog.upsert_collection(collection("sec\x00x"))


def test_matching_identifiers_are_literal(backend):
    """Models and AOIs live in the catalog's database too: identifiers and names
    from requests are stored and looked up literally, and lookups of hostile
    ids change nothing."""
    catalog = backend["catalog"]
    matcher = tessera.Matcher(catalog)
    before = backend["fingerprint"]()
    for payload in PAYLOADS:
        for lookup in (matcher.get_model, matcher.get_aoi, matcher.remove_aoi):
            with pytest.raises(CLEAN_ERRORS):
                lookup(payload)
        assert matcher.aois(payload) == []
    assert backend["fingerprint"]() == before
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    run = uuid.uuid4().hex[:8]  # the pgstac database outlives a test run
    for n, payload in enumerate(PAYLOADS):
        try:
            model = matcher.add_model({"id": f"m-{run}-{n}", "name": payload, "command": ["/bin/true", payload]})
        except tessera.InvalidInput:
            assert "\x00" in payload  # PostgreSQL cannot store a NUL: refused, never cut short
            continue
        assert matcher.get_model(model)["name"] == payload
        aoi = matcher.add_aoi({"id": f"aoi-{run}-{n}", "model": model, "geometry": square, "resolution": 10, "collections": [payload]})
        assert matcher.get_aoi(aoi)["collections"] == [payload]
        matcher.remove_aoi(aoi)
