#!/usr/bin/env bash
# Starts and stops a throw-away PostgreSQL 15 + PostGIS 3 cluster on loopback with
# the pgstac schema installed by `pypgstac migrate`, for tests and benchmarks.
#
#   scripts/pgstac_cluster.sh start  [DIR] [PORT]   init if needed, start, migrate, verify;
#                                                   prints the connection URI on stdout
#   scripts/pgstac_cluster.sh stop   [--purge] [DIR] fast shutdown; --purge also deletes DIR
#   scripts/pgstac_cluster.sh purge  [DIR]          same as stop --purge
#   scripts/pgstac_cluster.sh status [DIR]          exit 0 running, 3 stopped or absent
#   scripts/pgstac_cluster.sh url    [DIR]          prints the connection URI
#
# DIR defaults to ${TESSERA_PG_DIR:-/tmp/tessera-pgstac}; PORT to $TESSERA_PG_PORT, else
# the port DIR was last started with, else 55432. The server listens on 127.0.0.1 only,
# its unix socket is DIR/run, its log DIR/log/postgresql.log.
# Auth is trust (throw-away cluster); database `pgstac`, login role `tessera`
# (password `tessera`, SUPERUSER so that `pypgstac migrate` can create roles and
# extensions, default search_path `pgstac, public` as pgstac's docs set up an
# application role); bootstrap superuser `postgres` over the socket.
#
# A second database, `pgstac_template`, is migrated the same way and then closed to
# connections: tests clone it (`CREATE DATABASE <name> TEMPLATE pgstac_template`, a
# fraction of a second) so that each test, or each test process, has a pgstac
# database of its own and tests can run in parallel. Its COMMENT holds the pgstac
# version; a start migrates it again only when that differs.
#
# PostgreSQL refuses to run as root: when run as root the server runs as the system
# user ${TESSERA_PG_USER:-tessera-pg} (created with `useradd --system` if missing)
# through `runuser`, and DIR is owned by that user; DIR's parents must be traversable
# by it (so not under /root). When not root, the server runs as the calling user.
#
# Prerequisites (installed by scripts/setup.sh, never by this script):
#   Debian: postgresql-15 postgresql-15-postgis-3 (postgresql-client-15 comes with them)
#   PyPI:   python3 -m pip install "pypgstac[psycopg]==0.10.0"
# Exit codes: 0 ok, 1 a step failed, 2 usage error or missing prerequisite,
# 3 `status`: not running. Every external command runs under a timeout.
set -Eeuo pipefail

PROG=${0##*/}
PG_BIN=/usr/lib/postgresql/15/bin
PG_EXT_DIR=/usr/share/postgresql/15/extension
PYPGSTAC_VERSION=0.10.0
PYTHON=${PYTHON:-python3}
RUN_AS=${TESSERA_PG_USER:-tessera-pg}
DEFAULT_DIR=/tmp/tessera-pgstac
DEFAULT_PORT=55432
DB_NAME=pgstac
TEMPLATE_DB=pgstac_template
DB_USER=tessera
DB_PASSWORD=tessera
START_TIMEOUT=${TESSERA_PG_START_TIMEOUT:-30}
MIGRATE_TIMEOUT=${TESSERA_PG_MIGRATE_TIMEOUT:-600}
LOCK_TIMEOUT=${TESSERA_PG_LOCK_TIMEOUT:-300}
MARKER=.tessera-pgstac-cluster

# Our own PG* settings only: a caller's PGHOST/PGOPTIONS/PGSERVICE... must not leak in.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^PG' || true)
export PGCONNECT_TIMEOUT=5

STEP="parsing arguments"
log() { printf '[pgstac_cluster] %s\n' "$*" >&2; }
step() {
  STEP=$*
  log "$*"
}
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
die2() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 2
}
on_err() {
  local rc=$?
  # Reported once, by the main shell: a failing $(...) or (...) only passes its status up.
  ((BASH_SUBSHELL > 0)) || printf '%s: error: step "%s" failed (exit %d)\n' "$PROG" "$STEP" "$rc" >&2
  exit "$rc"
}
trap on_err ERR

