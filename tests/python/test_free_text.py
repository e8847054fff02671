"""Free-text `q` and collection search: Catalog.search_collections and Catalog.search(q=...) on every
backend, and real clients against `tessera serve` (pystac-client's collection_search and search with q)
over SQLite and PgSTAC."""

import os
import random
import subprocess
import urllib.parse

import pytest
from pystac_client import Client

import tessera
from stac_fixtures import collection, item
from test_serve import cli_path, fetch

PGSTAC_URL = os.environ.get("TESSERA_TEST_PGSTAC_URL")
BACKENDS = ["sqlite"] + (["pgstac"] if PGSTAC_URL else [])


def text_collection(collection_id, title, description, keywords, bbox, interval):
    value = collection(collection_id)
    value.update(title=title, description=description, keywords=keywords)
    value["extent"] = {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}}
    return value


COLLECTIONS = [
    text_collection("dem", "Copernicus DEM", "Digital elevation model", ["elevation"], [100, -40, 150, -10],
                    ["2011-01-01T00:00:00Z", "2015-01-01T00:00:00Z"]),
    text_collection("landsat", "Landsat Collection 2", "Surface reflectance", ["optical"], [-180, -60, 180, 80],
                    ["2013-03-18T00:00:00Z", None]),
    text_collection("s2", "Sentinel-2 L2A", "Bottom of atmosphere reflectance", ["optical", "Copernicus"],
                    [-10, 35, 30, 70], ["2017-01-01T00:00:00Z", "2024-12-31T23:59:59Z"]),
]
ITEMS = [
    item("snowy", "s2", "2021-06-01T10:00:00Z", 10, 40, title="Alps", description="Snow on the mountains"),
    item("crops", "s2", "2021-06-02T10:00:00Z", 11, 40, title="Plains", description="Crops and forests",
         keywords=["land cover"]),
    item("floods", "s2", "2021-06-03T10:00:00Z", 12, 40, title="Rivers", description="Flooding rivers"),
]


@pytest.fixture(params=BACKENDS)
def catalog_uri(request, tmp_path):
    if request.param == "pgstac":
        uri = request.getfixturevalue("pgstac_url")  # a database of the test's own
    else:
        uri = f"sqlite://{tmp_path / 'catalog.db'}"
    catalog = tessera.Catalog.open(uri)
    for value in COLLECTIONS:
        catalog.upsert_collection(value)
    assert catalog.load(ITEMS)["loaded"] == len(ITEMS)
    return uri


def test_library_search_collections_and_q(catalog_uri):
    catalog = tessera.Catalog.open(catalog_uri)
    answer = catalog.search_collections({"q": "reflectance", "limit": 1})
    assert [c["id"] for c in answer["collections"]] == ["landsat"]
    assert answer["numberMatched"] == 2 and answer["numberReturned"] == 1
    assert [c["id"] for c in catalog.search_collections(token=answer["next"])["collections"]] == ["s2"]
    assert [c["id"] for c in catalog.search_collections(bbox=[120, -30, 130, -20], q="copernicus")["collections"]] == [
        "dem"]
    assert [c["id"] for c in catalog.search_collections(datetime="2012-06-01T00:00:00Z")["collections"]] == ["dem"]
    assert sorted(f["id"] for f in catalog.search(q="river,snow")["features"]) == ["floods", "snowy"]
    assert [f["id"] for f in catalog.search(q=["land cover"])["features"]] == ["crops"]
    assert sorted(f["id"] for f in catalog.search(q="-snow")["features"]) == ["crops", "floods"]
    with pytest.raises(tessera.InvalidInput, match="q"):
        catalog.search(q="(unbalanced")
    with pytest.raises(tessera.InvalidInput, match="collection search: sortby"):
        catalog.search_collections(sortby="id")


