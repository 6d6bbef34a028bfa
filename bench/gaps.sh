#!/usr/bin/env bash
# The gaps a user sees in the NAT lab (scripts/lab), each timed from what the user does, RUNS runs per scenario in
# a fresh lab each (median and worst, in ms; outcomes counted):
#   renumber     cone, 10/s ping from a (ping -D); `lab rebind a` (the NAT's public address changes under the host):
#                the longest time between two replies, and whether both sites have a direct pair afterwards
#   renumber-relayed
#                the same on symmetric (a relayed pair: a's TURN allocation belongs to the old address), and whether
#                a has a relayed pair again afterwards
#   restart-cone, restart-symmetric
#                PersistentKeepalive = 25 both sides, 10/s ping from a; b's `wg-quick down`, then `wg-quick up` with
#                the same file: how long `wg-quick down` took, and b's `wg-quick up` returning → a's first reply
#   relayed-keepalive
#                symmetric, --keepalive 25, traffic waiting (each site pings from its own `wg-quick up` on, as in
#                the CI's traffic-first cases): a's `wg-quick up` started → a's first reply
#   portmap-upnp, portmap-natpmp
#                symmetric with UPnP / NAT-PMP+PCP routers, traffic waiting: a's `wg-quick up` started → a's first
#                reply, and → both sites report a direct pair with kernel redirection (status polled)
#   ipv6         symmetric --ipv6, traffic waiting: a's `wg-quick up` started → a's first reply; b's `wg-quick up`
#                returned → both sites have a first pair (status polled), and whether it is the IPv6 host pair
# Targets: renumber ≤ 2 s; restart: down < 0.5 s and a reply ≤ 1 s after up; relayed-keepalive never waits out
# WireGuard's 5 s retry; ipv6: first pair ≤ 1 s, IPv6 host/host; portmap: a direct pair.
# Usage: bench/gaps.sh [SCENARIO...]   (default: all, in the order above); RUNS=6 SIGNALING=ws
#   GAPS_LOGS=DIR (diagnosis): the sessions run by hand in the foreground, logging to DIR/SCENARIO-RUN-SITE.log,
#   each line prefixed with the epoch time in ms like ping -D's (the log's own stamps are whole seconds)
#   (PostUp removed: wg-quick up then returns before the session starts, so the times shift a little);
#   GAPS_LOGLEVEL=debug for more.
# Debug build and wireguard-go (WG_ICE_USERSPACE), like the lab. Per-run readings go to stderr.
set -uo pipefail
RUNS=${RUNS:-6} SIGNALING=${SIGNALING:-ws}
all="renumber renumber-relayed restart-cone restart-symmetric relayed-keepalive portmap-upnp portmap-natpmp ipv6"
scenarios=${*:-$all}
NAME_PREFIX=gapb
. "$(dirname "$0")/lab-common.sh"
# Others rebuild .build/debug while this runs (a binary replaced mid-run failed wg-quick up and mixed two builds):
# the lab runs a copy made now.
snapshot=$(mktemp -d)
cp .build/debug/wg-ice-hook .build/debug/wg-ice-signal "$snapshot"/ || exit 1
export WG_ICE_BIN=$snapshot

# tests/nat-lab.sh runs its cases when sourced: take its helpers by name, so that these readings mean what the CI's
# do (status, peer, ping_start/ping_stop, wait_for, first_pair). A helper renamed there fails here at once.
helpers="status peer iface is_direct is_relayed data_path wait_for ping_start ping_stop first_pair"
eval "$(awk -v want=" $helpers " '
  !inside && /^[a-z_]+\(\) *\{/ { fn = substr($0, 1, index($0, "(") - 1); if (index(want, " " fn " ")) inside = 1; start = 1 }
  inside { print; if (/^}/ || (start && /\}$/)) inside = 0; start = 0 }' tests/nat-lab.sh)"
for f in $helpers; do declare -F "$f" >/dev/null || { echo "$0: tests/nat-lab.sh has no $f()" >&2; exit 1; }; done

