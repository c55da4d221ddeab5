#!/usr/bin/env bash
# Starts a private chromedriver on a free loopback port for the browser test
# of the admin web UI (host/gateway/tests/admin_ui_browser.rs).
#
# Usage:
#   scripts/chromium-for-tests.sh                 start chromedriver and leave it
#                                                 running
#   scripts/chromium-for-tests.sh COMMAND [ARG]...  start chromedriver, run the
#                                                   command with the variable
#                                                   below set, then stop
#                                                   chromedriver and the browsers
#                                                   it started; exits with the
#                                                   command's status
#
# Example:
#   scripts/chromium-for-tests.sh cargo test -p mailgate --test admin_ui_browser
#
# Variable set for the command, and printed in the first mode:
#   MAILGATE_CHROMEDRIVER  http://127.0.0.1:<port> of the running chromedriver
#
# The test starts Chromium itself through chromedriver, headless, with
# /usr/bin/chromium and a new profile directory.
#
# The Debian packages chromium and chromium-driver are installed when
# chromedriver or Chromium is missing, which needs root.
set -euo pipefail

STARTUP_TIMEOUT_SECONDS=30

install_chromium() {
    if command -v chromedriver >/dev/null 2>&1 && [ -x /usr/bin/chromium ]; then
        return
    fi

    echo "chromedriver or chromium not found; installing chromium and chromium-driver" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q chromium chromium-driver >&2
}

find_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Succeeds when chromedriver on port $1 reports that it is ready.
chromedriver_ready() {
    local port=$1
    curl --silent --max-time 2 "http://127.0.0.1:$port/status" 2>/dev/null | grep -q '"ready": *true'
}

start_chromedriver() {
    local dir=$1 port=$2 pid

    # A process group of its own, so that stopping it also ends every
    # Chromium it started, even for a test that did not close its browser.
    setsid chromedriver --port="$port" --allowed-ips=127.0.0.1 --log-path="$dir/chromedriver.log" \
        >"$dir/chromedriver.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/chromedriver.pid"

    local waited=0
    until chromedriver_ready "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "chromedriver exited during start-up; its output and log follow" >&2
            cat "$dir/chromedriver.out" "$dir/chromedriver.log" >&2 2>/dev/null || true
            return 1
        fi
        if [ "$waited" -ge $((STARTUP_TIMEOUT_SECONDS * 10)) ]; then
            echo "chromedriver was not ready within $STARTUP_TIMEOUT_SECONDS s; its log follows" >&2
            cat "$dir/chromedriver.log" >&2 2>/dev/null || true
            kill -- "-$pid" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

stop_chromedriver() {
    local dir=$1 pid

    pid=$(cat "$dir/chromedriver.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

install_chromium

dir=$(mktemp -d /tmp/mailgate-chromedriver.XXXXXX)
port=$(find_free_port)
start_chromedriver "$dir" "$port"

export MAILGATE_CHROMEDRIVER="http://127.0.0.1:$port"

if [ "$#" -eq 0 ]; then
    pid=$(cat "$dir/chromedriver.pid")
    echo "chromedriver is running on 127.0.0.1:$port (pid $pid, files in $dir)"
    echo "MAILGATE_CHROMEDRIVER=$MAILGATE_CHROMEDRIVER"
    echo "stop it with: kill -- -$pid && rm -rf $dir"
    exit 0
fi

trap 'stop_chromedriver "$dir"' EXIT
echo "chromedriver is running on 127.0.0.1:$port; running: $*" >&2
"$@"
