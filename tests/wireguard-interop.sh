#!/usr/bin/env bash
# wg-ice-wireguard against wireguard-go in two network namespaces joined by a veth pair:
#   1. ours brought up by stock wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION) initiates, wireguard-go responds;
#   2. ours started bare and configured with `wg setconf` responds to wireguard-go's initiation;
# each time ping over IPv4 and IPv6 inside the tunnel, `wg show` handshake times and byte counters checked
# against the other side's, and the daemon must exit when its interface is deleted (status 0 in the
# foreground). A flood of initiations gets cookie replies, and wireguard-go, re-handshaking through one,
# gets in with mac2. The UAPI error replies (errno values) are compared with wireguard-go's for the same bad
# requests. Last, with the debug build's timers shortened, two rekeys under a 10/s ping and
# REJECT_AFTER_TIME (tests/wireguard/rekey.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
test_name=tests/wireguard-interop.sh
. tests/lib.sh
. tests/wireguard/rekey.sh
need_root
daemon="${WG_ICE_WIREGUARD:-$(swift build --show-bin-path)/wg-ice-wireguard}"
[ -x "$daemon" ] || { echo "tests/wireguard-interop.sh: $daemon not built (swift build)" >&2; exit 1; }
wg_namespaces wd 10.201.0 fd20:1:

# wireguard-go with the tunnel addresses .2; `endpoint` given or not decides who can initiate.
start_go() { # iface [endpoint]
  in_go wireguard-go "$1" >/dev/null 2>&1
  in_go wg set "$1" private-key <(echo "$key_go") listen-port 51821 \
    peer "$pub_ours" allowed-ips 10.202.0.1/32,fd20:2::1/128 ${2:+endpoint "$2"}
  ip -n "$ns_go" addr add 10.202.0.2/24 dev "$1"
  ip -n "$ns_go" addr add fd20:2::2/64 dev "$1" nodad
  ip -n "$ns_go" link set "$1" up
}

fail_hook() { in_ours wg show; in_go wg show; }

