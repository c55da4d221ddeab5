#!/usr/bin/env bash
# Offload benchmark. Starts a release build of the gateway on loopback with
# the shipped rule offload-scanning, the built-in vault and mailgate-load's
# sink as the next hop, then measures two things:
#
# 1. Time: RUNS messages, one at a time, each with a random attachment of
#    ATTACHMENT bytes, from the end of DATA to the arrival of the whole
#    message at the sink. After each message, mailgate-load uploads the same
#    file to the same vault with VaultClient::upload_group, the five-step
#    group transfer the gateway uses, and times that too.
# 2. Memory: for each of MEMORY_RUNS freshly started gateways, the peak
#    resident memory (VmHWM) above the idle memory while it processes one
#    message with a random attachment of MEMORY_ATTACHMENT bytes.
#
# Everything runs on 127.0.0.1 and ports the system picks. Every wait is
# bounded: mailgate-load gives up on a message after TIMEOUT seconds, and
# each of its runs is stopped after 15 minutes.
#
# Settings, from the environment:
#   ATTACHMENT         attachment of the timed messages, in bytes (default 10000000)
#   RUNS               timed runs, after one warm-up run (default 5)
#   MEMORY_ATTACHMENT  attachment of the memory runs, in bytes (default 25000000)
#   MEMORY_RUNS        memory runs, each with a new gateway (default 3)
#   MAX_MESSAGE_SIZE   smtp.max_message_size, in bytes (default 67108864, 64 MiB,
#                      because base64 makes a 25 MB attachment a 34 MB message
#                      and the default limit is 25 MiB)
#   VAULT_SCAN         builtin_vault.scan: true or false (default true)
#   MODE               smtp.mode: after-queue or before-queue (default after-queue)
#   TIMEOUT            maximum wait for one message or vault request, in seconds
#                      (default 120)
#   PROFILE            cargo profile to build (default release)
set -euo pipefail
cd "$(dirname "$0")/.."

attachment=${ATTACHMENT:-10000000}
runs=${RUNS:-5}
memory_attachment=${MEMORY_ATTACHMENT:-25000000}
memory_runs=${MEMORY_RUNS:-3}
max_message_size=${MAX_MESSAGE_SIZE:-67108864}
vault_scan=${VAULT_SCAN:-true}
mode=${MODE:-after-queue}
timeout=${TIMEOUT:-120}
profile=${PROFILE:-release}

case "$vault_scan" in
    true | false) ;;
    *) echo "VAULT_SCAN must be true or false, not '$vault_scan'" >&2; exit 2 ;;
esac
case "$mode" in
    after-queue | before-queue) ;;
    *) echo "MODE must be after-queue or before-queue, not '$mode'" >&2; exit 2 ;;
esac

. scripts/benchmark-binaries.sh

work=$(mktemp -d)
gateway_pid=
stop_gateway() {
    if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
        kill "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    gateway_pid=
}
cleanup() {
    stop_gateway
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A key for this run's built-in vault only; mailgate-load uses it for the
# plain uploads.
api_key=$(python3 -c 'import secrets; print(secrets.token_hex(16))')

# Starts a gateway with its own data under $work/$1 and waits until it
# reports that it runs. Sets gateway_pid, smtp_port, sink_port and
# vault_port.
start_gateway() {
    local data="$work/$1"
    mkdir -p "$data"
    smtp_port=$(free_port)
    sink_port=$(free_port)
    vault_port=$(free_port)

    cat > "$data/mailgate.toml" <<TOML
[smtp]
listen = "127.0.0.1:$smtp_port"
max_message_size = $max_message_size
mode = "$mode"

[builtin_vault]
listen = "127.0.0.1:$vault_port"
data_dir = "$data/vault"
api_key = "$api_key"
scan = $vault_scan

[delivery]
relay = "127.0.0.1:$sink_port"

[queue]
directory = "$data/queue"

[rule_set]
cache_dir = "$work/cache"
watch = false

[history]
path = "$data/history.sqlite"

[[rules]]
name = "offload-scanning"
shipped = "offload-scanning"
TOML

    # The gateway prints "mailgate is running" once its SMTP server and
    # vault listen; waiting for that line opens no connection to them.
    MAILGATE_LOG=${MAILGATE_LOG:-warn} "$bin_dir/mailgate" run --config "$data/mailgate.toml" \
        > "$data/gateway.out" 2> "$data/gateway.log" &
    gateway_pid=$!
    for attempt in $(seq 300); do
        if grep -q "mailgate is running" "$data/gateway.out"; then break; fi
        if ! kill -0 "$gateway_pid" 2>/dev/null || [ "$attempt" = 300 ]; then
            echo "the gateway did not start; its log:" >&2
            cat "$data/gateway.log" >&2
            exit 1
        fi
        sleep 0.2
    done
}

report_log_errors() {
    local log="$work/$1/gateway.log"
    local errors
    errors=$(grep -c -i "error" "$log" || true)
    echo "gateway log lines with errors: $errors"
    grep -i "error" "$log" | head -5 || true
}

echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2 / 1048576}'), $(uname -sr), $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "load before the runs: $(uptime | sed 's/.*load average/load average/')"
echo "builtin_vault.scan = $vault_scan, smtp.mode = $mode, smtp.max_message_size = $max_message_size"
echo

echo "== time: attachment of $attachment bytes, $runs runs =="
start_gateway timing
# Write out what earlier work (such as the build) left in the page cache,
# so that its writeback does not slow the spool's and the vault's writes.
sync
MAILGATE_VAULT_API_KEY="$api_key" timeout 900 "$bin_dir/mailgate-load" offload \
    --gateway "127.0.0.1:$smtp_port" --sink "127.0.0.1:$sink_port" --vault "127.0.0.1:$vault_port" \
    --attachment "$attachment" --runs "$runs" --timeout-seconds "$timeout"
stop_gateway
report_log_errors timing
echo "load after the time runs: $(uptime | sed 's/.*load average/load average/')"

for run in $(seq "$memory_runs"); do
    echo
    echo "== memory run $run of $memory_runs: attachment of $memory_attachment bytes, new gateway =="
    start_gateway "memory-$run"
    # Let the start-up work (rule compilation, first vault pass) finish
    # before the idle memory is read.
    sleep 2
    timeout 900 "$bin_dir/mailgate-load" memory \
        --gateway "127.0.0.1:$smtp_port" --sink "127.0.0.1:$sink_port" --gateway-pid "$gateway_pid" \
        --attachment "$memory_attachment" --timeout-seconds "$timeout"
    stop_gateway
    report_log_errors "memory-$run"
done
echo
echo "load at the end: $(uptime | sed 's/.*load average/load average/')"
