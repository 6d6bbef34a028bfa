#!/usr/bin/env bash
# wg-ice-wireguard's privilege drop, for real: ours brought up by stock wg-quick in one network
# namespace, wireguard-go as its peer in another. The running daemon must have left root (/proc/PID/status:
# every uid and gid the account's, permitted, effective and bounding capabilities exactly CAP_NET_BIND_SERVICE
# and CAP_NET_ADMIN, nothing inheritable or ambient, no_new_privs), and what it kept them for must still work:
# `wg set listen-port` below 1024 (a re-bind) and `wg set fwmark` (SO_MARK, seen through a policy route only
# marked packets take, again after a re-bind), with a ping through the tunnel after each; and it still exits
# when `wg-quick down` deletes the interface. An account that does not exist is a usage error (exit 2). Last,
# the status check is shown able to fail: a daemon told to stay root (WG_ICE_WIREGUARD_USER=root) must be
# rejected by it.
set -euo pipefail
cd "$(dirname "$0")/.."
test_name=tests/wireguard-privileges.sh
. tests/lib.sh
need_root
daemon="${WG_ICE_WIREGUARD:-$(swift build --show-bin-path)/wg-ice-wireguard}"
[ -x "$daemon" ] || { echo "tests/wireguard-privileges.sh: $daemon not built (swift build)" >&2; exit 1; }
wg_namespaces wp 10.203.0
ours="wpo$id" go="wpg$id"

in_go wireguard-go "$go" >/dev/null 2>&1
in_go wg set "$go" private-key <(echo "$key_go") listen-port 51831 peer "$pub_ours" allowed-ips 10.204.0.1/32
ip -n "$ns_go" addr add 10.204.0.2/24 dev "$go"
ip -n "$ns_go" link set "$go" up
cat >"$work/$ours.conf" <<CONF
[Interface]
PrivateKey = $key_ours
ListenPort = 51830
Address = 10.204.0.1/24

[Peer]
PublicKey = $pub_go
AllowedIPs = 10.204.0.2/32
Endpoint = 10.203.0.2:51831
CONF
account=nobody
WG_ICE_WIREGUARD_USER=$account WG_QUICK_USERSPACE_IMPLEMENTATION="$daemon" in_ours wg-quick up "$work/$ours.conf" \
  2>"$work/wg-quick.err" || fail "wg-quick up: $(cat "$work/wg-quick.err")"
pid=$(pgrep -f -x "$daemon --foreground $ours") || fail "no daemon process for $ours"

# PID USER: /proc/PID/status shows the process dropped to USER keeping exactly the two capabilities.
check_dropped() {
  local status uid gid
  status=$(cat "/proc/$1/status") uid=$(id -u "$2") gid=$(id -g "$2")
  field() { awk -v f="$1:" '$1 == f { $1 = ""; print substr($0, 2) }' <<<"$status"; }
  [ "$(field Uid)" = "$uid $uid $uid $uid" ] || { echo "Uid $(field Uid), expected $uid"; return 1; }
  [ "$(field Gid)" = "$gid $gid $gid $gid" ] || { echo "Gid $(field Gid), expected $gid"; return 1; }
  [ "$(field Groups)" = "$gid" ] || { echo "Groups $(field Groups), expected $gid"; return 1; }
  # CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12).
  for set in CapPrm CapEff CapBnd; do
    [ "$(field $set)" = 0000000000001400 ] || { echo "$set $(field $set), expected 0000000000001400"; return 1; }
  done
  for set in CapInh CapAmb; do
    [ "$(field $set)" = 0000000000000000 ] || { echo "$set $(field $set), expected none"; return 1; }
  done
  [ "$(field NoNewPrivs)" = 1 ] || { echo "NoNewPrivs $(field NoNewPrivs)"; return 1; }
}
ping_peer() { # what
  in_ours ping -c 3 -i 0.2 -W 2 -q 10.204.0.2 >/dev/null || fail "ping $1: $(in_ours wg show)"
}
# A policy route that only packets marked 0x5a take, and that cannot reach the peer: while it is in place
# a ping must fail if, and only if, the daemon's sockets carry the mark.
mark_blackholed() {
  in_ours ip rule add fwmark 0x5a lookup 90 priority 90
  in_ours ip route add unreachable 10.203.0.2 table 90
  in_ours ping -c 2 -i 0.2 -W 1 -q 10.204.0.2 >/dev/null 2>&1 && marked=no || marked=yes
  in_ours ip rule del fwmark 0x5a lookup 90 priority 90
  in_ours ip route flush table 90
  [ "$marked" = yes ] || fail "packets left without the mark $1"
}
bound_port() { in_ours ss -Hunlp | awk -v p="pid=$pid," '$0 ~ p { n = split($4, a, ":"); print a[n] }' | sort -u; }

