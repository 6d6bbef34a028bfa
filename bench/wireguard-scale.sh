#!/usr/bin/env bash
# wg-ice-wireguard vs wireguard-go with many peers: PEERS peers with 4 allowed IPs each (random public keys,
# /32s from 100.64.0.0/10), one implementation at a time, in the same run.
#   setconf  `wg setconf` of them on a fresh interface (with a private key: each peer costs its DH);
#   show     `wg show IFACE dump` of that;
#   replace  `wg setconf` again with as many other peers (all removed, all added);
#   stall    an active tunnel between two namespaces carries a ping every millisecond while `wg syncconf` adds
#            the PEERS peers to its interface and `wg show` lists them: the longest gap between two replies, and
#            the replies missing, against the same ping before (the machine's own noise).
# Release build. Usage: bench/wireguard-scale.sh   (PEERS=10000 by default)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/wireguard-scale.sh: run as root (creates network namespaces)" >&2; exit 1; }
PEERS=${PEERS:-10000}
build_log=$(mktemp)
swift build -c release --product wg-ice-wireguard >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"
ours="$(swift build -c release --show-bin-path)/wg-ice-wireguard"
id=$(( $$ % 100000 )) a="wsca$id" b="wscb$id" work=$(mktemp -d)
in_a() { ip netns exec "$a" "$@"; }
in_b() { ip netns exec "$b" "$@"; }
cleanup() {
  for ns in "$a" "$b"; do
    for link in $(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '$2 ~ /^ws[go]/ {print $2}'); do
      ip -n "$ns" link del "$link" 2>/dev/null || true
    done
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip -n "$a" link add wsl0 type veth peer name wsl1 netns "$b"
ip -n "$a" addr add 10.207.0.1/24 dev wsl0; ip -n "$b" addr add 10.207.0.2/24 dev wsl1
ip -n "$a" link set wsl0 up; ip -n "$b" link set wsl1 up
ka=$(wg genkey) kb=$(wg genkey)
pa=$(echo "$ka" | wg pubkey) pb=$(echo "$kb" | wg pubkey)

# Two sets of PEERS peers: the interface's own key first, as `wg setconf` files have it.
python3 - "$PEERS" "$work" "$ka" <<'EOF'
import base64, os, sys
peers, work, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for name, base in (("one", 0), ("two", peers)):
    with open(f"{work}/{name}.conf", "w") as f:
        f.write(f"[Interface]\nPrivateKey = {key}\n")
        for i in range(base, base + peers):
            ips = ", ".join(f"100.{64 + (4 * i + j) // 65536}.{(4 * i + j) // 256 % 256}.{(4 * i + j) % 256}/32" for j in range(4))
            f.write(f"[Peer]\nPublicKey = {base64.b64encode(os.urandom(32)).decode()}\nAllowedIPs = {ips}\n")
EOF

seconds() { local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N); awk -v n=$(( end - start )) 'BEGIN {printf "%.2f", n / 1e9}'; }
# Longest gap between replies (ms) and replies missing, from `ping -D` output.
gaps() {
  awk -v sent="$2" '/bytes from/ { t = substr($1, 2, length($1) - 2) + 0; if (last && (t - last) * 1000 > max) max = (t - last) * 1000; last = t; n++ }
    END { printf "%.1f ms, %d of %d missing", max, sent - n, sent }' "$1"
}

run() { # name command tag
  local name=$1 impl=$2 ic="ws${3}c$id" ia="ws${3}a$id" ib="ws${3}b$id"
  in_a "$impl" "$ic" >/dev/null 2>&1
  local setconf show replace
  setconf=$(seconds in_a wg setconf "$ic" "$work/one.conf")
  [ "$(in_a wg show "$ic" peers | wc -l)" = "$PEERS" ] || { echo "bench/wireguard-scale.sh: $name did not take $PEERS peers" >&2; exit 1; }
  show=$(seconds in_a wg show "$ic" dump)
  # The listing is whole: the interface's line and one per peer.
  [ "$(in_a wg show "$ic" dump | wc -l)" = $(( PEERS + 1 )) ] || { echo "bench/wireguard-scale.sh: $name listed a partial dump" >&2; exit 1; }
  replace=$(seconds in_a wg setconf "$ic" "$work/two.conf")
  ip -n "$a" link del "$ic"

  in_a "$impl" "$ia" >/dev/null 2>&1; in_b "$impl" "$ib" >/dev/null 2>&1
  in_a wg set "$ia" private-key <(echo "$ka") listen-port 51840 peer "$pb" allowed-ips 10.208.0.2/32 endpoint 10.207.0.2:51841
  in_b wg set "$ib" private-key <(echo "$kb") listen-port 51841 peer "$pa" allowed-ips 10.208.0.1/32 endpoint 10.207.0.1:51840
  ip -n "$a" addr add 10.208.0.1/24 dev "$ia"; ip -n "$b" addr add 10.208.0.2/24 dev "$ib"
  ip -n "$a" link set "$ia" up; ip -n "$b" link set "$ib" up
  in_a ping -c 2 -W 2 -q 10.208.0.2 >/dev/null || { echo "bench/wireguard-scale.sh: no tunnel with $name" >&2; exit 1; }
  # The syncconf file: the tunnel's own peer and the PEERS others.
  { cat "$work/one.conf"; printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.208.0.2/32\nEndpoint = 10.207.0.2:51841\n' "$pb"; } >"$work/sync.conf"
  in_a ping -D -i 0.001 -c 2000 -W 1 10.208.0.2 >"$work/quiet" 2>&1 || true
  in_a ping -D -i 0.001 -c 4000 -W 1 10.208.0.2 >"$work/busy" 2>&1 &
  local ping=$!
  sleep 0.3
  local sync list
  sync=$(seconds in_a wg syncconf "$ia" "$work/sync.conf")
  list=$(seconds in_a wg show "$ia" dump)
  wait "$ping" || true
  echo "$name|$setconf|$show|$replace|$sync|$list|$(gaps "$work/quiet" 2000)|$(gaps "$work/busy" 4000)"
  ip -n "$a" link del "$ia"; ip -n "$b" link del "$ib"
  # The daemons exit a moment after their links go: until then they hold the ports the next run wants.
  for _ in $(seq 50); do [ -e "/var/run/wireguard/$ia.sock" ] || [ -e "/var/run/wireguard/$ib.sock" ] || break; sleep 0.1; done
}

echo "$PEERS peers × 4 allowed IPs (seconds; ping every ms through an active tunnel meanwhile):"
{ run wireguard-go wireguard-go g; run wg-ice-wireguard "$ours" o; } | while IFS='|' read -r name setconf show replace sync list quiet busy; do
  echo "  $name: setconf $setconf, show $show, setconf replacing them $replace; syncconf adding them $sync, show $list"
  echo "    longest ping gap: quiet $quiet; during syncconf and show $busy"
done