wait_gone() { # iface pid
  for _ in $(seq 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$2" 2>/dev/null && fail "wg-ice-wireguard for $1 still runs after its interface was deleted"
  # Dropped to an unprivileged account, it cannot remove its socket: wg treats the refused socket as stale.
  ! wg show interfaces | grep -qw "$1" || fail "wg show lists the deleted $1"
  [ ! -e "/var/run/wireguard/$1.sock" ] || fail "/var/run/wireguard/$1.sock left behind"
}

echo "== ours initiates (wg-quick up), wireguard-go responds"
ours="wdo$id" go="wdg$id"
start_go "$go"
cat >"$work/$ours.conf" <<CONF
[Interface]
PrivateKey = $key_ours
ListenPort = 51820
Address = 10.202.0.1/24, fd20:2::1/64

[Peer]
PublicKey = $pub_go
AllowedIPs = 10.202.0.2/32, fd20:2::2/128
Endpoint = 10.201.0.2:51821
CONF
WG_QUICK_USERSPACE_IMPLEMENTATION="$daemon" in_ours wg-quick up "$work/$ours.conf" 2>"$work/wg-quick.err" \
  || fail "wg-quick up: $(cat "$work/wg-quick.err")"
pid=$(pgrep -f -x "$daemon --foreground $ours") || fail "no daemon process for $ours"
ping_both "$ns_ours" 10.202.0.2 fd20:2::2
check_show "$ours" "$go" in_go
in_ours wg showconf "$ours" | grep -qx "Endpoint = 10.201.0.2:51821" || fail "showconf: $(in_ours wg showconf "$ours")"
[ "$(in_ours wg show "$ours" allowed-ips | cut -f2)" = "10.202.0.2/32 fd20:2::2/128" ] \
  || fail "allowed ips: $(in_ours wg show "$ours" allowed-ips)"
WG_QUICK_USERSPACE_IMPLEMENTATION="$daemon" in_ours wg-quick down "$work/$ours.conf" 2>/dev/null || fail "wg-quick down"
wait_gone "$ours" "$pid"
ip -n "$ns_go" link del "$go"
# wireguard-go exits a moment after its link goes: until then it holds the port the next one wants.
for _ in $(seq 50); do [ -e "/var/run/wireguard/$go.sock" ] || break; sleep 0.1; done

echo "== wireguard-go initiates, ours (wg setconf) responds"
ours="wdp$id" go="wdh$id"
in_ours "$daemon" "$ours" || fail "$daemon $ours exited $?"
pid=$(pgrep -f -x "$daemon --foreground $ours") || fail "no daemon process for $ours"
printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.202.0.2/32, fd20:2::2/128\n' \
  "$key_ours" "$pub_go" >"$work/setconf.conf"
in_ours wg setconf "$ours" "$work/setconf.conf"
ip -n "$ns_ours" addr add 10.202.0.1/24 dev "$ours"
ip -n "$ns_ours" addr add fd20:2::1/64 dev "$ours" nodad
ip -n "$ns_ours" link set "$ours" up
start_go "$go" 10.201.0.1:51820
ping_both "$ns_go" 10.202.0.1 fd20:2::1
check_show "$ours" "$go" in_go
# Our endpoint for the peer was learnt from its packets (roaming), none was configured.
[ "$(in_ours wg show "$ours" endpoints | awk '{print $2}')" = 10.201.0.2:51821 ] || fail "endpoint not learnt"
# The peer roams (a new source port): the next authenticated packet moves our endpoint.
in_go wg set "$go" listen-port 51822
in_go ping -c 2 -i 0.2 -W 2 -q 10.202.0.1 >/dev/null || fail "ping after the peer roamed"
[ "$(in_ours wg show "$ours" endpoints | awk '{print $2}')" = 10.201.0.2:51822 ] || fail "endpoint did not follow the roaming peer"
# wg syncconf: adds a peer, then removes it again, leaving the session alone.
third=$(wg genkey | wg pubkey)
cp "$work/setconf.conf" "$work/sync.conf"
printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.97.0.0/16\nPersistentKeepalive = 25\n' "$third" >>"$work/sync.conf"
in_ours wg syncconf "$ours" "$work/sync.conf"
[ "$(in_ours wg show "$ours" peers | sort)" = "$(printf '%s\n%s\n' "$pub_go" "$third" | sort)" ] || fail "syncconf did not add the peer"
[ "$(in_ours wg show "$ours" persistent-keepalive | grep "$third" | cut -f2)" = 25 ] || fail "syncconf: persistent keepalive"
in_ours wg syncconf "$ours" "$work/setconf.conf"
[ "$(in_ours wg show "$ours" peers)" = "$pub_go" ] || fail "syncconf did not remove the peer"
in_go ping -c 1 -W 2 -q 10.202.0.1 >/dev/null || fail "ping after syncconf"
# A peer whose allowed IPs do not cover the source is filtered: wireguard-go sends from .2, we now allow only .3.
in_ours wg set "$ours" peer "$pub_go" allowed-ips 10.202.0.3/32
# (The kernel counts what the daemon writes into the TUN as the interface's received packets.)
before=$(in_ours cat "/sys/class/net/$ours/statistics/rx_packets")
in_go ping -c 3 -i 0.2 -W 1 -q 10.202.0.1 >/dev/null 2>&1 && fail "a packet from outside the allowed IPs was answered"
after=$(in_ours cat "/sys/class/net/$ours/statistics/rx_packets")
[ "$after" = "$before" ] || fail "$(( after - before )) packets from outside the allowed IPs were delivered"

echo "== cookie replies under a flood of initiations"
# Initiations with a valid mac1 (so they cost the daemon a DH each) but nothing behind it: a few are ignored
# silently; a flood puts the daemon under load, and then it answers with cookie replies instead of doing DH.
in_go python3 - "$(echo "$pub_ours" | base64 -d | od -An -tx1 | tr -d ' \n')" 10.201.0.1 51820 <<'PY' >"$work/flood" || fail "flood: $(cat "$work/flood")"
import hashlib, os, socket, sys, time
mac1_key = hashlib.blake2s(b"mac1----" + bytes.fromhex(sys.argv[1])).digest()
target = (sys.argv[2], int(sys.argv[3]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
def initiation():
    m = b"\x01\x00\x00\x00" + bytes([1, 2, 3, 4]) + os.urandom(108)
    return m + hashlib.blake2s(m, key=mac1_key, digest_size=16).digest() + bytes(16)
def replies():
    n = 0
    while True:
        try:
            d = s.recv(2048)
        except BlockingIOError:
            return n
        if len(d) != 64 or d[0] != 3 or d[4:8] != bytes([1, 2, 3, 4]):
            sys.exit("unexpected reply %r" % d[:8])
        n += 1
for _ in range(20):
    s.sendto(initiation(), target)
    time.sleep(0.01)
time.sleep(0.3)
quiet = replies()
# About 4000 a second, in bursts the daemon's socket buffer holds.
flood = 0
for _ in range(300):
    for _ in range(20):
        s.sendto(initiation(), target)
    flood += replies()
    time.sleep(0.005)
time.sleep(0.5)
flood += replies()
print(quiet, flood)
PY
read -r quiet flood <"$work/flood"
[ "$quiet" = 0 ] || fail "$quiet cookie replies without load"
[ "$flood" -gt 100 ] || fail "only $flood cookie replies to a flood of 6000 initiations"
echo "  cookie replies: $flood to 6000 flooded initiations"

echo "== through a flood, wireguard-go takes our cookie reply and gets through with mac2"
# wireguard-go starts a new handshake (its peer re-created) while the flood keeps ours under load: its
# initiation gets a cookie reply, its retry 5 s later carries mac2 and must be admitted.
go_port=$(in_go wg show "$go" listen-port)
in_go nft -f - <<NFT
table inet wgcookie {
  chain input { type filter hook input priority 0; policy accept; udp sport 51820 udp dport $go_port udp length 72 counter; }
}
NFT
in_ours wg set "$ours" peer "$pub_go" allowed-ips 10.202.0.2/32,fd20:2::2/128  # back from the source filter check
in_go wg set "$go" peer "$pub_ours" remove
in_go wg set "$go" peer "$pub_ours" allowed-ips 10.202.0.1/32,fd20:2::1/128 endpoint 10.201.0.1:51820
in_go python3 - "$(echo "$pub_ours" | base64 -d | od -An -tx1 | tr -d ' \n')" 10.201.0.1 51820 <<'PY' &
import hashlib, os, socket, sys, time
mac1_key = hashlib.blake2s(b"mac1----" + bytes.fromhex(sys.argv[1])).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 14
while time.time() < end:
    for _ in range(20):
        m = b"\x01\x00\x00\x00" + bytes([1, 2, 3, 4]) + os.urandom(108)
        s.sendto(m + hashlib.blake2s(m, key=mac1_key, digest_size=16).digest() + bytes(16), (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.005)
PY
flood_pid=$!
sleep 1
start=$SECONDS
in_go ping -c 1 -W 13 -q 10.202.0.1 >/dev/null || fail "no reply through the flood"
took=$(( SECONDS - start ))
kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null || true
cookies=$(in_go nft list table inet wgcookie | grep -o 'packets [0-9]*' | awk '{print $2}')
in_go nft delete table inet wgcookie
[ "${cookies:-0}" -ge 1 ] || fail "wireguard-go got no cookie reply, so the flood did not test mac2"
echo "  wireguard-go: $cookies cookie replies, first ping answered after $took s"

echo "== UAPI errors as wireguard-go answers them"
uapi() { # iface request
  python3 - "/var/run/wireguard/$1.sock" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode())
s.settimeout(3)
out = b''
while not out.endswith(b'\n\n'):
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
print([l for l in out.decode().split('\n') if l.startswith('errno=')][-1:])
PY
}
for request in 'get=1\n\n' 'get=1\nx' 'set=1\nbogus=1\n\n' 'set=1\nnoequals\n\n' 'set=1\nprivate_key=zz\n\n' \
  'set=1\nlisten_port=70000\n\n' 'set=1\nfwmark=x\n\n' "set=1\npublic_key=$(echo "$pub_go" | base64 -d | od -An -tx1 | tr -d ' \n')\nlisten_port=1\n\n" \
  'set=1\npublic_key=00\n\n' 'set=1\nreplace_peers=false\n\n'; do
  want=$(uapi "$go" "$request") got=$(uapi "$ours" "$request")
  [ "$got" = "$want" ] || fail "UAPI '$request': ours $got, wireguard-go $want"
  [ -z "${VERBOSE:-}" ] || echo "  $request -> $got"
done
# A listen_port another socket holds: EADDRINUSE, as from wireguard-go.
in_ours python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("",51999)); time.sleep(3)' &
# Until it holds the port (python starts slowly on a loaded machine, and then the daemon would get the port).
for _ in $(seq 50); do in_ours ss -Huln | grep -q ':51999 ' && break; sleep 0.1; done
got=$(uapi "$ours" 'set=1\nlisten_port=51999\n\n')
[ "$got" = "['errno=-98']" ] || fail "listen_port in use: $got"
wait
ip -n "$ns_ours" link del "$ours"
wait_gone "$ours" "$pid"
ip -n "$ns_go" link del "$go"
for _ in $(seq 50); do [ -e "/var/run/wireguard/$go.sock" ] || break; sleep 0.1; done

echo "== in the foreground, the interface's deletion ends the daemon with status 0, as wireguard-go's"
ours="wdf$id"
in_ours "$daemon" --foreground "$ours" 2>"$work/foreground.err" &
pid=$!
for _ in $(seq 50); do [ -S "/var/run/wireguard/$ours.sock" ] && break; sleep 0.1; done
ip -n "$ns_ours" link del "$ours"
wait_gone "$ours" "$pid"
status=0; wait "$pid" || status=$?
[ "$status" = 0 ] || fail "exit status $status after the interface was deleted: $(cat "$work/foreground.err")"

echo "== rekeys and REJECT_AFTER_TIME (the debug build's timers divided by $rekey_divisor), ours initiates"
ours="wdr$id" go="wdi$id"
start_go "$go"
WG_ICE_WIREGUARD_TIME_DIVISOR=$rekey_divisor in_ours "$daemon" "$ours" || fail "$daemon $ours exited $?"
pid=$(pgrep -f -x "$daemon --foreground $ours") || fail "no daemon process for $ours"
in_ours wg set "$ours" private-key <(echo "$key_ours") listen-port 51820 \
  peer "$pub_go" allowed-ips 10.202.0.2/32,fd20:2::2/128 endpoint 10.201.0.2:51821
ip -n "$ns_ours" addr add 10.202.0.1/24 dev "$ours"
ip -n "$ns_ours" link set "$ours" up
in_ours ping -c 1 -W 3 -q 10.202.0.2 >/dev/null || fail "no session for the rekey check"
rekey_check "$ns_ours" "$ours" 10.202.0.1 "$ns_go" "$go" 10.202.0.2 51821
ip -n "$ns_ours" link del "$ours"
wait_gone "$ours" "$pid"
echo "tests/wireguard-interop.sh: passed"