echo "== dropped after start"
why=$(check_dropped "$pid" "$account") || fail "the daemon did not drop its privileges: $why"
ping_peer "after the drop"

echo "== listen-port below 1024 (CAP_NET_BIND_SERVICE)"
in_ours wg set "$ours" listen-port 443 || fail "wg set listen-port 443"
[ "$(in_ours wg show "$ours" listen-port)" = 443 ] || fail "listen port $(in_ours wg show "$ours" listen-port)"
[ "$(bound_port)" = 443 ] || fail "the daemon's sockets are on $(bound_port), not 443"
ping_peer "from port 443"
[ "$(in_go wg show "$go" endpoints | awk '{print $2}')" = 10.203.0.1:443 ] || fail "the peer did not see port 443"

echo "== fwmark (CAP_NET_ADMIN), kept across a re-bind"
in_ours wg set "$ours" fwmark 0x5a || fail "wg set fwmark"
[ "$(in_ours wg show "$ours" fwmark)" = 0x5a ] || fail "fwmark $(in_ours wg show "$ours" fwmark)"
mark_blackholed "after wg set fwmark"
ping_peer "with the mark"
in_ours wg set "$ours" listen-port 444 || fail "wg set listen-port 444 with a mark"
[ "$(bound_port)" = 444 ] || fail "the daemon's sockets are on $(bound_port), not 444"
mark_blackholed "after the re-bind"
ping_peer "from port 444 with the mark"
why=$(check_dropped "$pid" "$account") || fail "privileges changed while running: $why"

echo "== exit on interface deletion"
WG_QUICK_USERSPACE_IMPLEMENTATION="$daemon" in_ours wg-quick down "$work/$ours.conf" 2>/dev/null || fail "wg-quick down"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null || fail "the daemon still runs after its interface was deleted"
# Unprivileged, it cannot remove its socket from /var/run/wireguard: wg treats the refused socket as stale.
! wg show interfaces | grep -qw "$ours" || fail "wg show lists the deleted $ours"
[ ! -e "/var/run/wireguard/$ours.sock" ] || fail "/var/run/wireguard/$ours.sock left behind after wg show"

echo "== an account that does not exist"
WG_ICE_WIREGUARD_USER="nosuch$id" in_ours "$daemon" "wpr$id" 2>"$work/err" && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "WG_ICE_WIREGUARD_USER=nosuch$id: no such account" "$work/err" \
  || fail "WG_ICE_WIREGUARD_USER=nosuch$id: exit $rc, $(cat "$work/err")"
! ip -n "$ns_ours" link show "wpr$id" >/dev/null 2>&1 || fail "wpr$id created for an account that does not exist"

echo "== the check fails for a daemon that keeps root"
WG_ICE_WIREGUARD_USER=root in_ours "$daemon" "wpr$id" || fail "$daemon wpr$id exited $?"
root_pid=$(pgrep -f -x "$daemon --foreground wpr$id") || fail "no daemon process for wpr$id"
why=$(check_dropped "$root_pid" "$account") && fail "the status check accepted a daemon running as root"
echo "  rejected: $why"
ip -n "$ns_ours" link del "wpr$id"
echo "tests/wireguard-privileges.sh: passed"
