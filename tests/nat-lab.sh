#!/usr/bin/env bash
# End-to-end NAT lab (scripts/lab): every scenario with WebSocket and with gRPC signaling, real wg-ice-signal,
# coturn, nftables NAT routers, wireguard-go (WG_ICE_USERSPACE=wg-ice-wireguard: the project's own, see
# scripts/lab) and stock wg-quick. Per case: a ping through the tunnel within a
# deadline, the pair and data path `wg-ice-hook status --json` reports, the scenario's own event, and that
# `wg-ice-hook down` / `wg-quick down` leave no nftables table, socket, pidfile or session process behind.
# Deadlines are functional timeouts, not performance assertions. Exits non-zero if any case fails.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests/nat-lab.sh: run as root" >&2; exit 1; }
swift build --product wg-ice-hook >/dev/null && swift build --product wg-ice-signal >/dev/null || exit 1
if [ "${WG_ICE_USERSPACE:-}" = wg-ice-wireguard ]; then swift build --product wg-ice-wireguard >/dev/null || exit 1; fi
userspace="${WG_ICE_USERSPACE:-wireguard-go}"

name="${NATLAB_NAME:-nl$$}"  # NATLAB_NAME: a lab name of your own (development, several labs on one machine)
lab() { local c="$1"; shift; scripts/lab "$c" --name "$name" "$@"; }
case_failed=0
fail() { echo "    FAIL: $*"; case_failed=1; }
check() { local what="$1"; shift; if "$@"; then echo "    ok: $what"; else fail "$what"; fi; }

status() { lab exec "$1" sh -c 'wg-ice-hook status "$IFACE" --json' 2>/dev/null; }
# peer SITE JQ-FILTER: a field of the site's only peer, e.g. `peer a .selectedPair.localType`.
peer() { status "$1" | jq -r ".peers[0]$2 // empty" 2>/dev/null; }
iface() { echo "$name$1"; }

# Seconds until a ping through the tunnel from SITE is answered, or failure after DEADLINE seconds.
wait_ping() {
  local site="$1" deadline="$2" start=$SECONDS
  while [ $((SECONDS - start)) -lt "$deadline" ]; do
    if lab exec "$site" sh -c 'ping -c 1 -W 1 "$PEER"' >/dev/null 2>&1; then
      echo "    ping through the tunnel after $((SECONDS - start)) s"
      return 0
    fi
    sleep 0.2
  done
  return 1
}

wait_for() {  # wait_for DEADLINE COMMAND...: until COMMAND succeeds
  local deadline="$1" start=$SECONDS; shift
  while [ $((SECONDS - start)) -lt "$deadline" ]; do "$@" && return 0; sleep 0.5; done
  return 1
}

is_relayed() { [ "$(peer "$1" .selectedPair.localType)" = relay ] || [ "$(peer "$1" .selectedPair.remoteType)" = relay ]; }
is_direct() {
  local l r
  l="$(peer "$1" .selectedPair.localType)"; r="$(peer "$1" .selectedPair.remoteType)"
  [ -n "$l" ] && [ "$l" != relay ] && [ "$r" != relay ] && [ "$(peer "$1" .selectedPair.transport)" = udp ]
}
data_path() { [ "$(peer "$1" .dataPath)" = "$2" ]; }
# Kernel redirection: WireGuard talks to the remote candidate itself, in this session's nftables table.
kernel_path() {
  data_path "$1" kernel-redirect && [ "$(peer "$1" .endpoint)" = "$(peer "$1" .selectedPair.remote)" ] &&
    lab exec "$1" nft list tables | grep -q "wg-ice-$(iface "$1")"
}
# The proxy: WireGuard talks to a loopback socket of the session.
proxy_path() { data_path "$1" userspace-proxy && [[ "$(peer "$1" .endpoint)" == 127.0.0.1:* ]]; }
pair_types_in() {  # pair_types_in SITE TYPES...: both candidate types are among TYPES
  local l r; l="$(peer "$1" .selectedPair.localType)"; r="$(peer "$1" .selectedPair.remoteType)"; shift
  [[ " $* " == *" $l "* ]] && [[ " $* " == *" $r "* ]]
}
handshake() { [ -n "$(peer "$1" .lastHandshake)" ]; }
describe() { echo "    site $1: $(status "$1" | jq -c '.peers[0] | {iceState, selectedPair, dataPath, endpoint, restarts}' 2>/dev/null)"; }

session_pid() { cat "/run/wg-ice/$(iface "$1").pid" 2>/dev/null; }
alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && ! grep -q ') Z' "/proc/$1/stat"; }
# Nothing of the session left: no nftables table in the site, no control socket, pidfile or process, and no
# UDP socket of a wg-ice-hook process in the site's namespace.
nothing_left() {
  local site="$1" pid="$2" i; i="$(iface "$1")"
  ! alive "$pid" && [ ! -e "/run/wg-ice/$i.sock" ] && [ ! -e "/run/wg-ice/$i.pid" ] &&
    [ -z "$(lab exec "$site" nft list tables)" ] &&
    ! lab exec "$site" ss -Hunap | grep -q wg-ice-hook &&
    ! pgrep -f "wg-ice-hook up $i " >/dev/null
}

# The site's interface is served by the chosen userspace WireGuard (the process in its namespace).
runs_userspace() {
  local pid exes=""
  for pid in $(ip netns pids "$name-$1"); do exes+="$(readlink "/proc/$pid/exe") "; done
  [[ " $exes" == *"/$(basename "$userspace") "* ]]
}

teardown_check() {
  local pa pb
  pa="$(session_pid a)"; pb="$(session_pid b)"
  for s in a b; do check "site $s: WireGuard is $userspace" runs_userspace "$s"; done
  check "site a: wg-ice-hook down exits 0" lab exec a sh -c 'wg-ice-hook down "$IFACE"'
  check "site a: nothing left after wg-ice-hook down" nothing_left a "$pa"
  check "site b: wg-quick down (PreDown = wg-ice-hook down) exits 0" lab exec b sh -c 'wg-quick down "$CONF" 2>/dev/null'
  check "site b: nothing left after wg-quick down" nothing_left b "$pb"
}

