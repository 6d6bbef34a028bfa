#!/usr/bin/env bash
# WireGuard's own netns selftest (the kernel's tools/testing/selftests/wireguard/netns.sh), rewritten for a
# userspace daemon with wireguard-go's command line and run against one:
#   IMPL=wg-ice-wireguard tests/wireguard-netns.sh    (the default; WG_ICE_WIREGUARD names the binary)
#   IMPL=wireguard-go tests/wireguard-netns.sh        (the oracle)
# The same sections and checks, in the same order, each named after the original's comment. The adaptation:
#   - `ip link add wgX type wireguard` in namespace B, then `ip link set wgX netns T`: the daemon starts in B
#     (its UDP sockets live there for good, as a kernel interface's do in its birth namespace) and its TUN is
#     moved to T. Every interface name is unique per run (wgn<pid><letter><n>): the UAPI sockets are in the
#     shared /var/run/wireguard (neither daemon takes another directory) and other tests run beside this one.
#   - iptables rules are nftables rules; ncat's one-datagram receive checks are nftables counters.
#   - Userspace daemons open their sockets a moment after `ip link set up` (wireguard-go when it reads the
#     link's event): a fresh pair is used once its ports are bound, as the kernel's are when `up` returns.
#   - Shorter loads: iperf3 runs 1 s instead of 3, and the parallel TCP round is 4 and 16 streams instead of
#     4, 5 and 50 (the whole run takes about a minute on two cores); every check is still made.
# Skipped, as kernel-only (printed with their reason): the interface counters of `ip -stats link` (a TUN
# device counts the inner packets the daemon reads and writes, the module counts the encrypted ones), and
# the object leak check (it reads the module's debug messages from /dev/kmsg).
# Expected to fail (the list below, each with its reason; docs/TESTING.md has the table): a check on it that
# passes makes the run fail too, so the list follows the daemons.
# Each check prints PASS, FAIL, XFAIL (an expected failure) or XPASS; the totals last. Exit status 1 when a
# check fails that is not expected to, or an expected failure passes.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests/wireguard-netns.sh: run as root (network namespaces)" >&2; exit 1; }
impl=${IMPL:-wg-ice-wireguard}
case $impl in
  wg-ice-wireguard)
    daemon="${WG_ICE_WIREGUARD:-$(swift build --show-bin-path)/wg-ice-wireguard}"
    [ -x "$daemon" ] || { echo "tests/wireguard-netns.sh: $daemon not built (swift build --product wg-ice-wireguard)" >&2; exit 1; } ;;
  wireguard-go) daemon=$(command -v wireguard-go) || { echo "tests/wireguard-netns.sh: no wireguard-go" >&2; exit 1; } ;;
  *) echo "usage: IMPL=wg-ice-wireguard|wireguard-go tests/wireguard-netns.sh" >&2; exit 2 ;;
esac

# Expected failures: check name -> reason. Both daemons, then each.
declare -A xfail
xfail["ICMP error returned along the right route"]="the kernel answers a packet with no peer for its \
destination with ICMP host unreachable; userspace daemons (wireguard-go too) drop it silently."
xfail["routing loop: traffic bounded, daemons alive"]="the kernel bounds a loop of two interfaces \
encapsulating into each other (under 70,000 bytes sent in the second after the pings); through userspace \
daemons every trip through a TUN and a socket is a new packet, and the loop runs until the interfaces go \
(about 180 MB in that second, wireguard-go and wg-ice-wireguard alike; the daemons survive it)."
if [ "$impl" = wireguard-go ]; then
  xfail["saddr: not too sticky, IPv4 source removed"]="wireguard-go 0.0.20220316 retries a send without its \
sticky source only on EINVAL; sending from a removed IPv4 address fails otherwise, and it keeps failing."
fi

id=$(( $$ % 100000 ))
export WG_HIDE_KEYS=never LANG=C
ns0="wgn$id-0" ns1="wgn$id-1" ns2="wgn$id-2"
work=$(mktemp -d)
ifaces=() pids=() # every interface started and its daemon, for the cleanup
declare -A pid_of
passed=0 failed=0 xfailed=0 xpassed=0 skipped=0 bad=()

