#!/usr/bin/env bash
# Setup time in the NAT lab (scripts/lab) with traffic already waiting: site a pings b from the moment its
# interface is up, b pings a from the moment its own is; measured from the second `wg-quick up` returning to a's
# first reply (ping -D). RUNS runs per scenario; prints median and p95. Debug build, like the lab.
# Targets: p50 < 0.5 s for a direct pair (cone), < 1 s for a relayed one (symmetric).
# Usage: bench/lab-setup.sh [SCENARIO...]   (default: cone symmetric); RUNS=10 SIGNALING=ws
set -uo pipefail
RUNS=${RUNS:-10} SIGNALING=${SIGNALING:-ws}
scenarios=${*:-cone symmetric}
NAME_PREFIX=lset
. "$(dirname "$0")/lab-common.sh"

one_run() {  # prints ms from the second wg-quick up to a's first reply
  local log; log=$(mktemp)
  lab up "$1" --signaling "$SIGNALING" --no-wg >/dev/null || { echo "lab up $1 failed" >&2; return 1; }
  lab exec a sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1
  lab exec a sh -c 'exec ping -D -n -i 0.05 -w 20 "$PEER"' >"$log" 2>&1 &
  local ping_a=$!
  lab exec b sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1
  local t0; t0=$(date +%s.%N)
  lab exec b sh -c 'exec ping -n -i 0.05 -w 20 "$PEER"' >/dev/null 2>&1 &
  local ping_b=$!
  for _ in $(seq 400); do grep -q 'bytes from' "$log" && break; sleep 0.05; done
  kill "$ping_a" "$ping_b" 2>/dev/null; wait "$ping_a" "$ping_b" 2>/dev/null
  sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$log" | head -1 | awk -v t0="$t0" '{ printf "%d\n", ($1 - t0) * 1000 }'
  rm -f "$log"
  lab down >/dev/null
}

for scenario in $scenarios; do
  times=$(mktemp)
  for _ in $(seq "$RUNS"); do one_run "$scenario" >>"$times"; done
  sort -n "$times" | awk -v s="$scenario" '{ v[NR] = $1 } END {
    printf "lab setup %s, traffic waiting: median %d ms, p95 %d ms (%d runs)\n", s, v[int((NR + 1) / 2)], v[int(NR * 0.95 + 0.999)], NR }'
  rm -f "$times"
done
