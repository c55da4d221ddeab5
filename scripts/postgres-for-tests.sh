#!/usr/bin/env bash
# Starts a private PostgreSQL server on a free loopback port for the
# PostgreSQL variants of the history tests (host/history/tests and
# tests/history.rs).
#
# Usage:
#   scripts/postgres-for-tests.sh                    start PostgreSQL and leave it
#                                                    running
#   scripts/postgres-for-tests.sh COMMAND [ARG]...   start PostgreSQL, run the
#                                                    command with the variable
#                                                    below set, then stop it and
#                                                    delete its files; exits with
#                                                    the command's status
#
# Example:
#   scripts/postgres-for-tests.sh cargo test -p mailgate-history
#
# Variable set for the command, and printed in the first mode:
#   MAILGATE_POSTGRES_URL  postgres://mailgate:<password>@127.0.0.1:<port>/mailgate
#
# The role `mailgate` may create databases, because every test creates a
# database of its own and drops it again. The server listens on 127.0.0.1
# only and requires the role's password (scram-sha-256), which is random
# for each run. Its data directory, socket and log are in a temporary
# directory that is deleted when the server stops. fsync is off: the data
# is thrown away anyway.
#
# The PostgreSQL server is installed from the Debian package `postgresql`
# when its programs are missing, which needs root; the package is told not
# to create its default cluster. initdb refuses to run as root, so as root
# the server runs as the system user `postgres` (or `nobody` when that user
# does not exist); otherwise it runs as the calling user.
set -euo pipefail

STARTUP_TIMEOUT_SECONDS=60

# Prints the directory that contains initdb, pg_ctl and psql of one
# version: the one of the initdb on PATH, else the newest Debian one.
find_server_programs() {
    local candidate
    if command -v initdb >/dev/null 2>&1; then
        candidate=$(dirname "$(readlink -f "$(command -v initdb)")")
    else
        candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/psql" ]; then
        echo "$candidate"
    fi
}

install_postgres() {
    if [ -n "$(find_server_programs)" ]; then
        return
    fi

    echo "PostgreSQL server not found; installing postgresql" >&2
    # Without this setting the package creates and starts a cluster on port
    # 5432 that the tests do not use.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q -o Dpkg::Options::=--force-confold postgresql >&2
}

find_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a command as the user that owns the cluster.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}

choose_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        echo nobody
    fi
}

start_postgres() {
    local dir=$1 port=$2 password=$3

    printf '%s\n' "$password" >"$dir/superuser-password"
    chown -R "$owner" "$dir"
    chmod 700 "$dir"

    as_owner "$bin/initdb" --pgdata="$dir/data" --username=postgres --pwfile="$dir/superuser-password" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        echo "initdb failed; its output follows" >&2
        cat "$dir/initdb.log" >&2
        return 1
    }

    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/postgres.log" --wait --timeout="$STARTUP_TIMEOUT_SECONDS" \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=200" \
        start >"$dir/pg_ctl.log" 2>&1 || {
        echo "PostgreSQL did not start; its log follows" >&2
        cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 2>/dev/null || true
        return 1
    }

    PGPASSWORD=$password as_owner "$bin/psql" --host=127.0.0.1 --port="$port" --username=postgres --dbname=postgres \
        --quiet --no-psqlrc -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE mailgate LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE mailgate OWNER mailgate" >&2
}

stop_postgres() {
    local dir=$1

    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null 2>&1 || {
            local pid
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
            [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
        }
    fi
    rm -rf "$dir"
}

install_postgres
bin=$(find_server_programs)
if [ -z "$bin" ]; then
    echo "PostgreSQL programs (initdb, pg_ctl, psql) not found after installing postgresql" >&2
    exit 1
fi
owner=$(choose_owner)

dir=$(mktemp -d /tmp/mailgate-postgres.XXXXXX)
trap 'stop_postgres "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(find_free_port)
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
start_postgres "$dir" "$port" "$password"

export MAILGATE_POSTGRES_URL="postgres://mailgate:$password@127.0.0.1:$port/mailgate"

if [ "$#" -eq 0 ]; then
    trap - EXIT INT TERM
    echo "PostgreSQL is running on 127.0.0.1:$port (files in $dir, owned by $owner)"
    echo "MAILGATE_POSTGRES_URL=$MAILGATE_POSTGRES_URL"
    echo "stop it with: ${bin}/pg_ctl --pgdata=$dir/data stop (as $owner) && rm -rf $dir"
    exit 0
fi

echo "PostgreSQL is running on 127.0.0.1:$port; running: $*" >&2
"$@"