cleanup() {
  local i ns pid
  for i in "${ifaces[@]}"; do
    for ns in "$ns0" "$ns1" "$ns2"; do ip -n "$ns" link del "$i" 2>/dev/null || true; done
  done
  # Deleting the link stops the daemon; one still running after 2 s is stopped by its pid.
  for pid in "${pids[@]}"; do
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
  done
  # Dropped to an unprivileged account, wg-ice-wireguard cannot remove its socket.
  for i in "${ifaces[@]}"; do rm -f "/var/run/wireguard/$i.sock"; done
  for ns in "$ns0" "$ns1" "$ns2"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n0() { ip netns exec "$ns0" "$@"; }
n1() { ip netns exec "$ns1" "$@"; }
n2() { ip netns exec "$ns2" "$@"; }
ip0() { ip -n "$ns0" "$@"; }
ip1() { ip -n "$ns1" "$@"; }
ip2() { ip -n "$ns2" "$@"; }
log=$work/log

# check NAME COMMAND...: one check of the original; its output goes to the log, shown when it fails.
check() {
  local name=$1; shift
  if "$@" >"$log" 2>&1; then
    if [ -n "${xfail[$name]:-}" ]; then
      echo "XPASS $name (expected to fail: ${xfail[$name]})"; xpassed=$((xpassed + 1)); bad+=("XPASS $name")
    else
      echo "PASS  $name"; passed=$((passed + 1))
    fi
  elif [ -n "${xfail[$name]:-}" ]; then
    echo "XFAIL $name: ${xfail[$name]}"; xfailed=$((xfailed + 1))
  else
    echo "FAIL  $name"; sed 's/^/      /' "$log" | tail -15; failed=$((failed + 1)); bad+=("FAIL $name")
  fi
}
skip() { echo "SKIP  $1: $2"; skipped=$((skipped + 1)); }
# setup COMMAND...: a step between checks; a failure counts as a failed check named after the command.
setup() { "$@" >"$log" 2>&1 || { echo "FAIL  setup: $*"; sed 's/^/      /' "$log" | tail -5; failed=$((failed + 1)); bad+=("FAIL setup: $*"); }; }
# expect_eq WHAT GOT WANT, for checks that compare output.
expect_eq() { [ "$2" = "$3" ] || { echo "$1: got '$2', want '$3'"; return 1; }; }

# wg_add BIRTH [TARGET] LETTER: starts a daemon in namespace BIRTH for a fresh interface, moved to TARGET if
# given (`ip link add type wireguard` in BIRTH, then `ip link set netns TARGET`); the name goes to $REPLY.
seq_no=0
wg_add() {
  local birth=$1 target=$2 name="wgn$id$3$seq_no"
  seq_no=$((seq_no + 1))
  ifaces+=("$name")
  if [ "$impl" = wireguard-go ]; then
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 ip netns exec "$birth" "$daemon" "$name" >"$log" 2>&1
  else
    ip netns exec "$birth" "$daemon" "$name" >"$log" 2>&1
  fi || { echo "tests/wireguard-netns.sh: $impl $name failed: $(cat "$log")" >&2; exit 1; }
  pid_of[$name]=$(pgrep -f -x "($daemon|wireguard-go) (--foreground )?$name")
  pids+=(${pid_of[$name]})
  [ "$target" = "$birth" ] || ip -n "$birth" link set "$name" netns "$target"
  REPLY=$name
}
# wait_gone NAME: the daemon of deleted interface NAME has exited (up to 5 s): the next section starts clean.
wait_gone() { local p; for p in ${pid_of[$1]}; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done; }
# The daemon behind interface NAME still runs (the original's "should not crash kernel").
alive() { wg show "$1" public-key >/dev/null; }
waitiface() { for _ in $(seq 50); do [ "$(ip netns exec "$1" cat "/sys/class/net/$2/operstate")" = up ] && return; sleep 0.1; done; }
# udp_counter NS NAME RULE: an nftables counter for what RULE matches on input in NS (ncat's role);
# udp_count NS NAME prints it.
udp_counter() { nft_chain "$1" inet "$2" "filter hook input priority 0" "$3 counter"; }
# nft_chain NS FAMILY TABLE CHAIN-TYPE RULE: a table of one base chain with one rule (iptables' role).
nft_chain() { printf 'table %s %s {\n chain c {\n  type %s\n  %s\n }\n}\n' "$2" "$3" "$4" "$5" | ip netns exec "$1" nft -f -; }
udp_count() { ip netns exec "$1" nft list table inet "$2" | grep -o 'packets [0-9]*' | cut -d' ' -f2; }

for ns in "$ns0" "$ns1" "$ns2"; do ip netns add "$ns"; done
ip0 link set up dev lo
key1=$(wg genkey) key2=$(wg genkey) key3=$(wg genkey) key4=$(wg genkey)
pub1=$(wg pubkey <<<"$key1") pub2=$(wg pubkey <<<"$key2") pub3=$(wg pubkey <<<"$key3") pub4=$(wg pubkey <<<"$key4")
psk=$(wg genpsk)

# The first topology: wg0 of ns1 and of ns2, both born in ns0, talk over ns0's loopback (ports 1 and 2).
wg_add "$ns0" "$ns1" a; wg1_0=$REPLY
wg_add "$ns0" "$ns2" b; wg2_0=$REPLY
configure_peers() {
  ip1 addr add 192.168.241.1/24 dev "$wg1_0"
  ip1 addr add fd00::1/112 dev "$wg1_0"
  ip2 addr add 192.168.241.2/24 dev "$wg2_0"
  ip2 addr add fd00::2/112 dev "$wg2_0"
  n1 wg set "$wg1_0" private-key <(echo "$key1") listen-port 1 \
    peer "$pub2" preshared-key <(echo "$psk") allowed-ips 192.168.241.2/32,fd00::2/128
  n2 wg set "$wg2_0" private-key <(echo "$key2") listen-port 2 \
    peer "$pub1" preshared-key <(echo "$psk") allowed-ips 192.168.241.1/32,fd00::1/128
  ip1 link set up dev "$wg1_0"
  ip2 link set up dev "$wg2_0"
  # The kernel is up when `ip link set up` returns; wireguard-go opens its sockets when it reads the link's
  # event, a moment later (and a packet in between is dropped): wait for ports 1 and 2 where they live.
  wait_port "$1" 1 && wait_port "$2" 2
}
wait_port() { for _ in $(seq 50); do ss -N "$1" -ulnH "sport = $2" | grep -q . && return; sleep 0.05; done; return 1; }
setup configure_peers "$ns0" "$ns0"

# iperf3 server in NS on ADDRESS:PORT for one client, ready when this returns.
iperf_server() {
  ip netns exec "$1" iperf3 -s -1 -B "$2" -p "${3:-5201}" >/dev/null 2>&1 &
  for _ in $(seq 50); do ss -N "$1" -tlnH "sport = ${3:-5201}" | grep -q . && return; sleep 0.05; done
}
iperf_client() { local ns=$1; shift; ip netns exec "$ns" iperf3 -Z -t 1 "$@" >/dev/null; }
parallel_tcp() {
  local max i ok=0 pids
  for max in 4 16; do
    pids=()
    for ((i = 0; i < max; ++i)); do iperf_server "$ns2" 192.168.241.2 $((5200 + i)); done
    for ((i = 0; i < max; ++i)); do iperf_client "$ns1" -p $((5200 + i)) -c 192.168.241.2 & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || ok=1; done
  done
  return $ok
}
tests() { # label (the original calls these five times, under different conditions)
  check "$1: ping over IPv4 (ns2 to ns1)" n2 ping -c 10 -f -W 1 192.168.241.1
  check "$1: ping over IPv4 (ns1 to ns2)" n1 ping -c 10 -f -W 1 192.168.241.2
  check "$1: ping over IPv6 (ns2 to ns1)" n2 ping -6 -c 10 -f -W 1 fd00::1
  check "$1: ping over IPv6 (ns1 to ns2)" n1 ping -6 -c 10 -f -W 1 fd00::2
  iperf_server "$ns2" 192.168.241.2
  check "$1: TCP over IPv4" iperf_client "$ns1" -c 192.168.241.2
  iperf_server "$ns1" fd00::1
  check "$1: TCP over IPv6" iperf_client "$ns2" -c fd00::1
  iperf_server "$ns1" 192.168.241.1
  check "$1: UDP over IPv4" iperf_client "$ns2" -b 0 -u -c 192.168.241.1
  iperf_server "$ns2" fd00::2
  check "$1: UDP over IPv6" iperf_client "$ns1" -b 0 -u -c fd00::2
  check "$1: TCP over IPv4, in parallel" parallel_tcp
}

[[ $(ip1 link show dev "$wg1_0") =~ mtu\ ([0-9]+) ]] && orig_mtu=${BASH_REMATCH[1]}
big_mtu=$(( 34816 - 1500 + orig_mtu ))

echo "== IPv4 as outer transport"
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 127.0.0.1:2
setup n2 wg set "$wg2_0" peer "$pub1" endpoint 127.0.0.1:1
# The first ten pings' bytes, both ways: the handshake (initiation 148, response 92), ten padded echo
# messages of 128 each way, and maybe one keepalive (32).
counters() {
  local rx tx
  n2 ping -c 10 -f -W 1 192.168.241.1 || return 1
  read -r _ rx tx < <(n2 wg show "$wg2_0" transfer)
  (( rx == 1372 && (tx == 1428 || tx == 1460) )) || { echo "ns2: rx $rx tx $tx"; return 1; }
  read -r _ rx tx < <(n1 wg show "$wg1_0" transfer)
  (( tx == 1372 && (rx == 1428 || rx == 1460) )) || { echo "ns1: rx $rx tx $tx"; return 1; }
}
check "stats counters: wg show transfer" counters
skip "stats counters: ip -stats link (ns1, ns2)" "kernel-only: a TUN device's counters count the inner packets, the module's the encrypted messages"
handshake_time() { local t; read -r _ t < <(n1 wg show "$wg1_0" latest-handshakes); (( t != 0 )); }
check "timestamper: latest handshake" handshake_time
tests "IPv4 outer"
setup ip1 link set "$wg1_0" mtu "$big_mtu"
setup ip2 link set "$wg2_0" mtu "$big_mtu"
tests "IPv4 outer, MTU $big_mtu"
setup ip1 link set "$wg1_0" mtu "$orig_mtu"
setup ip2 link set "$wg2_0" mtu "$orig_mtu"

echo "== IPv6 as outer transport"
setup n1 wg set "$wg1_0" peer "$pub2" endpoint '[::1]:2'
setup n2 wg set "$wg2_0" peer "$pub1" endpoint '[::1]:1'
tests "IPv6 outer"
setup ip1 link set "$wg1_0" mtu "$big_mtu"
setup ip2 link set "$wg2_0" mtu "$big_mtu"
tests "IPv6 outer, MTU $big_mtu"

echo "== route MTUs and padding"
setup ip1 link set "$wg1_0" mtu 1300
setup ip2 link set "$wg2_0" mtu 1300
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 127.0.0.1:2
setup n2 wg set "$wg2_0" peer "$pub1" endpoint 127.0.0.1:1
# 1360 bytes is a 1300-byte inner packet sealed; the route's MTU of 1299 must keep the padding below it.
setup nft_chain "$ns0" inet wgnmtu "filter hook input priority 0" "ip length 1360 drop"
setup ip1 route add 192.168.241.2/32 dev "$wg1_0" mtu 1299
setup ip2 route add 192.168.241.1/32 dev "$wg2_0" mtu 1299
# Both daemons pass this one without doing what it asks: neither sees the MTU of a TUN moved out of its
# namespace, so both pad the 1297-byte packet to 1312 (the interface MTU they saw was 1420) and the outer
# packet is 1372 bytes, not the 1360 the rule drops.
check "route MTUs work with the padding" n2 ping -c 1 -W 1 -s 1269 192.168.241.1
setup ip2 route delete 192.168.241.1/32 dev "$wg2_0" mtu 1299
setup ip1 route delete 192.168.241.2/32 dev "$wg1_0" mtu 1299
setup n0 nft delete table inet wgnmtu
setup ip1 link set "$wg1_0" mtu "$orig_mtu"
setup ip2 link set "$wg2_0" mtu "$orig_mtu"

echo "== roaming"
setup ip0 -4 addr del 127.0.0.1/8 dev lo
setup ip0 -4 addr add 127.212.121.99/8 dev lo
setup n1 wg set "$wg1_0" listen-port 9999
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 127.0.0.1:2
roams() { # ping-args... expected-endpoint
  local want=${*: -1}
  n1 ping -W 1 -c 1 "${@:1:$#-1}" || return 1
  expect_eq "ns2's endpoint" "$(n2 wg show "$wg2_0" endpoints)" "$pub1	$want"
}
check "roaming over IPv4" roams -6 fd00::2 127.212.121.99:9999
setup n1 wg set "$wg1_0" listen-port 9998
setup n1 wg set "$wg1_0" peer "$pub2" endpoint '[::1]:2'
check "roaming over IPv6" roams 192.168.241.2 '[::1]:9998'

echo "== crypto-RP filter"
setup n1 wg set "$wg1_0" peer "$pub2" allowed-ips 192.168.241.0/24
setup udp_counter "$ns1" wgnrp "iifname \"$wg1_0\" udp dport 1111"
send_x() { n2 bash -c 'echo X >/dev/udp/192.168.241.1/1111'; sleep 0.5; }
rp_accepts() { send_x; expect_eq "datagrams in" "$(udp_count "$ns1" wgnrp)" 1; }
check "crypto-RP filter: allowed source accepted" rp_accepts
more_specific_key=$(wg genkey | wg pubkey)
setup n1 wg set "$wg1_0" peer "$more_specific_key" allowed-ips 192.168.241.2/32
setup n2 wg set "$wg2_0" listen-port 9997
rp_drops() { send_x; expect_eq "datagrams in" "$(udp_count "$ns1" wgnrp)" 1; }
check "crypto-RP filter: source of a more specific peer dropped" rp_drops
setup n1 wg set "$wg1_0" peer "$more_specific_key" remove
setup n1 nft delete table inet wgnrp
check "crypto-RP filter: endpoint still learnt" expect_eq "ns1's endpoint" "$(n1 wg show "$wg1_0" endpoints)" "$pub2	[::1]:9997"

echo "== private key change"
setup n1 wg set "$wg1_0" private-key <(echo "$key1") peer "$pub2" preshared-key <(echo "$psk") allowed-ips 192.168.241.2/32 endpoint 127.0.0.1:2
setup n2 wg set "$wg2_0" private-key <(echo "$key2") listen-port 2 peer "$pub1" preshared-key <(echo "$psk") allowed-ips 192.168.241.1/32
check "change private keys: handshake before" n1 ping -W 1 -c 1 192.168.241.2
setup n1 wg set "$wg1_0" private-key <(echo "$key3")
setup n2 wg set "$wg2_0" peer "$pub3" preshared-key <(echo "$psk") allowed-ips 192.168.241.1/32 peer "$pub1" remove
check "change private keys and immediately handshake" n1 ping -W 1 -c 1 192.168.241.2
setup n2 wg set "$wg2_0" peer "$pub3" remove

echo "== wg through wg"
setup ip1 addr flush dev "$wg1_0"
setup ip2 addr flush dev "$wg2_0"
setup ip1 addr add fd00::5:1/112 dev "$wg1_0"
setup ip2 addr add fd00::5:2/112 dev "$wg2_0"
setup n1 wg set "$wg1_0" private-key <(echo "$key1") peer "$pub2" preshared-key <(echo "$psk") allowed-ips fd00::5:2/128 endpoint 127.0.0.1:2
setup n2 wg set "$wg2_0" private-key <(echo "$key2") listen-port 2 peer "$pub1" preshared-key <(echo "$psk") allowed-ips fd00::5:1/128 endpoint 127.212.121.99:9998
# wg1 of each side born in its own namespace: its sockets reach the other's through wg0.
wg_add "$ns1" "$ns1" c; wg1_1=$REPLY
wg_add "$ns2" "$ns2" d; wg2_1=$REPLY
setup ip1 addr add 192.168.241.1/24 dev "$wg1_1"
setup ip1 addr add fd00::1/112 dev "$wg1_1"
setup ip2 addr add 192.168.241.2/24 dev "$wg2_1"
setup ip2 addr add fd00::2/112 dev "$wg2_1"
setup ip1 link set mtu 1340 up dev "$wg1_1"
setup ip2 link set mtu 1340 up dev "$wg2_1"
setup n1 wg set "$wg1_1" listen-port 5 private-key <(echo "$key3") peer "$pub4" allowed-ips 192.168.241.2/32,fd00::2/128 endpoint '[fd00::5:2]:5'
setup n2 wg set "$wg2_1" listen-port 5 private-key <(echo "$key4") peer "$pub3" allowed-ips 192.168.241.1/32,fd00::1/128 endpoint '[fd00::5:1]:5'
# tests() addresses the peers by the names of the first topology: here they are wg1's.
tests "wg through wg"

echo "== routing loop"
setup ip1 link set netns "$ns0" dev "$wg1_1"
setup ip0 addr add 192.168.241.1/24 dev "$wg1_1"
setup ip0 link set up dev "$wg1_1"
check "routing loop: ping before the loop" n0 ping -W 1 -c 1 192.168.241.2
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 192.168.241.2:7
setup ip2 link del "$wg2_0"
setup ip2 link del "$wg2_1"
loop_bounded() {
  local before after
  read -r _ _ before < <(n0 wg show "$wg1_1" transfer)
  ! n0 ping -W 1 -c 10 -f 192.168.241.2 || { echo "ping answered through the loop"; return 1; }
  sleep 1
  read -r _ _ after < <(n0 wg show "$wg1_1" transfer)
  (( after - before < 70000 )) || { echo "$(( after - before )) bytes sent"; return 1; }
  alive "$wg1_1" && alive "$wg1_0"
}
check "routing loop: traffic bounded, daemons alive" loop_bounded
setup ip0 link del "$wg1_1"
setup ip1 link del "$wg1_0"
wait_gone "$wg1_1"; wait_gone "$wg1_0"

echo "== NAT"
wg_add "$ns1" "$ns1" e; wg1_0=$REPLY
wg_add "$ns2" "$ns2" f; wg2_0=$REPLY
setup configure_peers "$ns1" "$ns2"
setup ip0 link add vethrc type veth peer name vethc
setup ip0 link add vethrs type veth peer name veths
setup ip0 link set vethc netns "$ns1"
setup ip0 link set veths netns "$ns2"
setup ip0 link set vethrc up
setup ip0 link set vethrs up
setup ip0 addr add 192.168.1.1/24 dev vethrc
setup ip0 addr add 10.0.0.1/24 dev vethrs
setup ip1 addr add 192.168.1.100/24 dev vethc
setup ip1 link set vethc up
setup ip1 route add default via 192.168.1.1
setup ip2 addr add 10.0.0.100/24 dev veths
setup ip2 link set veths up
for w in "$ns0 vethrc" "$ns0 vethrs" "$ns1 vethc" "$ns2 veths"; do waitiface $w; done
setup n0 sysctl -qw net.ipv4.ip_forward=1
setup nft_chain "$ns0" ip wgnnat "nat hook postrouting priority 100" "ip saddr 192.168.1.0/24 ip daddr 10.0.0.0/24 snat to 10.0.0.1"
setup n0 sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 net.netfilter.nf_conntrack_udp_timeout_stream=2
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 10.0.0.100:2 persistent-keepalive 1
check "NAT: ping through the NAT" n1 ping -W 1 -c 1 192.168.241.2
check "NAT: ping back" n2 ping -W 1 -c 1 192.168.241.1
check "NAT: endpoint is the NAT's" expect_eq "ns2's endpoint" "$(n2 wg show "$wg2_0" endpoints)" "$pub1	10.0.0.1:1"
# The conntrack entry lives 2 s; the keepalives every second keep it.
sleep 3
check "NAT: persistent keepalive keeps the mapping" n2 ping -W 1 -c 1 192.168.241.1
setup n1 wg set "$wg1_0" peer "$pub2" persistent-keepalive 0

echo "== sk_bound_dev_if"
check "sk_bound_dev_if: ping -I" n1 ping -I "$wg1_0" -c 1 -W 1 192.168.241.2
setup nft_chain "$ns1" ip wgnmark "route hook output priority -150" "meta mark set 1"
check "rerouted on a mark change" n1 ping -c 1 -W 1 192.168.241.2
check "rerouted on a mark change, ping -I" n1 ping -I "$wg1_0" -c 1 -W 1 192.168.241.2
setup n1 nft delete table ip wgnmark

echo "== onion routing"
setup n1 wg set "$wg1_0" peer "$pub3" allowed-ips 192.168.242.2/32 endpoint 192.168.241.2:5
setup ip1 addr add 192.168.242.1/24 dev "$wg1_0"
wg_add "$ns2" "$ns2" g; wg2_1=$REPLY
setup ip2 addr add 192.168.242.2/24 dev "$wg2_1"
setup n2 wg set "$wg2_1" private-key <(echo "$key3") listen-port 5 peer "$pub1" allowed-ips 192.168.242.1/32
setup ip2 link set "$wg2_1" up
check "onion routing" n1 ping -W 1 -c 1 192.168.242.2
setup ip2 link del "$wg2_1"
setup n1 wg set "$wg1_0" peer "$pub3" endpoint 192.168.242.2:5
onion_loop() { ! n1 ping -W 1 -c 1 192.168.242.2 || { echo "answered"; return 1; }; alive "$wg1_0"; }
check "onion routing, looping: no answer, daemon alive" onion_loop
setup n1 wg set "$wg1_0" peer "$pub3" remove
setup ip1 addr del 192.168.242.1/24 dev "$wg1_0"

echo "== wg-quick style policy routing"
setup ip1 -6 addr add fc00::9/96 dev vethc nodad
setup ip1 -6 route add default via fc00::1
setup ip2 -4 addr add 192.168.99.7/32 dev "$wg2_0"
setup ip2 -6 addr add abab::1111/128 dev "$wg2_0" nodad
setup n1 wg set "$wg1_0" fwmark 51820 peer "$pub2" allowed-ips 192.168.99.7,abab::1111
setup ip1 -6 route add default dev "$wg1_0" table 51820
setup ip1 -6 rule add not fwmark 51820 table 51820
setup ip1 -6 rule add table main suppress_prefixlength 0
setup ip1 -4 route add default dev "$wg1_0" table 51820
setup ip1 -4 rule add not fwmark 51820 table 51820
setup ip1 -4 rule add table main suppress_prefixlength 0
setup n1 sysctl -qw net.ipv4.conf.vethc.rp_filter=0
check "policy routing for the default route, IPv4 flood" n1 ping -W 1 -c 100 -f 192.168.99.7
check "policy routing for the default route, IPv6 flood" n1 ping -W 1 -c 100 -f abab::1111

echo "== ICMP errors"
setup nft_chain "$ns2" ip wgnsnat "nat hook postrouting priority 100" "ip saddr 10.0.0.0/24 ip daddr 192.168.241.0/24 snat to 192.168.241.2"
setup nft_chain "$ns0" ip wgnrpf "filter hook input priority 0" "iifname \"vethrs\" ip saddr != 10.0.0.0/24 drop"
setup n2 sysctl -qw net.ipv4.ip_forward=1
setup ip0 -4 route add 192.168.241.1 via 10.0.0.100
setup n2 wg set "$wg2_0" peer "$pub1" remove
icmp_error() {
  local out; out=$(n0 ping -W 1 -c 1 192.168.241.1 2>&1) && { echo "answered: $out"; return 1; }
  [[ $out == *"From 10.0.0.100 icmp_seq=1 Destination Host Unreachable"* ]] || { echo "$out"; return 1; }
}
check "ICMP error returned along the right route" icmp_error
for t in "ip wgnnat" "ip wgnrpf"; do setup n0 nft delete table $t; done
setup n2 nft delete table ip wgnsnat
setup ip0 link del vethrc
setup ip0 link del vethrs
setup ip1 link del "$wg1_0"
setup ip2 link del "$wg2_0"

echo "== saddr routing: sticky but not too sticky"
wg_add "$ns1" "$ns1" h; wg1_0=$REPLY
wg_add "$ns2" "$ns2" i; wg2_0=$REPLY
setup configure_peers "$ns1" "$ns2"
setup ip1 link add veth1 type veth peer name veth2
setup ip1 link set veth2 netns "$ns2"
setup n1 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.veth1.accept_dad=0 net.ipv4.conf.veth1.promote_secondaries=1
setup n2 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.veth2.accept_dad=0
setup ip1 addr add 10.0.0.1/24 dev veth1
setup ip1 addr add fd00:aa::1/96 dev veth1
setup ip2 addr add 10.0.0.2/24 dev veth2
setup ip2 addr add fd00:aa::2/96 dev veth2
setup ip1 link set veth1 up
setup ip2 link set veth2 up
waitiface "$ns1" veth1; waitiface "$ns2" veth2
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 10.0.0.2:2
check "saddr: IPv4 before the address change" n1 ping -W 1 -c 1 192.168.241.2
setup ip1 addr add 10.0.0.10/24 dev veth1
setup ip1 addr del 10.0.0.1/24 dev veth1
check "saddr: not too sticky, IPv4 source removed" n1 ping -W 1 -c 1 192.168.241.2
setup n1 wg set "$wg1_0" peer "$pub2" endpoint '[fd00:aa::2]:2'
check "saddr: IPv6 before the address change" n1 ping -W 1 -c 1 192.168.241.2
setup ip1 addr add fd00:aa::10/96 dev veth1
setup ip1 addr del fd00:aa::1/96 dev veth1
check "saddr: not too sticky, IPv6 source removed" n1 ping -W 1 -c 1 192.168.241.2

echo "== reply-to-sender routing"
setup ip1 link set veth1 down
setup ip2 link set veth2 down
setup ip1 addr flush dev veth1
setup ip2 addr flush dev veth2
for a in 10.0.0.1/24 10.0.0.2/24 fd00:aa::1/96 fd00:aa::2/96; do setup ip1 addr add $a dev veth1; done
setup ip2 addr add 10.0.0.3/24 dev veth2
setup ip2 addr add fd00:aa::3/96 dev veth2
setup ip1 link set veth1 up
setup ip2 link set veth2 up
waitiface "$ns1" veth1; waitiface "$ns2" veth2
reply_to() { # endpoint: ns2 reaches ns1 there, and the answer comes from it
  n2 wg set "$wg2_0" peer "$pub1" endpoint "$1" || return 1
  n2 ping -W 1 -c 1 192.168.241.1 || return 1
  expect_eq "ns2's endpoint" "$(n2 wg show "$wg2_0" endpoints)" "$pub1	$1"
}
for e in 10.0.0.1:1 '[fd00:aa::1]:1' 10.0.0.2:1 '[fd00:aa::2]:1'; do check "reply-to-sender: $e" reply_to "$e"; done

echo "== inbound destination on another interface than the default route"
# The original's dummy0; a veth pair of which one end is unused does the same where the kernel has no dummy.
setup ip1 link add dummy0 type veth peer name dummy1
setup ip1 addr add 10.50.0.1/24 dev dummy0
setup ip1 link set dummy1 up
setup ip1 link set dummy0 up
setup ip2 route add 10.50.0.0/24 dev veth2
check "reply-to-sender: destination on another interface" reply_to 10.50.0.1:1
setup ip1 link del dummy0
setup ip1 addr flush dev veth1
setup ip2 addr flush dev veth2
setup ip1 route flush dev veth1
setup ip2 route flush dev veth2

echo "== another interface route takes precedence"
setup ip1 link add veth3 type veth peer name veth4
setup ip1 link set veth4 netns "$ns2"
setup ip1 addr add 10.0.0.1/24 dev veth1
setup ip2 addr add 10.0.0.2/24 dev veth2
setup ip1 addr add 10.0.0.3/24 dev veth3
for l in "1 veth1" "2 veth2" "1 veth3" "2 veth4"; do set -- $l; setup ip -n "wgn$id-$1" link set "$2" up; done
waitiface "$ns1" veth1; waitiface "$ns2" veth2; waitiface "$ns1" veth3; waitiface "$ns2" veth4
setup ip1 route flush dev veth1
setup ip1 route flush dev veth3
setup ip1 route add 10.0.0.0/24 dev veth1 src 10.0.0.1 metric 2
setup n1 wg set "$wg1_0" peer "$pub2" endpoint 10.0.0.2:2
seen_from() { # ns1 pings ns2, which sees it come from ENDPOINT
  n1 ping -W 1 -c 1 192.168.241.2 || return 1
  expect_eq "ns2's endpoint" "$(n2 wg show "$wg2_0" endpoints)" "$pub1	$1"
}
check "route precedence: source of the first route" seen_from 10.0.0.1:1
setup ip1 route add 10.0.0.0/24 dev veth3 src 10.0.0.3 metric 1
setup n1 sysctl -qw net.ipv4.conf.veth1.rp_filter=0 net.ipv4.conf.all.rp_filter=0
setup n2 sysctl -qw net.ipv4.conf.veth4.rp_filter=0 net.ipv4.conf.all.rp_filter=0
check "route precedence: a better route wins over a sticky source" seen_from 10.0.0.3:1
setup ip1 link del veth1
setup ip1 link del veth3
setup ip1 link del "$wg1_0"
setup ip2 link del "$wg2_0"

echo "== UAPI (the original's netlink): large replies"
many_allowed_ips() {
  local config=("[Interface]" "PrivateKey=$(wg genkey)" "[Peer]" "PublicKey=$(wg genkey)") a b n
  for a in {1..255}; do for b in {0..255}; do config+=("AllowedIPs=$a.$b.0.0/16,$a::$b/128"); done; done
  n0 wg setconf "$1" <(printf '%s\n' "${config[@]}") || return 1
  n=$(n0 wg show "$1" allowed-ips | wc -w)
  expect_eq "words in allowed-ips" "$n" $(( 255 * 256 * 2 + 1 ))
}
wg_add "$ns0" "$ns0" j; check "UAPI: 130,560 allowed IPs of one peer" many_allowed_ips "$REPLY"; setup ip0 link del "$REPLY"
many_peers() {
  local config=("[Interface]" "PrivateKey=$(wg genkey)") a b lines=0 line
  for a in {1..40}; do
    config+=("[Peer]" "PublicKey=$(wg genkey)")
    for b in {1..52}; do config+=("AllowedIPs=$a.$b.0.0/16"); done
  done
  n0 wg setconf "$1" <(printf '%s\n' "${config[@]}") || return 1
  while read -r line; do
    set -- $line
    [ $# = 53 ] || { echo "a peer with $(( $# - 1 )) allowed IPs"; return 1; }
    lines=$((lines + 1))
  done < <(n0 wg show "$1" allowed-ips)
  expect_eq peers "$lines" 40
}
wg_add "$ns0" "$ns0" k; check "UAPI: 40 peers of 52 allowed IPs" many_peers "$REPLY"; setup ip0 link del "$REPLY"
thirty_peers() {
  local config=() i
  for i in {1..29}; do config+=("[Peer]" "PublicKey=$(wg genkey)"); done
  config+=("[Peer]" "PublicKey=$(wg genkey)" "AllowedIPs=255.2.3.4/32,abcd::255/128")
  n0 wg setconf "$1" <(printf '%s\n' "${config[@]}") && n0 wg showconf "$1" >/dev/null
}
wg_add "$ns0" "$ns0" l; check "UAPI: 30 peers, showconf" thirty_peers "$REPLY"; setup ip0 link del "$REPLY"
many_v6() {
  local list i pub allowed
  list=$(for i in {1..197}; do printf 'abcd::%d,' "$i"; done); list=${list%,}
  n0 wg set "$1" peer "$pub1" || return 1
  n0 wg set "$1" peer "$pub2" allowed-ips "$list" || return 1
  # The kernel lists peers in the order they were added; a daemon need not (wireguard-go's is a map's).
  n0 wg show "$1" allowed-ips >"$work/allowed" || return 1
  expect_eq "peers" "$(wc -l <"$work/allowed")" 2 || return 1
  expect_eq "the first peer" "$(grep "^$pub1" "$work/allowed" | cut -f2)" "(none)" || return 1
  expect_eq "the second peer's allowed IPs" "$(grep "^$pub2" "$work/allowed" | cut -f2 | wc -w)" 197
}
wg_add "$ns0" "$ns0" m; check "UAPI: 197 IPv6 allowed IPs without prefix length" many_v6 "$REPLY"; setup ip0 link del "$REPLY"
check "wg show of an interface that does not exist fails" bash -c "! ip netns exec $ns0 wg show wgn${id}none"

echo "== keys"
wg_add "$ns0" "$ns0" n; k=$REPLY
keys() {
  n0 wg set "$k" private-key <(echo "$key1") peer "$pub2" preshared-key <(echo "$psk") || return 1
  expect_eq "private key" "$(n0 wg show "$k" private-key)" "$key1" || return 1
  expect_eq "preshared keys" "$(n0 wg show "$k" preshared-keys)" "$pub2	$psk" || return 1
  n0 wg set "$k" private-key /dev/null peer "$pub2" preshared-key /dev/null || return 1
  expect_eq "private key" "$(n0 wg show "$k" private-key)" "(none)" || return 1
  expect_eq "preshared keys" "$(n0 wg show "$k" preshared-keys)" "$pub2	(none)"
}
check "private and preshared keys set and cleared" keys
own_key_peer() {
  n0 wg set "$k" peer "$pub2" && n0 wg set "$k" private-key <(echo "$key2") || return 1
  expect_eq "public key" "$(n0 wg show "$k" public-key)" "$pub2" || return 1
  expect_eq "peers (our own key removed)" "$(n0 wg show "$k" peers)" "" || return 1
  n0 wg set "$k" peer "$pub2" || return 1
  expect_eq "peers (our own key refused)" "$(n0 wg show "$k" peers)" "" || return 1
  n0 wg set "$k" private-key <(echo "$key1") && n0 wg set "$k" peer "$pub2" || return 1
  expect_eq peers "$(n0 wg show "$k" peers)" "$pub2"
}
check "a peer with our own public key" own_key_peer
clamped() {
  n0 wg set "$k" private-key <(echo "/${key1:1}") || return 1
  expect_eq "private key" "$(n0 wg show "$k" private-key)" "+${key1:1}"
}
check "private key clamped" clamped
overlapping() {
  n0 wg set "$k" peer "$pub2" allowed-ips 0.0.0.0/0,10.0.0.0/8,100.0.0.0/10,172.16.0.0/12,192.168.0.0/16 &&
  n0 wg set "$k" peer "$pub2" allowed-ips 0.0.0.0/0 &&
  n0 wg set "$k" peer "$pub2" allowed-ips ::/0,1700::/111,5000::/4,e000::/37,9000::/75 &&
  n0 wg set "$k" peer "$pub2" allowed-ips ::/0 &&
  n0 wg set "$k" peer "$pub2" remove
}
check "overlapping allowed IPs replaced" overlapping
low_order() {
  local p
  for p in AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
           4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA= X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc= \
           7P///////////////////////////////////////38= 7f///////////////////////////////////////38= \
           7v///////////////////////////////////////38=; do
    n0 wg set "$k" peer "$p" persistent-keepalive 1 endpoint 127.0.0.1:1111 || return 1
  done
  [ -n "$(n0 wg show "$k" peers)" ] || { echo "no peers"; return 1; }
  udp_counter "$ns0" wgnlow 'udp dport 1111' || return 1
  ip0 link set "$k" up
  sleep 2
  expect_eq "datagrams to the low-order peers" "$(udp_count "$ns0" wgnlow)" 0
}
check "low-order public keys: nothing sent" low_order
setup ip0 link del "$k"
skip "no circular reference loops (objects created were destroyed)" "kernel-only: it reads the module's object debug messages from /dev/kmsg"

echo "== $impl: $passed passed, $xfailed failed as expected, $skipped skipped (kernel-only), $failed failed, $xpassed passed unexpectedly"
if [ ${#bad[@]} -gt 0 ]; then
  printf 'tests/wireguard-netns.sh: %s\n' "${bad[@]}" >&2
  exit 1
fi
