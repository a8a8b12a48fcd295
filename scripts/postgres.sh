#!/usr/bin/env bash
# A throw-away PostgreSQL server for douane's tests (the PostgreSQL audit store).
#
#   scripts/postgres.sh start   # installs the server if missing, starts it, prints its DSN
#   scripts/postgres.sh dsn     # prints the DSN of the running server
#   scripts/postgres.sh stop    # stops it and deletes its data
#
# Never assumes a running server: on a fresh Debian machine (CI runs as root) it installs the
# `postgresql` package, creates a cluster in a temporary directory owned by the `postgres` OS
# user (postgres refuses to run as root), listens on a free port of 127.0.0.1 with its unix
# socket in /tmp, and trusts local connections (it holds test data only). Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$ROOT/.cache/postgres"          # what this script remembers: port, data dir
DSN_FILE="$STATE/dsn"

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_server() {
    if find_bindir >/dev/null; then return 0; fi
    if [ "$(id -u)" != 0 ]; then
        echo "postgres.sh: no PostgreSQL server binaries; install the 'postgresql' package" >&2
        exit 1
    fi
    echo "postgres.sh: installing PostgreSQL (apt-get install -y postgresql)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    # the package may start a cluster on 5432; ours is separate and never uses it
    find_bindir >/dev/null || { echo "postgres.sh: install gave no initdb" >&2; exit 1; }
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() {
    [ -f "$STATE/datadir" ] || return 1
    local bindir datadir
    bindir="$(find_bindir)" || return 1
    datadir="$(cat "$STATE/datadir")"
    [ -d "$datadir" ] && as_postgres "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1
}

start() {
    install_server
    if running && [ -f "$DSN_FILE" ]; then cat "$DSN_FILE"; return 0; fi
    local bindir datadir port sockdir
    bindir="$(find_bindir)"
    mkdir -p "$STATE"
    datadir="$(mktemp -d /tmp/douane-pg-data.XXXXXX)"
    sockdir="$(mktemp -d /tmp/douane-pg-sock.XXXXXX)"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$datadir" "$sockdir"; fi
    chmod 700 "$datadir"
    as_postgres "$bindir/initdb" -D "$datadir" -U douane --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$STATE/initdb.log" 2>&1 || { cat "$STATE/initdb.log" >&2; exit 1; }
    port="$(free_port)"
    echo "$datadir" >"$STATE/datadir"
    echo "$sockdir" >"$STATE/sockdir"
    as_postgres "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $sockdir -c fsync=on" start >/dev/null \
        || { cat "$datadir/server.log" >&2; exit 1; }
    echo "postgresql://douane@127.0.0.1:$port/postgres" >"$DSN_FILE"
    cat "$DSN_FILE"
}

stop() {
    [ -f "$STATE/datadir" ] || return 0
    local bindir datadir sockdir
    datadir="$(cat "$STATE/datadir")"
    sockdir="$(cat "$STATE/sockdir" 2>/dev/null || true)"
    if bindir="$(find_bindir)" && [ -d "$datadir" ]; then
        as_postgres "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$datadir" ${sockdir:+"$sockdir"}
    rm -f "$STATE/datadir" "$STATE/sockdir" "$DSN_FILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    dsn) running && cat "$DSN_FILE" ;;
    *) echo "usage: $0 start|stop|dsn" >&2; exit 2 ;;
esac
