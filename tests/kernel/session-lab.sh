#!/usr/bin/env bash
# Runs inside kvm-run's VM (a kernel with the WireGuard module): two network namespaces on one link, KERNEL
# WireGuard brought up by stock wg-quick with `PostUp = wg-ice-hook %i`, a real wg-ice-signal. Checks that the
# session drives kernel WireGuard over generic netlink with the nftables redirection while running as wg-ice or nobody with
# CAP_NET_ADMIN only, then that down removes everything. Prints "kernel-session: passed" on success; any failure exits non-zero.
set -euo pipefail
bin=$1
export PATH="$bin:$PATH"
work=$(mktemp -d)
test_name=kernel-session
. "$(dirname "$0")/../lib.sh"
fail_hook() { for ns in ksa ksb; do ip netns exec $ns wg show || true; ip netns exec $ns nft list ruleset || true; ip netns exec $ns wg-ice-hook status || true; done; }
in_a() { ip netns exec ksa "$@"; }
in_b() { ip netns exec ksb "$@"; }

ip netns add ksa; ip netns add ksb
ip -n ksa link set lo up; ip -n ksb link set lo up
ip -n ksa link add lan0 type veth peer name lan1 netns ksb   # not veth*: libnice skips those
ip -n ksa addr add 10.70.0.1/24 dev lan0; ip -n ksb addr add 10.70.0.2/24 dev lan1
ip -n ksa link set lan0 up; ip -n ksb link set lan1 up

in_a wg-ice-signal --listen ws://10.70.0.1:0 >"$work/signal.out" 2>"$work/signal.err" &
for _ in $(seq 600); do grep -q '^listening ' "$work/signal.out" && break; sleep 0.1; done
signaling=$(sed -n 's/^listening //p' "$work/signal.out")
[ -n "$signaling" ] || fail "wg-ice-signal did not start: $(cat "$work/signal.err")"

ka=$(wg genkey) kb=$(wg genkey)
pa=$(echo "$ka" | wg pubkey) pb=$(echo "$kb" | wg pubkey)
psk=$(wg genpsk)
conf() {  # NAME KEY ADDRESS PEER PEER_ADDRESS [PEER_LINES]
  cat >"$work/$1.conf" <<CONF
[Interface]
PrivateKey = $2
Address = $3/24
ListenPort = 51820
PostUp = wg-ice-hook %i --config $work/$1.conf

#[ICE]
#Signaling = $signaling

[Peer]
PublicKey = $4
PresharedKey = $psk
AllowedIPs = $5/32${6:-}
CONF
}
conf kwga "$ka" 10.71.0.1 "$pb" 10.71.0.2 ", 10.72.0.0/16
PersistentKeepalive = 25"
conf kwgb "$kb" 10.71.0.2 "$pa" 10.71.0.1
# Traffic waits before the path exists: A pings from the moment its interface is up (kernel WireGuard refuses
# packets for a peer without an endpoint, EDESTADDRREQ, which ends a plain ping: one ping per try). The session
# re-creates the peer when the path is set; what the user configured must survive that.
in_a wg-quick up "$work/kwga.conf" || fail "wg-quick up A"
( for _ in $(seq 600); do in_a ping -D -n -c 1 -W 1 10.71.0.2 2>/dev/null | grep 'bytes from' && break; sleep 0.1; done ) >"$work/ping.log" &
ping_pid=$!
in_b wg-quick up "$work/kwgb.conf" || fail "wg-quick up B"
t0=$(date +%s.%N)
[ "$(in_a ip -d link show kwga | grep -c wireguard)" -ge 1 ] || fail "kwga is not a kernel WireGuard link"

wait "$ping_pid" || true
first=$(sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$work/ping.log" | head -1)
[ -n "$first" ] || fail "no ping reply through the tunnel: $(tail -5 "$work/ping.log")"
echo "kernel-session: first reply $(python3 -c "print(round($first - $t0, 2))") s after both interfaces were up (traffic waiting)"
# The re-created peer has everything the user configured.
in_a wg showconf kwga | grep -qx "PresharedKey = $psk" || fail "A's preshared key lost: $(in_a wg showconf kwga)"
in_a wg showconf kwga | grep -qx "AllowedIPs = 10.71.0.2/32, 10.72.0.0/16" || fail "A's allowed IPs changed: $(in_a wg showconf kwga)"
in_a wg showconf kwga | grep -qx "PersistentKeepalive = 25" || fail "A's keepalive changed: $(in_a wg showconf kwga)"
! in_b wg showconf kwgb | grep -q "PersistentKeepalive" || fail "B's keepalive (off) changed: $(in_b wg showconf kwgb)"
status=$(in_a wg-ice-hook status kwga --json)
echo "$status"
python3 - "$status" <<'PY' || fail "status does not show a kernel-redirected direct pair"
import json, sys
peer = json.loads(sys.argv[1])["peers"][0]
assert peer["dataPath"] == "kernel-redirect", peer
assert peer["endpoint"] == peer["selectedPair"]["remote"], peer
assert peer["selectedPair"]["localType"] == "host", peer
PY
in_a nft list table inet wg-ice-kwga >/dev/null || fail "no nftables table for kwga"
# WireGuard's packets leave from the ICE socket's port, not 51820: the redirection is doing the work.
local_port=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["peers"][0]["selectedPair"]["local"].rsplit(":",1)[1])' "$status")
[ "$local_port" != 51820 ] || fail "the selected local candidate is WireGuard's own port"
# All of that (generic netlink, nft) done by a session running as wg-ice (nobody where that account does not
# exist) with CAP_NET_ADMIN only.
pid_a=$(cat /run/wg-ice/kwga.pid)
uid=$(getent passwd wg-ice | cut -d: -f3 || true)  # getent exits 2 for an unknown account
uid=${uid:-65534}
for field in "Uid:	$uid	$uid	$uid	$uid" 'CapEff:	0000000000001000' 'CapPrm:	0000000000001000' \
             'CapAmb:	0000000000001000' 'NoNewPrivs:	1'; do
  grep -qx "$field" "/proc/$pid_a/status" || fail "session A: no '$field' in /proc/$pid_a/status: $(cat "/proc/$pid_a/status")"
done

in_a wg-ice-hook down kwga || fail "wg-ice-hook down"
[ -z "$(in_a nft list tables)" ] || fail "nftables table left after down: $(in_a nft list tables)"
[ ! -e /run/wg-ice/kwga.sock ] || fail "control socket left after down"
pid_b=$(cat /run/wg-ice/kwgb.pid)
in_a wg-quick down "$work/kwga.conf"; in_b wg-quick down "$work/kwgb.conf"
# Alive and not a zombie (the detached session's parent is init, which may not reap it here).
alive() { [ -e "/proc/$1" ] && ! grep -q ') Z' "/proc/$1/stat"; }
for _ in $(seq 100); do alive "$pid_b" || break; sleep 0.2; done
! alive "$pid_b" || fail "session B still running after its interface went away"
# The session (nobody) could not remove its files from root's /run/wg-ice: the next reader does.
! in_b wg-ice-hook status kwgb >/dev/null 2>&1 || fail "status of an ended session succeeded"
[ ! -e /run/wg-ice/kwgb.pid ] && [ ! -e /run/wg-ice/kwgb.sock ] || fail "stale files of session B not removed"
[ -z "$(in_b nft list tables)" ] || fail "nftables table left on B"
echo "kernel-session: passed"
