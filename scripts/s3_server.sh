#!/usr/bin/env bash
# Starts and stops a throw-away S3-compatible server (versitygw, posix
# backend) on loopback with its own data folder and keys, for tests and
# benchmarks. The binary comes from the Go module proxy at a pinned version
# (scripts/setup.sh installs it).
#
#   scripts/s3_server.sh start [DIR] [PORT]   prints the endpoint URL (http://127.0.0.1:PORT)
#   scripts/s3_server.sh stop  [--purge] [DIR]
#   scripts/s3_server.sh status [DIR]          exit 0 running, 3 stopped
#
# Keys: access "tessera", secret "tessera-secret"; bucket "tessera-test" exists.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
TOOLS_BIN=${TESSERA_TOOLS_BIN:-/opt/tessera-tools/bin}
BINARY=${TESSERA_VERSITYGW:-$TOOLS_BIN/versitygw}
ACCESS_KEY=tessera
SECRET_KEY=tessera-secret
BUCKET=tessera-test

log() { printf '[s3_server] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command=${1:-}
shift || true
purge=0
if [[ ${1:-} == --purge ]]; then purge=1; shift; fi
DIR=${1:-${TESSERA_S3_DIR:-/tmp/tessera-s3}}
PORT=${2:-${TESSERA_S3_PORT:-57070}}
PIDFILE=$DIR/versitygw.pid

NAME=versitygw
# shellcheck source=lib/loopback_server.sh
source "$(dirname "$0")/lib/loopback_server.sh"

case $command in
  start)
    [[ -x $BINARY ]] || { log "versitygw not found at $BINARY; install it with:"; \
      log "  GOBIN=$TOOLS_BIN go install github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"; exit 2; }
    mkdir -p "$DIR/data/$BUCKET" "$DIR/log"
    if ! running; then
      # ROOT_* keys are the admin account; --port binds loopback only.
      ROOT_ACCESS_KEY=$ACCESS_KEY ROOT_SECRET_KEY=$SECRET_KEY \
        nohup "$BINARY" --port "127.0.0.1:$PORT" posix "$DIR/data" >"$DIR/log/versitygw.log" 2>&1 &
      echo $! >"$PIDFILE"
    fi
    await_server "http://127.0.0.1:$PORT/" "$DIR/log/versitygw.log" 10
    ;;
  *)
    server_command "$command"
    ;;
esac