now_ms() { date +%s%3N; }
results=$(mktemp)
trap 'lab down >/dev/null 2>&1; rm -rf "$results" "$snapshot"' EXIT
metric() { printf 'M\t%s\t%s\n' "$1" "$2" >>"$results"; }   # metric NAME MS
outcome() { printf 'O\t%s\t%s\n' "$1" "$2" >>"$results"; }  # outcome NAME LABEL: counted per label
say() { echo "  [$scenario $run/$RUNS] $*" >&2; }

# ms from T0 (ms) to the first reply in a `ping -D` log, or nothing.
first_reply_ms() {
  sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$1" | awk -v t0="$2" '$1 * 1000 > t0 { printf "%d\n", $1 * 1000 - t0; exit }'
}
# The longest time without a reply in a `ping -D` log, in ms: between two replies, or from the last one to END (ms).
longest_gap_ms() {
  sed -n 's/^\[\([0-9.]*\)\].*bytes from.*/\1/p' "$1" | sort -n |
    awk -v end="$2" '{ t = $1 * 1000; if (NR > 1 && t - prev > gap) gap = t - prev; prev = t }
      END { if (NR == 0) { print "none"; exit } if (end - prev > gap) gap = end - prev; printf "%d\n", gap }'
}
replies() { lab exec "$1" sh -c 'ping -c 1 -W 1 "$PEER"' >/dev/null 2>&1; }
# One status call per site: the pair is direct (no relay, UDP) and WireGuard talks to it through kernel redirection.
direct_kernel() {
  status "$1" | jq -e '.peers[0] | .selectedPair != null and .selectedPair.localType != "relay"
    and .selectedPair.remoteType != "relay" and .selectedPair.transport == "udp" and .dataPath == "kernel-redirect"' >/dev/null 2>&1
}

lab_up() {  # lab_up SCENARIO OPTIONS...: without WireGuard; site_up brings each site up as its user would
  lab up "$@" --signaling "$SIGNALING" --no-wg >/dev/null || { outcome "$scenario" "lab up failed"; return 1; }
  [ -n "${GAPS_LOGS:-}" ] || return 0
  mkdir -p "$GAPS_LOGS"
  local s
  for s in a b; do
    sed -i -e '/^PostUp/d' -e "s/^#\[ICE\]$/&\n#LogLevel = ${GAPS_LOGLEVEL:-info}/" "/run/wg-ice-lab/$name/$(iface "$s").conf"
  done
}
site_up() {
  lab exec "$1" sh -c 'wg-quick up "$CONF"' >/dev/null 2>&1 || { say "site $1: wg-quick up failed"; return 1; }
  [ -z "${GAPS_LOGS:-}" ] ||
    lab exec "$1" sh -c '(wg-ice-hook up "$IFACE" --config "$CONF" --foreground 2>&1 | perl -MTime::HiRes=time -ne "\$| = 1; printf \"%.3f %s\", time, \$_" >>"$1") &' - "$GAPS_LOGS/$scenario-$run-$1.log"
}
# With GAPS_LOGS, a's ping -D log beside the sessions' logs, headed by the run's reference times (epoch ms).
keep_ping_log() { [ -z "${GAPS_LOGS:-}" ] || { echo "# $1"; cat "$ping_log"; } >"$GAPS_LOGS/$scenario-$run-ping.log"; }
tunnel_up() { site_up a && site_up b && wait_for 30 replies a || { outcome "$scenario" "no tunnel within 30 s"; return 1; }; }

run_renumber() {  # run_renumber cone|symmetric
  lab_up "$1" && tunnel_up || return
  ping_start a -D
  sleep 3
  lab rebind a >/dev/null
  sleep 12
  local gap local_a; gap=$(longest_gap_ms "$ping_log" "$(now_ms)")
  ping_stop >/dev/null
  local_a=$(peer a .selectedPair.local)
  [ "$gap" = none ] && { outcome "$scenario" "no reply at all"; return; }
  metric "$scenario: longest gap" "$gap"
  if [ "$1" = symmetric ]; then
    if is_relayed a; then outcome "$scenario: longest gap" "relayed after"; else outcome "$scenario: longest gap" "NOT relayed after"; fi
  elif is_direct a && is_direct b && [[ "$local_a" == 203.0.113.102:* ]]; then outcome "$scenario: longest gap" "direct after"
  else outcome "$scenario: longest gap" "NOT direct from the new address after"; fi
  say "gap $gap ms; a's pair after: $(peer a .selectedPair.localType) $local_a → $(peer a .selectedPair.remoteType) $(peer a .selectedPair.remote)"
}

