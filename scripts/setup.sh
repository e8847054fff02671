#!/usr/bin/env bash
# Installs every system and Python dependency of the build, tests, benchmarks
# and demo. Idempotent: skips what is already present. Debian 12 (apt) + PyPI.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl
  libgdal-dev gdal-bin libproj-dev proj-bin libgeos-dev libssl-dev
  libsqlite3-dev sqlite3 libpq-dev
  libfmt-dev nlohmann-json3-dev libcpp-jwt-dev libsimdjson-dev libzstd-dev libcli11-dev libxml2-dev libcurl4-openssl-dev
  # PNG tiles' compression (src/tiling/png_encode.cpp).
  libdeflate-dev
  # Geoprocessing's geobuf decoder (src/service/geobuf.cpp), header-only.
  libprotozero-dev
  libgtest-dev googletest
  clang-format clang-tidy
  # libFuzzer and its sanitizer runtimes (scripts/fuzz.sh).
  clang llvm libclang-rt-14-dev
  postgresql-15 postgresql-15-postgis-3 postgresql-client-15
  # The tile server example (HTTP library), its viewer test (headless
  # browser; Node.js and npm are the machine's) and its load test.
  libcpp-httplib-dev chromium wrk
)
PYTHON_PACKAGES=(
  "scikit-build-core>=0.10"
  "pybind11>=2.10"
  "pytest>=7"
  # Runs the Python tests in parallel (scripts/test.sh: pytest -n 2).
  "pytest-xdist==3.8.0"
  "pypgstac==0.10.0"
  "psycopg>=3.1"
  "psycopg-pool>=3.1"
  # The tiling peer: its tiles are the reference in the agreement tests and
  # the benchmark (it brings rasterio, morecantile and numpy). The same
  # release as the benchmarks' peer venvs (bench/peer_env.py).
  "rio-tiler==9.4.12"
  # The reference for exact zonal statistics (coverage-weighted feature
  # statistics, tests/python/test_feature_statistics.py).
  "exactextract==0.3.0"
  # Validates the Data Packages tessera writes (tests).
  "frictionless==5.21.0"
  # The distributed example and its LocalCluster test (distributed listed too,
  # so a dask without its extra is completed).
  "dask[distributed]==2026.8.0"
  "distributed==2026.8.0"
  # The wheel's type stubs (generated at build time, so in this interpreter:
  # the build runs without isolation) and the type check of the examples.
  "pybind11-stubgen==3.0.0"
  "mypy==2.4.1"
  # A real STAC API client against `tessera serve` (tests/python/test_serve.py).
  "pystac-client==0.9.1"
  # A real WMTS client reading the service's capabilities documents.
  "OWSLib==0.35.0"
  # Validates the service's OpenAPI document (/api).
  "openapi-spec-validator==0.9.0"
  # Keys and bearer tokens for the service's access-control tests.
  "PyJWT[crypto]==2.15.1"
  # Drives Debian's chromium in the STAC Browser test (its own browser
  # download is not used).
  "playwright==1.65.3"
  # Parses the package pages strictly (tests/python/test_package_pages.py).
  "html5lib==1.1"
)

log() { printf '[setup] %s\n' "$*"; }

missing_apt=()
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing_apt+=("$package")
  fi
