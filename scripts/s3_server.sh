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

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

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
    for _ in $(seq 1 100); do
      if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then
        echo "http://127.0.0.1:$PORT"
        exit 0
      fi
      running || { tail -20 "$DIR/log/versitygw.log" >&2; die "versitygw exited while starting"; }
      sleep 0.1
    done
    tail -20 "$DIR/log/versitygw.log" >&2
    die "versitygw did not answer on 127.0.0.1:$PORT within 10 s"
    ;;
  stop)
    if running; then
      pid=$(cat "$PIDFILE")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    if ((purge)); then rm -rf "$DIR"; fi
    ;;
  status)
    running || exit 3
    ;;
  *)
    echo "usage: $0 start [DIR] [PORT] | stop [--purge] [DIR] | status [DIR]" >&2
    exit 2
    ;;
esac