# A 10/s ping from SITE running in the background: ping_start SITE [-D]; ... ping_stop prints "SENT RECEIVED GAP FIRST"
# (GAP: the longest run of unanswered pings after the first reply, in pings; FIRST: icmp_seq of the first reply).
ping_start() {
  ping_log="$(mktemp)"; ping_pidfile="$(mktemp)"
  lab exec "$1" sh -c 'echo $$ >'"$ping_pidfile"'; exec ping '"${2:-}"' -n -i 0.1 -W 1 "$PEER"' >"$ping_log" 2>&1 &
  ping_job=$!
  sleep 0.2
}
ping_stop() {
  local pid; pid="$(cat "$ping_pidfile")"
  kill -INT "$pid" 2>/dev/null
  # Called as $(ping_stop), a subshell, where `wait` returns at once: wait for ping's summary by its pid.
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  wait "$ping_job" 2>/dev/null
  local sent
  sent="$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$ping_log")"
  sed -n 's/.*bytes from.*icmp_seq=\([0-9]*\) .*/\1/p' "$ping_log" | sort -n | uniq |
    awk -v sent="${sent:-0}" 'NR == 1 { first = $1; prev = $1 } { if ($1 - prev - 1 > gap) gap = $1 - prev - 1; prev = $1; n++ }
      END { if (n == 0) { first = -1; gap = sent } else if (sent - prev - 1 > gap) gap = sent - prev - 1; print sent, n + 0, gap + 0, first }'
  rm -f "$ping_log" "$ping_pidfile"
}

# --- scenarios: each runs in a lab that `run_case` brought up --------------------------------------------

case_lan() {
  check "ping within 30 s" wait_ping a 30
  for s in a b; do
    check "site $s: host/host pair" pair_types_in "$s" host
    check "site $s: kernel redirect" kernel_path "$s"
    check "site $s: handshake" handshake "$s"
  done
}

case_cone() {
  check "ping within 30 s" wait_ping a 30
  for s in a b; do
    check "site $s: direct srflx/prflx pair" pair_types_in "$s" srflx prflx
    check "site $s: kernel redirect" kernel_path "$s"
    check "site $s: handshake" handshake "$s"
  done
}

case_relayed() {  # cone-symmetric and symmetric: no direct pair exists
  check "ping within 30 s" wait_ping a 30
  for s in a b; do
    check "site $s: relayed pair" is_relayed "$s"
    check "site $s: relay is coturn" eval '[[ "$(peer '"$s"' .selectedPair.local)$(peer '"$s"' .selectedPair.remote)" == *203.0.113.1:* ]]'
    check "site $s: userspace proxy" proxy_path "$s"
  done
}

case_udp_blocked() {
  check "ping within 30 s" wait_ping a 30
  check "site a: local relay candidate" eval '[ "$(peer a .selectedPair.localType)" = relay ]'
  check "site a: userspace proxy" proxy_path a
  check "site a: TURN over TCP to coturn" eval '[ -n "$(lab exec a ss -Htn state established dst 203.0.113.1:3478)" ]'
  check "site b: pair with a's relay" eval '[ "$(peer b .selectedPair.remoteType)" = relay ]'
}

case_rebind() {
  check "ping within 30 s" wait_ping a 30
  check "site a: direct pair before" is_direct a
  lab rebind a | sed 's/^/    /'
  check "ping again within 60 s after the NAT mapping changed" wait_ping a 60
  check "site a: direct pair from the new public address" eval '[[ "$(peer a .selectedPair.local)" == 203.0.113.102:* ]]'
  check "site a: kernel redirect" kernel_path a
  check "a restart was counted" eval '[ $(( $(peer a .restarts) + $(peer b .restarts) )) -ge 1 ]'
}

signaling_is() { [ "$(status "$1" | jq -r '.signaling | to_entries[0].value')" = "$2" ]; }

case_signal_restart() {
  check "ping within 30 s" wait_ping a 30
  local log; log="$(mktemp)"
  lab exec a sh -c 'exec ping -c 80 -i 0.1 -W 1 "$PEER"' >"$log" 2>&1 &
  local ping=$!
  sleep 1
  lab stop-signal >/dev/null
  check "site a: signaling disconnected during the outage" wait_for 10 signaling_is a false
  sleep 2
  lab start-signal | sed 's/^/    /'
  wait "$ping"
  local lost; lost="$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$log")"
  echo "    ping across the outage: $(grep 'packets transmitted' "$log")"
  check "ping through the tunnel kept working (≤ 1 of 80 lost)" eval '[ -n "$lost" ] && [ "$lost" -ge 79 ]'
  rm -f "$log"
  check "both sites reconnect within 30 s" wait_for 30 eval 'signaling_is a true && signaling_is b true'
  # The restarted server carries a new ICE exchange: a's session starts over and the tunnel comes back.
  lab exec a sh -c 'wg-ice-hook down "$IFACE" && wg-ice-hook up "$IFACE" --config "$CONF"' >/dev/null
  check "new session through the restarted server: ping within 30 s" wait_ping a 30
}

case_relay_direct() {
  check "ping within 30 s" wait_ping a 30
  check "site a: relayed pair while direct UDP is blocked" is_relayed a
  check "site a: userspace proxy" proxy_path a
  local log pidfile; log="$(mktemp)"; pidfile="$(mktemp)"
  lab exec a sh -c 'echo $$ >'"$pidfile"'; exec ping -i 0.1 -W 1 -w 90 "$PEER"' >"$log" 2>&1 &
  local ping=$!
  sleep 1
  lab unblock-direct
  local start=$SECONDS
  if wait_for 60 eval 'is_direct a && is_direct b'; then
    echo "    direct pair $((SECONDS - start)) s after unblocking"
    check "site a: kernel redirect after the switch" kernel_path a
    check "site b: kernel redirect after the switch" kernel_path b
  else
    fail "no switch to a direct pair within 60 s"
  fi
  sleep 2
  kill -INT "$(cat "$pidfile")" 2>/dev/null
  wait "$ping"
  local sent got
  sent="$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$log")"
  got="$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$log")"
  echo "    10/s ping across the switch: $(grep 'packets transmitted' "$log")"
  check "at most 1 ping lost across the switch" eval '[ -n "$got" ] && [ $((sent - got)) -le 1 ]'
  rm -f "$log" "$pidfile"
}

