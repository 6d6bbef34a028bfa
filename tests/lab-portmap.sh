#!/usr/bin/env bash
# The lab's port-mapping routers (scripts/lab --portmap) with stock clients, before any session relies on them.
# For upnp and natpmp in turn, in a symmetric lab: site a maps a UDP port (Debian's upnpc / natpmpc; PCP by a
# raw MAP request, there being no stock PCP client); `scripts/lab mappings a` lists it; a datagram from site b
# (behind its own symmetric NAT) and one from inet to ra's public address:port reach a socket in site a, whose
# reply comes back from that address:port; deleting the mapping (upnpc -d, natpmpc lifetime 0) removes it from
# the router and the port is closed again; the protocol the router does not serve is refused. Fails if
# miniupnpd is not running or its chains are not wired into the router's NAT and filter.
set -euo pipefail
cd "$(dirname "$0")/.."
test_name=tests/lab-portmap.sh
. tests/lib.sh
need_root
for tool in miniupnpd upnpc natpmpc python3; do command -v "$tool" >/dev/null || fail "$tool not installed (scripts/deps test)"; done

name="pm$$"
lab() { local c="$1"; shift; scripts/lab "$c" --name "$name" "$@"; }
trap 'lab down' EXIT
fail_hook() { lab status 2>&1 | tail -8; tail -5 "/run/wg-ice-lab/$name"/miniupnpd-ra.log 2>/dev/null; }
ok() { echo "  ok: $*"; }

router=11.0.0.2 host=192.168.1.2 gateway=192.168.1.1

# exchange FROM PORT: a datagram from node FROM (b or inet) to ra's public address:PORT; a socket on PORT in site a
# answers it. Prints what each side got: "RECEIVED-BY-A REPLY-SOURCE" ("- -" when nothing arrived: within 0.3 s; in namespaces a datagram takes well under 1 ms).
exchange() {
  local from="$1" port="$2" out pid token="hello-$1-$RANDOM"
  out=$(mktemp)
  lab exec a python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[1])))
print("ready", flush=True)
s.settimeout(0.6)
try:
    data, peer = s.recvfrom(100)
except socket.timeout:
    print("-", flush=True); sys.exit(0)
print(data.decode(), flush=True)
s.sendto(b"reply-" + data, peer)
' "$port" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.02; done
  local reply
  reply=$(lab exec "$from" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
try:
    data, peer = s.recvfrom(100)
    print("%s:%d" % peer if data == b"reply-" + sys.argv[3].encode() else "wrong-reply")
except socket.timeout:
    print("-")
' "$router" "$port" "$token")
  wait "$pid" || true
  local got; got=$(sed -n 2p "$out"); rm -f "$out"
  [ "$got" = "$token" ] && got=received
  echo "${got:--} $reply"
}

# pcp_map PORT LIFETIME: a PCP MAP request (RFC 6887) for UDP PORT from site a; prints the result code and the
# assigned external port, or "none" when no answer came. One nonce for the run: only the mapping's own nonce may
# delete it.
nonce=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
pcp_map() {
  lab exec a python3 -c '
import socket, struct, sys
port, lifetime = int(sys.argv[2]), int(sys.argv[3])
client = b"\0" * 10 + b"\xff\xff" + socket.inet_aton(sys.argv[1])
request = struct.pack("!BBHI16s", 2, 1, 0, lifetime, client) + bytes.fromhex(sys.argv[5]) + struct.pack("!B3xHH16s", 17, port, port, b"\0" * 10 + b"\xff\xff" + b"\0" * 4)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((sys.argv[4], 5351))
s.send(request)
try:
    answer = s.recv(1100)
except (socket.timeout, ConnectionRefusedError):
    print("none"); sys.exit(0)
print(answer[3], struct.unpack("!H", answer[42:44])[0])
' "$host" "$1" "$2" "$gateway" "$nonce"
}

mapped() { lab mappings a | grep -qx "udp $router:$1 $host:$1"; }

