#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and drills: its own data folder, a free loopback port,
# password authentication (SCRAM) for user `slmbench`, started and stopped by the caller.
#
# usage: scripts/tools/postgres.sh start DIR     initialise DIR (if new) and start; prints the env file's path
#        scripts/tools/postgres.sh stop DIR      stop (fast shutdown)
#        scripts/tools/postgres.sh restart DIR   stop and start again on the same port (scripts/check/faults.sh)
#
# DIR/env holds the connection for callers to source:
#   SLMBENCH_TEST_POSTGRES=postgres://slmbench@127.0.0.1:PORT/slmbench   (no password in it)
#   PGPASSWORD=…                                                          (random, per folder)
# The server runs as the `postgres` user when this script runs as root (PostgreSQL refuses root).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: scripts/tools/postgres.sh start|stop|restart DIR" >&2
  exit 64
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "postgres.sh: no PostgreSQL server under /usr/lib/postgresql; run scripts/bootstrap.sh (Debian package postgresql)" >&2
  exit 1
fi

as_server() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # As root the server runs as `postgres` (DIR is handed to it below), which must be able to
  # pass through every folder above DIR: a mode-700 folder of root's, such as mktemp -d makes,
  # shuts it out, and initdb then fails on its password file.
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$(dirname "$dir")"; then
    echo "postgres.sh: the postgres user cannot enter $(dirname "$dir"), which holds $dir; use a folder it can reach, e.g. mktemp -d /tmp/pg.XXXXXX" >&2
    exit 1
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    local password port
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    umask 077
    printf '%s\n' "$password" > "$dir/password"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
    as_server "$bindir/initdb" -D "$dir/data" -U slmbench --pwfile="$dir/password" --auth=scram-sha-256 \
      -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/password"
    printf 'port = %s\nlisten_addresses = '"'"'127.0.0.1'"'"'\nunix_socket_directories = '"'"'%s'"'"'\nmax_connections = 200\n' \
      "$port" "$dir" >> "$dir/data/postgresql.conf"
    {
      echo "SLMBENCH_TEST_POSTGRES=postgres://slmbench@127.0.0.1:$port/slmbench?sslmode=disable"
      echo "PGPASSWORD=$password"
    } > "$dir/env"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
    chmod 0644 "$dir/env"
  fi
  if ! as_server "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
  fi
  # The database the URL names (created once; the server's own user owns it).
  set -a; . "$dir/env"; set +a
  local port=${SLMBENCH_TEST_POSTGRES#*127.0.0.1:}; port=${port%%/*}
  if ! psql -h 127.0.0.1 -p "$port" -U slmbench -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'slmbench'" | grep -q 1; then
    createdb -h 127.0.0.1 -p "$port" -U slmbench slmbench
  fi
  echo "$dir/env"
}

stop() {
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start >/dev/null ;;
  *) echo "postgres.sh: unknown command '$cmd' (start, stop, restart)" >&2; exit 64 ;;
esac
