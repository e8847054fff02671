#!/usr/bin/env bash
# Starts and stops a throw-away SQS/SNS-compatible server (moto in server
# mode) on loopback, for the queue loader's tests and benchmark. moto comes
# from PyPI at a pinned version in a venv of its own (scripts/setup.sh
# installs tests/queue_server/requirements.txt there). It speaks the AWS SQS
# and SNS APIs: long polling, visibility timeouts, redrive policies and
# receive counts, SNS topics fanning out to SQS subscriptions.
#
#   scripts/queue_server.sh start [DIR] [PORT]   prints the endpoint URL (http://127.0.0.1:PORT)
#   scripts/queue_server.sh stop  [--purge] [DIR]
#   scripts/queue_server.sh status [DIR]          exit 0 running, 3 stopped
#
# Any access key and secret are accepted; region us-east-1 is the default.
set -euo pipefail

VENV=${TESSERA_MOTO_VENV:-${TESSERA_TOOLS_VENVS:-/opt/tessera-tools/venvs}/moto}
BINARY=$VENV/bin/moto_server

log() { printf '[queue_server] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command=${1:-}
shift || true
purge=0
if [[ ${1:-} == --purge ]]; then purge=1; shift; fi
DIR=${1:-${TESSERA_QUEUE_DIR:-/tmp/tessera-queue}}
PORT=${2:-${TESSERA_QUEUE_PORT:-57090}}
PIDFILE=$DIR/moto.pid

NAME=moto_server
# shellcheck source=lib/loopback_server.sh
source "$(dirname "$0")/lib/loopback_server.sh"

case $command in
  start)
    [[ -x $BINARY ]] || { log "moto_server not found at $BINARY; install it with scripts/setup.sh"; exit 2; }
    mkdir -p "$DIR/log"
    if ! running; then
      nohup "$BINARY" -H 127.0.0.1 -p "$PORT" >"$DIR/log/moto.log" 2>&1 &
      echo $! >"$PIDFILE"
    fi
    await_server "http://127.0.0.1:$PORT/moto-api/" "$DIR/log/moto.log" 20
    ;;
  *)
    server_command "$command"
    ;;
esac
