#!/usr/bin/env bash
# The whole session on a LAN between two network namespaces: wireguard-go, stock wg-quick with
# `PostUp = wg-ice-hook %i`, a real wg-ice-signal and coturn in namespace A. Release builds. Prints:
#   setup   both `wg-quick up` returned → first ping reply through the tunnel, median/p95 over RUNS, for a
#           direct pair and for a relayed pair (`CandidateTypes = relay`: TURN/UDP through coturn)
#   waiting the same with traffic already waiting: each side pings the other from the moment its own
#           `wg-quick up` returned (WireGuard tries its first handshake before ICE gave it an endpoint);
#           from the second `wg-quick up` returning to the first reply
#   iperf3  TCP throughput through the tunnel (T seconds, one stream): static endpoints (plain WireGuard),
#           the session's direct pair (kernel redirection), `Proxy = userspace`, and the relayed pair; ratios
#   rss     the session's VmRSS with 1 peer and with PEERS peers (PEERS interfaces in namespace B, each with
#           its own wg-quick and session, all connected)
# Usage: bench/session.sh [setup] [waiting] [iperf3] [rss]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/session.sh: run as root (creates network namespaces)" >&2; exit 1; }
RUNS=${RUNS:-10} T=${T:-5} PEERS=${PEERS:-50}
parts=${*:-setup waiting iperf3 rss}

build_log=$(mktemp)
for product in wg-ice-hook wg-ice-signal; do
  swift build -c release --product "$product" >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
done
rm -f "$build_log"
bin="$(swift build -c release --show-bin-path)"
export PATH="$bin:$PATH" WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

