#!/usr/bin/env bash
# UAPI client vs wg(8) on one wireguard-go interface: configure PEERS peers (IPS allowed IPs each) from the
# same file with `wireguard-driver setconf` and `wg setconf`, read them back with `wireguard-driver showconf`
# and `wg showconf`. Prints the median of RUNS runs of each (whole processes, as a script would use them), the
# ratio client/wg, and the client's in-process times (no process start-up).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/uapi.sh: run as root (creates a network namespace)" >&2; exit 1; }
PEERS=${PEERS:-1000} IPS=${IPS:-20} RUNS=${RUNS:-7}

# Optimised like an installed binary would be; builds only this target and its dependencies.
build_log=$(mktemp)
swift build -c release --product wireguard-driver >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"
driver="$(swift build -c release --show-bin-path)/wireguard-driver"
ns="wgbench-$$" iface="wgb$$"
conf=$(mktemp)
cleanup() { ip -n "$ns" link del "$iface" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; rm -f "$conf"; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" wireguard-go "$iface" >/dev/null 2>&1
"$driver" genconf "$PEERS" "$IPS" > "$conf"

median_ms() {  # median wall time of RUNS runs of "$@", in ms
  local times=() start end
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N)
    times+=("$(( (end - start) / 1000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
peers_now() { wg show "$iface" peers | wc -l; }

set_wg=$(median_ms wg setconf "$iface" "$conf")
[ "$(peers_now)" = "$PEERS" ] || { echo "wg setconf did not configure $PEERS peers" >&2; exit 1; }
set_client=$(median_ms "$driver" setconf "$iface" "$conf")
[ "$(peers_now)" = "$PEERS" ] || { echo "the UAPI client did not configure $PEERS peers" >&2; exit 1; }
show_wg=$(median_ms wg showconf "$iface")
show_client=$(median_ms "$driver" showconf "$iface")
cmp -s <(wg showconf "$iface" | sort) <("$driver" showconf "$iface" | sort) || { echo "showconf outputs differ" >&2; exit 1; }

echo "wireguard-go, $PEERS peers x $IPS allowed IPs, median of $RUNS runs (ms, whole process)"
printf '%-10s %10s %14s %16s\n' "" "wg" "UAPI client" "ratio client/wg"
printf '%-10s %10s %14s %16s\n' setconf "$set_wg" "$set_client" "$(ratio "$set_client" "$set_wg")"
printf '%-10s %10s %14s %16s\n' showconf "$show_wg" "$show_client" "$(ratio "$show_client" "$show_wg")"
echo "UAPI client in-process (median of $RUNS): $("$driver" time "$iface" "$conf" "$RUNS")"
