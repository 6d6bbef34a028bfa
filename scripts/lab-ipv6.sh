# Sourced by scripts/lab: `up SCENARIO --ipv6`, global IPv6 on both sites next to their unchanged IPv4.
#
#   a: lan0 2001:db8:a::2 ── ra: lan0 2001:db8:a::1 | wan0 2001:db8:ff::2 ──┐
#                                                                      br0 2001:db8:ff::1 (inet routes both /64s)
#   b: lan0 2001:db8:b::2 ── rb: lan0 2001:db8:b::1 | wan0 2001:db8:ff::3 ──┘
#
# No NAT66: the hosts' addresses are their public ones. ra and rb are stateful home-router firewalls for IPv6
# (RFC 6092's default): they forward what the LAN sends and its replies (conntrack established/related) and drop
# every new flow from the outside, so a site's first check toward the other is dropped by the other's router
# until that side has sent toward it itself. inet routes between the two routers (a hop, as on the internet).
# inet delays every IPv6 packet it routes by 20 ms (ipv6_delay) and loses the first two datagrams of each IPv6 UDP
# flow (ipv6_first_datagrams_lost). coturn and wg-ice-signal stay IPv4-only: relay candidates are IPv4. Addresses
# are added without DAD (`nodad`, and `accept_dad` 0 for the link-local ones), so none is tentative when libnice
# gathers. scripts/lab's `down` removes it all with the namespaces.

ipv6_inet=2001:db8:ff::1

# ipv6_node NODE: DAD off on every interface of the node (the link-local addresses were made at link up).
ipv6_node() {
  local i
  in_ns "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  for i in $(in_ns "$1" ls /sys/class/net); do
    in_ns "$1" sysctl -qw "net.ipv6.conf.$i.accept_dad=0" "net.ipv6.conf.$i.disable_ipv6=0" 2>/dev/null || true
  done
}

# ipv6_router ra|rb INDEX SITE-PREFIX: public address on wan0, the site's /64 on lan0, the firewall.
ipv6_router() {
  local r="$1" index="$2" prefix="$3"
  in_ns "$r" ip -6 addr add "2001:db8:ff::$((index + 1))/64" dev wan0 nodad
  in_ns "$r" ip -6 addr add "$prefix::1/64" dev lan0 nodad
  in_ns "$r" ip -6 route add default via "$ipv6_inet"
  in_ns "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
  in_ns inet ip -6 route add "$prefix::/64" via "2001:db8:ff::$((index + 1))"
  nft_in "$r" <<'EOF'
table ip6 labv6firewall {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ct state established,related accept
        iifname "lan0" accept
        iifname "wan0" counter drop
    }
}
EOF
}

ipv6_host() {
  local site="$1" prefix="$2"
  in_ns "$site" ip -6 addr add "$prefix::2/64" dev lan0 nodad
  in_ns "$site" ip -6 route add default via "$prefix::1"
}

# No address left tentative (DAD off, but a link-local made before that may still be): libnice must see them all.
ipv6_settled() {
  local node tentative
  for _ in $(seq 60); do
    tentative=""
    for node in inet ra rb a b; do tentative+="$(in_ns "$node" ip -6 addr show tentative)"; done
    [ -z "$tentative" ] && return 0
    sleep 0.05
  done
  die "IPv6 addresses still tentative after 3 s"
}

# The internet's delay for IPv6, 20 ms each way between the sites (LAB_IPV6_DELAY_MS), so that a check and its
# answer take a round trip and the two sites' first checks on a pair can cross. This kernel may lack netem, so inet
# routes what comes from br0 into a tun device whose reader (python3, in inet's namespace, where `down` ends it)
# writes each packet back later; it then leaves through the main table. IPv4 is not delayed.
ipv6_delay() {
  in_ns inet ip tuntap add dev dly0 mode tun
  in_ns inet sysctl -qw net.ipv6.conf.dly0.accept_dad=0
  in_ns inet ip link set dly0 up
  in_ns inet ip -6 rule add iif br0 lookup 100
  in_ns inet ip -6 route add default dev dly0 table 100
  ip netns exec "$(ns inet)" python3 -c '
import fcntl, heapq, os, select, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
delay = int(sys.argv[1]) / 1000
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"dly0", 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN | IFF_NO_PI
print("ready", flush=True)
queue, n = [], 0
while True:
    wait = max(0.0, queue[0][0] - time.monotonic()) if queue else None
    if select.select([fd], [], [], wait)[0]:
        heapq.heappush(queue, (time.monotonic() + delay, n, os.read(fd, 65536)))
        n += 1
    while queue and queue[0][0] <= time.monotonic():
        os.write(fd, heapq.heappop(queue)[2])
' "${LAB_IPV6_DELAY_MS:-20}" </dev/null >"$dir/ipv6-delay.out" 2>&1 &
  disown
  for _ in $(seq 100); do grep -q ready "$dir/ipv6-delay.out" 2>/dev/null && return 0; sleep 0.02; done
  die "--ipv6: the delay on inet did not start; see $dir/ipv6-delay.out"
}

# inet loses the first two datagrams of each IPv6 UDP flow (per direction and address/port 4-tuple; LAB_IPV6_LOST:
# 0, 1 or 2, default 2): each site's first check on an IPv6 pair, and its first retransmission, are lost whatever
# the timing, so the IPv6 host pair validates only on libnice's second retransmission, ~1.5 s after its first
# check, while the relay pairs validate at once. That is the field's order (the relay valid first, the IPv6 pair
# a second or so later, behind two stateful firewalls), made certain. What follows on a flow passes; the
# firewalls on ra and rb still decide the rest.
ipv6_first_datagrams_lost() {
  local flow='ip6 saddr . ip6 daddr . udp sport . udp dport' rules
  # A flow in `seen` passes; one in `once` lost one datagram already.
  case "${LAB_IPV6_LOST:-2}" in
    0) return 0 ;;
    1) rules="meta l4proto udp $flow @once accept
        meta l4proto udp add @once { $flow } counter drop" ;;
    2) rules="meta l4proto udp $flow @seen accept
        meta l4proto udp $flow @once add @seen { $flow } counter drop
        meta l4proto udp add @once { $flow } counter drop" ;;
    *) die "LAB_IPV6_LOST must be 0, 1 or 2" ;;
  esac
  nft_in inet <<EOF
table ip6 labv6lost {
    set once {
        type ipv6_addr . ipv6_addr . inet_service . inet_service
        flags dynamic, timeout
        timeout 5m
    }
    set seen {
        type ipv6_addr . ipv6_addr . inet_service . inet_service
        flags dynamic, timeout
        timeout 5m
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        $rules
    }
}
EOF
}

# Called by `up` once the IPv4 topology exists (any scenario with a router per site).
ipv6_up() {
  local node
  for node in inet ra rb a b; do ipv6_node "$node"; done
  in_ns inet ip -6 addr add "$ipv6_inet/64" dev br0 nodad
  in_ns inet sysctl -qw net.ipv6.conf.all.forwarding=1
  ipv6_router ra 1 2001:db8:a
  ipv6_router rb 2 2001:db8:b
  ipv6_host a 2001:db8:a
  ipv6_host b 2001:db8:b
  ipv6_delay
  ipv6_first_datagrams_lost
  ipv6_settled
  # Both sites reach each other's routers' public addresses (the path is there; the firewalls decide).
  in_ns a ping -6 -c 1 -W 2 2001:db8:ff::3 >/dev/null || die "--ipv6: site a cannot reach rb over IPv6"
  touch "$dir/ipv6"
}
