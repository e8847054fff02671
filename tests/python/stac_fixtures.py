"""Small STAC objects for the Python tests."""


def collection(collection_id):
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": collection_id,
        "description": f"test collection {collection_id}",
        "license": "CC-BY-4.0",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
    }


def item(item_id, collection_id, datetime, x, y, size=1.0, **properties):
    properties["datetime"] = datetime
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": collection_id,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [x, y, x + size, y + size],
        "properties": properties,
        "links": [],
        "assets": {"data": {"href": f"https://example.com/{item_id}.tif", "roles": ["data"]}},
    }


def grid_items(collection_id="a", count=12):
    return [
        item(
            f"{collection_id}{n:02d}",
            collection_id,
            f"2021-01-{n + 1:02d}T10:00:00Z",
            10 + n % 4,
            40 + n // 4,
            **{"eo:cloud_cover": n * 5, "platform": "sentinel-2a" if n % 2 == 0 else "sentinel-2b"},
        )
        for n in range(count)
    ]
