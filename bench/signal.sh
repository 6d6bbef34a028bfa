#!/usr/bin/env bash
# Signaling benchmark (release build). Per transport, on a fresh wg-ice-signal: holds IDLE idle authenticated
# sessions, measures publish -> receive latency (sealing and opening included) of CLIENTS legitimate clients at
# RATE messages/s for SECONDS while they are held, then closes them all. Prints the server's RSS before, with
# and after the sessions (per session = delta / IDLE) and how much came back after they closed.
# WebSocket idle sessions come from a light raw client spread over SOURCES loopback addresses (127.0.0.2…);
# gRPC idle sessions are full clients (an HTTP/2 connection each, about 100 KB of client memory), hence
# GRPC_IDLE is smaller by default.
# Needs a hard descriptor limit above IDLE + CLIENTS + 1000 (or CAP_SYS_RESOURCE to raise it), and for 100,000
# the sysctls in wg-ice-signal(8), SCALE.
# Usage: bench/signal.sh [IDLE] [RATE] [SECONDS] [CLIENTS] [GRPC_IDLE] [SOURCES]
#        (defaults 100000 1000 10 50 5000 8); SERVER=path runs another wg-ice-signal build (e.g. an older one);
#        TRANSPORTS="ws" or "grpc" runs one only.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-100000} rate=${2:-1000} seconds=${3:-10} clients=${4:-50} grpc_idle=${5:-5000} sources=${6:-8}
swift build -c release --product wg-ice-signal >/dev/null
swift build -c release --product signal-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
server_bin=${SERVER:-$bin/wg-ice-signal}
# The server and the bench each need a descriptor per session, plus room for the legitimate clients.
need=$((idle + clients + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $need ]; then
  ulimit -Hn $need 2>/dev/null || {
    echo "hard descriptor limit $(ulimit -Hn) < $need and not raisable here (needs CAP_SYS_RESOURCE): at most $(($(ulimit -Hn) - clients - 1000)) idle sessions" >&2
    exit 1
  }
fi
ulimit -n $need
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
out=$(mktemp)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -f "$out"' EXIT
for scheme in ${TRANSPORTS:-ws grpc}; do
  n=$idle
  [ $scheme = grpc ] && n=$grpc_idle
  limit=$((n + clients + 1000))
  "$server_bin" --listen $scheme://127.0.0.1:0 --log-level warning --max-connections $limit \
    --max-connections-per-address $limit --max-unauthenticated-per-address $limit >"$out" &
  server=$!
  for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
  url=$(sed -n "s/^listening \(${scheme}:\/\/.*\)/\1/p" "$out")
  echo "== $scheme ($url) idle=$n"
  SERVER_PID=$server "$bin/signal-bench" "$url" "$clients" "$rate" "$seconds" "$n" "$sources"
  echo "server_cpu_s=$(awk '{printf "%.1f", ($14 + $15) / 100}' /proc/$server/stat)"
  kill $server
  wait $server || true
  server=
done