# Traffic waiting before the path exists (a service or monitor sending right after boot): each site pings the
# other from the moment its own interface is up, so WireGuard tries its first handshake before ICE gave it an
# endpoint and may not try again for REKEY_TIMEOUT (5 s). Measured from the second `wg-quick up` returning
# (when the path can first exist) to the first reply at each site; it must come well before that retry.
case_traffic_first() {
  local expect="$1" t0 first_a first_b sent got gap first
  lab exec a sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site a: wg-quick up"
  ping_start a -D
  lab exec b sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site b: wg-quick up"
  t0="$(date +%s.%N)"
  local b_log b_pid; b_log="$(mktemp)"; b_pid="$(mktemp)"
  lab exec b sh -c 'echo $$ >'"$b_pid"'; exec ping -D -n -i 0.1 -W 1 "$PEER"' >"$b_log" 2>&1 &
  local b_job=$!
  sleep 8
  first_a="$(first_reply_after "$t0" "$ping_log")"
  read -r sent got gap first <<<"$(ping_stop)"
  kill -INT "$(cat "$b_pid")" 2>/dev/null; wait "$b_job" 2>/dev/null
  first_b="$(first_reply_after "$t0" "$b_log")"
  rm -f "$b_log" "$b_pid"
  echo "    first reply ${first_a:-never} s (a), ${first_b:-never} s (b) after both interfaces were up; a: $got of $sent answered"
  check "site a: first reply within 3 s (WireGuard's own retry comes after 5 s)" eval '[ -n "$first_a" ] && awk "BEGIN { exit !($first_a < 3) }"'
  check "site b: first reply within 3 s" eval '[ -n "$first_b" ] && awk "BEGIN { exit !($first_b < 3) }"'
  check "site a: no ping lost after the first reply" eval '[ "$gap" -le 1 ]'
  for s in a b; do check "site $s: $expect pair" "$( [ "$expect" = direct ] && echo is_direct || echo is_relayed )" "$s"; done
}
# first_reply_after T0 LOG: seconds from T0 to the first reply in a `ping -D` log, or nothing.
first_reply_after() {
  sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$2" | head -1 | awk -v t0="$1" '{ printf "%.1f", $1 - t0 }'
}
case_traffic_first_direct() { case_traffic_first direct; }
case_traffic_first_relayed() { case_traffic_first relayed; }

# The controlling side restarts ICE every 20-30 s while a relayed pair is in use, looking for a direct one; the
# restart may select another relayed pair on the same agent. Traffic must keep flowing through every such change.
case_relay_reselect() {
  check "ping within 30 s" wait_ping a 30
  local before; before="$(peer a .selectedPair.local) → $(peer a .selectedPair.remote)"
  ping_start a
  local start=$SECONDS
  wait_for 45 eval '[ $(( $(peer a .restarts) + $(peer b .restarts) )) -ge 1 ]' ||
    fail "no relay → direct retry within 45 s"
  echo "    retry after $((SECONDS - start)) s: site a $(peer a .selectedPair.localType)/$(peer a .selectedPair.remoteType), site b $(peer b .selectedPair.localType)/$(peer b .selectedPair.remoteType)"
  sleep 10
  echo "    site a's pair before the retry: $before, after: $(peer a .selectedPair.local) → $(peer a .selectedPair.remote)"
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping across the retry: $got of $sent answered, longest gap $gap pings"
  check "at most 2 pings lost across the retry, no gap over 1 s" eval '[ $((sent - got)) -le 2 ] && [ "$gap" -le 10 ]'
  for s in a b; do
    check "site $s: still relayed through the userspace proxy" eval "is_relayed $s && proxy_path $s"
  done
}

# The STUN/TURN host is a name that does not resolve for the first 10 s (as at boot, before DNS is up): the
# sessions' agents cannot be created, status says why, and the tunnel comes up once the name resolves.
# `ip netns exec` bind-mounts /etc/netns/NS/* over /etc/*: an empty hosts file and a resolv.conf without
# servers (lookups fail at once), then the name is appended to that same file (same inode, so the sessions
# started in its mount namespace see it). The lab is up without WireGuard (--no-wg) so the files come first.
case_dns_late() {
  local s host=turn.wg-ice-lab.test
  for s in a b; do
    mkdir -p "/etc/netns/$name-$s"
    : >"/etc/netns/$name-$s/hosts"
    echo "options timeout:1 attempts:1" >"/etc/netns/$name-$s/resolv.conf"
    sed -i "s/^#URLs = .*/#URLs = stun:$host:3478, turn:$host:3478, turn:$host:3478?transport=tcp/" \
      "/run/wg-ice-lab/$name/$(iface "$s").conf"
  done
  for s in a b; do lab exec "$s" sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site $s: wg-quick up"; done
  ping_start a -D
  local start=$SECONDS
  check "site a: status shows the peer failing to start, with the reason" \
    wait_for 8 eval '[ "$(peer a .iceState)" = failed-to-start ] && [[ "$(peer a .error)" == *"$host"* ]]'
  echo "    site a during the outage: $(status a | jq -c '.peers[0] | {iceState, error}')"
  check "site b: status shows the peer failing to start" wait_for 5 eval '[ "$(peer b .iceState)" = failed-to-start ]'
  [ $((SECONDS - start)) -lt 10 ] && sleep $((10 - (SECONDS - start)))
  local resolved; resolved="$(date +%s.%N)"
  for s in a b; do echo "203.0.113.1 $host" >>"/etc/netns/$name-$s/hosts"; done
  check "ping through the tunnel within 40 s of the name resolving" \
    wait_for 40 eval '[ -n "$(first_reply_after "$resolved" "$ping_log")" ]'
  sleep 3
  local after; after="$(first_reply_after "$resolved" "$ping_log")"
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    first reply ${after:-never} s after the name resolved (retries back off 1 s doubling to 32 s); after it, longest gap $gap pings"
  check "no gap over 1 s once the tunnel is up" eval '[ "$first" -ge 0 ] && [ "$gap" -le 10 ]'
  check "site a: no error once started" eval '[ -z "$(peer a .error)" ] && [ "$(peer a .iceState)" != failed-to-start ]'
  for s in a b; do rm -rf "/etc/netns/$name-$s"; done
  rmdir /etc/netns 2>/dev/null
}

