#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, in var/postgres of this checkout.
#
#   bash scripts/postgres.sh start   install Debian's postgresql if needed, create a fresh cluster,
#                                    start it and create database pcoord_test (running: no-op)
#   bash scripts/postgres.sh stop    stop it (not running: no-op)
#   bash scripts/postgres.sh url     print the SQLAlchemy URL of the test database
#
# Several test runs may share one checkout (and so one server): with PCOORD_PG_LEASE set to the
# pid of a process that lives as long as the run (`make test` passes its shell's), `start` records
# a lease and `stop` leaves the server running while another live run still holds one. Starts
# and stops take turns on a lock file beside the cluster's directory.
# The server listens on 127.0.0.1 only, on port ${PCOORD_PG_PORT:-55432}, with its unix socket in
# var/postgres; local and loopback connections are trusted. Durability is switched off: the data
# is thrown away. As root, the cluster belongs to the `postgres` system user (initdb refuses root).
set -euo pipefail
# shellcheck source=scripts/lib/leases.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/leases.sh"

cd "$(dirname "$0")/.."
port=${PCOORD_PG_PORT:-55432}
database=pcoord_test
superuser=postgres
ready_seconds=30

say() { echo "postgres.sh: $*"; }
die() {
    echo "postgres.sh: ERROR: $*" >&2
    exit 1
}

usage() { die "usage: bash scripts/postgres.sh start|stop|url"; }

# Runs a server-side command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The cluster lives in var/postgres, unless the `postgres` system user (we are root) cannot reach
# this checkout, or the socket's path would be too long: then in a directory of its own in /tmp.
choose_base() {
    base="$(pwd)/var/postgres"
    local why=
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p var
        runuser -u postgres -- test -x "$(pwd)/var" 2>/dev/null ||
            why="the postgres user cannot reach $(pwd)/var"
    fi
    [ ${#base} -le 80 ] || why="the socket path under $base would be too long"
    if [ -n "$why" ]; then
        base="/tmp/pcoord-postgres-$(pwd | cksum | cut -d' ' -f1)"
        if [ "$1" = start ]; then say "$why: using $base"; fi
    fi
    data="$base/data"
    log="$base/server.log"
    leases="$base/leases"
}

take_lock() {
    exec 9>"$base.lock"
    flock -w 600 9 || die "waited 600s for $base.lock: another scripts/postgres.sh start or stop \
is still running"
}

find_bin() {
    local candidate
    bin=
    for candidate in $(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V); do
        [ -x "$candidate/initdb" ] && bin=$candidate
    done
    [ -n "$bin" ]
}

install_postgresql() {
    local sudo=
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not installed and sudo is missing: \
install Debian's postgresql package as root (apt-get install postgresql)"
        sudo=sudo
    fi
    say "installing Debian's postgresql package"
    local apt_log
    apt_log=$(mktemp)
    $sudo apt-get update -qq >"$apt_log" 2>&1 || {
        cat "$apt_log" >&2
        die "apt-get update failed"
    }
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        postgresql >"$apt_log" 2>&1 || {
        cat "$apt_log" >&2
        die "apt-get install postgresql failed"
    }
    rm -f "$apt_log"
    find_bin || die "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb was found"
}

is_running() {
    [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

show_log() {
    if [ -f "$log" ]; then
        echo "--- last lines of $log:" >&2
        tail -n 20 "$log" >&2
    fi
}

wait_until_ready() {
    local waited=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres; do
        if [ "$waited" -ge "$ready_seconds" ]; then
            show_log
            die "server in $data does not accept connections on 127.0.0.1:$port \
after ${ready_seconds}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

psql_admin() {
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres "$@"
}

create_cluster() {
    say "creating a fresh cluster in $data"
    rm -rf "$data" "$leases" "$log"
    mkdir -p "$base"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$base"
        chmod 700 "$base"
        runuser -u postgres -- test -w "$base" || die "the postgres system user cannot write \
to $base: every directory above it must be searchable by others (chmod o+x)"
    fi
    as_owner "$bin/initdb" -D "$data" -U "$superuser" --auth=trust --encoding=UTF8 --no-sync \
        --locale=C >"$base/initdb.log" 2>&1 || {
        cat "$base/initdb.log" >&2
        die "initdb failed (log: $base/initdb.log)"
    }
    # Trusted local and loopback connections only; settings for a disposable test server.
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# scripts/postgres.sh: a throw-away test server
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base'
timezone = 'UTC'
log_timezone = 'UTC'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
# scripts/postgres.sh: trust local and loopback connections; nothing else may connect.
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
EOF
}

start() {
    [[ "$port" =~ ^[0-9]+$ ]] || die "PCOORD_PG_PORT must be a port number, not '$port'"
    find_bin || install_postgresql
    if is_running; then
        say "already running in $data"
    else
        local version
        version=$("$bin/postgres" --version) || die "$bin/postgres does not run"
        if command -v ss >/dev/null 2>&1 && ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
            die "port $port on 127.0.0.1 is taken by another process: \
stop it or choose another port with PCOORD_PG_PORT"
        fi
        create_cluster
        say "starting $version on 127.0.0.1:$port"
        # 9>&-: the server must not inherit (and hold for ever) the lock.
        if ! as_owner "$bin/pg_ctl" start -D "$data" -l "$log" -w -t "$ready_seconds" \
            >/dev/null 9>&-; then
            show_log
            die "pg_ctl start failed (log: $log)"
        fi
    fi
    wait_until_ready
    if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
        psql_admin -c "CREATE DATABASE $database" || die "could not create database $database"
        say "created database $database"
    fi
    if [ -n "${PCOORD_PG_LEASE:-}" ]; then
        mkdir -p "$leases"
        touch "$leases/$PCOORD_PG_LEASE"
    fi
    say "ready: $(url)"
}

stop() {
    if ! find_bin || ! is_running; then
        say "not running"
        return 0
    fi
    local others
    others=$(other_leases "$leases" "${PCOORD_PG_LEASE:-}")
    if [ -n "${PCOORD_PG_LEASE:-}" ] && [ -n "$others" ]; then
        say "left running: other test runs still use it (pids ${others//$'\n'/ })"
        return 0
    fi
    as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w -t "$ready_seconds" >/dev/null || {
        show_log
        die "pg_ctl stop failed for $data"
    }
    say "stopped"
}

url() {
    echo "postgresql+psycopg://$superuser@127.0.0.1:$port/$database"
}

[ $# -eq 1 ] || usage
case "$1" in
    start)
        choose_base start
        take_lock
        start
        ;;
    stop)
        choose_base stop
        take_lock
        stop
        ;;
    url) url ;;
    *) usage ;;
esac
