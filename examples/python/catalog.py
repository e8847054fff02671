"""A catalog from Python: collections, a bulk load with a bad item, and searches.

Usage: python3 examples/python/catalog.py CATALOG_DB
"""

import sys

import tessera

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-catalog.db"
catalog = tessera.Catalog.open(f"sqlite://{path}")
catalog.upsert_collection(
    {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "demo-s2",
        "description": "Sentinel-2-like demo scenes",
        "license": "CC-BY-4.0",
        "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
    }
)


def scene(n):
    # A 3 x 3 grid of one-degree scenes over the Alps, one a day.
    x, y = 6 + n % 3, 45 + n // 3 % 3
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": f"scene-{n:03d}",
        "collection": "demo-s2",
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]},
        "bbox": [x, y, x + 1, y + 1],
        "properties": {"datetime": f"2024-06-{n % 30 + 1:02d}T10:30:00Z", "eo:cloud_cover": (n * 37) % 100, "gsd": 10},
        "links": [],
        "assets": {"visual": {"href": f"https://example.com/scene-{n:03d}.tif", "roles": ["visual"]}},
    }


items = [scene(n) for n in range(60)]
items.append({"type": "Feature", "id": "broken", "collection": "demo-s2"})  # reported, not loaded
report = catalog.load(items, mode="upsert")
print(f"loaded {report['loaded']}, skipped {report['skipped']}, failed {len(report['failed'])}")
for failure in report["failed"]:
    print("  failed:", failure["id"], "-", failure["error"])

result = catalog.search(
    bbox=[7.2, 45.2, 7.8, 45.8],
    datetime="2024-06-01T00:00:00Z/2024-06-15T00:00:00Z",
    filter="eo:cloud_cover < 50",
    sortby="+eo:cloud_cover",
    limit=5,
)
print(f"{result['numberMatched']} clear scenes over the box; the first {result['numberReturned']}:")
for feature in result["features"]:
    props = feature["properties"]
    print(f"  {feature['id']}  {props['datetime']}  cloud {props['eo:cloud_cover']}%")
if "next" in result:
    print("more pages: pass {'token': result['next']} to continue")