# Site a moves to a new LAN address mid-session (as after a DHCP change), with a 10/s ping running. First the
# new address appears while the old one still works: the session gathers again within ~1 s (its restart
# count, from status) and, since the old agent keeps its path until the new one has its own, no ping is lost.
# Then the default route switches to the new address and the old one is removed: a new gathering again
# within ~1 s, and the tunnel comes back (the gap is reported).
case_address_change() {
  check "ping within 30 s" wait_ping a 30
  check "site a: direct pair before" is_direct a
  lab exec a sysctl -qw net.ipv4.conf.lan0.promote_secondaries=1
  ping_start a
  sleep 2
  regathered_after "new address added" lab exec a ip addr add 192.168.1.12/24 dev lan0
  sleep 4
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping across the new address: $got of $sent answered"
  check "no ping lost while the old path still works (make-before-break)" eval '[ "$first" -ge 0 ] && [ $((sent - got)) -le 1 ]'

  ping_start a
  sleep 2
  regathered_after "old address removed" eval 'lab exec a ip route replace default via 192.168.1.1 src 192.168.1.12 &&
    lab exec a ip addr del 192.168.1.2/24 dev lan0'
  check "ping through the tunnel again within 30 s" wait_ping a 30
  # Several messages of the change may fall into separate debounce windows: the agent gathered in between
  # also has a socket on the old address until the last one has its path.
  local sockets="lab exec a ss -Hunap | grep -F pid=$(session_pid a),"
  check "site a: the session's sockets are on the new address only, within 10 s" wait_for 10 eval \
    "$sockets | grep -qF 192.168.1.12: && ! $sockets | grep -qF 192.168.1.2:"
  sleep 3
  read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping across the removal: $got of $sent answered, longest gap $gap pings"
  check "the tunnel came back within 5 s of the change (gap ≤ 50 pings)" eval '[ "$first" -ge 0 ] && [ "$gap" -le 50 ]'
  check "site a: kernel redirect" kernel_path a
}
# regathered_after WHAT COMMAND...: runs COMMAND in site a and checks that a's restart count grows within 1.5 s.
regathered_after() {
  local what="$1" before changed seen=""; shift
  before="$(peer a .restarts)"
  changed="$(date +%s.%N)"
  "$@"
  for _ in $(seq 30); do
    if [ "$(peer a .restarts)" -gt "$before" ] 2>/dev/null; then seen="$(date +%s.%N)"; break; fi
    sleep 0.1
  done
  if [ -n "$seen" ]; then
    echo "    $what: site a gathered again $(echo "$seen - $changed" | bc) s after the change (status polled every 0.1 s)"
    check "$what: new gathering within 1.5 s" eval '[ "$(echo "$seen - $changed <= 1.5" | bc)" = 1 ]'
  else
    fail "$what: no new gathering within 3 s"
  fi
}

# PAC (RFC 8863): a new ICE exchange in which b's messages reach a at once and a's reach b 30 s late. a gets
# b's candidates, and its checks fail (b's NAT has no mapping towards a yet): libnice gives up after ~7 s. a must
# not renew its agent (each renewal restarts the exchange, whose answers are again 30 s away) but keep waiting,
# so that b's checks, once it has a's candidates, find the pair.
case_signal_delayed() {
  check "ping within 30 s" wait_ping a 30
  local log pidfile; log="$(mktemp)"; pidfile="$(mktemp)"
  lab exec a sh -c 'echo $$ >'"$pidfile"'; exec ping -i 0.1 -W 1 -w 90 "$PEER"' >"$log" 2>&1 &
  local ping=$! started=$SECONDS
  sleep 1
  lab hold-signal b
  # A new exchange: a's session starts over (its bye and credentials are held back on the way to b).
  lab exec a sh -c 'wg-ice-hook down "$IFACE" && wg-ice-hook up "$IFACE" --config "$CONF"' >/dev/null
  sleep 30
  echo "    site a after 30 s: restarts $(peer a .restarts), ICE $(peer a .iceState)"
  lab release-signal b
  local released=$((SECONDS - started))
  check "ping within 10 s after b gets a's messages" wait_ping a 10
  check "site a: no agent renewal while b's answer was on its way" eval '[ "$(peer a .restarts)" = 0 ]'
  sleep 10
  kill -INT "$(cat "$pidfile")" 2>/dev/null
  wait "$ping"
  echo "    10/s ping through the case: $(grep 'packets transmitted' "$log")"
  # From 5 s after the release on, every ping is answered (the last one may still be in flight).
  local sent missing
  sent="$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$log")"
  missing="$(awk -v from=$(( (released + 5) * 10 )) -v to="${sent:-0}" '
    match($0, /icmp_seq=[0-9]+/) { got[substr($0, RSTART + 9, RLENGTH - 9) + 0] = 1 }
    END { n = 0; for (i = from; i < to; i++) if (!(i in got)) n++; print n }' "$log")"
  echo "    pings lost from 5 s after the release on: $missing"
  check "tunnel stays up after the release (≤ 2 pings lost)" eval '[ -n "$sent" ] && [ "$missing" -le 2 ]'
  rm -f "$log" "$pidfile"
}

# Bare Linux gateways (input accepting): without priming, the peer's early check leaves a conntrack entry on
# our router that makes masquerade remap our own flow, and no direct pair is ever found. A 10/s ping runs from
# the start of the case (before the path exists) to its end.
case_bare() {
  local log pidfile start=$SECONDS; log="$(mktemp)"; pidfile="$(mktemp)"
  lab exec a sh -c 'echo $$ >'"$pidfile"'; exec ping -i 0.1 -W 1 "$PEER"' >"$log" 2>&1 &
  local ping=$!
  if wait_for 30 eval 'is_direct a && is_direct b && kernel_path a && kernel_path b'; then
    echo "    direct pair and kernel redirect on both sites after $((SECONDS - start)) s"
  else
    fail "no direct pair with kernel redirect on both sites within 30 s"
    for r in ra rb; do echo "    conntrack $r:"; lab exec "$r" conntrack -L -p udp 2>/dev/null | sed 's/^/      /'; done
  fi
  local pair_a restarts; pair_a="$(peer a .selectedPair.local)-$(peer a .selectedPair.remote)"
  restarts=$(( $(peer a .restarts) + $(peer b .restarts) ))
  sleep 30
  check "site a: the same direct pair 30 s later" eval 'is_direct a && [ "$(peer a .selectedPair.local)-$(peer a .selectedPair.remote)" = "$pair_a" ]'
  check "no ICE restart meanwhile (no relay retries)" eval '[ $(( $(peer a .restarts) + $(peer b .restarts) )) = $restarts ]'
  for s in a b; do check "site $s: still direct with kernel redirect" eval "is_direct $s && kernel_path $s"; done
  kill -INT "$(cat "$pidfile")" 2>/dev/null
  wait "$ping"
  # Losses before the first reply are the setup time; after it, the path must hold.
  local sent got first
  sent="$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$log")"
  got="$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$log")"
  first="$(sed -n 's/.*icmp_seq=\([0-9]*\) .*/\1/p' "$log" | head -1)"
  echo "    10/s ping through the case: $(grep 'packets transmitted' "$log"); first reply: icmp_seq ${first:-none}"
  check "first reply within 30 s" eval '[ -n "$first" ] && [ "$first" -le 300 ]'
  check "at most 2 pings lost after the first reply" eval '[ -n "$first" ] && [ $((sent - first + 1 - got)) -le 2 ]'
  rm -f "$log" "$pidfile"
}

