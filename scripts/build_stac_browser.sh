#!/usr/bin/env bash
# Builds STAC Browser (npm @radiantearth/stac-browser, a Vue application
# published as source) for `tessera serve`, which serves it at /browser/
# (ServiceOptions::browser_dir, docs/service.md). Output:
#   ${TESSERA_TOOLS:-/opt/tessera-tools}/stac-browser-4.0.1/dist
# where `tessera serve` looks by default. Skipped when that build is present
# and its inputs (this script, the lock file) are unchanged. A cold build
# takes about 3 minutes (npm ci about 1, the build about 1.5 on 2 cores).
#
# Changes to the published package, all here:
# - ol-stac pinned to 1.1.0: ^1.1.0 resolves to a release that needs a newer
#   OpenLayers than the package's own `ol ~10.6.0`, and the build fails.
# - Every dependency pinned by scripts/stac_browser/package-lock.json (npm ci).
# - Run-time configuration on: index.html loads /browser/config.js, which
#   tessera generates per request (the catalog URL the client used).
# - Built with pathPrefix /browser/ and history mode (tessera answers the
#   application's own paths with index.html), without source maps.
set -euo pipefail

VERSION=4.0.1
# sha256 of the npm tarball of $VERSION.
TARBALL_SHA256=053c8a9849e835d848f6a50f50e905c23e882509c8e4c4b820cbe629d783b955
HERE=$(cd "$(dirname "$0")" && pwd)
LOCK=$HERE/stac_browser/package-lock.json
OUT=${TESSERA_TOOLS:-/opt/tessera-tools}/stac-browser-$VERSION
DIST=$OUT/dist
STAMP=$DIST/.tessera-build.sha256

log() { printf '[stac-browser] %s\n' "$*"; }

INPUTS_HASH=$(cat "$0" "$LOCK" | sha256sum | cut -d' ' -f1)
if [[ -f $DIST/index.html && $(cat "$STAMP" 2>/dev/null) == "$INPUTS_HASH" ]]; then
  log "STAC Browser $VERSION present in $DIST"
  exit 0
fi
command -v npm >/dev/null || { log "error: npm (Node.js >= 20) is needed to build STAC Browser"; exit 1; }

WORK=$OUT/build
rm -rf "$WORK"
mkdir -p "$WORK"
log "building STAC Browser $VERSION in $WORK (about 3 minutes)"
(cd "$WORK" && npm pack --silent --no-fund "@radiantearth/stac-browser@$VERSION" >/dev/null)
TARBALL=$WORK/radiantearth-stac-browser-$VERSION.tgz
echo "$TARBALL_SHA256  $TARBALL" | sha256sum --check --quiet -
tar xzf "$TARBALL" -C "$WORK"
PACKAGE=$WORK/package

node - "$PACKAGE/package.json" <<'JS'
const fs = require("fs");
const file = process.argv[2];
const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
if (manifest.dependencies["ol-stac"] !== "^1.1.0") {
  throw new Error(`unexpected ol-stac requirement ${manifest.dependencies["ol-stac"]}`);
}
manifest.dependencies["ol-stac"] = "1.1.0";
fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
JS
sed -i 's|<!-- <script defer="defer" src="/config.js"></script> -->|<script defer="defer" src="/browser/config.js"></script>|' \
  "$PACKAGE/public/index.html"
grep -q 'src="/browser/config.js"' "$PACKAGE/public/index.html" ||
  { log "error: could not turn on the run-time config in public/index.html"; exit 1; }
cp "$LOCK" "$PACKAGE/package-lock.json"

# npm 11 skips the install scripts of two dev tools (yorkie, @parcel/watcher)
# with a warning; the build does not need them.
(cd "$PACKAGE" && npm ci --no-audit --no-fund --loglevel=error)
rm -rf "$OUT/dist.new"
(cd "$PACKAGE" &&
  SB_pathPrefix=/browser/ SB_historyMode=history SB_catalogTitle=tessera SB_allowExternalAccess=false \
    ./node_modules/.bin/vue-cli-service build --noSourceMaps --dest "$OUT/dist.new" >"$WORK/build.log" 2>&1) ||
  { tail -40 "$WORK/build.log"; log "error: the build failed (log: $WORK/build.log)"; exit 1; }
# tessera generates config.js; the package's empty placeholder would only confuse.
rm -f "$OUT/dist.new/config.js"
echo "$INPUTS_HASH" >"$OUT/dist.new/.tessera-build.sha256"
rm -rf "$DIST"
mv "$OUT/dist.new" "$DIST"
# node_modules is 420 MB and only needed to build.
rm -rf "$WORK"
log "STAC Browser $VERSION built in $DIST ($(du -sh "$DIST" | cut -f1))"
