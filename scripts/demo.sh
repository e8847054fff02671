#!/usr/bin/env bash
# The guided end-to-end demo on local files (SQLite catalog, local storage).
# First the walkthrough (examples/python/walkthrough.py) over a real country:
# generated imagery becomes COGs and STAC items, a model's area of interest
# triggers runs as the scenes are ingested, the runner records predictions, a
# search, a dynamic mosaic and the country's data package. Then every other
# example once (C++, C, Python, the CLI). Output goes to demo-output/.
# Finally it starts the tile server with the map viewer on the walkthrough's
# catalog and prints its URL; `--no-serve` (or TESSERA_DEMO_NO_SERVE=1) checks
# the server answers and exits instead, for scripted runs.
set -euo pipefail
SERVE=yes
[[ ${1:-} == --no-serve || ${TESSERA_DEMO_NO_SERVE:-0} == 1 ]] && SERVE=no
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
echo "======== The viewer: the walkthrough's NDVI mosaic on a map (tessera serve, /viewer/)"
ogr2ogr -f GeoJSON "$OUT/countries.geojson" "$COUNTRIES"
PORT=${TESSERA_DEMO_PORT:-8000}
VIEWER="http://127.0.0.1:$PORT/viewer/?collection=scenes&assets=data&expression=(data_b2-data_b1)/(data_b2%2Bdata_b1)"
VIEWER+="&rescale=0,0.8&colormap_name=viridis&center=5.95,49.75&zoom=9"
SERVER=("$CLI" serve --catalog "sqlite://$OUT/walkthrough/catalog.db"
  --allowed-root "$OUT/walkthrough" --basemap "$OUT/countries.geojson" --port "$PORT")
echo "Files are in $OUT"
if [[ $SERVE == yes ]]; then
  echo "Open $VIEWER"
  echo "(Ctrl-C stops the server)"
  exec "${SERVER[@]}"
fi
"${SERVER[@]}" >"$OUT/tile-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
SEARCH=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"collections": ["scenes"]}' \
  "http://127.0.0.1:$PORT/searches/register" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fs -o "$OUT/viewer-tile.png" \
  "http://127.0.0.1:$PORT/searches/$SEARCH/tiles/WebMercatorQuad/9/264/174.png?assets=data&bidx=2&rescale=0,4000"
echo "The server answered (a tile of search $SEARCH is in $OUT/viewer-tile.png); --no-serve: not left running."
echo "Run without --no-serve to open $VIEWER"