# TURN over TLS, scenario tls-only: site a's router passes no UDP and no TCP to coturn's plain port
# 3478, so a's only way out is its turns: server, which the session reaches through its own TLS relay (libnice
# gets turn:127.0.0.1:PORT?transport=tcp). A 10/s ping runs from the start to the end of the case.
case_tls_only() {
  local dir="/run/wg-ice-lab/$name" start=$SECONDS
  ping_start a
  check "ping through the tunnel within 30 s" wait_for 30 eval 'grep -q "bytes from" "$ping_log"'
  echo "    first reply after $((SECONDS - start)) s"
  check "site a: local relay candidate" eval '[ "$(peer a .selectedPair.localType)" = relay ]'
  check "site a: relayed address from coturn" eval '[[ "$(peer a .selectedPair.local)" == 203.0.113.1:* ]]'
  check "site a: userspace proxy" proxy_path a
  check "site a: the session holds a TCP connection to coturn's TLS port" \
    eval 'lab exec a ss -Htnp state established dst 203.0.113.1:5349 | grep -qF "pid=$(session_pid a),"'
  check "site a: nothing established to coturn's plain port" eval '[ -z "$(lab exec a ss -Htn state established dst 203.0.113.1:3478)" ]'
  # Only site a has a turns: server; coturn logs a session's TLS method when it authenticates.
  check "coturn: an authenticated TURN session over TLS" eval 'grep -q "username=<wgice>.*method=TLS" "$dir/turnserver.log"'
  check "site a: libnice talks to the relay on loopback" \
    eval 'lab exec a ss -Htnp state established dst 127.0.0.1 | grep -qF "pid=$(session_pid a),"'
  sleep 8
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping: $got of $sent answered, first reply icmp_seq $first, longest gap after it $gap pings"
  check "at most 2 pings lost after the first reply" eval '[ "$first" -ge 0 ] && [ $((sent - first + 1 - got)) -le 2 ]'
  grep -m1 "method=TLS" "$dir/turnserver.log" | sed 's/^/    coturn: /'
}

# coturn's session ids of connections from site a's router (its log names the address when one ends).
coturn_sessions_from_a() { grep -E "remote 203\.0\.113\.2:[0-9]+" "$1" | sed -n 's/.*session \([0-9]*\):.*/\1/p' | sort -u; }

# The same lab, but site a's session trusts another CA: the TLS handshake fails with the reason in the log, no
# byte of libnice's reaches coturn (not over TLS, not in plain text), and no path comes up.
case_tls_wrong_ca() {
  local dir="/run/wg-ice-lab/$name" log="/run/wg-ice-lab/$name/a-session.log"
  sed -i '/^PostUp/d' "$dir/$(iface a).conf"
  lab exec a sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site a: wg-quick up"
  lab exec a env SSL_CERT_FILE="$dir/wrong-ca.pem" \
    sh -c 'wg-ice-hook up "$IFACE" --config "$CONF" --foreground >"$1" 2>&1 &' - "$log"
  lab exec b sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site b: wg-quick up"
  ping_start a
  check "site a: the handshake failure is logged with its reason within 15 s" \
    wait_for 15 eval 'grep "turns:turn.wg-ice-lab.test:5349: TLS handshake failed" "$log" | grep -qi "CERTIFICATE_VERIFY_FAILED"'
  grep -m1 "TLS handshake failed" "$log" | cut -c1-400 | sed 's/^/    log: /'
  sleep 5
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping: $got of $sent answered"
  check "no ping answered: no path without TLS" eval '[ "$got" = 0 ]'
  check "site a: no selected pair" eval '[ -z "$(peer a .selectedPair.localType)" ]'
  local ids; ids="$(coturn_sessions_from_a "$dir/turnserver.log")"
  check "coturn: connections from a's router to its TLS port (the handshake was tried)" eval '[ -n "$ids" ]'
  check "coturn: not one TURN message on them (no plain-text fallback)" \
    eval '! for id in $ids; do grep -E "session $id: .*(incoming packet|username=)" "$dir/turnserver.log"; done | grep -q .'
  grep -m1 -E "remote 203\.0\.113\.2:[0-9]+" "$dir/turnserver.log" | sed 's/^/    coturn: /'
}

# wg-ice-resolve --apply at site a (no session there), a normal session at b: the applied path outlives the
# process. a's agent is gone with it, so b's ICE consent fails ~6 s later; b must keep the path as long as
# WireGuard keeps receiving through it. A 10/s ping runs for a minute after the process exited.
case_resolve_kept() {
  swift build --product wg-ice-resolve >/dev/null || { fail "swift build wg-ice-resolve"; return; }
  sed -i '/^PostUp/d' "/run/wg-ice-lab/$name/$(iface a).conf"
  for s in a b; do lab exec "$s" sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site $s: wg-quick up"; done
  local out
  out="$(lab exec a sh -c 'wg-ice-resolve "$IFACE" --config "$CONF" --timeout 30s --apply' 2>/dev/null)"
  echo "    wg-ice-resolve: $out"
  check "site a: wg-ice-resolve applied a direct path" eval '[[ "$out" == *applied* ]] && [[ "$out" != *not-applied* ]]'
  check "site a: wg-ice-resolve exited" eval '! lab exec a pgrep -x wg-ice-resolve >/dev/null'
  ping_start a
  sleep 61
  local restarts_b; restarts_b="$(peer b .restarts)"
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping for 61 s after wg-ice-resolve exited: $got of $sent answered, longest gap $gap pings; site b: ICE $(peer b .iceState), restarts $restarts_b"
  check "≤ 1% of the pings lost" eval '[ "$first" -ge 0 ] && [ $(( (sent - got) * 100 )) -le "$sent" ]'
  check "site b: still a direct pair with kernel redirect" eval 'is_direct b && kernel_path b'
}

# The public address of a's NAT changes under a running tunnel (the host sees nothing; every mapping of the
# site changes). Only what the host sees tells: WireGuard sending without receiving. A 10/s ping counts the gap.
# Direct (cone): a direct pair from the new address after. Relayed (symmetric): a's TURN allocation belongs to
# the old address, so coturn drops what a sends from the new one until a new agent allocates again.
case_renumber() {  # case_renumber direct|relayed
  check "ping within 30 s" wait_ping a 30
  if [ "$1" = direct ]; then check "site a: direct pair before" is_direct a
  else check "site a: relayed pair before" is_relayed a; fi
  ping_start a -D
  sleep 3
  lab rebind a | sed 's/^/    /'
  sleep 12
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping across the address change: $got of $sent answered, longest gap $gap pings ($(echo "scale=1; $gap / 10" | bc) s)"
  # Direct: the issue's 2 s. Relayed: a new TURN allocation comes on top (1.9 and 2.0 s in the first runs), so
  # 3 s, which still tells the dead-path rule (1 s) from libnice's consent timeout (6-10 s).
  local limit=20; [ "$1" = direct ] || limit=30
  check "traffic resumes within $((limit / 10)) s of the change (gap ≤ $limit pings)" eval '[ "$first" -ge 0 ] && [ "$gap" -le "$limit" ]'
  if [ "$1" = direct ]; then
    check "site a: direct pair from the new public address" eval '[[ "$(peer a .selectedPair.local)" == 203.0.113.102:* ]] && is_direct a'
    check "site a: kernel redirect" kernel_path a
  else
    check "site a: a relayed pair again, through the userspace proxy" eval 'is_relayed a && proxy_path a'
  fi
}
case_renumber_direct() { case_renumber direct; }
case_renumber_relayed() { case_renumber relayed; }