@pytest.fixture
def served(catalog_uri):
    process = subprocess.Popen([cli_path(), "serve", "--catalog", catalog_uri, "--port", "0", "--no-tiles"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        yield base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_pystac_client_collection_search_and_q(served):
    client = Client.open(served)
    # Searched by the server (pystac-client filters on the client only when the API lacks the classes).
    assert client.conforms_to("COLLECTION_SEARCH") and client.conforms_to("COLLECTION_SEARCH_FREE_TEXT")
    assert [c.id for c in client.collection_search(q="reflectance").collections()] == ["landsat", "s2"]
    assert [c.id for c in client.collection_search(bbox=[0, 40, 5, 45]).collections()] == ["landsat", "s2"]
    assert [c.id for c in client.collection_search(datetime="2012-01-01T00:00:00Z/2012-12-31T00:00:00Z")
            .collections()] == ["dem"]
    assert [c.id for c in client.collection_search(q="optical", datetime="2020-01-01T00:00:00Z/..",
                                                   bbox=[0, 40, 5, 45]).collections()] == ["landsat", "s2"]
    # Pages of one collection each, followed through the next links.
    assert [c.id for c in client.collection_search(limit=1).collections()] == ["dem", "landsat", "s2"]
    assert client.collection_search(q="reflectance").matched() == 2
    # pystac-client 0.9.1 takes q in collection_search only (neither Client.search nor ItemSearch has
    # it): q is set in the search's parameters, which it then sends and pages as any other (a list as
    # q=a&q=b in GET, the server OR-ing them).
    for method in ("GET", "POST"):
        for q, expected in [("river,snow", ["floods", "snowy"]), (["mountain", "forest"], ["crops", "snowy"])]:
            search = client.search(method=method, limit=1)
            search._parameters["q"] = q
            assert sorted(i.id for i in search.items()) == expected, (method, q)


def test_collections_route_parameters(served):
    status, _, answer = fetch(served + "collections")
    assert status == 200 and [c["id"] for c in answer["collections"]] == ["dem", "landsat", "s2"]
    assert answer["numberMatched"] == 3 and answer["numberReturned"] == 3
    assert not any(link["rel"] == "next" for link in answer["links"])
    status, _, answer = fetch(served + "collections?" + urllib.parse.urlencode({"q": "optical", "limit": 1}))
    assert status == 200 and [c["id"] for c in answer["collections"]] == ["landsat"]
    next_link = next(link for link in answer["links"] if link["rel"] == "next")
    status, _, answer = fetch(next_link["href"])
    assert [c["id"] for c in answer["collections"]] == ["s2"]
    assert any(link["rel"] == "prev" for link in answer["links"])
    status, _, answer = fetch(served + "collections/s2/items?q=flooding")
    assert status == 200 and [f["id"] for f in answer["features"]] == ["floods"]
    for query, named in [("sortby=id", "sortby"), ("q=(a", "q"), ("datetime=2020", "datetime"), ("limit=0", "limit")]:
        status, _, answer = fetch(served + "collections?" + query)
        assert status == 400 and named in answer["description"], (query, answer)
    _, _, conformance = fetch(served + "conformance")
    for uri in ("https://api.stacspec.org/v1.0.0-rc.1/collection-search",
                "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
                "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/simple-query",
                "https://api.stacspec.org/v1.0.0-rc.1/item-search#free-text",
                "https://api.stacspec.org/v1.0.0-rc.1/ogcapi-features#free-text"):
        assert uri in conformance["conformsTo"]


def random_query(rng, words):
    """A q of words, phrases, prefixes, groups and every operator spelling."""
    def term(depth):
        kind = rng.random()
        if kind < 0.5:
            return rng.choice(words)
        if kind < 0.7:
            return '"' + " ".join(rng.choice(words) for _ in range(rng.randint(1, 3))) + '"'
        if kind < 0.8:
            return "-" + rng.choice(words)
        if kind < 0.9 or depth > 0:
            return "+" + rng.choice(words)
        return "(" + expression(depth + 1) + ")"

    def expression(depth=0):
        parts = [term(depth)]
        for _ in range(rng.randint(0, 3 if depth == 0 else 1)):
            parts += [rng.choice([" ", " AND ", " OR ", ",", " or "]), term(depth)]
        return "".join(parts)

    return expression()


def test_backends_agree_on_random_queries(pgstac_url):
    """SQLite (FTS5) and PgSTAC (pgstac's tsvector) return the same items for 400 random q: words whose
    stems the Porter and Snowball stemmers agree on, stop words among them, texts in every field (or
    missing, descriptions too), phrases across fields."""
    rng = random.Random(7)
    words = ["snow", "cloud", "river", "forest", "crop", "urban", "land", "cover", "mountain", "flood", "water",
             "the", "and", "of", "sentinel", "optical", "radar", "heat", "island", "rain"]

    def text(count):
        return " ".join(rng.choice(words) for _ in range(count))

    items = []
    for n in range(60):
        properties = {}
        if rng.random() < 0.9:
            properties["description"] = text(rng.randint(0, 6))
        if rng.random() < 0.7:
            properties["title"] = text(rng.randint(1, 4))
        if rng.random() < 0.5:
            properties["keywords"] = [text(rng.randint(1, 2)) for _ in range(rng.randint(0, 3))]
        items.append(item(f"i{n:02d}", "c", "2021-01-01T00:00:00Z", n % 10, n // 10, **properties))
    catalogs = [tessera.Catalog.open("sqlite://:memory:"), tessera.Catalog.open(pgstac_url)]
    for catalog in catalogs:
        catalog.upsert_collection(collection("c"))
        assert catalog.load(items)["loaded"] == len(items)
    differences = []
    for _ in range(400):
        q = random_query(rng, words)
        answers = [sorted(f["id"] for f in catalog.search(q=q, limit=100)["features"]) for catalog in catalogs]
        if answers[0] != answers[1]:
            differences.append((q, answers))
    assert differences == []
