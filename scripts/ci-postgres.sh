#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (CI and local).
#
#   eval "$(scripts/ci-postgres.sh start [DIR])"   # prints: export CN_TEST_DATABASE_URL=...
#                                                  #         export CN_TEST_PG_DIR=DIR
#   scripts/ci-postgres.sh stop [DIR]              # stops the server and removes DIR
#
# start: installs Debian's PostgreSQL server when it is missing (apt-get, root only), creates a
# cluster in DIR (default: a new mktemp directory) owned by the `postgres` OS user (the server
# refuses to run as root), starts it on 127.0.0.1 on a free port with the socket inside DIR,
# creates the database `cn_test` and prints the export lines on stdout (everything else goes
# to stderr). Authentication is `trust` on 127.0.0.1 only: this server is for tests.
# stop: `pg_ctl stop -m fast`, then removes DIR. DIR defaults to $CN_TEST_PG_DIR.
set -euo pipefail

log() { echo "ci-postgres: $*" >&2; }

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [[ -x "$d/initdb" ]]; then echo "$d"; return 0; fi
  done
  return 1
}

# Runs a command as the postgres user (or as ourselves when we are not root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  local dir="${1:-}"
  if ! pg_bindir >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
      log "PostgreSQL server is not installed and we are not root: apt-get install postgresql"
      exit 1
    fi
    log "installing Debian's postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
  fi
  local bin
  bin=$(pg_bindir)
  [[ -n "$dir" ]] || dir=$(mktemp -d /tmp/cn-pg.XXXXXX)
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres: "$dir"
  fi
  chmod 700 "$dir"
  local port
  port=$(free_port)
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres cn_test >&2
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
  echo "export CN_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:$port/cn_test"
  echo "export CN_TEST_PG_DIR=$dir"
}

stop() {
  local dir="${1:-${CN_TEST_PG_DIR:-}}"
  if [[ -z "$dir" || ! -d "$dir" ]]; then
    log "nothing to stop (give DIR or set CN_TEST_PG_DIR)"
    return 0
  fi
  local bin
  bin=$(pg_bindir)
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [DIR] | stop [DIR]" >&2; exit 2 ;;
esac