# A PMTU black hole on a's uplink (scripts/lab --mtu-blackhole): a 1280-byte link whose routers drop ICMP
# "fragmentation needed". The outer packets of a 1372-byte ping (~1430 bytes) cross only if they leave without
# DF, so that the router fragments them; small pings pass either way, so the tunnel looks up while TCP stalls.
case_mtu_blackhole() {  # case_mtu_blackhole direct|relayed
  check "ping within 30 s" wait_ping a 30
  if [ "$1" = direct ]; then check "site a: kernel redirect" kernel_path a
  else check "site a: relayed pair, userspace proxy" eval 'is_relayed a && proxy_path a'; fi
  local got bytes
  got="$(lab exec a sh -c 'ping -c 3 -i 0.3 -W 2 -M do -s 1344 "$PEER"' 2>/dev/null | sed -n 's/.* \([0-9]*\) received.*/\1/p')"
  echo "    ping -M do -s 1344 (1372 bytes) through the tunnel: ${got:-0} of 3 answered"
  check "1372-byte ping with DF answered 3 of 3" eval '[ "${got:-0}" = 3 ]'
  lab exec b timeout 20 iperf3 -s -1 >/dev/null 2>&1 &
  sleep 0.5
  bytes="$(lab exec a sh -c 'timeout 15 iperf3 -c "$PEER" -t 3 -J' 2>/dev/null | jq -r '.end.sum_received.bytes // 0' 2>/dev/null)"
  wait
  echo "    iperf3 TCP a → b, 3 s: ${bytes:-0} bytes received"
  check "iperf3 TCP moves data" eval '[ "${bytes:-0}" -gt 0 ]'
}
case_mtu_blackhole_direct() { case_mtu_blackhole direct; }
case_mtu_blackhole_relayed() { case_mtu_blackhole relayed; }

# The peer restarts its interface (wg-quick down, then up with the same file) three times under a 10/s ping from
# a: `wg-quick down` (PreDown = wg-ice-hook down, TURN allocations released) must return within 0.5 s, and
# replies must resume before REKEY_TIMEOUT (the restarted peer has new keys: a's WireGuard must take its new
# handshake at once). The target is 1 s; the times are printed, and docs/BENCHMARKS.md has them (one run in 9
# took 2.7 s, direct).
case_peer_restart() {
  check "ping within 30 s" wait_ping a 30
  local run t0 d0 took first log pidfile
  for run in 1 2 3; do
    log="$(mktemp)"; pidfile="$(mktemp)"
    lab exec a sh -c 'echo $$ >'"$pidfile"'; exec ping -D -n -i 0.1 -W 1 "$PEER"' >"$log" 2>&1 &
    local job=$!
    sleep 1
    d0="$(date +%s.%N)"
    lab exec b sh -c 'wg-quick down "$CONF"' >/dev/null 2>&1 || fail "run $run: site b: wg-quick down"
    took="$(echo "$(date +%s.%N) - $d0" | bc)"
    lab exec b sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "run $run: site b: wg-quick up"
    t0="$(date +%s.%N)"
    sleep 4
    kill -INT "$(cat "$pidfile")" 2>/dev/null; wait "$job" 2>/dev/null
    first="$(sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$log" | awk -v t0="$t0" '$1 > t0 { printf "%.2f", $1 - t0; exit }')"
    rm -f "$log" "$pidfile"
    echo "    run $run: wg-quick down took ${took} s; first reply ${first:-never} s after b's wg-quick up"
    check "run $run: wg-quick down within 0.5 s" eval '[ "$(echo "$took < 0.5" | bc)" = 1 ]'
    check "run $run: replies before WireGuard's 5 s retry" eval '[ -n "$first" ] && [ "$(echo "$first < 5" | bc)" = 1 ]'
  done
}

# Port-mapping home routers (scripts/lab --portmap, scenario symmetric): neither NAT lets a direct pair through
# by itself, but each site's session maps its agent's port on its router and advertises the mapping as a
# server-reflexive candidate; each side's checks arrive through the other's mapping (DNAT), the replies follow
# conntrack. Both sites get a direct pair with kernel redirection whose remote candidate is the other router's
# mapping, a 10/s ping holds, and each mapping is on its router while the interface is up and gone once
# `wg-quick down` (PreDown = wg-ice-hook down) returned. METHOD is the routers': upnp (UPnP IGD only) or natpmp
# (NAT-PMP and PCP only; the session tries PCP first). Registered as, e.g.:
#   run_case "symmetric NAT, UPnP routers" symmetric "$signaling" case_portmap_upnp --portmap upnp
#   run_case "symmetric NAT, NAT-PMP/PCP routers" symmetric "$signaling" case_portmap_natpmp --portmap natpmp
case_portmap() {  # case_portmap upnp|natpmp
  local method="$1" expect s other external
  case "$method" in upnp) expect=upnp ;; natpmp) expect='pcp|nat-pmp' ;; *) fail "case_portmap: method '$method'"; return ;; esac
  # From the end of `scripts/lab up` (both sites' wg-quick up): a mapping that comes after the first pair was
  # chosen (UPnP's discovery takes a second) is checked by a prompt ICE restart, not the 20-30 s relay → direct retry.
  local start=$SECONDS
  if wait_for 8 eval 'is_direct a && is_direct b'; then echo "    direct pair on both sites after $((SECONDS - start)) s"
  else fail "no direct pair on both sites within 8 s"; fi
  check "ping" wait_ping a 5
  for s in a b; do
    other=b; [ "$s" = b ] && other=a
    check "site $s: host/srflx/prflx pair" pair_types_in "$s" host srflx prflx
    check "site $s: kernel redirect" kernel_path "$s"
    check "site $s: status shows its mapping ($expect)" eval '[[ "$(peer '"$s"' .portMapping.method)" =~ ^('"$expect"')$ ]]'
    check "site $s: the mapping is on its router" mapping_on_router "$s"
    check "site $s: the remote candidate is on $other's router" remote_on_router "$s" "$other"
    echo "    site $s: $(peer "$s" .selectedPair.localType) $(peer "$s" .selectedPair.local) → $(peer "$s" .selectedPair.remoteType) $(peer "$s" .selectedPair.remote); router: $(lab mappings "$s" | tr '\n' ' ')"
  done
  ping_start a
  sleep 5
  local sent got gap first; read -r sent got gap first <<<"$(ping_stop)"
  echo "    10/s ping: $got of $sent answered, longest gap $gap pings"
  check "at most 1 ping lost" eval '[ "$first" -ge 0 ] && [ $((sent - got)) -le 1 ]'
  # Each site down and up again (the runner's teardown takes them down once more): the mapping must go with it.
  for s in a b; do
    external="$(peer "$s" .portMapping.external)"
    check "site $s: wg-quick down exits 0" lab exec "$s" sh -c 'wg-quick down "$CONF" 2>/dev/null'
    # None left at all: also none of an agent the session replaced meanwhile.
    check "site $s: its mapping ($external) and any other gone from the router within 2 s after wg-quick down" \
      wait_for 2 eval '[ -n "$external" ] && [ -z "$(lab mappings '"$s"')" ]'
    lab exec "$s" sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site $s: wg-quick up again"
  done
}
# remote_on_router SITE OTHER: the site's remote candidate is OTHER's mapping (srflx), or the port OTHER's NAT gave
# to OTHER's checks sent toward our mapping (prflx, the router's address: replies go back through its conntrack).
remote_on_router() {
  local remote type
  remote="$(peer "$1" .selectedPair.remote)"; type="$(peer "$1" .selectedPair.remoteType)"
  case "$type" in
    srflx) lab mappings "$2" | awk '{ print $2 }' | grep -qxF "$remote" ;;
    prflx) lab mappings "$2" | awk '{ sub(/:[0-9]+$/, "", $2); print $2 }' | grep -qxF "${remote%:*}" ;;
    *) false ;;
  esac
}
# mapping_on_router SITE: the mapping the site's status shows is wired on its router, to the site's own port.
mapping_on_router() {
  local host=192.168.1.2 external port
  [ "$1" = b ] && host=192.168.2.2
  external="$(peer "$1" .portMapping.external)"; port="$(peer "$1" .portMapping.internalPort)"
  [ -n "$external" ] && lab mappings "$1" | grep -qxF "udp $external $host:$port"
}
case_portmap_upnp() { case_portmap upnp; }
case_portmap_natpmp() { case_portmap natpmp; }

