#!/usr/bin/env bash
# Runs inside kvm-run's VM (a kernel with the WireGuard module), from tests/kernel.sh: wg-ice-wireguard
# (the debug build, its timers divided for the rekey check) in one network namespace, KERNEL WireGuard in the
# other, joined by a veth pair:
#   1. ours initiates (the kernel side has no endpoint for it): IPv4 and IPv6 ping, `wg show` agreeing, then
#      two rekeys under a 10/s ping and REJECT_AFTER_TIME (tests/wireguard/rekey.sh);
#   2. the kernel initiates to a fresh daemon that has no endpoint: ping both families, `wg show` agreeing, our
#      endpoint learnt, then the kernel peer roams to a new port and a new address and our endpoint follows;
# each daemon must exit when its interface is deleted. Prints "wireguard-kernel: passed"; any failure exits non-zero.
set -euo pipefail
daemon=$1
cd "$(dirname "$0")/../.."
test_name=wireguard-kernel
. tests/lib.sh
. tests/wireguard/rekey.sh
fail_hook() { for ns in kwo kwk; do echo "-- $ns"; ip netns exec $ns wg show all || true; done; }
ns_ours=kwo
in_kernel() { ip netns exec kwk "$@"; }
umask 077
# kvm-run's /dev has no TUN node until the module is loaded (and then only with devtmpfs).
modprobe tun
[ -e /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }

ip netns add kwo; ip netns add kwk
ip -n kwo link set lo up; ip -n kwk link set lo up
ip -n kwo link add lan0 type veth peer name lan1 netns kwk
ip -n kwo addr add 10.201.0.1/24 dev lan0; ip -n kwk addr add 10.201.0.2/24 dev lan1
ip -n kwo addr add fd20:1::1/64 dev lan0 nodad; ip -n kwk addr add fd20:1::2/64 dev lan1 nodad
ip -n kwo link set lan0 up; ip -n kwk link set lan1 up
key_ours=$(wg genkey) key_kernel=$(wg genkey)
pub_ours=$(echo "$key_ours" | wg pubkey) pub_kernel=$(echo "$key_kernel" | wg pubkey)

tunnel_addresses() { # ns iface host
  ip -n "$1" addr add "10.202.0.$3/24" dev "$2"
  ip -n "$1" addr add "fd20:2::$3/64" dev "$2" nodad
  ip -n "$1" link set "$2" up
}

start_kernel() { # iface [endpoint]
  in_kernel ip link add "$1" type wireguard
  in_kernel wg set "$1" private-key <(echo "$key_kernel") listen-port 51821 \
    peer "$pub_ours" allowed-ips 10.202.0.1/32,fd20:2::1/128 ${2:+endpoint "$2"}
  tunnel_addresses kwk "$1" 2
}

# The rekey check needs the debug build's shortened timers (TIME_DIVISOR), the roaming check must not have them:
# divided by 20, our side initiates 0.75 s after its last reply went unanswered (KEEPALIVE + REKEY_TIMEOUT), and
# an initiation sent to the address the kernel peer just left is lost and the byte counters differ by 148.
start_ours() { # iface [endpoint] [time divisor]; sets pid
  WG_ICE_WIREGUARD_TIME_DIVISOR=${3:-1} in_ours "$daemon" "$1" || fail "$daemon $1 exited $?"
  in_ours wg set "$1" private-key <(echo "$key_ours") listen-port 51820 \
    peer "$pub_kernel" allowed-ips 10.202.0.2/32,fd20:2::2/128 ${2:+endpoint "$2"}
  tunnel_addresses kwo "$1" 1
  pid=$(pgrep -f -x "$daemon --foreground $1") || fail "no daemon process for $1"
}

delete_and_wait_gone() { # iface pid
  in_ours ip link del "$1"
  for _ in $(seq 100); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$2" 2>/dev/null && fail "wg-ice-wireguard for $1 still runs 10 s after its interface was deleted"
  # Dropped to an unprivileged account, it cannot remove its socket: wg treats the refused socket as stale.
  ! in_ours wg show interfaces | grep -qw "$1" || fail "wg show lists the deleted $1"
  [ ! -e "/var/run/wireguard/$1.sock" ] || fail "/var/run/wireguard/$1.sock left behind"
}

echo "== ours initiates, kernel WireGuard responds"
start_kernel kwk0
start_ours kwo0 10.201.0.2:51821 "$rekey_divisor"
[ "$(in_kernel ip -d link show kwk0 | grep -c wireguard)" -ge 1 ] || fail "kwk0 is not a kernel WireGuard link"
ping_both kwo 10.202.0.2 fd20:2::2
check_show kwo0 kwk0 in_kernel
# (After this the byte counters differ by design: the kernel's packets with expired keys were dropped.)
rekey_check kwo kwo0 10.202.0.1 kwk kwk0 10.202.0.2 51821
delete_and_wait_gone kwo0 "$pid"
in_kernel ip link del kwk0

echo "== kernel WireGuard initiates, ours responds"
start_ours kwo1
start_kernel kwk1 10.201.0.1:51820
ping_both kwk 10.202.0.1 fd20:2::1
check_show kwo1 kwk1 in_kernel
[ "$(in_ours wg show kwo1 endpoints | awk '{print $2}')" = 10.201.0.2:51821 ] \
  || fail "endpoint not learnt: $(in_ours wg show kwo1 endpoints)"
# The kernel peer roams: a new source port, then a new source address (the old one goes, so the kernel's
# cached source address must change); the next authenticated packet moves our endpoint each time.
in_kernel wg set kwk1 listen-port 51822
in_kernel ping -c 2 -i 0.2 -W 3 -q 10.202.0.1 >/dev/null || fail "ping after the peer moved to port 51822"
[ "$(in_ours wg show kwo1 endpoints | awk '{print $2}')" = 10.201.0.2:51822 ] \
  || fail "endpoint did not follow the new port: $(in_ours wg show kwo1 endpoints)"
in_kernel sysctl -qw net.ipv4.conf.lan1.promote_secondaries=1 # else deleting .2 deletes .3 with it
ip -n kwk addr add 10.201.0.3/24 dev lan1
ip -n kwk addr del 10.201.0.2/24 dev lan1
in_kernel ping -c 2 -i 0.2 -W 3 -q 10.202.0.1 >/dev/null || fail "ping after the peer moved to 10.201.0.3"
[ "$(in_ours wg show kwo1 endpoints | awk '{print $2}')" = 10.201.0.3:51822 ] \
  || fail "endpoint did not follow the new address: $(in_ours wg show kwo1 endpoints)"
ping_both kwo 10.202.0.2 fd20:2::2
check_show kwo1 kwk1 in_kernel
delete_and_wait_gone kwo1 "$pid"
echo "wireguard-kernel: passed"
