# The life cycle the throw-away test servers share (scripts/s3_server.sh,
# scripts/queue_server.sh): a process started in the background with its pid
# in $PIDFILE, waited for until $PROBE_URL answers, stopped politely then by
# force. Sourced; the caller sets NAME, PIDFILE, PORT and defines log/die.

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# await_server PROBE_URL LOG_FILE SECONDS: prints the endpoint once the
# server answers; dies with the log's tail if it exits or stays silent.
await_server() {
  local probe=$1 log_file=$2 seconds=$3
  for _ in $(seq 1 $((seconds * 10))); do
    if curl -s -o /dev/null --max-time 1 "$probe"; then
      echo "http://127.0.0.1:$PORT"
      return 0
    fi
    running || { tail -20 "$log_file" >&2; die "$NAME exited while starting"; }
    sleep 0.1
  done
  tail -20 "$log_file" >&2
  die "$NAME did not answer on 127.0.0.1:$PORT within $seconds s"
}

# stop_server PURGE DIR: ends the server (SIGTERM, then SIGKILL after 5 s);
# removes DIR when PURGE is 1.
stop_server() {
  local purge=$1 dir=$2
  if running; then
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  if ((purge)); then rm -rf "$dir"; fi
}

# The commands both scripts answer besides start.
server_command() {
  case $1 in
    stop) stop_server "$purge" "$DIR" ;;
    status) running || exit 3 ;;
    *)
      echo "usage: $0 start [DIR] [PORT] | stop [--purge] [DIR] | status [DIR]" >&2
      exit 2
      ;;
  esac
}