# IPv6 first (`symmetric --ipv6`, scripts/lab-ipv6.sh): IPv4 can only relay; both sites have global IPv6 behind
# stateful firewalls, and the lab loses the first two datagrams of each IPv6 flow, so the IPv6 host pair validates
# ~1.5 s after its first check, after the relay pairs. libnice nominates once in the regular nomination it uses
# once TCP candidates are exchanged; without the sessions holding the peer's relay candidates back (RelayHold) a
# relay was the first pair, kept until the relay → direct retry 20-30 s later. Each site's first pair is read from
# its status, polled from the second `wg-quick up` on; a 10/s ping from a runs throughout.
case_ipv6_direct_first() {
  local t0 pair_a="" pair_b="" at="" path first sent got gap seq
  lab exec a sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site a: wg-quick up"
  ping_start a -D
  lab exec b sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || fail "site b: wg-quick up"
  t0="$(date +%s.%N)"
  for _ in $(seq 80); do
    [ -n "$pair_a" ] || pair_a="$(first_pair a)"
    [ -n "$pair_b" ] || pair_b="$(first_pair b)"
    [ -z "$at" ] && [ -n "$pair_a$pair_b" ] && at="$(date +%s.%N)"
    [ -n "$pair_a" ] && [ -n "$pair_b" ] && break
    sleep 0.05
  done
  path="$(echo "${at:-$t0} - $t0" | bc | xargs printf "%.2f")"
  echo "    first pair ${path} s after b's wg-quick up: site a ${pair_a:-none}; site b ${pair_b:-none}"
  check "site a: the first pair is the IPv6 host pair" eval '[[ "$pair_a" == "host/host 2001:db8:a::2:"*" 2001:db8:b::2:"* ]]'
  check "site b: the first pair is the IPv6 host pair" eval '[[ "$pair_b" == "host/host 2001:db8:b::2:"*" 2001:db8:a::2:"* ]]'
  sleep 5
  first="$(first_reply_after "$t0" "$ping_log")"
  read -r sent got gap seq <<<"$(ping_stop)"
  echo "    first reply ${first:-never} s after b's wg-quick up; 10/s ping: $got of $sent answered, longest gap after the first reply $gap pings"
  check "replies within 1 s of the path" eval '[ -n "$first" ] && [ "$(echo "$first - $path <= 1" | bc)" = 1 ]'
  check "no ping lost after the first reply" eval '[ "$seq" -ge 0 ] && [ "$gap" -le 1 ]'
  # (kernel_path compares the endpoint with the pair as text, which IPv6 brackets differently.)
  for s in a b; do check "site $s: still the IPv6 host pair, kernel redirect" eval "is_direct $s && data_path $s kernel-redirect && [[ \"\$(peer $s .selectedPair.remote)\" == 2001:db8:* ]]"; done
  check "no ICE restart (no relay → direct retry)" eval '[ $(( $(peer a .restarts) + $(peer b .restarts) )) = 0 ]'
}
# Files without URLs, Username or Password (scripts/lab --turn-rest TTL): STUN, TURN and credentials minted for each
# site's key come from wg-ice-signal, coturn checks them with use-auth-secret. A 10/s ping for NATLAB_TURN_PING
# seconds (default 45) spans the first credentials' expiry (TTL 20 s unless NATLAB_TURN_TTL) and the refreshes at
# three quarters of it; each refresh makes both relayed sites gather again (make-before-break). For the 100 s
# across a 60 s TTL: NATLAB_ONLY=case_turn_rest NATLAB_TURN_TTL=60 NATLAB_TURN_PING=100 tests/nat-lab.sh.
case_turn_rest() {
  local seconds="${NATLAB_TURN_PING:-45}" s key
  check "ping within 30 s" wait_ping a 30
  for s in a b; do
    check "site $s: relayed pair" is_relayed "$s"
    check "site $s: ICE servers from the signaling server" eval '[[ "$(status '"$s"' | jq -r .iceServers)" == "the signaling server "* ]]'
    key="$(lab exec "$s" sh -c 'wg show "$IFACE" public-key')"
    check "site $s: coturn's log names its key" grep -qF ":$key" "/run/wg-ice-lab/$name/turnserver.log"
  done
  ping_start a
  sleep "$seconds"
  read -r sent got gap seq <<<"$(ping_stop)"
  echo "    10/s ping for $seconds s across the credentials' expiry: $got of $sent answered, longest gap $gap pings; restarts a $(peer a .restarts), b $(peer b .restarts)"
  check "at most 1% lost" eval '[ "$sent" -gt 0 ] && [ $((got * 100)) -ge $((sent * 99)) ]'
  check "site a: still relayed" is_relayed a
  check "new credentials renewed the agents" eval '[ "$(peer a .restarts)" -ge 1 ] && [ "$(peer b .restarts)" -ge 1 ]'
}

