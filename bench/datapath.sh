#!/usr/bin/env bash
# WireGuard throughput (iperf3, TCP, one stream, T seconds) between two network namespaces joined by one link,
# wireguard-go on both sides, for three ways of carrying WireGuard: static endpoints (plain WireGuard, the
# baseline), kernel redirection of a direct ICE pair (nftables), and the userspace proxy over the same ICE pair.
# Prints Mbit/s for each (median of RUNS) and the ratios redirect/static and proxy/static.
# MODES="static userspace" runs a subset; PROFILE=FILE records the whole machine (perf, software clock,
# call graphs) during the userspace proxy's last iperf run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/datapath.sh: run as root (creates network namespaces)" >&2; exit 1; }
T=${T:-5} RUNS=${RUNS:-3}

# Optimised like an installed binary would be; builds only the test tool and its dependencies.
build_log=$(mktemp)
swift build -c release --product datapath-peer >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"
peer="$(swift build -c release --show-bin-path)/datapath-peer"
work=$(mktemp -d)
a="dpbench-a-$$" b="dpbench-b-$$" wga="dpba$$" wgb="dpbb$$"
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  for ns in "$a" "$b"; do
    ip -n "$ns" link del "$wga" 2>/dev/null || true; ip -n "$ns" link del "$wgb" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

setup() {
  ip netns add "$a"; ip netns add "$b"
  ip -n "$a" link set lo up; ip -n "$b" link set lo up
  ip -n "$a" link add la0 type veth peer name lb0 netns "$b"   # not veth*: libnice skips those
  ip -n "$a" addr add 192.168.77.1/24 dev la0; ip -n "$b" addr add 192.168.77.2/24 dev lb0
  ip -n "$a" link set la0 up; ip -n "$b" link set lb0 up
  ip netns exec "$a" wireguard-go "$wga" >/dev/null 2>&1
  ip netns exec "$b" wireguard-go "$wgb" >/dev/null 2>&1
  (umask 077; wg genkey >"$work/ka"; wg genkey >"$work/kb")
  pa=$(wg pubkey <"$work/ka"); pb=$(wg pubkey <"$work/kb")
  ip netns exec "$a" wg set "$wga" private-key "$work/ka" listen-port 51820 peer "$pb" allowed-ips 10.77.0.2/32
  ip netns exec "$b" wg set "$wgb" private-key "$work/kb" listen-port 51820 peer "$pa" allowed-ips 10.77.0.1/32
  ip -n "$a" addr add 10.77.0.1/24 dev "$wga"; ip -n "$b" addr add 10.77.0.2/24 dev "$wgb"
  ip -n "$a" link set "$wga" up; ip -n "$b" link set "$wgb" up
}

teardown() {
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  ip -n "$a" link del "$wga" 2>/dev/null || true; ip -n "$b" link del "$wgb" 2>/dev/null || true
  ip netns del "$a"; ip netns del "$b"
}

# Two datapath-peer processes whose signaling lines (cred/cand/done) are piped to each other through FIFOs.
start_peers() {  # $1 = Proxy setting
  rm -f "$work"/a_in "$work"/b_in; mkfifo "$work/a_in" "$work/b_in"
  exec 3<>"$work/a_in" 4<>"$work/b_in"
  ip netns exec "$a" "$peer" --role controlling --interfaces la0 --network-types udp4 --wg "$wga" --peer "$pb" \
    --proxy "$1" <&3 2>/dev/null | tee "$work/a.log" | grep --line-buffered -E '^(cred|cand|done)' >&4 &
  ip netns exec "$b" "$peer" --role controlled --interfaces lb0 --network-types udp4 --wg "$wgb" --peer "$pa" \
    --proxy "$1" <&4 2>/dev/null | tee "$work/b.log" | grep --line-buffered -E '^(cred|cand|done)' >&3 &
  for _ in $(seq 100); do
    grep -q '^path ' "$work/a.log" 2>/dev/null && grep -q '^path ' "$work/b.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/datapath.sh: no data path after 10 s" >&2; cat "$work/a.log" "$work/b.log" >&2; exit 1
}

source bench/cpu-ticks.sh

# Prints Mbit/s received by B over T seconds, then the CPU seconds per gigabit that wireguard-go (both sides)
# and the proxy's process (both sides; 0 for static endpoints) spent on it.
throughput() {
  ip netns exec "$b" iperf3 -s -1 -D -B 10.77.0.2 >/dev/null
  sleep 0.3
  ip netns exec "$a" ping -q -c 1 -W 5 10.77.0.2 >/dev/null   # completes WireGuard's handshake first
  local recorder=
  if [ -n "${PROFILE:-}" ] && [ "$mode" = userspace ]; then
    perf record -q -a -g -F 999 -o "$PROFILE" -- sleep "$T" >/dev/null 2>&1 & recorder=$!
  fi
  local wg0 proxy0 hz; wg0=$(cpu_ticks wireguard-go "$a" "$b") proxy0=$(cpu_ticks datapath-peer "$a" "$b") hz=$(getconf CLK_TCK)
  ip netns exec "$a" iperf3 -c 10.77.0.2 -t "$T" -J >"$work/iperf.json"
  python3 - "$work/iperf.json" "$(( $(cpu_ticks wireguard-go "$a" "$b") - wg0 ))" "$(( $(cpu_ticks datapath-peer "$a" "$b") - proxy0 ))" "$hz" <<'PY'
import json, sys
received = json.load(open(sys.argv[1]))["end"]["sum_received"]
gigabits = received["bytes"] * 8 / 1e9
wg, proxy, hz = (int(x) for x in sys.argv[2:5])
print("%.0f %.2f %.2f" % (received["bits_per_second"] / 1e6, wg / hz / gigabits, proxy / hz / gigabits))
PY
  [ -z "$recorder" ] || wait "$recorder"
}

run() {  # $1 = static | nftables | userspace
  setup
  if [ "$1" = static ]; then
    ip netns exec "$a" wg set "$wga" peer "$pb" endpoint 192.168.77.2:51820
    ip netns exec "$b" wg set "$wgb" peer "$pa" endpoint 192.168.77.1:51820
  else
    start_peers "$1"
  fi
  throughput
  teardown
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A result label=([static]="static endpoints" [nftables]="kernel redirect" [userspace]="userspace proxy")
echo "Mbit/s median of $RUNS; CPU s/Gbit: wireguard-go and the ICE process (datapath-peer), both sides"
for mode in ${MODES:-static nftables userspace}; do
  runs=$(for _ in $(seq "$RUNS"); do run "$mode"; done)
  result[$mode]=$(cut -d' ' -f1 <<<"$runs" | median)
  cpu="wireguard-go $(cut -d' ' -f2 <<<"$runs" | median) s/Gbit, proxy $(cut -d' ' -f3 <<<"$runs" | median) s/Gbit"
  if [ "$mode" = static ] || [ -z "${result[static]:-}" ]; then
    printf '%-18s %6s Mbit/s             %s\n' "${label[$mode]}" "${result[$mode]}" "$cpu"
  else
    printf '%-18s %6s Mbit/s  ratio %s  %s\n' "${label[$mode]}" "${result[$mode]}" \
      "$(awk -v x="${result[$mode]}" -v y="${result[static]}" 'BEGIN {printf "%.2f", x / y}')" "$cpu"
  fi
done