usage() {
  sed -n '2,/^set -Eeuo/{/^set -Eeuo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

# --- prerequisites -----------------------------------------------------------------

check_packages() {
  local missing=() tool
  if [[ ! -x $PG_BIN/initdb || ! -x $PG_BIN/pg_ctl || ! -x $PG_BIN/postgres ||
    ! -f $PG_EXT_DIR/btree_gist.control || ! -f $PG_EXT_DIR/unaccent.control ]]; then
    missing+=(postgresql-15)
  fi
  [[ -x $PG_BIN/psql && -x $PG_BIN/pg_isready ]] || missing+=(postgresql-client-15)
  [[ -f $PG_EXT_DIR/postgis.control ]] || missing+=(postgresql-15-postgis-3)
  for tool in timeout realpath; do
    command -v "$tool" >/dev/null || missing+=(coreutils)
  done
  command -v flock >/dev/null || missing+=(util-linux)
  if ((EUID == 0)); then
    command -v runuser >/dev/null || missing+=(util-linux)
    command -v useradd >/dev/null || missing+=(passwd)
  fi
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
    die2 "missing Debian packages: ${missing[*]}
  install them with (scripts/setup.sh does this; this script never installs):
    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
}

check_python() {
  local found
  command -v "$PYTHON" >/dev/null || die2 "Python interpreter '$PYTHON' not found (set PYTHON=...)"
  found=$(cd / && timeout 60 "$PYTHON" -c \
    'import psycopg, psycopg_pool, pypgstac; print(pypgstac.__version__)' 2>/dev/null) || found=""
  if [[ $found != "$PYPGSTAC_VERSION" ]]; then
    die2 "pypgstac $PYPGSTAC_VERSION with psycopg 3 is required for $PYTHON (found: ${found:-not importable})
  install it with (scripts/setup.sh does this; this script never installs):
    $PYTHON -m pip install \"pypgstac[psycopg]==$PYPGSTAC_VERSION\""
  fi
}

# --- helpers ---------------------------------------------------------------------

# Runs a command as the server's OS user, from / so an unreadable cwd does not matter.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u "$RUN_AS" -- "$@")
  else
    (cd / && "$@")
  fi
}

resolve_dir() {
  DIR=$(realpath -m -- "${1:-${TESSERA_PG_DIR:-$DEFAULT_DIR}}")
  case $DIR in
    / | /tmp | /root | /home | /usr | /var | /etc | /work) die2 "refusing to use '$DIR' as the cluster directory" ;;
  esac
  DATA=$DIR/data
  SOCK=$DIR/run
  LOGDIR=$DIR/log
}

validate_port() {
  if [[ ! $1 =~ ^[1-9][0-9]{3,4}$ ]] || (($1 < 1024 || $1 > 65535)); then
    die2 "invalid port '$1' (1024-65535)"
  fi
}

stored_port() { [[ -f $DIR/port ]] && tr -dc '0-9' <"$DIR/port"; }

# Port of the running postmaster (line 4 of postmaster.pid), empty if none.
running_port() { [[ -f $DATA/postmaster.pid ]] && sed -n 4p "$DATA/postmaster.pid" | tr -dc '0-9'; }

# url_for PORT [DATABASE]: the database defaults to $DB_NAME.
url_for() { printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$DB_USER" "$DB_PASSWORD" "$1" "${2:-$DB_NAME}"; }

is_ours() { [[ -f $DIR/$MARKER ]]; }

dir_is_empty() { [[ -d $DIR && -z $(ls -A -- "$DIR") ]]; }

postmaster_pid() { [[ -f $DATA/postmaster.pid ]] && sed -n 1p "$DATA/postmaster.pid" | tr -dc '0-9'; }

pid_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true; } # empty once gone

