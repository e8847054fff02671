#!/usr/bin/env bash
# The end-to-end demo on local files: builds tessera and runs the C++, C and
# Python examples. Output goes to demo-output/.
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

echo "== C++ example: storage"
build/release/examples/example_cpp_storage "$OUT/storage"
echo "== C example: storage through the C ABI"
build/release/examples/example_c_storage "$OUT/storage"
echo "== Python example: storage"
"$PYTHON" examples/python/storage.py "$OUT/storage"
echo "== CLI"
build/release/cli/tessera storage ls "$OUT/storage"
echo
echo "Demo finished; files are in $OUT"