# first_pair SITE: "LOCALTYPE/REMOTETYPE LOCAL REMOTE" of the site's selected pair, or nothing.
first_pair() { status "$1" | jq -r '.peers[0].selectedPair // empty | "\(.localType)/\(.remoteType) \(.local) \(.remote)"' 2>/dev/null; }

# --- runner ----------------------------------------------------------------------------------------------

passed=() failed=()
run_case() {  # run_case LABEL SCENARIO SIGNALING FUNCTION [LAB-UP-OPTIONS...]
  local label="$1" scenario="$2" signaling="$3" fn="$4" start=$SECONDS
  shift 4
  # NATLAB_ONLY=REGEX runs only the cases whose FUNCTION/SIGNALING matches (development, and CI's second run on
  # wg-ice-wireguard).
  [ -z "${NATLAB_ONLY:-}" ] || [[ "$fn/$signaling" =~ $NATLAB_ONLY ]] || return 0
  echo "== $label ($signaling)"
  case_failed=0
  if lab up "$scenario" --signaling "$signaling" "$@" >/dev/null; then
    "$fn"
    # What the sites looked like when the case failed, before teardown takes it away.
    if [ "$case_failed" = 1 ]; then
      describe a; describe b
      for s in a b; do lab exec "$s" sh -c 'wg show "$IFACE"' 2>&1 | sed "s/^/    wg $s: /"; done
    fi
    teardown_check
    if [ "$case_failed" = 1 ]; then
      echo "    --- wg-ice-signal log (tail)"; tail -5 "/run/wg-ice-lab/$name/signal.log" 2>/dev/null | sed 's/^/    /'
    fi
  else
    fail "scripts/lab up $scenario failed"
  fi
  lab down
  [ -e "/run/wg-ice-lab/$name" ] && fail "scripts/lab down left /run/wg-ice-lab/$name"
  ip netns list | grep -q "^$name-" && fail "scripts/lab down left namespaces"
  if [ "$case_failed" = 0 ]; then passed+=("$label/$signaling ($((SECONDS - start)) s)"); else failed+=("$label/$signaling"); fi
}

trap 'lab down; rm -rf "/etc/netns/$name-a" "/etc/netns/$name-b"; rmdir /etc/netns 2>/dev/null' EXIT
total=$SECONDS
# Each scenario runs once. Where the session's signaling itself is under test (the exchange, the server's
# restart) it runs with both WebSocket and gRPC; the others alternate between them, so that each transport
# carries direct, relayed and moving paths. NATLAB_FULL=1 runs every scenario with both (the matrix before a
# release; about twice the time).
both=(ws grpc)
each() { if [ -n "${NATLAB_FULL:-}" ]; then echo ws grpc; else echo "$1"; fi; }
for signaling in "${both[@]}"; do
  run_case "same LAN" lan "$signaling" case_lan
  run_case "cone NAT" cone "$signaling" case_cone
  run_case "signaling server restart" cone "$signaling" case_signal_restart
done
for signaling in $(each ws); do
  run_case "cone + symmetric NAT" cone-symmetric "$signaling" case_relayed
  run_case "UDP blocked at a" udp-blocked "$signaling" case_udp_blocked
  run_case "relay → direct" relay-direct "$signaling" case_relay_direct
  run_case "traffic before the path (relayed)" symmetric "$signaling" case_traffic_first_relayed --no-wg
  # PersistentKeepalive in both files, as most files behind NAT have it: a peer created with it initiates at
  # once, so only one side may be created with it (FirstHandshake).
  run_case "traffic before the path, keepalive 25 (relayed)" symmetric "$signaling" case_traffic_first_relayed --no-wg --keepalive 25
  run_case "the peer restarts its interface, keepalive 25 (relayed)" symmetric "$signaling" case_peer_restart --keepalive 25
  run_case "STUN/TURN host unresolvable for the first 10 s" cone "$signaling" case_dns_late --no-wg
  run_case "signaling to b delayed 30 s (PAC)" cone "$signaling" case_signal_delayed
  run_case "bare Linux gateways" bare "$signaling" case_bare
  run_case "PMTU black hole, direct pair" cone "$signaling" case_mtu_blackhole_direct --mtu-blackhole
  run_case "PMTU black hole, relayed pair" symmetric "$signaling" case_mtu_blackhole_relayed --mtu-blackhole
  run_case "wg-ice-resolve --apply: the path outlives the process" cone "$signaling" case_resolve_kept --no-wg
  run_case "the NAT's public address changes" cone "$signaling" case_renumber_direct
  run_case "symmetric NAT, UPnP routers" symmetric "$signaling" case_portmap_upnp --portmap upnp
done
for signaling in $(each grpc); do
  run_case "symmetric NAT" symmetric "$signaling" case_relayed
  run_case "IPv6 direct first" symmetric "$signaling" case_ipv6_direct_first --no-wg --ipv6
  run_case "NAT rebinding" cone "$signaling" case_rebind
  run_case "the NAT's public address changes, relayed pair" symmetric "$signaling" case_renumber_relayed
  run_case "traffic before the path (direct)" cone "$signaling" case_traffic_first_direct --no-wg
  run_case "traffic before the path, keepalive 25 (direct)" cone "$signaling" case_traffic_first_direct --no-wg --keepalive 25
  run_case "the peer restarts its interface, keepalive 25 (direct)" cone "$signaling" case_peer_restart --keepalive 25
  run_case "relayed pair re-selected by a retry" symmetric "$signaling" case_relay_reselect
  run_case "one site's address changed mid-session" cone "$signaling" case_address_change
  run_case "symmetric NAT, NAT-PMP/PCP routers" symmetric "$signaling" case_portmap_natpmp --portmap natpmp
  run_case "TURN credentials from wg-ice-signal across their expiry" symmetric "$signaling" case_turn_rest --turn-rest "${NATLAB_TURN_TTL:-20}"
done
# TURN over TLS: with one signaling transport (the relay does not depend on it).
run_case "TURN over TLS only at a" tls-only ws case_tls_only
run_case "TURN over TLS, wrong CA" tls-only ws case_tls_wrong_ca --no-wg
echo "== nat-lab ($userspace): ${#passed[@]} passed, ${#failed[@]} failed in $((SECONDS - total)) s"
for c in "${passed[@]}"; do echo "   pass: $c"; done
for c in "${failed[@]}"; do echo "   FAIL: $c"; done
[ ${#failed[@]} -eq 0 ]
