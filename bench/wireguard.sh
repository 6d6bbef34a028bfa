#!/usr/bin/env bash
# wg-ice-wireguard vs wireguard-go: the same two network namespaces joined by a veth pair, both ends
# of the tunnel run by one implementation at a time; iperf3 through the tunnel (TCP one stream and four, UDP
# unlimited rate), T seconds each. Prints Mbit/s, the daemons' CPU seconds per gigabit (both ends) and the ratio
# to wireguard-go. Then the handshake cost: a responder that knows HS_PEERS initiators gets valid initiations
# (bench/wg-initiations.py, written from the protocol) at HS_RATE a second for HS_SECONDS; its CPU per handshake
# answered, and so how many a core could answer per second.
# Release build. Usage: bench/wireguard.sh   (T=5, HS_PEERS=100, HS_RATE=400, HS_SECONDS=10 by default)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/wireguard.sh: run as root (creates network namespaces)" >&2; exit 1; }
T=${T:-5} HS_PEERS=${HS_PEERS:-100} HS_RATE=${HS_RATE:-400} HS_SECONDS=${HS_SECONDS:-10}
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
  for test in tcp1 tcp4 udp; do
    # One server per test: -1 makes it exit after serving it.
    in_b iperf3 -s -1 -D -B 10.204.0.2 >/dev/null
    sleep 0.3
    local before=0 after=0 p
    for p in $pids; do before=$(( before + $(cpu "$p") )); done
    local bps
    case $test in
      tcp*) bps=$(in_a iperf3 -c 10.204.0.2 -t "$T" -P "${test#tcp}" -J | jq '.end.sum_received.bits_per_second') ;;
      # What arrives, sent as fast as iperf3 can: datagrams that fill the tunnel's MTU (1420 - 28).
      udp) bps=$(in_a iperf3 -c 10.204.0.2 -t "$T" -u -b 0 -l 1392 -J 2> >(grep -v 'exceeds TCP MSS' >&2) | jq '.end.sum.bits_per_second * (100 - .end.sum.lost_percent) / 100') ;;
    esac
    for p in $pids; do after=$(( after + $(cpu "$p") )); done
    local mbps cpu_s
    mbps=$(awk -v b="$bps" 'BEGIN {printf "%.0f", b / 1e6}')
    cpu_s=$(awk -v t="$(( after - before ))" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')
    echo "$name $test $mbps $cpu_s"
  done
  ip -n "$a" link del "$ia"; ip -n "$b" link del "$ib"
  # The daemons exit a moment after their links go: until then they hold the ports the next run wants.
  for _ in $(seq 50); do [ -e "/var/run/wireguard/$ia.sock" ] || [ -e "/var/run/wireguard/$ib.sock" ] || break; sleep 0.1; done
}

# A responder alone in namespace B that knows HS_PEERS initiators; namespace A sends their initiations.
handshakes() { # name command tag
  local name=$1 impl=$2 ib="wd${3}h$id" i setting=""
  in_b "$impl" "$ib" >/dev/null 2>&1
  for i in $(seq "$HS_PEERS"); do
    setting+=" peer $(sed -n "${i}p" "$hs_keys" | wg pubkey) allowed-ips 10.206.$((i / 250)).$((i % 250))/32"
  done
  # shellcheck disable=SC2086
  in_b wg set "$ib" private-key <(echo "$kb") listen-port 51832 $setting
  ip -n "$b" link set "$ib" up
  local pid before after result
  pid=$(pgrep -f -x "$impl( --foreground| -f)? $ib")
  before=$(cpu "$pid")
  result=$(in_a python3 bench/wg-initiations.py 10.203.0.2 51832 "$pb" "$HS_RATE" "$HS_SECONDS" <"$hs_keys")
  after=$(cpu "$pid")
  echo "$name $result cpu $(awk -v t="$(( after - before ))" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')"
  ip -n "$b" link del "$ib"
  for _ in $(seq 50); do [ -e "/var/run/wireguard/$ib.sock" ] || break; sleep 0.1; done
}

results=$( { run wireguard-go wireguard-go g; run wg-ice-wireguard "$ours" o; } )
echo "iperf3 through the tunnel, $T s, both ends one implementation (CPU: both daemons, s per Gbit):"
awk -v T="$T" '
  { mbps[$1, $2] = $3; cpu[$1, $2] = $4 }
  END {
    split("tcp1 tcp4 udp", tests, " ")
    split("TCP 1 stream |TCP 4 streams|UDP          ", labels, "|")
    for (i = 1; i <= 3; i++) {
      t = tests[i]; go = mbps["wireguard-go", t]; us = mbps["wg-ice-wireguard", t]
      printf "  %s: wireguard-go %d Mbit/s (%.2f CPU s/Gbit), wg-ice-wireguard %d Mbit/s (%.2f CPU s/Gbit), ratio %.2f\n",
        labels[i], go, cpu["wireguard-go", t] / (go * T / 1000), us, cpu["wg-ice-wireguard", t] / (us * T / 1000), us / go
    }
  }' <<<"$results"

hs_keys=$(mktemp)
for _ in $(seq "$HS_PEERS"); do wg genkey; done >"$hs_keys"
echo "handshake initiations, $HS_RATE/s for $HS_SECONDS s from $HS_PEERS initiators (CPU: the responder):"
{ handshakes wireguard-go wireguard-go g; handshakes wg-ice-wireguard "$ours" o; } | awk '
  { per = $9 / ($5 > 0 ? $5 : 1); printf "  %s: %d sent, %d answered, %d cookie replies, %.2f CPU s: %.0f µs per handshake (%.0f a second on one core)\n",
      $1, $3, $5, $7, $9, per * 1e6, (per > 0 ? 1 / per : 0) }'
rm -f "$hs_keys"