run_restart() {  # run_restart cone|symmetric
  lab_up "$1" --keepalive 25 && tunnel_up || return
  ping_start a -D
  sleep 1
  local d0 down t0 first
  d0=$(now_ms)
  lab exec b sh -c 'wg-quick down "$CONF"' >/dev/null 2>&1 || { outcome "$scenario: wg-quick down" "failed"; ping_stop >/dev/null; return; }
  down=$(( $(now_ms) - d0 ))
  site_up b || { outcome "$scenario: up → first reply" "wg-quick up failed"; ping_stop >/dev/null; return; }
  t0=$(now_ms)
  sleep 8
  first=$(first_reply_ms "$ping_log" "$t0")
  keep_ping_log "up returned at $t0 ms"
  ping_stop >/dev/null
  metric "$scenario: wg-quick down" "$down"
  if [ -n "$first" ]; then metric "$scenario: up → first reply" "$first"
  else outcome "$scenario: up → first reply" "no reply within 8 s"; fi
  say "down $down ms, first reply ${first:-never} ms after up; a: $(peer a .selectedPair.localType)/$(peer a .selectedPair.remoteType) $(peer a .dataPath)"
}

# Traffic waiting: a pings from its own `wg-quick up` on, b from its own; POLL (a function) is called every round
# until it returns 0 (or DEADLINE seconds), with t0 (a's up started) and t1 (b's up returned) set.
traffic_waiting() {  # traffic_waiting DEADLINE POLL
  local deadline=$1 poll=$2 first="" polled=1 ping_b
  t0=$(now_ms)
  site_up a || { outcome "$scenario: first up → first reply" "wg-quick up failed"; return 1; }
  ping_start a -D
  site_up b || { outcome "$scenario: first up → first reply" "wg-quick up failed"; ping_stop >/dev/null; return 1; }
  t1=$(now_ms)
  lab exec b sh -c 'exec ping -n -i 0.1 -w 30 "$PEER"' >/dev/null 2>&1 &
  ping_b=$!
  while [ $(( $(now_ms) - t0 )) -lt $((deadline * 1000)) ]; do
    [ -n "$first" ] || first=$(first_reply_ms "$ping_log" "$t0")
    [ "$polled" = 0 ] || { "$poll"; polled=$?; }
    [ -n "$first" ] && [ "$polled" = 0 ] && break
    sleep 0.05
  done
  keep_ping_log "a's up started at $t0 ms, b's returned at $t1 ms"
  ping_stop >/dev/null
  kill "$ping_b" 2>/dev/null; wait "$ping_b" 2>/dev/null
  if [ -n "$first" ]; then metric "$scenario: first up → first reply" "$first"
  else outcome "$scenario: first up → first reply" "no reply within $deadline s"; fi
  reply_ms=${first:-never}
}
nothing() { return 0; }

run_relayed_keepalive() {
  lab_up symmetric --keepalive 25 || return
  traffic_waiting 12 nothing || return
  if is_relayed a && is_relayed b; then outcome "$scenario: first up → first reply" "relayed"
  else outcome "$scenario: first up → first reply" "NOT relayed"; fi
  [ "$reply_ms" != never ] && [ "$reply_ms" -ge 5000 ] && outcome "$scenario: first up → first reply" "≥ 5 s"
  say "first reply $reply_ms ms after a's wg-quick up (b's returned after $((t1 - t0)) ms)"
}

