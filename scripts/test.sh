#!/usr/bin/env bash
# The whole test suite: set-up, format check, C++/C tests (ctest), the
# installed-package consumer, the Python tests (pytest), the sanitizer run
# and a short fuzzing run of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
# The tests run in parallel: each has its own folders, ports, pgstac database and S3
# prefix, and those that stop a server stop one of their own.
JOBS=${TESSERA_TEST_JOBS:-2}
step() { printf '\n==== %s\n' "$*"; }

step "set-up"
scripts/setup.sh

step "format"
scripts/check_format.sh

step "PostgreSQL + PostGIS + pgstac (throw-away cluster on loopback)"
# The PgSTAC tests must run: a cluster that cannot start fails the suite.
PG_DIR=${TESSERA_PG_DIR:-/tmp/tessera-pgstac-test}
scripts/pgstac_cluster.sh stop --purge "$PG_DIR" >/dev/null 2>&1 || true
TESSERA_TEST_PGSTAC_URL=$(scripts/pgstac_cluster.sh start "$PG_DIR" "${TESSERA_PG_PORT:-55433}")
export TESSERA_TEST_PGSTAC_URL
trap 'scripts/pgstac_cluster.sh stop --purge "$PG_DIR" >/dev/null 2>&1 || true' EXIT
echo "pgstac at $TESSERA_TEST_PGSTAC_URL"

step "S3-compatible server (versitygw on loopback)"
# The S3 tests must run too: a server that cannot start fails the suite.
S3_DIR=${TESSERA_S3_DIR:-/tmp/tessera-s3-test}
scripts/s3_server.sh stop --purge "$S3_DIR" >/dev/null 2>&1 || true
TESSERA_TEST_S3_ENDPOINT=$(scripts/s3_server.sh start "$S3_DIR" "${TESSERA_S3_PORT:-57071}")
export TESSERA_TEST_S3_ENDPOINT TESSERA_TEST_S3_BUCKET=tessera-test
export TESSERA_TEST_S3_ACCESS_KEY=tessera TESSERA_TEST_S3_SECRET_KEY=tessera-secret
trap 'scripts/pgstac_cluster.sh stop --purge "$PG_DIR" >/dev/null 2>&1 || true;
      scripts/s3_server.sh stop --purge "$S3_DIR" >/dev/null 2>&1 || true' EXIT
echo "S3 at $TESSERA_TEST_S3_ENDPOINT"

step "SQS/SNS-compatible server (moto on loopback)"
# The queue loader's tests must run too: a server that cannot start fails the suite.
QUEUE_DIR=${TESSERA_QUEUE_DIR:-/tmp/tessera-queue-test}
scripts/queue_server.sh stop --purge "$QUEUE_DIR" >/dev/null 2>&1 || true
TESSERA_TEST_QUEUE_ENDPOINT=$(scripts/queue_server.sh start "$QUEUE_DIR" "${TESSERA_QUEUE_PORT:-57091}")
export TESSERA_TEST_QUEUE_ENDPOINT
trap 'scripts/pgstac_cluster.sh stop --purge "$PG_DIR" >/dev/null 2>&1 || true;
      scripts/s3_server.sh stop --purge "$S3_DIR" >/dev/null 2>&1 || true;
      scripts/queue_server.sh stop --purge "$QUEUE_DIR" >/dev/null 2>&1 || true' EXIT
echo "SQS/SNS at $TESSERA_TEST_QUEUE_ENDPOINT"

step "C++ and C tests (dev preset)"
cmake --preset dev
cmake --build --preset dev
ctest --preset dev -j "$JOBS"

step "install tree and external find_package(tessera) consumers"
rm -rf build/dev-install build/consumer build/cpp_consumer
cmake --install build/dev
# tests/consumer: the C ABI and C++ API link from the installed tree.
cmake -S tests/consumer -B build/consumer -G Ninja -DCMAKE_PREFIX_PATH="$ROOT/build/dev-install"
cmake --build build/consumer
build/consumer/tessera_consumer "$ROOT/build/consumer/storage"
# examples/cpp_consumer: the downstream application users copy.
cmake -S examples/cpp_consumer -B build/cpp_consumer -G Ninja -DCMAKE_PREFIX_PATH="$ROOT/build/dev-install"
cmake --build build/cpp_consumer
build/cpp_consumer/tessera_cpp_consumer "$ROOT/build/cpp_consumer/work"

step "Python tests"
"$PYTHON" -m pip install -q --disable-pip-version-check --no-build-isolation .
# In parallel (pytest-xdist): each test has its own folders, ports, S3 prefix and pgstac database.
(cd tests/python && "$PYTHON" -m pytest -q -p no:cacheprovider -n "$JOBS" .)

step "C++ and C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake --preset asan
cmake --build --preset asan
ctest --preset asan -j "$JOBS"

step "fuzzing: every parser target for a short bounded time (clang, ASan + UBSan)"
scripts/fuzz.sh "${TESSERA_FUZZ_SECONDS:-10}"

step "all test stages passed"
