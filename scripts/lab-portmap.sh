# Sourced by scripts/lab: home routers that map ports (`scripts/lab up SCENARIO --portmap upnp|natpmp|all`).
# ra and rb run Debian's miniupnpd (the nftables build, miniupnpd-nftables) on their LAN side, lan0, with wan0
# as the external interface: upnp = UPnP IGD only, natpmp = NAT-PMP and PCP only (miniupnpd's enable_natpmp
# serves both), all = both.
#
# Addresses: miniupnpd 2.3.1 refuses to map when its WAN address is in a reserved range ("Port forwarding is
# impossible"; ext_ip= with such an address makes it exit, and it has no option to allow one), and the lab's
# internet is 203.0.113.0/24 (documentation). So with --portmap only, ra and rb move to a public range on the
# same bridge, inet answering there too (it still serves on 203.0.113.1 and routes to it); every other lab and
# test keeps its addresses. The lab has no route out of its namespaces: these addresses reach no one.
#
# Wiring (per router, table inet miniupnpd; names given to miniupnpd in its config): miniupnpd adds a DNAT
# rule per mapping to chain prerouting_miniupnpd (jumped from a nat prerouting base chain) and an accept rule to
# chain miniupnpd (jumped from the filter forward base chain). The router's "no new connection from the
# outside" drop for forwarded packets moves from the lab's table into that forward chain, after the jump: a
# mapped packet passes only if miniupnpd's own accept rule lets it. Its postrouting chain (jumped just before the
# lab's masquerade) holds what miniupnpd puts there (PCP PEER); a mapping's outbound packets still go through
# the lab's masquerade, fully random in the symmetric scenario: replies to a mapped port follow conntrack.

portmap_net=11.0.0
portmap_inet_ip=$portmap_net.1

# portmap_check METHOD SCENARIO BLACKHOLE: dies unless the lab can have port-mapping routers.
portmap_check() {
  case "$1" in upnp|natpmp|all) ;; *) die "--portmap must be upnp, natpmp or all" ;; esac
  case "$2" in
    cone|cone-symmetric|symmetric|udp-blocked|tls-only) ;;
    # lan has no NAT between the sites; bare has no firewall to open; relay-direct's and --mtu-blackhole's
    # rules name the routers' usual addresses.
    *) die "--portmap needs a scenario with a firewalled NAT router per site (cone, cone-symmetric, symmetric, udp-blocked, tls-only)" ;;
  esac
  [ "$3" = 0 ] || die "--portmap and --mtu-blackhole do not go together"
  command -v miniupnpd >/dev/null || die "miniupnpd not installed (scripts/deps test)"
}

# portmap_refuse WHAT: the commands whose rules name the routers' usual 203.0.113.x addresses.
portmap_refuse() {
  [ ! -f "$dir/portmap" ] || die "$1 does not work in a lab with --portmap (the routers have $portmap_net.x addresses)"
}

# portmap_up METHOD: after the routers and their LANs exist.
portmap_up() {
  echo "$1" >"$dir/portmap"
  in_ns inet ip addr add "$portmap_inet_ip/24" dev br0
  portmap_router ra 1 192.168.1 "$1"
  portmap_router rb 2 192.168.2 "$1"
}

portmap_router() {
  local r="$1" index="$2" lan="$3" method="$4" upnp=yes natpmp=yes
  [ "$method" = upnp ] && natpmp=no
  [ "$method" = natpmp ] && upnp=no
  in_ns "$r" ip -4 addr flush dev wan0
  in_ns "$r" ip addr add "$portmap_net.$((index + 1))/24" dev wan0
  in_ns "$r" ip route replace default via "$portmap_inet_ip"
  in_ns "$r" nft delete chain ip nat forward
  nft_in "$r" <<'EOF'
table inet miniupnpd {
    chain forward {
        type filter hook forward priority filter; policy accept;
        iifname "wan0" ct state new jump miniupnpd
        iifname "wan0" ct state new drop
    }
    chain miniupnpd {
    }
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        jump prerouting_miniupnpd
    }
    chain prerouting_miniupnpd {
    }
    chain postrouting {
        type nat hook postrouting priority srcnat - 1; policy accept;
        jump postrouting_miniupnpd
    }
    chain postrouting_miniupnpd {
    }
}
EOF
  local conf="$dir/miniupnpd-$r.conf"
  cat >"$conf" <<EOF
