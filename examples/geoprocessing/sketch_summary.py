#!/usr/bin/env python3
"""A command-line geoprocessing service: the sketch as JSON on stdin, the result as JSON on
stdout, progress on stderr (the task's log). Counts the sketch's features and vertices."""

import json
import sys


def positions(coordinates):
    if coordinates and isinstance(coordinates[0], (int, float)):
        return 1
    return sum(positions(part) for part in coordinates)


sketch = json.load(sys.stdin)
features = sketch["features"] if sketch["type"] == "FeatureCollection" else [sketch]
print(f"summarising {len(features)} feature(s)", file=sys.stderr)
json.dump({
    "features": len(features),
    "vertices": sum(positions(feature["geometry"]["coordinates"]) for feature in features),
    "types": sorted({feature["geometry"]["type"] for feature in features}),
}, sys.stdout)