# reachable PORT: datagrams from b and from inet reach a's socket on PORT and the replies come from ra's address:PORT.
reachable() {
  local from result
  for from in b inet; do
    result=$(exchange "$from" "$1")
    [ "$result" = "received $router:$1" ] || fail "$from → $router:$1: expected 'received $router:$1', got '$result'"
  done
  ok "datagrams from b and inet reach a's socket on $1, replies come from $router:$1"
}
closed() {
  local result; result=$(exchange inet "$1")
  [ "$result" = "- -" ] || fail "$router:$1 should be closed, got '$result'"
  ok "$router:$1 closed"
}

start=$SECONDS
for method in upnp natpmp; do
  echo "== --portmap $method"
  lab up symmetric --portmap "$method" --no-wg >/dev/null
  # Nothing open before a mapping: the router drops what it has not been asked to forward.
  closed 40000
  if [ "$method" = upnp ]; then
    out=$(lab exec a upnpc -e wg-ice-lab -a "$host" 40000 40000 UDP 2>&1) || fail "upnpc -a failed: $out"
    mapped 40000 || fail "upnpc's mapping is not on the router: $(lab mappings a)"
    ok "upnpc -a: $(lab mappings a)"
    reachable 40000
    # The IGD upnpc found (its description's URL, skipping another 2 s discovery).
    igd=$(sed -n 's|^Found valid IGD : \(http://[^/]*\)/.*|\1/rootDesc.xml|p' <<<"$out")
    lab exec a upnpc -u "$igd" -d 40000 UDP >/dev/null 2>&1 || fail "upnpc -d failed"
    ! mapped 40000 || fail "upnpc -d: the mapping is still on the router"
    ok "upnpc -d: mapping gone"
    closed 40000
    # NAT-PMP and PCP are not served: refused (ICMP port unreachable), nothing mapped.
    if lab exec a timeout 5 natpmpc -g "$gateway" -a 40002 40002 udp 60 >/dev/null 2>&1; then fail "natpmpc was answered"; fi
    [ "$(pcp_map 40003 60)" = none ] || fail "a PCP MAP request was answered"
    [ -z "$(lab mappings a)" ] || fail "mappings after the refused requests: $(lab mappings a)"
    ok "NAT-PMP and PCP refused"
  else
    lab exec a natpmpc -g "$gateway" -a 40000 40000 udp 3600 >/dev/null 2>&1 || fail "natpmpc -a failed"
    mapped 40000 || fail "natpmpc's mapping is not on the router: $(lab mappings a)"
    ok "natpmpc -a: $(lab mappings a)"
    reachable 40000
    lab exec a natpmpc -g "$gateway" -a 40000 40000 udp 0 >/dev/null 2>&1 || fail "natpmpc lifetime 0 failed"
    ! mapped 40000 || fail "natpmpc lifetime 0: the mapping is still on the router"
    ok "natpmpc lifetime 0: mapping gone"
    closed 40000
    result=$(pcp_map 40001 120)
    [ "$result" = "0 40001" ] || fail "PCP MAP: expected result 0 for port 40001, got '$result'"
    mapped 40001 || fail "the PCP mapping is not on the router: $(lab mappings a)"
    reachable 40001
    result=$(pcp_map 40001 0)
    [ "${result%% *}" = 0 ] && ! mapped 40001 || fail "PCP MAP lifetime 0: '$result', mappings: $(lab mappings a)"
    ok "PCP MAP and its deletion"
    # UPnP is not served: no IGD answers the discovery (which takes 2 s when one does; without an answer upnpc
    # goes on with other searches for 8 s).
    if lab exec a timeout 4 upnpc -e wg-ice-lab -a "$host" 40002 40002 UDP >/dev/null 2>&1; then fail "upnpc found an IGD"; fi
    [ -z "$(lab mappings a)" ] || fail "mappings after the refused request: $(lab mappings a)"
    ok "UPnP refused"
  fi
  lab down
done
echo "tests/lab-portmap.sh: passed in $((SECONDS - start)) s"
