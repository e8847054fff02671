"""PgSTAC backend benchmark (issue 4): tessera vs pypgstac on the same database.

Loads the same generated items (ndjson from bench/catalog_bench) with
`pypgstac load` and with tessera, then times a query mix through tessera's
search and through pgstac's search() called directly, and prints JSON.

    scripts/pgstac_cluster.sh start /tmp/tessera-pgstac-bench 55434
    build/release/bench/catalog_bench --items 100000 --load-only --dir /tmp/tessera-bench
    python3 bench/pgstac_bench.py --url postgresql://tessera:tessera@127.0.0.1:55434/pgstac \
        --items /tmp/tessera-bench/items-100000.ndjson
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
import time

import psycopg

import tessera

COLLECTIONS = ["sentinel-2-l2a", "sentinel-2-l1c", "landsat-c2-l2"]


def collection(collection_id):
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": collection_id,
        "description": collection_id,
        "license": "proprietary",
        "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [["2019-01-01T00:00:00Z", None]]}},
    }


def reset(catalog):
    for existing in catalog.collections():
        catalog.delete_collection(existing["id"], cascade=True)
    for collection_id in COLLECTIONS:
        catalog.upsert_collection(collection(collection_id))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--items", required=True, help="ndjson written by catalog_bench")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--skip-load", action="store_true", help="reuse the items a previous run loaded")
    args = parser.parse_args()
    count = sum(1 for _ in open(args.items))
    catalog = tessera.Catalog.open(args.url)
    report = {"items": count}

    if not args.skip_load:
        load(catalog, args, count, report)
    run_queries(catalog, args, report)
    print(json.dumps(report, indent=2))


def load(catalog, args, count, report):
    reset(catalog)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pypgstac.pypgstac", "load", "items", args.items, "--dsn", args.url, "--method", "insert"],
        check=True,
        capture_output=True,
    )
    pypgstac_seconds = time.perf_counter() - start

    reset(catalog)
    start = time.perf_counter()
    loaded = catalog.load(args.items, mode="insert", batch_size=5000)
    tessera_seconds = time.perf_counter() - start
    assert loaded["loaded"] == count and not loaded["failed"], loaded["failed"][:3]
    report["load"] = {
        "pypgstac_items_per_second": count / pypgstac_seconds,
        "tessera_items_per_second": count / tessera_seconds,
        "ratio": pypgstac_seconds / tessera_seconds,
    }
    print(json.dumps(report["load"]), file=sys.stderr)


def run_queries(catalog, args, report):
    random.seed(7)
    sample = [json.loads(line) for line, _ in zip(open(args.items), range(2000))]
    country = {
        "type": "Polygon",
        "coordinates": [[[-4.8, 48.4], [1.6, 50.9], [8.2, 48.9], [7.7, 43.9], [-1.8, 43.4], [-4.8, 48.4]]],
    }

    def small_bbox():
        x, y = random.choice(sample)["bbox"][:2]
        return {"bbox": [x + 0.3, y + 0.3, x + 0.5, y + 0.5], "limit": 10}

    def bbox_datetime():
        picked = random.choice(sample)
        x, y = picked["bbox"][:2]
        day = picked["properties"]["datetime"][:8] + "01T00:00:00Z"
        return {"bbox": [x, y, x + 1, y + 1], "datetime": f"{day}/..", "limit": 100}

    mix = {
        "small_bbox": small_bbox,
        "bbox_datetime": bbox_datetime,
        "property_filter": lambda: {
            "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]},
            "filter-lang": "cql2-json",
            "limit": 10,
        },
        "intersects_country": lambda: {"intersects": country, "limit": 10},
        "sort_cloud_cover": lambda: {"sortby": [{"field": "eo:cloud_cover", "direction": "asc"}], "limit": 10},
        "ids": lambda: {"ids": [random.choice(sample)["id"] for _ in range(5)], "limit": 10},
    }
    report["search_ms"] = {}
    # Autocommit, as an API server runs it: search() records each query in a table.
    with psycopg.connect(args.url, autocommit=True) as connection:
        connection.execute("SET search_path TO pgstac, public")
        for name, make in mix.items():
            tessera_times, direct_times = [], []
            for iteration in range(args.queries):
                body = make()

                def through_tessera():
                    start = time.perf_counter()
                    result = catalog.search(dict(body, context=False))
                    tessera_times.append((time.perf_counter() - start) * 1000)
                    return result

                def direct():
                    start = time.perf_counter()
                    result = connection.execute(
                        "SELECT search(%s::jsonb)", [json.dumps(dict(body, conf={"context": "off"}))]
                    ).fetchone()[0]
                    direct_times.append((time.perf_counter() - start) * 1000)
                    return result

                # Both without numberMatched (pgstac's default context is off); the
                # order alternates so neither always meets the other's warm cache.
                if iteration % 2 == 0:
                    mine, theirs = through_tessera(), direct()
                else:
                    theirs, mine = direct(), through_tessera()
                assert [f["id"] for f in mine["features"]] == [f["id"] for f in theirs["features"]], name
            report["search_ms"][name] = {
                "tessera_p50": statistics.median(tessera_times),
                "tessera_p99": percentile(tessera_times, 0.99),
                "direct_p50": statistics.median(direct_times),
                "direct_p99": percentile(direct_times, 0.99),
                "overhead_p50": statistics.median(tessera_times) / statistics.median(direct_times) - 1,
            }
            print(name, json.dumps(report["search_ms"][name]), file=sys.stderr)


if __name__ == "__main__":
    main()