# 0 running, non-zero otherwise. pg_ctl status: 0 running, 3 not running, 4 no data dir.
# A postmaster that was SIGKILLed stays a zombie until PID 1 reaps it, and pg_ctl
# still calls that running.
is_running() {
  local pid
  [[ -f $DATA/PG_VERSION ]] || return 1
  as_pg timeout 15 "$PG_BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1 || return 1
  pid=$(postmaster_pid || true)
  [[ -n $pid && $(pid_state "$pid") != Z ]]
}

# Waits (bounded) for a crashed postmaster's zombie to be reaped: while its PID exists
# the new postmaster takes postmaster.pid for a live server's and refuses to start.
wait_zombie_reaped() {
  local pid deadline=$((SECONDS + 15))
  pid=$(postmaster_pid || true)
  [[ -n $pid ]] || return 0
  while [[ $(pid_state "$pid") == Z ]]; do
    ((SECONDS < deadline)) || die "the postmaster $pid of a crashed server was not reaped by PID 1 within 15s"
    sleep 0.5
  done
}

take_lock() {
  exec 9>>"$DIR/.lock"
  flock -w "$LOCK_TIMEOUT" 9 || die "timed out after ${LOCK_TIMEOUT}s waiting for the lock on $DIR/.lock"
}

show_log_tail() {
  if [[ -f $1 ]]; then
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n 25 "$1" >&2 || true
  fi
}

port_in_use() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# psql as the bootstrap superuser over the unix socket; extra args follow.
psql_admin() {
  local db=$1
  shift
  PGOPTIONS="-c client_min_messages=warning" timeout 120 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d "$db" "$@"
}

# psql over TCP as the login role, exactly as a client connects (the role's default
# search_path, pgstac, public, included).
psql_url() { psql_url_db "$DB_NAME" "$@"; }
psql_url_db() {
  local db=$1
  shift
  PGOPTIONS='-c statement_timeout=60000' timeout 90 \
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$(url_for "$PORT" "$db")" "$@"
}

# --- commands --------------------------------------------------------------------

