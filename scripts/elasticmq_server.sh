#!/usr/bin/env bash
# Starts and stops ElasticMQ, an SQS-compatible server (Scala, on the JVM), on
# loopback for the queue loader benchmark (bench/loader_bench.py). The tests
# use moto (scripts/queue_server.sh), which answers ~15 messages/s: too slow to
# time a loader against. ElasticMQ answers in milliseconds. It is a benchmark
# tool only: scripts/setup.sh does not install it and scripts/test.sh does not
# start it.
#
# Install once (Java 17 and Maven; ElasticMQ and its jars from Maven Central at
# the version pinned in bench/elasticmq/pom.xml):
#
#   scripts/elasticmq_server.sh install            # into $TESSERA_ELASTICMQ_LIB
#
#   scripts/elasticmq_server.sh start [DIR] [PORT]  prints the endpoint URL (http://127.0.0.1:PORT)
#   scripts/elasticmq_server.sh stop  [--purge] [DIR]
#   scripts/elasticmq_server.sh status [DIR]         exit 0 running, 3 stopped
#
# Settings: bench/elasticmq/elasticmq.conf (relaxed SQS limits, region
# us-east-1, queue URLs on 127.0.0.1:PORT). Any credentials are accepted.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
POM=$REPO/bench/elasticmq/pom.xml
CONF=$REPO/bench/elasticmq/elasticmq.conf
VERSION=$(sed -n 's|.*<elasticmq.version>\(.*\)</elasticmq.version>.*|\1|p' "$POM")
LIB=${TESSERA_ELASTICMQ_LIB:-${TESSERA_TOOLS_DIR:-/opt/tessera-tools}/elasticmq-$VERSION/lib}

log() { printf '[elasticmq_server] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command=${1:-}
shift || true
purge=0
if [[ ${1:-} == --purge ]]; then purge=1; shift; fi
DIR=${1:-${TESSERA_ELASTICMQ_DIR:-/tmp/tessera-elasticmq}}
PORT=${2:-${TESSERA_ELASTICMQ_PORT:-57094}}
PIDFILE=$DIR/elasticmq.pid

NAME=elasticmq
# shellcheck source=lib/loopback_server.sh
source "$(dirname "$0")/lib/loopback_server.sh"

case $command in
  install)
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    log "ElasticMQ $VERSION from Maven Central into $LIB"
    mkdir -p "$LIB"
    mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB"
    ;;
  start)
    compgen -G "$LIB/elasticmq-server_*-$VERSION.jar" >/dev/null ||
      { log "ElasticMQ $VERSION not found in $LIB; install it with: $0 install"; exit 2; }
    command -v java >/dev/null || die "java not found (Java 17 runs ElasticMQ)"
    mkdir -p "$DIR/log"
    if ! running; then
      # A small heap: the benchmark queues hold a few thousand messages of ~1 KiB.
      nohup java -Xms64m -Xmx512m -Dconfig.file="$CONF" -Drest-sqs.bind-port="$PORT" \
        -cp "$LIB/*" org.elasticmq.server.Main >"$DIR/log/elasticmq.log" 2>&1 &
      echo $! >"$PIDFILE"
    fi
    # Any answer (ElasticMQ replies 400 to a bare GET) means it listens.
    await_server "http://127.0.0.1:$PORT/" "$DIR/log/elasticmq.log" 60
    ;;
  *)
    server_command "$command"
    ;;
esac
