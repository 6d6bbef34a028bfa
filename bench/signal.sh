#!/usr/bin/env bash
# Signaling benchmark: starts wg-ice-signal, holds CLIENTS authenticated clients on it and measures
# publish -> receive latency (including sealing/opening) at RATE messages/s for SECONDS, once per
# transport; also prints the server's RSS with the clients connected.
# Usage: bench/signal.sh [CLIENTS] [RATE] [SECONDS]   (defaults 200 200 10)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-200} rate=${2:-200} seconds=${3:-10}
swift build --product wg-ice-signal >/dev/null
swift build --product signal-bench >/dev/null
bin=$(swift build --show-bin-path)
out=$(mktemp)
"$bin/wg-ice-signal" --listen ws://127.0.0.1:0 --listen grpc://127.0.0.1:0 --log-level warning \
  --max-connections $((clients * 2 + 10)) --max-connections-per-address $((clients * 2 + 10)) \
  --max-unauthenticated-per-address $((clients * 2 + 10)) >"$out" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do [ "$(grep -c listening "$out")" = 2 ] && break; sleep 0.1; done
for scheme in ws grpc; do
  url=$(sed -n "s/^listening \(${scheme}:\/\/.*\)/\1/p" "$out")
  echo "== $scheme ($url)"
  "$bin/signal-bench" "$url" "$clients" "$rate" "$seconds" &
  bench=$!
  sleep $((seconds / 2 + 2))
  echo "server_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$server/status)"
  wait $bench
done