ext_ifname=wan0
listening_ip=lan0
ipv6_disable=yes
enable_upnp=$upnp
enable_natpmp=$natpmp
secure_mode=yes
uuid=$(cat /proc/sys/kernel/random/uuid)
lease_file=$dir/miniupnpd-$r.leases
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 $lan.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
  # -d: in the foreground (its pid is $!, ip netns exec execs it) and logging to its log file. Its own pidfile
  # (-P) is another file: it exits if the one it is given names a live process.
  ip netns exec "$(ns "$r")" miniupnpd -f "$conf" -d -P "$dir/miniupnpd-$r.self.pid" </dev/null >"$dir/miniupnpd-$r.log" 2>&1 &
  echo $! >"$dir/miniupnpd-$r.pid"
  disown
  # Ready once it listens for what it serves: UPnP's SSDP port (its HTTP port is random), NAT-PMP/PCP's port.
  local want=() sockets
  [ "$upnp" = yes ] && want+=(":1900")
  [ "$natpmp" = yes ] && want+=(":5351")
  for _ in $(seq 200); do
    alive "$(cat "$dir/miniupnpd-$r.pid")" || break
    sockets="$(in_ns "$r" ss -Hlnup)"
    local missing=0 w
    for w in "${want[@]}"; do [[ "$sockets" == *"$w "*miniupnpd* ]] || missing=1; done
    [ "$missing" = 0 ] && return 0
    sleep 0.05
  done
  die "miniupnpd did not start on $r: $(tail -3 "$dir/miniupnpd-$r.log" 2>/dev/null)"
}

portmap_down() {
  local r
  for r in ra rb; do stop_pidfile "$dir/miniupnpd-$r.pid"; done
}

# The mappings miniupnpd has wired on ROUTER, one a line: PROTOCOL EXTERNAL-ADDRESS:PORT INTERNAL-ADDRESS:PORT
# (from its DNAT chain, so what is in effect, not what it remembers).
portmap_mappings() {
  local r="$1" external
  external="$(in_ns "$r" ip -4 -o addr show dev wan0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }')"
  in_ns "$r" nft list chain inet miniupnpd prerouting_miniupnpd 2>/dev/null |
    awk -v ext="$external" '/ dnat / {
      proto = "?"; port = "?"; to = "?"
      for (i = 1; i < NF; i++) {
        if ($i == "@nh,72,8") proto = ($(i + 1) == "0x11" ? "udp" : ($(i + 1) == "0x6" ? "tcp" : $(i + 1)))
        if ($i == "dport") port = $(i + 1)
        if ($i == "to") to = $(i + 1)
      }
      print proto, ext ":" port, to
    }'
}

portmap_status() {
  [ -f "$dir/portmap" ] || return 0
  local r pid
  for r in ra rb; do
    pid="$(cat "$dir/miniupnpd-$r.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && alive "$pid"; then echo "== miniupnpd on $r ($(cat "$dir/portmap")): running (pid $pid)"
    else echo "== miniupnpd on $r ($(cat "$dir/portmap")): not running"; fi
    portmap_mappings "$r" | sed 's/^/   /'
  done
}

# scripts/lab mappings SITE [--name PREFIX]: the mappings on the router of site a or b (or ra, rb).
cmd_mappings() {
  parse_name "$@"
  set -- "${rest[@]}"
  [ -d "$dir" ] || die "no lab '$name'"
  [ -f "$dir/portmap" ] || die "lab '$name' has no port-mapping routers (up ... --portmap)"
  case "${1:-}" in a|ra) portmap_mappings ra ;; b|rb) portmap_mappings rb ;; *) usage ;; esac
}
