#!/usr/bin/env bash
# Starts a private clamd on a free loopback port for the clamd integration
# test of host/scan (tests/clamd_real.rs).
#
# Usage:
#   scripts/clamd-for-tests.sh                 start clamd and leave it running
#   scripts/clamd-for-tests.sh COMMAND [ARG]...  start clamd, run the command
#                                                with the variables below set,
#                                                then stop clamd; exits with the
#                                                command's status
#
# Example:
#   scripts/clamd-for-tests.sh cargo test -p mailgate-scan --test clamd_real
#
# Variables set for the command, and printed in the first mode:
#   MAILGATE_CLAMD             127.0.0.1:<port> of the running clamd
#   MAILGATE_CLAMD_STREAM_MAX  clamd's StreamMaxLength in bytes
#
# The official signature database cannot be downloaded here, so freshclam
# never runs. The script writes its own database instead:
#   mailgate-test.ndb  the EICAR test file as a body signature at offset 0
#   mailgate-test.hsb  a SHA-256 hash signature of HASH_TEST_FILE_SHA256
#   mailgate-test.hdb  an MD5 hash signature of HASH_TEST_FILE_MD5
# The contents of the two hash test files must stay equal to the constants
# of the same names in tests/clamd_real.rs.
#
# clamav-daemon is installed from the Debian packages when clamd is missing,
# which needs root.
set -euo pipefail

HASH_TEST_FILE_SHA256='mailgate clamd test file, blocked by a SHA-256 hash signature'
HASH_TEST_FILE_MD5='mailgate clamd test file, blocked by an MD5 hash signature'
STREAM_MAX_BYTES=1048576
STARTUP_TIMEOUT_SECONDS=60

install_clamd() {
    if command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]; then
        return
    fi

    echo "clamd not found; installing clamav-daemon" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q clamav-daemon >&2
}

find_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Succeeds when clamd on port $1 replies PONG to PING.
ping_clamd() {
    local port=$1
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        printf 'zPING\0' >&3
        reply=$(timeout 2 head -c 4 <&3 || true)
        [ "$reply" = "PONG" ]
    ) 2>/dev/null
}

write_database() {
    local dir=$1

    # The EICAR string, assembled from two halves so that scanners do not
    # flag this script.
    local eicar_first='X5O!P%@AP[4\PZX54(P^)7CC)7}$'
    local eicar_second='EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
    local eicar_hex
    eicar_hex=$(printf '%s%s' "$eicar_first" "$eicar_second" | od -An -v -tx1 | tr -d ' \n')
    # Body signature: name, target type 0 (any file), offset 0, hex bytes.
    printf 'Mailgate.Test.EICAR:0:0:%s\n' "$eicar_hex" >"$dir/db/mailgate-test.ndb"

    # Hash signatures: hash, file size in bytes, name.
    local sha256 md5
    sha256=$(printf '%s' "$HASH_TEST_FILE_SHA256" | sha256sum | cut -d' ' -f1)
    printf '%s:%d:Mailgate.Test.Sha256Hash\n' "$sha256" "${#HASH_TEST_FILE_SHA256}" >"$dir/db/mailgate-test.hsb"
    md5=$(printf '%s' "$HASH_TEST_FILE_MD5" | md5sum | cut -d' ' -f1)
    printf '%s:%d:Mailgate.Test.Md5Hash\n' "$md5" "${#HASH_TEST_FILE_MD5}" >"$dir/db/mailgate-test.hdb"
}

write_config() {
    local dir=$1 port=$2

    cat >"$dir/clamd.conf" <<CONF
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
TemporaryDirectory $dir/tmp
LogFile $dir/clamd.log
LogTime yes
Foreground yes
StreamMaxLength $STREAM_MAX_BYTES
MaxThreads 2
CONF
}

start_clamd() {
    local dir=$1 port=$2 pid

    clamd_binary=$(command -v clamd || echo /usr/sbin/clamd)
    setsid "$clamd_binary" --config-file="$dir/clamd.conf" >"$dir/clamd.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/clamd.pid"

    local waited=0
    until ping_clamd "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "clamd exited during start-up; its output and log follow" >&2
            cat "$dir/clamd.out" "$dir/clamd.log" >&2 2>/dev/null || true
            return 1
        fi
        if [ "$waited" -ge $((STARTUP_TIMEOUT_SECONDS * 10)) ]; then
            echo "clamd did not reply to PING within $STARTUP_TIMEOUT_SECONDS s; its log follows" >&2
            cat "$dir/clamd.log" >&2 2>/dev/null || true
            kill "$pid" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

stop_clamd() {
    local dir=$1 pid

    pid=$(cat "$dir/clamd.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

install_clamd

dir=$(mktemp -d /tmp/mailgate-clamd.XXXXXX)
mkdir -p "$dir/db" "$dir/tmp"
port=$(find_free_port)
write_database "$dir"
write_config "$dir" "$port"
start_clamd "$dir" "$port"

export MAILGATE_CLAMD="127.0.0.1:$port"
export MAILGATE_CLAMD_STREAM_MAX="$STREAM_MAX_BYTES"

if [ "$#" -eq 0 ]; then
    echo "clamd is running on 127.0.0.1:$port (pid $(cat "$dir/clamd.pid"), files in $dir)"
    echo "MAILGATE_CLAMD=$MAILGATE_CLAMD"
    echo "MAILGATE_CLAMD_STREAM_MAX=$MAILGATE_CLAMD_STREAM_MAX"
    echo "stop it with: kill $(cat "$dir/clamd.pid") && rm -rf $dir"
    exit 0
fi

trap 'stop_clamd "$dir"' EXIT
echo "clamd is running on 127.0.0.1:$port; running: $*" >&2
"$@"