poll_direct() { [ -z "$direct_at" ] && direct_kernel a && direct_kernel b && direct_at=$(( $(now_ms) - t0 )); [ -n "$direct_at" ]; }
run_portmap() {  # run_portmap upnp|natpmp
  direct_at=""
  lab_up symmetric --portmap "$1" || return
  traffic_waiting 20 poll_direct || return
  if [ -n "$direct_at" ]; then metric "$scenario: first up → direct pair, kernel redirect, both sites" "$direct_at"
  else outcome "$scenario: first up → direct pair, kernel redirect, both sites" "no direct pair within 20 s"; fi
  say "first reply $reply_ms ms, direct on both ${direct_at:-never} ms after a's wg-quick up; a: $(peer a .selectedPair.localType)/$(peer a .selectedPair.remoteType) $(peer a .dataPath), mapping $(peer a .portMapping.method)"
}

poll_first_pair() {
  [ -n "$pair_a" ] || pair_a=$(first_pair a)
  [ -n "$pair_b" ] || pair_b=$(first_pair b)
  [ -n "$pair_a" ] && [ -n "$pair_b" ] && [ -z "$pair_at" ] && pair_at=$(( $(now_ms) - t1 ))
  [ -n "$pair_at" ]
}
run_ipv6() {
  pair_a="" pair_b="" pair_at=""
  lab_up symmetric --ipv6 || return
  traffic_waiting 15 poll_first_pair || return
  local what="$scenario: second up → first pair, both sites"
  if [ -n "$pair_at" ]; then metric "$what" "$pair_at"; else outcome "$what" "no pair within 15 s"; fi
  if [[ "$pair_a" == "host/host 2001:db8:a::2:"* ]] && [[ "$pair_b" == "host/host 2001:db8:b::2:"* ]]; then
    outcome "$what" "IPv6 host pair first"
  else outcome "$what" "NOT the IPv6 host pair first"; fi
  say "first reply $reply_ms ms after a's up; first pair ${pair_at:-never} ms after b's up returned: a $pair_a; b $pair_b"
}

summary() {
  awk -F'\t' -v runs="$RUNS" '
    !($2 in seen) { seen[$2] = 1; order[++k] = $2 }
    $1 == "M" { v[$2, ++n[$2]] = $3 }
    $1 == "O" { if (!(($2, $3) in count)) labels[$2] = labels[$2] "\t" $3; count[$2, $3]++ }
    END {
      for (i = 1; i <= k; i++) {
        name = order[i]; m = n[name] + 0; line = name ":"
        for (a = 2; a <= m; a++) for (b = a; b > 1 && v[name, b - 1] > v[name, b]; b--) {
          t = v[name, b]; v[name, b] = v[name, b - 1]; v[name, b - 1] = t }
        if (m > 0) {
          med = (m % 2) ? v[name, (m + 1) / 2] : (v[name, m / 2] + v[name, m / 2 + 1]) / 2
          line = sprintf("%s median %d ms, worst %d ms (n=%d)", line, med, v[name, m], m)
        } else line = line " no value (n=0)"
        c = split(substr(labels[name], 2), l, "\t")
        for (j = 1; j <= c; j++) line = sprintf("%s%s %s: %d of %d", line, (j == 1 ? ";" : ","), l[j], count[name, l[j]], runs)
        print line
      }
    }' "$results"
}

echo "bench/gaps.sh: RUNS=$RUNS, $SIGNALING signaling, $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo ' + uncommitted Sources'), wg-ice-hook of $(date -u -r .build/debug/wg-ice-hook '+%H:%M:%S'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')" >&2
for scenario in $scenarios; do
  for run in $(seq "$RUNS"); do
    case "$scenario" in
      renumber) run_renumber cone ;;
      renumber-relayed) run_renumber symmetric ;;
      restart-cone) run_restart cone ;;
      restart-symmetric) run_restart symmetric ;;
      relayed-keepalive) run_relayed_keepalive ;;
      portmap-upnp) run_portmap upnp ;;
      portmap-natpmp) run_portmap natpmp ;;
      ipv6) run_ipv6 ;;
      *) echo "$0: unknown scenario '$scenario' (known: $all)" >&2; exit 2 ;;
    esac
    lab down >/dev/null 2>&1
  done
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%H:%M UTC')" >&2
summary
