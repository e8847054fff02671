#!/usr/bin/env bash
# Prints the path of Natural Earth's 1:110m countries (naturalearth_lowres, a
# Shapefile with name, iso_a3, continent, pop_est), fetching it once from
# Debian's python3-geopandas package: `apt-get download` fetches the .deb
# alone (none of its dependencies are installed) and `dpkg -x` unpacks it
# into a scratch folder, from which only the data files are kept.
# Usage: scripts/natural_earth.sh [DIR]   (default: $TESSERA_DATA_DIR or ~/.cache/tessera)
set -euo pipefail
DIR=${1:-${TESSERA_DATA_DIR:-$HOME/.cache/tessera}}/naturalearth
SHAPEFILE=$DIR/naturalearth_lowres.shp
if [[ -f $SHAPEFILE ]]; then
  echo "$SHAPEFILE"
  exit 0
fi
mkdir -p "$DIR"
SCRATCH=$(mktemp -d)
chmod a+rwx "$SCRATCH" # apt-get download runs as the _apt user
trap 'rm -rf "$SCRATCH"' EXIT
(cd "$SCRATCH" && apt-get download -qq python3-geopandas >/dev/null)
dpkg -x "$SCRATCH"/python3-geopandas_*.deb "$SCRATCH/unpacked"
SOURCE=$(dirname "$(find "$SCRATCH/unpacked" -name naturalearth_lowres.shp | head -n 1)")
[[ -d $SOURCE ]] || { echo "naturalearth_lowres not found in python3-geopandas" >&2; exit 1; }
cp "$SOURCE"/naturalearth_lowres.* "$DIR"/
echo "$SHAPEFILE"
