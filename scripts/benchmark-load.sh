#!/usr/bin/env bash
# Load benchmark. Starts a release build of the gateway on loopback with two
# shipped rules (secure-storage and large-attachments) and the built-in
# vault. mailgate-load then sends 10 KB messages to it and receives them as
# the next hop. Prints messages per second, latency percentiles and the
# gateway's peak memory (VmHWM).
#
# Settings, from the environment:
#   MESSAGES     measured messages (default 20000)
#   CONNECTIONS  SMTP connections sending at once (default 50)
#   SIZE         message size in bytes (default 10240)
#   ATTACHMENT   decoded size of a PDF attachment per message (default 0)
#   WORKERS      queue workers of the gateway (default 16)
#   PROFILE      cargo profile to build (default release)
#   BIN_DIR      directory with prebuilt mailgate and mailgate-load binaries;
#                when set, nothing is built (to compare two versions)
#   EXTRA_TOML   extra lines appended to the gateway's [smtp] section
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${MESSAGES:-20000}
connections=${CONNECTIONS:-50}
size=${SIZE:-10240}
attachment=${ATTACHMENT:-0}
profile=${PROFILE:-release}
workers=${WORKERS:-16}

. scripts/benchmark-binaries.sh

work=$(mktemp -d)
gateway_pid=
cleanup() {
    if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
        kill "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
smtp_port=$(free_port)
sink_port=$(free_port)
vault_port=$(free_port)

cat > "$work/mailgate.toml" <<TOML
[smtp]
listen = "127.0.0.1:$smtp_port"
max_connections = $((connections + 50))
max_connections_per_client = $((connections + 50))
${EXTRA_TOML:-}

[builtin_vault]
listen = "127.0.0.1:$vault_port"
data_dir = "$work/vault"

[delivery]
relay = "127.0.0.1:$sink_port"

[queue]
directory = "$work/queue"
workers = $workers

[rule_set]
cache_dir = "$work/cache"
watch = false

[history]
path = "$work/history.sqlite"

[[rules]]
name = "secure-storage"
shipped = "secure-storage"

[[rules]]
name = "large-attachments"
shipped = "large-attachments"
settings = { max_size = 5242880 }
TOML

MAILGATE_LOG=${MAILGATE_LOG:-warn} "$bin_dir/mailgate" run --config "$work/mailgate.toml" 2> "$work/gateway.log" &
gateway_pid=$!
for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null; then break; fi
    if ! kill -0 "$gateway_pid" 2>/dev/null; then cat "$work/gateway.log" >&2; exit 1; fi
    sleep 0.2
done
# Write out what earlier work (such as the build) left in the page cache,
# so that its writeback does not slow the spool's syncs.
sync

"$bin_dir/mailgate-load" --gateway "127.0.0.1:$smtp_port" --sink "127.0.0.1:$sink_port" \
    --messages "$messages" --connections "$connections" --size "$size" --attachment "$attachment"

echo "gateway peak memory: $(grep VmHWM "/proc/$gateway_pid/status" | awk '{print $2, $3}')"
echo "queue workers: $workers"
echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2 / 1048576}'), $(uname -sr)"
errors=$(grep -c -i "error" "$work/gateway.log" || true)
echo "gateway log lines with errors: $errors"
grep -i "error" "$work/gateway.log" | head -5 || true