cmd_start() {
  local explicit_port=${2:-${TESSERA_PG_PORT:-}}
  check_packages
  check_python
  resolve_dir "${1:-}"
  [[ -z $explicit_port ]] || validate_port "$explicit_port"
  local sock_path="$SOCK/.s.PGSQL.65535" # the longest a port can make it
  ((${#sock_path} <= 100)) || die2 "socket path $SOCK/.s.PGSQL.<port> is too long for a unix socket: use a shorter DIR"

  step "preparing $DIR"
  if ((EUID == 0)); then
    [[ $RUN_AS != root ]] || die2 "TESSERA_PG_USER must not be root: PostgreSQL refuses to run as root"
    if ! id -u "$RUN_AS" >/dev/null 2>&1; then
      step "creating system user $RUN_AS"
      timeout 30 useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$RUN_AS" || id -u "$RUN_AS" >/dev/null 2>&1 ||
        die "could not create system user $RUN_AS"
    fi
  fi
  mkdir -p -- "$DIR"
  if ! is_ours; then
    dir_is_empty || die2 "$DIR exists, is not empty and was not made by $PROG: refusing to use it"
    : >"$DIR/$MARKER"
  fi
  take_lock
  mkdir -p -- "$SOCK" "$LOGDIR"
  # Created up front so that everything in DIR belongs to the server's user: the logs
  # below are written by this shell, and a redirection into an existing file keeps its owner.
  touch -- "$DIR/port" "$LOGDIR/initdb.log" "$LOGDIR/pg_ctl.log" "$LOGDIR/pypgstac-migrate.log" "$LOGDIR/pypgstac-migrate-template.log"
  if ((EUID == 0)); then
    chown "$RUN_AS:" -- "$DIR" "$DIR/$MARKER" "$DIR/.lock" "$DIR/port" "$SOCK" "$LOGDIR" \
      "$LOGDIR/initdb.log" "$LOGDIR/pg_ctl.log" "$LOGDIR/pypgstac-migrate.log" "$LOGDIR/pypgstac-migrate-template.log"
    as_pg test -w "$DIR" -a -w "$SOCK" -a -w "$LOGDIR" ||
      die2 "user $RUN_AS cannot write $DIR (are its parent directories traversable by $RUN_AS? do not use a path under /root)"
  fi
  chmod 0755 -- "$DIR"

  local running=0 port_now rc
  if is_running; then running=1; fi
  port_now=$(running_port || true)
  if ((running)); then
    PORT=${port_now:-$(stored_port)}
    [[ -z $explicit_port || $explicit_port == "$PORT" ]] ||
      die2 "the cluster in $DIR is running on port $PORT, not $explicit_port: stop it first"
    log "server already running on 127.0.0.1:$PORT"
  else
    PORT=${explicit_port:-$(stored_port || true)}
    PORT=${PORT:-$DEFAULT_PORT}
  fi

  if [[ ! -f $DATA/PG_VERSION ]]; then
    step "initdb $DATA"
    rm -rf -- "$DATA" # a leftover of an interrupted initdb
    as_pg timeout 180 "$PG_BIN/initdb" -D "$DATA" -U postgres -A trust --no-locale -E UTF8 \
      --no-sync --no-instructions >"$LOGDIR/initdb.log" 2>&1 || {
      show_log_tail "$LOGDIR/initdb.log"
      die "initdb failed"
    }
    printf '\n# tessera: throw-away cluster settings, rewritten on every start\ninclude_if_exists = '"'"'tessera.conf'"'"'\n' |
      as_pg tee -a "$DATA/postgresql.conf" >/dev/null
    printf '%s\n' \
      '# tessera throw-away cluster: unix socket (DIR/run) and 127.0.0.1 only, trust auth' \
      'local all all trust' \
      'host  all all 127.0.0.1/32 trust' | as_pg tee "$DATA/pg_hba.conf" >/dev/null
  fi

  if ((!running)); then
    step "configuring the server for 127.0.0.1:$PORT"
    printf '%s\n' \
      "# Written by $PROG on every start; edits here are lost." \
      "listen_addresses = '127.0.0.1'" \
      "port = $PORT" \
      "unix_socket_directories = '$SOCK'" \
      "fsync = off" \
      "synchronous_commit = off" \
      "full_page_writes = off" \
      "max_locks_per_transaction = 256" \
      "timezone = 'UTC'" \
      "log_timezone = 'UTC'" \
      "jit = off" | as_pg tee "$DATA/tessera.conf" >/dev/null
    printf '%s\n' "$PORT" >"$DIR/port"
    if port_in_use "$PORT"; then
      die "port $PORT on 127.0.0.1 is already in use by another process: pass another PORT"
    fi
    step "starting PostgreSQL (timeout ${START_TIMEOUT}s)"
    wait_zombie_reaped
    # 9>&-: the postmaster must not inherit the lock. stdin/stdout/stderr are detached so
    # `URL=$(pgstac_cluster.sh start)` does not wait on the server.
    as_pg timeout $((START_TIMEOUT + 15)) "$PG_BIN/pg_ctl" start -D "$DATA" -l "$LOGDIR/postgresql.log" \
      -w -t "$START_TIMEOUT" </dev/null >>"$LOGDIR/pg_ctl.log" 2>&1 9>&- || {
      show_log_tail "$LOGDIR/pg_ctl.log"
      show_log_tail "$LOGDIR/postgresql.log"
      die "PostgreSQL did not start (log: $LOGDIR/postgresql.log)"
    }
  fi

  step "waiting for 127.0.0.1:$PORT to accept connections"
  local deadline=$((SECONDS + START_TIMEOUT))
  until timeout 5 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -t 2; do
    if ((SECONDS >= deadline)); then
      show_log_tail "$LOGDIR/postgresql.log"
      die "server not accepting TCP connections on 127.0.0.1:$PORT after ${START_TIMEOUT}s"
    fi
    sleep 0.5
  done

  step "ensuring role $DB_USER, database $DB_NAME and extensions"
  psql_admin postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
ALTER ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD';
-- As pgstac's docs set up an application role: search() and delete_item() resolve
-- pgstac's tables through the caller's search_path.
ALTER ROLE $DB_USER SET search_path TO pgstac, public;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
  psql_admin "$DB_NAME" <<SQL
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS unaccent;
SQL

  step "pypgstac migrate (pypgstac $PYPGSTAC_VERSION, timeout ${MIGRATE_TIMEOUT}s)"
  (cd "$DIR" && timeout "$MIGRATE_TIMEOUT" "$PYTHON" -m pypgstac.pypgstac migrate \
    --dsn "$(url_for "$PORT")") </dev/null >"$LOGDIR/pypgstac-migrate.log" 2>&1 9>&- || {
    rc=$?
    show_log_tail "$LOGDIR/pypgstac-migrate.log"
    die "pypgstac migrate failed with exit status $rc$( ((rc != 124)) || echo ' (timed out)') (log: $LOGDIR/pypgstac-migrate.log)"
  }

  ensure_template

  step "verifying pgstac over $(url_for "$PORT")"
  local got
  got=$(psql_url -c 'SELECT pgstac.get_version()')
  [[ $got == "$PYPGSTAC_VERSION" ]] ||
    die "pgstac.get_version() returned '$got', expected $PYPGSTAC_VERSION"
  got=$(psql_url -c "SELECT pgstac.search('{}'::jsonb)->>'type'")
  [[ $got == FeatureCollection ]] ||
    die "pgstac.search('{}') did not return a FeatureCollection (got '$got')"
  got=$(psql_url -c 'SELECT postgis_lib_version()')
  log "ready: PostgreSQL $(psql_url -c 'SHOW server_version' | cut -d' ' -f1), PostGIS $got, pgstac $PYPGSTAC_VERSION on 127.0.0.1:$PORT"
  url_for "$PORT"
}

# The template database the tests clone: created, migrated while it takes connections,
# then closed to them (a clone fails while anyone is connected to its template).
ensure_template() {
  local comment="pgstac $PYPGSTAC_VERSION" got rc
  got=$(psql_admin postgres -At -c \
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$TEMPLATE_DB'")
  if [[ $got == "$comment" ]]; then
    log "template database $TEMPLATE_DB holds $comment"
    return 0
  fi
  step "template database $TEMPLATE_DB (pypgstac $PYPGSTAC_VERSION migrate, timeout ${MIGRATE_TIMEOUT}s)"
  psql_admin postgres <<SQL
SELECT 'CREATE DATABASE $TEMPLATE_DB OWNER $DB_USER'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$TEMPLATE_DB') \gexec
ALTER DATABASE $TEMPLATE_DB WITH IS_TEMPLATE false ALLOW_CONNECTIONS true;
SQL
  psql_admin "$TEMPLATE_DB" <<SQL
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS unaccent;
SQL
  (cd "$DIR" && timeout "$MIGRATE_TIMEOUT" "$PYTHON" -m pypgstac.pypgstac migrate \
    --dsn "$(url_for "$PORT" "$TEMPLATE_DB")") </dev/null >"$LOGDIR/pypgstac-migrate-template.log" 2>&1 9>&- || {
    rc=$?
    show_log_tail "$LOGDIR/pypgstac-migrate-template.log"
    die "pypgstac migrate of $TEMPLATE_DB failed with exit status $rc (log: $LOGDIR/pypgstac-migrate-template.log)"
  }
  got=$(psql_url_db "$TEMPLATE_DB" -c 'SELECT pgstac.get_version()')
  [[ $got == "$PYPGSTAC_VERSION" ]] ||
    die "pgstac.get_version() in $TEMPLATE_DB returned '$got', expected $PYPGSTAC_VERSION"
  psql_admin postgres <<SQL
ALTER DATABASE $TEMPLATE_DB WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;
COMMENT ON DATABASE $TEMPLATE_DB IS '$comment';
SQL
}

# Stops the server in DIR (fast, then immediate, then SIGKILL); no-op when not running.
stop_server() {
  [[ -f $DATA/PG_VERSION ]] || return 0
  [[ -x $PG_BIN/pg_ctl ]] || check_packages
  if ((EUID == 0)) && ! id -u "$RUN_AS" >/dev/null 2>&1; then
    die "user $RUN_AS does not exist, so no server of $DIR can be running as it; remove $DIR by hand if it is stale"
  fi
  if ! is_running; then
    log "server in $DIR is not running"
    return 0
  fi
  step "stopping the server in $DIR (fast shutdown)"
  if as_pg timeout 45 "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 30 >>"$LOGDIR/pg_ctl.log" 2>&1; then
    return 0
  fi
  step "fast shutdown did not finish: immediate shutdown"
  if as_pg timeout 30 "$PG_BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 15 >>"$LOGDIR/pg_ctl.log" 2>&1; then
    return 0
  fi
  local pid
  pid=$(postmaster_pid || true)
  if [[ -n $pid ]]; then
    step "immediate shutdown did not finish: SIGKILL to postmaster $pid"
    as_pg timeout 10 "$PG_BIN/pg_ctl" kill KILL "$pid" || true
    sleep 2
  fi
  if is_running; then
    show_log_tail "$LOGDIR/postgresql.log"
    die "could not stop the server in $DIR"
  fi
}

cmd_stop() {
  local purge=$1
  shift
  resolve_dir "${1:-}"
  step "stop $DIR"
  if [[ ! -e $DIR ]]; then
    log "$DIR does not exist: nothing to stop"
    return 0
  fi
  if ! is_ours; then
    if dir_is_empty && ((purge)); then
      rmdir -- "$DIR"
      return 0
    fi
    die2 "$DIR was not made by $PROG (no $MARKER): refusing to touch it"
  fi
  take_lock
  stop_server
  if ((purge)); then
    step "purging $DIR"
    rm -rf -- "$DIR"
    [[ ! -e $DIR ]] || die "could not remove $DIR"
    log "removed $DIR"
  else
    log "stopped (data kept in $DIR; 'stop --purge' deletes it)"
  fi
}

cmd_status() {
  resolve_dir "${1:-}"
  local port
  if [[ ! -f $DATA/PG_VERSION ]] || ! is_ours; then
    printf 'state: absent\ndir: %s\n' "$DIR"
    return 3
  fi
  if ! is_running; then
    printf 'state: stopped\ndir: %s\nport: %s\n' "$DIR" "$(stored_port || true)"
    return 3
  fi
  port=$(running_port || stored_port)
  PORT=$port
  printf 'state: running\ndir: %s\nport: %s\npid: %s\nurl: %s\npgstac: %s\n' \
    "$DIR" "$port" "$(sed -n 1p "$DATA/postmaster.pid")" "$(url_for "$port")" \
    "$(psql_url -c 'SELECT pgstac.get_version()' 2>/dev/null || echo 'not installed or not reachable')"
}

cmd_url() {
  resolve_dir "${1:-}"
  local port
  port=$(running_port || true)
  port=${port:-$(stored_port || true)}
  port=${port:-${TESSERA_PG_PORT:-$DEFAULT_PORT}}
  is_running || log "note: the cluster in $DIR is not running ('$PROG start' starts it)"
  url_for "$port"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case $cmd in
    start)
      (($# <= 2)) || usage
      cmd_start "$@"
      ;;
    stop | purge)
      local purge=0 args=()
      [[ $cmd == purge ]] && purge=1
      for a in "$@"; do
        case $a in
          --purge) purge=1 ;;
          -*) usage ;;
          *) args+=("$a") ;;
        esac
      done
      ((${#args[@]} <= 1)) || usage
      cmd_stop "$purge" "${args[@]}"
      ;;
    status)
      (($# <= 1)) || usage
      trap - ERR
      set +e
      cmd_status "$@"
      exit $?
      ;;
    url)
      (($# <= 1)) || usage
      cmd_url "$@"
      ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
