#!/usr/bin/env bash
# The guided end-to-end demo on local files (SQLite catalog, local storage).
# First the walkthrough (examples/python/walkthrough.py) over a real country:
# generated imagery becomes COGs and STAC items, a model's area of interest
# triggers runs as the scenes are ingested, the runner records predictions, a
# search, a dynamic mosaic and the country's data package. Then every other
# example once (C++, C, Python, the CLI). Output goes to demo-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
OUT=${TESSERA_DEMO_OUTPUT:-$ROOT/demo-output}

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
"$PYTHON" -m pip install -q --disable-pip-version-check --no-build-isolation .
rm -rf "$OUT"
mkdir -p "$OUT"
CLI=build/release/cli/tessera
COUNTRIES=$(scripts/natural_earth.sh)

echo "======== The walkthrough: Luxembourg, from new imagery to a data package"
"$PYTHON" examples/python/walkthrough.py "$OUT/walkthrough" "$COUNTRIES"

echo
echo "======== More examples, one per area"
echo "== Storage: C++, C (through the C ABI) and Python"
build/release/examples/example_cpp_storage "$OUT/storage"
build/release/examples/example_c_storage "$OUT/storage"
"$PYTHON" examples/python/storage.py "$OUT/storage"

echo
echo "== Catalog: ingest sample items (one is broken and reported), then search"
build/release/examples/example_cpp_catalog "$OUT/catalog.db" examples/data/sample-collection.json \
  examples/data/sample-items.ndjson
"$PYTHON" examples/python/catalog.py "$OUT/catalog-python.db"

echo
echo "== Ingest: a raster becomes a COG and a STAC item; queue messages with a dead-letter file"
"$PYTHON" examples/python/ingest.py "$OUT/ingest"

echo
echo "== Matching: ingested imagery triggers a registered model; its output is recorded as a prediction"
"$PYTHON" examples/python/matching.py "$OUT/matching"
"$CLI" match "sqlite://$OUT/matching/catalog.db" "$OUT/matching/new/scene.json"

echo
echo "== Tiling: a COG becomes web-map tiles (PNG files), a preview, point values and statistics"
"$PYTHON" examples/python/tiles.py "$OUT/tiles"

echo
echo "== Mosaic: overlapping scenes in a catalog become one viewport PNG (and a re-styled one from the cache)"
"$PYTHON" examples/python/mosaic.py "$OUT/mosaic"

echo
echo "== Packaging: a Frictionless data package for Luxembourg (Natural Earth boundaries)"
"$PYTHON" examples/python/package.py "$OUT/package" "$COUNTRIES"

echo
echo "== The same from the command line"
CATALOG="sqlite://$OUT/catalog-cli.db"
"$CLI" collection upsert "$CATALOG" examples/data/sample-collection.json
"$CLI" load "$CATALOG" examples/data/sample-items.ndjson --mode upsert || echo "(exit $?: a broken item was reported above)"
"$CLI" search "$CATALOG" --bbox 7.2,45.2,7.8,45.8 --filter "eo:cloud_cover < 50" --limit 5 --collection |
  "$PYTHON" -c 'import json,sys; r=json.load(sys.stdin); print(r["numberMatched"], "matches:", [f["id"] for f in r["features"]])'
cat >"$OUT/cli-datasets.json" <<EOF
[{"name": "elevation", "version": "2024.1", "type": "raster", "license": {"name": "CC0-1.0"},
  "sources": ["$OUT/package/elevation.tif"]}]
EOF
"$CLI" package "$OUT/package-cli" --boundaries "$COUNTRIES" --boundary Luxembourg --datasets "$OUT/cli-datasets.json" |
  "$PYTHON" -c 'import json,sys; p=json.load(sys.stdin); print(p["name"], [(r["path"], r["hash"][:15]) for r in p["resources"]])'
echo
echo "Demo finished; files are in $OUT"