done
if ((${#missing_apt[@]})); then
  log "installing Debian packages: ${missing_apt[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
else
  log "Debian packages present"
fi

PYTHON=${PYTHON:-python3}
missing_py=()
for requirement in "${PYTHON_PACKAGES[@]}"; do
  if ! "$PYTHON" - "$requirement" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
from packaging.requirements import Requirement
requirement = Requirement(sys.argv[1])
sys.exit(0 if requirement.specifier.contains(version(requirement.name), prereleases=True) else 1)
PY
    missing_py+=("$requirement")
  fi
done
if ((${#missing_py[@]})); then
  log "installing Python packages: ${missing_py[*]}"
  # pypgstac's psycopg extra brings the binary libpq wheel it is tested with.
  "$PYTHON" -m pip install -q --disable-pip-version-check "${missing_py[@]/#pypgstac==/pypgstac[psycopg]==}"
else
  log "Python packages present"
fi

# Tools whose pins may clash with the packages above, each in a venv of its own
# under $TESSERA_TOOLS_VENVS: pinned_venv NAME REQUIREMENTS PROGRAM installs
# every (pinned) version of the requirements file into the venv NAME, again
# only when that file changes; PROGRAM (in the venv's bin/) shows it is there.
pinned_venv() {
  local name=$1 requirements=$2 program=$3
  local venv=${TESSERA_TOOLS_VENVS:-/opt/tessera-tools/venvs}/$name
  local hash
  hash=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ -x $venv/bin/$program && $(cat "$venv/.tessera-requirements.sha256" 2>/dev/null) == "$hash" ]]; then
    log "$name venv present"
  else
    log "installing $name into $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    echo "$hash" >"$venv/.tessera-requirements.sha256"
  fi
}
TESTS_DIR=$(dirname "$0")/../tests
# stac-api-validator (tests/python/test_stac_api_validator.py): its pystac pins.
pinned_venv stac-api-validator "$TESTS_DIR/stac_api/requirements.txt" python
# stac-fastapi-pgstac under uvicorn (tests/python/test_stac_api_catalog.py: the
# remote STAC API catalog against it).
pinned_venv stac-fastapi-pgstac "$TESTS_DIR/stac_fastapi/requirements.txt" uvicorn
# The geobuf package (tests/python/geobuf_fixtures.py writes the documents the
# geoprocessing service's decoder is tested against).
pinned_venv geobuf "$TESTS_DIR/geobuf/requirements.txt" python
# stac-validator on the items create_item makes (tests/python/test_raster_item_validation.py).
pinned_venv stac-validator "$TESTS_DIR/stac_validator/requirements.txt" stac-validator
# moto in server mode, the SQS/SNS-compatible test server (scripts/queue_server.sh runs it).
pinned_venv moto "$TESTS_DIR/queue_server/requirements.txt" moto_server

# versitygw, the S3-compatible test server, from the Go module proxy at a
# pinned version (scripts/s3_server.sh runs it).
VERSITYGW_VERSION=v1.8.0
TOOLS_BIN=${TESSERA_TOOLS_BIN:-/opt/tessera-tools/bin}
if [[ -x $TOOLS_BIN/versitygw && $(cat "$TOOLS_BIN/versitygw.version" 2>/dev/null) == "$VERSITYGW_VERSION" ]]; then
  log "versitygw $VERSITYGW_VERSION present"
else
  # The machine's Go toolchain (Debian's golang-go is too old for versitygw).
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [[ -x $GO ]] || { log "error: no Go toolchain to build versitygw (need Go >= 1.24)"; exit 1; }
  log "building versitygw $VERSITYGW_VERSION with $($GO version) (a few minutes, once)"
  mkdir -p "$TOOLS_BIN"
  GOBIN=$TOOLS_BIN GOFLAGS=-mod=mod "$GO" install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  echo "$VERSITYGW_VERSION" >"$TOOLS_BIN/versitygw.version"
fi

# The tile server viewer's npm packages (MapLibre GL JS, esbuild,
# playwright-core), pinned by package-lock.json. `npm ci` reinstalls from
# scratch, so it runs only when the lock file changed since the last install.
VIEWER_DIR=examples/tile_server/viewer
VIEWER_STAMP=$VIEWER_DIR/node_modules/.tessera-lock.sha256
(
  cd "$(dirname "$0")/.."
  LOCK_HASH=$(sha256sum "$VIEWER_DIR/package-lock.json" | cut -d' ' -f1)
  if [[ $(cat "$VIEWER_STAMP" 2>/dev/null) == "$LOCK_HASH" ]]; then
    log "viewer npm packages present"
  else
    command -v npm >/dev/null || { log "error: npm is needed for the tile server viewer (Node.js >= 20)"; exit 1; }
    log "installing the viewer's npm packages (npm ci)"
    (cd "$VIEWER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$LOCK_HASH" >"$VIEWER_STAMP"
  fi
)

# STAC Browser, served by `tessera serve` at /browser/: built from npm with
# its dependencies pinned (scripts/build_stac_browser.sh; skipped when built).
"$(dirname "$0")/build_stac_browser.sh"
