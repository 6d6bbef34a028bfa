#!/usr/bin/env bash
# wg-ice-wireguard vs wireguard-go (issue 16): the same two network namespaces joined by a veth pair, both ends
# of the tunnel run by one implementation at a time; iperf3 TCP through the tunnel, one stream and four,
# T seconds each. Prints Mbit/s, the daemons' CPU seconds per gigabit (both ends) and the ratio to wireguard-go.
# Release build. Usage: bench/wireguard.sh   (T=5 by default)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/wireguard.sh: run as root (creates network namespaces)" >&2; exit 1; }
T=${T:-5}
build_log=$(mktemp)
swift build -c release --product wg-ice-wireguard >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"
ours="$(swift build -c release --show-bin-path)/wg-ice-wireguard"
id=$(( $$ % 100000 )) a="wdba$id" b="wdbb$id"
in_a() { ip netns exec "$a" "$@"; }
in_b() { ip netns exec "$b" "$@"; }
cleanup() {
  for ns in "$a" "$b"; do
    for link in $(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '$2 ~ /^wd[go][ab]/ {print $2}'); do
      ip -n "$ns" link del "$link" 2>/dev/null || true
    done
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip -n "$a" link add wdl0 type veth peer name wdl1 netns "$b"
ip -n "$a" addr add 10.203.0.1/24 dev wdl0; ip -n "$b" addr add 10.203.0.2/24 dev wdl1
ip -n "$a" link set wdl0 up; ip -n "$b" link set wdl1 up
ka=$(wg genkey) kb=$(wg genkey)
pa=$(echo "$ka" | wg pubkey) pb=$(echo "$kb" | wg pubkey)
# The interfaces are named per implementation, so one's UAPI socket is never mistaken for the other's.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # name command tag
  local name=$1 impl=$2 ia="wd${3}a$id" ib="wd${3}b$id"
  in_a "$impl" "$ia" >/dev/null 2>&1; in_b "$impl" "$ib" >/dev/null 2>&1
  in_a wg set "$ia" private-key <(echo "$ka") listen-port 51830 peer "$pb" allowed-ips 10.204.0.2/32 endpoint 10.203.0.2:51831
  in_b wg set "$ib" private-key <(echo "$kb") listen-port 51831 peer "$pa" allowed-ips 10.204.0.1/32 endpoint 10.203.0.1:51830
  ip -n "$a" addr add 10.204.0.1/24 dev "$ia"; ip -n "$b" addr add 10.204.0.2/24 dev "$ib"
  ip -n "$a" link set "$ia" up; ip -n "$b" link set "$ib" up
  in_a ping -c 2 -W 2 -q 10.204.0.2 >/dev/null || { echo "bench/wireguard.sh: no tunnel with $name" >&2; exit 1; }
  local pids
  pids=$(pgrep -f -x "$impl( --foreground| -f)? ($ia|$ib)" | tr '\n' ' ')
  for streams in 1 4; do
    # One server per test: -1 makes it exit after serving it.
    in_b iperf3 -s -1 -D -B 10.204.0.2 >/dev/null
    sleep 0.3
    local before=0 after=0 p
    for p in $pids; do before=$(( before + $(cpu "$p") )); done
    local bps
    bps=$(in_a iperf3 -c 10.204.0.2 -t "$T" -P "$streams" -J | jq '.end.sum_received.bits_per_second')
    for p in $pids; do after=$(( after + $(cpu "$p") )); done
    local mbps cpu_s
    mbps=$(awk -v b="$bps" 'BEGIN {printf "%.0f", b / 1e6}')
    cpu_s=$(awk -v t="$(( after - before ))" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')
    echo "$name $streams $mbps $cpu_s"
  done
  ip -n "$a" link del "$ia"; ip -n "$b" link del "$ib"
  # The daemons exit a moment after their links go: until then they hold the ports the next run wants.
  for _ in $(seq 50); do [ -e "/var/run/wireguard/$ia.sock" ] || [ -e "/var/run/wireguard/$ib.sock" ] || break; sleep 0.1; done
}

results=$( { run wireguard-go wireguard-go g; run wg-ice-wireguard "$ours" o; } )
echo "iperf3 TCP through the tunnel, $T s, both ends one implementation (CPU: both daemons, s per Gbit):"
awk -v T="$T" '
  { mbps[$1, $2] = $3; cpu[$1, $2] = $4 }
  END {
    for (s = 1; s <= 4; s *= 4) {
      go = mbps["wireguard-go", s]; us = mbps["wg-ice-wireguard", s]
      printf "  %d stream%s: wireguard-go %d Mbit/s (%.2f CPU s/Gbit), wg-ice-wireguard %d Mbit/s (%.2f CPU s/Gbit), ratio %.2f\n",
        s, (s > 1 ? "s" : ""), go, cpu["wireguard-go", s] / (go * T / 1000), us, cpu["wg-ice-wireguard", s] / (us * T / 1000), us / go
    }
  }' <<<"$results"