work=$(mktemp -d) a="sbench-a-$$" b="sbench-b-$$" ifa="sba$$" prefix="sbb$$-"
in_a() { ip netns exec "$a" "$@"; }
in_b() { ip netns exec "$b" "$@"; }
cleanup() {
  for conf in "$work"/*.conf; do
    [ -e "$conf" ] || continue
    name=$(basename "$conf" .conf)
    pid=$(cat "/run/wg-ice/$name.pid" 2>/dev/null) && kill "$pid" 2>/dev/null || true
    rm -f "/run/wg-ice/$name.pid" "/run/wg-ice/$name.sock"
    in_a ip link del "$name" 2>/dev/null || in_b ip link del "$name" 2>/dev/null || true
  done
  [ -n "${signal_pid:-}" ] && kill "$signal_pid" 2>/dev/null || true
  [ -f "$work/turnserver.pid" ] && kill -9 "$(cat "$work/turnserver.pid")" 2>/dev/null || true
  ip netns pids "$a" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$b" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip -n "$a" link add lan0 type veth peer name lan1 netns "$b"   # not veth*: libnice skips those
ip -n "$a" addr add 10.88.0.1/24 dev lan0; ip -n "$b" addr add 10.88.0.2/24 dev lan1
ip -n "$a" link set lan0 up; ip -n "$b" link set lan1 up

cat >"$work/turnserver.conf" <<EOF
listening-ip=10.88.0.1
relay-ip=10.88.0.1
listening-port=3478
min-port=49152
max-port=65535
lt-cred-mech
user=bench:bench-secret
realm=wg-ice.bench
fingerprint
no-tls
no-dtls
no-cli
pidfile=$work/turnserver.pid
log-file=$work/turnserver.log
EOF
in_a turnserver -c "$work/turnserver.conf" >/dev/null 2>&1 &
in_a "$bin/wg-ice-signal" --listen ws://10.88.0.1:0 >"$work/signal.out" 2>/dev/null &
signal_pid=$!
for _ in $(seq 100); do grep -q '^listening ' "$work/signal.out" 2>/dev/null && break; sleep 0.1; done
signaling=$(sed -n 's/^listening //p' "$work/signal.out")
[ -n "$signaling" ] || { echo "wg-ice-signal did not start" >&2; exit 1; }

key() { wg genkey; }
pub() { echo "$1" | wg pubkey; }
ka=$(key); pa=$(pub "$ka")

# config NAME KEY ADDRESS PORT EXTRA_ICE_LINES PEER_BLOCKS [EXTRA_INTERFACE_LINES]
config() {
  cat >"$work/$1.conf" <<EOF
[Interface]
PrivateKey = $2
Address = $3
ListenPort = $4
PostUp = wg-ice-hook %i --config $work/$1.conf
${7:-}

#[ICE]
#Signaling = $signaling
#URLs = turn:10.88.0.1:3478?transport=udp
#Username = bench
#Password = bench-secret
$5

$6
EOF
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
first_reply_ms() {  # polls every 20 ms; prints ms from $1 to the first reply
  local start=$1
  for _ in $(seq 1500); do
    if in_a ping -c 1 -W 0.2 -q 10.89.0.2 >/dev/null 2>&1; then echo $(( $(now_ms) - start )); return 0; fi
    sleep 0.02
  done
  echo "no reply within 30 s" >&2; return 1
}
stats() {  # median and p95 of the numbers on stdin
  sort -n | awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)]; printf "median %d ms, p95 %d ms (%d runs)", m, p, NR }'
}

# pair MODE: two configs for one A–B tunnel; MODE is direct, userspace or relay.
pair() {
  local extra=""
  case $1 in
    userspace) extra="#Proxy = userspace" ;;
    relay) extra="#CandidateTypes = relay" ;;
  esac
  kb=$(key); pb=$(pub "$kb")
  config "$ifa" "$ka" 10.89.0.1/24 51820 "$extra" "[Peer]
PublicKey = $pb
AllowedIPs = 10.89.0.2/32"
  config "${prefix}0" "$kb" 10.89.0.2/24 51820 "$extra" "[Peer]
PublicKey = $pa
AllowedIPs = 10.89.0.1/32"
}
up() { in_a wg-quick up "$work/$ifa.conf" >/dev/null 2>&1; in_b wg-quick up "$work/${prefix}0.conf" >/dev/null 2>&1; }
down() {
  in_a wg-ice-hook down "$ifa" >/dev/null 2>&1 || true
  in_b wg-ice-hook down "${prefix}0" >/dev/null 2>&1 || true
  in_a wg-quick down "$work/$ifa.conf" >/dev/null 2>&1 || true
  in_b wg-quick down "$work/${prefix}0.conf" >/dev/null 2>&1 || true
}
session_rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$(cat "/run/wg-ice/$ifa.pid")/status"; }

if [[ $parts == *setup* ]]; then
  for mode in direct relay; do
    pair "$mode"
    : >"$work/times"
    for _ in $(seq "$RUNS"); do
      up; start=$(now_ms)
      first_reply_ms "$start" >>"$work/times"
      down
    done
    echo "setup $mode: $(stats <"$work/times")"
  done
fi

# Pings from both sides from the moment each interface is up; prints ms from the second `wg-quick up` to A's
# first reply (ping -D stamps each reply).
waiting_reply_ms() {
  local log="$work/waiting.log" start first
  # Not through in_a/in_b: a function run in the background is a subshell, and killing it would leave its
  # ping running; `ip netns exec` and stdbuf exec, so $! is ping itself. Line-buffered, so a reply is seen
  # when it arrives, not when ping's stdio buffer fills.
  in_a wg-quick up "$work/$ifa.conf" >/dev/null 2>&1
  ip netns exec "$a" stdbuf -oL ping -D -n -i 0.05 -w 30 10.89.0.2 >"$log" 2>&1 &
  local ping_a=$!
  in_b wg-quick up "$work/${prefix}0.conf" >/dev/null 2>&1
  start=$(now_ms)
  ip netns exec "$b" ping -n -i 0.05 -w 30 10.89.0.1 >/dev/null 2>&1 &
  local ping_b=$!
  for _ in $(seq 600); do grep -q 'bytes from' "$log" && break; sleep 0.05; done
  kill "$ping_a" "$ping_b" 2>/dev/null || true; wait "$ping_a" "$ping_b" 2>/dev/null || true
  first=$(sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$log" | head -1)
  [ -n "$first" ] || { echo "no reply within 30 s" >&2; return 1; }
  python3 -c "print(round($first * 1000) - $start)"
}
# FAILED_DIR=DIR keeps what a run without a reply leaves: both sides' `wg show`, session status and sockets.
failure_snapshot() {
  mkdir -p "$1"
  in_a wg show "$ifa" >"$1/a.wg" 2>&1 || true; in_b wg show "${prefix}0" >"$1/b.wg" 2>&1 || true
  in_a wg-ice-hook status "$ifa" >"$1/a.status" 2>&1 || true
  in_b wg-ice-hook status "${prefix}0" >"$1/b.status" 2>&1 || true
  in_a ss -uanp >"$1/a.ss" 2>&1 || true; in_b ss -uanp >"$1/b.ss" 2>&1 || true
  cp "$work/waiting.log" "$1/" 2>/dev/null || true
}
if [[ $parts == *waiting* ]]; then
  for mode in ${MODES:-direct relay}; do
    pair "$mode"
    : >"$work/times"
    failed=0
    for run in $(seq "$RUNS"); do
      if ! waiting_reply_ms >>"$work/times"; then
        failed=$((failed + 1))
        [ -z "${FAILED_DIR:-}" ] || failure_snapshot "$FAILED_DIR/$mode-$run"
      fi
      down
    done
    echo "setup $mode, traffic waiting: $(stats <"$work/times"), $failed of $RUNS without a reply within 30 s"
  done
fi

source bench/cpu-ticks.sh

# One iperf3 run A → B through the tunnel: Mbit/s, then the CPU seconds per gigabit spent by wireguard-go,
# the sessions (wg-ice-hook) and coturn (turnserver), all summed over both sides.
throughput() {
  in_b iperf3 -s -1 -B 10.89.0.2 >/dev/null 2>&1 &
  sleep 0.3
  local before="$(cpu_ticks wireguard-go "$a" "$b") $(cpu_ticks wg-ice-hook "$a" "$b") $(cpu_ticks turnserver "$a" "$b")"
  in_a iperf3 -c 10.89.0.2 -t "$T" -J >"$work/iperf.json"
  python3 - "$work/iperf.json" $before $(cpu_ticks wireguard-go "$a" "$b") $(cpu_ticks wg-ice-hook "$a" "$b") $(cpu_ticks turnserver "$a" "$b") \
    "$(getconf CLK_TCK)" <<'PY'
import json, sys
received = json.load(open(sys.argv[1]))["end"]["sum_received"]
gigabits = received["bytes"] * 8 / 1e9
ticks = [int(x) for x in sys.argv[2:8]]
hz = int(sys.argv[8])
used = [(ticks[i + 3] - ticks[i]) / hz / gigabits for i in range(3)]
print("%d Mbit/s; CPU s/Gbit: wireguard-go %.2f, session %.2f, coturn %.2f"
      % (round(received["bits_per_second"] / 1e6), *used))
PY
  wait
}
if [[ $parts == *iperf3* ]]; then
  # Baseline: the same wireguard-go pair with static endpoints and no session.
  pair direct
  for side in a b; do sed -i '/^PostUp/d' "$work/$([ $side = a ] && echo "$ifa" || echo "${prefix}0").conf"; done
  echo "Endpoint = 10.88.0.2:51820" >>"$work/$ifa.conf"; echo "Endpoint = 10.88.0.1:51820" >>"$work/${prefix}0.conf"
  up; result=$(throughput); down; static=${result%% *}
  echo "iperf3 static endpoints: $result"
  for mode in direct userspace relay; do
    pair "$mode"; up; first_reply_ms "$(now_ms)" >/dev/null
    path=$(in_a wg-ice-hook status "$ifa" --json | python3 -c 'import json,sys; p=json.load(sys.stdin)["peers"][0]; print(p["dataPath"], p["selectedPair"]["localType"])')
    result=$(throughput); down; mbit=${result%% *}
    echo "iperf3 session $mode ($path): ratio to static $(python3 -c "print(round($mbit / $static, 2))"), $result"
  done
fi

if [[ $parts == *rss* ]]; then
  pair direct; up; first_reply_ms "$(now_ms)" >/dev/null; sleep 2
  echo "rss 1 peer: $(session_rss_kb) KiB"
  # Where it goes: most of RSS is file pages shared with every process mapping the same files.
  python3 - "/proc/$(cat "/run/wg-ice/$ifa.pid")" <<'PY'
import re, sys
rollup = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", open(sys.argv[1] + "/smaps_rollup").read(), re.M)}
groups, current = {}, None
for line in open(sys.argv[1] + "/smaps"):
    m = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
    if m:
        path = m.group(1).strip()
        current = ("the executable" if path.endswith("/wg-ice-hook") else "Swift runtime and Foundation" if "/swift/" in path
                   else "C libraries" if ".so" in path else "anonymous and other")
    elif line.startswith("Rss:"):
        groups[current] = groups.get(current, 0) + int(line.split()[1])
print("  private %d KiB (dirty %d), PSS %d KiB, shared clean %d KiB; by mapping: %s" % (
    rollup["Private_Clean"] + rollup["Private_Dirty"], rollup["Private_Dirty"], rollup["Pss"], rollup["Shared_Clean"],
    ", ".join("%s %d KiB" % (k, v) for k, v in sorted(groups.items(), key=lambda kv: -kv[1]))))
PY
  down
  peers=""
  for i in $(seq "$PEERS"); do
    k=$(key); peers+="[Peer]
PublicKey = $(pub "$k")
AllowedIPs = 10.89.1.$i/32

"
    # Fifty interfaces in one namespace all route to 10.89.0.1: each answers through its own table. Listen
    # ports above the ephemeral range (32768-60999), where the sessions' ICE sockets cannot take them first.
    config "${prefix}$i" "$k" "10.89.1.$i/32" $((61000 + i)) "" "[Peer]
PublicKey = $pa
AllowedIPs = 10.89.0.1/32" "Table = off
PostUp = ip rule add from 10.89.1.$i table $((1000 + i)); ip route add 10.89.0.1/32 dev %i table $((1000 + i))
PostDown = ip rule del from 10.89.1.$i table $((1000 + i))"
  done
  config "$ifa" "$ka" 10.89.0.1/16 51820 "" "$peers"
  in_a wg-quick up "$work/$ifa.conf" >/dev/null 2>&1
  start=$(now_ms)
  for i in $(seq "$PEERS"); do
    in_b wg-quick up "$work/${prefix}$i.conf" >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
  done
  connected=0 since=$(now_ms)
  for _ in $(seq 240); do
    # A status that does not answer in time (all peers busy starting) counts as none connected yet.
    connected=$(in_a wg-ice-hook status "$ifa" --json 2>/dev/null | python3 -c 'import json,sys
try: print(sum(1 for p in json.load(sys.stdin)["peers"] if p.get("dataPath")))
except ValueError: print(0)') || connected=0
    [ "$connected" = "$PEERS" ] && break
    sleep 0.5
  done
  echo "hub with $PEERS peers: $connected with a data path $(( ($(now_ms) - since) / 1000 )) s after the last spoke's wg-quick up, $(( ($(now_ms) - start) / 1000 )) s after the hub's (the spokes' wg-quick up took $(( (since - start) / 1000 )) s, one after another)"
  replies=0
  for i in $(seq "$PEERS"); do in_a ping -c 1 -W 1 -q "10.89.1.$i" >/dev/null 2>&1 && replies=$((replies + 1)); done
  sleep 2
  echo "rss $PEERS peers ($connected with a data path, $replies answering ping): $(session_rss_kb) KiB"
  pid=$(cat "/run/wg-ice/$ifa.pid")
  session_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
  before=$(session_ticks); sleep 10; after=$(session_ticks)
  echo "idle CPU of the $PEERS-peer session: $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 10 }')% of one core (10 s)"
  # PROFILE=FILE: where the idle session spends it (perf record, software clock).
  [ -z "${PROFILE:-}" ] || perf record -q -F 499 -g -p "$pid" -o "$PROFILE" -- sleep 10 >/dev/null 2>&1 || true
  # Every UAPI device read starts with get=1; the monitor reads once a second, the watchdog once per 5 s.
  reads=$(timeout 10 strace -f -qq -e trace=write,sendto,sendmsg -s 16 -p "$pid" 2>&1 | grep -c 'get=1' || true)
  echo "device reads of the $PEERS-peer session: $reads in 10 s"
  # HOLD=SECONDS: keep the hub and its spokes up that long for a closer look (wg-ice-hook status, strace, perf).
  [ -z "${HOLD:-}" ] || { echo "holding for $HOLD s: hub pid $pid, namespaces $a $b"; sleep "$HOLD"; }
fi
