"""Catalog.aggregate (the STAC API aggregation extension) from Python, on every backend, and the
/aggregate routes of the service."""

import json
import os

import pytest

import tessera
from stac_fixtures import collection, grid_items

PGSTAC_URL = os.environ.get("TESSERA_TEST_PGSTAC_URL")
BACKENDS = ["memory"] + (["pgstac"] if PGSTAC_URL else [])


@pytest.fixture(params=BACKENDS)
def catalog(request):
    if request.param == "pgstac":
        cat = tessera.Catalog.open(request.getfixturevalue("pgstac_url"))  # a database of the test's own
    else:
        cat = tessera.Catalog.open("sqlite://:memory:")
    cat.upsert_collection(collection("a"))
    report = cat.load(grid_items("a", 12))
    assert report["loaded"] == 12
    return cat


def by_name(answer):
    return {aggregation["name"]: aggregation for aggregation in answer["aggregations"]}


def test_aggregate_counts_and_distributions(catalog):
    answer = catalog.aggregate(
        {"aggregations": ["total_count", "datetime_min", "datetime_max", "platform_frequency", "cloud_cover_frequency"]}
    )
    assert answer["type"] == "AggregationCollection"
    aggregations = by_name(answer)
    assert aggregations["total_count"] == {"name": "total_count", "data_type": "integer", "value": 12}
    assert aggregations["datetime_min"]["value"] == "2021-01-01T10:00:00Z"
    assert aggregations["datetime_max"]["value"] == "2021-01-12T10:00:00Z"
    platforms = aggregations["platform_frequency"]
    assert platforms["data_type"] == "frequency_distribution"
    assert [(b["key"], b["frequency"]) for b in platforms["buckets"]] == [("sentinel-2a", 6), ("sentinel-2b", 6)]
    assert platforms["overflow"] == 0
    # cloud cover 0, 5, ..., 55: two per bucket of ten up to 60.
    assert [b["frequency"] for b in aggregations["cloud_cover_frequency"]["buckets"]] == [2] * 6 + [0] * 4


def test_keyword_arguments_and_filters(catalog):
    answer = catalog.aggregate(
        aggregations=["total_count", "centroid_geohash_grid_frequency"],
        centroid_geohash_grid_frequency_precision=3,
        bbox=[10, 40, 11.5, 41.5],
        datetime="2021-01-01T00:00:00Z/2021-01-31T00:00:00Z",
    )
    aggregations = by_name(answer)
    assert aggregations["total_count"]["value"] == 4
    assert sum(b["frequency"] for b in aggregations["centroid_geohash_grid_frequency"]["buckets"]) == 4
    assert all(len(b["key"]) == 3 for b in aggregations["centroid_geohash_grid_frequency"]["buckets"])
    daily = catalog.aggregate({"aggregations": ["datetime_frequency"], "datetime_frequency_interval": "day",
                               "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]},
                               "filter-lang": "cql2-json"})
    assert [b["key"] for b in daily["aggregations"][0]["buckets"]] == ["2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z"]


def test_listing_and_errors(catalog):
    names = [entry["name"] for entry in catalog.aggregations()["aggregations"]]
    assert "centroid_geohash_grid_frequency" in names and "spatial_extent" in names
    assert catalog.aggregations("a") == catalog.aggregations()
    with pytest.raises(tessera.NotFound):
        catalog.aggregations("nope")
    with pytest.raises(tessera.InvalidInput, match="unknown aggregation 'bogus'"):
        catalog.aggregate({"aggregations": ["bogus"]})
    with pytest.raises(tessera.InvalidInput, match="centroid_geohash_grid_frequency_precision: 13 is outside 1-12"):
        catalog.aggregate({"aggregations": ["total_count"], "centroid_geohash_grid_frequency_precision": 13})
    with pytest.raises(tessera.InvalidInput, match="must be a dict"):
        catalog.aggregate([1, 2])


def test_service_routes():
    catalog = tessera.Catalog.open("sqlite://:memory:")
    catalog.upsert_collection(collection("a"))
    catalog.load(grid_items("a", 5))
    service = tessera.Service(catalog)
    status, _, body = service.handle("GET", "/aggregate", query=[("aggregations", "total_count,collection_frequency")],
                                     headers=[("Host", "x")])
    assert status == 200
    answer = json.loads(body)
    assert by_name(answer)["total_count"]["value"] == 5
    assert {"rel": "self", "href": "http://x/aggregate", "type": "application/json"} in answer["links"]
    status, _, body = service.handle("GET", "/aggregate", query=[("aggregations", "nope")], headers=[("Host", "x")])
    assert status == 400
    assert "unknown aggregation 'nope'" in json.loads(body)["description"]
